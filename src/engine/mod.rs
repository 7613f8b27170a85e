//! The driver: accounts as the organization's listing hands them out, a bounded number in
//! flight, one permit per unit of work, a stop flag, the journal and progress. It runs the
//! layers (`crate::layers`) and names no resource kind.
//!
//! Order: the organization as it is before the accounts (in a rollout read while the
//! organization is listed; the audit and the teardown read the whole organization layer
//! first); per account, IAM before its regions; then, in a rollout,
//! the organization layer of every region, once every account has its detector.

mod stop;

use std::sync::Arc;

use futures::future::FutureExt;
use futures::stream::StreamExt;
use tokio::sync::{Semaphore, SemaphorePermit};

pub use stop::Stop;

use crate::aws::AwsError;
use crate::discover::{Discovery, Listed};
use crate::journal::Journal;
use crate::layers::{account, join_ordered, organization, region, result, Context, Delegated};
use crate::model::{AccountId, Region, Target};
use crate::outcome::{Layer, SkipReason, Status, TargetError};
use crate::results::TargetResult;
use crate::progress::Progress;
use crate::resources::registry;

/// What drives one run: the layers' context, the regions, and the machinery around them.
/// Shared by the accounts' tasks, which a multi-threaded runtime runs on every core.
struct Driver {
    cx: Context,
    regions: Vec<Region>,
    permits: Semaphore,
    progress: Arc<Progress>,
    stop: Stop,
    /// Where finished targets are recorded, and (with --resume) found finished earlier.
    journal: Option<Arc<Journal>>,
}

/// Accounts finished between two cleanups of the rate limiters' idle keys.
const FORGET_EVERY: usize = 100;

/// Pages of the organization's accounts (20 account ids each) listed ahead of the work on
/// them: the listing, at the Organizations rate, goes on while the admin's view is read and
/// while accounts work, up to 80,000 accounts ahead.
const PAGES_AHEAD: usize = 4096;

