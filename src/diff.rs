//! Pure: (desired, observed) -> the changes that make one into the other. This is the
//! one place that decides what counts as drift; rollout applies it, dry run prints it.

use std::fmt;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::desired::Wiring;
use crate::model::{
    AccountId, AdminSide, Agent, DetectorSettings, Feature, Frequency, ObservedDetector, ObservedIam, ObservedRelationship, ObservedRule,
    ObservedTopic, Region,
};
use crate::plan::Rule;

/// Everything a run may do to a target, in one closed enum.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateDetector { settings: DetectorSettings },
    UpdateDetector { detector_id: String, fields: Vec<DetectorField> },
    CreateRole { role: String },
    UpdateRoleTrust { role: String },
    CreatePolicy { policy: String },
    /// A new default version; `delete_version` first when IAM's five versions are used.
    UpdatePolicy { policy: String, delete_version: Option<String> },
    AttachPolicy { role: String, policy: String },
    CreateTopic { topic: String },
    SetTopicAttribute { topic: String, attribute: &'static str },
    TagTopic { topic: String, tags: BTreeMap<String, String> },
    Subscribe { protocol: String, endpoint: String },
    Unsubscribe { protocol: String, endpoint: String, subscription_arn: String },
    PutRule { rule: String, reason: &'static str },
    PutTarget { rule: String, target_id: String },
    EnableAdmin { account: AccountId },
    ReplaceAdmin { from: AccountId, to: AccountId },
    UpdateOrganization {
        auto_enable: Option<String>,
        features: BTreeMap<Feature, String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        agents: BTreeMap<Feature, BTreeMap<Agent, String>>,
    },
    CreateMembers { accounts: Vec<AccountId> },
    /// Migration from an invitation-era administrator (only with --migrate-invitations).
    LeaveAdministrator { administrator: AccountId },
    DeclineInvitations { from: Vec<AccountId> },
}

/// One setting of an existing detector that differs from the plan.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum DetectorField {
    Enable { from: bool, to: bool },
    Frequency { from: Option<Frequency>, to: Frequency },
    Feature { feature: Feature, from: bool, to: bool },
    /// A runtime-monitoring agent (GuardDuty's additional configuration of the feature).
    Agent { feature: Feature, agent: Agent, from: bool, to: bool },
}

