//! Per account: IAM, which is global. Only with a `[notifications]` plan: the role and
//! policy exist for the EventBridge targets of every region.

use super::{result, settle, Context};
use crate::aws::{AccountSession, AwsError};
use crate::desired::Wiring;
use crate::model::{AccountId, Target};
use crate::outcome::{Layer, Status, TargetError, TargetResult};
use crate::resources::{iam, Change};

/// What the plan asks of this layer in `account`, if anything.
pub fn planned<'a>(cx: &'a Context, account: &'a AccountId) -> Option<Wiring<'a>> {
    cx.wiring(account).filter(|_| cx.options.teardown.is_none_or(|t| t.iam))
}

/// A teardown's (`regions_done`: every region of the account removed the rules that use the
/// role) takes the role and policy out instead.
pub async fn reconcile(cx: &Context<'_>, session: &AccountSession, wiring: &Wiring<'_>, regions_done: bool) -> TargetResult {
    let target = Target { account: session.account, region: None };
    let teardown = cx.options.teardown.is_some();
    if teardown && !regions_done {
        let reason = format!("a region of the account did not remove the plan's rules (see its result); they use the role {}", wiring.plan.role);
        return result(target, Layer::Account, Status::failed(TargetError::Dependency { operation: "iam:DeleteRole", reason }));
    }
    let client = session.iam();
    let role = wiring.role();
    let observed = async {
        let mut observed = client.observe(&role.role, &role.policy_arn).await?;
        if teardown && observed.role_trust.is_some() {
            // IAM refuses to delete a role that still has any of these.
            observed.others_attached.extend(client.role_holds(&wiring.plan.role).await?);
        }
        Ok::<_, AwsError>(observed)
    };
    let observed = match observed.await {
        Ok(observed) => observed,
        Err(error) => return result(target, Layer::Account, Status::failed(error)),
    };
    let (planned, notes) = match teardown {
        true => iam::teardown(&role, &observed),
        false => (iam::plan(&role, &observed), Vec::new()),
    };
    let changes: Vec<Change> = planned.iter().cloned().map(Change::from).collect();
    let status = settle(cx, &target, Layer::Account, &changes, async {
        for change in &planned {
            iam::apply(&client, &role, change).await?;
        }
        Ok(())
    })
    .await;
    TargetResult { changes: crate::outcome::shared(changes), notes, ..result(target, Layer::Account, status) }
}
