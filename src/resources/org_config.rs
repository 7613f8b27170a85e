//! The organization configuration the delegated admin holds in one region: whether new
//! (or all) member accounts get GuardDuty, and each planned feature's and agent's
//! auto-enable.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, GuardDuty, Service};
use crate::desired::Organization;
use crate::model::{AdminSide, Agent, AutoEnable, Feature, ObservedDetector};
use crate::plan::Plan;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    UpdateOrganization {
        auto_enable: Option<AutoEnable>,
        features: BTreeMap<Feature, AutoEnable>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        agents: BTreeMap<Feature, BTreeMap<Agent, AutoEnable>>,
    },
}

/// What differs from what the admin sees; None for `side` when the admin is not designated
/// yet, so everything is still to be set. Features are set only where GuardDuty offers
/// them: the admin's configuration lists every feature offered in the region, and so does
/// the admin's own detector (read before it is designated).
pub fn plan(desired: &Organization, side: Option<&AdminSide>, admin_detector: Option<&ObservedDetector>) -> Option<Change> {
    let auto_enable = (side.and_then(|s| s.auto_enable) != Some(desired.auto_enable)).then_some(desired.auto_enable);
    let offered = |feature: &Feature| match (side, admin_detector) {
        (Some(side), _) if !side.feature_auto_enable.is_empty() => side.feature_auto_enable.contains_key(feature),
        (_, Some(detector)) if !detector.features.is_empty() => detector.features.contains_key(feature),
        _ => true,
    };
    let mut features: BTreeMap<Feature, AutoEnable> = desired
        .feature_auto_enable
        .iter()
        .filter(|(feature, mode)| offered(feature) && side.and_then(|s| *s.feature_auto_enable.get(*feature)?) != Some(**mode))
        .map(|(f, m)| (*f, *m))
        .collect();
    let mut agents: BTreeMap<Feature, BTreeMap<Agent, AutoEnable>> = BTreeMap::new();
    for (feature, planned) in desired.agent_auto_enable.iter().filter(|(f, _)| offered(f)) {
        for (agent, mode) in planned {
            if side.and_then(|s| *s.agent_auto_enable.get(feature)?.get(agent)?) != Some(*mode) {
                agents.entry(*feature).or_default().insert(*agent, *mode);
            }
        }
    }
    // A feature's auto-enable goes with its agents'.
    for feature in agents.keys() {
        if let Some(mode) = desired.feature_auto_enable.get(feature) {
            features.entry(*feature).or_insert(*mode);
        }
    }
    // Off EKS Runtime Monitoring: the plan auto-enables RUNTIME_MONITORING and does not name
    // EKS_RUNTIME_MONITORING, whose auto-enable is still on: it goes to NONE, after (`apply`).
    let (runtime, eks) = (Feature::RuntimeMonitoring, Feature::EksRuntimeMonitoring);
    let eks_on = side.and_then(|s| *s.feature_auto_enable.get(&eks)?).is_some_and(|m| m != AutoEnable::None);
    if desired.feature_auto_enable.get(&runtime).is_some_and(|m| *m != AutoEnable::None) && !desired.feature_auto_enable.contains_key(&eks) && eks_on {
        features.insert(eks, AutoEnable::None);
    }
    (auto_enable.is_some() || !features.is_empty() || !agents.is_empty())
        .then_some(Change::UpdateOrganization { auto_enable, features, agents })
}

/// Teardown: members' auto-enable set to `mode` first, since AWS refuses to remove
/// organization members while it is ALL; features are left as they are.
pub fn teardown(side: &AdminSide, mode: AutoEnable) -> Option<Change> {
    (side.auto_enable != Some(mode)).then(|| Change::UpdateOrganization { auto_enable: Some(mode), features: BTreeMap::new(), agents: BTreeMap::new() })
}

/// AWS wants the members' mode in every update, even when only a feature differs:
/// `members` when the change leaves it as it is.
/// GuardDuty refuses both runtime features in one request: EKS Runtime Monitoring's goes in a
/// call of its own, after.
pub async fn apply(admin: &GuardDuty, detector_id: &str, members: AutoEnable, change: &Change) -> Result<(), AwsError> {
    let Change::UpdateOrganization { auto_enable, features, agents } = change;
    let mode = auto_enable.unwrap_or(members);
    let (runtime, eks) = (Feature::RuntimeMonitoring, Feature::EksRuntimeMonitoring);
    if !(features.contains_key(&runtime) && features.contains_key(&eks)) {
        return admin.update_organization(detector_id, mode, features, agents).await;
    }
    let mut first = features.clone();
    let eks_mode = first.remove(&eks).expect("checked");
    admin.update_organization(detector_id, mode, &first, agents).await?;
    admin.update_organization(detector_id, mode, &BTreeMap::from([(eks, eks_mode)]), &BTreeMap::new()).await
}

pub const AUTO_ENABLE: &str = "OG.Org.AutoEnable";

