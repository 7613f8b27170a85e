//! `orgguard iam-policy`: the least-privilege policy one principal needs to run one command
//! with the plans given, as their kinds declare it; no AWS call.

use std::path::PathBuf;

use crate::permissions::{self, Policy, Principal, Purpose};
use crate::plan::{Plan, PlanError};
use crate::resources;

/// The policy for `principal` and `purpose` covering every plan in `paths`, in partition `p`.
/// The management account's includes its own account's work when a plan makes it a target
/// (`include_management_account`) or `own_account` says so.
pub fn iam_policy(paths: &[PathBuf], principal: Principal, purpose: Purpose, p: &str, own_account: bool) -> Result<Policy, PlanError> {
    let mut grants = Vec::new();
    let mut own = own_account;
    for path in paths {
        let plan = Plan::load(path)?;
        own |= plan.organization.include_management_account;
        grants.extend(resources::grants(&plan, p));
    }
    grants.extend(super::drill::grants(p));
    Ok(permissions::policy(&grants, principal, purpose, own))
}
