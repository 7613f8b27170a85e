//! `[exfiltration]`: seed 004's network exfiltration alarm in every VPC of every target
//! account-region: flow logs into a log group, a metric filter for "egress over the threshold
//! to any destination but the allowed ones", and an alarm that notifies a topic.

use serde::Deserialize;
use toml::Spanned;

/// The seed's alarm, organization-wide. Off unless the plan has the section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exfiltration {
    /// Bytes of one flow-log record above which egress counts (the seed's 100 KB).
    #[serde(default = "default_threshold")]
    pub threshold_bytes: Spanned<u64>,
    /// Destination addresses egress to which never counts (the metric filter's `!=` terms).
    #[serde(default = "no_addresses")]
    pub allowed_destinations: Spanned<Vec<String>>,
    /// The alarm's period: 10, 30 or a multiple of 60 seconds.
    #[serde(default = "default_period")]
    pub period_seconds: Spanned<u32>,
    #[serde(default = "default_log_group")]
    pub log_group: Spanned<String>,
    /// Days the log group keeps flow-log records (one of CloudWatch Logs' values).
    #[serde(default = "default_retention")]
    pub retention_days: Spanned<u32>,
    #[serde(default)]
    pub traffic_type: TrafficType,
    /// The role VPC Flow Logs assumes to deliver to the log group, one per account.
    #[serde(default = "default_role")]
    pub role: Spanned<String>,
    #[serde(default = "default_policy")]
    pub policy: String,
    /// The topic the alarm notifies, in each account-region (default: `[notifications]`'s).
    pub topic: Option<Spanned<String>>,
    #[serde(default = "default_name")]
    pub filter_name: Spanned<String>,
    #[serde(default = "default_namespace")]
    pub metric_namespace: String,
    #[serde(default = "default_metric")]
    pub metric_name: String,
    #[serde(default = "default_name")]
    pub alarm_name: Spanned<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrafficType {
    #[default]
    All,
    Accept,
    Reject,
}

impl TrafficType {
    pub fn name(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::Accept => "ACCEPT",
            Self::Reject => "REJECT",
        }
    }
}

fn default_threshold() -> Spanned<u64> {
    Spanned::new(0..0, 100_000)
}
fn no_addresses() -> Spanned<Vec<String>> {
    Spanned::new(0..0, Vec::new())
}
fn default_period() -> Spanned<u32> {
    Spanned::new(0..0, 300)
}
fn default_log_group() -> Spanned<String> {
    Spanned::new(0..0, "/orgguard/vpc-flow-logs".into())
}
fn default_retention() -> Spanned<u32> {
    Spanned::new(0..0, 90)
}
fn default_role() -> Spanned<String> {
    Spanned::new(0..0, "orgguard-flow-logs".into())
}
fn default_policy() -> String {
    "OrgGuardFlowLogsDelivery".into()
}
fn default_name() -> Spanned<String> {
    Spanned::new(0..0, "orgguard-network-exfiltration".into())
}
fn default_namespace() -> String {
    "OrgGuard/FlowLogs".into()
}
fn default_metric() -> String {
    "EgressOverThreshold".into()
}

/// CloudWatch Logs' retention values (PutRetentionPolicy).
pub const RETENTION_DAYS: [u32; 22] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// Seed 004's custom flow-log format: every field, in the console's order ("Select all").
pub const FIELDS: [&str; 29] = [
    "account-id", "action", "az-id", "bytes", "dstaddr", "dstport", "end", "flow-direction", "instance-id", "interface-id",
    "log-status", "packets", "pkt-dst-aws-service", "pkt-dstaddr", "pkt-src-aws-service", "pkt-srcaddr", "protocol", "region",
    "srcaddr", "srcport", "start", "sublocation-id", "sublocation-type", "subnet-id", "tcp-flags", "traffic-path", "type",
    "version", "vpc-id",
];

/// A metric filter pattern's length limit (PutMetricFilter).
const MAX_PATTERN: usize = 1024;

impl Exfiltration {
    /// The flow logs' format: `${field}` for every field.
    pub fn log_format(&self) -> String {
        FIELDS.iter().map(|f| format!("${{{f}}}")).collect::<Vec<_>>().join(" ")
    }

