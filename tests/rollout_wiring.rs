//! The admin layer and the EventBridge-to-SNS wiring on the emulator, checked through the
//! emulator's own backends: complete after one run, untouched by a second, and hand-made
//! drift corrected (and nothing else touched).

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};

const THREE_REGIONS: &str = "us-east-1,eu-west-1,ap-northeast-1";

/// The seed's description of the rule that sends every finding.
const SEED_FINDING_DESCRIPTION: &str = "GuardDutyのすべての検出結果(全重要度)をSNSトピックに送信";

fn example_plan() -> String {
    path_str(&root().join("plans/example.toml")).to_owned()
}

fn rollout(emulator: &Emulator, regions: &str, extra: &[&str]) -> Run {
    let plan = example_plan();
    let mut args = vec!["rollout", "--plan", plan.as_str(), "--regions", regions];
    args.extend_from_slice(extra);
    emulator.orgguard(&args)
}

fn finding_pattern() -> Value {
    json!({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]})
}

fn archive_pattern() -> Value {
    json!({"source": ["aws.guardduty"], "detail-type": ["AWS API Call via CloudTrail"],
           "detail": {"eventSource": ["guardduty.amazonaws.com"], "eventName": ["ArchiveFindings", "UpdateFindingsFeedback"]}})
}

fn assert_wiring(wiring: &Value, account: &str, region: &str) {
    let topic = &wiring["topics"][account][region]["guardduty-finding"];
    let topic_arn = format!("arn:aws:sns:{region}:{account}:guardduty-finding");
    let role_arn = format!("arn:aws:iam::{account}:role/eventbridge_to_sns");
    assert_eq!(topic["arn"], topic_arn, "{account}/{region}: {topic}");
    assert_eq!(topic["display_name"], "put-slack");
    assert_eq!(topic["tags"], json!({"Name": "guardduty-finding"}));
    let events_may_publish = topic["policy"]["Statement"].as_array().unwrap().iter().any(|s| {
        s["Principal"]["Service"] == "events.amazonaws.com"
            && s["Action"] == "sns:Publish"
            && s["Resource"] == topic_arn
            && s["Condition"]["StringEquals"]["aws:SourceAccount"] == account
            && s["Condition"]["ArnLike"]["aws:SourceArn"] == format!("arn:aws:events:{region}:{account}:rule/*")
    });
    assert!(events_may_publish, "{account}/{region}: {}", topic["policy"]);
    let subscriptions: Vec<_> = topic["subscriptions"].as_array().unwrap().iter().map(|s| (s["protocol"].clone(), s["endpoint"].clone())).collect();
    assert_eq!(subscriptions, [(json!("email"), json!("security-alerts@example.com"))], "{account}/{region}");

    for (rule, pattern, target_id) in [
        ("guardduty-finding", finding_pattern(), "guardduty-finding"),
        ("gdu-finding-archive-api", archive_pattern(), "guardduty-archive-notification"),
    ] {
        let observed = &wiring["rules"][account][region][rule];
        assert_eq!(observed["state"], "ENABLED", "{account}/{region} {rule}");
        let description = if rule == "guardduty-finding" { SEED_FINDING_DESCRIPTION } else { "Notify when a GuardDuty finding is archived (API call)" };
        assert_eq!(observed["description"], description, "the seed's description: {account}/{region} {rule}");
        assert_eq!(observed["pattern"], pattern, "{account}/{region} {rule}");
        assert_eq!(observed["targets"], json!([{"id": target_id, "arn": topic_arn, "role_arn": role_arn}]), "{account}/{region} {rule}");
    }
}

