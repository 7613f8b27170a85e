//! Reading a plan file: TOML into the plan's types, then every check that needs no AWS
//! (`check.rs`), each error located at file:line:column.

use std::path::{Path, PathBuf};

use super::Plan;

/// A plan that could not be used, located in its file.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{path}: cannot read plan: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {field}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, field: String, message: String },
    /// Every rule the plan breaks, one a line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<PlanError>),
}

impl Plan {
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PlanError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    /// Every error at once: all TOML syntax errors; else the first type error of the file and
    /// of each section (each section read on its own); else every rule `check` finds broken.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PlanError> {
        let (_, syntax) = toml::de::DeTable::parse_recoverable(text);
        if !syntax.is_empty() {
            // The parser may report one mistake twice as it recovers: the first of a line stands.
            let mut errors: Vec<PlanError> = syntax.iter().map(|e| invalid(text, path, "(file)", e)).collect();
            errors.sort_by_key(PlanError::place);
            errors.dedup_by_key(|e| e.place().0);
            return Err(PlanError::all(errors));
        }
        let deserializer = toml::Deserializer::parse(text).map_err(|e| invalid(text, path, "(file)", &e))?;
        let plan: Plan = match typed(text, path, "", deserializer) {
            Ok(plan) => plan,
            Err(first) => {
                let mut errors = section_errors(text, path);
                if !errors.iter().any(|e| e.to_string() == first.to_string()) {
                    errors.push(first);
                }
                errors.sort_by_key(PlanError::place);
                return Err(PlanError::all(errors));
            }
        };
        plan.check(text, path)?;
        Ok(plan)
    }

}

impl PlanError {
    /// Line and column, where the error has them.
    fn place(&self) -> (usize, usize) {
        match self {
            Self::Invalid { line, column, .. } => (*line, *column),
            _ => (0, 0),
        }
    }

    /// One error as itself, several as `Several`. Not empty.
    pub(super) fn all(mut errors: Vec<PlanError>) -> Self {
        match errors.len() {
            1 => errors.remove(0),
            _ => Self::Several(errors),
        }
    }
}

/// `T` from `deserializer`, an error located and named by its field (`prefix` first).
fn typed<'de, T: serde::Deserialize<'de>>(
    text: &str,
    path: &Path,
    prefix: &str,
    deserializer: impl serde::Deserializer<'de, Error = toml::de::Error>,
) -> Result<T, PlanError> {
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let error = e.inner();
        let mut field = format!("{prefix}{}", e.path()).replace(".$__serde_spanned_private_value", "");
        // A map key that is not a plain string (a feature name) shows as `?`: name it.
        if let (Some(stem), Some(span)) = (field.strip_suffix(".?"), error.span()) {
            let line = text[..span.start].rsplit('\n').next().unwrap_or_default();
            let key = line.split('=').next().unwrap_or_default().trim();
            let key = if key.is_empty() { &text[span] } else { key };
            field = format!("{stem}.{key}");
        }
        invalid(text, path, &field, error)
    })
}

/// The first type error of each section, each section read on its own (spans stay the file's).
fn section_errors(text: &str, path: &Path) -> Vec<PlanError> {
    use super::{Admin, DetectorPlan, Limits, Notifications, Organization};
    use super::{Alerts, Exfiltration, Export, IpLists, Suppression};
    let Ok(table) = toml::de::DeTable::parse(text) else { return Vec::new() };
    let mut errors = Vec::new();
    for (key, value) in table.get_ref() {
        let section = key.get_ref().as_ref();
        let prefix = format!("{section}.");
        let value = || toml::de::ValueDeserializer::from(value.clone());
        let error = match section {
            "organization" => typed::<Organization>(text, path, &prefix, value()).err(),
            "admin" => typed::<Admin>(text, path, &prefix, value()).err(),
            "detector" => typed::<DetectorPlan>(text, path, &prefix, value()).err(),
            "notifications" => typed::<Notifications>(text, path, &prefix, value()).err(),
            "suppression" => typed::<Suppression>(text, path, &prefix, value()).err(),
            "ip_lists" => typed::<IpLists>(text, path, &prefix, value()).err(),
            "export" => typed::<Export>(text, path, &prefix, value()).err(),
            "alerts" => typed::<Alerts>(text, path, &prefix, value()).err(),
            "exfiltration" => typed::<Exfiltration>(text, path, &prefix, value()).err(),
            "limits" => typed::<Limits>(text, path, &prefix, value()).err(),
            _ => None,
        };
        errors.extend(error);
    }
    errors
}

