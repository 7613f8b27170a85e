//! `orgguard drill` at the emulator: a sample finding travels each account-region's alert path
//! (rule, target and its role, topic and its policy, subscriptions), and the drill reads how
//! far it went from EventBridge's and SNS's metrics. What each path delivered is read from the
//! emulator's record of deliveries, not from orgguard.

mod common;

use std::collections::BTreeMap;

use common::{member, root, Emulator, MANAGEMENT};
use serde_json::Value;

const ENDPOINT: &str = "security-alerts@example.com";

fn drill(emulator: &Emulator, plan: &str) -> (i32, BTreeMap<String, (String, String)>) {
    let run = emulator.orgguard(&["drill", "--plan", plan, "--regions", "us-east-1", "--yes", "--timeout", "4", "--format", "json"]);
    let results: Value = serde_json::from_str(&run.stdout()).unwrap_or_else(|_| panic!("json: {} {}", run.stdout(), run.stderr()));
    let by_account = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["account"].as_str().unwrap().to_owned(), (r["status"].as_str().unwrap().to_owned(), r["step"].as_str().unwrap_or("").to_owned())))
        .collect();
    (run.code(), by_account)
}

/// Deliveries to the planned email, per topic ARN, since the last count.
fn delivered(emulator: &Emulator, since: usize) -> (usize, BTreeMap<String, usize>) {
    let all = emulator.get("deliveries")["deliveries"].as_array().unwrap().clone();
    let mut per_topic = BTreeMap::new();
    for d in &all[since..] {
        if d["endpoint"] == ENDPOINT && d["outcome"] == "delivered" {
            *per_topic.entry(d["topic"].as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    (all.len(), per_topic)
}

#[test]
fn after_a_rollout_every_path_delivers_and_each_hand_made_break_fails_its_account_region_at_its_step() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let plan = root().join("plans/example.toml");
    let plan = plan.to_str().unwrap();
    let rollout = emulator.orgguard(&["rollout", "--plan", plan, "--regions", "us-east-1"]);
    assert_eq!(rollout.code(), 0, "{}", rollout.stderr());
    let accounts = [member(1), member(2), member(3), MANAGEMENT.to_owned()];
    let topic = |account: &str| format!("arn:aws:sns:us-east-1:{account}:guardduty-finding");

    for _ in 0..2 {
        let (seen, _) = delivered(&emulator, 0);
        let (code, results) = drill(&emulator, plan);
        assert_eq!(code, 0, "{results:?}");
        let passed: Vec<&String> = results.iter().filter(|(_, (status, _))| status == "pass").map(|(a, _)| a).collect();
        assert_eq!(passed, accounts.iter().collect::<Vec<_>>(), "every account-region passes, again on a second drill");
        // Each account's topic gets its own sample; the delegated admin's (member 1) gets its
        // members' too, as GuardDuty sends them to the admin's bus.
        let (_, per_topic) = delivered(&emulator, seen);
        let expected: BTreeMap<String, usize> = accounts.iter().map(|a| (topic(a), if *a == member(1) { 4 } else { 1 })).collect();
        assert_eq!(per_topic, expected);
    }

    // Member 2's topic refuses every publisher; member 3's rule is disabled.
    emulator.boto3_as(&member(2), &format!(
        r#"
import json
sns = client("sns", "us-east-1")
arn = "{}"
policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
policy["Statement"].append({{"Sid": "NoOne", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": arn}})
sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
"#,
        topic(&member(2))
    ));
    emulator.boto3_as(&member(3), r#"client("events", "us-east-1").disable_rule(Name="guardduty-finding")"#);
    let (code, results) = drill(&emulator, plan);
    assert_eq!(code, 2, "{results:?}");
    assert_eq!(results[&member(2)], ("fail".into(), "target_failed".into()));
    assert_eq!(results[&member(3)], ("fail".into(), "not_matched".into()));
    assert_eq!((&results[MANAGEMENT].0, &results[&member(1)].0), (&"pass".to_owned(), &"pass".to_owned()), "the others still pass");

    // Member 3's rule back, its planned subscription removed.
    emulator.boto3_as(&member(3), &format!(
        r#"
client("events", "us-east-1").enable_rule(Name="guardduty-finding")
sns = client("sns", "us-east-1")
for s in sns.list_subscriptions_by_topic(TopicArn="{}")["Subscriptions"]:
    sns.unsubscribe(SubscriptionArn=s["SubscriptionArn"])
"#,
        topic(&member(3))
    ));
    let (code, results) = drill(&emulator, plan);
    assert_eq!(code, 2);
    assert_eq!(results[&member(3)], ("fail".into(), "not_delivered".into()));

    // A constant Input on member 1's target: a message still arrives, so the drill cannot tell;
    // the audit sees the target is not as planned.
    emulator.boto3_as(&member(1), &format!(
        r#"client("events", "us-east-1").put_targets(Rule="guardduty-finding", Targets=[{{"Id": "guardduty-finding", "Arn": "{}",
    "RoleArn": "arn:aws:iam::{}:role/eventbridge_to_sns", "Input": "{{\"all\": \"quiet\"}}"}}])"#,
        topic(&member(1)),
        member(1)
    ));
    assert_eq!(drill(&emulator, plan).1[&member(1)].0, "pass", "the metrics cannot see what a message says");
    let audit = emulator.orgguard(&["audit", "--plan", plan, "--regions", "us-east-1", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let target_fails = |account: &str| {
        report["results"].as_array().unwrap().iter().any(|r| r["account"] == account && r["control"] == "OG.Wiring.Target/guardduty-finding" && r["verdict"] == "FAIL")
    };
    assert!(target_fails(&member(1)) && !target_fails(&member(2)), "the audit fails member 1's target only");
}

#[test]
fn a_dry_run_says_who_would_be_notified_and_sends_nothing() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let plan = root().join("plans/example.toml");
    let plan = plan.to_str().unwrap();
    assert_eq!(emulator.orgguard(&["rollout", "--plan", plan, "--regions", "us-east-1"]).code(), 0);
    emulator.reset_counts();
    let run = emulator.orgguard(&["drill", "--plan", plan, "--regions", "us-east-1", "--dry-run"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stderr().contains("email security-alerts@example.com: 5 notifications"), "{}", run.stderr());
    assert_eq!(emulator.calls("CreateSampleFindings", None), 0);
    assert_eq!(emulator.mutating_calls(), 0, "a dry run writes nothing");
    // A plan whose notifications no finding travels: nothing to drill, which is not a pass.
    let central = root().join("plans/central-findings.toml");
    let run = emulator.orgguard(&["drill", "--plan", central.to_str().unwrap(), "--regions", "us-east-1", "--yes"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("nothing to drill"), "{}", run.stderr());
    assert_eq!(emulator.calls("CreateSampleFindings", None), 0);
}

#[test]
fn a_sample_that_a_suppression_rule_archives_is_said_to_be_suppressed_not_a_broken_path() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let plan = root().join("plans/example.toml");
    let plan = plan.to_str().unwrap();
    assert_eq!(emulator.orgguard(&["rollout", "--plan", plan, "--regions", "us-east-1"]).code(), 0);
    // The delegated admin (member 1) suppresses the drill's finding type for the organization.
    emulator.boto3_as(&member(1), r#"
gd = client("guardduty", "us-east-1")
detector = gd.list_detectors()["DetectorIds"][0]
gd.create_filter(DetectorId=detector, Name="quiet-miners", Action="ARCHIVE",
                 FindingCriteria={"Criterion": {"type": {"Equals": ["CryptoCurrency:EC2/BitcoinTool.B!DNS"]}}})
"#);
    let (seen, _) = delivered(&emulator, 0);
    let (code, results) = drill(&emulator, plan);
    assert_eq!(code, 2, "a suppressed sample proves nothing of its path");
    let statuses: Vec<&str> = results.values().map(|(status, _)| status.as_str()).collect();
    assert_eq!(statuses, ["suppressed"; 3], "{results:?}");
    assert_eq!(delivered(&emulator, seen).1, BTreeMap::new(), "GuardDuty sent none of them");
}