    /// The seed's metric filter: the format's fields named with `_` (the pattern syntax has
    /// no `-`), up to the flow direction, with the byte threshold, one `!=` term per allowed
    /// destination, and egress only.
    pub fn filter_pattern(&self) -> String {
        let mut terms = Vec::new();
        for field in FIELDS {
            let name = field.replace('-', "_");
            terms.push(match field {
                "bytes" => format!("{name} > {}", self.threshold_bytes.get_ref()),
                "dstaddr" if !self.allowed_destinations.get_ref().is_empty() => {
                    self.allowed_destinations.get_ref().iter().map(|a| format!("{name} != {a}")).collect::<Vec<_>>().join(" && ")
                }
                "flow-direction" => {
                    terms.push(format!("{name} = egress"));
                    break;
                }
                _ => name,
            });
        }
        format!("[{}, ...]", terms.join(", "))
    }

    /// The topic the alarm notifies in each account-region: the plan's, else the per-account
    /// findings topic.
    pub fn topic<'a>(&'a self, notifications: Option<&'a super::Notifications>) -> Option<&'a str> {
        self.topic.as_ref().map(|t| t.get_ref().as_str()).or(notifications.map(|n| n.topic.as_str()))
    }

    /// Rules across fields: each broken one, with its field and place.
    pub(super) fn problems(&self, notifications: Option<&super::Notifications>) -> Vec<(&'static str, std::ops::Range<usize>, String)> {
        let mut problems = Vec::new();
        for address in self.allowed_destinations.get_ref() {
            if address.parse::<std::net::IpAddr>().is_err() {
                let message = format!("{address:?}: expected an IP address (the metric filter compares addresses as text: no ranges)");
                problems.push(("exfiltration.allowed_destinations", self.allowed_destinations.span(), message));
            }
        }
        let pattern = self.filter_pattern();
        if pattern.len() > MAX_PATTERN {
            let message = format!("the filter pattern would be {} characters: CloudWatch Logs takes at most {MAX_PATTERN}; allow fewer destinations", pattern.len());
            problems.push(("exfiltration.allowed_destinations", self.allowed_destinations.span(), message));
        }
        let period = *self.period_seconds.get_ref();
        if !(period == 10 || period == 30 || (period % 60 == 0 && (60..=86_400).contains(&period))) {
            problems.push(("exfiltration.period_seconds", self.period_seconds.span(), format!("{period}: expected 10, 30 or a multiple of 60 up to 86400")));
        }
        let group = self.log_group.get_ref();
        if group.is_empty() || group.len() > 512 || !group.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c)) {
            problems.push(("exfiltration.log_group", self.log_group.span(), format!("{group:?}: expected 1 to 512 of letters, digits and . _ - / #")));
        }
        if !RETENTION_DAYS.contains(self.retention_days.get_ref()) {
            let message = format!("{}: CloudWatch Logs keeps logs for one of {RETENTION_DAYS:?} days", self.retention_days.get_ref());
            problems.push(("exfiltration.retention_days", self.retention_days.span(), message));
        }
        let role = self.role.get_ref();
        if role.is_empty() || role.len() > 64 || !role.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)) {
            problems.push(("exfiltration.role", self.role.span(), format!("{role:?}: expected 1 to 64 of letters, digits and + = , . @ _ -")));
        }
        let filter = self.filter_name.get_ref();
        if filter.is_empty() || filter.len() > 512 || filter.contains([':', '*']) {
            problems.push(("exfiltration.filter_name", self.filter_name.span(), format!("{filter:?}: expected 1 to 512 characters, without : or *")));
        }
        let alarm = self.alarm_name.get_ref();
        if alarm.is_empty() || alarm.len() > 255 || alarm.chars().any(char::is_control) {
            problems.push(("exfiltration.alarm_name", self.alarm_name.span(), format!("{alarm:?}: expected 1 to 255 characters")));
        }
        match (&self.topic, notifications) {
            (None, None) => {
                let message = "the alarm notifies [notifications]' topic by default, and the plan has none: name the topic".to_owned();
                problems.push(("exfiltration.topic", self.log_group.span(), message));
            }
            (Some(topic), _) if topic.get_ref().is_empty() || topic.get_ref().len() > 256 || !topic.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)) => {
                problems.push(("exfiltration.topic", topic.span(), format!("{:?}: expected a topic's name, 1 to 256 of letters, digits, _ and -", topic.get_ref())));
            }
            _ => {}
        }
        problems
    }
}
