//! One file per resource kind. Each kind has its own `Change` enum and, beside it, the pure
//! plan that computes those changes from desired and observed state, the calls that apply
//! them, the audit controls it answers and the calls a forecast counts for each change.
//!
//! Adding a kind: a new file with those parts, its `Resource` impl (`registry`) and its line
//! there, and one line in `kinds!` below.

pub mod admin;
pub mod alerts;
pub mod archive;
pub mod coverage;
pub mod detector;
pub mod exfiltration;
pub mod export;
pub mod iam;
pub mod ip_lists;
pub mod registry;
pub mod membership;
pub mod org_config;
pub mod relationship;
pub mod slack;
pub mod rules;
pub mod suppression;
pub mod topic;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::control::{Control, Failure};
use crate::aws::Service;
use crate::permissions::Grant;
use crate::plan::Plan;

/// What every kind's change tells the rest of orgguard about itself.
pub trait Kind: fmt::Display {
    /// The kind, as summaries group changes.
    fn kind(&self) -> &'static str;
    /// The calls that make this change: what a dry run's forecast counts.
    fn calls(&self) -> Calls;
    /// The controls this change shows failing, with what was expected and what was found.
    fn failures(&self, plan: &Plan) -> Vec<Failure>;
    /// How many things the change makes or removes (a membership change names many accounts).
    fn count(&self) -> usize {
        1
    }

    /// What the change does, without what only names its target (a detector's id), so that
    /// the same change in many targets reads as one.
    fn summary(&self) -> String {
        self.to_string()
    }
}

/// The writes one change makes, and whose rate-limit key they use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calls {
    pub service: Service,
    pub at: At,
    pub count: u32,
}

impl Calls {
    pub fn here(service: Service, count: u32) -> Self {
        Self { service, at: At::Target, count }
    }
}

/// Where a change's calls are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// In the result's own account (and region).
    Target,
    /// From the management account, in the result's region.
    Management,
}

/// Where a control is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Per account and region, wherever the detector was read (in the account, or by the
    /// delegated admin without entering it).
    Detector,
    /// Per account and region, read in the account.
    Region,
    /// Per account: IAM is global.
    Account,
    /// Per region, at the delegated admin.
    Organization,
    /// Per account and region, from the delegated admin's members.
    Member,
}

/// A control and where it is judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub place: Place,
    pub control: Control,
}

impl Check {
    pub fn new(place: Place, id: &str, description: &str, mapping: &str) -> Self {
        Self { place, control: Control { id: id.into(), description: description.into(), mapping: mapping.into() } }
    }
}

/// Registers each kind: its place in the closed `Change` enum and in the control catalog
/// (in report order).
macro_rules! kinds {
    ($($variant:ident($module:ident)),* $(,)?) => {
        /// Every change a run may make, one variant per resource kind.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
        #[serde(untagged)]
        pub enum Change {
            $($variant($module::Change)),*
        }

        impl Change {
            fn inner(&self) -> &dyn Kind {
                match self {
                    $(Self::$variant(change) => change),*
                }
            }
        }

        $(impl From<$module::Change> for Change {
            fn from(change: $module::Change) -> Self {
                Self::$variant(change)
            }
        })*

        /// Every permission the plan's kinds need, in partition `p` (`aws`, `aws-cn`, ...).
        pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
            let mut grants = Vec::new();
            $(grants.extend($module::grants(plan, p));)*
            grants.extend(coverage::grants(plan, p));
            grants
        }

        /// Every control the plan sets, in report order, with where each is judged.
        pub fn checks(plan: &Plan) -> Vec<Check> {
            let mut checks = Vec::new();
            $(checks.extend($module::checks(plan));)*
            // Coverage is read, never changed: a control without a kind.
            checks.extend(coverage::checks(plan));
            checks
        }
    };
}

kinds! {
    Detector(detector),
    Admin(admin),
    Members(membership),
    Organization(org_config),
    Suppression(suppression),
    IpLists(ip_lists),
    Archive(archive),
    Alerts(alerts),
    Slack(slack),
    Export(export),
    Topic(topic),
    Iam(iam),
    Rule(rules),
    Exfiltration(exfiltration),
    Relationship(relationship),
}

impl Change {
    pub fn kind(&self) -> &'static str {
        self.inner().kind()
    }

    pub fn calls(&self) -> Calls {
        self.inner().calls()
    }

    pub fn failures(&self, plan: &Plan) -> Vec<Failure> {
        self.inner().failures(plan)
    }

    pub fn summary(&self) -> String {
        self.inner().summary()
    }

    pub fn count(&self) -> usize {
        self.inner().count()
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner().fmt(f)
    }
}

/// JSON documents compare by meaning: key order, whitespace, a one-element list versus
/// its element, the order of list items and 7 against 7.0 do not count as drift.
pub fn same_json(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b)
}

fn canonical(value: &Value) -> Value {
    match value {
        Value::Array(items) if items.len() == 1 => canonical(&items[0]),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(canonical).collect();
            items.sort_by_cached_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect()),
        // 7 and 7.0 are one number to EventBridge's numeric matching.
        Value::Number(n) => n.as_f64().map_or_else(|| value.clone(), |f| serde_json::json!(f)),
        other => other.clone(),
    }
}

/// A document read (or not) differs from the planned one.
fn differs(observed: Option<&Value>, desired: &Value) -> bool {
    observed.is_none_or(|o| !same_json(o, desired))
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use std::collections::BTreeMap;
    use std::path::Path;

    use crate::model::{AccountId, DetectorSettings, Frequency, ObservedDetector, Region};
    use crate::plan::Plan;

    pub fn plan() -> Plan {
        Plan::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml")).unwrap()
    }

    pub fn account() -> AccountId {
        AccountId::parse("111122223333").unwrap()
    }

    pub fn region() -> Region {
        Region::parse("eu-west-1").unwrap()
    }

    /// Enabled, SIX_HOURS, no features or agents named.
    pub fn settings() -> DetectorSettings {
        DetectorSettings { enabled: true, frequency: Frequency::SixHours, features: BTreeMap::new(), agents: BTreeMap::new() }
    }

    /// A detector `d` as `settings` makes it, with no features listed.
    pub fn detector() -> ObservedDetector {
        ObservedDetector { id: "d".into(), enabled: true, frequency: Some(Frequency::SixHours), features: BTreeMap::new(), agents: BTreeMap::new() }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_documents_compare_by_meaning() {
        let a = json!({"Version": "2012-10-17", "Statement": [{"Action": ["sns:Publish"], "Effect": "Allow"}]});
        let b = json!({"Statement": {"Effect": "Allow", "Action": "sns:Publish"}, "Version": "2012-10-17"});
        assert!(same_json(&a, &b));
        let c = json!({"source": ["b", "a"]});
        assert!(same_json(&c, &json!({"source": ["a", "b"]})));
        assert!(!same_json(&c, &json!({"source": ["a"]})));
        assert!(!same_json(&a, &json!({"Version": "2012-10-17", "Statement": [{"Action": "sns:*", "Effect": "Allow"}]})));
    }

    #[test]
    fn every_kind_serializes_with_its_own_kind_tag() {
        let change = Change::from(detector::Change::CreateDetector { settings: crate::model::DetectorSettings {
            enabled: true,
            frequency: crate::model::Frequency::SixHours,
            features: Default::default(),
            agents: Default::default(),
        } });
        assert_eq!(serde_json::to_value(&change).unwrap()["kind"], "create_detector");
        assert_eq!(change.kind(), "create detector");
    }
}
