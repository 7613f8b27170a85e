//! The plan's sections for what the delegated admin holds for the whole organization:
//! suppression rules, the trusted IP list and threat lists, the findings export.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::model::{AccountId, Criteria, FilterAction, ListFormat, ListKind, Region};

/// Suppression rules the delegated admin holds in every target region, applied to every
/// member's findings, in this order (the first has rank 1).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Remove rules the plan does not name; otherwise they are reported.
    #[serde(default)]
    pub prune: bool,
    pub rules: Spanned<Vec<SuppressionRule>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionRule {
    pub name: Spanned<String>,
    #[serde(default)]
    pub action: FilterAction,
    #[serde(default)]
    pub description: String,
    pub criteria: Spanned<Criteria>,
}

/// Findings exported to S3 from the delegated admin's detector in every target region,
/// which covers every member's findings there.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// The bucket's ARN (one bucket serves every region): arn:aws:s3:::name.
    pub bucket: Spanned<String>,
    /// Where in the bucket; an object named `prefix/` must exist.
    pub prefix: Option<Spanned<String>>,
    /// The KMS key's ARN, in the bucket's region.
    pub kms_key: Spanned<String>,
    /// The account that owns the bucket (a log-archive account), where orgguard reads the
    /// bucket policy before GuardDuty is asked to publish there (default: the admin).
    pub bucket_account: Option<AccountId>,
    /// orgguard prepares the bucket and the key itself.
    pub archive: Option<Archive>,
}

/// The archive orgguard prepares, as SRA and Landing Zone Accelerator do: the bucket (in
/// `bucket_account`, in the key's region) encrypted with the key, public access blocked, TLS
/// only, objects expiring after the retention, the `prefix/` object; the key (found by its
/// alias, or made with it) in its account; each with the statements GuardDuty needs from the
/// admin's detectors of every region.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    /// Days a finding is kept: the bucket's lifecycle expires objects after them.
    pub retention_days: Spanned<u32>,
}

impl Export {
    /// The bucket's name.
    pub fn bucket_name(&self) -> &str {
        self.bucket.get_ref().split_once(":::").map_or("", |(_, name)| name)
    }

    /// The key's region and account, from its ARN (checked when the plan is read).
    pub fn key_place(&self) -> Option<(Region, AccountId)> {
        let parts: Vec<&str> = self.kms_key.get_ref().split(':').collect();
        Some((Region::parse(parts.get(3)?).ok()?, AccountId::parse(parts.get(4)?).ok()?))
    }

    /// The destination's ARN as GuardDuty takes it: the bucket's, with the prefix.
    pub fn destination_arn(&self) -> String {
        match &self.prefix {
            Some(prefix) => format!("{}/{}", self.bucket.get_ref(), prefix.get_ref()),
            None => self.bucket.get_ref().clone(),
        }
    }
}

/// The trusted IP list and threat lists the delegated admin holds in every target region,
/// applied to every member.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpLists {
    /// Remove lists the plan does not name; otherwise they are reported.
    #[serde(default)]
    pub prune: bool,
    /// At most one: addresses GuardDuty raises no finding for.
    pub trusted: Option<IpList>,
    /// At most six: addresses that make a finding.
    #[serde(default = "no_lists")]
    pub threat: Spanned<Vec<IpList>>,
}

fn no_lists() -> Spanned<Vec<IpList>> {
    Spanned::new(0..0, Vec::new())
}

impl IpLists {
    /// Every planned list, with its kind.
    pub fn all(&self) -> impl Iterator<Item = (ListKind, &IpList)> {
        let trusted = self.trusted.iter().map(|l| (ListKind::Trusted, l));
        trusted.chain(self.threat.get_ref().iter().map(|l| (ListKind::Threat, l)))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpList {
    pub name: Spanned<String>,
    #[serde(default = "default_list_format")]
    pub format: ListFormat,
    /// Where GuardDuty reads the file: s3://bucket/key or https://s3.amazonaws.com/bucket/key.
    pub location: Spanned<String>,
    /// The account that must own the bucket: GuardDuty then refuses the file of a bucket that
    /// someone else took under the same name (a trusted list read from there would silence
    /// findings for their addresses).
    pub bucket_owner: Option<AccountId>,
}

fn default_list_format() -> ListFormat {
    ListFormat::Txt
}

/// Central alerting: in each region's delegated admin, rules on the default bus (where every
/// member's findings arrive, `detail.accountId` telling them apart) targeting one topic.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    #[serde(default = "default_alerts_topic")]
    pub topic: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub subscriptions: Vec<super::Subscription>,
    /// Remove subscriptions the plan does not name; otherwise they are only reported.
    #[serde(default)]
    pub prune_subscriptions: bool,
    pub rules: Vec<super::Rule>,
    /// The central topics of every region delivered to a Slack channel by AWS Chatbot.
    pub slack: Option<Slack>,
}

fn default_alerts_topic() -> String {
    "guardduty-findings-central".into()
}

/// AWS Chatbot's Slack channel configuration in the admin account, subscribed to the central
/// topic of every region, with its role (as seed 002 has it: trusted by Chatbot, read-only
/// CloudWatch) and a guardrail that is never left out (without one the channel's users get
/// AdministratorAccess).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slack {
    pub configuration_name: Spanned<String>,
    /// The Slack workspace (team) id, T...; authorised once in the Chatbot console.
    pub team_id: Spanned<String>,
    pub channel_id: Spanned<String>,
    #[serde(default = "default_chatbot_role")]
    pub role: String,
    #[serde(default = "default_chatbot_policy")]
    pub policy: String,
    /// ERROR, INFO or NONE.
    #[serde(default = "default_logging_level")]
    pub logging_level: Spanned<String>,
    #[serde(default = "default_guardrails")]
    pub guardrail_policies: Spanned<Vec<String>>,
}

fn default_chatbot_role() -> String {
    "guardduty-chatbot".into()
}

fn default_chatbot_policy() -> String {
    "GuardDutyChatbotReadOnly".into()
}

fn default_logging_level() -> Spanned<String> {
    Spanned::new(0..0, "ERROR".into())
}

fn default_guardrails() -> Spanned<Vec<String>> {
    Spanned::new(0..0, vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()])
}

impl Alerts {
    /// The same wiring as a per-account one, in the admin account, without a role: the
    /// rules publish through the topic's policy (EventBridge needs no role for SNS).
    pub fn wiring(&self) -> super::Notifications {
        super::Notifications {
            topic: self.topic.clone(),
            display_name: self.display_name.clone(),
            tags: self.tags.clone(),
            subscriptions: self.subscriptions.clone(),
            prune_subscriptions: self.prune_subscriptions,
            rules: self.rules.clone(),
            role: String::new(),
            policy: String::new(),
        }
    }
}
