//! Per account: IAM, which is global. Only with a `[notifications]` plan: the role and
//! policy exist for the EventBridge targets of every region.

use super::{result, settle, Context};
use crate::aws::AccountSession;
use crate::model::{AccountId, Target};
use crate::outcome::{Layer, Status, TargetResult};
use crate::resources::{iam, Change};

/// Whether the plan has anything for this layer in `account`.
pub fn planned(cx: &Context, account: &AccountId) -> bool {
    cx.wiring(account).is_some()
}

pub async fn reconcile(cx: &Context<'_>, session: &AccountSession) -> TargetResult {
    let target = Target { account: session.account, region: None };
    let Some(wiring) = cx.wiring(&session.account) else { return result(target, Layer::Account, Status::Unchanged) };
    let client = session.iam();
    let observed = match client.observe(&wiring.plan.role, &wiring.policy_arn()).await {
        Ok(observed) => observed,
        Err(error) => return result(target, Layer::Account, Status::failed(error)),
    };
    let planned = iam::plan(&wiring, &observed);
    let changes: Vec<Change> = planned.iter().cloned().map(Change::from).collect();
    let status = settle(cx.options.dry_run, &changes, async {
        for change in &planned {
            iam::apply(&client, &wiring, change).await?;
        }
        Ok(())
    })
    .await;
    TargetResult { changes: crate::outcome::shared(changes), ..result(target, Layer::Account, status) }
}