fn assert_iam(wiring: &Value, account: &str) {
    let iam = &wiring["iam"][account];
    let policy_arn = format!("arn:aws:iam::{account}:policy/EventBridgePublishGuarddutyFinding");
    let role = &iam["roles"]["eventbridge_to_sns"];
    assert_eq!(role["trust"]["Statement"][0]["Principal"]["Service"], "events.amazonaws.com", "{account}: {role}");
    let only_this_account = &role["trust"]["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"];
    assert_eq!(only_this_account, account, "no confused deputy: {role}");
    assert!(role["attached"].as_array().unwrap().contains(&json!(policy_arn)), "{account}: {role}");
    let policy = &iam["policies"]["EventBridgePublishGuarddutyFinding"];
    assert_eq!(policy["document"]["Statement"][0]["Action"], "sns:Publish", "{account}");
    assert_eq!(policy["document"]["Statement"][0]["Resource"], format!("arn:aws:sns:*:{account}:guardduty-finding"));
}

fn mutating_calls(emulator: &Emulator) -> BTreeMap<String, u64> {
    let mut calls = BTreeMap::new();
    for r in emulator.get("counts")["requests"].as_array().unwrap() {
        let operation = r["operation"].as_str().unwrap();
        if !["Get", "List", "Describe"].iter().any(|p| operation.starts_with(p)) && operation != "AssumeRole" {
            let place = format!("{} {}/{}", operation, r["account"].as_str().unwrap(), r["region"].as_str().unwrap());
            *calls.entry(place).or_default() += r["count"].as_u64().unwrap();
        }
    }
    calls
}

#[test]
fn rollout_of_20_accounts_builds_the_admin_layer_and_the_wiring_everywhere_and_a_rerun_changes_nothing() {
    let emulator = Emulator::start(&["--accounts", "20"]);
    let run = rollout(&emulator, THREE_REGIONS, &[]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());

    let wiring = emulator.get("wiring");
    let accounts: Vec<String> = (1..=20).map(member).chain([MANAGEMENT.to_owned()]).collect();
    for account in &accounts {
        assert_iam(&wiring, account);
        for region in REGIONS {
            assert_wiring(&wiring, account, region);
        }
    }
    let organization = emulator.get("guardduty-org");
    for region in REGIONS {
        let state = &organization[region];
        assert_eq!(state["admins"], json!([member(1)]), "{region}");
        let members: Vec<&String> = accounts.iter().filter(|a| **a != member(1)).collect();
        for account in &members {
            assert_eq!(state["members"][account.as_str()], "Enabled", "{region}: {account}");
        }
        assert_eq!(state["members"].as_object().unwrap().len(), members.len(), "{region}");
        let configuration = &state["configuration"];
        assert_eq!(configuration["autoEnableOrganizationMembers"], "ALL", "{region}");
        assert_eq!(configuration["features"]["S3_DATA_EVENTS"]["autoEnable"], "ALL");
        assert_eq!(configuration["features"]["EBS_MALWARE_PROTECTION"]["autoEnable"], "ALL");
        assert_eq!(configuration["features"]["EKS_AUDIT_LOGS"]["autoEnable"], "NONE");
    }
    assert_eq!(emulator.calls("CreateMembers", None), 3, "20 members fit one batch per region");

    emulator.reset_counts();
    let again = rollout(&emulator, THREE_REGIONS, &[]);
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert_eq!(mutating_calls(&emulator), BTreeMap::new(), "a second run changes nothing");
    assert!(again.stdout().contains("No changes"), "{}", again.stdout());

    emulator.reset_counts();
    let dry = rollout(&emulator, THREE_REGIONS, &["--dry-run"]);
    assert_eq!(dry.code(), 0);
    assert_eq!(emulator.mutating_calls(), 0);
}

