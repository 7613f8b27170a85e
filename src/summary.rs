//! A run's results for people (changes grouped by kind, a summary table, the failures)
//! and for machines (`--summary-json`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::io::{self, Write};

use serde::Serialize;

use crate::model::AccountId;
use crate::outcome::{SkipReason, Status};
use crate::results::TargetResult;
use crate::resources::Change;

#[derive(Debug, Serialize)]
pub struct Summary {
    pub command: &'static str,
    pub dry_run: bool,
    pub accounts: usize,
    pub regions: usize,
    /// accounts x regions, before skips.
    pub targets: usize,
    pub by_status: BTreeMap<&'static str, usize>,
    pub changes_by_kind: BTreeMap<&'static str, usize>,
    pub failures: usize,
    pub elapsed_seconds: f64,
    /// Where the rollout journaled its finished targets (none for a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<std::path::PathBuf>,
    /// Account id -> the name people know it by (from ListAccounts).
    #[serde(rename = "account_names", skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<AccountId, String>,
    /// Where a dry run wrote its change set, for review and `--apply`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set: Option<std::path::PathBuf>,
    /// orgguard's own peak resident memory (Linux's VmHWM), when the system tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    /// A dry run's forecast of the rollout: calls, and time at the plan's rate limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<crate::estimate::Estimate>,
    pub results: Vec<TargetResult>,
}

impl Summary {
    pub fn new(command: &'static str, dry_run: bool, accounts: usize, regions: usize, results: Vec<TargetResult>) -> Self {
        let mut by_status = BTreeMap::new();
        let mut changes_by_kind = BTreeMap::new();
        for result in &results {
            *by_status.entry(result.status.label()).or_insert(0) += 1;
            // A failed target's changes were attempted, not all made: they are listed, not counted.
            if matches!(result.status, Status::Applied | Status::Planned) {
                for change in &result.changes {
                    *changes_by_kind.entry(change.kind()).or_insert(0) += 1;
                }
            }
        }
        Self {
            command,
            dry_run,
            accounts,
            regions,
            targets: accounts * regions,
            failures: by_status.get("failed").copied().unwrap_or(0),
            by_status,
            changes_by_kind,
            elapsed_seconds: 0.0,
            journal: None,
            names: BTreeMap::new(),
            change_set: None,
            estimate: None,
            peak_rss_mb: None,
            results,
        }
    }

    /// Targets and what is said of each: a line each with `detail` (as earlier versions wrote
    /// them), otherwise grouped by what is said.
    fn list<'r>(&'r self, out: &mut impl Write, detail: bool, items: impl Iterator<Item = (String, &'r TargetResult)>) -> io::Result<()> {
        if !detail {
            return Groups::of(items).write(out, self);
        }
        for (text, result) in items {
            writeln!(out, "  {:<40} {text}", result.place())?;
        }
        Ok(())
    }

    /// Where a result is, with its account's name when the organization gave one.
    fn named(&self, result: &TargetResult) -> String {
        result.place_named(self.names.get(&result.target.account).map(String::as_str))
    }

    pub fn has_failures(&self) -> bool {
        self.failures > 0
    }

    /// Ctrl-C or SIGTERM stopped the run before every target was worked on.
    pub fn interrupted(&self) -> bool {
        self.results.iter().any(|r| r.status == Status::Skipped(SkipReason::Interrupted))
    }

