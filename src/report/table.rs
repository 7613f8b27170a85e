//! The audit as a terminal table: by control and by account, worst first, then the results
//! that are not PASS, grouped by what was found.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::AuditReport;
use crate::audit::{natural, ControlResult, Verdict};
use crate::model::AccountId;

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

/// The summary, the tallies by control and by account, then the results that are not
/// PASS: grouped by what was found (a reason, or expected and actual) with their controls
/// and a few of their places, or with `detail` a line each.
pub fn render_table(report: &AuditReport, detail: bool) -> String {
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
    let mut by_account: BTreeMap<&AccountId, Tally> = BTreeMap::new();
    for r in &report.results {
        by_control.entry(&r.control).or_default().add(r.verdict);
        by_account.entry(&r.account).or_default().add(r.verdict);
    }
    let mut controls: Vec<_> = by_control.into_iter().collect();
    controls.sort_by(|(a, ta), (b, tb)| ta.badness().cmp(&tb.badness()).then_with(|| natural(a, b)));
    let width = controls.iter().map(|(id, _)| id.len()).max().unwrap_or(0).max("control".len());
    let _ = writeln!(out, "\n{:<width$} {:>7} {:>7} {:>9}  description", "control", "PASS", "FAIL", "NOT_EVAL");
    for (id, t) in &controls {
        let description = report.control(id).map_or("", |c| c.description.as_str());
        let _ = writeln!(out, "{id:<width$} {:>7} {:>7} {:>9}  {description}", t.pass, t.fail, t.not_evaluated);
    }

    let mut accounts: Vec<_> = by_account.into_iter().filter(|(_, t)| t.fail + t.not_evaluated > 0).collect();
    accounts.sort_by_key(|(id, t)| (t.badness(), *id));
    if !accounts.is_empty() {
        let named = |id: &AccountId| match report.name(id) {
            "" => id.to_string(),
            name => format!("{id} {name}"),
        };
        let shown: Vec<(String, &Tally)> = accounts.iter().take(MAX_ROWS).map(|(id, t)| (named(id), t)).collect();
        let width = shown.iter().map(|(name, _)| name.len()).max().unwrap_or(0).max("account (worst first)".len());
        let _ = writeln!(out, "\n{:<width$} {:>7} {:>7} {:>9}", "account (worst first)", "PASS", "FAIL", "NOT_EVAL");
        for (name, t) in shown {
            let _ = writeln!(out, "{name:<width$} {:>7} {:>7} {:>9}", t.pass, t.fail, t.not_evaluated);
        }
        more(&mut out, accounts.len());
    }

    let labels = report.baseline.as_ref().map(|b| b.labels()).unwrap_or_default();
    let found = |r: &ControlResult| match r.verdict {
        Verdict::Fail => format!("expected {}; actual {}", r.expected.as_deref().unwrap_or(""), r.actual.as_deref().unwrap_or("")),
        _ => r.reason.clone().unwrap_or_default(),
    };
    let place = |r: &ControlResult| format!("{}/{}", r.account, r.region.as_ref().map_or("global", |g| g.as_str()));
    let label = |r: &ControlResult| labels.get(r.finding_id.as_str()).map_or(String::new(), |l| format!(" [{}]", l.as_str()));
    for verdict in [Verdict::Fail, Verdict::NotEvaluated] {
        let rows: Vec<&ControlResult> = report.results.iter().filter(|r| r.verdict == verdict).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} ({}):", verdict.as_str(), rows.len());
        if detail {
            let mut rows = rows;
            rows.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)).then_with(|| natural(&a.control, &b.control)));
            let place_width = rows.iter().map(|r| place(r).len()).max().unwrap_or(0);
            let control_width = rows.iter().map(|r| r.control.len()).max().unwrap_or(0);
            for r in rows {
                let _ = writeln!(out, "  {:<place_width$} {:<control_width$} {}{}", place(r), r.control, found(r), label(r));
            }
            continue;
        }
        let mut groups: BTreeMap<String, Found> = BTreeMap::new();
        for r in rows {
            let group = groups.entry(found(r)).or_default();
            group.controls.insert(&r.control);
            group.accounts.insert(&r.account);
            group.rows.push(r);
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by_key(|(_, group)| std::cmp::Reverse(group.rows.len()));
        for (found, group) in groups {
            let _ = writeln!(out, "  {} x {found}", group.rows.len());
            let mut controls: Vec<&str> = group.controls.into_iter().collect();
            controls.sort_by(|a, b| natural(a, b));
            let _ = writeln!(out, "      {}: {}", plural(controls.len(), "control"), few(&controls, CONTROLS));
            let places: Vec<String> = group.rows.iter().map(|r| format!("{}{}", place(r), label(r))).collect();
            let accounts = plural(group.accounts.len(), "account");
            let _ = writeln!(out, "      in {accounts}: {}", few(&places, PLACES));
        }
    }
    out
}

/// Results with the same finding (a reason, or expected and actual): the controls they
/// concern, their accounts, and every result.
#[derive(Default)]
struct Found<'r> {
    controls: BTreeSet<&'r str>,
    accounts: BTreeSet<&'r AccountId>,
    rows: Vec<&'r ControlResult>,
}

/// Controls named per group, and places: the rest are counted.
const CONTROLS: usize = 8;
const PLACES: usize = 4;

fn few(items: &[impl AsRef<str>], shown: usize) -> String {
    let listed: Vec<&str> = items.iter().take(shown).map(AsRef::as_ref).collect();
    match items.len().saturating_sub(shown) {
        0 => listed.join(", "),
        more => format!("{} ... and {more} more", listed.join(", ")),
    }
}

fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn more(out: &mut String, rows: usize) {
    if rows > MAX_ROWS {
        let _ = writeln!(out, "  ... and {} more (see --format json or orgguard report)", rows - MAX_ROWS);
    }
}
