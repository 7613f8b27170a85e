//! The vocabulary shared by every module: accounts, regions, targets, detector settings.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A 12-digit AWS account id; construction validates it. Twelve bytes in place, no heap:
/// a run holds one per result, 170,000 of them at 5000 accounts in every region.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId([u8; 12]);

impl AccountId {
    pub fn parse(text: &str) -> Result<Self, String> {
        match <[u8; 12]>::try_from(text.as_bytes()) {
            Ok(digits) if digits.iter().all(u8::is_ascii_digit) => Ok(Self(digits)),
            _ => Err(format!("invalid account id {text:?}: expected exactly 12 digits")),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("parse admits ASCII digits only")
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccountId").field(&self.as_str()).finish()
    }
}

impl Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The AWS partition, from the caller's identity ARN; it decides ARNs and the region set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    pub fn from_arn(arn: &str) -> Option<Self> {
        match arn.split(':').nth(1)? {
            "aws" => Some(Self::Aws),
            "aws-cn" => Some(Self::AwsCn),
            "aws-us-gov" => Some(Self::AwsUsGov),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsCn => "aws-cn",
            Self::AwsUsGov => "aws-us-gov",
        }
    }

    /// Regions where GuardDuty is offered in this partition.
    pub fn guardduty_regions(self) -> &'static [&'static str] {
        match self {
            Self::Aws => AWS_GUARDDUTY_REGIONS,
            Self::AwsCn => &["cn-north-1", "cn-northwest-1"],
            Self::AwsUsGov => &["us-gov-east-1", "us-gov-west-1"],
        }
    }
}

/// GuardDuty's commercial regions; the opt-in ones are enabled per account.
const AWS_GUARDDUTY_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Every region name a plan may use, whatever the partition.
pub fn known_regions() -> impl Iterator<Item = &'static str> {
    [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov]
        .into_iter()
        .flat_map(|p| p.guardduty_regions().iter().copied())
}

/// A region name known to offer GuardDuty: the name in the known list, no copy of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Region(&'static str);

impl Region {
    pub fn parse(text: &str) -> Result<Self, String> {
        known_regions().find(|r| *r == text).map(Self).ok_or_else(|| {
            format!(
                "unknown region {text:?}: expected a GuardDuty region such as us-east-1 ({})",
                known_regions().collect::<Vec<_>>().join(", ")
            )
        })
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Where a change happens: an account in a region, or the account itself (IAM, STS).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Target {
    pub account: AccountId,
    pub region: Option<Region>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.region {
            Some(region) => write!(f, "{}/{}", self.account, region),
            None => write!(f, "{}", self.account),
        }
    }
}

/// How often GuardDuty publishes updated findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Frequency {
    FifteenMinutes,
    OneHour,
    SixHours,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FifteenMinutes => "FIFTEEN_MINUTES",
            Self::OneHour => "ONE_HOUR",
            Self::SixHours => "SIX_HOURS",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::FifteenMinutes, Self::OneHour, Self::SixHours]
            .into_iter()
            .find(|f| f.as_str() == text)
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A GuardDuty protection plan a detector can turn on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Feature {
    S3DataEvents,
    EksAuditLogs,
    EbsMalwareProtection,
    RdsLoginEvents,
    LambdaNetworkLogs,
    EksRuntimeMonitoring,
    RuntimeMonitoring,
}

