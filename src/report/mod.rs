//! Audit results for people and for the tools auditors use: the terminal table, and the
//! files `orgguard report` writes (json, ocsf, csv, junit, html). Rendering is pure.

mod csv;
mod html;
mod junit;
mod ocsf;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audit::{Control, ControlResult, Verdict};
use crate::model::Region;

pub use table::render_table;

/// Everything an audit found, with what is needed to read it later: the controls, the
/// run's metadata and, when asked, the comparison with an earlier result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    pub metadata: Metadata,
    pub controls: Vec<Control>,
    pub results: Vec<ControlResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineComparison>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub tool: String,
    pub tool_version: String,
    pub plan: String,
    pub plan_sha256: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub accounts: usize,
    pub regions: Vec<Region>,
}

/// Failures compared by finding id with an earlier report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineComparison {
    pub baseline_generated_at: String,
    /// FAIL now, not FAIL in the baseline.
    pub new_failures: Vec<String>,
    /// FAIL in the baseline, PASS now.
    pub resolved: Vec<String>,
    /// FAIL in both.
    pub still_failing: Vec<String>,
}

impl BaselineComparison {
    pub fn new(baseline: &AuditReport, current: &[ControlResult]) -> Self {
        let before: BTreeMap<&str, Verdict> =
            baseline.results.iter().map(|r| (r.finding_id.as_str(), r.verdict)).collect();
        let mut comparison =
            Self { baseline_generated_at: baseline.metadata.generated_at.clone(), ..Self::default() };
        for result in current {
            let id = result.finding_id.clone();
            match (before.get(result.finding_id.as_str()), result.verdict) {
                (Some(Verdict::Fail), Verdict::Fail) => comparison.still_failing.push(id),
                (_, Verdict::Fail) => comparison.new_failures.push(id),
                (Some(Verdict::Fail), Verdict::Pass) => comparison.resolved.push(id),
                _ => {}
            }
        }
        comparison
    }

    /// How a finding id stands against the baseline, for the table and the html.
    pub fn label(&self, finding_id: &str) -> Option<&'static str> {
        let has = |list: &[String]| list.iter().any(|id| id == finding_id);
        if has(&self.new_failures) {
            Some("new")
        } else if has(&self.still_failing) {
            Some("still failing")
        } else if has(&self.resolved) {
            Some("resolved")
        } else {
            None
        }
    }
}

impl AuditReport {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == verdict).count()
    }

    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }
}

/// The file formats `orgguard report` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Ocsf,
    Csv,
    Junit,
    Html,
}

impl Format {
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Json => "orgguard-audit.json",
            Self::Ocsf => "orgguard-audit.ocsf.json",
            Self::Csv => "orgguard-audit.csv",
            Self::Junit => "orgguard-audit.junit.xml",
            Self::Html => "orgguard-audit.html",
        }
    }

    pub fn render(self, report: &AuditReport) -> String {
        match self {
            Self::Json => serde_json::to_string_pretty(report).expect("the report serializes") + "\n",
            Self::Ocsf => ocsf::render(report),
            Self::Csv => csv::render(report),
            Self::Junit => junit::render(report),
            Self::Html => html::render(report),
        }
    }
}

/// Writes each format into `dir`; returns the files written.
pub fn write(report: &AuditReport, formats: &[Format], dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    formats
        .iter()
        .map(|format| {
            let path = dir.join(format.file_name());
            std::fs::write(&path, format.render(report))?;
            Ok(path)
        })
        .collect()
}
