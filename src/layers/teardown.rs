//! Teardown (`orgguard teardown`): the plan's resources taken back out, layer by layer in
//! the order AWS requires, and nothing the plan does not name. Per region at the delegated
//! admin first (members' auto-enable NONE, the target accounts disassociated then deleted,
//! the designation removed); then per account-region the rules and the topic, and with
//! `--delete-detectors` the detector; then per account the IAM policy and role, once no
//! rule of the account uses them. Each layer observes, plans (pure, per kind) and executes
//! as a rollout does, so a dry run, a change set and a second teardown work the same way.

use super::{result, settle, Context};
use crate::aws::{AccountSession, AwsError, GuardDuty};
use crate::desired::Wiring;
use crate::discover::Scope;
use crate::model::{AccountId, Region, Target};
use crate::outcome::{shared, Layer, Note, SkipReason, Status, TargetError, TargetResult};
use crate::resources::{admin, detector, iam, membership, org_config, rules, topic, Change};

/// What a teardown removes; each layer can be chosen on its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Teardown {
    /// Per account-region the plan's rules and topic; per account its IAM role and policy.
    pub wiring: bool,
    /// Per region: members' auto-enable NONE, the target accounts' memberships removed.
    pub membership: bool,
    /// Per region: the planned admin's designation.
    pub admin: bool,
    /// Per account-region the detector, and its findings with it (never a default).
    pub detectors: bool,
    /// Also remove subscriptions the plan does not name (otherwise their topic is kept).
    pub prune_subscriptions: bool,
}

impl Teardown {
    /// Whether the accounts must be entered at all.
    pub fn enters_accounts(&self, cx: &Context<'_>) -> bool {
        self.detectors || (self.wiring && cx.plan.notifications.is_some())
    }
}

