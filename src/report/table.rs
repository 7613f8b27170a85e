//! The audit as a terminal table: by control and by account, worst first, then the rows
//! that are not PASS.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::AuditReport;
use crate::audit::Verdict;

/// Beyond this many rows a section points to the machine-readable formats instead.
const MAX_ROWS: usize = 200;

#[derive(Default, Clone, Copy)]
struct Tally {
    pass: usize,
    fail: usize,
    not_evaluated: usize,
}

impl Tally {
    fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::NotEvaluated => self.not_evaluated += 1,
        }
    }

    /// Worst first: most failures, then most unevaluated.
    fn badness(&self) -> (std::cmp::Reverse<usize>, std::cmp::Reverse<usize>) {
        (std::cmp::Reverse(self.fail), std::cmp::Reverse(self.not_evaluated))
    }
}

pub fn render_table(report: &AuditReport) -> String {
    let mut out = String::new();
    let (pass, fail, not_evaluated) =
        (report.count(Verdict::Pass), report.count(Verdict::Fail), report.count(Verdict::NotEvaluated));
    let coverage = if pass + fail == 0 { 100.0 } else { 100.0 * pass as f64 / (pass + fail) as f64 };
    let _ = writeln!(
        out,
        "orgguard audit of {}: {} accounts x {} regions, {} results: {pass} PASS, {fail} FAIL, {not_evaluated} NOT_EVALUATED ({coverage:.1}% of evaluated controls pass)",
        report.metadata.plan,
        report.metadata.accounts,
        report.metadata.regions.len(),
        report.results.len(),
    );
    if let Some(baseline) = &report.baseline {
        let _ = writeln!(
            out,
            "against the baseline of {}: {} new failures, {} resolved, {} still failing",
            baseline.baseline_generated_at,
            baseline.new_failures.len(),
            baseline.resolved.len(),
            baseline.still_failing.len()
        );
    }

    let mut by_control: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_account: BTreeMap<&str, Tally> = BTreeMap::new();
    for r in &report.results {
        by_control.entry(&r.control).or_default().add(r.verdict);
        by_account.entry(r.account.as_str()).or_default().add(r.verdict);
    }
    let mut controls: Vec<_> = by_control.into_iter().collect();
    controls.sort_by_key(|(id, t)| (t.badness(), *id));
    let _ = writeln!(out, "\n{:<40} {:>7} {:>7} {:>9}  description", "control", "PASS", "FAIL", "NOT_EVAL");
    for (id, t) in &controls {
        let description = report.control(id).map_or("", |c| c.description.as_str());
        let _ = writeln!(out, "{id:<40} {:>7} {:>7} {:>9}  {description}", t.pass, t.fail, t.not_evaluated);
    }

    let mut accounts: Vec<_> = by_account.into_iter().filter(|(_, t)| t.fail + t.not_evaluated > 0).collect();
    accounts.sort_by_key(|(id, t)| (t.badness(), *id));
    if !accounts.is_empty() {
        let _ = writeln!(out, "\n{:<40} {:>7} {:>7} {:>9}", "account (worst first)", "PASS", "FAIL", "NOT_EVAL");
        for (id, t) in accounts.iter().take(MAX_ROWS) {
            let _ = writeln!(out, "{id:<40} {:>7} {:>7} {:>9}", t.pass, t.fail, t.not_evaluated);
        }
        more(&mut out, accounts.len());
    }

    let labels = report.baseline.as_ref().map(|b| b.labels()).unwrap_or_default();
    for verdict in [Verdict::Fail, Verdict::NotEvaluated] {
        let mut rows: Vec<_> = report.results.iter().filter(|r| r.verdict == verdict).collect();
        rows.sort_by_key(|r| (&r.account, &r.region, &r.control));
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} ({}):", verdict.as_str(), rows.len());
        for r in rows.iter().take(MAX_ROWS) {
            let place = format!("{}/{}", r.account, r.region.as_ref().map_or("global", |g| g.as_str()));
            let detail = match verdict {
                Verdict::Fail => format!(
                    "expected {}; actual {}",
                    r.expected.as_deref().unwrap_or(""),
                    r.actual.as_deref().unwrap_or("")
                ),
                _ => r.reason.clone().unwrap_or_default(),
            };
            let label = labels.get(r.finding_id.as_str()).map_or(String::new(), |l| format!(" [{}]", l.as_str()));
            let _ = writeln!(out, "  {place:<28} {:<36} {detail}{label}", r.control);
        }
        more(&mut out, rows.len());
    }
    out
}

fn more(out: &mut String, rows: usize) {
    if rows > MAX_ROWS {
        let _ = writeln!(out, "  ... and {} more (see --format json or orgguard report)", rows - MAX_ROWS);
    }
}
