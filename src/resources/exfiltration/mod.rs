//! Seed 004's network exfiltration alarm (`[exfiltration]`). Per account: the role VPC Flow
//! Logs assumes to deliver (trusted for this account's flow logs only). Per account-region:
//! the log group with its retention; for every VPC a flow log of the seed's format into the
//! group; the metric filter counting egress over the threshold to any destination but the
//! allowed ones; the alarm that notifies the topic when it happens once in a period.
//!
//! orgguard's flow logs carry its tag, or deliver into the plan's group: one that differs
//! from the plan is replaced (EC2 cannot change a flow log). A VPC's other flow logs are not
//! orgguard's: kept, and reported.


use serde::Serialize;
use serde_json::json;

use super::registry::{At, InAccountRegion, Made, Resource, Section};
use super::{iam, Check, Place};
use crate::aws::{Alarm, AwsError, FlowLog, FlowLogSpec, MetricFilter, Network};
use crate::desired::Role;
use crate::model::{AccountId, Partition, Region};
use crate::outcome::{Note, TargetError};
use crate::permissions::{Grant, Phase};
use crate::plan::{Exfiltration, Plan};

pub const ROLE: &str = "OG.Exfil.Role";
pub const FLOW_LOGS: &str = "OG.Exfil.FlowLogs";
pub const ALARM: &str = "OG.Exfil.Alarm";
/// The tag on orgguard's flow logs.
const TAG: (&str, &str) = ("orgguard", "exfiltration");

/// The delivery role's changes (the account layer's), or an account-region's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Change {
    Role(iam::Change),
    Part(Part),
}

/// One account-region's change.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    CreateLogGroup { group: String },
    SetRetention { group: String, days: u32, was: String },
    /// orgguard's flow logs that differ from the plan, deleted so that CreateFlowLogs makes
    /// them again.
    ReplaceFlowLogs { ids: Vec<String>, why: String },
    CreateFlowLogs { vpcs: Vec<String> },
    PutMetricFilter { name: String, why: String },
    PutAlarm { name: String, why: String },
    /// Teardown.
    DeleteFlowLogs { ids: Vec<String> },
    DeleteMetricFilter { name: String },
    DeleteAlarm { name: String },
    DeleteLogGroup { group: String },
}

/// The delivery role of one account: IAM is global, so its trust names every region's flow logs.
pub fn role(plan: &Exfiltration, account: &AccountId, partition: Partition) -> Role {
    let p = partition.name();
    let group = plan.log_group.get_ref();
    Role {
        role: plan.role.get_ref().clone(),
        policy: plan.policy.clone(),
        policy_arn: format!("arn:{p}:iam::{account}:policy/{}", plan.policy),
        trust: json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account.as_str()},
                    "ArnLike": {"aws:SourceArn": format!("arn:{p}:ec2:*:{account}:vpc-flow-log/*")},
                },
            }],
        }),
        document: json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DeliverFlowLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [format!("arn:{p}:logs:*:{account}:log-group:{group}"), format!("arn:{p}:logs:*:{account}:log-group:{group}:*")],
                },
                {"Sid": "DescribeLogs", "Effect": "Allow", "Action": ["logs:DescribeLogGroups", "logs:DescribeLogStreams"], "Resource": "*"},
            ],
        }),
    }
}

/// What the plan asks of one account-region.
pub struct Desired<'a> {
    pub plan: &'a Exfiltration,
    pub role_arn: String,
    pub format: String,
    pub filter: MetricFilter,
    pub alarm: Alarm,
}

impl<'a> Desired<'a> {
    /// `topic`: the name of the topic the alarm notifies in this account-region.
    pub fn new(plan: &'a Exfiltration, topic: &str, account: &AccountId, region: &Region, partition: Partition) -> Self {
        let p = partition.name();
        let filter = MetricFilter {
            pattern: plan.filter_pattern(),
            namespace: plan.metric_namespace.clone(),
            metric: plan.metric_name.clone(),
            value: "1".into(),
            default: Some(0.0),
        };
        let alarm = Alarm {
            namespace: plan.metric_namespace.clone(),
            metric: plan.metric_name.clone(),
            statistic: "Sum".into(),
            period: *plan.period_seconds.get_ref() as i32,
            evaluation_periods: 1,
            datapoints: 1,
            threshold: 1.0,
            comparison: "GreaterThanOrEqualToThreshold".into(),
            treat_missing_data: "notBreaching".into(),
            actions_enabled: true,
            actions: vec![format!("arn:{p}:sns:{region}:{account}:{topic}")],
            description: format!(
                "orgguard (seed 004): a VPC flow-log record of egress over {} bytes to a destination the plan does not allow",
                plan.threshold_bytes.get_ref()
            ),
        };
        Self { plan, role_arn: format!("arn:{p}:iam::{account}:role/{}", plan.role.get_ref()), format: plan.log_format(), filter, alarm }
    }

