//! The three layers a plan is reconciled in, each as observe (reads only), plan (pure:
//! desired x observed -> that layer's changes, by kind) and execute (the changes in
//! dependency order, or none in a dry run):
//!
//! - `account`: per account, IAM (global);
//! - `region`: per account and region: detector, the registry's kinds held in each
//!   account-region (topic and subscriptions, rules, the exfiltration alarm), and the
//!   account's invitation-era relationships;
//! - `organization`: per region, at the delegated admin: designation, organization
//!   configuration, members, and the registry's kinds the admin holds for the organization
//!   (findings export, central alerts, Slack, suppression rules, IP lists).
//!
//! Rollout, dry run and audit run the same observe and plan; the engine drives them.

pub mod account;
pub mod organization;
pub mod region;
pub mod teardown;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;

use crate::aws::{AccountSession, Aws};
use crate::changeset::Reviewed;
use crate::model::{AccountId, AdminSide, AutoEnable, DetectorSettings, ObservedDetector, Region, Target};
use crate::outcome::{Layer, Stale, Status, TargetError};
use crate::results::TargetResult;
use crate::plan::Plan;
use crate::resources::registry::Mode;
use crate::resources::Change;

/// How a run treats what it finds.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub dry_run: bool,
    /// Replace a delegated admin that differs from the plan's (otherwise a conflict).
    pub replace_admin: bool,
    /// Read members' detectors from the delegated admin first (ListMembers,
    /// GetMemberDetectors) and enter an account only for what the admin cannot see.
    pub detectors_from_admin: bool,
    /// Undo invitation-era relationships (leave the old administrator, decline pending
    /// invitations) so that the delegated admin can add the account; otherwise a conflict.
    pub migrate_invitations: bool,
    /// Take the plan's resources out instead (`orgguard teardown`).
    pub teardown: Option<teardown::Teardown>,
}

/// What every layer of one run reads from: the plan, the run's options, and what the
/// organization looked like before the accounts were entered.
pub struct Context {
    pub aws: Arc<Aws>,
    pub plan: Arc<Plan>,
    pub desired: DetectorSettings,
    pub options: Options,
    /// The delegated admin the plan names, with its session, shared by its account work and
    /// every region's organization work, so its role is assumed once.
    pub admin: Option<Delegated>,
    /// Per region, read before the accounts.
    pub before: HashMap<Region, Before>,
    /// Applying a reviewed change set: only the changes reviewed are made.
    pub reviewed: Option<Reviewed>,
}

/// A region's organization as read before the accounts are entered.
#[derive(Debug, Default)]
pub struct Before {
    /// The delegated admins designated now (None: could not be read).
    pub designated: Option<Vec<AccountId>>,
    /// A rollout's read of the planned admin's side (members and their status, organization
    /// configuration), with the id of the admin detector it was read from: an Enabled member
    /// needs no relationship check in the account, and the organization layer after the
    /// accounts does not read it again.
    pub admin_side: Option<(String, AdminSide)>,
    /// Members' detectors as the delegated admin sees them: a rollout's read before the
    /// accounts, the audit's from its organization layer.
    pub detectors: BTreeMap<AccountId, ObservedDetector>,
    /// A teardown's organization layer failed here: members may still be associated, and
    /// their detectors stay.
    pub organization_failed: bool,
}

/// The plan's delegated admin: the organization layer runs only with one.
pub struct Delegated {
    pub session: AccountSession,
    pub auto_enable: AutoEnable,
}

impl Delegated {
    pub fn account(&self) -> &AccountId {
        &self.session.account
    }
}

impl Context {
    pub fn new(aws: Arc<Aws>, plan: Arc<Plan>, options: Options) -> Self {
        let admin = plan.admin.as_ref().map(|admin| {
            let organization = &plan.organization;
            let session = aws.session(admin.account.get_ref(), &organization.member_role, organization.external_id.as_deref());
            Delegated { session, auto_enable: admin.auto_enable }
        });
        Self { aws, desired: plan.detector.settings(), plan, options, admin, before: HashMap::new(), reviewed: None }
    }

    /// What the run does with what it reads, as the registry's kinds plan it.
    pub fn mode(&self) -> Mode {
        match (&self.options.teardown, self.options.detectors_from_admin) {
            (Some(teardown), _) => Mode::Teardown { prune: teardown.prune_subscriptions },
            (None, true) => Mode::Audit,
            (None, false) => Mode::Rollout { dry_run: self.options.dry_run },
        }
    }

    /// The member role's session in `account` (the admin's shared one for the admin).
    pub fn session(&self, account: &AccountId) -> AccountSession {
        match &self.admin {
            Some(admin) if admin.account() == account => admin.session.clone(),
            _ => {
                let plan = &self.plan.organization;
                self.aws.session(account, &plan.member_role, plan.external_id.as_deref())
            }
        }
    }

    /// The account-region's detector as the delegated admin saw it before the accounts.
    pub fn seen_by_admin(&self, account: &AccountId, region: &Region) -> Option<&ObservedDetector> {
        self.before.get(region)?.detectors.get(account)
    }

    /// Whether the account must be entered: for its wiring, or for a detector the admin
    /// did not see.
    pub fn needs_session(&self, account: &AccountId, regions: &[Region]) -> bool {
        if let Some(teardown) = &self.options.teardown {
            return teardown.enters_accounts(self);
        }
        self.plan.notifications.is_some() || self.plan.exfiltration.is_some() || regions.iter().any(|r| self.seen_by_admin(account, r).is_none())
    }
}

/// Every future's output, in order, each future polled only when it is woken. (`join_all`,
/// below 30 futures, polls every pending one whenever any is woken: an account's 17 regions
/// were each polled at every wake of any of them.)
pub async fn join_ordered<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    futures.into_iter().collect::<futures::stream::FuturesOrdered<_>>().collect().await
}

/// A result with nothing but its status.
pub fn result(target: Target, layer: Layer, status: Status) -> TargetResult {
    TargetResult { target, layer, status, changes: Vec::new(), notes: Vec::new(), detector_read_from: None, unavailable: Vec::new(), coverage: None }
}

/// The status a layer's plan ends with: unchanged, planned (a dry run), stale (not what was
/// reviewed, when a change set is applied), or `execute`'s.
async fn settle(
    cx: &Context,
    target: &Target,
    layer: Layer,
    changes: &[Change],
    execute: impl Future<Output = Result<(), TargetError>>,
) -> Status {
    match &cx.reviewed {
        _ if changes.is_empty() => Status::Unchanged,
        _ if cx.options.dry_run => Status::Planned,
        Some(reviewed) if !reviewed.matches(target, layer, changes) => {
            Status::failed(TargetError::Stale(Stale { reviewed: reviewed.count(target, layer), now: changes.len() }))
        }
        _ => execute.await.map_or_else(Status::failed, |()| Status::Applied),
    }
}
