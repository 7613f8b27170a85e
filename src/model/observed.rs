//! What a read of AWS returns, typed: detectors, topics, rules, IAM, relationships, the
//! delegated admin's side.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{AccountId, Agent, AutoEnable, Feature, Frequency};

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
    /// What only a confirmed subscription's attributes tell: a filter policy (which can
    /// silence it) and a redrive policy (where undelivered findings go).
    pub filter_policy: Option<String>,
    pub redrive_policy: Option<String>,
}

/// An EventBridge rule on the default bus and its targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedRule {
    pub enabled: bool,
    pub description: Option<String>,
    pub pattern: Option<serde_json::Value>,
    pub targets: Vec<ObservedTarget>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedTarget {
    pub id: String,
    pub arn: String,
    pub role_arn: Option<String>,
    /// How the target replaces the event it sends, if it does (`Input`, `InputPath` or
    /// `InputTransformer`): the finding then does not reach the topic as GuardDuty sent it.
    pub replaced_input: Option<&'static str>,
}

/// The IAM role EventBridge uses and its publishing policy, in one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedIam {
    /// The role's trust policy, if the role exists.
    pub role_trust: Option<serde_json::Value>,
    /// The policy's default document and version count, if the policy exists.
    pub policy: Option<ObservedPolicy>,
    pub attached: bool,
    /// Other managed policies attached to the role and, read by a teardown, its inline
    /// policies and instance profiles (a teardown leaves such a role alone).
    pub others_attached: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedPolicy {
    pub document: serde_json::Value,
    /// Roles, users and groups it is attached to (IAM's AttachmentCount).
    pub attachments: i32,
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
    /// None when GuardDuty answers a mode this version does not know (here and below).
    pub auto_enable: Option<AutoEnable>,
    pub feature_auto_enable: BTreeMap<Feature, Option<AutoEnable>>,
    /// Member account -> relationship status.
    pub members: BTreeMap<AccountId, MemberStatus>,
    /// Member account -> its detector id in the region, as the admin sees it.
    pub member_detectors: BTreeMap<AccountId, String>,
    /// Per runtime-monitoring feature, each agent's auto-enable mode.
    pub agent_auto_enable: BTreeMap<Feature, BTreeMap<Agent, Option<AutoEnable>>>,
}

impl AdminSide {
    pub fn is_enabled_member(&self, account: &AccountId) -> bool {
        self.members.get(account) == Some(&MemberStatus::Enabled)
    }
}

statuses! {
    /// A member's relationship with its administrator, as GuardDuty reports it (only Enabled,
    /// associated and monitored, is what the plan accepts).
    MemberStatus {
        Enabled = "Enabled",
        Created = "Created",
        Invited = "Invited",
        Disabled = "Disabled",
        Removed = "Removed",
        Resigned = "Resigned",
    }
}

/// Accounts a GuardDuty call did not process, each with GuardDuty's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unprocessed {
    pub operation: &'static str,
    /// Account id as GuardDuty gave it (it may be missing or malformed), and the reason.
    pub accounts: Vec<(String, String)>,
}

impl fmt::Display for Unprocessed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let each: Vec<String> = self.accounts.iter().map(|(account, reason)| format!("{account}: {reason}")).collect();
        f.write_str(&each.join("; "))
    }
}

/// One resource Runtime Monitoring covers (an EKS or ECS cluster, an EC2 instance), as the
/// delegated admin's ListCoverage reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoveredResource {
    pub account: AccountId,
    /// EKS, ECS or EC2 (GuardDuty's resource type).
    pub resource_type: String,
    /// The cluster's name or the instance's id.
    pub id: String,
    pub healthy: bool,
    /// GuardDuty's text for what keeps an unhealthy resource uncovered.
    pub issue: Option<String>,
}
