//! EC2 flow logs, CloudWatch Logs and CloudWatch alarms in one account and region: what
//! seed 004's exfiltration alarm is made of.

use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, Tag, TagSpecification, TrafficType, UnsuccessfulItem};

use super::limits::Gated;
use super::AwsError;

/// CreateFlowLogs takes this many resource ids at once.
pub const FLOW_LOG_BATCH: usize = 300;

pub struct Network {
    ec2: Gated<aws_sdk_ec2::Client>,
    logs: Gated<aws_sdk_cloudwatchlogs::Client>,
    cloudwatch: Gated<aws_sdk_cloudwatch::Client>,
}

/// A CloudWatch metric with one dimension, e.g. AWS/Events MatchedEvents by RuleName.
pub struct Metric<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub dimension: (&'a str, &'a str),
}

/// A VPC flow log as EC2 describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowLog {
    pub id: String,
    pub vpc: String,
    pub traffic_type: String,
    /// cloud-watch-logs, s3 or kinesis-data-firehose.
    pub destination_type: String,
    /// The log group (CloudWatch Logs), else the destination's ARN.
    pub destination: String,
    pub role_arn: String,
    pub format: String,
    pub tags: Vec<(String, String)>,
}

/// What a flow log into CloudWatch Logs is made with.
pub struct FlowLogSpec<'a> {
    pub traffic_type: &'a str,
    pub log_group: &'a str,
    pub role_arn: &'a str,
    pub format: &'a str,
    pub tag: (&'a str, &'a str),
}

/// A metric filter's pattern and its one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricFilter {
    pub pattern: String,
    pub namespace: String,
    pub metric: String,
    pub value: String,
    pub default: Option<f64>,
}

/// A metric alarm's settings, as orgguard plans them.
#[derive(Clone, Debug, PartialEq)]
pub struct Alarm {
    pub namespace: String,
    pub metric: String,
    pub statistic: String,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints: i32,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing_data: String,
    pub actions_enabled: bool,
    pub actions: Vec<String>,
    pub description: String,
}

/// Items EC2 could not act on, as one error.
fn unsuccessful(operation: &'static str, items: &[UnsuccessfulItem]) -> Result<(), AwsError> {
    let Some(first) = items.first() else { return Ok(()) };
    let error = first.error();
    let message = items
        .iter()
        .map(|i| format!("{}: {}", i.resource_id().unwrap_or("?"), i.error().and_then(|e| e.message()).unwrap_or("failed")))
        .collect::<Vec<_>>()
        .join("; ");
    Err(AwsError { operation, code: error.and_then(|e| e.code()).unwrap_or("Unsuccessful").to_owned(), message })
}

impl Network {
    pub(super) fn new(ec2: Gated<aws_sdk_ec2::Client>, logs: Gated<aws_sdk_cloudwatchlogs::Client>, cloudwatch: Gated<aws_sdk_cloudwatch::Client>) -> Self {
        Self { ec2, logs, cloudwatch }
    }

    /// Every VPC's id, sorted.
    pub async fn vpcs(&self) -> Result<Vec<String>, AwsError> {
        let pages = self.ec2.pages(|c| c.describe_vpcs().into_paginator().send(), |p| p.next_token().is_some_and(|t| !t.is_empty())).await;
        let pages = pages.map_err(|e| AwsError::from_sdk("ec2:DescribeVpcs", e))?;
        let mut vpcs: Vec<String> = pages.iter().flat_map(|p| p.vpcs()).filter_map(|v| v.vpc_id().map(str::to_owned)).collect();
        vpcs.sort();
        Ok(vpcs)
    }

