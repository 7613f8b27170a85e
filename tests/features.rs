//! Feature rules on the emulator: runtime monitoring's agents set as planned (in detectors
//! and in the organization's auto-enable), and a feature GuardDuty does not offer in a
//! region reported as such, never as drift.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};

const PLAN: &str = r#"
[organization]
regions = ["us-east-1", "eu-west-1"]

[admin]
account = "100000000001"
auto_enable = "ALL"

[detector]
finding_publishing_frequency = "SIX_HOURS"

[detector.features]
S3_DATA_EVENTS = true
RUNTIME_MONITORING = true

[detector.runtime_agents]
EKS_ADDON_MANAGEMENT = true
EC2_AGENT_MANAGEMENT = true
"#;

fn detector(emulator: &Emulator, account: &str, region: &str) -> Value {
    emulator.detectors(account, region).first().cloned().unwrap_or_else(|| panic!("{account}/{region} has a detector"))
}

#[test]
fn runtime_agents_are_set_and_a_feature_not_offered_in_a_region_is_not_drift() {
    let emulator = Emulator::start(&["--accounts", "3", "--feature-unavailable", "RUNTIME_MONITORING@eu-west-1"]);
    let (_dir, plan) = plan_file(PLAN);
    let plan = path_str(&plan);
    let run = emulator.orgguard(&["rollout", "--plan", plan]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());

    for account in (1..=3).map(member) {
        let east = detector(&emulator, &account, "us-east-1");
        assert_eq!(east["features"]["RUNTIME_MONITORING"], "ENABLED", "{account}");
        let agents = &east["additional_configuration"]["RUNTIME_MONITORING"];
        assert_eq!(agents["EKS_ADDON_MANAGEMENT"], "ENABLED", "{account}");
        assert_eq!(agents["EC2_AGENT_MANAGEMENT"], "ENABLED", "{account}");
        assert_eq!(agents["ECS_FARGATE_AGENT_MANAGEMENT"], "DISABLED", "an agent the plan does not name is left alone");
        let west = detector(&emulator, &account, "eu-west-1");
        assert_eq!(west["features"]["S3_DATA_EVENTS"], "ENABLED", "{account}: the features offered are set");
        assert!(west["features"].get("RUNTIME_MONITORING").is_none(), "{account}");
    }
    let org = emulator.get("guardduty-org");
    let runtime = org["us-east-1"]["configuration"]["features"]["RUNTIME_MONITORING"].clone();
    assert_eq!(runtime["autoEnable"], "ALL", "{org}");
    assert_eq!(runtime["additionalConfiguration"]["EC2_AGENT_MANAGEMENT"], "ALL", "{org}");

    emulator.reset_counts();
    let again = emulator.orgguard(&["rollout", "--plan", plan, "--detail"]);
    assert_eq!(again.code(), 0, "{}", again.stdout());
    assert_eq!(emulator.mutating_calls(), 0, "nothing to change, the unavailable feature included");
    let note = "100000000002/eu-west-1                   RUNTIME_MONITORING: GuardDuty does not offer it in eu-west-1; left out";
    assert!(again.stdout().contains(note), "{}", again.stdout());

    let drifted = member(2);
    let off = json!({"action": "agent_off", "account": drifted, "region": "us-east-1", "feature": "RUNTIME_MONITORING", "agent": "EC2_AGENT_MANAGEMENT"});
    emulator.post("drift", off);
    let audit = emulator.orgguard(&["audit", "--plan", plan, "--format", "json"]);
    assert_eq!(audit.code(), 2, "drift, and nothing unreadable: {}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let rows = |verdict: &str| -> BTreeSet<(String, String, String)> {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["verdict"] == verdict && r["control"] == "GuardDuty.11" && r["account"] != MANAGEMENT)
            .map(|r| (r["account"].as_str().unwrap().into(), r["region"].as_str().unwrap().into(), r["reason"].as_str().unwrap_or("").into()))
            .collect()
    };
    assert_eq!(rows("FAIL"), BTreeSet::from([(drifted.clone(), "us-east-1".into(), String::new())]));
    let reason = "RUNTIME_MONITORING is not offered by GuardDuty in this region".to_owned();
    let west: BTreeSet<_> = (1..=3).map(|i| (member(i), "eu-west-1".to_owned(), reason.clone())).collect();
    assert_eq!(rows("NOT_EVALUATED"), west);
}

