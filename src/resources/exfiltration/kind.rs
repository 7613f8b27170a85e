//! What each exfiltration change is called, counts, costs in calls and answers for in the
//! audit: the `Kind` and `Display` of the account-region's parts and of the delivery role's
//! changes.

use std::fmt;

use super::{Change, Part, ALARM, FLOW_LOGS, ROLE};
use crate::aws::{Service, FLOW_LOG_BATCH};
use crate::plan::Plan;
use crate::resources::{Calls, Kind};
use crate::control::Failure;

impl Kind for Part {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateLogGroup { .. } => "create log group",
            Self::SetRetention { .. } => "set log retention",
            Self::ReplaceFlowLogs { .. } => "replace flow logs",
            Self::CreateFlowLogs { .. } => "create flow logs",
            Self::PutMetricFilter { .. } => "put metric filter",
            Self::PutAlarm { .. } => "put alarm",
            Self::DeleteFlowLogs { .. } => "delete flow logs",
            Self::DeleteMetricFilter { .. } => "delete metric filter",
            Self::DeleteAlarm { .. } => "delete alarm",
            Self::DeleteLogGroup { .. } => "delete log group",
        }
    }

    fn calls(&self) -> Calls {
        match self {
            Self::CreateFlowLogs { vpcs } => Calls::here(Service::Ec2, vpcs.len().div_ceil(FLOW_LOG_BATCH) as u32),
            Self::ReplaceFlowLogs { .. } | Self::DeleteFlowLogs { .. } => Calls::here(Service::Ec2, 1),
            Self::PutAlarm { .. } | Self::DeleteAlarm { .. } => Calls::here(Service::CloudWatch, 1),
            _ => Calls::here(Service::Logs, 1),
        }
    }

    fn count(&self) -> usize {
        match self {
            Self::CreateFlowLogs { vpcs } => vpcs.len(),
            Self::ReplaceFlowLogs { ids, .. } | Self::DeleteFlowLogs { ids } => ids.len(),
            _ => 1,
        }
    }

    fn summary(&self) -> String {
        match self {
            Self::CreateFlowLogs { vpcs } => format!("{} VPCs' flow logs", vpcs.len()),
            Self::ReplaceFlowLogs { ids, .. } => format!("{} flow logs that differ from the plan", ids.len()),
            Self::DeleteFlowLogs { ids } => format!("{} flow logs", ids.len()),
            _ => self.to_string(),
        }
    }

    fn failures(&self, plan: &Plan) -> Vec<Failure> {
        let group = plan.exfiltration.as_ref().map_or("", |e| e.log_group.get_ref());
        vec![match self {
            Self::CreateLogGroup { group } => Failure::new(ALARM, format!("log group {group}"), "missing"),
            Self::SetRetention { days, was, .. } => Failure::new(ALARM, format!("retention {days} days"), was.clone()),
            Self::ReplaceFlowLogs { why, .. } => Failure::new(FLOW_LOGS, format!("flow logs into {group}, as planned"), why.clone()),
            Self::CreateFlowLogs { vpcs } => Failure::new(FLOW_LOGS, format!("a flow log into {group} in every VPC"), format!("none in {}", vpcs.join(", "))),
            Self::PutMetricFilter { name, why } => Failure::new(ALARM, format!("metric filter {name} with the planned pattern"), why.clone()),
            Self::PutAlarm { name, why } => Failure::new(ALARM, format!("alarm {name} notifying the topic"), why.clone()),
            Self::DeleteFlowLogs { .. } | Self::DeleteMetricFilter { .. } | Self::DeleteAlarm { .. } | Self::DeleteLogGroup { .. } => return Vec::new(),
        }]
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateLogGroup { group } => write!(f, "log group {group}"),
            Self::SetRetention { group, days, was } => write!(f, "log group {group}: {days} days (was {was})"),
            Self::ReplaceFlowLogs { why, .. } => write!(f, "flow logs {why}"),
            Self::CreateFlowLogs { vpcs } => write!(f, "flow logs of {}", vpcs.join(", ")),
            Self::PutMetricFilter { name, why } => write!(f, "metric filter {name}: {why}"),
            Self::PutAlarm { name, why } => write!(f, "alarm {name}: {why}"),
            Self::DeleteFlowLogs { ids } => write!(f, "flow logs {}", ids.join(", ")),
            Self::DeleteMetricFilter { name } => write!(f, "metric filter {name}"),
            Self::DeleteAlarm { name } => write!(f, "alarm {name}"),
            Self::DeleteLogGroup { group } => write!(f, "log group {group} with its flow-log records"),
        }
    }
}

impl From<Part> for Change {
    fn from(part: Part) -> Self {
        Self::Part(part)
    }
}

impl From<Part> for crate::resources::Change {
    fn from(part: Part) -> Self {
        Change::from(part).into()
    }
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::Role(_) => "flow-log delivery role",
            Self::Part(part) => part.kind(),
        }
    }

    fn calls(&self) -> Calls {
        match self {
            Self::Role(change) => change.calls(),
            Self::Part(part) => part.calls(),
        }
    }

    fn count(&self) -> usize {
        match self {
            Self::Role(_) => 1,
            Self::Part(part) => part.count(),
        }
    }

    fn summary(&self) -> String {
        match self {
            Self::Role(_) => self.to_string(),
            Self::Part(part) => part.summary(),
        }
    }

    fn failures(&self, plan: &Plan) -> Vec<Failure> {
        match self {
            Self::Role(change) => {
                change.failures(plan).into_iter().map(|f| Failure { control: ROLE.into(), expected: format!("flow-log delivery: {}", f.expected), ..f }).collect()
            }
            Self::Part(part) => part.failures(plan),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Role(change) => write!(f, "flow-log delivery: {change}"),
            Self::Part(part) => part.fmt(f),
        }
    }
}