#[test]
fn hand_made_drift_is_corrected_by_the_next_run_and_only_it() {
    let emulator = Emulator::start(&["--accounts", "4"]);
    let regions = "us-east-1,eu-west-1";
    assert_eq!(rollout(&emulator, regions, &[]).code(), 0);
    let (a2, a3, a4) = (member(2), member(3), member(4));
    let drift = [
        json!({"action": "disable_rule", "account": a2, "region": "us-east-1", "rule": "guardduty-finding"}),
        json!({"action": "remove_target", "account": a2, "region": "eu-west-1", "rule": "gdu-finding-archive-api", "target_id": "guardduty-archive-notification"}),
        json!({"action": "set_topic_policy", "account": a3, "region": "us-east-1", "topic": "guardduty-finding",
               "policy": {"Version": "2012-10-17", "Statement": []}}),
        json!({"action": "delete_subscription", "account": a3, "region": "eu-west-1", "topic": "guardduty-finding", "endpoint": "security-alerts@example.com"}),
        json!({"action": "feature_off", "account": a4, "region": "us-east-1", "feature": "S3_DATA_EVENTS"}),
        json!({"action": "disassociate_member", "account": member(1), "region": "eu-west-1", "member": a4}),
        json!({"action": "set_policy_document", "account": a4, "policy": "EventBridgePublishGuarddutyFinding",
               "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}}),
    ];
    for action in drift {
        emulator.post("drift", action);
    }
    emulator.reset_counts();
    let run = rollout(&emulator, regions, &[]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());

    let expected: BTreeMap<String, u64> = [
        (format!("PutRule {a2}/us-east-1"), 1),
        (format!("PutTargets {a2}/eu-west-1"), 1),
        (format!("SetTopicAttributes {a3}/us-east-1"), 1),
        (format!("Subscribe {a3}/eu-west-1"), 1),
        (format!("UpdateDetector {a4}/us-east-1"), 1),
        (format!("CreateMembers {}/eu-west-1", member(1)), 1),
        (format!("CreatePolicyVersion {a4}/global"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(mutating_calls(&emulator), expected);

    let wiring = emulator.get("wiring");
    for account in [&a2, &a3, &a4] {
        assert_iam(&wiring, account);
        for region in ["us-east-1", "eu-west-1"] {
            assert_wiring(&wiring, account, region);
        }
    }
    assert_eq!(emulator.detectors(&a4, "us-east-1")[0]["features"]["S3_DATA_EVENTS"], "ENABLED");
    assert_eq!(emulator.get("guardduty-org")["eu-west-1"]["members"][a4.as_str()], "Enabled");
}

#[test]
fn an_admin_outside_the_organization_is_refused_before_any_change() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let text = std::fs::read_to_string(root().join("plans/example.toml")).unwrap().replace("\"100000000001\"", "\"999999999999\"");
    let (_dir, plan) = plan_file(&text);
    let run = emulator.orgguard(&["rollout", "--plan", path_str(&plan), "--regions", "us-east-1"]);
    assert_eq!(run.code(), 1);
    assert!(run.stderr().contains("admin account 999999999999 is not an active account of this organization"), "{}", run.stderr());
    assert_eq!(emulator.mutating_calls(), 0);
}

#[test]
fn a_different_admin_is_a_conflict_until_the_user_asks_to_replace_it() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let text = std::fs::read_to_string(root().join("plans/example.toml")).unwrap().replace("\"100000000001\"", "\"100000000002\"");
    let (_dir, other_admin) = plan_file(&text);
    assert_eq!(emulator.orgguard(&["rollout", "--plan", path_str(&other_admin), "--regions", "us-east-1"]).code(), 0);

    emulator.reset_counts();
    let conflict = rollout(&emulator, "us-east-1", &[]);
    assert_eq!(conflict.code(), 1);
    assert!(
        conflict.stdout().contains("AdminConflict") && conflict.stdout().contains("100000000002 is the delegated admin here"),
        "{}",
        conflict.stdout()
    );
    assert_eq!(emulator.calls("EnableOrganizationAdminAccount", None), 0);
    assert_eq!(emulator.get("guardduty-org")["us-east-1"]["admins"], json!([member(2)]));

    let dry = rollout(&emulator, "us-east-1", &["--replace-admin", "--dry-run"]);
    assert!(dry.stdout().contains("replace delegated admin"), "{}", dry.stdout());
    assert_eq!(emulator.mutating_calls(), 0);
    let replaced = rollout(&emulator, "us-east-1", &["--replace-admin"]);
    assert_eq!(replaced.code(), 0, "{}\n{}", replaced.stdout(), replaced.stderr());
    let state = &emulator.get("guardduty-org")["us-east-1"];
    assert_eq!(state["admins"], json!([member(1)]));
    assert_eq!(state["members"][member(2).as_str()], "Enabled");
}

#[test]
fn a_dry_run_forecasts_the_calls_of_its_rollout() {
    let emulator = Emulator::start(&["--accounts", "12"]);
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let forecast = |emulator: &Emulator| {
        let dry = rollout(emulator, "us-east-1,eu-west-1", &["--dry-run", "--summary-json", path_str(&summary)]);
        assert!(dry.stdout().contains("the rollout: about "), "{}", dry.stdout());
        let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        summary["estimate"]["reads"].as_u64().unwrap() + summary["estimate"]["writes"].as_u64().unwrap()
    };
    for (fresh, expected_writes) in [(true, true), (false, false)] {
        let expected = forecast(&emulator);
        emulator.reset_counts();
        assert_eq!(rollout(&emulator, "us-east-1,eu-west-1", &[]).code(), 0);
        let made = emulator.get("counts")["total"].as_u64().unwrap();
        let off = (expected as f64 - made as f64).abs() / made as f64;
        assert!(off < 0.05, "fresh={fresh}: forecast {expected} calls, the rollout made {made}");
        assert_eq!(emulator.mutating_calls() > 0, expected_writes);
    }
}

#[test]
fn a_description_that_changed_is_put_again_in_place_and_a_minimum_severity_narrows_the_pattern() {
    let emulator = Emulator::start(&["--accounts", "1"]);
    assert_eq!(rollout(&emulator, "us-east-1", &[]).code(), 0);
    let account = member(1);
    emulator.boto3_as(&account, r#"
events = client("events", "us-east-1")
rule = events.describe_rule(Name="guardduty-finding")
events.put_rule(Name="guardduty-finding", EventPattern=rule["EventPattern"], State="ENABLED", Description="someone's words")
"#);
    let plan = example_plan();
    let audit = emulator.orgguard(&["audit", "--plan", plan.as_str(), "--regions", "us-east-1", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let rule_fail = ("OG.Wiring.Rule/guardduty-finding".to_owned(), "us-east-1".to_owned(), "description differs".to_owned());
    assert!(failing(&report).contains(&rule_fail), "{report}");
    emulator.reset_counts();
    assert_eq!(rollout(&emulator, "us-east-1", &[]).code(), 0);
    assert_eq!((emulator.calls("PutRule", Some((&account, "us-east-1"))), emulator.mutating_calls()), (1, 1), "put again, nothing else");
    assert_eq!(emulator.get("wiring")["rules"][&account]["us-east-1"]["guardduty-finding"]["description"], SEED_FINDING_DESCRIPTION);

    let example = std::fs::read_to_string(root().join("plans/example.toml")).unwrap();
    let (_dir, high) = plan_file(&example.replace("# min_severity = 7", "min_severity = 7"));
    let narrowed = emulator.orgguard(&["rollout", "--plan", path_str(&high), "--regions", "us-east-1"]);
    assert_eq!(narrowed.code(), 0, "{}", narrowed.stdout());
    let pattern = &emulator.get("wiring")["rules"][&account]["us-east-1"]["guardduty-finding"]["pattern"];
    assert_eq!(pattern["detail"]["severity"][0]["numeric"][1].as_f64(), Some(7.0), "{pattern}");
    assert_eq!(pattern["detail"]["severity"][0]["numeric"][0], ">=", "{pattern}");
    emulator.reset_counts();
    assert_eq!(emulator.orgguard(&["rollout", "--plan", path_str(&high), "--regions", "us-east-1"]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0, "the narrowed pattern compares equal after EventBridge's normalisation");
}