    fn group(&self) -> &str {
        self.plan.log_group.get_ref()
    }

    /// The flow log is orgguard's: tagged so, or delivering into the plan's group.
    fn ours(&self, log: &FlowLog) -> bool {
        log.tags.iter().any(|(k, v)| (k.as_str(), v.as_str()) == TAG) || (log.destination_type == "cloud-watch-logs" && log.destination == self.group())
    }

    /// How an orgguard flow log differs from the plan (None: it does not).
    fn differs(&self, log: &FlowLog) -> Option<String> {
        let mut why = Vec::new();
        if log.destination_type != "cloud-watch-logs" || log.destination != self.group() {
            why.push(format!("delivers to {} {}", log.destination_type, log.destination));
        }
        if log.traffic_type != self.plan.traffic_type.name() {
            why.push(format!("traffic {}", log.traffic_type));
        }
        if log.role_arn != self.role_arn {
            why.push(format!("role {}", log.role_arn));
        }
        if log.format != self.format {
            why.push("another format".into());
        }
        (!why.is_empty()).then(|| why.join(", "))
    }

    pub fn spec(&self) -> FlowLogSpec<'_> {
        FlowLogSpec { traffic_type: self.plan.traffic_type.name(), log_group: self.group(), role_arn: &self.role_arn, format: &self.format, tag: TAG }
    }
}

/// What one account-region holds now.
#[derive(Debug, Default)]
pub struct Observed {
    pub vpcs: Vec<String>,
    pub flow_logs: Vec<FlowLog>,
    /// The log group's retention (None inside: kept forever), if the group exists.
    pub log_group: Option<Option<i32>>,
    pub filter: Option<MetricFilter>,
    pub alarm: Option<Alarm>,
}

async fn observe(network: &Network, plan: &Exfiltration) -> Result<Observed, AwsError> {
    let group = plan.log_group.get_ref();
    let log_group = network.log_group(group).await?;
    let filter = match log_group {
        Some(_) => network.metric_filter(group, plan.filter_name.get_ref()).await?,
        None => None,
    };
    Ok(Observed {
        vpcs: network.vpcs().await?,
        flow_logs: network.flow_logs().await?,
        log_group,
        filter,
        alarm: network.alarm(plan.alarm_name.get_ref()).await?,
    })
}

