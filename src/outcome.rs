//! What happened to each target: the record that progress, summaries and exit codes read.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};

use serde::Serialize;

use crate::aws::AwsError;
use crate::diff::Change;
use crate::model::Target;

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
    /// Stopped at this AWS call; changes before it were made. Boxed: failures are few, and
    /// every result would otherwise be as large as an error.
    Failed(Box<AwsError>),
}

impl Status {
    pub fn failed(error: AwsError) -> Self {
        Self::Failed(Box::new(error))
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Applied => "applied",
            Self::Planned => "planned",
            Self::Skipped(_) => "skipped",
            Self::Failed(_) => "failed",
        }
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetResult {
    pub target: Target,
    pub layer: Layer,
    #[serde(flatten)]
    pub status: Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Arc<Change>>,
    /// Drift reported but deliberately not changed (for example unplanned subscriptions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Where the detector was read; None when it was not (or the result is not a region's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector_read_from: Option<ReadFrom>,
    /// Planned features GuardDuty does not offer in this region: left out, not drift.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<crate::model::Feature>,
}

impl TargetResult {
    /// Where a person reads it: `account/region`, with the layer when it is not the account.
    pub fn place(&self) -> String {
        match (self.layer, &self.target.region) {
            (Layer::Account, _) => self.target.to_string(),
            (Layer::Organization, Some(_)) => format!("{} (delegated admin)", self.target),
            (Layer::Organization, None) => format!("{} (the organization's account list)", self.target),
        }
    }
}

/// The changes as a result holds them: each distinct change once for the whole run. A
/// rollout of 5000 accounts in every region makes the same few changes in 100,000
/// account-regions, and the results are held until the summary is written.
pub fn shared(changes: Vec<Change>) -> Vec<Arc<Change>> {
    if changes.is_empty() {
        return Vec::new();
    }
    static DISTINCT: LazyLock<Mutex<HashSet<Arc<Change>>>> = LazyLock::new(Mutex::default);
    let mut distinct = DISTINCT.lock().expect("no panic while sharing");
    changes
        .into_iter()
        .map(|change| match distinct.get(&change) {
            Some(shared) => shared.clone(),
            None => {
                let shared = Arc::new(change);
                distinct.insert(shared.clone());
                shared
            }
        })
        .collect()
}
