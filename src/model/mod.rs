//! The vocabulary shared by every module: accounts, regions, targets, detector settings,
//! what a read of AWS returns, and the rate limits. No SDK types.

/// Declares a status AWS gives as text: its variants and their names, and `Unknown` for a
/// name this version does not know (kept as text, shown as it came).
macro_rules! statuses {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($variant,)*
            Unknown(String),
        }

        impl $name {
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(text) => text,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

statuses! {
    /// An organization account's status.
    AccountStatus {
        Active = "ACTIVE",
        Suspended = "SUSPENDED",
        PendingClosure = "PENDING_CLOSURE",
    }
}

mod lists;
mod observed;
mod settings;
mod suppression;

pub use observed::{
    AdminSide, CoveredResource, MemberStatus, ObservedDetector, ObservedIam, ObservedPolicy, ObservedRelationship, ObservedRule, ObservedSubscription,
    ObservedTarget, ObservedTopic, Unprocessed,
};
pub use lists::{DestinationStatus, ListFormat, ListKind, ListStatus, ObservedDestination, ObservedList};
pub use settings::{Agent, AutoEnable, DetectorSettings, Feature, Frequency};
pub use suppression::{same_criteria, Condition, Criteria, FilterAction, ObservedFilter};

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

    /// An opt-in region (enabled per account), where GuardDuty acts on other services as
    /// its regional service principal.
    pub fn is_opt_in(&self) -> bool {
        OPT_IN_REGIONS.contains(&self.0)
    }

    /// GuardDuty's service principal here, as resource policies must name it.
    pub fn guardduty_principal(&self) -> String {
        match self.is_opt_in() {
            true => format!("guardduty.{}.amazonaws.com", self.0),
            false => "guardduty.amazonaws.com".into(),
        }
    }
}

/// AWS's opt-in regions among GuardDuty's (Regions and Zones, "enable a Region").
const OPT_IN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

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

/// Calls per second, per account and region (GuardDuty, SNS, EventBridge, EC2, CloudWatch
/// Logs, CloudWatch), per account (IAM), or for the whole run (STS AssumeRole and
/// Organizations, from the management account). Defaults sit under AWS's published quotas:
/// EventBridge 50/s, SNS 30/s in its smallest regions, EC2's describe refill 20/s, CloudWatch
/// Logs 5/s (PutMetricFilter, PutRetentionPolicy), CloudWatch PutMetricAlarm 3/s, STS 600/s,
/// Organizations ListAccounts 8/s shared organization-wide; GuardDuty and IAM publish none.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rates {
    pub guardduty: u32,
    pub sns: u32,
    pub events: u32,
    pub iam: u32,
    pub ec2: u32,
    pub logs: u32,
    pub cloudwatch: u32,
    pub sts: u32,
    pub organizations: u32,
}

impl Default for Rates {
    fn default() -> Self {
        Self { guardduty: 10, sns: 25, events: 40, iam: 10, ec2: 20, logs: 5, cloudwatch: 3, sts: 200, organizations: 4 }
    }
}
