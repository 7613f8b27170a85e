//! A member account's invitation-era relationships in one region: an administrator it is
//! associated with by invitation, or invitations pending. They keep the delegated admin
//! from adding the account, so they are a conflict unless `--migrate-invitations`, which
//! undoes them.

use std::fmt;

use serde::Serialize;

use super::{Calls, Check, Kind};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{GuardDuty, Service};
use crate::outcome::{Legacy, TargetError};
use crate::model::{AccountId, ObservedRelationship};
use crate::plan::Plan;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    LeaveAdministrator { administrator: AccountId },
    DeclineInvitations { from: Vec<AccountId> },
}

/// The account's relationships against the planned admin: with `migrate`, the changes that
/// undo them; without, what stands in the way. An administrator that is the region's
/// designated delegated admin holds the account through the organization: that is the
/// designation's business (a conflict, or --replace-admin), not an invitation's.
pub fn plan(admin: &AccountId, designated: &[AccountId], observed: &ObservedRelationship, migrate: bool) -> Result<Vec<Change>, Legacy> {
    let administrator = observed.administrator.filter(|a| a != admin && !designated.contains(a));
    let invitations: Vec<AccountId> = observed.invitations.iter().filter(|a| *a != admin).copied().collect();
    if !migrate && (administrator.is_some() || !invitations.is_empty()) {
        return Err(Legacy { admin: *admin, administrator, invitations });
    }
    let mut changes: Vec<Change> = administrator.map(|administrator| Change::LeaveAdministrator { administrator }).into_iter().collect();
    if !invitations.is_empty() {
        changes.push(Change::DeclineInvitations { from: invitations });
    }
    Ok(changes)
}

pub async fn apply(guardduty: &GuardDuty, detector_id: &str, change: &Change) -> Result<(), TargetError> {
    match change {
        Change::LeaveAdministrator { .. } => Ok(guardduty.leave_administrator(detector_id).await?),
        Change::DeclineInvitations { from } => {
            let unprocessed = guardduty.decline_invitations(from).await?;
            match unprocessed.accounts.is_empty() {
                true => Ok(()),
                false => Err(TargetError::Unprocessed(unprocessed)),
            }
        }
    }
}

/// Judged through the membership control, which a conflict fails.
/// The invitation-era relationships an account leaves (`--migrate-invitations`).
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    if plan.admin.is_none() {
        return Vec::new();
    }
    vec![
        Grant::read(&["guardduty:GetAdministratorAccount", "guardduty:ListInvitations"]),
        Grant::new("GuardDutyCreate", Phase::Rollout, &["guardduty:DeclineInvitations"], &["*"]),
        Grant::new("GuardDutyDetectorWrite", Phase::Rollout, &["guardduty:DisassociateFromAdministratorAccount"], &[format!("arn:{p}:guardduty:*:*:detector/*")]),
    ]
}

pub fn checks(_: &Plan) -> Vec<Check> {
    Vec::new()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::LeaveAdministrator { .. } => "leave invitation-era administrator",
            Self::DeclineInvitations { .. } => "decline invitations",
        }
    }

    fn calls(&self) -> Calls {
        Calls::here(Service::GuardDuty, 1)
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        Vec::new()
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LeaveAdministrator { administrator } => {
                write!(f, "disassociate from {administrator} (the organization's admin then adds it as a member)")
            }
            Self::DeclineInvitations { from } => {
                let from: Vec<&str> = from.iter().map(AccountId::as_str).collect();
                write!(f, "from {}", from.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_administrator_that_is_not_designated_is_an_invitation_era_one() {
        let [admin, designated, old] = ["100000000001", "100000000002", "100000000009"].map(|a| AccountId::parse(a).unwrap());
        let held_by = |a: &AccountId| ObservedRelationship { administrator: Some(*a), invitations: vec![] };
        assert_eq!(plan(&admin, std::slice::from_ref(&designated), &held_by(&designated), false), Ok(vec![]));
        assert_eq!(plan(&admin, &[], &held_by(&admin), false), Ok(vec![]));
        let conflict = plan(&admin, std::slice::from_ref(&designated), &held_by(&old), false).unwrap_err();
        assert_eq!(conflict, Legacy { admin, administrator: Some(old), invitations: vec![] });
        assert!(conflict.to_string().starts_with("associated with administrator 100000000009"), "{conflict}");
        assert_eq!(
            plan(&admin, &[], &held_by(&old), true),
            Ok(vec![Change::LeaveAdministrator { administrator: old }]),
            "migrating leaves the old administrator"
        );
        let pending = ObservedRelationship { administrator: None, invitations: vec![old, admin] };
        assert_eq!(
            plan(&admin, &[], &pending, true),
            Ok(vec![Change::DeclineInvitations { from: vec![old] }]),
            "the planned admin's own invitation is not declined"
        );
    }
}
