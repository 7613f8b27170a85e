//! The delegated admin's members in one region: every target account (the admin itself
//! excluded) an Enabled member, added with CreateMembers 50 at a time and checked after.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{GuardDuty, Service};
use crate::model::Unprocessed;
use crate::outcome::TargetError;
use crate::model::{AccountId, AdminSide, MemberStatus};
use crate::plan::Plan;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateMembers { accounts: Vec<AccountId> },
    /// Teardown: the members' association ended (they keep GuardDuty, standalone).
    DisassociateMembers { accounts: Vec<AccountId> },
    /// Teardown: the member records deleted, once disassociated.
    DeleteMembers { accounts: Vec<AccountId> },
}

/// Accounts per CreateMembers or GetMemberDetectors call: GuardDuty's limit.
pub const PER_CALL: u32 = 50;

/// The planned members that are not Enabled members; None for `side` when the admin is not
/// designated yet.
pub fn plan(members: &[AccountId], side: Option<&AdminSide>) -> Option<Change> {
    let missing: Vec<AccountId> = members.iter().filter(|a| !side.is_some_and(|s| s.is_enabled_member(a))).copied().collect();
    (!missing.is_empty()).then_some(Change::CreateMembers { accounts: missing })
}

/// Teardown: the planned members (the target accounts) that are associated are
/// disassociated, then every planned member's record is deleted. Also returned: the admin's
/// members that are not target accounts, which are kept.
pub fn teardown(members: &[AccountId], side: &AdminSide) -> (Vec<Change>, Vec<AccountId>) {
    let held = |a: &&AccountId| side.members.contains_key(a);
    let associated = |a: &&AccountId| !matches!(&side.members[*a], MemberStatus::Removed | MemberStatus::Created);
    let ours: Vec<AccountId> = members.iter().filter(held).copied().collect();
    let mut changes = Vec::new();
    let disassociate: Vec<AccountId> = ours.iter().filter(associated).copied().collect();
    if !disassociate.is_empty() {
        changes.push(Change::DisassociateMembers { accounts: disassociate });
    }
    if !ours.is_empty() {
        changes.push(Change::DeleteMembers { accounts: ours });
    }
    (changes, side.members.keys().filter(|a| !members.contains(a)).copied().collect())
}

/// Disassociate or delete, 50 accounts a call; every account GuardDuty did not process is
/// reported with its reason.
pub async fn remove(admin: &GuardDuty, detector_id: &str, change: &Change) -> Result<(), TargetError> {
    let mut problems = Unprocessed { operation: "guardduty:DeleteMembers", accounts: Vec::new() };
    for batch in change.accounts().chunks(PER_CALL as usize) {
        let unprocessed = admin.remove_members(detector_id, batch, matches!(change, Change::DeleteMembers { .. })).await?;
        problems = Unprocessed { operation: unprocessed.operation, accounts: [problems.accounts, unprocessed.accounts].concat() };
    }
    if problems.accounts.is_empty() {
        Ok(())
    } else {
        Err(TargetError::Unprocessed(problems))
    }
}