/// The organization configuration, on the delegated admin's detector.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    if plan.admin.is_none() {
        return Vec::new();
    }
    let detectors = [format!("arn:{p}:guardduty:*:*:detector/*")];
    vec![
        Grant::read(&["guardduty:DescribeOrganizationConfiguration"]),
        Grant::new("GuardDutyDetectorWrite", Phase::Rollout, &["guardduty:UpdateOrganizationConfiguration"], &detectors),
        Grant::new("GuardDutyDetectorTeardown", Phase::Teardown, &["guardduty:UpdateOrganizationConfiguration"], &detectors),
    ]
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let description = "Organization auto-enable (members and features) is as planned";
    plan.admin.iter().map(|_| Check::new(Place::Organization, AUTO_ENABLE, description, "orgguard")).collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        "update organization configuration"
    }

    fn calls(&self) -> Calls {
        // Two when EKS Runtime Monitoring's auto-enable goes off after RUNTIME_MONITORING's.
        let Self::UpdateOrganization { features, .. } = self;
        let both = features.contains_key(&Feature::RuntimeMonitoring) && features.contains_key(&Feature::EksRuntimeMonitoring);
        Calls::here(Service::GuardDuty, 1 + u32::from(both))
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        let Self::UpdateOrganization { auto_enable, features, agents } = self;
        let mut expected: Vec<String> = auto_enable.iter().map(|m| format!("members {m}")).collect();
        expected.extend(features.iter().map(|(f, m)| format!("{f} {m}")));
        for (feature, agents) in agents {
            expected.extend(agents.iter().map(|(a, m)| format!("{feature}/{a} {m}")));
        }
        vec![Failure::new(AUTO_ENABLE, expected.join(", "), "differs")]
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self::UpdateOrganization { auto_enable, features, agents } = self;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountId;

    fn desired(admin: &AccountId) -> Organization<'_> {
        Organization {
            admin,
            auto_enable: AutoEnable::All,
            feature_auto_enable: BTreeMap::from([(Feature::S3DataEvents, AutoEnable::All), (Feature::RuntimeMonitoring, AutoEnable::All)]),
            agent_auto_enable: BTreeMap::from([(Feature::RuntimeMonitoring, BTreeMap::from([(Agent::EksAddonManagement, AutoEnable::None)]))]),
            members: vec![],
        }
    }

    fn side() -> AdminSide {
        let all = Some(AutoEnable::All);
        AdminSide {
            auto_enable: all,
            feature_auto_enable: BTreeMap::from([(Feature::S3DataEvents, all), (Feature::RuntimeMonitoring, all)]),
            agent_auto_enable: BTreeMap::from([(Feature::RuntimeMonitoring, BTreeMap::from([(Agent::EksAddonManagement, Some(AutoEnable::None))]))]),
            members: BTreeMap::new(),
            member_detectors: BTreeMap::new(),
        }
    }

    #[test]
    fn an_admin_not_designated_yet_gets_everything_and_one_that_matches_nothing() {
        let admin = AccountId::parse("100000000001").unwrap();
        let Some(Change::UpdateOrganization { auto_enable, features, agents }) = plan(&desired(&admin), None, None) else { panic!() };
        assert_eq!((auto_enable, features.len(), agents.len()), (Some(AutoEnable::All), 2, 1));
        assert_eq!(plan(&desired(&admin), Some(&side()), None), None);
        let mut unknown = side();
        unknown.feature_auto_enable.insert(Feature::S3DataEvents, None);
        let Some(Change::UpdateOrganization { features, .. }) = plan(&desired(&admin), Some(&unknown), None) else { panic!() };
        assert_eq!(features, BTreeMap::from([(Feature::S3DataEvents, AutoEnable::All)]), "a mode this version does not know is drift");
    }

    #[test]
    fn eks_runtime_monitorings_auto_enable_goes_off_after_runtime_monitorings_in_a_call_of_its_own() {
        let admin = AccountId::parse("100000000001").unwrap();
        let mut side = side();
        side.feature_auto_enable.insert(Feature::EksRuntimeMonitoring, Some(AutoEnable::All));
        let Some(change) = plan(&desired(&admin), Some(&side), None) else { panic!("a migration") };
        let Change::UpdateOrganization { features, .. } = &change;
        assert_eq!(features, &BTreeMap::from([(Feature::EksRuntimeMonitoring, AutoEnable::None)]));
        side.feature_auto_enable.insert(Feature::RuntimeMonitoring, Some(AutoEnable::None));
        let Some(change) = plan(&desired(&admin), Some(&side), None) else { panic!("a migration") };
        assert_eq!(change.calls().count, 2, "RUNTIME_MONITORING's first, then EKS_RUNTIME_MONITORING's");
    }

    #[test]
    fn before_designation_the_admins_detector_tells_which_features_are_offered() {
        let admin = AccountId::parse("100000000001").unwrap();
        let detector = ObservedDetector {
            id: "d".into(),
            enabled: true,
            frequency: None,
            features: BTreeMap::from([(Feature::S3DataEvents, true)]),
            agents: BTreeMap::new(),
        };
        let Some(Change::UpdateOrganization { features, agents, .. }) = plan(&desired(&admin), None, Some(&detector)) else { panic!() };
        assert_eq!(features, BTreeMap::from([(Feature::S3DataEvents, AutoEnable::All)]), "RUNTIME_MONITORING is not offered here");
        assert!(agents.is_empty());
    }

    #[test]
    fn an_agent_that_differs_takes_its_feature_along_and_an_unoffered_feature_is_left_out() {
        let admin = AccountId::parse("100000000001").unwrap();
        let mut side = side();
        side.agent_auto_enable.clear();
        side.feature_auto_enable.remove(&Feature::S3DataEvents);
        side.feature_auto_enable.insert(Feature::EksAuditLogs, Some(AutoEnable::None));
        let change = plan(&desired(&admin), Some(&side), None).unwrap();
        assert_eq!(
            change,
            Change::UpdateOrganization {
                auto_enable: None,
                features: BTreeMap::from([(Feature::RuntimeMonitoring, AutoEnable::All)]),
                agents: BTreeMap::from([(Feature::RuntimeMonitoring, BTreeMap::from([(Agent::EksAddonManagement, AutoEnable::None)]))]),
            }
        );
        assert_eq!(change.failures(&super::super::fixtures::plan())[0].expected, "RUNTIME_MONITORING ALL, RUNTIME_MONITORING/EKS_ADDON_MANAGEMENT NONE");
    }
}
