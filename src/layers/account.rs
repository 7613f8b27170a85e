//! Per account: IAM, which is global. The role EventBridge assumes for the rules' targets of
//! every region (with a `[notifications]` plan), and the role VPC Flow Logs assumes to
//! deliver into every region's log group (with an `[exfiltration]` plan).

use super::{result, settle, Context};
use crate::aws::{AccountSession, AwsError, Iam};
use crate::desired::{Role, Wiring};
use crate::model::{AccountId, ObservedIam, Target};
use crate::outcome::{Layer, Status, TargetError};
use crate::results::TargetResult;
use crate::resources::{exfiltration, iam, Change};

/// The roles the plan asks of this layer in one account.
pub struct Roles {
    /// EventBridge's role and its publish policy.
    events: Option<Role>,
    /// VPC Flow Logs' delivery role.
    flow_logs: Option<Role>,
}

/// What the plan asks of this layer in `account`, if anything.
pub fn planned(cx: &Context, account: &AccountId) -> Option<Roles> {
    let teardown = cx.options.teardown;
    let events = Wiring::of(&cx.plan, account, cx.aws.caller.partition).filter(|_| teardown.is_none_or(|t| t.iam && t.wiring)).map(|w| w.role());
    let flow_logs = cx.plan.exfiltration.as_ref().filter(|_| teardown.is_none_or(|t| t.iam && t.exfiltration));
    let flow_logs = flow_logs.map(|plan| exfiltration::role(plan, account, cx.aws.caller.partition));
    (events.is_some() || flow_logs.is_some()).then_some(Roles { events, flow_logs })
}

/// A role as it is, with what a teardown must also know: what else IAM would refuse to
/// delete it with.
async fn observe(client: &Iam, role: &Role, teardown: bool) -> Result<ObservedIam, AwsError> {
    let mut observed = client.observe(&role.role, &role.policy_arn).await?;
    if teardown && observed.role_trust.is_some() {
        observed.others_attached.extend(client.role_holds(&role.role).await?);
    }
    Ok(observed)
}

/// A teardown's (`regions_done`: every region of the account removed what uses the roles)
/// takes the roles and policies out instead.
pub async fn reconcile(cx: &Context, session: &AccountSession, roles: &Roles, regions_done: bool) -> TargetResult {
    let target = Target { account: session.account, region: None };
    let teardown = cx.options.teardown.is_some();
    if teardown && !regions_done {
        let reason = "a region of the account did not remove the rules or flow logs that use the roles (see its result)".to_owned();
        return result(target, Layer::Account, Status::failed(TargetError::Dependency { operation: "iam:DeleteRole", reason }));
    }
    let client = session.iam();
    // Each role's IAM changes, and how the run reports them (the delivery role's as its kind's).
    let wraps: [(&Option<Role>, fn(iam::Change) -> Change); 2] =
        [(&roles.events, Change::Iam), (&roles.flow_logs, |c| Change::Exfiltration(exfiltration::Change::Role(c)))];
    let (mut planned, mut notes) = (Vec::new(), Vec::new());
    for (role, wrap) in wraps {
        let Some(role) = role else { continue };
        let observed = match observe(&client, role, teardown).await {
            Ok(observed) => observed,
            Err(error) => return result(target, Layer::Account, Status::failed(error)),
        };
        let (changes, kept) = match teardown {
            true => iam::teardown(role, &observed),
            false => (iam::plan(role, &observed), Vec::new()),
        };
        planned.extend(changes.into_iter().map(|c| (role, c.clone(), wrap(c))));
        notes.extend(kept);
    }
    let all: Vec<Change> = planned.iter().map(|(_, _, c)| c.clone()).collect();
    let status = settle(cx, &target, Layer::Account, &all, async {
        for (role, change, _) in &planned {
            iam::apply(&client, role, change).await?;
        }
        Ok(())
    })
    .await;
    TargetResult { changes: crate::results::shared(all), notes, ..result(target, Layer::Account, status) }
}
