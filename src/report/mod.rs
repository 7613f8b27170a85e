//! Audit results for people and for the tools auditors use: the terminal table, and the
//! files `orgguard report` writes (json, ocsf, csv, junit, html). Rendering is pure.

mod csv;
mod html;
mod junit;
mod ocsf;
mod table;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audit::{ControlResult, Verdict};
use crate::control::Control;
use crate::model::{AccountId, Region};
use crate::resources::coverage::Covered;

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
    /// Account id -> the name people know it by (from ListAccounts), where known.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub account_names: BTreeMap<AccountId, String>,
    /// Runtime Monitoring coverage per account, region and resource type, where it was read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<Covered>,
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

    /// Finding id -> how it stands against the baseline; the three lists are disjoint.
    pub fn labels(&self) -> HashMap<&str, Label> {
        [(&self.new_failures, Label::New), (&self.still_failing, Label::StillFailing), (&self.resolved, Label::Resolved)]
            .into_iter()
            .flat_map(|(ids, label)| ids.iter().map(move |id| (id.as_str(), label)))
            .collect()
    }
}

/// A finding against the baseline; the numbers are the html data block's codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    New = 1,
    StillFailing = 2,
    Resolved = 3,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::StillFailing => "still failing",
            Self::Resolved => "resolved",
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

    /// The account's name, or "" where the organization gave none.
    pub fn name(&self, account: &AccountId) -> &str {
        self.account_names.get(account).map_or("", String::as_str)
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        let names = Self::ALL.map(Self::name).join(", ");
        Self::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| format!("unknown format {name:?}: expected one of {names}"))
    }
}

/// The file formats `orgguard report` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Ocsf,
    Csv,
    Junit,
    Html,
}