/// RUNTIME_MONITORING planned, EKS_RUNTIME_MONITORING not named: the plan of a team moving off
/// EKS Runtime Monitoring.
const MIGRATION_PLAN: &str = r#"
[organization]
regions = ["us-east-1"]

[admin]
account = "100000000001"
auto_enable = "ALL"

[detector]
finding_publishing_frequency = "SIX_HOURS"

[detector.features]
RUNTIME_MONITORING = true
"#;

#[test]
fn accounts_on_eks_runtime_monitoring_move_to_runtime_monitoring_in_two_calls_and_a_move_cut_short_is_finished() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let (moving, halfway) = (member(2), member(3));
    // As an older script set them up: EKS Runtime Monitoring with its add-on; and an account
    // a run stopped between the two steps, with both on.
    emulator.boto3_as(&moving, r#"
client("guardduty", "us-east-1").create_detector(Enable=True, Features=[{"Name": "EKS_RUNTIME_MONITORING", "Status": "ENABLED",
    "AdditionalConfiguration": [{"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"}]}])
"#);
    emulator.boto3_as(&halfway, r#"
gd = client("guardduty", "us-east-1")
detector = gd.create_detector(Enable=True, Features=[{"Name": "EKS_RUNTIME_MONITORING", "Status": "ENABLED"}])["DetectorId"]
gd.update_detector(DetectorId=detector, Features=[{"Name": "RUNTIME_MONITORING", "Status": "ENABLED"}])
"#);
    let (_dir, plan) = plan_file(MIGRATION_PLAN);
    let plan = path_str(&plan);
    let audit = emulator.orgguard(&["audit", "--plan", plan, "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let twice = report["results"].as_array().unwrap().iter().find(|r| r["account"] == halfway.as_str() && r["control"] == "GuardDuty.11").unwrap();
    assert_eq!((&twice["verdict"], &twice["actual"]), (&json!("FAIL"), &json!("EKS_RUNTIME_MONITORING on too (billed twice)")), "{twice}");

    let dry = emulator.orgguard(&["rollout", "--plan", plan, "--dry-run"]);
    assert!(dry.stdout().contains("migrate detector to RUNTIME_MONITORING (2, would change)"), "{}", dry.stdout());
    emulator.reset_counts();
    let rollout = emulator.orgguard(&["rollout", "--plan", plan]);
    assert_eq!(rollout.code(), 0, "{}", rollout.stdout());
    assert_eq!(emulator.calls("UpdateDetector", Some((&moving, "us-east-1"))), 2, "Runtime Monitoring on, then EKS Runtime Monitoring off");
    assert_eq!(emulator.calls("UpdateDetector", Some((&halfway, "us-east-1"))), 1, "only what was left");
    for account in [&moving, &halfway] {
        let detector = detector(&emulator, account, "us-east-1");
        let features = (&detector["features"]["RUNTIME_MONITORING"], &detector["features"]["EKS_RUNTIME_MONITORING"]);
        assert_eq!(features, (&json!("ENABLED"), &json!("DISABLED")), "{account}: {detector}");
    }
    let moved = detector(&emulator, &moving, "us-east-1");
    assert_eq!(moved["additional_configuration"]["RUNTIME_MONITORING"]["EKS_ADDON_MANAGEMENT"], "ENABLED", "the add-on carried over: {moved}");
    assert_eq!(emulator.orgguard(&["audit", "--plan", plan]).code(), 0, "no account is billed twice");
}
