//! The engine: every target observed, diffed and (unless a dry run) changed, concurrently,
//! with a bound on the work in flight. A failure stays with its target and what depends
//! on it: a denied role stops its account, a failed IAM role stops the rule targets that
//! need it, a failed designation stops that region's membership.
//!
//! Order: per account, IAM (global) before its regions; per region, detector, topic,
//! subscriptions, then rules and targets. The organization layer runs after the accounts,
//! so every account has its detector before the admin adds it as a member.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::stream::StreamExt;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::aws::{AccountSession, Aws, AwsError};
use crate::desired::{agent_auto_enable, feature_auto_enable, Wiring};
use crate::diff::{self, Change, DetectorField, OrganizationPlan};
use crate::discover::{Discovery, Listed, Scope};
use crate::journal::Journal;
use crate::model::{AccountId, Agent, DetectorSettings, Feature, Frequency, ObservedDetector, Region, Target};
use crate::outcome::{Layer, ReadFrom, SkipReason, Status, TargetResult};
use crate::plan::Plan;
use crate::progress::Progress;

#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    pub dry_run: bool,
    pub concurrency: usize,
    /// Replace a delegated admin that differs from the plan's (otherwise a conflict).
    pub replace_admin: bool,
    /// Read members' detectors from the delegated admin first (ListMembers,
    /// GetMemberDetectors) and enter an account only for what the admin cannot see.
    pub detectors_from_admin: bool,
    /// Undo invitation-era relationships (leave the old administrator, decline pending
    /// invitations) so that the delegated admin can add the account; otherwise a conflict.
    pub migrate_invitations: bool,
}

/// Accounts per CreateMembers or GetMemberDetectors call: GuardDuty's limit.
const MEMBERS_PER_CALL: usize = 50;

/// Set on Ctrl-C or SIGTERM: no new work starts; calls in flight finish or time out.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag that the first SIGINT or SIGTERM sets; a second one ends the process.
    pub fn on_signals() -> Self {
        let stop = Self::default();
        let flag = stop.0.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut signalled = async || {
                let terminated = async {
                    match term.as_mut() {
                        Some(term) => term.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminated => {}
                }
            };
            signalled().await;
            eprintln!("stopping: no new work starts; waiting for calls in flight (signal again to kill)");
            flag.store(true, Ordering::SeqCst);
            signalled().await;
            std::process::exit(130);
        });
        stop
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What every task of one run shares.
struct Run<'a> {
    aws: &'a Aws,
    plan: &'a Plan,
    regions: Vec<Region>,
    options: RunOptions,
    desired: DetectorSettings,
    permits: Arc<Semaphore>,
    progress: &'a Progress,
    stop: Stop,
    /// The delegated admin's session, shared by its account work and every region's
    /// organization work, so its role is assumed once.
    admin_session: Option<AccountSession>,
    /// Per region, the members' detectors as the delegated admin sees them (audit only).
    admin_views: HashMap<Region, BTreeMap<AccountId, ObservedDetector>>,
    /// Per region, the planned admin's Enabled members, read before the accounts (rollout).
    admin_members: HashMap<Region, BTreeSet<AccountId>>,
    /// Per region, the delegated admins designated now, read before the accounts.
    designated: HashMap<Region, Vec<AccountId>>,
    /// Where finished targets are recorded, and (with --resume) found finished earlier.
    journal: Option<&'a Journal>,
}

/// Accounts finished between two cleanups of the rate limiters' idle keys.
const FORGET_EVERY: usize = 100;

/// Pages of the organization's accounts listed ahead of the work on them.
const PAGES_AHEAD: usize = 32;

