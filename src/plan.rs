//! The plan file: what every account-region should look like. Parsing validates
//! everything that can be checked without AWS, and errors carry file:line:column.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::model::{AccountId, Agent, DetectorSettings, Feature, Frequency, Region};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub organization: Organization,
    pub admin: Option<Admin>,
    pub detector: DetectorPlan,
    pub notifications: Option<Notifications>,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// The role assumed in every member account.
    #[serde(default = "default_member_role")]
    pub member_role: String,
    pub external_id: Option<String>,
    pub regions: RegionSelection,
    #[serde(default)]
    pub exclude_accounts: BTreeSet<AccountId>,
    #[serde(default)]
    pub exclude_ous: BTreeSet<OuId>,
    /// The management account is a target only when the plan says so (AWS's best practice
    /// is GuardDuty there too); it is reached with the caller's own credentials.
    #[serde(default)]
    pub include_management_account: bool,
}

fn default_member_role() -> String {
    "OrganizationAccountAccessRole".into()
}

fn yes() -> bool {
    true
}

/// `"all"` (every GuardDuty region the account has enabled) or a non-empty list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionSelection {
    All,
    List(BTreeSet<Region>),
}

impl<'de> Deserialize<'de> for RegionSelection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<String>),
        }
        let expected = "\"all\" or a non-empty list of regions such as [\"us-east-1\", \"eu-west-1\"]";
        match Raw::deserialize(d).map_err(|_| serde::de::Error::custom(format!("expected {expected}")))? {
            Raw::Word(word) if word == "all" => Ok(Self::All),
            Raw::Word(word) => Err(serde::de::Error::custom(format!("invalid regions {word:?}: expected {expected}"))),
            Raw::List(list) if list.is_empty() => Err(serde::de::Error::custom(format!("empty region list: expected {expected}"))),
            Raw::List(list) => list
                .iter()
                .map(|r| Region::parse(r))
                .collect::<Result<_, _>>()
                .map(Self::List)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// An organizational unit id such as `ou-ab12-cdef3456`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OuId(pub String);

impl<'de> Deserialize<'de> for OuId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let valid = text.strip_prefix("ou-").is_some_and(|rest| {
            rest.split_once('-').is_some_and(|(root, ou)| {
                (4..=32).contains(&root.len())
                    && (8..=32).contains(&ou.len())
                    && rest.bytes().all(|b| b == b'-' || b.is_ascii_lowercase() || b.is_ascii_digit())
            })
        });
        if valid {
            Ok(Self(text))
        } else {
            Err(serde::de::Error::custom(format!("invalid OU id {text:?}: expected ou-<root>-<id> such as ou-ab12-cdef3456")))
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub account: Spanned<AccountId>,
    #[serde(default = "default_auto_enable")]
    pub auto_enable: AutoEnable,
}

fn default_auto_enable() -> AutoEnable {
    AutoEnable::All
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum AutoEnable {
    #[serde(rename = "NEW")]
    New,
    #[serde(rename = "ALL")]
    All,
    #[serde(rename = "NONE")]
    None,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorPlan {
    #[serde(default = "yes")]
    pub enable: bool,
    pub finding_publishing_frequency: Frequency,
    /// true: on; false: off; absent: left as it is.
    #[serde(default = "no_features")]
    pub features: Spanned<BTreeMap<Feature, bool>>,
    /// Runtime monitoring's agents that GuardDuty manages (its additional configuration),
    /// for the runtime feature the plan sets; absent: left as they are.
    #[serde(default = "no_agents")]
    pub runtime_agents: Spanned<BTreeMap<Agent, bool>>,
}

impl DetectorPlan {
    pub fn settings(&self) -> DetectorSettings {
        DetectorSettings {
            enabled: self.enable,
            frequency: self.finding_publishing_frequency,
            features: self.features.get_ref().clone(),
            agents: self.runtime_agents.get_ref().clone(),
        }
    }
}

fn no_features() -> Spanned<BTreeMap<Feature, bool>> {
    Spanned::new(0..0, BTreeMap::new())
}

fn no_agents() -> Spanned<BTreeMap<Agent, bool>> {
    Spanned::new(0..0, BTreeMap::new())
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    #[serde(default = "default_topic")]
    pub topic: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    /// Remove subscriptions the plan does not name; otherwise they are only reported.
    #[serde(default)]
    pub prune_subscriptions: bool,
    pub rules: Vec<Rule>,
    #[serde(default = "default_role")]
    pub role: String,
    #[serde(default = "default_policy")]
    pub policy: String,
}

fn default_topic() -> String {
    "guardduty-finding".into()
}
fn default_role() -> String {
    "eventbridge_to_sns".into()
}
fn default_policy() -> String {
    "EventBridgePublishGuarddutyFinding".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub protocol: Protocol,
    pub endpoint: Endpoint,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Email,
    #[serde(rename = "email-json")]
    EmailJson,
    Https,
    Lambda,
    Sqs,
}

/// A subscription endpoint; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint(pub String);

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim().is_empty() {
            Err(serde::de::Error::custom("empty endpoint: expected an address such as security@example.com"))
        } else {
            Ok(Self(text))
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: Spanned<String>,
    pub target_id: String,
    pub event_pattern: EventPattern,
}

/// An EventBridge event pattern; must be a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub struct EventPattern(pub serde_json::Value);

impl<'de> Deserialize<'de> for EventPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value @ serde_json::Value::Object(_)) => Ok(Self(value)),
            Ok(_) => Err(serde::de::Error::custom("event pattern must be a JSON object")),
            Err(e) => Err(serde::de::Error::custom(format!("event pattern is not valid JSON: {e}"))),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Account-regions worked on at once.
    #[serde(default = "default_concurrency", deserialize_with = "concurrency")]
    pub concurrency: usize,
    /// Attempts per AWS call, the first included, before a target fails.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Calls per second orgguard allows itself.
    #[serde(default)]
    pub rates: Rates,
}

impl Default for Limits {
    fn default() -> Self {
        Self { concurrency: default_concurrency(), max_attempts: default_max_attempts(), rates: Rates::default() }
    }
}

/// Calls per second, per account and region (GuardDuty, SNS, EventBridge), per account
/// (IAM), or for the whole run (STS AssumeRole and Organizations, from the management
/// account). Defaults sit under AWS's published quotas: EventBridge 50/s, SNS 30/s in its
/// smallest regions, STS 600/s, Organizations ListAccounts 8/s shared organization-wide;
/// GuardDuty and IAM publish none.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rates {
    pub guardduty: u32,
    pub sns: u32,
    pub events: u32,
    pub iam: u32,
    pub sts: u32,
    pub organizations: u32,
}

