//! The region's delegated GuardDuty administrator, designated from the management account.
//! Another admin already designated is a conflict, replaced only with `--replace-admin`.

use std::fmt;

use serde::Serialize;

use super::{At, Calls, Check, Kind, Place};
use serde_json::json;

use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, GuardDuty, Service};
use crate::model::AccountId;
use crate::outcome::{Note, OtherAdmin};
use crate::plan::Plan;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    EnableAdmin { account: AccountId },
    ReplaceAdmin { from: AccountId, to: AccountId },
    /// Teardown: the planned admin's designation removed (every member with it, disabling no one).
    DisableAdmin { account: AccountId },
}

/// Designation, from the management account's view of the region's admins.
pub fn plan(admin: &AccountId, designated: &[AccountId], replace: bool) -> Result<Option<Change>, OtherAdmin> {
    match designated.iter().find(|a| *a != admin) {
        Some(other) if !replace => Err(OtherAdmin { current: *other, planned: *admin }),
        Some(other) => Ok(Some(Change::ReplaceAdmin { from: *other, to: *admin })),
        None if designated.is_empty() => Ok(Some(Change::EnableAdmin { account: *admin })),
        None => Ok(None),
    }
}

/// Teardown: the planned admin's designation; another admin designated is left alone, and
/// reported.
pub fn teardown(admin: &AccountId, designated: &[AccountId]) -> (Option<Change>, Vec<Note>) {
    let change = designated.contains(admin).then_some(Change::DisableAdmin { account: *admin });
    let others = designated.iter().filter(|a| *a != admin);
    (change, others.map(|other| Note::new(format!("{other} is the delegated admin here, not the plan's {admin}: left alone"))).collect())
}

/// `management` is GuardDuty in the region, as the management account.
pub async fn apply(management: &GuardDuty, change: &Change) -> Result<(), AwsError> {
    match change {
        Change::EnableAdmin { account } => management.enable_admin(account).await,
        Change::ReplaceAdmin { from, to } => {
            management.disable_admin(from).await?;
            management.enable_admin(to).await
        }
        Change::DisableAdmin { account } => management.disable_admin(account).await,
    }
}

pub const ADMIN: &str = "OG.Org.DelegatedAdmin";

/// The organization read and the designation made from the management account (with what
/// Organizations checks on GuardDuty's behalf), and the member role assumed everywhere else.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    let organization = &plan.organization;
    let mut grants = vec![
        Grant::read(&["sts:GetCallerIdentity", "organizations:ListAccounts", "organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent", "organizations:DescribeAccount"]).management(),
        Grant::new("AssumeTheMemberRole", Phase::Read, &["sts:AssumeRole"], &[format!("arn:{p}:iam::*:role/{}", organization.member_role)])
            .when(json!({"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}))
            .management(),
    ];
    if plan.admin.is_none() {
        return grants;
    }
    let guardduty_only = json!({"StringEquals": {"organizations:ServicePrincipal": ["guardduty.amazonaws.com", "malware-protection.guardduty.amazonaws.com"]}});
    grants.extend([
        Grant::read(&["guardduty:ListOrganizationAdminAccounts"]).management(),
        Grant::new("OrgguardDesignateAdmin", Phase::Rollout, &["guardduty:EnableOrganizationAdminAccount", "organizations:DescribeOrganizationalUnit", "organizations:ListAWSServiceAccessForOrganization"], &["*"]).management(),
        Grant::new("OrgguardDesignateAdmin", Phase::Both, &["guardduty:DisableOrganizationAdminAccount", "organizations:DescribeOrganization", "organizations:ListDelegatedAdministrators"], &["*"]).management(),
        Grant::new("OrganizationsOnlyForGuardDuty", Phase::Rollout, &["organizations:EnableAWSServiceAccess", "organizations:RegisterDelegatedAdministrator"], &["*"]).when(guardduty_only.clone()).management(),
        Grant::new("OrganizationsOnlyForGuardDuty", Phase::Both, &["organizations:DeregisterDelegatedAdministrator"], &["*"]).when(guardduty_only).management(),
    ]);
    grants
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let designated = "The planned delegated admin is designated in the region";
    plan.admin.iter().map(|_| Check::new(Place::Organization, ADMIN, designated, "Prowler guardduty_delegated_admin_enabled_all_regions")).collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::EnableAdmin { .. } => "designate delegated admin",
            Self::ReplaceAdmin { .. } => "replace delegated admin",
            Self::DisableAdmin { .. } => "remove delegated admin",
        }
    }

    fn calls(&self) -> Calls {
        let count = match self {
            Self::EnableAdmin { .. } | Self::DisableAdmin { .. } => 1,
            Self::ReplaceAdmin { .. } => 2,
        };
        Calls { service: Service::GuardDuty, at: At::Management, count }
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        vec![match self {
            Self::DisableAdmin { .. } => return Vec::new(),
            Self::EnableAdmin { account } => Failure::new(ADMIN, format!("{account} designated"), "no delegated admin"),
            Self::ReplaceAdmin { from, to } => Failure::new(ADMIN, format!("{to} designated"), format!("{from} designated")),
        }]
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EnableAdmin { account } => write!(f, "{account}"),
            Self::ReplaceAdmin { from, to } => write!(f, "{from} -> {to}"),
            Self::DisableAdmin { account } => write!(f, "{account}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_admin_is_a_conflict_unless_replacing() {
        let (admin, other) = (AccountId::parse("100000000001").unwrap(), AccountId::parse("100000000002").unwrap());
        assert_eq!(plan(&admin, std::slice::from_ref(&other), false), Err(OtherAdmin { current: other, planned: admin }));
        assert_eq!(plan(&admin, std::slice::from_ref(&other), true), Ok(Some(Change::ReplaceAdmin { from: other, to: admin })));
        assert_eq!(plan(&admin, &[], false), Ok(Some(Change::EnableAdmin { account: admin })));
        assert_eq!(plan(&admin, std::slice::from_ref(&admin), false), Ok(None));
        assert_eq!(teardown(&admin, &[admin]), (Some(Change::DisableAdmin { account: admin }), vec![]));
        let (change, notes) = teardown(&admin, std::slice::from_ref(&other));
        assert_eq!((change, notes.len()), (None, 1), "another admin is left alone, and reported");
        let replace = Change::ReplaceAdmin { from: other, to: admin };
        assert_eq!(replace.calls(), Calls { service: Service::GuardDuty, at: At::Management, count: 2 });
    }
}