    /// Every flow log of a VPC.
    pub async fn flow_logs(&self) -> Result<Vec<FlowLog>, AwsError> {
        let pages = self.ec2.pages(|c| c.describe_flow_logs().into_paginator().send(), |p| p.next_token().is_some_and(|t| !t.is_empty())).await;
        let pages = pages.map_err(|e| AwsError::from_sdk("ec2:DescribeFlowLogs", e))?;
        let logs = pages.iter().flat_map(|p| p.flow_logs()).filter(|f| f.resource_id().is_some_and(|r| r.starts_with("vpc-")));
        Ok(logs
            .map(|f| {
                let destination_type = f.log_destination_type().map_or("cloud-watch-logs", |t| t.as_str()).to_owned();
                let destination = match destination_type.as_str() {
                    "cloud-watch-logs" => f.log_group_name().unwrap_or_default(),
                    _ => f.log_destination().unwrap_or_default(),
                };
                FlowLog {
                    id: f.flow_log_id().unwrap_or_default().to_owned(),
                    vpc: f.resource_id().unwrap_or_default().to_owned(),
                    traffic_type: f.traffic_type().map_or("", |t| t.as_str()).to_owned(),
                    destination: destination.to_owned(),
                    destination_type,
                    role_arn: f.deliver_logs_permission_arn().unwrap_or_default().to_owned(),
                    format: f.log_format().unwrap_or_default().to_owned(),
                    tags: f.tags().iter().map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned())).collect(),
                }
            })
            .collect())
    }

    /// Flow logs for `vpcs`, in batches of 300; any VPC EC2 refuses fails the call.
    pub async fn create_flow_logs(&self, vpcs: &[String], spec: &FlowLogSpec<'_>) -> Result<(), AwsError> {
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::VpcFlowLog)
            .tags(Tag::builder().key(spec.tag.0).value(spec.tag.1).build())
            .build();
        for batch in vpcs.chunks(FLOW_LOG_BATCH) {
            let call = self
                .ec2
                .get()
                .await
                .create_flow_logs()
                .resource_type(FlowLogsResourceType::Vpc)
                .set_resource_ids(Some(batch.to_vec()))
                .traffic_type(TrafficType::from(spec.traffic_type))
                .log_destination_type(LogDestinationType::CloudWatchLogs)
                .log_group_name(spec.log_group)
                .deliver_logs_permission_arn(spec.role_arn)
                .log_format(spec.format)
                .tag_specifications(tags.clone());
            let output = call.send().await.map_err(|e| AwsError::from_sdk("ec2:CreateFlowLogs", e))?;
            unsuccessful("ec2:CreateFlowLogs", output.unsuccessful())?;
        }
        Ok(())
    }

    pub async fn delete_flow_logs(&self, ids: &[String]) -> Result<(), AwsError> {
        let output = self.ec2.get().await.delete_flow_logs().set_flow_log_ids(Some(ids.to_vec())).send().await;
        let output = output.map_err(|e| AwsError::from_sdk("ec2:DeleteFlowLogs", e))?;
        unsuccessful("ec2:DeleteFlowLogs", output.unsuccessful())
    }

    /// The log group's retention in days (None: kept forever), if the group exists.
    pub async fn log_group(&self, name: &str) -> Result<Option<Option<i32>>, AwsError> {
        let pages = self
            .logs
            .pages(|c| c.describe_log_groups().log_group_name_prefix(name).into_paginator().send(), |p| p.next_token().is_some())
            .await
            .map_err(|e| AwsError::from_sdk("logs:DescribeLogGroups", e))?;
        let group = pages.iter().flat_map(|p| p.log_groups()).find(|g| g.log_group_name() == Some(name));
        Ok(group.map(|g| g.retention_in_days()))
    }

    pub async fn create_log_group(&self, name: &str) -> Result<(), AwsError> {
        let output = self.logs.get().await.create_log_group().log_group_name(name).send().await;
        output.map(drop).map_err(|e| AwsError::from_sdk("logs:CreateLogGroup", e))
    }

    pub async fn put_retention(&self, name: &str, days: i32) -> Result<(), AwsError> {
        let output = self.logs.get().await.put_retention_policy().log_group_name(name).retention_in_days(days).send().await;
        output.map(drop).map_err(|e| AwsError::from_sdk("logs:PutRetentionPolicy", e))
    }

    pub async fn delete_log_group(&self, name: &str) -> Result<(), AwsError> {
        let output = self.logs.get().await.delete_log_group().log_group_name(name).send().await;
        output.map(drop).map_err(|e| AwsError::from_sdk("logs:DeleteLogGroup", e))
    }

    /// The group's metric filter of this name.
    pub async fn metric_filter(&self, group: &str, name: &str) -> Result<Option<MetricFilter>, AwsError> {
        let output = self.logs.get().await.describe_metric_filters().log_group_name(group).filter_name_prefix(name).send().await;
        let output = output.map_err(|e| AwsError::from_sdk("logs:DescribeMetricFilters", e))?;
        let found = output.metric_filters().iter().find(|f| f.filter_name() == Some(name));
        Ok(found.map(|f| {
            let metric = f.metric_transformations().first();
            MetricFilter {
                pattern: f.filter_pattern().unwrap_or_default().to_owned(),
                namespace: metric.map(|m| m.metric_namespace().to_owned()).unwrap_or_default(),
                metric: metric.map(|m| m.metric_name().to_owned()).unwrap_or_default(),
                value: metric.map(|m| m.metric_value().to_owned()).unwrap_or_default(),
                default: metric.and_then(|m| m.default_value()),
            }
        }))
    }

    pub async fn put_metric_filter(&self, group: &str, name: &str, filter: &MetricFilter) -> Result<(), AwsError> {
        let metric = MetricTransformation::builder()
            .metric_name(&filter.metric)
            .metric_namespace(&filter.namespace)
            .metric_value(&filter.value)
            .set_default_value(filter.default)
            .build()
            .expect("name, namespace and value are set");
        let call = self.logs.get().await.put_metric_filter().log_group_name(group).filter_name(name).filter_pattern(&filter.pattern);
        call.metric_transformations(metric).send().await.map(drop).map_err(|e| AwsError::from_sdk("logs:PutMetricFilter", e))
    }

    pub async fn delete_metric_filter(&self, group: &str, name: &str) -> Result<(), AwsError> {
        let output = self.logs.get().await.delete_metric_filter().log_group_name(group).filter_name(name).send().await;
        output.map(drop).map_err(|e| AwsError::from_sdk("logs:DeleteMetricFilter", e))
    }

    pub async fn alarm(&self, name: &str) -> Result<Option<Alarm>, AwsError> {
        let output = self.cloudwatch.get().await.describe_alarms().alarm_names(name).send().await;
        let output = output.map_err(|e| AwsError::from_sdk("cloudwatch:DescribeAlarms", e))?;
        let found = output.metric_alarms().iter().find(|a| a.alarm_name() == Some(name));
        Ok(found.map(|a| Alarm {
            namespace: a.namespace().unwrap_or_default().to_owned(),
            metric: a.metric_name().unwrap_or_default().to_owned(),
            statistic: a.statistic().map_or("", |s| s.as_str()).to_owned(),
            period: a.period().unwrap_or_default(),
            evaluation_periods: a.evaluation_periods().unwrap_or_default(),
            // AWS leaves it out when it equals the evaluation periods.
            datapoints: a.datapoints_to_alarm().or(a.evaluation_periods()).unwrap_or_default(),
            threshold: a.threshold().unwrap_or_default(),
            comparison: a.comparison_operator().map_or("", |c| c.as_str()).to_owned(),
            treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_owned(),
            actions_enabled: a.actions_enabled().unwrap_or(true),
            actions: a.alarm_actions().to_vec(),
            description: a.alarm_description().unwrap_or_default().to_owned(),
        }))
    }

    /// Each metric's sum from `since` to now (GetMetricData, one minute a point; at most 500
    /// metrics a call).
    pub async fn metric_sums(&self, metrics: &[Metric<'_>], since: std::time::SystemTime) -> Result<Vec<f64>, AwsError> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, Metric as SdkMetric, MetricDataQuery, MetricStat};
        let queries: Vec<MetricDataQuery> = metrics
            .iter()
            .enumerate()
            .map(|(n, m)| {
                let dimension = Dimension::builder().name(m.dimension.0).value(m.dimension.1).build();
                let metric = SdkMetric::builder().namespace(m.namespace).metric_name(m.name).dimensions(dimension).build();
                let stat = MetricStat::builder().metric(metric).period(60).stat("Sum").build();
                MetricDataQuery::builder().id(format!("m{n}")).metric_stat(stat).build()
            })
            .collect();
        let end = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        let start = since - std::time::Duration::from_secs(60);
        let call = self.cloudwatch.get().await.get_metric_data().set_metric_data_queries(Some(queries)).start_time(DateTime::from(start)).end_time(DateTime::from(end)).send().await;
        let output = call.map_err(|e| AwsError::from_sdk("cloudwatch:GetMetricData", e))?;
        let mut sums = vec![0.0; metrics.len()];
        for result in output.metric_data_results() {
            if let Some(n) = result.id().and_then(|id| id.strip_prefix('m')).and_then(|n| n.parse::<usize>().ok()).filter(|n| *n < sums.len()) {
                sums[n] = result.values().iter().sum();
            }
        }
        Ok(sums)
    }

    pub async fn put_alarm(&self, name: &str, alarm: &Alarm) -> Result<(), AwsError> {
        let call = self
            .cloudwatch
            .get()
            .await
            .put_metric_alarm()
            .alarm_name(name)
            .alarm_description(&alarm.description)
            .namespace(&alarm.namespace)
            .metric_name(&alarm.metric)
            .statistic(Statistic::from(alarm.statistic.as_str()))
            .period(alarm.period)
            .evaluation_periods(alarm.evaluation_periods)
            .datapoints_to_alarm(alarm.datapoints)
            .threshold(alarm.threshold)
            .comparison_operator(ComparisonOperator::from(alarm.comparison.as_str()))
            .treat_missing_data(&alarm.treat_missing_data)
            .actions_enabled(alarm.actions_enabled)
            .set_alarm_actions(Some(alarm.actions.clone()));
        call.send().await.map(drop).map_err(|e| AwsError::from_sdk("cloudwatch:PutMetricAlarm", e))
    }

    pub async fn delete_alarm(&self, name: &str) -> Result<(), AwsError> {
        let output = self.cloudwatch.get().await.delete_alarms().alarm_names(name).send().await;
        output.map(drop).map_err(|e| AwsError::from_sdk("cloudwatch:DeleteAlarms", e))
    }
}
