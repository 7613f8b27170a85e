//! Reading a plan file: TOML into the plan's types, then every check that needs no AWS,
//! each error located at file:line:column.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Plan;
use crate::model::{Agent, Feature};

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

    /// Rules across fields, which serde cannot express: every one broken is reported.
    fn check(&self, text: &str, path: &Path) -> Result<(), PlanError> {
        let mut problems: Vec<(&str, std::ops::Range<usize>, String)> = Vec::new();
        let mut fail = |field: &'static str, span: std::ops::Range<usize>, message: String| problems.push((field, span, message));
        let features = &self.detector.features;
        if features.get_ref().contains_key(&Feature::EksRuntimeMonitoring)
            && features.get_ref().contains_key(&Feature::RuntimeMonitoring)
        {
            fail(
                "detector.features",
                features.span(),
                "EKS_RUNTIME_MONITORING and RUNTIME_MONITORING are both set: RUNTIME_MONITORING \
                 already covers EKS and GuardDuty refuses a request naming both; keep RUNTIME_MONITORING"
                    .into(),
            );
        }
        let agents = &self.detector.runtime_agents;
        if !agents.get_ref().is_empty() {
            let runtime = self.detector.settings().runtime_feature();
            if runtime.is_none_or(|f| features.get_ref().get(&f) != Some(&true)) {
                fail(
                    "detector.runtime_agents",
                    agents.span(),
                    "runtime agents need RUNTIME_MONITORING (or EKS_RUNTIME_MONITORING) = true in [detector.features]".into(),
                );
            }
            if runtime == Some(Feature::EksRuntimeMonitoring) {
                if let Some(agent) = agents.get_ref().keys().find(|a| **a != Agent::EksAddonManagement) {
                    fail(
                        "detector.runtime_agents",
                        agents.span(),
                        format!("{agent} belongs to RUNTIME_MONITORING; EKS_RUNTIME_MONITORING manages only EKS_ADDON_MANAGEMENT"),
                    );
                }
            }
        }
        if let Some(admin) = &self.admin {
            if self.organization.exclude_accounts.contains(admin.account.get_ref()) {
                fail(
                    "admin.account",
                    admin.account.span(),
                    format!("admin account {} is also in organization.exclude_accounts", admin.account.get_ref()),
                );
            }
        }
        if let Some(suppression) = &self.suppression {
            let rules = &suppression.rules;
            if self.admin.is_none() {
                fail("suppression", rules.span(), "suppression rules are held by the delegated admin: the plan needs an [admin] section".into());
            }
            if rules.get_ref().len() > MAX_FILTERS {
                let message = format!("{} rules: GuardDuty holds at most {MAX_FILTERS} per account and region (not raisable)", rules.get_ref().len());
                fail("suppression.rules", rules.span(), message);
            }
            let mut seen = BTreeSet::new();
            for rule in rules.get_ref() {
                let name = rule.name.get_ref();
                let valid = (3..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
                if !valid {
                    fail("suppression.rules.name", rule.name.span(), format!("{name:?}: expected 3 to 64 of A-Z a-z 0-9 . _ -"));
                    continue;
                }
                if !seen.insert(name) {
                    fail("suppression.rules.name", rule.name.span(), format!("rule name {name:?} appears twice"));
                    continue;
                }
                if rule.description.chars().count() > 512 {
                    fail("suppression.rules.description", rule.name.span(), format!("{name}: description over 512 characters"));
                    continue;
                }
                if let Some(problem) = criteria_problem(rule.criteria.get_ref()) {
                    fail("suppression.rules.criteria", rule.criteria.span(), format!("{name}: {problem}"));
                }
            }
        }
        if let Some(export) = &self.export {
            if self.admin.is_none() {
                fail("export", export.bucket.span(), "findings are exported from the delegated admin: the plan needs an [admin] section".into());
            }
            let bucket = export.bucket.get_ref();
            let name = bucket.split_once(":s3:::").map(|(_, name)| name).unwrap_or_default();
            if !bucket.starts_with("arn:") || name.is_empty() || name.contains('/') {
                fail("export.bucket", export.bucket.span(), format!("{bucket:?}: expected the bucket's ARN, arn:aws:s3:::name (the prefix goes in prefix)"));
            }
            if let Some(prefix) = export.prefix.as_ref().filter(|p| p.get_ref().is_empty() || p.get_ref().starts_with('/') || p.get_ref().ends_with('/')) {
                fail("export.prefix", prefix.span(), format!("{:?}: a path without a leading or trailing /", prefix.get_ref()));
            }
            let key = export.kms_key.get_ref();
            let parts: Vec<&str> = key.split(':').collect();
            let alias = parts.get(5).is_some_and(|p| p.strip_prefix("alias/").is_some_and(|name| !name.is_empty() && !name.starts_with("aws/")));
            let named = parts.get(5).is_some_and(|p| p.starts_with("key/")) || (alias && export.archive.is_some());
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "kms" || !named || export.key_place().is_none() {
                let message = match export.archive {
                    Some(_) => format!("{key:?}: expected a key's ARN, arn:aws:kms:region:account:key/id, or the ARN of the alias orgguard finds or makes the key by, arn:aws:kms:region:account:alias/name"),
                    None => format!("{key:?}: expected a key's ARN, arn:aws:kms:region:account:key/id (an alias only with [export.archive], where orgguard makes the key)"),
                };
                fail("export.kms_key", export.kms_key.span(), message);
            }
            if let Some(days) = export.archive.as_ref().map(|a| &a.retention_days).filter(|d| !(1..=36500).contains(d.get_ref())) {
                fail("export.archive.retention_days", days.span(), format!("{}: expected 1 to 36500 days", days.get_ref()));
            }
        }
        if let Some(lists) = &self.ip_lists {
            let span = lists.trusted.as_ref().map_or(lists.threat.span(), |t| t.name.span());
            if self.admin.is_none() {
                fail("ip_lists", span, "IP lists are held by the delegated admin: the plan needs an [admin] section".into());
            }
            if lists.threat.get_ref().len() > MAX_THREAT_LISTS {
                let message = format!("{} threat lists: GuardDuty holds at most {MAX_THREAT_LISTS} per account and region", lists.threat.get_ref().len());
                fail("ip_lists.threat", lists.threat.span(), message);
            }
            let mut seen = BTreeSet::new();
            for (kind, list) in lists.all() {
                let name = list.name.get_ref();
                let allowed = |c: char| c.is_ascii_alphanumeric() || c.is_whitespace() || c == '-' || c == '_';
                if name.is_empty() || name.chars().count() > 300 || !name.chars().all(allowed) {
                    fail("ip_lists.name", list.name.span(), format!("{name:?}: expected 1 to 300 of letters, digits, spaces, - and _"));
                    continue;
                }
                if !seen.insert((kind, name)) {
                    fail("ip_lists.name", list.name.span(), format!("{kind} {name:?} appears twice"));
                    continue;
                }
                let location = list.location.get_ref();
                let (scheme, rest) = location.split_once("://").unwrap_or_default();
                let (host, key) = rest.split_once('/').unwrap_or_default();
                let s3_host = host.ends_with(".amazonaws.com") && (host.starts_with("s3") || host.contains(".s3"));
                if key.is_empty() || !(scheme == "s3" || (scheme == "https" && s3_host)) {
                    let message = format!("{location:?}: expected s3://bucket/key or https://s3.amazonaws.com/bucket/key");
                    fail("ip_lists.location", list.location.span(), message);
                }
            }
        }
        // Rules of both sections share the admin's default bus: one name, one rule.
        let sections = [
            (["notifications.rules.min_severity", "notifications.rules.description", "notifications.rules.name"], self.notifications.as_ref().map(|n| &n.rules)),
            (["alerts.rules.min_severity", "alerts.rules.description", "alerts.rules.name"], self.alerts.as_ref().map(|a| &a.rules)),
        ];
        let mut seen = BTreeSet::new();
        for ([severity_field, description_field, name_field], rules) in sections {
            for rule in rules.into_iter().flatten() {
                if let Some(severity) = &rule.min_severity {
                    if !(0.0..=10.0).contains(severity.get_ref()) {
                        fail(severity_field, severity.span(), format!("{}: expected 0 to 10 (GuardDuty's severities)", severity.get_ref()));
                    } else if rule.event_pattern.0.pointer("/detail/severity").is_some() {
                        let message = "the event pattern matches detail.severity already: set either it or min_severity".to_owned();
                        fail(severity_field, severity.span(), message);
                    } else if !rule.event_pattern.0.get("detail").is_none_or(serde_json::Value::is_object) {
                        fail(severity_field, severity.span(), "the event pattern's detail is not an object".into());
                    }
                }
                if rule.description.as_ref().is_some_and(|d| d.chars().count() > 512) {
                    fail(description_field, rule.name.span(), format!("{}: description over 512 characters (EventBridge's limit)", rule.name.get_ref()));
                }
                if !seen.insert(rule.name.get_ref()) {
                    fail(name_field, rule.name.span(), format!("rule name {:?} appears twice (the admin's default bus holds both sections' rules)", rule.name.get_ref()));
                }
            }
        }
        if let Some(alerts) = &self.alerts {
            let span = alerts.rules.first().map_or(0..0, |r| r.name.span());
            if self.admin.is_none() {
                fail("alerts", span.clone(), "central alerts are at the delegated admin: the plan needs an [admin] section".into());
            }
            if alerts.rules.is_empty() {
                fail("alerts.rules", span.clone(), "no rule: central alerting needs at least one".into());
            }
            if self.notifications.as_ref().is_some_and(|n| n.topic == alerts.topic) {
                fail("alerts.topic", span, format!("{:?} is the per-account topic too: the admin account holds both, name them apart", alerts.topic));
            }
            if let Some(slack) = &alerts.slack {
                let name = slack.configuration_name.get_ref();
                if name.is_empty() || name.len() > 128 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    fail("alerts.slack.configuration_name", slack.configuration_name.span(), format!("{name:?}: expected 1 to 128 of letters, digits, - and _"));
                }
                for (field, value) in [("alerts.slack.team_id", &slack.team_id), ("alerts.slack.channel_id", &slack.channel_id)] {
                    if value.get_ref().is_empty() || !value.get_ref().chars().all(|c| c.is_ascii_alphanumeric()) {
                        fail(field, value.span(), format!("{:?}: expected Slack's id (letters and digits, as the channel's details show it)", value.get_ref()));
                    }
                }
                if !["ERROR", "INFO", "NONE"].contains(&slack.logging_level.get_ref().as_str()) {
                    fail("alerts.slack.logging_level", slack.logging_level.span(), format!("{:?}: expected ERROR, INFO or NONE", slack.logging_level.get_ref()));
                }
                let guardrails = slack.guardrail_policies.get_ref();
                if guardrails.is_empty() || guardrails.iter().any(|g| g.ends_with(":policy/AdministratorAccess") || !g.starts_with("arn:") || !g.contains(":policy/")) {
                    let message = "expected IAM policy ARNs, at least one, AdministratorAccess not among them: without a guardrail Chatbot gives the channel AdministratorAccess";
                    fail("alerts.slack.guardrail_policies", slack.guardrail_policies.span(), message.into());
                }
            }
        }
        let errors: Vec<PlanError> = problems
            .into_iter()
            .map(|(field, span, message)| {
                let (line, column) = line_column(text, span.start);
                PlanError::Invalid { path: path.to_owned(), line, column, field: field.into(), message }
            })
            .collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(PlanError::all(errors)),
        }
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
    fn all(mut errors: Vec<PlanError>) -> Self {
        match errors.len() {
            1 => errors.remove(0),
            _ => Self::Several(errors),
        }
    }
}