/// One account-region: the rules (planned target, then the rule), the topic, the detector.
pub async fn region(cx: &Context<'_>, session: &AccountSession, region: &Region, teardown: &Teardown) -> TargetResult {
    let target = Target { account: session.account, region: Some(*region) };
    let in_layer = |status| result(target.clone(), Layer::Account, status);
    let wiring = cx.wiring(&session.account).filter(|_| teardown.wiring);
    if !teardown.enters_accounts(cx) {
        return in_layer(Status::Unchanged);
    }
    let guardduty = session.guardduty(region);
    let clients = wiring.as_ref().map(|_| (session.sns(region), session.events(region)));
    let observed = async {
        // Read first in every case: a region that is not enabled answers here.
        let detector = guardduty.find_detector().await?;
        let mut found = None;
        if let (Some(wiring), Some((sns, events))) = (&wiring, &clients) {
            let topic = sns.find_topic(&wiring.topic_arn(region)).await?;
            let mut rules = Vec::new();
            for rule in &wiring.plan.rules {
                rules.push(events.find_rule(rule.name.get_ref()).await?);
            }
            found = Some((topic, rules));
        }
        Ok::<_, AwsError>((detector, found))
    };
    let (detector, found) = match observed.await {
        Ok(observed) => observed,
        Err(error) if error.is_region_not_enabled() => return in_layer(Status::Skipped(SkipReason::RegionNotEnabled)),
        Err(error) => return in_layer(Status::failed(error)),
    };
    let (mut rule_changes, mut topic_changes, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    if let (Some(wiring), Some((topic, rules))) = (&wiring, &found) {
        for (rule, current) in wiring.plan.rules.iter().zip(rules) {
            let (changes, kept) = rules::teardown(rule, current.as_ref());
            rule_changes.extend(changes);
            notes.extend(kept);
        }
        let (changes, kept) = topic::teardown(wiring, topic.as_ref(), teardown.prune_subscriptions);
        topic_changes = changes;
        notes.extend(kept);
    }
    let detector_change = detector::teardown(detector.as_ref()).filter(|_| teardown.detectors);
    let rule_list = rule_changes.iter().cloned().map(Change::from);
    let topic_list = topic_changes.iter().cloned().map(Change::from);
    let changes: Vec<Change> = rule_list.chain(topic_list).chain(detector_change.iter().cloned().map(Change::from)).collect();
    let status = settle(cx, &target, Layer::Account, &changes, async {
        if let (Some(wiring), Some((sns, events))) = (&wiring, &clients) {
            for change in &rule_changes {
                rules::apply(events, wiring, region, change).await?;
            }
            for change in &topic_changes {
                topic::apply(sns, wiring, region, change).await?;
            }
        }
        if let Some(change) = &detector_change {
            detector::apply(&guardduty, change).await?;
        }
        Ok::<_, TargetError>(())
    })
    .await;
    TargetResult { changes: shared(changes), notes, ..in_layer(status) }
}

/// One account's IAM role and policy, after its regions. `rules_gone`: no region of the
/// account failed to remove its rules, which would still use the role.
pub async fn account(cx: &Context<'_>, session: &AccountSession, wiring: &Wiring<'_>, rules_gone: bool) -> TargetResult {
    let target = Target { account: session.account, region: None };
    let in_layer = |status| result(target.clone(), Layer::Account, status);
    if !rules_gone {
        let reason = format!("a region of the account still has the plan's rules, which use the role {}", wiring.plan.role);
        return in_layer(Status::failed(TargetError::Dependency { operation: "iam:DeleteRole", reason }));
    }
    let client = session.iam();
    let observed = match client.observe(&wiring.plan.role, &wiring.policy_arn()).await {
        Ok(observed) => observed,
        Err(error) => return in_layer(Status::failed(error)),
    };
    let (planned, notes) = iam::teardown(wiring, &observed);
    let changes: Vec<Change> = planned.iter().cloned().map(Change::from).collect();
    let status = settle(cx, &target, Layer::Account, &changes, async {
        for change in &planned {
            iam::apply(&client, wiring, change).await?;
        }
        Ok(())
    })
    .await;
    TargetResult { changes: shared(changes), notes, ..in_layer(status) }
}

/// One region at the delegated admin: members' auto-enable NONE, the target accounts
/// disassociated then deleted, then the designation removed (from the management account).
pub async fn organization(cx: &Context<'_>, region: &Region, scope: &Scope, teardown: &Teardown) -> TargetResult {
    let admin = *cx.plan.admin.as_ref().expect("an organization layer only with an admin plan").account.get_ref();
    let target = Target { account: admin, region: Some(*region) };
    let in_layer = |status| result(target.clone(), Layer::Organization, status);
    if !teardown.membership && !teardown.admin {
        return in_layer(Status::Unchanged);
    }
    let guardduty = cx.admin.as_ref().expect("set with an admin plan").guardduty(region);
    let designated = cx.before.get(region).and_then(|b| b.designated.clone());
    let observed = async {
        let designated = match designated {
            Some(designated) => designated,
            None => cx.aws.management().guardduty(region).list_admins().await?,
        };
        let detector = match designated.contains(&admin) && teardown.membership {
            true => guardduty.find_detector().await?,
            false => None,
        };
        let side = match &detector {
            Some(detector) => Some((detector.id.clone(), guardduty.admin_side(&detector.id).await?)),
            None => None,
        };
        Ok::<_, AwsError>((designated, side))
    };
    let (designated, side) = match observed.await {
        Ok(observed) => observed,
        Err(error) if error.is_region_not_enabled() => return in_layer(Status::Skipped(SkipReason::RegionNotEnabled)),
        Err(error) => return in_layer(Status::failed(error)),
    };
    let (designation, mut notes) = admin::teardown(&admin, &designated);
    let designation = designation.filter(|_| teardown.admin);
    let (mut config, mut members) = (None, Vec::new());
    if let Some((_, side)) = &side {
        let accounts: Vec<AccountId> = scope.accounts.iter().filter(|a| **a != admin).copied().collect();
        let (changes, others) = membership::teardown(&accounts, side);
        config = org_config::teardown(side);
        members = changes;
        if !others.is_empty() {
            let others: Vec<String> = others.iter().map(AccountId::to_string).collect();
            let fate = match designation {
                Some(_) => "removing the designation removes them too (they keep GuardDuty)",
                None => "kept",
            };
            notes.push(Note::new(format!("{} members that are not target accounts: {fate}: {}", others.len(), others.join(", "))));
        }
    }
    let config_list = config.iter().cloned().map(Change::from);
    let member_list = members.iter().cloned().map(Change::from);
    let changes: Vec<Change> = config_list.chain(member_list).chain(designation.iter().cloned().map(Change::from)).collect();
    let detector_id = side.as_ref().map(|(id, _)| id.as_str());
    let execute = execute(cx, &guardduty, region, detector_id, &config, &members, &designation);
    let status = settle(cx, &target, Layer::Organization, &changes, execute).await;
    TargetResult { changes: shared(changes), notes, ..in_layer(status) }
}

async fn execute(
    cx: &Context<'_>,
    guardduty: &GuardDuty,
    region: &Region,
    detector_id: Option<&str>,
    config: &Option<org_config::Change>,
    members: &[membership::Change],
    designation: &Option<admin::Change>,
) -> Result<(), TargetError> {
    if let Some(detector_id) = detector_id {
        if let Some(change) = config {
            org_config::apply(guardduty, detector_id, crate::model::AutoEnable::None, change).await?;
        }
        for change in members {
            membership::apply(guardduty, detector_id, &Default::default(), change).await?;
        }
    }
    if let Some(change) = designation {
        admin::apply(&cx.aws.management().guardduty(region), change).await?;
    }
    Ok(())
}