/// Work through the scope as it is discovered: one result per account-region, per account
/// (IAM, or why it could not be entered) and per region for the organization layer.
pub async fn run(
    aws: &Aws,
    plan: &Plan,
    discovery: &mut Discovery<'_>,
    options: RunOptions,
    progress: &Progress,
    stop: Stop,
    journal: Option<&Journal>,
) -> Vec<TargetResult> {
    let mut run = Run {
        aws,
        plan,
        regions: discovery.scope.regions.clone(),
        options,
        desired: plan.detector.settings(),
        permits: Arc::new(Semaphore::new(options.concurrency)),
        progress,
        stop,
        admin_session: plan.admin.as_ref().map(|admin| {
            let organization = &plan.organization;
            aws.session(admin.account.get_ref(), &organization.member_role, organization.external_id.as_deref())
        }),
        admin_views: HashMap::new(),
        admin_members: HashMap::new(),
        designated: HashMap::new(),
        journal,
    };
    let organization_first = plan.admin.is_some() && options.detectors_from_admin;
    if plan.admin.is_some() {
        run.designated = run.designated().await;
    }
    let mut results = Vec::new();
    if organization_first {
        // The admin's view first, so that accounts are entered only for what it cannot see.
        assert!(discovery.is_listed(), "the organization is listed before the admin's view is read");
        let scope = &discovery.scope;
        let layer = futures::future::join_all(run.regions.iter().map(|region| run.organization(region, scope, &[]))).await;
        for (result, view) in layer {
            run.admin_views.extend(view.map(|view| (result.target.region.expect("a region's result"), view)));
            results.push(result);
        }
    } else if plan.admin.is_some() {
        run.admin_members = run.enabled_members().await;
    }
    let run = &run;
    // Accounts enter as a bounded stream, as soon as ListAccounts lists them; each account's
    // regions start as soon as its session is there, rather than every AssumeRole going first.
    let (sink, pages) = futures::channel::mpsc::channel(PAGES_AHEAD);
    let listing = discovery.hand_out(sink, || !run.stop.is_set());
    let working = async {
        let mut results = Vec::new();
        let work = pages.flat_map(|listed| {
            let work = match listed {
                Listed::Accounts(accounts) => {
                    progress.add_targets(accounts.len() * run.regions.len());
                    accounts.into_iter().map(Ok).collect()
                }
                Listed::Failed(error) => {
                    let message = format!("{}; accounts not listed yet were not visited", error.message);
                    vec![Err(Status::failed(AwsError { message, ..error }))]
                }
                Listed::Stopped => vec![Err(Status::Skipped(SkipReason::Interrupted))],
            };
            futures::stream::iter(work)
        });
        let mut work = work
            .map(|account| async move {
                match account {
                    Ok(account) => run.account(&account).await,
                    Err(status) => vec![run.unlisted(status)],
                }
            })
            .buffer_unordered(accounts_in_flight(options.concurrency, run.regions.len()));
        let mut finished = 0usize;
        while let Some(account_results) = work.next().await {
            run.record(&account_results);
            results.extend(account_results);
            finished += 1;
            if finished % FORGET_EVERY == 0 {
                aws.forget_idle_limits();
            }
        }
        results
    };
    let ((), account_results) = futures::join!(listing, working);
    results.extend(account_results);
    let scope = &discovery.scope;
    results.extend(scope.skipped.iter().map(|(account, reason)| {
        result(Target { account: *account, region: None }, Status::Skipped(reason.clone()), vec![])
    }));
    if plan.admin.is_some() && !organization_first {
        // An account cannot be a member where it has not enabled the region, nor while an
        // invitation-era administrator holds it.
        let not_enabled: Vec<(AccountId, Region)> = results
            .iter()
            .filter(|r| match &r.status {
                Status::Skipped(SkipReason::RegionNotEnabled) => true,
                Status::Failed(error) => error.code == crate::aws::LEGACY_ADMINISTRATOR,
                _ => false,
            })
            .filter_map(|r| Some((r.target.account, r.target.region?)))
            .collect();
        // A region's organization layer finished in the run resumed is done again only when
        // an account-region of it was worked on in this one (it may need to become a member).
        let worked_on: Vec<&Region> = results
            .iter()
            .filter(|r| r.layer == Layer::Account && r.status != Status::Skipped(SkipReason::FinishedEarlier))
            .filter_map(|r| r.target.region.as_ref())
            .collect();
        let (not_enabled, worked_on) = (&not_enabled, &worked_on);
        let organization = run.regions.iter().map(|region| async move {
            let target = Target { account: *plan.admin.as_ref().expect("checked").account.get_ref(), region: Some(*region) };
            if run.finished(&target, Layer::Organization) && !worked_on.contains(&region) {
                let result = TargetResult { layer: Layer::Organization, ..result(target, Status::Skipped(SkipReason::FinishedEarlier), vec![]) };
                run.progress.done(&result, 0);
                return result;
            }
            run.organization(region, scope, not_enabled).await.0
        });
        let organization = futures::future::join_all(organization).await;
        run.record(&organization);
        results.extend(organization);
    }
    // One result per (target, layer): the order is total, and unstable sorting needs no buffer.
    results.sort_unstable_by(|a, b| (&a.target, a.layer).cmp(&(&b.target, b.layer)));
    results
}

