use std::path::Path;

use super::*;
use crate::aws::Service;
use crate::resources::{fixtures, Calls, Kind};

/// Seed 004's custom format, as the console's format preview copies it.
const SEED_FORMAT: &str = "${account-id} ${action} ${az-id} ${bytes} ${dstaddr} ${dstport} ${end} ${flow-direction} ${instance-id} ${interface-id} ${log-status} ${packets} ${pkt-dst-aws-service} ${pkt-dstaddr} ${pkt-src-aws-service} ${pkt-srcaddr} ${protocol} ${region} ${srcaddr} ${srcport} ${start} ${sublocation-id} ${sublocation-type} ${subnet-id} ${tcp-flags} ${traffic-path} ${type} ${version} ${vpc-id}";
/// Seed 004's filter pattern, as the article wrote it (its spacing included).
const SEED_PATTERN: &str = "[account_id, action, az_id, bytes > 100000, dstaddr!=123.123.123.123 && dstaddr!=210.210.210.210 , dstport, end, flow_direction = egress, ...]";

fn plan_with(section: &str) -> Plan {
    let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml")).unwrap();
    Plan::parse(&format!("{base}\n[exfiltration]\n{section}"), Path::new("plan.toml")).unwrap()
}

fn seed_plan() -> Plan {
    plan_with("allowed_destinations = [\"123.123.123.123\", \"210.210.210.210\"]\n")
}

fn desired(plan: &Plan) -> Desired<'_> {
    Desired::new(plan.exfiltration.as_ref().unwrap(), "guardduty-finding", &fixtures::account(), &fixtures::region(), Partition::Aws)
}

/// What orgguard's own flow log of `vpc` looks like.
fn ours(desired: &Desired, vpc: &str) -> FlowLog {
    FlowLog {
        id: format!("fl-{vpc}"),
        vpc: vpc.into(),
        traffic_type: "ALL".into(),
        destination_type: "cloud-watch-logs".into(),
        destination: desired.group().into(),
        role_arn: desired.role_arn.clone(),
        format: desired.format.clone(),
        tags: vec![("orgguard".into(), "exfiltration".into())],
    }
}

fn settled(desired: &Desired, vpcs: &[&str]) -> Observed {
    Observed {
        vpcs: vpcs.iter().map(|v| v.to_string()).collect(),
        flow_logs: vpcs.iter().map(|v| ours(desired, v)).collect(),
        log_group: Some(Some(90)),
        filter: Some(desired.filter.clone()),
        alarm: Some(desired.alarm.clone()),
    }
}

#[test]
fn the_seeds_format_and_pattern_render_exactly() {
    let plan = seed_plan();
    let exfiltration = plan.exfiltration.as_ref().unwrap();
    assert_eq!(exfiltration.log_format(), SEED_FORMAT);
    let pattern = exfiltration.filter_pattern();
    assert_eq!(pattern, "[account_id, action, az_id, bytes > 100000, dstaddr != 123.123.123.123 && dstaddr != 210.210.210.210, dstport, end, flow_direction = egress, ...]");
    let tokens = |text: &str| text.split_whitespace().collect::<String>();
    assert_eq!(tokens(&pattern), tokens(SEED_PATTERN), "the seed's pattern, but for its spacing");
    let open = plan_with("threshold_bytes = 5000\n");
    assert_eq!(
        open.exfiltration.as_ref().unwrap().filter_pattern(),
        "[account_id, action, az_id, bytes > 5000, dstaddr, dstport, end, flow_direction = egress, ...]",
        "no allowed destination: every destination counts"
    );
}

#[test]
fn a_fresh_region_gets_group_retention_flow_logs_filter_and_alarm_and_a_settled_one_nothing() {
    let plan = seed_plan();
    let desired = desired(&plan);
    let fresh = Observed { vpcs: vec!["vpc-1".into(), "vpc-2".into()], ..Observed::default() };
    let (changes, notes) = super::plan(&desired, &fresh);
    let group = "/orgguard/vpc-flow-logs".to_owned();
    assert_eq!(changes, vec![
        Part::CreateLogGroup { group: group.clone() },
        Part::SetRetention { group: group.clone(), days: 90, was: "new".into() },
        Part::CreateFlowLogs { vpcs: vec!["vpc-1".into(), "vpc-2".into()] },
        Part::PutMetricFilter { name: "orgguard-network-exfiltration".into(), why: "missing".into() },
        Part::PutAlarm { name: "orgguard-network-exfiltration".into(), why: "missing".into() },
    ]);
    assert!(notes.is_empty());
    assert_eq!(changes[2].calls(), Calls::here(Service::Ec2, 1), "one CreateFlowLogs for every VPC");
    assert_eq!(desired.alarm.actions, ["arn:aws:sns:eu-west-1:111122223333:guardduty-finding"]);
    assert_eq!((desired.alarm.period, desired.alarm.threshold, desired.alarm.treat_missing_data.as_str()), (300, 1.0, "notBreaching"));
    assert_eq!(super::plan(&desired, &settled(&desired, &["vpc-1", "vpc-2"])), (vec![], vec![]));
    let (changes, _) = super::plan(&desired, &Observed { vpcs: vec![], ..settled(&desired, &[]) });
    assert!(changes.is_empty(), "a region without a VPC still has its group, filter and alarm: {changes:?}");
}

