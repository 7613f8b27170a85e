//! The plan's rules across fields, which serde cannot express: every one broken is
//! reported, each at its place in the file.

use std::collections::BTreeSet;
use std::path::Path;

use super::load::{line_column, PlanError};
use super::Plan;
use crate::model::{Agent, Feature};

impl Plan {
    /// Rules across fields, which serde cannot express: every one broken is reported.
    pub(super) fn check(&self, text: &str, path: &Path) -> Result<(), PlanError> {
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
        if let Some(exfiltration) = &self.exfiltration {
            problems.extend(exfiltration.problems(self.notifications.as_ref()));
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
