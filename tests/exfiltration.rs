//! Seed 004's exfiltration alarm (`[exfiltration]`) on the emulator, every state checked in
//! the emulator's own backends (GET /_orgguard/network): every VPC of every target
//! account-region has orgguard's flow log, every region the log group, the filter and the
//! alarm pointing at the topic; a dry run and a rerun make no mutating call; a VPC made
//! afterwards through the public API, and a pattern changed by hand, FAIL the audit and are
//! put right by the next rollout, while another's flow log is left alone; a teardown removes
//! only what the plan named.

mod common;

use common::*;
use serde_json::Value;

const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const GROUP: &str = "/orgguard/vpc-flow-logs";
const NAME: &str = "orgguard-network-exfiltration";
const PATTERN: &str = "[account_id, action, az_id, bytes > 100000, dstaddr != 123.123.123.123 && dstaddr != 210.210.210.210, dstport, end, flow_direction = egress, ...]";

const PLAN: &str = r#"
[organization]
regions = ["us-east-1", "eu-west-1"]

[detector]
finding_publishing_frequency = "SIX_HOURS"

[notifications]
[[notifications.subscriptions]]
protocol = "email"
endpoint = "security-alerts@example.com"
[[notifications.rules]]
name = "guardduty-finding"
target_id = "guardduty-finding"
event_pattern = '{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"]}'

[exfiltration]
allowed_destinations = ["123.123.123.123", "210.210.210.210"]
"#;

fn accounts() -> Vec<String> {
    (1..=3).map(member).collect()
}

/// Checks every target account-region against the plan; returns the flow logs' count.
fn assert_everywhere(network: &Value) -> usize {
    let mut flow_logs = 0;
    for account in accounts() {
        let role = format!("arn:aws:iam::{account}:role/orgguard-flow-logs");
        for region in REGIONS {
            let place = &network[&account][region];
            let vpcs: Vec<&str> = place["vpcs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            for vpc in &vpcs {
                let ours: Vec<&Value> = place["flow_logs"].as_array().unwrap().iter().filter(|f| f["resource_id"] == *vpc && f["log_group"] == GROUP).collect();
                assert_eq!(ours.len(), 1, "{account}/{region}/{vpc}: {}", place["flow_logs"]);
                let log = ours[0];
                assert_eq!((log["traffic_type"].as_str(), log["role_arn"].as_str(), log["destination_type"].as_str()), (Some("ALL"), Some(role.as_str()), Some("cloud-watch-logs")));
                assert!(log["format"].as_str().unwrap().starts_with("${account-id} ${action} ${az-id} ${bytes} ${dstaddr}") && log["format"].as_str().unwrap().ends_with("${vpc-id}"));
                assert_eq!(log["tags"]["orgguard"], "exfiltration");
            }
            flow_logs += vpcs.len();
            assert_eq!(place["log_groups"][GROUP]["retention_days"], 90, "{account}/{region}");
            let filters = place["metric_filters"][GROUP].as_array().unwrap();
            assert_eq!(filters.len(), 1, "{account}/{region}: {filters:?}");
            assert_eq!((filters[0]["name"].as_str(), filters[0]["pattern"].as_str()), (Some(NAME), Some(PATTERN)));
            let metric = &filters[0]["transformations"][0];
            assert_eq!((metric["metricValue"].as_str(), metric["defaultValue"].as_f64()), (Some("1"), Some(0.0)));
            let alarm = &place["alarms"][NAME];
            let topic = format!("arn:aws:sns:{region}:{account}:guardduty-finding");
            assert_eq!(alarm["actions"], serde_json::json!([topic]), "{account}/{region}");
            let rule = (alarm["statistic"].as_str(), alarm["period"].as_i64(), alarm["evaluation_periods"].as_i64(), alarm["datapoints_to_alarm"].as_i64());
            assert_eq!(rule, (Some("Sum"), Some(300), Some(1), Some(1)));
            let threshold = (alarm["threshold"].as_f64(), alarm["comparison"].as_str(), alarm["treat_missing_data"].as_str());
            assert_eq!(threshold, (Some(1.0), Some("GreaterThanOrEqualToThreshold"), Some("notBreaching")));
        }
    }
    flow_logs
}

