//! GuardDuty's settings as the plan sets them and the detector holds them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

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

/// The organization's auto-enable mode, for member accounts, a feature or an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AutoEnable {
    New,
    All,
    None,
}

impl AutoEnable {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::All => "ALL",
            Self::None => "NONE",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::New, Self::All, Self::None].into_iter().find(|m| m.as_str() == text)
    }
}

impl fmt::Display for AutoEnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