/// Pure: the account-region's changes, in the order they are made, and the flow logs that
/// are not orgguard's.
fn plan(desired: &Desired, observed: &Observed) -> (Vec<Part>, Vec<Note>) {
    let plan = desired.plan;
    let group = desired.group().to_owned();
    let mut changes = Vec::new();
    let days = *plan.retention_days.get_ref();
    match observed.log_group {
        None => changes.extend([Part::CreateLogGroup { group: group.clone() }, Part::SetRetention { group: group.clone(), days, was: "new".into() }]),
        Some(retention) if retention != Some(days as i32) => {
            let was = retention.map_or_else(|| "never expire".to_owned(), |d| format!("{d} days"));
            changes.push(Part::SetRetention { group: group.clone(), days, was });
        }
        Some(_) => {}
    }
    let (mut replace, mut why, mut missing, mut notes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for vpc in &observed.vpcs {
        let logs: Vec<&FlowLog> = observed.flow_logs.iter().filter(|f| &f.vpc == vpc).collect();
        let mut covered = false;
        for log in &logs {
            match (desired.ours(log), desired.differs(log)) {
                (false, _) => notes.push(Note::new(format!("{vpc}: flow log {} to {} {} is not orgguard's (kept)", log.id, log.destination_type, log.destination))),
                (true, None) if !covered => covered = true,
                (true, None) => {
                    replace.push(log.id.clone());
                    why.push(format!("{} duplicates {vpc}'s", log.id));
                }
                (true, Some(reason)) => {
                    replace.push(log.id.clone());
                    why.push(format!("{}: {reason}", log.id));
                }
            }
        }
        if !covered {
            missing.push(vpc.clone());
        }
    }
    if !replace.is_empty() {
        changes.push(Part::ReplaceFlowLogs { ids: replace, why: why.join("; ") });
    }
    if !missing.is_empty() {
        changes.push(Part::CreateFlowLogs { vpcs: missing });
    }
    let name = plan.filter_name.get_ref().clone();
    match &observed.filter {
        None => changes.push(Part::PutMetricFilter { name, why: "missing".into() }),
        Some(found) if *found != desired.filter => {
            let why = if found.pattern != desired.filter.pattern { format!("pattern {}", found.pattern) } else { "another metric".into() };
            changes.push(Part::PutMetricFilter { name, why });
        }
        Some(_) => {}
    }
    let name = plan.alarm_name.get_ref().clone();
    match &observed.alarm {
        None => changes.push(Part::PutAlarm { name, why: "missing".into() }),
        Some(found) if *found != desired.alarm => changes.push(Part::PutAlarm { name, why: alarm_differences(found, &desired.alarm) }),
        Some(_) => {}
    }
    (changes, notes)
}

fn alarm_differences(found: &Alarm, want: &Alarm) -> String {
    let mut why = Vec::new();
    if found.actions != want.actions {
        why.push(format!("notifies {}", if found.actions.is_empty() { "nobody".into() } else { found.actions.join(", ") }));
    }
    if !found.actions_enabled {
        why.push("actions disabled".into());
    }
    if (&found.namespace, &found.metric) != (&want.namespace, &want.metric) {
        why.push(format!("metric {}/{}", found.namespace, found.metric));
    }
    let rule = |a: &Alarm| (a.statistic.clone(), a.period, a.evaluation_periods, a.datapoints, a.threshold.to_bits(), a.comparison.clone(), a.treat_missing_data.clone());
    if rule(found) != rule(want) {
        why.push(format!("{} {} over {} s, {} of {}, missing data {}", found.statistic, found.comparison, found.period, found.datapoints, found.evaluation_periods, found.treat_missing_data));
    }
    if why.is_empty() {
        why.push("description differs".into());
    }
    why.join("; ")
}

/// Teardown: the alarm, the filter, orgguard's flow logs, the group.
fn teardown(desired: &Desired, observed: &Observed) -> Vec<Part> {
    let plan = desired.plan;
    let mut changes = Vec::new();
    if observed.alarm.is_some() {
        changes.push(Part::DeleteAlarm { name: plan.alarm_name.get_ref().clone() });
    }
    if observed.filter.is_some() {
        changes.push(Part::DeleteMetricFilter { name: plan.filter_name.get_ref().clone() });
    }
    let ours: Vec<String> = observed.flow_logs.iter().filter(|f| desired.ours(f)).map(|f| f.id.clone()).collect();
    if !ours.is_empty() {
        changes.push(Part::DeleteFlowLogs { ids: ours });
    }
    if observed.log_group.is_some() {
        changes.push(Part::DeleteLogGroup { group: desired.group().to_owned() });
    }
    changes
}

/// One account-region change (the role's are the account layer's).
async fn apply(network: &Network, desired: &Desired<'_>, change: &Part) -> Result<(), AwsError> {
    let group = desired.group();
    match change {
        Part::CreateLogGroup { .. } => network.create_log_group(group).await,
        Part::SetRetention { days, .. } => network.put_retention(group, *days as i32).await,
        Part::ReplaceFlowLogs { ids, .. } | Part::DeleteFlowLogs { ids } => network.delete_flow_logs(ids).await,
        Part::CreateFlowLogs { vpcs } => network.create_flow_logs(vpcs, &desired.spec()).await,
        Part::PutMetricFilter { name, .. } => network.put_metric_filter(group, name, &desired.filter).await,
        Part::PutAlarm { name, .. } => network.put_alarm(name, &desired.alarm).await,
        Part::DeleteMetricFilter { name } => network.delete_metric_filter(group, name).await,
        Part::DeleteAlarm { name } => network.delete_alarm(name).await,
        Part::DeleteLogGroup { .. } => network.delete_log_group(group).await,
    }
}

/// The flow logs and their log group, the metric filter, the alarm, and the role that
/// delivers the flow logs.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    let Some(exfiltration) = &plan.exfiltration else { return Vec::new() };
    let group = exfiltration.log_group.get_ref();
    let groups = [format!("arn:{p}:logs:*:*:log-group:{group}"), format!("arn:{p}:logs:*:*:log-group:{group}:*")];
    let alarm = [format!("arn:{p}:cloudwatch:*:*:alarm:{}", exfiltration.alarm_name.get_ref())];
    let flow_logs = format!("arn:{p}:ec2:*:*:vpc-flow-log/*");
    let mut grants = vec![
        Grant::read(&["ec2:DescribeVpcs", "ec2:DescribeFlowLogs", "logs:DescribeLogGroups", "logs:DescribeMetricFilters", "cloudwatch:DescribeAlarms"]),
        Grant::new("FlowLogsWrite", Phase::Rollout, &["ec2:CreateFlowLogs"], &[format!("arn:{p}:ec2:*:*:vpc/*"), flow_logs.clone()]),
        Grant::new("FlowLogsWrite", Phase::Both, &["ec2:DeleteFlowLogs"], &[flow_logs.clone()]),
        Grant::new("TagOnlyNewFlowLogs", Phase::Rollout, &["ec2:CreateTags"], &[flow_logs]).when(json!({"StringEquals": {"ec2:CreateAction": "CreateFlowLogs"}})),
        Grant::new("FlowLogGroupWrite", Phase::Rollout, &["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:PutMetricFilter"], &groups),
        Grant::new("FlowLogGroupTeardown", Phase::Teardown, &["logs:DeleteMetricFilter", "logs:DeleteLogGroup"], &groups),
        Grant::new("ExfiltrationAlarmWrite", Phase::Rollout, &["cloudwatch:PutMetricAlarm"], &alarm),
        Grant::new("ExfiltrationAlarmTeardown", Phase::Teardown, &["cloudwatch:DeleteAlarms"], &alarm),
    ];
    grants.extend(iam::role_grants("FlowLog", exfiltration.role.get_ref(), &exfiltration.policy, "vpc-flow-logs.amazonaws.com", p));
    grants
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let Some(exfiltration) = &plan.exfiltration else { return Vec::new() };
    let group = exfiltration.log_group.get_ref();
    vec![
        Check::new(Place::Account, ROLE, "The flow-log delivery role exists, trusted by VPC Flow Logs for this account only, with its logs policy", "seed 004"),
        Check::new(Place::Region, FLOW_LOGS, &format!("Every VPC has a flow log of the seed's format into {group}"), "seed 004"),
        Check::new(Place::Region, ALARM, &format!("{group} with its retention, the exfiltration metric filter, and the alarm notifying the topic"), "seed 004"),
    ]
}

