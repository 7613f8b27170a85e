//! The GuardDuty detector of one account-region: created with the plan's settings, or
//! updated in place (never a second one). Features the plan does not name are left as
//! they are, and so are those GuardDuty does not offer in the region.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::json;

use super::{on_off, Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, Code, GuardDuty, Service};
use crate::model::{AccountId, AdminSide, Agent, DetectorSettings, Feature, Frequency, ObservedDetector};
use crate::plan::Plan;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateDetector { settings: DetectorSettings },
    UpdateDetector { detector_id: String, fields: Vec<Field> },
    /// Teardown with `--delete-detectors`: the detector, its findings and configuration go.
    DeleteDetector { detector_id: String },
}

/// One setting of an existing detector that differs from the plan.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Field {
    Enable { from: bool, to: bool },
    Frequency { from: Option<Frequency>, to: Frequency },
    Feature { feature: Feature, from: bool, to: bool },
    /// A runtime-monitoring agent (GuardDuty's additional configuration of the feature).
    Agent { feature: Feature, agent: Agent, from: bool, to: bool },
}

/// The change that gives the account-region the planned detector, if any.
pub fn plan(desired: &DetectorSettings, observed: Option<&ObservedDetector>) -> Option<Change> {
    let Some(observed) = observed else {
        return Some(Change::CreateDetector { settings: desired.clone() });
    };
    let mut fields = Vec::new();
    if observed.enabled != desired.enabled {
        fields.push(Field::Enable { from: observed.enabled, to: desired.enabled });
    }
    if observed.frequency != Some(desired.frequency) {
        fields.push(Field::Frequency { from: observed.frequency, to: desired.frequency });
    }
    let offered = |feature: &Feature| !unavailable(desired, observed).contains(feature);
    for (&feature, &to) in desired.features.iter().filter(|(f, _)| offered(f)) {
        let from = observed.features.get(&feature).copied().unwrap_or(false);
        if from != to {
            fields.push(Field::Feature { feature, from, to });
        }
    }
    for (feature, agents) in desired.agents_by_feature().into_iter().filter(|(f, _)| offered(f)) {
        // Like features, GuardDuty lists every agent a feature offers in the region.
        let listed = observed.agents.get(&feature).filter(|a| !a.is_empty());
        for (agent, to) in agents.into_iter().filter(|(a, _)| listed.is_none_or(|l| l.contains_key(a))) {
            let from = listed.and_then(|a| a.get(&agent)).copied().unwrap_or(false);
            if from != to {
                fields.push(Field::Agent { feature, agent, from, to });
            }
        }
    }
    fields.extend(migration(desired, observed));
    (!fields.is_empty()).then(|| Change::UpdateDetector { detector_id: observed.id.clone(), fields })
}

/// Off EKS Runtime Monitoring: the plan turns RUNTIME_MONITORING on and does not name
/// EKS_RUNTIME_MONITORING, which is still on (both bill). RUNTIME_MONITORING takes over the
/// EKS add-on management EKS Runtime Monitoring had, unless the plan says; then EKS Runtime
/// Monitoring goes off, in a call of its own (`update`), so the account is never uncovered and
/// a run stopped between the two finishes on the next.
fn migration(desired: &DetectorSettings, observed: &ObservedDetector) -> Vec<Field> {
    let (runtime, eks) = (Feature::RuntimeMonitoring, Feature::EksRuntimeMonitoring);
    let migrating = desired.features.get(&runtime) == Some(&true)
        && !desired.features.contains_key(&eks)
        && observed.features.get(&eks) == Some(&true);
    if !migrating {
        return Vec::new();
    }
    let mut fields = Vec::new();
    let addon = Agent::EksAddonManagement;
    let had = observed.agents.get(&eks).and_then(|a| a.get(&addon)).copied().unwrap_or(false);
    let has = observed.agents.get(&runtime).and_then(|a| a.get(&addon)).copied().unwrap_or(false);
    if had && !has && !desired.agents.contains_key(&addon) {
        fields.push(Field::Agent { feature: runtime, agent: addon, from: false, to: true });
    }
    fields.push(Field::Feature { feature: eks, from: true, to: false });
    fields
}

/// Whether the fields move the detector off EKS Runtime Monitoring.
fn is_migration(fields: &[Field]) -> bool {
    fields.iter().any(|f| matches!(f, Field::Feature { feature: Feature::EksRuntimeMonitoring, to: false, .. }))
}