/// Accounts worked on at once: enough region tasks to keep `concurrency` calls busy twice
/// over, not more; each waiting task holds its state (5000 accounts x 17 regions would
/// otherwise keep 256 accounts' 17 regions each waiting for a permit).
fn accounts_in_flight(concurrency: usize, regions: usize) -> usize {
    (2 * concurrency).div_ceil(regions.max(1)).max(2)
}

fn result(target: Target, status: Status, changes: Vec<Change>) -> TargetResult {
    TargetResult { target, layer: Layer::Account, status, changes: crate::outcome::shared(changes), notes: Vec::new(), detector_read_from: None, unavailable: Vec::new() }
}

/// Applies changes in order; the first failure ends the target with what was planned.
async fn apply_all<'c, F, Fut>(dry_run: bool, changes: &'c [Change], mut apply: F) -> Status
where
    F: FnMut(&'c Change) -> Fut,
    Fut: std::future::Future<Output = Result<(), AwsError>>,
{
    if changes.is_empty() {
        return Status::Unchanged;
    }
    if dry_run {
        return Status::Planned;
    }
    for change in changes {
        if let Err(error) = apply(change).await {
            return Status::failed(error);
        }
    }
    Status::Applied
}

impl Run<'_> {
    /// Per region, the planned admin's Enabled members as it lists them now; a region it
    /// cannot be read in (no detector yet, say) is left out.
    async fn enabled_members(&self) -> HashMap<Region, BTreeSet<AccountId>> {
        let admin = self.admin_session.as_ref().expect("called with an admin plan");
        let read = self.regions.iter().map(|region| async move {
            let guardduty = admin.guardduty(region);
            let detector = guardduty.find_detector().await.ok().flatten()?;
            Some((*region, guardduty.enabled_members(&detector.id).await.ok()?))
        });
        futures::future::join_all(read).await.into_iter().flatten().collect()
    }

    /// Per region, the delegated admins designated now, as the management account lists them.
    async fn designated(&self) -> HashMap<Region, Vec<AccountId>> {
        let management = self.aws.session(&self.aws.caller.account, "", None);
        let read = self.regions.iter().map(|region| {
            let management = &management;
            async move { Some((*region, management.guardduty(region).list_admins().await.ok()?)) }
        });
        futures::future::join_all(read).await.into_iter().flatten().collect()
    }

    /// The account is an Enabled member of the planned admin in the region, as far as the
    /// admin's lists read before the accounts show.
    fn is_member(&self, account: &AccountId, region: &Region) -> bool {
        self.seen_by_admin(account, region).is_some() || self.admin_members.get(region).is_some_and(|m| m.contains(account))
    }

    /// The journal records the target applied or unchanged in the run being resumed.
    fn finished(&self, target: &Target, layer: Layer) -> bool {
        self.journal.is_some_and(|journal| journal.finished(target, layer))
    }

    /// Journals what this run did (not what it found finished earlier).
    fn record(&self, results: &[TargetResult]) {
        if let Some(journal) = self.journal {
            journal.record(results.iter().filter(|r| r.status != Status::Skipped(SkipReason::FinishedEarlier)));
        }
    }

    /// The organization's account list was not read to the end (failed, or the run is
    /// stopping): the accounts listed were worked on, the others were not reached.
    fn unlisted(&self, status: Status) -> TargetResult {
        let target = Target { account: self.aws.caller.account, region: None };
        let unlisted = TargetResult { layer: Layer::Organization, ..result(target, status, vec![]) };
        self.progress.done(&unlisted, 0);
        unlisted
    }

    /// A permit for one unit of work, or None once the run is stopping.
    async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        let permit = self.permits.acquire().await.expect("the semaphore is never closed");
        (!self.stop.is_set()).then_some(permit)
    }

    fn wiring<'w>(&'w self, account: &'w AccountId) -> Option<Wiring<'w>> {
        let plan = self.plan.notifications.as_ref()?;
        Some(Wiring { plan, account, partition: self.aws.caller.partition })
    }

    fn session(&self, account: &AccountId) -> AccountSession {
        match &self.admin_session {
            Some(session) if session.account == *account => session.clone(),
            _ => {
                let plan = &self.plan.organization;
                self.aws.session(account, &plan.member_role, plan.external_id.as_deref())
            }
        }
    }

    /// The account-region's detector as the delegated admin saw it, if it did.
    fn seen_by_admin(&self, account: &AccountId, region: &Region) -> Option<&ObservedDetector> {
        self.admin_views.get(region)?.get(account)
    }

    async fn account(&self, account: &AccountId) -> Vec<TargetResult> {
        let session = self.session(account);
        let regions = &self.regions;
        let account_target = Target { account: *account, region: None };
        let region_targets: Vec<Target> = regions.iter().map(|r| Target { account: *account, region: Some(*r) }).collect();
        let iam_finished = self.wiring(account).is_none() || self.finished(&account_target, Layer::Account);
        if iam_finished && region_targets.iter().all(|t| self.finished(t, Layer::Account)) {
            let skipped = |target: &Target| result(target.clone(), Status::Skipped(SkipReason::FinishedEarlier), vec![]);
            let results: Vec<TargetResult> =
                self.wiring(account).map(|_| skipped(&account_target)).into_iter().chain(region_targets.iter().map(skipped)).collect();
            self.progress.done(&results[0], regions.len());
            return results;
        }
        let enter = self.plan.notifications.is_some() || regions.iter().any(|r| self.seen_by_admin(account, r).is_none());
        let entered = match self.permit().await {
            Some(_permit) if enter => session.ready().await,
            Some(_permit) => Ok(()),
            None => {
                let interrupted = result(account_target, Status::Skipped(SkipReason::Interrupted), vec![]);
                self.progress.done(&interrupted, regions.len());
                return vec![interrupted];
            }
        };
        if let Err(error) = entered {
            // What the admin saw is still judged; the rest of the account could not be read.
            let mut results = vec![result(account_target, Status::failed(error.clone()), vec![])];
            self.progress.done(&results[0], regions.len());
            for region in regions {
                if let Some(detector) = self.seen_by_admin(account, region) {
                    let target = Target { account: *account, region: Some(*region) };
                    let changes = diff::detector(&self.desired, Some(detector)).into_iter().collect();
                    let read = TargetResult {
                        detector_read_from: Some(ReadFrom::DelegatedAdmin),
                        unavailable: diff::unavailable(&self.desired, detector),
                        ..result(target, Status::failed(error.clone()), changes)
                    };
                    results.push(read);
                }
            }
            return results;
        }
        let mut results = Vec::new();
        let mut role_ready = true;
        if let Some(wiring) = self.wiring(account) {
            let iam = match self.permit().await {
                _ if self.finished(&account_target, Layer::Account) => {
                    result(account_target, Status::Skipped(SkipReason::FinishedEarlier), vec![])
                }
                Some(_permit) => self.iam(&session, &wiring, account_target).await,
                None => result(account_target, Status::Skipped(SkipReason::Interrupted), vec![]),
            };
            role_ready = !matches!(iam.status, Status::Failed(_));
            self.progress.done(&iam, 0);
            results.push(iam);
        }
        let session = &session;
        let targets = regions.iter().zip(region_targets).map(|(region, target)| async move {
            let result = match self.permit().await {
                _ if self.finished(&target, Layer::Account) => result(target, Status::Skipped(SkipReason::FinishedEarlier), vec![]),
                Some(_permit) => self.region(session, target, region, role_ready).await,
                None => result(target, Status::Skipped(SkipReason::Interrupted), vec![]),
            };
            self.progress.done(&result, 1);
            result
        });
        results.extend(futures::future::join_all(targets).await);
        results
    }

    async fn iam(&self, session: &AccountSession, wiring: &Wiring<'_>, target: Target) -> TargetResult {
        let iam = session.iam();
        let observed = match iam.observe(&wiring.plan.role, &wiring.policy_arn()).await {
            Ok(observed) => observed,
            Err(error) => return result(target, Status::failed(error), vec![]),
        };
        let changes = diff::iam(wiring, &observed);
        let (role, policy_arn) = (&wiring.plan.role, wiring.policy_arn());
        let trust = wiring.trust_policy().to_string();
        let document = wiring.publish_policy().to_string();
        let status = apply_all(self.options.dry_run, &changes, |change| {
            let (iam, trust, document, policy_arn) = (&iam, &trust, &document, &policy_arn);
            async move {
                match change {
                    Change::CreateRole { .. } => iam.create_role(role, trust).await,
                    Change::UpdateRoleTrust { .. } => iam.update_trust(role, trust).await,
                    Change::CreatePolicy { policy } => iam.create_policy(policy, document).await,
                    Change::UpdatePolicy { delete_version, .. } => {
                        iam.new_policy_version(policy_arn, document, delete_version.as_deref()).await
                    }
                    Change::AttachPolicy { .. } => iam.attach(role, policy_arn).await,
                    other => unreachable!("not an IAM change: {other:?}"),
                }
            }
        })
        .await;
        result(target, status, changes)
    }

    /// Observe everything in the account-region, diff, then apply in dependency order.
    async fn region(&self, session: &AccountSession, target: Target, region: &Region, role_ready: bool) -> TargetResult {
        let guardduty = session.guardduty(region);
        let (detector, read_from) = match self.seen_by_admin(&target.account, region) {
            Some(detector) => (Some(detector.clone()), ReadFrom::DelegatedAdmin),
            None => match guardduty.find_detector().await {
                Ok(detector) => (detector, ReadFrom::Account),
                Err(error) if error.is_region_not_enabled() => {
                    return result(target, Status::Skipped(SkipReason::RegionNotEnabled), vec![])
                }
                Err(error) => return result(target, Status::failed(error), vec![]),
            },
        };
        let detector_read_from = Some(read_from);
        let mut changes: Vec<Change> = diff::detector(&self.desired, detector.as_ref()).into_iter().collect();
        let unavailable = detector.as_ref().map_or_else(Vec::new, |d| diff::unavailable(&self.desired, d));
        let mut notes: Vec<String> =
            unavailable.iter().map(|f| format!("{f}: GuardDuty does not offer it in {region}; left out")).collect();
        let wiring = self.wiring(&target.account);
        let (sns, events) = (session.sns(region), session.events(region));
        if let Some(wiring) = &wiring {
            let observed = async {
                let topic = sns.find_topic(&wiring.topic_arn(region)).await?;
                let mut rules = Vec::new();
                for rule in &wiring.plan.rules {
                    rules.push(events.find_rule(rule.name.get_ref()).await?);
                }
                Ok::<_, AwsError>((topic, rules))
            };
            let (topic, rules) = match observed.await {
                Ok(observed) => observed,
                Err(error) => {
                    return TargetResult { notes, detector_read_from, unavailable, ..result(target, Status::failed(error), changes) }
                }
            };
            let (topic_changes, topic_notes) = diff::topic(wiring, region, topic.as_ref());
            changes.extend(topic_changes);
            notes.extend(topic_notes);
            for (rule, observed) in wiring.plan.rules.iter().zip(&rules) {
                changes.extend(diff::rule(wiring, region, rule, observed.as_ref()));
            }
        }
        // Invitation-era relationships, looked for where an account has a detector and is
        // not already an Enabled member of the planned admin, in a region whose designated
        // admins could be read (without them an organization member would look invited).
        // A check that cannot be made is a note: the admin's CreateMembers still says why an
        // account cannot join.
        let mut conflict = None;
        if let (Some(admin), Some(detector), Some(designated)) = (&self.plan.admin, &detector, self.designated.get(region)) {
            let admin = admin.account.get_ref();
            if target.account != *admin && !self.is_member(&target.account, region) {
                match guardduty.relationship(&detector.id).await {
                    Ok(relationship) => {
                        match diff::relationship(admin, designated, &relationship, self.options.migrate_invitations) {
                            Ok(migration) => changes.extend(migration),
                            Err(message) => conflict = Some(message),
                        }
                    }
                    Err(error) => notes.push(format!("invitation-era relationships not checked: {error}")),
                }
            }
        }
        let status = apply_all(self.options.dry_run, &changes, |change| {
            let (guardduty, sns, events, wiring, detector) = (&guardduty, &sns, &events, wiring.as_ref(), detector.as_ref());
            async move {
                match change {
                    Change::CreateDetector { settings } => create_detector(guardduty, settings).await,
                    Change::UpdateDetector { detector_id, fields } => {
                        let (enable, frequency, features, agents) = detector_update(fields);
                        guardduty.update_detector(detector_id, enable, frequency, &features, &agents).await
                    }
                    Change::LeaveAdministrator { .. } => {
                        guardduty.leave_administrator(&detector.expect("checked where it has a detector").id).await
                    }
                    Change::DeclineInvitations { from } => guardduty.decline_invitations(from).await,
                    _ => {
                        let wiring = wiring.expect("wiring changes come from a wiring plan");
                        self.apply_wiring(sns, events, wiring, region, change, role_ready).await
                    }
                }
            }
        })
        .await;
        let status = match (status, conflict) {
            (Status::Failed(error), _) => Status::Failed(error),
            (_, Some(message)) => Status::failed(AwsError {
                operation: "guardduty:GetAdministratorAccount",
                code: crate::aws::LEGACY_ADMINISTRATOR.into(),
                message,
            }),
            (status, None) => status,
        };
        TargetResult { notes, detector_read_from, unavailable, ..result(target, status, changes) }
    }

    async fn apply_wiring(
        &self,
        sns: &crate::aws::Sns,
        events: &crate::aws::Events,
        wiring: &Wiring<'_>,
        region: &Region,
        change: &Change,
        role_ready: bool,
    ) -> Result<(), AwsError> {
        let topic = wiring.topic_arn(region);
        match change {
            Change::CreateTopic { topic: name } => {
                let policy = wiring.topic_policy(region).to_string();
                sns.create_topic(name, wiring.display_name(), &policy, &wiring.plan.tags).await.map(drop)
            }
            Change::SetTopicAttribute { attribute, .. } => {
                let value = match *attribute {
                    "Policy" => wiring.topic_policy(region).to_string(),
                    _ => wiring.display_name().to_owned(),
                };
                sns.set_attribute(&topic, attribute, &value).await
            }
            Change::TagTopic { tags, .. } => sns.tag(&topic, tags).await,
            Change::Subscribe { protocol, endpoint } => sns.subscribe(&topic, protocol, endpoint).await,
            Change::Unsubscribe { subscription_arn, .. } => sns.unsubscribe(subscription_arn).await,
            Change::PutRule { rule, .. } => {
                let pattern = self.rule_pattern(wiring, rule);
                events.put_rule(rule, &pattern).await
            }
            Change::PutTarget { rule, target_id } if role_ready => {
                events.put_target(rule, target_id, &topic, &wiring.role_arn()).await
            }
            Change::PutTarget { .. } => Err(AwsError {
                operation: "events:PutTargets",
                code: "DependencyFailed".into(),
                message: format!("the IAM role {} could not be made ready in this account", wiring.plan.role),
            }),
            other => unreachable!("not a wiring change: {other:?}"),
        }
    }

    fn rule_pattern(&self, wiring: &Wiring<'_>, name: &str) -> String {
        let rule = wiring.plan.rules.iter().find(|r| r.name.get_ref() == name).expect("a planned rule");
        rule.event_pattern.0.to_string()
    }

    /// The delegated admin in one region: designation (management account), then the
    /// admin's detector, organization configuration and members. With
    /// `detectors_from_admin`, also the members' detectors as the admin sees them.
    async fn organization(
        &self,
        region: &Region,
        scope: &Scope,
        not_enabled: &[(AccountId, Region)],
    ) -> (TargetResult, Option<BTreeMap<AccountId, ObservedDetector>>) {
        let admin_plan = self.plan.admin.as_ref().expect("called with an admin plan");
        let admin = admin_plan.account.get_ref();
        let target = Target { account: *admin, region: Some(*region) };
        let mut changes = Vec::new();
        let mut view = None;
        let in_layer = |target, status, changes| TargetResult { layer: Layer::Organization, ..result(target, status, changes) };
        if self.stop.is_set() {
            return (in_layer(target, Status::Skipped(SkipReason::Interrupted), changes), None);
        }
        let members = scope
            .accounts
            .iter()
            .filter(|a| *a != admin && !not_enabled.iter().any(|(na, nr)| na == *a && nr == region))
            .cloned()
            .collect();
        let admin_region_off = not_enabled.iter().any(|(a, r)| a == admin && r == region);
        let status = if admin_region_off {
            Status::Skipped(SkipReason::RegionNotEnabled)
        } else {
            match self.organization_changes(region, scope, admin_plan, members, &mut changes, &mut view).await {
                Err(error) if error.is_region_not_enabled() => Status::Skipped(SkipReason::RegionNotEnabled),
                Err(error) => Status::failed(error),
                Ok(()) if changes.is_empty() => Status::Unchanged,
                Ok(()) if self.options.dry_run => Status::Planned,
                Ok(()) => Status::Applied,
            }
        };
        let result = in_layer(target, status, changes);
        self.progress.done(&result, 0);
        (result, view)
    }

    /// Records each change in `changes` as it is found, and applies it unless a dry run.
    async fn organization_changes(
        &self,
        region: &Region,
        scope: &Scope,
        admin_plan: &crate::plan::Admin,
        members: Vec<AccountId>,
        changes: &mut Vec<Change>,
        view: &mut Option<BTreeMap<AccountId, ObservedDetector>>,
    ) -> Result<(), AwsError> {
        let admin = admin_plan.account.get_ref();
        let dry_run = self.options.dry_run;
        let organization = OrganizationPlan {
            admin,
            auto_enable: admin_plan.auto_enable.to_string(),
            feature_auto_enable: feature_auto_enable(self.plan.detector.features.get_ref(), admin_plan.auto_enable),
            agent_auto_enable: agent_auto_enable(&self.desired, admin_plan.auto_enable),
            members,
        };
        // The admin's own detector first: designation and membership need it.
        let guardduty = self.admin_session.as_ref().expect("set with an admin plan").guardduty(region);
        let admin_detector = guardduty.find_detector().await?;
        let mut detector_id = admin_detector.as_ref().map(|d| d.id.clone());
        if detector_id.is_none() && !scope.admin_is_target {
            // An admin outside this run's accounts gets its detector here.
            changes.push(Change::CreateDetector { settings: self.desired.clone() });
            if !dry_run {
                detector_id = Some(guardduty.create_detector(&self.desired).await?);
            }
        } else if detector_id.is_none() && !dry_run {
            return Err(AwsError {
                operation: "guardduty:ListDetectors",
                code: "DependencyFailed".into(),
                message: format!("the admin {admin} has no detector in {region} (see its account result)"),
            });
        }

        let management = self.aws.session(&self.aws.caller.account, "", None).guardduty(region);
        let admins = management.list_admins().await?;
        let designation = diff::designation(&organization, &admins, self.options.replace_admin).map_err(|conflict| AwsError {
            operation: "guardduty:ListOrganizationAdminAccounts",
            code: crate::aws::ADMIN_CONFLICT.into(),
            message: format!(
                "{} is the delegated admin here, the plan names {admin}; left alone (--replace-admin replaces it)",
                conflict.current
            ),
        })?;
        if let Some(change) = designation {
            changes.push(change.clone());
            match change {
                _ if dry_run => {}
                Change::ReplaceAdmin { from, to } => {
                    management.disable_admin(&from).await?;
                    management.enable_admin(&to).await?;
                }
                Change::EnableAdmin { account } => management.enable_admin(&account).await?,
                other => unreachable!("not a designation: {other:?}"),
            }
        }
        // In a dry run an admin not designated yet, or without a detector, has nothing to read.
        let side = match &detector_id {
            Some(id) if !dry_run || changes.is_empty() => Some(guardduty.admin_side(id).await?),
            _ => None,
        };
        let organization_changes = diff::organization(&organization, side.as_ref());
        changes.extend(organization_changes.iter().cloned());
        if let (true, Some(side), Some(admin_detector)) = (self.options.detectors_from_admin, &side, &admin_detector) {
            *view = Some(self.member_detectors(&guardduty, admin_detector, side, &organization.members).await?);
        }
        let Some(detector_id) = detector_id.filter(|_| !dry_run) else { return Ok(()) };
        for change in &organization_changes {
            match change {
                // AWS wants the members' mode in every update, even when only a feature differs.
                Change::UpdateOrganization { features, agents, .. } => {
                    guardduty.update_organization(&detector_id, &organization.auto_enable, features, agents).await?
                }
                Change::CreateMembers { accounts } => self.create_members(&guardduty, &detector_id, accounts, &scope.emails).await?,
                other => unreachable!("not an organization change: {other:?}"),
            }
        }
        Ok(())
    }

    /// The detectors of the planned members that are Enabled members, as the admin sees
    /// them: features from GetMemberDetectors (50 accounts a call); the finding frequency
    /// is the admin's, which members inherit.
    async fn member_detectors(
        &self,
        guardduty: &crate::aws::GuardDuty,
        admin_detector: &ObservedDetector,
        side: &crate::model::AdminSide,
        members: &[AccountId],
    ) -> Result<BTreeMap<AccountId, ObservedDetector>, AwsError> {
        let enabled: Vec<AccountId> =
            members.iter().filter(|a| side.members.get(*a).is_some_and(|status| status == "Enabled")).cloned().collect();
        let mut seen = BTreeMap::new();
        for batch in enabled.chunks(MEMBERS_PER_CALL) {
            for (account, detector) in guardduty.member_detectors(&admin_detector.id, batch).await?.features {
                let Some(id) = side.member_detectors.get(&account) else { continue };
                let detector = ObservedDetector { id: id.clone(), frequency: admin_detector.frequency, ..detector };
                seen.insert(account, detector);
            }
        }
        Ok(seen)
    }

    /// CreateMembers in batches of 50, then checked: ListMembers shows every one Enabled and
    /// GetMemberDetectors sees every one's detector.
    async fn create_members(
        &self,
        guardduty: &crate::aws::GuardDuty,
        detector_id: &str,
        accounts: &[AccountId],
        emails: &BTreeMap<AccountId, String>,
    ) -> Result<(), AwsError> {
        let mut unprocessed = Vec::new();
        for batch in accounts.chunks(MEMBERS_PER_CALL) {
            let details: Vec<_> =
                batch.iter().map(|a| (*a, emails.get(a).cloned().unwrap_or_default())).collect();
            unprocessed.extend(guardduty.create_members(detector_id, &details).await?);
        }
        let members = guardduty.admin_side(detector_id).await?.members;
        let mut problems: Vec<String> = accounts
            .iter()
            .filter(|a| members.get(*a).is_none_or(|status| status != "Enabled"))
            .map(|a| {
                let reason = unprocessed.iter().find(|(id, _)| id == a.as_str()).map_or("not Enabled after CreateMembers", |(_, r)| r);
                format!("{a}: {reason}")
            })
            .collect();
        for batch in accounts.chunks(MEMBERS_PER_CALL) {
            for (account, reason) in guardduty.member_detectors(detector_id, batch).await?.unprocessed {
                problems.push(format!("{account}: the admin sees no detector: {reason}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AwsError { operation: "guardduty:CreateMembers", code: "UnprocessedAccounts".into(), message: problems.join("; ") })
        }
    }
}

/// CreateDetector with the planned features; if GuardDuty refuses the request (a feature
/// it does not offer in the region), the detector is created without features and then
/// given those that GuardDuty lists for it.
async fn create_detector(guardduty: &crate::aws::GuardDuty, settings: &DetectorSettings) -> Result<(), AwsError> {
    match guardduty.create_detector(settings).await {
        Err(error) if error.code == "BadRequestException" && !settings.features.is_empty() => {
            let bare = DetectorSettings { features: BTreeMap::new(), agents: BTreeMap::new(), ..settings.clone() };
            let detector_id = guardduty.create_detector(&bare).await?;
            let Some(created) = guardduty.find_detector().await? else { return Err(error) };
            let offered = |f: &Feature| created.features.contains_key(f);
            let features = settings.features.iter().filter(|(f, _)| offered(f)).map(|(f, on)| (*f, *on)).collect();
            let agents = settings
                .agents_by_feature()
                .into_iter()
                .filter(|(f, _)| offered(f))
                .map(|(f, mut agents)| {
                    let listed = created.agents.get(&f).filter(|l| !l.is_empty());
                    agents.retain(|a, _| listed.is_none_or(|l| l.contains_key(a)));
                    (f, agents)
                })
                .collect();
            guardduty.update_detector(&detector_id, None, None, &features, &agents).await
        }
        other => other.map(drop),
    }
}

type DetectorUpdate = (Option<bool>, Option<Frequency>, BTreeMap<Feature, bool>, BTreeMap<Feature, BTreeMap<Agent, bool>>);

fn detector_update(fields: &[DetectorField]) -> DetectorUpdate {
    let mut update: DetectorUpdate = Default::default();
    for field in fields {
        match *field {
            DetectorField::Enable { to, .. } => update.0 = Some(to),
            DetectorField::Frequency { to, .. } => update.1 = Some(to),
            DetectorField::Feature { feature, to, .. } => {
                update.2.insert(feature, to);
            }
            DetectorField::Agent { feature, agent, to, .. } => {
                update.3.entry(feature).or_default().insert(agent, to);
                // The feature's status goes with its agents (the plan has it on): GuardDuty
                // does not say what an entry without one means.
                update.2.entry(feature).or_insert(true);
            }
        }
    }
    update
}