#[test]
fn drift_is_replaced_and_another_flow_log_kept_and_reported() {
    let plan = seed_plan();
    let desired = desired(&plan);
    let mut observed = settled(&desired, &["vpc-1", "vpc-2", "vpc-3"]);
    // orgguard's flow log of vpc-1 now delivers to S3; vpc-2 has someone else's too; vpc-3 a new VPC.
    observed.flow_logs[0].destination_type = "s3".into();
    observed.flow_logs[0].destination = "arn:aws:s3:::elsewhere".into();
    observed.flow_logs.push(FlowLog { id: "fl-theirs".into(), vpc: "vpc-2".into(), destination_type: "s3".into(), destination: "arn:aws:s3:::audit".into(), ..FlowLog::default() });
    observed.flow_logs.retain(|f| f.vpc != "vpc-3");
    observed.filter.as_mut().unwrap().pattern = "[..., bytes > 1]".into();
    observed.alarm.as_mut().unwrap().actions = vec![];
    observed.log_group = Some(None);
    let (changes, notes) = super::plan(&desired, &observed);
    assert_eq!(changes, vec![
        Part::SetRetention { group: "/orgguard/vpc-flow-logs".into(), days: 90, was: "never expire".into() },
        Part::ReplaceFlowLogs { ids: vec!["fl-vpc-1".into()], why: "fl-vpc-1: delivers to s3 arn:aws:s3:::elsewhere".into() },
        Part::CreateFlowLogs { vpcs: vec!["vpc-1".into(), "vpc-3".into()] },
        Part::PutMetricFilter { name: "orgguard-network-exfiltration".into(), why: "pattern [..., bytes > 1]".into() },
        Part::PutAlarm { name: "orgguard-network-exfiltration".into(), why: "notifies nobody".into() },
    ]);
    assert_eq!(notes, [Note::new("vpc-2: flow log fl-theirs to s3 arn:aws:s3:::audit is not orgguard's (kept)")]);
    let controls: Vec<String> = changes.iter().flat_map(|c| c.failures(&plan)).map(|f| f.control).collect();
    assert_eq!(controls, [ALARM, FLOW_LOGS, FLOW_LOGS, ALARM, ALARM]);
}

#[test]
fn teardown_removes_only_what_the_plan_names() {
    let plan = seed_plan();
    let desired = desired(&plan);
    let mut observed = settled(&desired, &["vpc-1"]);
    observed.flow_logs.push(FlowLog { id: "fl-theirs".into(), vpc: "vpc-1".into(), destination_type: "s3".into(), destination: "arn:aws:s3:::audit".into(), ..FlowLog::default() });
    let name = "orgguard-network-exfiltration".to_owned();
    assert_eq!(teardown(&desired, &observed), vec![
        Part::DeleteAlarm { name: name.clone() },
        Part::DeleteMetricFilter { name },
        Part::DeleteFlowLogs { ids: vec!["fl-vpc-1".into()] },
        Part::DeleteLogGroup { group: "/orgguard/vpc-flow-logs".into() },
    ]);
    assert!(teardown(&desired, &Observed::default()).is_empty());
}

#[test]
fn the_delivery_role_is_trusted_for_this_accounts_flow_logs_only() {
    let plan = seed_plan();
    let role = role(plan.exfiltration.as_ref().unwrap(), &fixtures::account(), Partition::Aws);
    let statement = &role.trust["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "vpc-flow-logs.amazonaws.com");
    assert_eq!(statement["Condition"]["StringEquals"]["aws:SourceAccount"], "111122223333");
    assert_eq!(statement["Condition"]["ArnLike"]["aws:SourceArn"], "arn:aws:ec2:*:111122223333:vpc-flow-log/*");
    let actions: Vec<&str> = role.document["Statement"].as_array().unwrap().iter().flat_map(|s| s["Action"].as_array().unwrap()).map(|a| a.as_str().unwrap()).collect();
    assert_eq!(actions, ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"]);
}

#[test]
fn the_plan_refuses_what_cloudwatch_would() {
    let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/detectors-only.toml")).unwrap();
    let text = format!("{base}\n[exfiltration]\nallowed_destinations = [\"10.0.0.0/8\"]\nperiod_seconds = 90\nretention_days = 10\n");
    let error = Plan::parse(&text, Path::new("plan.toml")).unwrap_err().to_string();
    for expected in ["exfiltration.allowed_destinations", "no ranges", "exfiltration.period_seconds", "exfiltration.retention_days", "exfiltration.topic"] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
}