/// Work through the scope as it is discovered: one result per account-region, per account
/// (IAM, or why it could not be entered) and per region for the organization layer.
pub async fn run(
    mut cx: Context,
    discovery: &mut Discovery<'_>,
    concurrency: usize,
    progress: Arc<Progress>,
    stop: Stop,
    journal: Option<Arc<Journal>>,
) -> Vec<TargetResult> {
    let (plan, options) = (Arc::clone(&cx.plan), cx.options);
    let plan = &*plan;
    let regions = discovery.scope.regions.clone();
    let mut results = Vec::new();
    let organization_first = cx.admin.is_some() && (options.detectors_from_admin || options.teardown.is_some());
    if organization_first {
        // The admin's view first, so that accounts are entered only for what it cannot see;
        // a teardown frees the members before their detectors may go.
        cx.before = organization::before(&cx, &regions).await;
        assert!(discovery.is_listed(), "the organization is listed before the admin's view is read");
        let layer = match &cx.admin {
            Some(delegated) => {
                let (cx, scope, stop) = (&cx, &discovery.scope, &stop);
                let layer = regions.iter().map(|region| async move {
                    if stop.is_set() {
                        let target = Target { account: *delegated.account(), region: Some(*region) };
                        return (*region, (result(target, Layer::Organization, Status::Skipped(SkipReason::Interrupted)), None));
                    }
                    let designated = cx.before.get(region).and_then(|b| b.designated.as_deref());
                    (*region, organization::reconcile(cx, delegated, region, scope, &[], designated).await)
                });
                join_ordered(layer).await
            }
            None => Vec::new(),
        };
        for (region, (result, view)) in layer {
            progress.done(&result, 0);
            let before = cx.before.entry(region).or_default();
            before.organization_failed = matches!(result.status, Status::Failed(_));
            if let Some(view) = view {
                before.detectors = view;
            }
            if let Some(journal) = &journal {
                journal.record(std::iter::once(&result));
            }
            results.push(result);
        }
    }
    let (sink, pages) = futures::channel::mpsc::channel(PAGES_AHEAD);
    let listing = discovery.hand_out(sink, {
        let stop = stop.clone();
        move || !stop.is_set()
    });
    let working = async {
        if !organization_first {
            // While the organization is listed: the accounts wait for this, the listing does not.
            cx.before = organization::before(&cx, &regions).await;
        }
        let driver = Arc::new(Driver { cx, regions, permits: Semaphore::new(concurrency), progress, stop, journal });
        let results = driver.accounts(pages, concurrency).await;
        (driver, results)
    };
    let ((), (driver, account_results)) = futures::join!(listing, working);
    results.extend(account_results);
    let scope = &discovery.scope;
    results.extend(scope.skipped.iter().map(|(account, reason)| {
        result(Target { account: *account, region: None }, Layer::Account, Status::Skipped(reason.clone()))
    }));
    if let (Some(delegated), false) = (&driver.cx.admin, organization_first) {
        // A region the others depend on goes first, one that depends on them last.
        let (first, last) = registry::first_and_last(plan, &driver.regions);
        let mut organization = Vec::new();
        let driver = &*driver;
        if let Some(region) = &first {
            organization.push(driver.organization(delegated, region, scope, &results).await);
        }
        let rest = driver.regions.iter().filter(|r| ![first, last].contains(&Some(**r)));
        organization.extend(join_ordered(rest.map(|region| driver.organization(delegated, region, scope, &results))).await);
        if let Some(region) = &last {
            organization.push(driver.organization(delegated, region, scope, &results).await);
        }
        driver.record(&organization);
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

impl Driver {
    /// Every account, as a bounded stream, as soon as ListAccounts lists it; each account's
    /// regions start as soon as its session is there, rather than every AssumeRole first.
    /// Each account is a task of its own, so that a multi-threaded runtime spreads them
    /// over its threads.
    async fn accounts(self: &Arc<Self>, pages: futures::channel::mpsc::Receiver<Listed>, concurrency: usize) -> Vec<TargetResult> {
        let mut results = Vec::new();
        let work = pages.flat_map(|listed| {
            let work = match listed {
                Listed::Accounts(accounts) => {
                    self.progress.add_targets(accounts.len() * self.regions.len());
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
            .map(|account| match account {
                Ok(account) => {
                    let driver = Arc::clone(self);
                    tokio::spawn(async move { driver.account(&account).await })
                        .map(|joined| joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic())))
                        .left_future()
                }
                Err(status) => futures::future::ready(vec![self.unlisted(status)]).right_future(),
            })
            .buffer_unordered(accounts_in_flight(concurrency, self.regions.len()));
        let mut finished = 0usize;
        while let Some(account_results) = work.next().await {
            self.record(&account_results);
            results.extend(account_results);
            finished += 1;
            if finished % FORGET_EVERY == 0 {
                self.cx.aws.forget_idle_limits();
            }
        }
        results
    }

    /// The journal records the target applied or unchanged in the run being resumed.
    fn finished(&self, target: &Target, layer: Layer) -> bool {
        self.journal.as_ref().is_some_and(|journal| journal.finished(target, layer))
    }

    /// Journals what this run did (not what it found finished earlier).
    fn record(&self, results: &[TargetResult]) {
        if let Some(journal) = &self.journal {
            journal.record(results.iter().filter(|r| r.status != Status::Skipped(SkipReason::FinishedEarlier)));
        }
    }

    /// The organization's account list was not read to the end (failed, or the run is
    /// stopping): the accounts listed were worked on, the others were not reached.
    fn unlisted(&self, status: Status) -> TargetResult {
        let unlisted = result(Target { account: self.cx.aws.caller.account, region: None }, Layer::Organization, status);
        self.progress.done(&unlisted, 0);
        unlisted
    }

    /// A permit for one unit of work, or None once the run is stopping.
    async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        let permit = self.permits.acquire().await.expect("the semaphore is never closed");
        (!self.stop.is_set()).then_some(permit)
    }

    /// A target's result: skipped if the resumed run finished it or this one is stopping,
    /// otherwise `work`'s.
    async fn unit(&self, target: Target, work: impl std::future::Future<Output = TargetResult>) -> TargetResult {
        if self.finished(&target, Layer::Account) {
            return result(target, Layer::Account, Status::Skipped(SkipReason::FinishedEarlier));
        }
        match self.permit().await {
            Some(_permit) => work.await,
            None => result(target, Layer::Account, Status::Skipped(SkipReason::Interrupted)),
        }
    }

    async fn account(&self, account: &AccountId) -> Vec<TargetResult> {
        let cx = &self.cx;
        let regions = &self.regions;
        let account_target = Target { account: *account, region: None };
        let iam = account::planned(cx, account);
        let all_finished = (iam.is_none() || self.finished(&account_target, Layer::Account))
            && regions.iter().all(|r| self.finished(&Target { account: *account, region: Some(*r) }, Layer::Account));
        if all_finished {
            let skipped = |region| result(Target { account: *account, region }, Layer::Account, Status::Skipped(SkipReason::FinishedEarlier));
            let results: Vec<TargetResult> =
                iam.as_ref().map(|_| skipped(None)).into_iter().chain(regions.iter().map(|r| skipped(Some(*r)))).collect();
            self.progress.done(&results[0], regions.len());
            return results;
        }
        let session = cx.session(account);
        let entered = match self.permit().await {
            Some(_permit) if cx.needs_session(account, regions) => session.ready().await,
            Some(_permit) => Ok(()),
            None => {
                let interrupted = result(account_target, Layer::Account, Status::Skipped(SkipReason::Interrupted));
                self.progress.done(&interrupted, regions.len());
                return vec![interrupted];
            }
        };
        if let Err(error) = entered {
            // What the admin saw is still judged; the rest of the account could not be read.
            let mut results = vec![result(account_target, Layer::Account, Status::failed(TargetError::Role(error.clone())))];
            self.progress.done(&results[0], regions.len());
            results.extend(regions.iter().filter_map(|r| region::unentered(cx, account, r, &error)));
            return results;
        }
        // IAM first, since the rules' targets and the flow logs use the roles; a teardown removes
        // them first.
        let iam_last = cx.options.teardown.is_some();
        let mut results = Vec::new();
        let mut role_ready = true;
        if let (Some(roles), false) = (&iam, iam_last) {
            let iam = self.unit(account_target.clone(), account::reconcile(cx, &session, roles, true)).await;
            role_ready = !matches!(iam.status, Status::Failed(_));
            self.progress.done(&iam, 0);
            results.push(iam);
        }
        let targets = regions.iter().map(|r| {
            let session = &session;
            async move {
                let target = Target { account: *account, region: Some(*r) };
                let result = self.unit(target, region::reconcile(cx, session, r, role_ready)).await;
                self.progress.done(&result, 1);
                result
            }
        });
        results.extend(join_ordered(targets).await);
        if let (Some(roles), true) = (&iam, iam_last) {
            let regions_done = results.iter().all(|r| !matches!(r.status, Status::Failed(_) | Status::Skipped(SkipReason::Interrupted)));
            let iam = self.unit(account_target, account::reconcile(cx, &session, roles, regions_done)).await;
            self.progress.done(&iam, 0);
            results.push(iam);
        }
        results
    }

    /// A region's organization layer, after the accounts. One finished in the run resumed is
    /// done again only when an account-region of it was worked on in this one (it may need
    /// to become a member).
    async fn organization(&self, delegated: &Delegated, region: &Region, scope: &crate::discover::Scope, results: &[TargetResult]) -> TargetResult {
        let target = Target { account: *delegated.account(), region: Some(*region) };
        let worked_on = || {
            results.iter().any(|r| {
                r.layer == Layer::Account && r.target.region == Some(*region) && r.status != Status::Skipped(SkipReason::FinishedEarlier)
            })
        };
        let result = if self.finished(&target, Layer::Organization) && !worked_on() {
            result(target, Layer::Organization, Status::Skipped(SkipReason::FinishedEarlier))
        } else if self.stop.is_set() {
            result(target, Layer::Organization, Status::Skipped(SkipReason::Interrupted))
        } else {
            organization::reconcile(&self.cx, delegated, region, scope, results, None).await.0
        };
        self.progress.done(&result, 0);
        result
    }
}