impl Feature {
    pub const ALL: [Feature; 7] = [
        Self::S3DataEvents,
        Self::EksAuditLogs,
        Self::EbsMalwareProtection,
        Self::RdsLoginEvents,
        Self::LambdaNetworkLogs,
        Self::EksRuntimeMonitoring,
        Self::RuntimeMonitoring,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::S3DataEvents => "S3_DATA_EVENTS",
            Self::EksAuditLogs => "EKS_AUDIT_LOGS",
            Self::EbsMalwareProtection => "EBS_MALWARE_PROTECTION",
            Self::RdsLoginEvents => "RDS_LOGIN_EVENTS",
            Self::LambdaNetworkLogs => "LAMBDA_NETWORK_LOGS",
            Self::EksRuntimeMonitoring => "EKS_RUNTIME_MONITORING",
            Self::RuntimeMonitoring => "RUNTIME_MONITORING",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A runtime-monitoring agent that GuardDuty manages when told to (the feature's
/// "additional configuration").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Agent {
    EksAddonManagement,
    EcsFargateAgentManagement,
    Ec2AgentManagement,
}

impl Agent {
    pub const ALL: [Agent; 3] = [Self::EksAddonManagement, Self::EcsFargateAgentManagement, Self::Ec2AgentManagement];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EksAddonManagement => "EKS_ADDON_MANAGEMENT",
            Self::EcsFargateAgentManagement => "ECS_FARGATE_AGENT_MANAGEMENT",
            Self::Ec2AgentManagement => "EC2_AGENT_MANAGEMENT",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a detector should be, or is: enabled, frequency, and the features it has on.
/// In the desired settings a feature absent from the map is left as it is; so is an agent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct DetectorSettings {
    pub enabled: bool,
    pub frequency: Frequency,
    pub features: BTreeMap<Feature, bool>,
    /// Agents of the planned runtime-monitoring feature (the plan allows only one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<Agent, bool>,
}

impl DetectorSettings {
    /// The runtime-monitoring feature the plan sets, which the agents belong to.
    pub fn runtime_feature(&self) -> Option<Feature> {
        [Feature::RuntimeMonitoring, Feature::EksRuntimeMonitoring].into_iter().find(|f| self.features.contains_key(f))
    }

    /// The agents under their feature, as GuardDuty's requests carry them.
    pub fn agents_by_feature(&self) -> BTreeMap<Feature, BTreeMap<Agent, bool>> {
        self.runtime_feature().filter(|_| !self.agents.is_empty()).map(|f| (f, self.agents.clone())).into_iter().collect()
    }
}

/// A detector as read from GuardDuty. A frequency this version does not know is `None`;
/// features it does not know are left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedDetector {
    pub id: String,
    pub enabled: bool,
    pub frequency: Option<Frequency>,
    /// Every feature GuardDuty reports in the region: one it leaves out is not offered there.
    pub features: BTreeMap<Feature, bool>,
    /// Per runtime-monitoring feature, its agents.
    pub agents: BTreeMap<Feature, BTreeMap<Agent, bool>>,
}

/// An SNS topic as read: its ARN, attributes orgguard manages, and tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedTopic {
    pub arn: String,
    pub display_name: String,
    pub policy: Option<serde_json::Value>,
    pub tags: BTreeMap<String, String>,
    pub subscriptions: Vec<ObservedSubscription>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObservedSubscription {
    /// `PendingConfirmation` until an email recipient confirms.
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
}

/// An EventBridge rule on the default bus and its targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedRule {
    pub enabled: bool,
    pub pattern: Option<serde_json::Value>,
    pub targets: Vec<ObservedTarget>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedTarget {
    pub id: String,
    pub arn: String,
    pub role_arn: Option<String>,
}

/// The IAM role EventBridge uses and its publishing policy, in one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedIam {
    /// The role's trust policy, if the role exists.
    pub role_trust: Option<serde_json::Value>,
    /// The policy's default document and version count, if the policy exists.
    pub policy: Option<ObservedPolicy>,
    pub attached: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedPolicy {
    pub document: serde_json::Value,
    /// Non-default versions, oldest first: IAM keeps at most five versions in all.
    pub old_versions: Vec<String>,
}

/// A member account's GuardDuty relationships in one region, as it sees them: the
/// administrator it is associated with (through the organization or an old invitation) and
/// the accounts whose invitations are pending.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedRelationship {
    pub administrator: Option<AccountId>,
    pub invitations: Vec<AccountId>,
}

/// What the designated admin sees in one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminSide {
    pub auto_enable: Option<String>,
    pub feature_auto_enable: BTreeMap<Feature, String>,
    /// Member account -> relationship status (Enabled, Removed, ...).
    pub members: BTreeMap<AccountId, String>,
    /// Member account -> its detector id in the region, as the admin sees it.
    pub member_detectors: BTreeMap<AccountId, String>,
    /// Per runtime-monitoring feature, each agent's auto-enable mode.
    pub agent_auto_enable: BTreeMap<Feature, BTreeMap<Agent, String>>,
}
