//! Per account: IAM, which is global. Only with a `[notifications]` plan: the role and
//! policy exist for the EventBridge targets of every region.

use super::{result, settle, Context};
use crate::aws::AccountSession;
use crate::desired::Wiring;
use crate::model::{AccountId, Target};
use crate::outcome::{Layer, Status, TargetResult};
use crate::resources::{iam, Change};

/// What the plan asks of this layer in `account`, if anything.
pub fn planned<'a>(cx: &'a Context, account: &'a AccountId) -> Option<Wiring<'a>> {
    cx.wiring(account).filter(|_| cx.options.teardown.is_none_or(|t| t.iam))
}

/// `regions_done`: a teardown's regions removed their rules (which use the role).
pub async fn reconcile(cx: &Context<'_>, session: &AccountSession, wiring: &Wiring<'_>, regions_done: bool) -> TargetResult {
    if cx.options.teardown.is_some() {
        return super::teardown::account(cx, session, wiring, regions_done).await;
    }
    let target = Target { account: session.account, region: None };
    let client = session.iam();
    let observed = match client.observe(&wiring.plan.role, &wiring.policy_arn()).await {
        Ok(observed) => observed,
        Err(error) => return result(target, Layer::Account, Status::failed(error)),
    };
    let planned = iam::plan(wiring, &observed);
    let changes: Vec<Change> = planned.iter().cloned().map(Change::from).collect();
    let status = settle(cx, &target, Layer::Account, &changes, async {
        for change in &planned {
            iam::apply(&client, wiring, change).await?;
        }
        Ok(())
    })
    .await;
    TargetResult { changes: crate::outcome::shared(changes), ..result(target, Layer::Account, status) }
}