mod kind;

/// The exfiltration alarm's parts in each account-region, with `[exfiltration]`.
pub struct Parts;

impl Resource for Parts {
    const NAME: &'static str = "exfiltration alarm";
    const SECTION: Section = Section::Exfiltration;
    type Placement = InAccountRegion;
    type Desired<'a> = Desired<'a>;
    type Clients = Network;
    type Observed = Observed;
    type Change = Part;

    fn desired<'a>(here: &At<'a, Self>) -> Option<Desired<'a>> {
        let plan = here.plan.exfiltration.as_ref()?;
        // A plan without a topic for the alarm does not load.
        let topic = plan.topic(here.plan.notifications.as_ref())?;
        Some(Desired::new(plan, topic, &here.session.account, &here.region, here.partition))
    }

    fn clients(here: &At<'_, Self>) -> Network {
        here.session.network(&here.region)
    }

    async fn observe(network: &Network, desired: &Self::Desired<'_>) -> Result<Observed, TargetError> {
        Ok(observe(network, desired.plan).await?)
    }

    fn plan(desired: &Self::Desired<'_>, observed: &Observed) -> (Vec<Part>, Vec<Note>) {
        plan(desired, observed)
    }

    fn plan_teardown(desired: &Self::Desired<'_>, observed: &Observed, _prune: bool) -> (Vec<Part>, Vec<Note>) {
        (teardown(desired, observed), Vec::new())
    }

    /// Flow logs deliver through the account's delivery role.
    fn needs_roles(desired: &Self::Desired<'_>, change: &Part) -> Option<TargetError> {
        let reason = || format!("the flow-log delivery role {} could not be made ready in this account", desired.plan.role.get_ref());
        matches!(change, Part::CreateFlowLogs { .. }).then(|| TargetError::Dependency { operation: "ec2:CreateFlowLogs", reason: reason() })
    }

    async fn apply(network: &Network, desired: &Self::Desired<'_>, _: &Observed, change: &Part, _: &mut Made) -> Result<(), TargetError> {
        Ok(apply(network, desired, change).await?)
    }
}

#[cfg(test)]
mod tests;