/// CreateMembers in batches of 50, then checked: ListMembers shows every one Enabled and
/// GetMemberDetectors sees every one's detector.
pub async fn apply(
    admin: &GuardDuty,
    detector_id: &str,
    emails: &BTreeMap<AccountId, String>,
    change: &Change,
) -> Result<(), TargetError> {
    let Change::CreateMembers { accounts } = change else { return remove(admin, detector_id, change).await };
    let mut unprocessed = Vec::new();
    for batch in accounts.chunks(PER_CALL as usize) {
        let details: Vec<_> = batch.iter().map(|a| (*a, emails.get(a).cloned().unwrap_or_default())).collect();
        unprocessed.extend(admin.create_members(detector_id, &details).await?.accounts);
    }
    let side = admin.admin_side(detector_id).await?;
    let mut problems: Vec<(String, String)> = accounts
        .iter()
        .filter(|a| !side.is_enabled_member(a))
        .map(|a| {
            let reason = unprocessed.iter().find(|(id, _)| id == a.as_str()).map_or("not Enabled after CreateMembers", |(_, r)| r);
            (a.to_string(), reason.to_owned())
        })
        .collect();
    for batch in accounts.chunks(PER_CALL as usize) {
        for (account, reason) in admin.member_detectors(detector_id, batch).await?.unprocessed {
            problems.push((account, format!("the admin sees no detector: {reason}")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TargetError::Unprocessed(Unprocessed { operation: "guardduty:CreateMembers", accounts: problems }))
    }
}

pub const MEMBER: &str = "OG.Org.Member";

/// The members, at the delegated admin.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    if plan.admin.is_none() {
        return Vec::new();
    }
    let detectors = [format!("arn:{p}:guardduty:*:*:detector/*")];
    vec![
        Grant::read(&["guardduty:ListMembers", "guardduty:GetMemberDetectors"]),
        Grant::new("GuardDutyDetectorWrite", Phase::Rollout, &["guardduty:CreateMembers"], &detectors),
        Grant::new("GuardDutyDetectorTeardown", Phase::Teardown, &["guardduty:DisassociateMembers", "guardduty:DeleteMembers"], &detectors),
    ]
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let description = "The account is an enabled member of the delegated admin";
    plan.admin.iter().map(|_| Check::new(Place::Member, MEMBER, description, "Prowler guardduty_centrally_managed")).collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateMembers { .. } => "add members",
            Self::DisassociateMembers { .. } => "disassociate members",
            Self::DeleteMembers { .. } => "delete members",
        }
    }

    fn count(&self) -> usize {
        self.accounts().len()
    }

    /// CreateMembers in 50s, then checked: ListMembers pages, GetMemberDetectors in 50s.
    /// Disassociate or delete: one call per 50.
    fn calls(&self) -> Calls {
        let batches = (self.accounts().len() as u32).div_ceil(PER_CALL);
        match self {
            Self::CreateMembers { .. } => Calls::here(Service::GuardDuty, 3 * batches + 1),
            _ => Calls::here(Service::GuardDuty, batches),
        }
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        let Self::CreateMembers { accounts } = self else { return Vec::new() };
        let failure = |account: &AccountId| Failure { account: Some(*account), ..Failure::new(MEMBER, "Enabled member", "not an enabled member") };
        accounts.iter().map(failure).collect()
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} accounts", self.accounts().len())
    }
}

impl Change {
    fn accounts(&self) -> &[AccountId] {
        let (Self::CreateMembers { accounts } | Self::DisassociateMembers { accounts } | Self::DeleteMembers { accounts }) = self;
        accounts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_accounts_that_are_not_enabled_members_are_added() {
        let [a, b, c] = ["100000000001", "100000000002", "100000000003"].map(|a| AccountId::parse(a).unwrap());
        let side = AdminSide {
            auto_enable: None,
            feature_auto_enable: BTreeMap::new(),
            agent_auto_enable: BTreeMap::new(),
            members: BTreeMap::from([(a, MemberStatus::Enabled), (b, MemberStatus::Removed)]),
            member_detectors: BTreeMap::new(),
        };
        assert_eq!(plan(&[a, b, c], Some(&side)), Some(Change::CreateMembers { accounts: vec![b, c] }));
        assert_eq!(plan(&[a], Some(&side)), None);
        assert_eq!(plan(&[a], None), Some(Change::CreateMembers { accounts: vec![a] }), "no admin yet: everyone is to be added");
        let (changes, others) = teardown(&[b, c], &side);
        assert_eq!(changes, vec![Change::DeleteMembers { accounts: vec![b] }], "b is Removed already: deleted, not disassociated");
        assert_eq!(others, vec![a], "a is not a target account");
        let (changes, _) = teardown(&[a, b], &side);
        assert_eq!(changes, vec![Change::DisassociateMembers { accounts: vec![a] }, Change::DeleteMembers { accounts: vec![a, b] }]);
        assert_eq!(changes[1].calls().count, 1, "one call per 50");
        let many = Change::CreateMembers { accounts: vec![a; 51] };
        assert_eq!(many.calls().count, 7, "three calls a batch of 50, and one");
        assert_eq!(many.failures(&super::super::fixtures::plan()).len(), 51);
    }
}