#[test]
fn every_vpc_gets_the_flow_log_and_every_region_the_alarm_and_drift_is_put_right() {
    let emulator = Emulator::start(&["--accounts", "3", "--vpcs-per-region", "0,1,2"]);
    emulator.reset_counts();
    let dry = with_plan(&emulator, PLAN, &["rollout", "--dry-run"]);
    assert_eq!((dry.code(), emulator.mutating_calls()), (0, 0), "{}{}", dry.stdout(), dry.stderr());
    let run = with_plan(&emulator, PLAN, &["rollout"]);
    assert_eq!(run.code(), 0, "{}{}", run.stdout(), run.stderr());
    let network = emulator.get("network");
    let vpcs = assert_everywhere(&network);
    assert_eq!(vpcs, 3 * 2, "0, 1 and 2 VPCs in the regions of three accounts: {network}");
    let iam = &emulator.get("wiring")["iam"][member(2)];
    let trust = &iam["roles"]["orgguard-flow-logs"]["trust"]["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], "vpc-flow-logs.amazonaws.com", "{iam}");
    assert_eq!(trust["Condition"]["StringEquals"]["aws:SourceAccount"], member(2).as_str());
    let topic = &emulator.get("wiring")["topics"][member(2)]["eu-west-1"]["guardduty-finding"];
    let statements = topic["policy"]["Statement"].as_array().unwrap();
    assert!(statements.iter().any(|s| s["Principal"]["Service"] == "cloudwatch.amazonaws.com"), "CloudWatch may publish the alarm: {topic}");

    emulator.reset_counts();
    let again = with_plan(&emulator, PLAN, &["rollout"]);
    assert_eq!((again.code(), emulator.mutating_calls()), (0, 0), "a rerun changes nothing: {}", again.stdout());

    // A new VPC, a pattern changed by hand and another team's flow log to S3, all through the
    // public API with the member's own credentials.
    emulator.boto3_as(
        &member(2),
        &format!(
            r#"
ec2 = client("ec2", "eu-west-1")
vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
open("{dir}/new-vpc", "w").write(vpc)
client("s3", "eu-west-1").create_bucket(Bucket="audit-team-flow-logs", CreateBucketConfiguration={{"LocationConstraint": "eu-west-1"}})
made = ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="REJECT", LogDestinationType="s3", LogDestination="arn:aws:s3:::audit-team-flow-logs")
assert not made["Unsuccessful"], made
client("logs", "us-east-1").put_metric_filter(logGroupName="{GROUP}", filterName="{NAME}", filterPattern="[..., bytes > 1]",
    metricTransformations=[{{"metricName": "EgressOverThreshold", "metricNamespace": "OrgGuard/FlowLogs", "metricValue": "1", "defaultValue": 0}}])
"#,
            dir = emulator.workdir.path().display()
        ),
    );
    let new_vpc = std::fs::read_to_string(emulator.workdir.path().join("new-vpc")).unwrap();
    let audit = with_plan(&emulator, PLAN, &["audit", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let found = failing(&report);
    assert_eq!(found, [
        ("OG.Exfil.Alarm".to_owned(), "us-east-1".to_owned(), "pattern [..., bytes > 1]".to_owned()),
        ("OG.Exfil.FlowLogs".to_owned(), "eu-west-1".to_owned(), format!("none in {new_vpc}")),
    ]);

    let fix = with_plan(&emulator, PLAN, &["rollout"]);
    assert_eq!(fix.code(), 0, "{}{}", fix.stdout(), fix.stderr());
    let network = emulator.get("network");
    assert_eq!(assert_everywhere(&network), 3 * 2 + 1, "the new VPC is covered");
    let theirs: Vec<&Value> = network[member(2)]["eu-west-1"]["flow_logs"].as_array().unwrap().iter().filter(|f| f["destination_type"] == "s3").collect();
    assert_eq!(theirs.len(), 1, "another's flow log is left alone");
    emulator.reset_counts();
    let settled = with_plan(&emulator, PLAN, &["rollout"]);
    assert_eq!((settled.code(), emulator.mutating_calls()), (0, 0), "{}", settled.stdout());

    let teardown = with_plan(&emulator, PLAN, &["teardown", "--only", "exfiltration", "--yes"]);
    assert_eq!(teardown.code(), 0, "{}{}", teardown.stdout(), teardown.stderr());
    let network = emulator.get("network");
    for account in accounts() {
        for region in REGIONS {
            let place = &network[&account][region];
            let left: Vec<&Value> = place["flow_logs"].as_array().unwrap().iter().collect();
            assert!(left.iter().all(|f| f["destination_type"] == "s3"), "{account}/{region}: only another's flow log stays: {left:?}");
            assert!(place["log_groups"][GROUP].is_null() && place["alarms"][NAME].is_null(), "{account}/{region}: {place}");
        }
    }
    let iam = &emulator.get("wiring")["iam"][member(2)];
    assert!(iam["roles"]["orgguard-flow-logs"].is_null(), "the delivery role is gone: {iam}");
    assert!(!iam["roles"]["eventbridge_to_sns"].is_null(), "the wiring's role stays: {iam}");
}