/// Threat intel sets per account and region: GuardDuty's quota (the trusted list is one by
/// the plan's shape).
const MAX_THREAT_LISTS: usize = 6;

/// Suppression rules per account and region: GuardDuty's quota, not raisable.
const MAX_FILTERS: usize = 100;

/// What GuardDuty would refuse in a rule's criteria.
fn criteria_problem(criteria: &crate::model::Criteria) -> Option<String> {
    if criteria.is_empty() {
        return Some("no criteria: a rule without any would match every finding".into());
    }
    for (field, condition) in criteria {
        if condition.is_empty() {
            return Some(format!("{field}: no condition (Equals, NotEquals, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual, Matches, NotMatches)"));
        }
        let lists = [("Equals", &condition.equals, 50), ("NotEquals", &condition.not_equals, 50), ("Matches", &condition.matches, 5), ("NotMatches", &condition.not_matches, 5)];
        for (name, values, most) in lists {
            match values.as_deref() {
                Some([]) => return Some(format!("{field}.{name}: empty")),
                Some(values) if values.len() > most => return Some(format!("{field}.{name}: {} values, GuardDuty takes at most {most}", values.len())),
                _ => {}
            }
        }
    }
    None
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
    use super::{Alerts, Export, IpLists, Suppression};
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

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}


#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::Frequency;
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