/// Teardown: the account-region's detector, if it has one.
pub fn teardown(observed: Option<&ObservedDetector>) -> Option<Change> {
    observed.map(|d| Change::DeleteDetector { detector_id: d.id.clone() })
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

/// Applies the change; returns the detector's id. CreateDetector goes with the planned
/// features; if GuardDuty refuses the request (a feature it does not offer in the region),
/// the detector is created without features and then updated as the plan says, against
/// what GuardDuty lists for it.
pub async fn apply(guardduty: &GuardDuty, change: &Change) -> Result<String, AwsError> {
    match change {
        Change::CreateDetector { settings } => match guardduty.create_detector(settings).await {
            Err(error) if error.kind() == Code::BadRequest && !settings.features.is_empty() => {
                let bare = DetectorSettings { features: BTreeMap::new(), agents: BTreeMap::new(), ..settings.clone() };
                let id = guardduty.create_detector(&bare).await?;
                let Some(created) = guardduty.find_detector().await? else { return Err(error) };
                // A detector listed without features says nothing about what is offered.
                if created.features.is_empty() {
                    return Ok(id);
                }
                if let Some(Change::UpdateDetector { fields, .. }) = plan(settings, Some(&created)) {
                    update(guardduty, &id, &fields).await?;
                }
                Ok(id)
            }
            other => other,
        },
        Change::UpdateDetector { detector_id, fields } => update(guardduty, detector_id, fields).await.map(|()| detector_id.clone()),
        Change::DeleteDetector { detector_id } => guardduty.delete_detector(detector_id).await.map(|()| detector_id.clone()),
    }
}

async fn update(guardduty: &GuardDuty, detector_id: &str, fields: &[Field]) -> Result<(), AwsError> {
    let (mut enable, mut frequency, mut features, mut agents) = (None, None, BTreeMap::new(), BTreeMap::new());
    for field in fields {
        match *field {
            Field::Enable { to, .. } => enable = Some(to),
            Field::Frequency { to, .. } => frequency = Some(to),
            Field::Feature { feature, to, .. } => {
                features.insert(feature, to);
            }
            Field::Agent { feature, agent, to, .. } => {
                agents.entry(feature).or_insert_with(BTreeMap::new).insert(agent, to);
                // The feature's status goes with its agents (the plan has it on): GuardDuty
                // does not say what an entry without one means.
                features.entry(feature).or_insert(true);
            }
        }
    }
    // GuardDuty refuses both runtime features in one request: EKS Runtime Monitoring goes
    // off in a call of its own, after RUNTIME_MONITORING is on.
    let eks_off = features.get(&Feature::EksRuntimeMonitoring) == Some(&false) && is_migration(fields);
    if eks_off {
        features.remove(&Feature::EksRuntimeMonitoring);
    }
    if enable.is_some() || frequency.is_some() || !features.is_empty() || !agents.is_empty() {
        guardduty.update_detector(detector_id, enable, frequency, &features, &agents).await?;
    }
    if eks_off {
        let off = BTreeMap::from([(Feature::EksRuntimeMonitoring, false)]);
        guardduty.update_detector(detector_id, None, None, &off, &BTreeMap::new()).await?;
    }
    Ok(())
}

/// The detectors of the planned members that are Enabled members, as the delegated admin
/// sees them: features from GetMemberDetectors (50 accounts a call); the finding frequency
/// is the admin's, which members inherit.
pub async fn observe_members(
    guardduty: &GuardDuty,
    admin_detector: &ObservedDetector,
    side: &AdminSide,
    members: &[AccountId],
) -> Result<BTreeMap<AccountId, ObservedDetector>, AwsError> {
    let enabled: Vec<AccountId> = members.iter().filter(|a| side.is_enabled_member(a)).copied().collect();
    let mut seen = BTreeMap::new();
    for batch in enabled.chunks(super::membership::PER_CALL as usize) {
        for (account, detector) in guardduty.member_detectors(&admin_detector.id, batch).await?.features {
            let Some(id) = side.member_detectors.get(&account) else { continue };
            let detector = ObservedDetector { id: id.clone(), frequency: admin_detector.frequency, ..detector };
            seen.insert(account, detector);
        }
    }
    Ok(seen)
}

const ENABLED: &str = "GuardDuty.1";
const FREQUENCY: &str = "OG.Detector.Frequency";

/// The Security Hub control that covers a detector feature.
pub fn feature_control(feature: Feature) -> (&'static str, &'static str) {
    match feature {
        Feature::EksAuditLogs => ("GuardDuty.5", "EKS audit log monitoring"),
        Feature::LambdaNetworkLogs => ("GuardDuty.6", "Lambda protection"),
        Feature::EksRuntimeMonitoring => ("GuardDuty.7", "EKS runtime monitoring"),
        Feature::EbsMalwareProtection => ("GuardDuty.8", "Malware protection for EC2 (EBS volume scans)"),
        Feature::RdsLoginEvents => ("GuardDuty.9", "RDS protection"),
        Feature::S3DataEvents => ("GuardDuty.10", "S3 protection"),
        Feature::RuntimeMonitoring => ("GuardDuty.11", "Runtime monitoring"),
    }
}

/// Every target's detector, and the service-linked role GuardDuty makes with it.
pub fn grants(_: &Plan, p: &str) -> Vec<Grant> {
    let linked = [format!("arn:{p}:iam::*:role/aws-service-role/guardduty.amazonaws.com/*"), format!("arn:{p}:iam::*:role/aws-service-role/malware-protection.guardduty.amazonaws.com/*")];
    let services = json!({"StringEquals": {"iam:AWSServiceName": ["guardduty.amazonaws.com", "malware-protection.guardduty.amazonaws.com"]}});
    let detectors = [format!("arn:{p}:guardduty:*:*:detector/*")];
    vec![
        Grant::read(&["guardduty:ListDetectors", "guardduty:GetDetector"]),
        Grant::new("GuardDutyCreate", Phase::Rollout, &["guardduty:CreateDetector"], &["*"]),
        Grant::new("GuardDutyDetectorWrite", Phase::Rollout, &["guardduty:UpdateDetector"], &detectors),
        Grant::new("GuardDutyDetectorTeardown", Phase::Teardown, &["guardduty:DeleteDetector"], &detectors),
        Grant::new("GuardDutyServiceLinkedRole", Phase::Rollout, &["iam:CreateServiceLinkedRole"], &linked).when(services),
    ]
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let mut checks = vec![
        Check::new(Place::Detector, ENABLED, "GuardDuty detector exists and is enabled", "Security Hub GuardDuty.1; Prowler guardduty_is_enabled"),
        Check::new(Place::Detector, FREQUENCY, "Finding publishing frequency is as planned", "orgguard"),
    ];
    for (&feature, &on) in plan.detector.features.get_ref() {
        let (id, name) = feature_control(feature);
        let state = if on { "enabled" } else { "disabled" };
        checks.push(Check::new(Place::Detector, id, &format!("{name} ({feature}) is {state}"), &format!("Security Hub {id}")));
    }
    checks
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateDetector { .. } => "create detector",
            Self::UpdateDetector { fields, .. } if is_migration(fields) => "migrate detector to RUNTIME_MONITORING",
            Self::UpdateDetector { .. } => "update detector",
            Self::DeleteDetector { .. } => "delete detector",
        }
    }

    fn calls(&self) -> Calls {
        match self {
            Self::UpdateDetector { fields, .. } if is_migration(fields) => {
                let more = fields.iter().any(|f| !matches!(f, Field::Feature { feature: Feature::EksRuntimeMonitoring, .. }));
                Calls::here(Service::GuardDuty, 1 + u32::from(more))
            }
            _ => Calls::here(Service::GuardDuty, 1),
        }
    }

    fn summary(&self) -> String {
        match self {
            Self::UpdateDetector { fields, .. } => {
                let mut text = String::from("detector:");
                write_fields(&mut text, fields).expect("writing to a String");
                text
            }
            Self::DeleteDetector { .. } => "detector, its findings and configuration".into(),
            other => other.to_string(),
        }
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        let state = |on: bool| if on { "enabled" } else { "disabled" };
        match self {
            Self::CreateDetector { settings } => {
                let mut rows = vec![
                    Failure::new(ENABLED, "enabled", "no detector"),
                    Failure::new(FREQUENCY, settings.frequency.as_str(), "no detector"),
                ];
                let on = settings.features.iter().filter(|(_, on)| **on);
                rows.extend(on.map(|(f, _)| Failure::new(feature_control(*f).0, "enabled", "no detector")));
                rows
            }
            Self::UpdateDetector { fields, .. } => fields
                .iter()
                .map(|field| match field {
                    Field::Enable { from, to } => Failure::new(ENABLED, state(*to), state(*from)),
                    Field::Frequency { from, to } => Failure::new(FREQUENCY, to.as_str(), from.map_or("unknown", Frequency::as_str)),
                    Field::Feature { feature: Feature::EksRuntimeMonitoring, to: false, .. } if is_migration(fields) => Failure::new(
                        feature_control(Feature::RuntimeMonitoring).0,
                        "RUNTIME_MONITORING alone",
                        "EKS_RUNTIME_MONITORING on too (billed twice)",
                    ),
                    Field::Feature { feature, from, to } => Failure::new(feature_control(*feature).0, state(*to), state(*from)),
                    Field::Agent { feature, agent, from, to } => {
                        Failure::new(feature_control(*feature).0, format!("{agent} {}", state(*to)), format!("{agent} {}", state(*from)))
                    }
                })
                .collect(),
            Self::DeleteDetector { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UpdateDetector { detector_id, fields } => {
                write!(f, "detector {detector_id}:")?;
                write_fields(f, fields)
            }
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
            Self::DeleteDetector { detector_id } => write!(f, "detector {detector_id}, its findings and configuration"),
        }
    }
}

/// An update's fields as `Display` and `summary` write them.
fn write_fields(f: &mut impl fmt::Write, fields: &[Field]) -> fmt::Result {
    for field in fields {
        match field {
            Field::Enable { from, to } => write!(f, " enabled {from} -> {to}")?,
            Field::Frequency { from, to } => write!(f, " frequency {} -> {to}", from.map_or("unknown", Frequency::as_str))?,
            Field::Feature { feature, from, to } => write!(f, " {feature} {} -> {}", on_off(*from), on_off(*to))?,
            Field::Agent { feature, agent, from, to } => write!(f, " {feature}/{agent} {} -> {}", on_off(*from), on_off(*to))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