impl Format {
    pub const ALL: [Format; 5] = [Self::Json, Self::Ocsf, Self::Csv, Self::Junit, Self::Html];

    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Ocsf => "ocsf",
            Self::Csv => "csv",
            Self::Junit => "junit",
            Self::Html => "html",
        }
    }

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
            crate::safe::write_file(&path, |out| out.write_all(format.render(report).as_bytes()))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::finding_id;
    use crate::model::AccountId;

    fn result(control: &str, account: &str, region: Option<&str>, verdict: Verdict, detail: [Option<&str>; 3]) -> ControlResult {
        let account = AccountId::parse(account).unwrap();
        let region = region.map(|r| Region::parse(r).unwrap());
        let [expected, actual, reason] = detail.map(|d| d.map(str::to_owned));
        ControlResult {
            finding_id: finding_id("example", control, &account, region.as_ref()),
            control: control.into(),
            account,
            region,
            verdict,
            expected,
            actual,
            reason,
        }
    }

    /// A fixed result set: one of each verdict, an account-level control, and characters
    /// every format must escape.
    fn fixture() -> AuditReport {
        let control = |id: &str, description: &str, mapping: &str| Control {
            id: id.into(),
            description: description.into(),
            mapping: mapping.into(),
        };
        let results = vec![
            result("GuardDuty.1", "100000000001", Some("us-east-1"), Verdict::Pass, [None, None, None]),
            result("GuardDuty.10", "100000000001", Some("eu-west-1"), Verdict::Fail, [Some("enabled"), Some("disabled"), None]),
            result("GuardDuty.1", "100000000002", Some("us-east-1"), Verdict::NotEvaluated, [None, None, Some("sts:AssumeRole: AccessDenied")]),
            result("OG.Wiring.Policy", "100000000001", None, Verdict::Fail, [Some("policy \"P\" <as planned> & attached"), Some("other document"), None]),
        ];
        AuditReport {
            metadata: Metadata {
                tool: "orgguard".into(),
                tool_version: "0.1.0".into(),
                plan: "plans/example.toml".into(),
                plan_sha256: "ab".repeat(32),
                generated_at: "2026-11-23T12:00:00Z".into(),
                accounts: 2,
                regions: vec![Region::parse("eu-west-1").unwrap(), Region::parse("us-east-1").unwrap()],
            },
            controls: vec![
                control("GuardDuty.1", "GuardDuty detector exists and is enabled", "Security Hub GuardDuty.1"),
                control("GuardDuty.10", "S3 protection (S3_DATA_EVENTS) is enabled", "Security Hub GuardDuty.10"),
                control("OG.Wiring.Policy", "The publish policy is as planned and attached to the role", "orgguard"),
            ],
            baseline: None,
            account_names: BTreeMap::from([(AccountId::parse("100000000001").unwrap(), "prod, \"web\"".to_owned())]),
            coverage: Vec::new(),
            results,
        }
    }

    #[test]
    fn every_format_renders_the_fixed_result_set() {
        let report = fixture();
        insta::assert_snapshot!("table", render_table(&report, false));
        insta::assert_snapshot!("table_detail", render_table(&report, true));
        for format in [Format::Json, Format::Ocsf, Format::Csv, Format::Junit] {
            insta::assert_snapshot!(format!("{format:?}").to_lowercase(), format.render(&report));
        }
    }

    #[test]
    fn the_json_result_reads_back_as_it_was_written() {
        let report = fixture();
        let read: AuditReport = serde_json::from_str(&Format::Json.render(&report)).unwrap();
        assert_eq!(read, report);
    }

    #[test]
    fn ocsf_records_carry_the_compliance_finding_required_fields() {
        let report = fixture();
        let records: Vec<serde_json::Value> = serde_json::from_str(&Format::Ocsf.render(&report)).unwrap();
        assert_eq!(records.len(), report.results.len());
        for (record, result) in records.iter().zip(&report.results) {
            for field in ["activity_id", "category_uid", "class_uid", "compliance", "finding_info", "metadata", "severity_id", "time", "type_uid"] {
                assert!(!record[field].is_null(), "{field} missing in {record}");
            }
            assert_eq!(record["class_uid"], 2003);
            assert_eq!(record["category_uid"], 2);
            assert_eq!(record["type_uid"], 200301);
            assert_eq!(record["time"], 1_795_435_200_000_i64, "2026-11-23T12:00:00Z in ms");
            assert!(record["metadata"]["product"]["name"].is_string() && record["metadata"]["version"] == "1.1.0");
            assert_eq!(record["finding_info"]["uid"], result.finding_id);
            assert!(record["compliance"]["standards"].as_array().is_some_and(|s| !s.is_empty()));
            let status = match result.verdict {
                Verdict::Pass => 1,
                Verdict::Fail => 3,
                Verdict::NotEvaluated => 0,
            };
            assert_eq!(record["compliance"]["status_id"], status);
            assert_eq!(record["cloud"]["account"]["uid"], result.account.as_str());
        }
    }

    #[test]
    fn a_baseline_sorts_failures_into_new_resolved_and_still_failing() {
        let before = fixture();
        let mut now = fixture();
        // GuardDuty.10 fixed; GuardDuty.1 in us-east-1 newly failing; the policy still failing.
        now.results[1].verdict = Verdict::Pass;
        now.results[0].verdict = Verdict::Fail;
        let comparison = BaselineComparison::new(&before, &now.results);
        assert_eq!(comparison.new_failures, vec![now.results[0].finding_id.clone()]);
        assert_eq!(comparison.resolved, vec![now.results[1].finding_id.clone()]);
        assert_eq!(comparison.still_failing, vec![now.results[3].finding_id.clone()]);
        let labels = comparison.labels();
        assert_eq!(labels.get(now.results[0].finding_id.as_str()), Some(&Label::New));
        assert_eq!(labels.get(now.results[2].finding_id.as_str()), None, "NOT_EVALUATED is neither");
    }

    #[test]
    fn finding_ids_are_stable_and_distinct() {
        let account = AccountId::parse("100000000001").unwrap();
        let region = Region::parse("us-east-1").unwrap();
        let id = finding_id("example", "GuardDuty.1", &account, Some(&region));
        assert_eq!(id, finding_id("example", "GuardDuty.1", &account, Some(&region)));
        assert_ne!(id, finding_id("example", "GuardDuty.10", &account, Some(&region)));
        assert_ne!(id, finding_id("other", "GuardDuty.1", &account, Some(&region)));
        assert_ne!(id, finding_id("example", "GuardDuty.1", &account, None));
    }
}