impl Default for Rates {
    fn default() -> Self {
        Self { guardduty: 10, sns: 25, events: 40, iam: 10, sts: 200, organizations: 4 }
    }
}

fn default_concurrency() -> usize {
    64
}
fn default_max_attempts() -> u32 {
    8
}

fn concurrency<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let value = usize::deserialize(d)?;
    if (1..=1024).contains(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!("concurrency {value} out of range: expected 1 to 1024")))
    }
}

/// A plan that could not be used, located in its file.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{path}: cannot read plan: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {field}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, field: String, message: String },
}

impl Plan {
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PlanError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, PlanError> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| invalid(text, path, "(file)", &e))?;
        let plan: Plan = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let error = e.inner();
            let mut field = e.path().to_string().replace(".$__serde_spanned_private_value", "");
            // A map key that is not a plain string (a feature name) shows as `?`: name it.
            if let (Some(stem), Some(span)) = (field.strip_suffix(".?"), error.span()) {
                let line = text[..span.start].rsplit('\n').next().unwrap_or_default();
                let key = line.split('=').next().unwrap_or_default().trim();
                let key = if key.is_empty() { &text[span] } else { key };
                field = format!("{stem}.{key}");
            }
            invalid(text, path, &field, error)
        })?;
        plan.check(text, path)?;
        Ok(plan)
    }

    /// Rules across fields, which serde cannot express.
    fn check(&self, text: &str, path: &Path) -> Result<(), PlanError> {
        let fail = |field: &str, span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_column(text, span.start);
            Err(PlanError::Invalid { path: path.to_owned(), line, column, field: field.into(), message })
        };
        let features = &self.detector.features;
        if features.get_ref().contains_key(&Feature::EksRuntimeMonitoring)
            && features.get_ref().contains_key(&Feature::RuntimeMonitoring)
        {
            return fail(
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
                return fail(
                    "detector.runtime_agents",
                    agents.span(),
                    "runtime agents need RUNTIME_MONITORING (or EKS_RUNTIME_MONITORING) = true in [detector.features]".into(),
                );
            }
            if runtime == Some(Feature::EksRuntimeMonitoring) {
                if let Some(agent) = agents.get_ref().keys().find(|a| **a != Agent::EksAddonManagement) {
                    return fail(
                        "detector.runtime_agents",
                        agents.span(),
                        format!("{agent} belongs to RUNTIME_MONITORING; EKS_RUNTIME_MONITORING manages only EKS_ADDON_MANAGEMENT"),
                    );
                }
            }
        }
        if let Some(admin) = &self.admin {
            if self.organization.exclude_accounts.contains(admin.account.get_ref()) {
                return fail(
                    "admin.account",
                    admin.account.span(),
                    format!("admin account {} is also in organization.exclude_accounts", admin.account.get_ref()),
                );
            }
        }
        if let Some(notifications) = &self.notifications {
            let mut seen = BTreeSet::new();
            for rule in &notifications.rules {
                if !seen.insert(rule.name.get_ref()) {
                    return fail(
                        "notifications.rules.name",
                        rule.name.span(),
                        format!("rule name {:?} appears twice", rule.name.get_ref()),
                    );
                }
            }
        }
        Ok(())
    }
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

impl fmt::Display for AutoEnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::New => "NEW",
            Self::All => "ALL",
            Self::None => "NONE",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn line_and_column_count_from_one() {
        assert_eq!(line_column("a\nbc\nd", 0), (1, 1));
        assert_eq!(line_column("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_column("a\nbc\nd", 5), (3, 1));
    }
}
