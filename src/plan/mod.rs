//! The plan file: what every account-region should look like. Parsing validates
//! everything that can be checked without AWS, and errors carry file:line:column.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

mod central;
mod check;
mod exfiltration;
mod load;

pub use central::{Alerts, Archive, Export, IpList, IpLists, Slack, Suppression, SuppressionRule};
pub use exfiltration::{Exfiltration, TrafficType};
pub use load::PlanError;

use crate::model::{AccountId, Agent, AutoEnable, DetectorSettings, Feature, Frequency, Rates, Region};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub organization: Organization,
    pub admin: Option<Admin>,
    pub detector: DetectorPlan,
    pub notifications: Option<Notifications>,
    pub suppression: Option<Suppression>,
    pub ip_lists: Option<IpLists>,
    pub export: Option<Export>,
    pub alerts: Option<Alerts>,
    pub exfiltration: Option<Exfiltration>,
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

impl Plan {
    /// What is valid but deserves a second look: where the plan sends every account's
    /// findings outside AWS, or to one account that every member then trusts.
    pub fn warnings(&self) -> Vec<String> {
        let subscriptions = self.notifications.iter().flat_map(|n| &n.subscriptions);
        subscriptions
            .filter_map(|s| {
                let endpoint = &s.endpoint.0;
                match s.protocol {
                    Protocol::Https => Some(format!(
                        "notifications.subscriptions: {endpoint} receives the findings of every account, outside AWS; check that the host is yours"
                    )),
                    Protocol::Lambda | Protocol::Sqs => {
                        let account = endpoint.split(':').nth(4).unwrap_or("?");
                        Some(format!(
                            "notifications.subscriptions: {endpoint} (account {account}) receives the findings of every account; \
                             check that the account is in your organization"
                        ))
                    }
                    Protocol::Email | Protocol::EmailJson => None,
                }
            })
            .collect()
    }
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
    /// What the rule is for, as the EventBridge console shows it; absent: left as it is.
    pub description: Option<String>,
    /// Only findings of at least this severity (0 to 10; GuardDuty's high findings are 7 and
    /// up): numeric matching on `detail.severity`, added to the pattern. Absent: every severity.
    pub min_severity: Option<Spanned<f64>>,
}

impl Rule {
    /// The pattern EventBridge holds: the plan's, with the minimum severity if any.
    pub fn pattern(&self) -> serde_json::Value {
        let mut pattern = self.event_pattern.0.clone();
        if let Some(severity) = &self.min_severity {
            let detail = pattern.as_object_mut().expect("an event pattern is an object").entry("detail").or_insert_with(|| serde_json::json!({}));
            if let Some(detail) = detail.as_object_mut() {
                detail.insert("severity".into(), serde_json::json!([{"numeric": [">=", severity.get_ref()]}]));
            }
        }
        pattern
    }
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
    /// Attempts per AWS call, the first included, before a target fails (throttling excepted).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Seconds a throttled call is retried for (backing off up to 20 s between attempts)
    /// before its target fails.
    #[serde(default = "default_throttle_budget")]
    pub throttle_budget_seconds: u64,
    /// Calls per second orgguard allows itself.
    #[serde(default)]
    pub rates: Rates,
}

impl Default for Limits {
    fn default() -> Self {
        Self { concurrency: default_concurrency(), max_attempts: default_max_attempts(), throttle_budget_seconds: default_throttle_budget(), rates: Rates::default() }
    }
}

fn default_concurrency() -> usize {
    64
}
fn default_max_attempts() -> u32 {
    8
}
fn default_throttle_budget() -> u64 {
    300
}

fn concurrency<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let value = usize::deserialize(d)?;
    if (1..=1024).contains(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!("concurrency {value} out of range: expected 1 to 1024")))
    }
}