fn invalid(text: &str, path: &Path, field: &str, error: &toml::de::Error) -> PlanError {
    let (line, column) = error.span().map(|s| line_column(text, s.start)).unwrap_or((1, 1));
    PlanError::Invalid {
        path: path.to_owned(),
        line,
        column,
        field: if field.is_empty() || field == "." { "(top level)".into() } else { field.into() },
        message: error.message().to_owned(),
    }
}

pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Feature, Frequency};
    use crate::plan::RegionSelection;

    #[test]
    fn the_example_plan_reproduces_the_seed() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml");
        let plan = Plan::load(&path).expect("plans/example.toml is valid");
        assert_eq!(plan.organization.member_role, "OrganizationAccountAccessRole");
        assert_eq!(plan.organization.regions, RegionSelection::All);
        let detector = plan.detector.settings();
        assert!(detector.enabled);
        assert_eq!(detector.frequency, Frequency::SixHours);
        assert_eq!(
            detector.features,
            BTreeMap::from([
                (Feature::S3DataEvents, true),
                (Feature::EbsMalwareProtection, true),
                (Feature::EksAuditLogs, false),
            ])
        );
        let n = plan.notifications.expect("notifications");
        assert_eq!((n.topic.as_str(), n.display_name.as_deref()), ("guardduty-finding", Some("put-slack")));
        assert_eq!(n.tags, BTreeMap::from([("Name".to_owned(), "guardduty-finding".to_owned())]));
        assert_eq!((n.role.as_str(), n.policy.as_str()), ("eventbridge_to_sns", "EventBridgePublishGuarddutyFinding"));
        let rules: Vec<_> = n.rules.iter().map(|r| (r.name.get_ref().as_str(), r.target_id.as_str())).collect();
        assert_eq!(
            rules,
            [("guardduty-finding", "guardduty-finding"), ("gdu-finding-archive-api", "guardduty-archive-notification")]
        );
        let descriptions: Vec<_> = n.rules.iter().map(|r| r.description.as_deref()).collect();
        assert_eq!(descriptions, [Some("GuardDutyのすべての検出結果(全重要度)をSNSトピックに送信"), Some("Notify when a GuardDuty finding is archived (API call)")]);
        assert!(n.rules.iter().all(|r| r.min_severity.is_none()), "every severity, as the seed");
        assert_eq!(
            n.rules[1].event_pattern.0,
            serde_json::json!({
                "source": ["aws.guardduty"],
                "detail-type": ["AWS API Call via CloudTrail"],
                "detail": {"eventSource": ["guardduty.amazonaws.com"], "eventName": ["ArchiveFindings", "UpdateFindingsFeedback"]}
            })
        );
    }

    #[test]
    fn defaults_fill_what_a_minimal_plan_leaves_out() {
        let text = "[organization]\nregions = \"all\"\n[detector]\nfinding_publishing_frequency = \"ONE_HOUR\"\n";
        let plan = Plan::parse(text, Path::new("p.toml")).expect("valid");
        assert_eq!(plan.organization.member_role, "OrganizationAccountAccessRole");
        assert!(!plan.organization.include_management_account, "only when the plan says so");
        assert!(plan.detector.enable);
        assert!(plan.detector.features.get_ref().is_empty());
        assert_eq!((plan.limits.concurrency, plan.limits.max_attempts), (64, 8));
        assert!(plan.admin.is_none() && plan.notifications.is_none());
    }

    #[test]
    fn endpoints_outside_aws_or_in_one_account_are_warned_about() {
        let example = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml")).unwrap();
        let text = example + r#"
[[notifications.subscriptions]]
protocol = "https"
endpoint = "https://collector.example.net/in"
[[notifications.subscriptions]]
protocol = "sqs"
endpoint = "arn:aws:sqs:us-east-1:999999999999:findings"
"#;
        let warnings = Plan::parse(&text, Path::new("p.toml")).expect("valid").warnings();
        assert_eq!(warnings.len(), 2, "email is not warned about: {warnings:?}");
        assert!(warnings[0].contains("https://collector.example.net/in") && warnings[0].contains("outside AWS"));
        assert!(warnings[1].contains("(account 999999999999)"), "{warnings:?}");
        assert!(Plan::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml")).unwrap().warnings().is_empty());
    }

    #[test]
    fn every_broken_rule_is_reported_at_once_each_at_its_place() {
        let example = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml")).unwrap();
        let text = example.replace("exclude_accounts = []", r#"exclude_accounts = ["100000000001"]"#)
            + "[suppression]\n[[suppression.rules]]\nname = \"x\"\ncriteria = { severity = { LessThan = 4 } }\n\
               [[suppression.rules]]\nname = \"no-criteria\"\ncriteria = {}\n";
        let error = Plan::parse(&text, Path::new("p.toml")).unwrap_err().to_string();
        let fields: Vec<&str> = error.lines().map(|l| l.split(": ").nth(1).unwrap_or_default()).collect();
        assert_eq!(fields, ["admin.account", "suppression.rules.name", "suppression.rules.criteria"], "{error}");
        assert!(error.lines().all(|l| l.starts_with("p.toml:")), "each with file:line:column: {error}");
    }

    #[test]
    fn every_syntax_error_and_each_sections_type_error_are_reported_at_once() {
        let example = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml")).unwrap();
        let syntax = example.replace("auto_enable = \"ALL\"", "auto_enable = \"ALL").replace("enable = true", "enable = = true");
        let error = Plan::parse(&syntax, Path::new("p.toml")).unwrap_err().to_string();
        let lines: Vec<&str> = error.lines().map(|l| l.split(": ").next().unwrap_or_default()).collect();
        assert_eq!(lines, ["p.toml:16:51", "p.toml:19:10"], "both syntax errors, each at its place: {error}");

        let types = example
            .replace("include_management_account = true", "include_management_account = \"yes\"")
            .replace("finding_publishing_frequency = \"SIX_HOURS\"", "finding_publishing_frequency = \"HOURLY\"")
            .replace("prune_subscriptions = false", "prune_subscriptions = false\ncolour = \"red\"");
        let error = Plan::parse(&types, Path::new("p.toml")).unwrap_err().to_string();
        let fields: Vec<&str> = error.lines().map(|l| l.split(": ").nth(1).unwrap_or_default()).collect();
        assert_eq!(
            fields,
            ["organization.include_management_account", "detector.finding_publishing_frequency", "notifications.colour"],
            "one a section, in file order: {error}"
        );
        assert!(error.lines().all(|l| l.starts_with("p.toml:")), "{error}");
    }

    #[test]
    fn ip_lists_take_guardduty_names_and_s3_locations_only() {
        let text = |name: &str, location: &str| {
            format!("[organization]\nregions = \"all\"\n[admin]\naccount = \"100000000001\"\n[detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
                     [ip_lists]\ntrusted = {{ name = \"{name}\", location = \"{location}\" }}\n")
        };
        assert!(Plan::parse(&text("corporate egress_1", "https://s3.amazonaws.com/lists/ips.txt"), Path::new("p.toml")).is_ok());
        assert!(Plan::parse(&text("ok", "https://lists.s3.eu-west-1.amazonaws.com/ips.txt"), Path::new("p.toml")).is_ok());
        let field = |name, location| Plan::parse(&text(name, location), Path::new("p.toml")).unwrap_err().to_string().split(": ").nth(1).unwrap_or_default().to_owned();
        assert_eq!(field("corp.egress", "s3://lists/ips.txt"), "ip_lists.name");
        assert_eq!(field("egress", "https://example.com/ips.txt"), "ip_lists.location", "GuardDuty reads from S3 only");
    }

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_column("a\nbc\nd", 0), (1, 1));
        assert_eq!(line_column("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_column("a\nbc\nd", 5), (3, 1));
    }
}
