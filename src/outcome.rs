//! How a target ended and why: its status, the error or conflict that stopped it, and the
//! notes of what was found and left alone. It names no resource kind.

use std::fmt;

use serde::Serialize;

use crate::aws::AwsError;
use crate::control::Failure;
use crate::model::{AccountId, Unprocessed};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    ExcludedByPlan,
    /// The management account, which the plan does not include.
    ManagementAccount,
    ExcludedOu,
    AccountNotActive { status: String },
    RegionNotEnabled,
    /// Not started: the run was interrupted (Ctrl-C, SIGTERM).
    Interrupted,
    /// `--resume`: the journal records it applied or unchanged.
    FinishedEarlier,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExcludedByPlan => f.write_str("excluded by the plan"),
            Self::ManagementAccount => {
                f.write_str("the management account: a target only with include_management_account = true")
            }
            Self::ExcludedOu => f.write_str("in an OU the plan excludes"),
            Self::AccountNotActive { status } => write!(f, "account is {status}"),
            Self::RegionNotEnabled => f.write_str("region not enabled"),
            Self::Interrupted => f.write_str("not started: interrupted"),
            Self::FinishedEarlier => f.write_str("finished in the run resumed"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Already as planned.
    Unchanged,
    /// Changes made.
    Applied,
    /// Dry run: changes that a rollout would make.
    Planned,
    Skipped(SkipReason),
    /// Stopped here; changes before it were made. Boxed: failures are few, and every
    /// result would otherwise be as large as an error.
    Failed(Box<TargetError>),
}

impl Status {
    pub fn failed(error: impl Into<TargetError>) -> Self {
        Self::Failed(Box::new(error.into()))
    }

    pub fn ended(&self) -> Ended {
        match self {
            Self::Unchanged => Ended::Unchanged,
            Self::Applied => Ended::Applied,
            Self::Planned => Ended::Planned,
            Self::Skipped(_) => Ended::Skipped,
            Self::Failed(_) => Ended::Failed,
        }
    }

    pub fn label(&self) -> &'static str {
        self.ended().as_str()
    }
}

/// How a target ended, without the why: what summaries count and the journal records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    Unchanged,
    Applied,
    Planned,
    Skipped,
    Failed,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Applied => "applied",
            Self::Planned => "planned",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// Why a target failed: an AWS call, or a state orgguard will not change on its own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The member role could not be assumed: nothing in the account could be read.
    #[error(transparent)]
    Role(AwsError),
    /// Another delegated admin is designated (a conflict: left alone).
    #[error("guardduty:ListOrganizationAdminAccounts: AdminConflict: {0}")]
    OtherAdmin(OtherAdmin),
    /// Invitation-era relationships keep the account from the delegated admin (a conflict).
    #[error("guardduty:GetAdministratorAccount: LegacyAdministrator: {0}")]
    Legacy(Legacy),
    /// Not attempted: what it needs could not be made ready.
    #[error("{operation}: DependencyFailed: {reason}")]
    Dependency { operation: &'static str, reason: String },
    /// A reviewed change set is applied, and the target no longer plans what was reviewed.
    #[error("orgguard:ApplyChangeSet: Stale: {0}")]
    Stale(Stale),
    /// GuardDuty did not process these accounts.
    #[error("{operation}: UnprocessedAccounts: {0}", operation = .0.operation)]
    Unprocessed(Unprocessed),
    /// What a call needs is not there, found by orgguard before or after the call: the call
    /// is not made, or its result is not what the plan asks.
    #[error("{operation}: {unmet}: {message}")]
    Unmet { operation: &'static str, unmet: Unmet, message: String },
}

/// What orgguard found missing around a call (its own names, not AWS's codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmet {
    /// The Slack workspace was never authorised for AWS Chatbot in the account (a console step).
    WorkspaceNotAuthorized,
    /// The bucket or key policy lacks a statement GuardDuty needs to publish there.
    PolicyMissing,
    /// An IP list still ACTIVATING after the wait.
    StillActivating,
    /// An IP list GuardDuty could not activate.
    ListNotActive,
}

