//! The engine: every target observed, diffed and (unless a dry run) changed, concurrently,
//! with a bound on the calls in flight. A failure stays with its target.

use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Semaphore;

use crate::aws::{AccountSession, Aws, GuardDuty};
use crate::diff::{self, Change, DetectorField};
use crate::discover::Scope;
use crate::model::{DetectorSettings, Region, Target};
use crate::outcome::{SkipReason, Status, TargetResult};
use crate::plan::Plan;
use crate::progress::Progress;

#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    pub dry_run: bool,
    pub concurrency: usize,
}

/// Work through the scope; one result per target, and one per account that could not
/// be entered (skipped, or its role denied).
pub async fn run(aws: &Aws, plan: &Plan, scope: &Scope, options: RunOptions, progress: &Progress) -> Vec<TargetResult> {
    let mut results: Vec<TargetResult> = scope
        .skipped
        .iter()
        .map(|(account, reason)| TargetResult {
            target: Target { account: account.clone(), region: None },
            status: Status::Skipped(reason.clone()),
            changes: Vec::new(),
        })
        .collect();
    let permits = Arc::new(Semaphore::new(options.concurrency));
    let desired = plan.detector.settings();
    let role = &plan.organization.member_role;
    let external_id = plan.organization.external_id.as_deref();

    let mut accounts: FuturesUnordered<_> = scope
        .accounts
        .iter()
        .map(|account| {
            let session = aws.session(account, role, external_id);
            let (permits, desired) = (permits.clone(), &desired);
            async move { reconcile_account(&session, &scope.regions, desired, options.dry_run, &permits, progress).await }
        })
        .collect();
    while let Some(account_results) = accounts.next().await {
        results.extend(account_results);
    }
    results.sort_by(|a, b| a.target.cmp(&b.target));
    results
}

async fn reconcile_account(
    session: &AccountSession,
    regions: &[Region],
    desired: &DetectorSettings,
    dry_run: bool,
    permits: &Semaphore,
    progress: &Progress,
) -> Vec<TargetResult> {
    let entered = {
        let _permit = permits.acquire().await.expect("the semaphore is never closed");
        session.ready().await
    };
    if let Err(error) = entered {
        let result = TargetResult {
            target: Target { account: session.account.clone(), region: None },
            status: Status::Failed(error),
            changes: Vec::new(),
        };
        progress.account_failed(&result, regions.len());
        return vec![result];
    }
    let targets = regions.iter().map(|region| async move {
        let _permit = permits.acquire().await.expect("the semaphore is never closed");
        let target = Target { account: session.account.clone(), region: Some(region.clone()) };
        let result = reconcile_target(target, session.guardduty(region), desired, dry_run).await;
        progress.target_done(&result);
        result
    });
    futures::future::join_all(targets).await
}

/// Observe, diff, act for one account-region.
async fn reconcile_target(target: Target, guardduty: GuardDuty, desired: &DetectorSettings, dry_run: bool) -> TargetResult {
    let finish = |status, changes| TargetResult { target: target.clone(), status, changes };
    let observed = match guardduty.find_detector().await {
        Ok(observed) => observed,
        Err(error) if error.is_region_not_enabled() => {
            return finish(Status::Skipped(SkipReason::RegionNotEnabled), Vec::new())
        }
        Err(error) => return finish(Status::Failed(error), Vec::new()),
    };
    let changes: Vec<Change> = diff::detector(desired, observed.as_ref()).into_iter().collect();
    if changes.is_empty() {
        return finish(Status::Unchanged, changes);
    }
    if dry_run {
        return finish(Status::Planned, changes);
    }
    for change in &changes {
        if let Err(error) = apply(&guardduty, change).await {
            return finish(Status::Failed(error), changes);
        }
    }
    finish(Status::Applied, changes)
}

async fn apply(guardduty: &GuardDuty, change: &Change) -> Result<(), crate::aws::AwsError> {
    match change {
        Change::CreateDetector { settings } => guardduty.create_detector(settings).await.map(drop),
        Change::UpdateDetector { detector_id, fields } => {
            let mut enable = None;
            let mut frequency = None;
            let mut features = std::collections::BTreeMap::new();
            for field in fields {
                match *field {
                    DetectorField::Enable { to, .. } => enable = Some(to),
                    DetectorField::Frequency { to, .. } => frequency = Some(to),
                    DetectorField::Feature { feature, to, .. } => {
                        features.insert(feature, to);
                    }
                }
            }
            guardduty.update_detector(detector_id, enable, frequency, &features).await
        }
    }
}