impl Change {
    /// The kind, as summaries group changes.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CreateDetector { .. } => "create detector",
            Self::UpdateDetector { .. } => "update detector",
            Self::CreateRole { .. } => "create IAM role",
            Self::UpdateRoleTrust { .. } => "update IAM role trust",
            Self::CreatePolicy { .. } => "create IAM policy",
            Self::UpdatePolicy { .. } => "update IAM policy",
            Self::AttachPolicy { .. } => "attach IAM policy",
            Self::CreateTopic { .. } => "create SNS topic",
            Self::SetTopicAttribute { .. } => "set SNS topic attribute",
            Self::TagTopic { .. } => "tag SNS topic",
            Self::Subscribe { .. } => "subscribe",
            Self::Unsubscribe { .. } => "unsubscribe",
            Self::PutRule { .. } => "put EventBridge rule",
            Self::PutTarget { .. } => "put EventBridge target",
            Self::EnableAdmin { .. } => "designate delegated admin",
            Self::ReplaceAdmin { .. } => "replace delegated admin",
            Self::UpdateOrganization { .. } => "update organization configuration",
            Self::CreateMembers { .. } => "add members",
            Self::LeaveAdministrator { .. } => "leave invitation-era administrator",
            Self::DeclineInvitations { .. } => "decline invitations",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDetector { settings } => {
                write!(f, "enabled={} frequency={}", settings.enabled, settings.frequency)?;
                for (feature, on) in &settings.features {
                    write!(f, " {feature}={}", on_off(*on))?;
                }
                for (agent, on) in &settings.agents {
                    write!(f, " {agent}={}", on_off(*on))?;
                }
                Ok(())
            }
            Self::UpdateDetector { detector_id, fields } => {
                write!(f, "detector {detector_id}:")?;
                for field in fields {
                    match field {
                        DetectorField::Enable { from, to } => write!(f, " enabled {from} -> {to}")?,
                        DetectorField::Frequency { from, to } => {
                            let from = from.map_or("unknown", Frequency::as_str);
                            write!(f, " frequency {from} -> {to}")?
                        }
                        DetectorField::Feature { feature, from, to } => {
                            write!(f, " {feature} {} -> {}", on_off(*from), on_off(*to))?
                        }
                        DetectorField::Agent { feature, agent, from, to } => {
                            write!(f, " {feature}/{agent} {} -> {}", on_off(*from), on_off(*to))?
                        }
                    }
                }
                Ok(())
            }
            Self::CreateRole { role } => write!(f, "role {role} trusted by events.amazonaws.com"),
            Self::UpdateRoleTrust { role } => write!(f, "role {role}: trust policy differs"),
            Self::CreatePolicy { policy } => write!(f, "policy {policy}, sns:Publish on the findings topic"),
            Self::UpdatePolicy { policy, delete_version } => {
                write!(f, "policy {policy}: document differs, new default version")?;
                match delete_version {
                    Some(version) => write!(f, " (deleting the oldest version {version})"),
                    None => Ok(()),
                }
            }
            Self::AttachPolicy { role, policy } => write!(f, "{policy} to {role}"),
            Self::CreateTopic { topic } => write!(f, "topic {topic} with display name, policy and tags"),
            Self::SetTopicAttribute { topic, attribute } => write!(f, "topic {topic}: {attribute}"),
            Self::TagTopic { topic, tags } => write!(f, "topic {topic}: {tags:?}"),
            Self::Subscribe { protocol, endpoint } => write!(f, "{protocol}:{endpoint}"),
            Self::Unsubscribe { protocol, endpoint, .. } => write!(f, "{protocol}:{endpoint} (not in the plan; pruning)"),
            Self::PutRule { rule, reason } => write!(f, "rule {rule}: {reason}"),
            Self::PutTarget { rule, target_id } => write!(f, "rule {rule}: target {target_id} -> topic, with role"),
            Self::EnableAdmin { account } => write!(f, "{account}"),
            Self::ReplaceAdmin { from, to } => write!(f, "{from} -> {to}"),
            Self::UpdateOrganization { auto_enable, features, agents } => {
                if let Some(mode) = auto_enable {
                    write!(f, "auto-enable members {mode}")?;
                }
                for (feature, mode) in features {
                    write!(f, " {feature}={mode}")?;
                }
                for (feature, agents) in agents {
                    for (agent, mode) in agents {
                        write!(f, " {feature}/{agent}={mode}")?;
                    }
                }
                Ok(())
            }
            Self::CreateMembers { accounts } => write!(f, "{} accounts", accounts.len()),
            Self::LeaveAdministrator { administrator } => {
                write!(f, "disassociate from {administrator} (the organization's admin then adds it as a member)")
            }
            Self::DeclineInvitations { from } => {
                let from: Vec<&str> = from.iter().map(AccountId::as_str).collect();
                write!(f, "from {}", from.join(", "))
            }
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// The change that gives the account-region the planned detector, if any. Features the
/// plan does not name are left as they are, and so are those GuardDuty does not offer in
/// the region (see `unavailable`).
pub fn detector(desired: &DetectorSettings, observed: Option<&ObservedDetector>) -> Option<Change> {
    let Some(observed) = observed else {
        return Some(Change::CreateDetector { settings: desired.clone() });
    };
    let mut fields = Vec::new();
    if observed.enabled != desired.enabled {
        fields.push(DetectorField::Enable { from: observed.enabled, to: desired.enabled });
    }
    if observed.frequency != Some(desired.frequency) {
        fields.push(DetectorField::Frequency { from: observed.frequency, to: desired.frequency });
    }
    let offered = |feature: &Feature| !unavailable(desired, observed).contains(feature);
    for (&feature, &to) in desired.features.iter().filter(|(f, _)| offered(f)) {
        let from = observed.features.get(&feature).copied().unwrap_or(false);
        if from != to {
            fields.push(DetectorField::Feature { feature, from, to });
        }
    }
    for (feature, agents) in desired.agents_by_feature().into_iter().filter(|(f, _)| offered(f)) {
        // Like features, GuardDuty lists every agent a feature offers in the region.
        let listed = observed.agents.get(&feature).filter(|a| !a.is_empty());
        for (agent, to) in agents.into_iter().filter(|(a, _)| listed.is_none_or(|l| l.contains_key(a))) {
            let from = listed.and_then(|a| a.get(&agent)).copied().unwrap_or(false);
            if from != to {
                fields.push(DetectorField::Agent { feature, agent, from, to });
            }
        }
    }
    (!fields.is_empty()).then(|| Change::UpdateDetector { detector_id: observed.id.clone(), fields })
}

/// Planned features that GuardDuty does not offer in the detector's region: it lists every
/// feature it offers there, so one it leaves out is not available (not drift). A detector
/// read with no features at all says nothing about availability.
pub fn unavailable(desired: &DetectorSettings, observed: &ObservedDetector) -> Vec<Feature> {
    if observed.features.is_empty() {
        return Vec::new();
    }
    desired.features.keys().filter(|f| !observed.features.contains_key(f)).copied().collect()
}

/// JSON documents compare by meaning: key order, whitespace, a one-element list versus
/// its element, and the order of list items do not count as drift.
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
        other => other.clone(),
    }
}