impl Unmet {
    pub fn name(self) -> &'static str {
        match self {
            Self::WorkspaceNotAuthorized => "WorkspaceNotAuthorized",
            Self::PolicyMissing => "PolicyMissing",
            Self::StillActivating => "StillActivating",
            Self::ListNotActive => "ListNotActive",
        }
    }
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TargetError {
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Aws(error) | Self::Role(error) => error.operation,
            Self::OtherAdmin(_) => "guardduty:ListOrganizationAdminAccounts",
            Self::Legacy(_) => "guardduty:GetAdministratorAccount",
            Self::Dependency { operation, .. } => operation,
            Self::Stale(_) => "orgguard:ApplyChangeSet",
            Self::Unprocessed(unprocessed) => unprocessed.operation,
            Self::Unmet { operation, .. } => operation,
        }
    }

    /// AWS's error code, or orgguard's name for the state.
    pub fn code(&self) -> &str {
        match self {
            Self::Aws(error) | Self::Role(error) => &error.code,
            Self::OtherAdmin(_) => "AdminConflict",
            Self::Legacy(_) => "LegacyAdministrator",
            Self::Dependency { .. } => "DependencyFailed",
            Self::Stale(_) => "Stale",
            Self::Unprocessed(_) => "UnprocessedAccounts",
            Self::Unmet { unmet, .. } => unmet.name(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Aws(error) | Self::Role(error) => error.message.clone(),
            Self::OtherAdmin(conflict) => conflict.to_string(),
            Self::Legacy(conflict) => conflict.to_string(),
            Self::Dependency { reason, .. } => reason.clone(),
            Self::Stale(stale) => stale.to_string(),
            Self::Unprocessed(accounts) => accounts.to_string(),
            Self::Unmet { message, .. } => message.clone(),
        }
    }

    /// A call into a region the account has not enabled.
    pub fn is_region_not_enabled(&self) -> bool {
        matches!(self, Self::Aws(error) if error.is_region_not_enabled())
    }

    /// Not a failed call but a state orgguard will not change on its own: another delegated
    /// admin, or an invitation-era administrator. Everything was read.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::OtherAdmin(_) | Self::Legacy(_))
    }
}

/// An admin already designated that is not the plan's: left alone unless replacing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtherAdmin {
    pub current: AccountId,
    pub planned: AccountId,
}

impl fmt::Display for OtherAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is the delegated admin here, the plan names {}; left alone (--replace-admin replaces it)", self.current, self.planned)
    }
}

/// What stands between an account and the planned delegated admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Legacy {
    pub admin: AccountId,
    /// Associated with this administrator by invitation.
    pub administrator: Option<AccountId>,
    /// Invitations pending from these accounts.
    pub invitations: Vec<AccountId>,
}

impl fmt::Display for Legacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut conflicts = Vec::new();
        if let Some(other) = &self.administrator {
            conflicts.push(format!("associated with administrator {other} (an invitation, not the organization)"));
        }
        if !self.invitations.is_empty() {
            let from: Vec<&str> = self.invitations.iter().map(AccountId::as_str).collect();
            conflicts.push(format!("invitations pending from {}", from.join(", ")));
        }
        write!(
            f,
            "{}; orgguard leaves it alone: rerun with --migrate-invitations to disassociate it and decline them, \
             and the delegated admin {} adds it through the organization",
            conflicts.join("; "),
            self.admin
        )
    }
}

/// What a target plans now against what was reviewed for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    pub reviewed: usize,
    pub now: usize,
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the target changed since the change set was made ({} changes reviewed, {} planned now, not the same); \
             left alone: make and review a new change set (rollout --dry-run --out)",
            self.reviewed, self.now
        )
    }
}

/// As machines read it: the operation, a code and a message, whatever the kind.
impl Serialize for TargetError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("TargetError", 3)?;
        out.serialize_field("operation", self.operation())?;
        out.serialize_field("code", self.code())?;
        out.serialize_field("message", &self.message())?;
        out.end()
    }
}

/// Something a run found and left alone, and the control it fails in an audit, if any (an
/// unplanned subscription is a way for findings to leave, or to be silenced).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub fails: Option<Failure>,
}

impl Note {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), fails: None }
    }
}

/// As machines read it: the text.
impl Serialize for Note {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Which part of the plan a result is about: the account itself (detector, wiring, IAM)
/// or the organization layer held by the delegated admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Account,
    Organization,
}

/// Where an account-region's detector was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// With the member role, in the account.
    Account,
    /// From the delegated admin (ListMembers, GetMemberDetectors), without entering the account.
    DelegatedAdmin,
}
