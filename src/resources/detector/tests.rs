//! The detector's plan, migration and forecast, unit by unit.

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
fn a_detector_on_eks_runtime_monitoring_migrates_with_its_addon_and_one_cut_short_only_finishes() {
    let desired = DetectorSettings { features: BTreeMap::from([(Feature::RuntimeMonitoring, true)]), ..crate::resources::fixtures::settings() };
    let mut observed = crate::resources::fixtures::detector();
    observed.features = BTreeMap::from([(Feature::EksRuntimeMonitoring, true), (Feature::RuntimeMonitoring, false)]);
    observed.agents = BTreeMap::from([(Feature::EksRuntimeMonitoring, BTreeMap::from([(Agent::EksAddonManagement, true)]))]);
    let change = plan(&desired, Some(&observed)).unwrap();
    let Change::UpdateDetector { fields, .. } = &change else { panic!() };
    assert_eq!(fields, &vec![
        Field::Feature { feature: Feature::RuntimeMonitoring, from: false, to: true },
        Field::Agent { feature: Feature::RuntimeMonitoring, agent: Agent::EksAddonManagement, from: false, to: true },
        Field::Feature { feature: Feature::EksRuntimeMonitoring, from: true, to: false },
    ]);
    assert_eq!((change.kind(), change.calls().count), ("migrate detector to RUNTIME_MONITORING", 2));
    observed.features.insert(Feature::RuntimeMonitoring, true);
    observed.agents.insert(Feature::RuntimeMonitoring, BTreeMap::from([(Agent::EksAddonManagement, true)]));
    let change = plan(&desired, Some(&observed)).unwrap();
    assert_eq!(change.calls().count, 1, "only EKS Runtime Monitoring off is left");
    assert_eq!(change.failures(&crate::resources::fixtures::plan())[0].actual, "EKS_RUNTIME_MONITORING on too (billed twice)");
}

#[test]
fn no_detector_means_create_with_the_plan() {
    assert_eq!(plan(&desired(), None), Some(Change::CreateDetector { settings: desired() }));
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
    assert_eq!(plan(&desired(), Some(&current)), None);
}

#[test]
fn only_differing_fields_are_updated() {
    let mut current = observed(
        Frequency::FifteenMinutes,
        &[(Feature::S3DataEvents, false), (Feature::EbsMalwareProtection, true), (Feature::EksAuditLogs, true)],
    );
    current.enabled = false;
    assert_eq!(
        plan(&desired(), Some(&current)),
        Some(Change::UpdateDetector {
            detector_id: "d1".into(),
            fields: vec![
                Field::Enable { from: false, to: true },
                Field::Frequency { from: Some(Frequency::FifteenMinutes), to: Frequency::SixHours },
                Field::Feature { feature: Feature::S3DataEvents, from: false, to: true },
                Field::Feature { feature: Feature::EksAuditLogs, from: true, to: false },
            ],
        })
    );
}

#[test]
fn a_feature_guardduty_does_not_list_is_unavailable_not_drift_and_unknown_frequency_is_drift() {
    let mut current = observed(Frequency::SixHours, &[(Feature::S3DataEvents, true), (Feature::EksAuditLogs, false)]);
    current.frequency = None;
    let Some(Change::UpdateDetector { fields, .. }) = plan(&desired(), Some(&current)) else {
        panic!("expected an update");
    };
    assert_eq!(fields, vec![Field::Frequency { from: None, to: Frequency::SixHours }]);
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
    let Some(Change::UpdateDetector { fields, .. }) = plan(&desired, Some(&current)) else { panic!("expected an update") };
    assert_eq!(
        fields,
        vec![Field::Agent { feature: Feature::RuntimeMonitoring, agent: Agent::EksAddonManagement, from: false, to: true }],
        "an agent the plan does not name is left alone"
    );
}

#[test]
fn features_absent_from_the_plan_are_left_alone() {
    let mut plan_settings = desired();
    plan_settings.features.clear();
    let current = observed(Frequency::SixHours, &[(Feature::S3DataEvents, false), (Feature::RdsLoginEvents, true)]);
    assert_eq!(plan(&plan_settings, Some(&current)), None);
}

#[test]
fn each_field_fails_its_own_control() {
    let change = plan(&desired(), Some(&observed(Frequency::OneHour, &[(Feature::S3DataEvents, false)]))).unwrap();
    let failures = change.failures(&super::super::fixtures::plan());
    assert_eq!(
        failures,
        vec![
            Failure::new(FREQUENCY, "SIX_HOURS", "ONE_HOUR"),
            Failure::new("GuardDuty.10", "enabled", "disabled"),
        ]
    );
    let created = plan(&desired(), None).unwrap().failures(&super::super::fixtures::plan());
    let controls: Vec<&str> = created.iter().map(|f| f.control.as_str()).collect();
    assert_eq!(controls, [ENABLED, FREQUENCY, "GuardDuty.10", "GuardDuty.8"], "a feature planned off is not failing");
}