fn differs(observed: Option<&Value>, desired: &Value) -> bool {
    observed.is_none_or(|o| !same_json(o, desired))
}

/// The account's IAM role and policy.
pub fn iam(wiring: &Wiring, observed: &ObservedIam) -> Vec<Change> {
    let role = wiring.plan.role.clone();
    let policy = wiring.plan.policy.clone();
    let mut changes = Vec::new();
    match &observed.role_trust {
        None => changes.push(Change::CreateRole { role: role.clone() }),
        Some(trust) if !same_json(trust, &wiring.trust_policy()) => {
            changes.push(Change::UpdateRoleTrust { role: role.clone() })
        }
        Some(_) => {}
    }
    match &observed.policy {
        None => changes.push(Change::CreatePolicy { policy: policy.clone() }),
        Some(current) if !same_json(&current.document, &wiring.publish_policy()) => {
            // IAM keeps five versions; the default one is never among old_versions.
            let delete_version = (current.old_versions.len() >= 4).then(|| current.old_versions[0].clone());
            changes.push(Change::UpdatePolicy { policy: policy.clone(), delete_version })
        }
        Some(_) => {}
    }
    if !observed.attached {
        changes.push(Change::AttachPolicy { role, policy });
    }
    changes
}

/// The region's topic and subscriptions; subscriptions the plan does not name are only
/// reported (in the returned notes) unless the plan prunes them.
pub fn topic(wiring: &Wiring, region: &Region, observed: Option<&ObservedTopic>) -> (Vec<Change>, Vec<String>) {
    let name = wiring.plan.topic.clone();
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let empty = Vec::new();
    let subscriptions = match observed {
        None => {
            changes.push(Change::CreateTopic { topic: name.clone() });
            &empty
        }
        Some(topic) => {
            if topic.display_name != wiring.display_name() {
                changes.push(Change::SetTopicAttribute { topic: name.clone(), attribute: "DisplayName" });
            }
            if differs(topic.policy.as_ref(), &wiring.topic_policy(region)) {
                changes.push(Change::SetTopicAttribute { topic: name.clone(), attribute: "Policy" });
            }
            let missing_tags: BTreeMap<_, _> = wiring
                .plan
                .tags
                .iter()
                .filter(|(k, v)| topic.tags.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !missing_tags.is_empty() {
                changes.push(Change::TagTopic { topic: name.clone(), tags: missing_tags });
            }
            &topic.subscriptions
        }
    };
    let planned = wiring.subscriptions();
    for (protocol, endpoint) in &planned {
        if !subscriptions.iter().any(|s| s.protocol == *protocol && s.endpoint == *endpoint) {
            changes.push(Change::Subscribe { protocol: (*protocol).to_owned(), endpoint: (*endpoint).to_owned() });
        }
    }
    for extra in subscriptions.iter().filter(|s| !planned.contains(&(s.protocol.as_str(), s.endpoint.as_str()))) {
        if wiring.plan.prune_subscriptions && extra.arn.starts_with("arn:") {
            changes.push(Change::Unsubscribe {
                protocol: extra.protocol.clone(),
                endpoint: extra.endpoint.clone(),
                subscription_arn: extra.arn.clone(),
            });
        } else {
            notes.push(format!(
                "subscription {}:{} is not in the plan (kept; prune_subscriptions = true removes it)",
                extra.protocol, extra.endpoint
            ));
        }
    }
    (changes, notes)
}

/// One rule: enabled, with the planned pattern, and its target pointing at the topic.
pub fn rule(wiring: &Wiring, region: &Region, rule: &Rule, observed: Option<&ObservedRule>) -> Vec<Change> {
    let name = rule.name.get_ref().clone();
    let reason = match observed {
        None => Some("missing"),
        Some(o) if !o.enabled => Some("disabled"),
        Some(o) if differs(o.pattern.as_ref(), &rule.event_pattern.0) => Some("event pattern differs"),
        Some(_) => None,
    };
    let mut changes: Vec<Change> = reason.map(|reason| Change::PutRule { rule: name.clone(), reason }).into_iter().collect();
    let (topic, role) = (wiring.topic_arn(region), wiring.role_arn());
    let target_ok = observed.is_some_and(|o| {
        o.targets.iter().any(|t| t.id == rule.target_id && t.arn == topic && t.role_arn.as_deref() == Some(role.as_str()))
    });
    if !target_ok {
        changes.push(Change::PutTarget { rule: name, target_id: rule.target_id.clone() });
    }
    changes
}

/// An account's invitation-era relationships against the planned admin: with `migrate`,
/// the changes that undo them; without, what stands in the way and what to do about it.
/// An administrator that is the region's designated delegated admin holds the account
/// through the organization: that is the designation's business (a conflict, or
/// --replace-admin), not an invitation's.
pub fn relationship(
    admin: &AccountId,
    designated: &[AccountId],
    observed: &ObservedRelationship,
    migrate: bool,
) -> Result<Vec<Change>, String> {
    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    if let Some(other) = observed.administrator.as_ref().filter(|a| *a != admin && !designated.contains(a)) {
        changes.push(Change::LeaveAdministrator { administrator: *other });
        conflicts.push(format!("associated with administrator {other} (an invitation, not the organization)"));
    }
    let pending: Vec<AccountId> = observed.invitations.iter().filter(|a| *a != admin).cloned().collect();
    if !pending.is_empty() {
        let from: Vec<&str> = pending.iter().map(AccountId::as_str).collect();
        conflicts.push(format!("invitations pending from {}", from.join(", ")));
        changes.push(Change::DeclineInvitations { from: pending });
    }
    if migrate || conflicts.is_empty() {
        return Ok(changes);
    }
    Err(format!(
        "{}; orgguard leaves it alone: rerun with --migrate-invitations to disassociate it and decline them, \
         and the delegated admin {admin} adds it through the organization",
        conflicts.join("; ")
    ))
}

/// Desired organization state in one region, as the delegated admin holds it.
pub struct OrganizationPlan<'a> {
    pub admin: &'a AccountId,
    pub auto_enable: String,
    pub feature_auto_enable: BTreeMap<Feature, String>,
    pub agent_auto_enable: BTreeMap<Feature, BTreeMap<Agent, String>>,
    /// Every target account that should be a member (the admin itself excluded).
    pub members: Vec<AccountId>,
}

