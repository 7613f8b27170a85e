//! A reviewed change set (`rollout --dry-run --out F`) applied exactly (`rollout --apply F`):
//! what changed since the review is refused as stale, the rest is made, and a second apply
//! changes nothing. State is read from the emulator's backend.

mod common;

use common::*;
use serde_json::{json, Value};

const REGIONS: &str = "us-east-1,eu-west-1";

fn rollout(emulator: &Emulator, extra: &[&str]) -> Run {
    let example = root().join("plans/example.toml");
    emulator.orgguard(&[&["rollout", "--plan", path_str(&example), "--regions", REGIONS][..], extra].concat())
}

fn s3(emulator: &Emulator, account: &str, region: &str) -> Value {
    emulator.detectors(account, region)[0]["features"]["S3_DATA_EVENTS"].clone()
}

#[test]
fn a_target_that_changed_after_the_review_is_refused_as_stale_and_the_rest_is_applied() {
    let emulator = Emulator::start(&["--accounts", "4"]);
    assert_eq!(rollout(&emulator, &[]).code(), 0);
    let (a, b) = (member(2), member(3));
    for (account, region) in [(&a, "us-east-1"), (&b, "eu-west-1")] {
        emulator.post("drift", json!({"action": "feature_off", "account": account, "region": region, "feature": "S3_DATA_EVENTS"}));
    }
    let changes = emulator.workdir.path().join("changes.json");
    let dry = rollout(&emulator, &["--dry-run", "--out", path_str(&changes)]);
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&changes).unwrap()).unwrap();
    let targets = file["targets"].as_array().unwrap();
    let reviewed: Vec<(&str, &str)> = targets.iter().map(|t| (t["account"].as_str().unwrap(), t["region"].as_str().unwrap())).collect();
    assert_eq!(reviewed, [(a.as_str(), "us-east-1"), (b.as_str(), "eu-west-1")], "{file}");
    assert_eq!(targets[0]["changes"][0]["kind"], "update_detector");
    assert_eq!(file["plan_sha256"].as_str().unwrap().len(), 64);

    // After the review, someone disables a rule where a reviewed change waits.
    emulator.post("drift", json!({"action": "disable_rule", "account": b, "region": "eu-west-1", "rule": "guardduty-finding"}));
    emulator.reset_counts();
    let apply = rollout(&emulator, &["--apply", path_str(&changes)]);
    assert_eq!(apply.code(), 1, "a stale target fails the run: {}", apply.stdout());
    let stale: Vec<String> = apply.stdout().lines().filter(|l| l.contains("Stale")).map(str::to_owned).collect();
    assert_eq!(stale.len(), 1, "{}", apply.stdout());
    assert!(stale[0].starts_with(&format!("  {b}/eu-west-1")) && stale[0].contains("1 changes reviewed, 2 planned now"), "{stale:?}");
    assert_eq!(s3(&emulator, &a, "us-east-1"), "ENABLED", "the reviewed change is made");
    assert_eq!(s3(&emulator, &b, "eu-west-1"), "DISABLED", "the stale target is left alone");
    assert_eq!(emulator.calls("PutRule", None), 0, "a change nobody reviewed is not made");
    assert_eq!(emulator.mutating_calls(), 1, "one UpdateDetector, nothing else");

    emulator.reset_counts();
    let again = rollout(&emulator, &["--apply", path_str(&changes)]);
    assert_eq!(again.code(), 1, "b is still stale");
    assert_eq!(emulator.mutating_calls(), 0, "a is done, b is refused again");
}

#[test]
fn a_change_set_applied_twice_changes_nothing_the_second_time_and_another_plans_is_refused() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let changes = emulator.workdir.path().join("changes.json");
    assert_eq!(rollout(&emulator, &["--dry-run", "--out", path_str(&changes)]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0);
    let apply = rollout(&emulator, &["--apply", path_str(&changes)]);
    assert_eq!(apply.code(), 0, "{}", apply.stdout());
    for account in [member(1), member(2), member(3)] {
        assert_eq!(s3(&emulator, &account, "eu-west-1"), "ENABLED", "{account}");
    }
    assert_eq!(emulator.get("guardduty-org")["us-east-1"]["members"][member(3)], "Enabled");
    emulator.reset_counts();
    let again = rollout(&emulator, &["--apply", path_str(&changes)]);
    assert_eq!(again.code(), 0, "{}", again.stdout());
    assert_eq!(emulator.mutating_calls(), 0);

    let (_dir, other) = plan_file(THREE_REGION_PLAN);
    let refused = emulator.orgguard(&["rollout", "--plan", path_str(&other), "--apply", path_str(&changes)]);
    assert_eq!(refused.code(), 1);
    assert!(refused.stderr().contains("made from another version of the plan"), "{}", refused.stderr());
}
