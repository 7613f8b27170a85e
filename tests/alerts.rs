//! Central alerting (`[alerts]`) on the emulator: each region's delegated admin holds the
//! rule and the central topic, checked in the emulator's backends; the rule's pattern, read
//! back with boto3, matches a member's severity-8 finding and not a severity-2 one
//! (EventBridge's TestEventPattern); a rerun changes nothing; a second target made through the
//! public API fails the audit; a teardown removes both.

mod common;

use common::*;
use serde_json::Value;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn plan() -> String {
    format!(
        r#"[organization]
regions = ["us-east-1", "eu-west-1"]
[admin]
account = "{admin}"
[detector]
finding_publishing_frequency = "SIX_HOURS"
[alerts]
topic = "guardduty-central"
display_name = "put-slack"
[[alerts.subscriptions]]
protocol = "email"
endpoint = "soc@example.com"
[[alerts.rules]]
name = "guardduty-central-high"
target_id = "central-topic"
description = "High GuardDuty findings of every member account"
event_pattern = '{{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"]}}'
min_severity = 7
"#,
        admin = member(1)
    )
}

#[test]
fn each_admin_region_holds_the_central_rule_and_topic_and_only_high_findings_match() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let text = plan();
    let admin = member(1);
    emulator.reset_counts();
    let dry = with_plan(&emulator, &text, &["rollout", "--dry-run"]);
    assert_eq!((dry.code(), emulator.mutating_calls()), (0, 0), "{}", dry.stdout());
    let run = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!(run.code(), 0, "{}{}", run.stdout(), run.stderr());

    let wiring = emulator.get("wiring");
    for region in REGIONS {
        let topic = &wiring["topics"][&admin][region]["guardduty-central"];
        let arn = format!("arn:aws:sns:{region}:{admin}:guardduty-central");
        assert_eq!(topic["arn"], arn.as_str());
        assert_eq!(topic["display_name"], "put-slack");
        let subscribed: Vec<(&str, &str)> = topic["subscriptions"].as_array().unwrap().iter().map(|s| (s["protocol"].as_str().unwrap(), s["endpoint"].as_str().unwrap())).collect();
        assert_eq!(subscribed, [("email", "soc@example.com")]);
        let rule = &wiring["rules"][&admin][region]["guardduty-central-high"];
        assert_eq!((rule["state"].as_str(), rule["description"].as_str()), (Some("ENABLED"), Some("High GuardDuty findings of every member account")));
        assert_eq!(rule["pattern"]["detail"]["severity"], serde_json::json!([{"numeric": [">=", 7.0]}]));
        assert_eq!(rule["targets"], serde_json::json!([{"id": "central-topic", "arn": arn, "role_arn": null}]), "no role: the topic's policy lets EventBridge publish");
        let statement = &topic["policy"]["Statement"][1];
        assert_eq!(statement["Condition"]["StringEquals"]["aws:SourceAccount"], admin.as_str(), "only the admin's rules may publish");
    }
    for account in [member(2), member(3)] {
        assert!(wiring["topics"][&account].is_null() && wiring["rules"][&account].is_null(), "nothing in the members: {account}");
    }
    // The pattern as EventBridge holds it, against findings of a member account.
    emulator.boto3_as(
        &admin,
        &format!(
            r#"
import json
events = client("events", "eu-west-1")
pattern = events.describe_rule(Name="guardduty-central-high")["EventPattern"]
def finding(severity):
    return json.dumps({{"id": "f", "account": "{admin}", "source": "aws.guardduty", "time": "2026-11-30T02:00:00Z", "region": "eu-west-1",
                       "resources": [], "detail-type": "GuardDuty Finding", "detail": {{"accountId": "{member}", "severity": severity}}}})
assert [events.test_event_pattern(EventPattern=pattern, Event=finding(s))["Result"] for s in (8, 7, 2)] == [True, True, False]
"#,
            member = member(2)
        ),
    );

    emulator.reset_counts();
    let again = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!((again.code(), emulator.mutating_calls()), (0, 0), "a rerun changes nothing: {}", again.stdout());

    // A second target, made with the admin's own credentials, is a way out for every finding.
    emulator.boto3_as(
        &admin,
        r#"client("events", "us-east-1").put_targets(Rule="guardduty-central-high", Targets=[{"Id": "copy", "Arn": "arn:aws:sqs:us-east-1:999999999999:loot"}])"#,
    );
    let audit = with_plan(&emulator, &text, &["audit", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    assert_eq!(
        failing(&report),
        [("OG.Org.Alerts".to_owned(), "us-east-1".to_owned(), "also copy -> arn:aws:sqs:us-east-1:999999999999:loot".to_owned())]
    );
    emulator.boto3_as(&admin, r#"client("events", "us-east-1").remove_targets(Rule="guardduty-central-high", Ids=["copy"])"#);

    let teardown = with_plan(&emulator, &text, &["teardown", "--only", "central", "--yes"]);
    assert_eq!(teardown.code(), 0, "{}{}", teardown.stdout(), teardown.stderr());
    let wiring = emulator.get("wiring");
    for region in REGIONS {
        assert!(wiring["topics"][&admin][region]["guardduty-central"].is_null(), "{region}: {}", wiring["topics"]);
        assert!(wiring["rules"][&admin][region]["guardduty-central-high"].is_null(), "{region}: {}", wiring["rules"]);
    }
}

fn slack_plan() -> String {
    plan() + "[alerts.slack]\nconfiguration_name = \"guardduty-alerts\"\nteam_id = \"T07ORG\"\nchannel_id = \"C07SEC\"\nlogging_level = \"INFO\"\n"
}

#[test]
fn chatbot_delivers_every_regions_central_topic_to_slack_with_a_read_only_guardrail() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let (text, admin) = (slack_plan(), member(1));
    // A workspace never authorised in the console: a clear error naming that step, and no
    // configuration (in the dry run too).
    let refused = with_plan(&emulator, &text, &["rollout", "--dry-run"]);
    assert_eq!(refused.code(), 1, "{}", refused.stdout());
    assert!(refused.stdout().contains("WorkspaceNotAuthorized") && refused.stdout().contains("authorise it once in the AWS Chatbot console"), "{}", refused.stdout());

    // The rollout does the GuardDuty work all the same, and fails the region on Slack alone.
    let refused = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!(refused.code(), 1, "{}", refused.stdout());
    assert!(emulator.get("state")["chatbot"][&admin].is_null());
    for region in REGIONS {
        assert_eq!(emulator.get("guardduty-org")[region]["members"][member(2)], "Enabled", "{region}");
    }

    emulator.post("slack-workspace", serde_json::json!({"account": admin, "team_id": "T07ORG", "team_name": "example"}));
    let run = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!(run.code(), 0, "{}{}", run.stdout(), run.stderr());
    let configurations = &emulator.get("state")["chatbot"][&admin];
    assert_eq!(configurations.as_array().unwrap().len(), 1);
    let made = &configurations[0];
    assert_eq!(made["ConfigurationName"], "guardduty-alerts");
    assert_eq!((made["SlackTeamId"].as_str(), made["SlackChannelId"].as_str(), made["LoggingLevel"].as_str()), (Some("T07ORG"), Some("C07SEC"), Some("INFO")));
    assert_eq!(made["GuardrailPolicyArns"], serde_json::json!(["arn:aws:iam::aws:policy/ReadOnlyAccess"]));
    let topics: Vec<String> = ["eu-west-1", "us-east-1"].iter().map(|r| format!("arn:aws:sns:{r}:{admin}:guardduty-central")).collect();
    assert_eq!(made["SnsTopicArns"], serde_json::json!(topics), "every region's central topic");
    assert_eq!(made["IamRoleArn"], format!("arn:aws:iam::{admin}:role/guardduty-chatbot"));
    // Chatbot subscribes itself to each topic: part of the plan, not drift (the rerun and the
    // audit below would say otherwise).
    for region in REGIONS {
        let subscriptions = &emulator.get("wiring")["topics"][&admin][region]["guardduty-central"]["subscriptions"];
        let endpoints: Vec<&str> = subscriptions.as_array().unwrap().iter().map(|s| s["endpoint"].as_str().unwrap()).collect();
        assert!(endpoints.contains(&"https://global.sns-api.chatbot.amazonaws.com"), "{region}: {endpoints:?}");
    }
    let role = &emulator.get("wiring")["iam"][&admin]["roles"]["guardduty-chatbot"];
    assert_eq!(role["trust"]["Statement"][0]["Principal"]["Service"], "chatbot.amazonaws.com", "{role}");
    assert_eq!(role["trust"]["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"], admin.as_str());

    emulator.reset_counts();
    let again = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!((again.code(), emulator.mutating_calls()), (0, 0), "{}", again.stdout());

    // Someone widens the channel to AdministratorAccess by hand: the audit fails it, the rollout
    // puts the guardrail back.
    emulator.boto3_as(
        &admin,
        r#"
bot = client("chatbot", "us-east-2")
arn = bot.describe_slack_channel_configurations()["SlackChannelConfigurations"][0]["ChatConfigurationArn"]
bot.update_slack_channel_configuration(ChatConfigurationArn=arn, SlackChannelId="C07SEC", GuardrailPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])
"#,
    );
    let audit = with_plan(&emulator, &text, &["audit", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let failed = failing(&report);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!((failed[0].0.as_str(), failed[0].1.as_str()), ("OG.Org.Slack", "us-east-1"), "where the configuration is read");
    let slack_rows = report["results"].as_array().unwrap().iter().filter(|r| r["control"] == "OG.Org.Slack").count();
    assert_eq!(slack_rows, 1, "judged where it is read, not passed in the other region");
    assert!(failed[0].2.contains("guardrails arn:aws:iam::aws:policy/AdministratorAccess"), "{failed:?}");
    emulator.reset_counts();
    assert_eq!(with_plan(&emulator, &text, &["rollout"]).code(), 0);
    assert_eq!(emulator.calls("UpdateSlackChannelConfiguration", None), 1);
    assert_eq!(emulator.get("state")["chatbot"][&admin][0]["GuardrailPolicyArns"], serde_json::json!(["arn:aws:iam::aws:policy/ReadOnlyAccess"]));

    let teardown = with_plan(&emulator, &text, &["teardown", "--only", "central", "--yes"]);
    assert_eq!(teardown.code(), 0, "{}{}", teardown.stdout(), teardown.stderr());
    assert!(emulator.get("state")["chatbot"][&admin].is_null(), "the configuration is gone");
    assert!(emulator.get("wiring")["iam"][&admin]["roles"]["guardduty-chatbot"].is_null(), "and its role");
}

#[test]
fn a_fresh_organizations_reviewed_change_set_makes_slack_with_every_regions_topic_and_nothing_stale() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let (text, admin) = (slack_plan(), member(1));
    emulator.post("slack-workspace", serde_json::json!({"account": admin, "team_id": "T07ORG", "team_name": "example"}));
    let changes = emulator.workdir.path().join("changes.json");
    let dry = with_plan(&emulator, &text, &["rollout", "--dry-run", "--out", path_str(&changes)]);
    assert_eq!((dry.code(), emulator.mutating_calls()), (0, 0), "{}{}", dry.stdout(), dry.stderr());
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&changes).unwrap()).unwrap();
    let reviewed = file["targets"].as_array().unwrap().iter().flat_map(|t| t["changes"].as_array().unwrap());
    let created: Vec<&Value> = reviewed.filter(|c| c["kind"] == "create_configuration").collect();
    let topics: Vec<String> = ["eu-west-1", "us-east-1"].iter().map(|r| format!("arn:aws:sns:{r}:{admin}:guardduty-central")).collect();
    assert_eq!(created.len(), 1, "{file}");
    assert_eq!(created[0]["topics"], serde_json::json!(topics), "the dry run counts the topics the rollout makes first");

    let apply = with_plan(&emulator, &text, &["rollout", "--apply", path_str(&changes)]);
    assert_eq!(apply.code(), 0, "{}{}", apply.stdout(), apply.stderr());
    assert!(!apply.stdout().contains("Stale"), "{}", apply.stdout());
    let configurations = &emulator.get("state")["chatbot"][&admin];
    assert_eq!(configurations.as_array().unwrap().len(), 1);
    assert_eq!(configurations[0]["SnsTopicArns"], serde_json::json!(topics));
}