/// An admin already designated that is not the plan's: left alone unless replacing.
#[derive(Debug, PartialEq, Eq)]
pub struct AdminConflict {
    pub current: AccountId,
}

/// Designation, from the management account's view of the region's admins.
pub fn designation(plan: &OrganizationPlan, admins: &[AccountId], replace: bool) -> Result<Option<Change>, AdminConflict> {
    match admins.iter().find(|a| *a != plan.admin) {
        Some(other) if !replace => Err(AdminConflict { current: *other }),
        Some(other) => Ok(Some(Change::ReplaceAdmin { from: *other, to: *plan.admin })),
        None if admins.is_empty() => Ok(Some(Change::EnableAdmin { account: *plan.admin })),
        None => Ok(None),
    }
}

/// Organization configuration and members, from what the admin sees; None when the
/// admin is not designated yet (so everything is still to be done).
pub fn organization(plan: &OrganizationPlan, side: Option<&AdminSide>) -> Vec<Change> {
    let mut changes = Vec::new();
    let auto_enable = (side.and_then(|s| s.auto_enable.as_deref()) != Some(plan.auto_enable.as_str()))
        .then(|| plan.auto_enable.clone());
    // The admin's configuration lists every feature offered in the region; one it leaves out is not available here.
    let offered = |feature: &Feature| side.is_none_or(|s| s.feature_auto_enable.is_empty() || s.feature_auto_enable.contains_key(feature));
    let features: BTreeMap<_, _> = plan
        .feature_auto_enable
        .iter()
        .filter(|(feature, mode)| offered(feature) && side.and_then(|s| s.feature_auto_enable.get(*feature)) != Some(*mode))
        .map(|(f, m)| (*f, m.clone()))
        .collect();
    let mut agents: BTreeMap<Feature, BTreeMap<Agent, String>> = BTreeMap::new();
    for (feature, planned) in plan.agent_auto_enable.iter().filter(|(f, _)| offered(f)) {
        for (agent, mode) in planned {
            if side.and_then(|s| s.agent_auto_enable.get(feature)?.get(agent)) != Some(mode) {
                agents.entry(*feature).or_default().insert(*agent, mode.clone());
            }
        }
    }
    // A feature's auto-enable goes with its agents'.
    let mut features = features;
    for feature in agents.keys() {
        if let Some(mode) = plan.feature_auto_enable.get(feature) {
            features.entry(*feature).or_insert_with(|| mode.clone());
        }
    }
    if auto_enable.is_some() || !features.is_empty() || !agents.is_empty() {
        changes.push(Change::UpdateOrganization { auto_enable, features, agents });
    }
    let missing: Vec<AccountId> = plan
        .members
        .iter()
        .filter(|a| side.and_then(|s| s.members.get(*a)).is_none_or(|status| status != "Enabled"))
        .cloned()
        .collect();
    if !missing.is_empty() {
        changes.push(Change::CreateMembers { accounts: missing });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> DetectorSettings {
        DetectorSettings {
            enabled: true,
            frequency: Frequency::SixHours,
            features: BTreeMap::from([
                (Feature::S3DataEvents, true),
                (Feature::EbsMalwareProtection, true),
                (Feature::EksAuditLogs, false),
            ]),
            agents: BTreeMap::new(),
        }
    }

    fn observed(frequency: Frequency, features: &[(Feature, bool)]) -> ObservedDetector {
        ObservedDetector {
            id: "d1".into(),
            enabled: true,
            frequency: Some(frequency),
            features: features.iter().copied().collect(),
            agents: BTreeMap::new(),
        }
    }

    #[test]
    fn no_detector_means_create_with_the_plan() {
        assert_eq!(detector(&desired(), None), Some(Change::CreateDetector { settings: desired() }));
    }

    #[test]
    fn matching_detector_means_no_change() {
        let current = observed(
            Frequency::SixHours,
            &[
                (Feature::S3DataEvents, true),
                (Feature::EbsMalwareProtection, true),
                (Feature::EksAuditLogs, false),
                (Feature::RdsLoginEvents, true),
            ],
        );
        assert_eq!(detector(&desired(), Some(&current)), None);
    }

    #[test]
    fn only_differing_fields_are_updated() {
        let mut current = observed(
            Frequency::FifteenMinutes,
            &[(Feature::S3DataEvents, false), (Feature::EbsMalwareProtection, true), (Feature::EksAuditLogs, true)],
        );
        current.enabled = false;
        assert_eq!(
            detector(&desired(), Some(&current)),
            Some(Change::UpdateDetector {
                detector_id: "d1".into(),
                fields: vec![
                    DetectorField::Enable { from: false, to: true },
                    DetectorField::Frequency { from: Some(Frequency::FifteenMinutes), to: Frequency::SixHours },
                    DetectorField::Feature { feature: Feature::S3DataEvents, from: false, to: true },
                    DetectorField::Feature { feature: Feature::EksAuditLogs, from: true, to: false },
                ],
            })
        );
    }

    #[test]
    fn a_feature_guardduty_does_not_list_is_unavailable_not_drift_and_unknown_frequency_is_drift() {
        let mut current = observed(Frequency::SixHours, &[(Feature::S3DataEvents, true), (Feature::EksAuditLogs, false)]);
        current.frequency = None;
        let Some(Change::UpdateDetector { fields, .. }) = detector(&desired(), Some(&current)) else {
            panic!("expected an update");
        };
        assert_eq!(fields, vec![DetectorField::Frequency { from: None, to: Frequency::SixHours }]);
        assert_eq!(unavailable(&desired(), &current), vec![Feature::EbsMalwareProtection]);
        current.features.clear();
        assert!(unavailable(&desired(), &current).is_empty(), "no features read says nothing about availability");
    }

    #[test]
    fn runtime_agents_differ_one_by_one_under_their_feature() {
        let mut desired = desired();
        desired.features.insert(Feature::RuntimeMonitoring, true);
        desired.agents = BTreeMap::from([(Agent::EksAddonManagement, true), (Agent::Ec2AgentManagement, false)]);
        let mut current = observed(
            Frequency::SixHours,
            &[(Feature::S3DataEvents, true), (Feature::EbsMalwareProtection, true), (Feature::EksAuditLogs, false), (Feature::RuntimeMonitoring, true)],
        );
        current.agents.insert(
            Feature::RuntimeMonitoring,
            BTreeMap::from([(Agent::EksAddonManagement, false), (Agent::EcsFargateAgentManagement, true), (Agent::Ec2AgentManagement, false)]),
        );
        let Some(Change::UpdateDetector { fields, .. }) = detector(&desired, Some(&current)) else { panic!("expected an update") };
        assert_eq!(
            fields,
            vec![DetectorField::Agent { feature: Feature::RuntimeMonitoring, agent: Agent::EksAddonManagement, from: false, to: true }],
            "an agent the plan does not name is left alone"
        );
    }

    #[test]
    fn features_absent_from_the_plan_are_left_alone() {
        let mut plan = desired();
        plan.features.clear();
        let current = observed(Frequency::SixHours, &[(Feature::S3DataEvents, false), (Feature::RdsLoginEvents, true)]);
        assert_eq!(detector(&plan, Some(&current)), None);
    }

    mod wiring {
        use std::path::Path;

        use serde_json::json;

        use super::super::*;
        use crate::model::{ObservedPolicy, ObservedSubscription, ObservedTarget, Partition};
        use crate::plan::Plan;

        fn plan() -> Plan {
            Plan::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml")).unwrap()
        }

        fn account() -> AccountId {
            AccountId::parse("111122223333").unwrap()
        }

        fn region() -> Region {
            Region::parse("eu-west-1").unwrap()
        }

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
        fn a_rule_that_matches_needs_nothing_and_each_kind_of_drift_its_own_change() {
            let plan = plan();
            let n = plan.notifications.as_ref().unwrap();
            let (account, region) = (account(), region());
            let wiring = Wiring { plan: n, account: &account, partition: Partition::Aws };
            let rule = &n.rules[0];
            let good = ObservedRule {
                enabled: true,
                // key order and a scalar in place of a one-element list are not drift
                pattern: Some(json!({"detail-type": "GuardDuty Finding", "source": ["aws.guardduty"]})),
                targets: vec![ObservedTarget {
                    id: "guardduty-finding".into(),
                    arn: wiring.topic_arn(&region),
                    role_arn: Some(wiring.role_arn()),
                }],
            };
            assert_eq!(super::super::rule(&wiring, &region, rule, Some(&good)), vec![]);
            let disabled = ObservedRule { enabled: false, ..good.clone() };
            assert_eq!(
                super::super::rule(&wiring, &region, rule, Some(&disabled)),
                vec![Change::PutRule { rule: "guardduty-finding".into(), reason: "disabled" }]
            );
            let untargeted = ObservedRule { targets: vec![], ..good };
            assert_eq!(
                super::super::rule(&wiring, &region, rule, Some(&untargeted)),
                vec![Change::PutTarget { rule: "guardduty-finding".into(), target_id: "guardduty-finding".into() }]
            );
            assert_eq!(super::super::rule(&wiring, &region, rule, None).len(), 2);
        }

        #[test]
        fn unplanned_subscriptions_are_reported_unless_the_plan_prunes_them() {
            let mut plan = plan();
            let (account, region) = (account(), region());
            let observed = |plan: &Plan| {
                let wiring = Wiring { plan: plan.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws };
                let topic = ObservedTopic {
                    arn: wiring.topic_arn(&region),
                    display_name: "put-slack".into(),
                    policy: Some(wiring.topic_policy(&region)),
                    tags: BTreeMap::from([("Name".into(), "guardduty-finding".into())]),
                    subscriptions: vec![ObservedSubscription {
                        arn: "arn:aws:sns:eu-west-1:111122223333:guardduty-finding:1".into(),
                        protocol: "email".into(),
                        endpoint: "someone@example.com".into(),
                    }],
                };
                topic_changes(&wiring, &region, &topic)
            };
            let (changes, notes) = observed(&plan);
            assert_eq!(changes, vec![Change::Subscribe { protocol: "email".into(), endpoint: "security-alerts@example.com".into() }]);
            assert_eq!(notes.len(), 1, "{notes:?}");
            plan.notifications.as_mut().unwrap().prune_subscriptions = true;
            let (changes, notes) = observed(&plan);
            assert!(notes.is_empty());
            assert!(matches!(changes[1], Change::Unsubscribe { .. }), "{changes:?}");
        }

        fn topic_changes(wiring: &Wiring, region: &Region, topic: &ObservedTopic) -> (Vec<Change>, Vec<String>) {
            super::super::topic(wiring, region, Some(topic))
        }

        #[test]
        fn a_changed_policy_gets_a_new_version_and_the_oldest_goes_when_five_exist() {
            let plan = plan();
            let account = account();
            let wiring = Wiring { plan: plan.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws };
            let observed = |old: &[&str]| ObservedIam {
                role_trust: Some(wiring.trust_policy()),
                policy: Some(ObservedPolicy {
                    document: json!({"Version": "2012-10-17", "Statement": []}),
                    old_versions: old.iter().map(|v| v.to_string()).collect(),
                }),
                attached: true,
            };
            let policy = "EventBridgePublishGuarddutyFinding".to_owned();
            assert_eq!(iam(&wiring, &observed(&["v1"])), vec![Change::UpdatePolicy { policy: policy.clone(), delete_version: None }]);
            assert_eq!(
                iam(&wiring, &observed(&["v1", "v2", "v3", "v4"])),
                vec![Change::UpdatePolicy { policy, delete_version: Some("v1".into()) }]
            );
        }

        #[test]
        fn only_an_administrator_that_is_not_designated_is_an_invitation_era_one() {
            let [admin, designated, old] = ["100000000001", "100000000002", "100000000009"].map(|a| AccountId::parse(a).unwrap());
            let held_by = |a: &AccountId| ObservedRelationship { administrator: Some(*a), invitations: vec![] };
            assert_eq!(relationship(&admin, std::slice::from_ref(&designated), &held_by(&designated), false), Ok(vec![]));
            assert_eq!(relationship(&admin, &[], &held_by(&admin), false), Ok(vec![]));
            let conflict = relationship(&admin, std::slice::from_ref(&designated), &held_by(&old), false).unwrap_err();
            assert!(conflict.starts_with("associated with administrator 100000000009"), "{conflict}");
            let pending = ObservedRelationship { administrator: None, invitations: vec![old, admin] };
            assert_eq!(
                relationship(&admin, &[], &pending, true),
                Ok(vec![Change::DeclineInvitations { from: vec![old] }]),
                "the planned admin's own invitation is not declined"
            );
        }

        #[test]
        fn another_admin_is_a_conflict_unless_replacing() {
            let (admin, other) = (AccountId::parse("100000000001").unwrap(), AccountId::parse("100000000002").unwrap());
            let plan = OrganizationPlan {
                admin: &admin,
                auto_enable: "ALL".into(),
                feature_auto_enable: BTreeMap::new(),
                agent_auto_enable: BTreeMap::new(),
                members: vec![other],
            };
            assert_eq!(designation(&plan, std::slice::from_ref(&other), false), Err(AdminConflict { current: other }));
            assert_eq!(
                designation(&plan, std::slice::from_ref(&other), true),
                Ok(Some(Change::ReplaceAdmin { from: other, to: admin }))
            );
            assert_eq!(designation(&plan, &[], false), Ok(Some(Change::EnableAdmin { account: admin })));
            assert_eq!(designation(&plan, std::slice::from_ref(&admin), false), Ok(None));
            let side = AdminSide {
                auto_enable: Some("ALL".into()),
                feature_auto_enable: BTreeMap::new(),
                members: BTreeMap::from([(other, "Removed".into())]),
                member_detectors: BTreeMap::new(),
                agent_auto_enable: BTreeMap::new(),
            };
            assert_eq!(organization(&plan, Some(&side)), vec![Change::CreateMembers { accounts: vec![other] }]);
        }
    }
}