    /// Writes the changes grouped by kind, the notes, skips and failures, then the tally.
    /// By default identical changes collapse into one line with their count, regions and a
    /// few example targets, and so do notes and skips with the same reason; failures are
    /// listed in full. `detail`: a line per change per target instead. Line by line: a run of
    /// 5000 accounts in every region has over a million changes.
    pub fn write(&self, out: &mut impl Write, detail: bool) -> io::Result<()> {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for change in self.results.iter().flat_map(|r| &r.changes) {
            *kinds.entry(change.kind()).or_default() += 1;
        }
        if kinds.is_empty() {
            match self.command {
                "teardown" if self.results.iter().any(|r| !r.notes.is_empty()) => {
                    writeln!(out, "Nothing to remove but what is kept, for the reasons below.")?
                }
                "teardown" => writeln!(out, "Nothing to remove: none of the plan's resources were found in the targets.")?,
                _ => writeln!(out, "No changes: every target matches the plan.")?,
            }
        }
        for (kind, count) in &kinds {
            writeln!(out, "{kind} ({count}{}):", if self.dry_run { ", would change" } else { "" })?;
            let of_kind = self.results.iter().flat_map(|r| r.changes.iter().filter(|c| c.kind() == *kind).map(move |c| (r, c)));
            // Changes are shared between targets: each distinct one is described once.
            let mut described: HashMap<*const Change, String> = HashMap::new();
            let mut describe = |change: &Arc<Change>| match detail {
                true => change.to_string(),
                false => described.entry(Arc::as_ptr(change)).or_insert_with(|| change.summary()).clone(),
            };
            self.list(out, detail, of_kind.map(|(result, change)| (describe(change), result)))?;
        }
        let notes = || self.results.iter().flat_map(|r| r.notes.iter().map(move |note| (note.text.clone(), r)));
        if notes().next().is_some() {
            let heading = if self.command == "teardown" { "kept, and why" } else { "drift left alone" };
            writeln!(out, "{heading} ({}):", notes().count())?;
            self.list(out, detail, notes())?;
        }
        let resumed = self.results.iter().filter(|r| r.status == Status::Skipped(SkipReason::FinishedEarlier)).count();
        if resumed > 0 {
            writeln!(out, "skipped, finished in the run resumed: {resumed} results")?;
        }
        let skipped = || {
            self.results.iter().filter_map(|r| match &r.status {
                Status::Skipped(SkipReason::FinishedEarlier) => None,
                Status::Skipped(reason) => Some((reason.to_string(), r)),
                _ => None,
            })
        };
        if skipped().next().is_some() {
            writeln!(out, "skipped ({}):", skipped().count())?;
            self.list(out, detail, skipped())?;
        }
        let failed = || {
            self.results.iter().filter_map(|r| match &r.status {
                Status::Failed(error) => Some((r, error)),
                _ => None,
            })
        };
        if failed().next().is_some() {
            writeln!(out, "failed ({}):\n  {:<40} {:<32} {:<40} message", failed().count(), "account/region", "operation", "error code")?;
            for (result, e) in failed() {
                writeln!(out, "  {:<40} {:<32} {:<40} {}", self.named(result), e.operation(), e.code(), e.message())?;
            }
        }

        writeln!(
            out,
            "\n{}{}: {} accounts x {} regions = {} targets, {:.1}s",
            self.command,
            if self.dry_run { " (dry run)" } else { "" },
            self.accounts,
            self.regions,
            self.targets,
            self.elapsed_seconds
        )?;
        writeln!(out, "  {:<12} {:>8}", "status", "results")?;
        for (status, count) in &self.by_status {
            writeln!(out, "  {status:<12} {count:>8}")?;
        }
        if let Some(journal) = self.journal.as_ref().filter(|_| self.has_failures() || self.interrupted()) {
            writeln!(out, "  journal: {} (--resume continues without redoing finished targets)", journal.display())?;
        }
        if let Some(path) = &self.change_set {
            writeln!(out, "  change set: {} (review it; rollout --apply {} makes exactly these changes)", path.display(), path.display())?;
        }
        if let Some(e) = &self.estimate {
            let (service, account, region, calls, seconds) = &e.busiest;
            let place = [account.as_deref(), region.as_deref()].into_iter().flatten().collect::<Vec<_>>().join("/");
            writeln!(
                out,
                "  the {}: about {} calls ({} reads, {} writes), about {:.0}s: the busiest rate-limit key \
                 ({service} {}{calls} calls) needs {seconds:.0}s at the plan's rates, under AWS's default quotas; \
                 all calls at {} ms each, the run's concurrency at a time, {:.0}s; orgguard's own CPU at 0.3 ms a \
                 call over {} thread{}, {:.0}s (--threads)",
                self.command,
                e.reads + e.writes,
                e.reads,
                e.writes,
                e.seconds,
                if place.is_empty() { String::new() } else { format!("in {place}, ") },
                e.latency_ms,
                e.latency_seconds,
                e.threads,
                if e.threads == 1 { "" } else { "s" },
                e.cpu_seconds,
            )?;
        }
        let total_changes: usize = self.changes_by_kind.values().sum();
        let kinds: Vec<_> = self.changes_by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        writeln!(
            out,
            "  {}: {total_changes}{}",
            if self.dry_run { format!("changes a {} would make", self.command) } else { "changes made".into() },
            if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) }
        )
    }
}

/// Targets that share a description (a change, a note, a reason): how many, in which
/// regions, and the first few, in the results' order.
struct Group<'r> {
    count: usize,
    regions: BTreeMap<&'static str, usize>,
    examples: Vec<&'r TargetResult>,
}

/// Examples printed per group; the rest are counted.
const EXAMPLES: usize = 3;

struct Groups<'r>(Vec<(String, Group<'r>)>);

impl<'r> Groups<'r> {
    /// Largest group first; equal groups in the order of their descriptions.
    fn of(items: impl Iterator<Item = (String, &'r TargetResult)>) -> Self {
        let mut groups: BTreeMap<String, Group<'r>> = BTreeMap::new();
        for (what, result) in items {
            let group = groups.entry(what).or_insert_with(|| Group { count: 0, regions: BTreeMap::new(), examples: Vec::new() });
            group.count += 1;
            *group.regions.entry(result.target.region.map_or("global", |r| r.as_str())).or_default() += 1;
            if group.examples.len() < EXAMPLES {
                group.examples.push(result);
            }
        }
        let mut groups: Vec<(String, Group)> = groups.into_iter().collect();
        groups.sort_by_key(|(_, group)| std::cmp::Reverse(group.count));
        Self(groups)
    }

    fn write(&self, out: &mut impl Write, summary: &Summary) -> io::Result<()> {
        for (what, group) in &self.0 {
            writeln!(out, "  {} x {what}", group.count)?;
            if group.regions.len() > 1 {
                let regions: Vec<String> = group.regions.iter().map(|(region, n)| format!("{region} {n}")).collect();
                writeln!(out, "      by region: {}", regions.join(", "))?;
            }
            let examples: Vec<String> = group.examples.iter().map(|r| summary.named(r)).collect();
            let more = group.count - group.examples.len();
            let more = if more > 0 { format!(" ... and {more} more") } else { String::new() };
            writeln!(out, "      {}{more}", examples.join(", "))?;
        }
        Ok(())
    }
}
