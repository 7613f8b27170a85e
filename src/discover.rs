//! Who and where: the organization's accounts that the plan targets, and the regions to
//! visit in each. Whether a region is enabled for an account is learned by calling it
//! (UnrecognizedClientException means not enabled), which costs no extra call.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{Aws, AwsError};
use crate::model::{AccountId, Region};
use crate::plan::{Plan, RegionSelection};
use crate::outcome::SkipReason;

/// What one run covers: target accounts and regions, and the accounts left out, with why.
#[derive(Debug)]
pub struct Scope {
    pub accounts: Vec<AccountId>,
    /// Root email of every target account (CreateMembers needs it).
    pub emails: BTreeMap<AccountId, String>,
    pub regions: Vec<Region>,
    pub skipped: Vec<(AccountId, SkipReason)>,
}

/// `--accounts` and `--regions`: narrow one run to part of the plan.
#[derive(Clone, Debug, Default)]
pub struct Narrowing {
    pub accounts: Option<BTreeSet<AccountId>>,
    pub regions: Option<BTreeSet<Region>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("while listing the organization's accounts: {}{}", .0, management_hint(.0))]
    Aws(#[from] AwsError),
    #[error("--accounts names {0}, which is not in the organization")]
    UnknownAccount(AccountId),
    #[error("--regions names {0}, which the plan does not cover (plan regions: {1})")]
    RegionOutsidePlan(Region, String),
    #[error("the plan's admin account {0} is not an active account of this organization: nothing was changed")]
    AdminNotInOrganization(AccountId),
}

/// Organizations answers these to a caller outside the management account.
fn management_hint(error: &AwsError) -> &'static str {
    match error.code.as_str() {
        "AccessDeniedException" | "AccessDenied" | "AWSOrganizationsNotInUseException" => {
            " (orgguard must run with the management account's credentials)"
        }
        _ => "",
    }
}

pub async fn scope(aws: &Aws, plan: &Plan, narrowing: &Narrowing) -> Result<Scope, ScopeError> {
    let organization = aws.list_accounts().await?;
    let mut excluded_by_ou = BTreeSet::new();
    for ou in &plan.organization.exclude_ous {
        excluded_by_ou.extend(aws.accounts_under_ou(&ou.0).await?);
    }
    if let Some(wanted) = &narrowing.accounts {
        if let Some(missing) = wanted.iter().find(|id| !organization.iter().any(|a| &a.id == *id)) {
            return Err(ScopeError::UnknownAccount(missing.clone()));
        }
    }

    if let Some(admin) = &plan.admin {
        let admin = admin.account.get_ref();
        if !organization.iter().any(|a| &a.id == admin && a.status == "ACTIVE") {
            return Err(ScopeError::AdminNotInOrganization(admin.clone()));
        }
    }

    let mut scope = Scope {
        accounts: Vec::new(),
        emails: BTreeMap::new(),
        regions: regions(aws, plan, narrowing)?,
        skipped: Vec::new(),
    };
    let mut organization = organization;
    organization.sort_by(|a, b| a.id.cmp(&b.id));
    for account in organization {
        if narrowing.accounts.as_ref().is_some_and(|wanted| !wanted.contains(&account.id)) {
            continue;
        }
        let skip = if plan.organization.exclude_accounts.contains(&account.id) {
            Some(SkipReason::ExcludedByPlan)
        } else if excluded_by_ou.contains(&account.id) {
            Some(SkipReason::ExcludedOu)
        } else if account.id == aws.caller.account && !plan.organization.include_management_account {
            Some(SkipReason::ManagementAccount)
        } else if account.status != "ACTIVE" {
            Some(SkipReason::AccountNotActive { status: account.status })
        } else {
            None
        };
        match skip {
            Some(reason) => scope.skipped.push((account.id, reason)),
            None => {
                scope.emails.insert(account.id.clone(), account.email);
                scope.accounts.push(account.id);
            }
        }
    }
    Ok(scope)
}

fn regions(aws: &Aws, plan: &Plan, narrowing: &Narrowing) -> Result<Vec<Region>, ScopeError> {
    let planned: BTreeSet<Region> = match &plan.organization.regions {
        RegionSelection::All => aws
            .caller
            .partition
            .guardduty_regions()
            .iter()
            .filter_map(|r| Region::parse(r).ok())
            .collect(),
        RegionSelection::List(list) => list.clone(),
    };
    let Some(wanted) = &narrowing.regions else { return Ok(planned.into_iter().collect()) };
    if let Some(outside) = wanted.iter().find(|r| !planned.contains(*r)) {
        let names: Vec<_> = planned.iter().map(Region::as_str).collect();
        return Err(ScopeError::RegionOutsidePlan(outside.clone(), names.join(", ")));
    }
    Ok(wanted.iter().cloned().collect())
}
