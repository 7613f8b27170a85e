//! Who and where: the organization's accounts that the plan targets, and the regions to
//! visit in each. Whether a region is enabled for an account is learned by calling it
//! (UnrecognizedClientException means not enabled), which costs no extra call.
//!
//! The accounts arrive a ListAccounts page at a time (20 accounts, within the organization's
//! shared budget), and each page's targets can be worked on while later pages are listed.

use std::collections::{BTreeMap, BTreeSet};

use futures::channel::mpsc::Sender;
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};

use crate::aws::{Aws, AwsError, Code, OrgAccount};
use crate::model::{AccountId, AccountStatus, Region};
use crate::outcome::SkipReason;
use crate::plan::{Plan, RegionSelection};

/// What one run covers: target accounts and regions, and the accounts left out, with why.
#[derive(Debug)]
pub struct Scope {
    pub accounts: Vec<AccountId>,
    /// Root email of every target account (CreateMembers needs it).
    pub emails: BTreeMap<AccountId, String>,
    /// The name of every account listed, targets and skipped alike (for people to read).
    pub names: BTreeMap<AccountId, String>,
    pub regions: Vec<Region>,
    /// `--regions` left some of the plan's regions out of this run.
    pub regions_narrowed: bool,
    pub skipped: Vec<(AccountId, SkipReason)>,
    /// The plan's admin is one of the target accounts (known before its page is listed).
    pub admin_is_target: bool,
}

/// What the listing hands to the work, a page at a time.
#[derive(Debug)]
pub enum Listed {
    /// The target accounts of a page.
    Accounts(Vec<AccountId>),
    /// A page could not be listed: the listing ends here.
    Failed(AwsError),
    /// The run is stopping: the pages not listed yet are left.
    Stopped,
}

/// The scope as the organization's accounts are listed: complete once every page is placed.
pub struct Discovery<'a> {
    pub scope: Scope,
    management: AccountId,
    plan: &'a Plan,
    narrowing: Narrowing,
    excluded_by_ou: BTreeSet<AccountId>,
    /// Targets placed and not yet handed out.
    placed: Vec<AccountId>,
    /// Pages not listed yet; None once the listing is over.
    pages: Option<BoxStream<'a, Result<Vec<OrgAccount>, AwsError>>>,
}

/// `--accounts` and `--regions`: narrow one run to part of the plan.
#[derive(Clone, Debug, Default)]
pub struct Narrowing {
    pub accounts: Option<BTreeSet<AccountId>>,
    pub regions: Option<BTreeSet<Region>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("while reading the organization: {}{}", .0, management_hint(.0))]
    Aws(#[from] AwsError),
    #[error("--accounts names {0}, which is not in the organization")]
    UnknownAccount(AccountId),
    #[error("--regions names {0}, which the plan does not cover (plan regions: {1})")]
    RegionOutsidePlan(Region, String),
    #[error("the plan's admin account {0} is not an active account of this organization: nothing was changed")]
    AdminNotInOrganization(AccountId),
}

/// Organizations answers these to a ListAccounts from outside the management account.
fn management_hint(error: &AwsError) -> &'static str {
    match error.kind() {
        Code::AccessDenied | Code::OrganizationsNotInUse if error.operation == "organizations:ListAccounts" => {
            " (orgguard must run with the management account's credentials)"
        }
        _ => "",
    }
}

/// Checks what can be checked before any change (the caller is the management account, the
/// plan's admin is an active account, `--accounts` names accounts of the organization) and
/// places the first page of accounts; the rest are listed by [`Discovery::finish`] or
/// [`Discovery::hand_out`].
pub async fn discover<'a>(aws: &'a Aws, plan: &'a Plan, narrowing: &Narrowing) -> Result<Discovery<'a>, ScopeError> {
    let mut pages = aws.account_pages().boxed();
    let first = pages.next().await.transpose()?.unwrap_or_default();
    let admin = match &plan.admin {
        Some(admin) => {
            let id = admin.account.get_ref();
            match aws.describe_account(id).await? {
                Some(account) if account.status == AccountStatus::Active => Some(account),
                _ => return Err(ScopeError::AdminNotInOrganization(*id)),
            }
        }
        None => None,
    };
    let mut excluded_by_ou = BTreeSet::new();
    for ou in &plan.organization.exclude_ous {
        excluded_by_ou.extend(aws.accounts_under_ou(&ou.0).await?);
    }
    let (regions, planned) = regions(aws, plan, narrowing)?;
    let mut discovery = Discovery {
        scope: Scope {
            accounts: Vec::new(),
            emails: BTreeMap::new(),
            names: BTreeMap::new(),
            regions_narrowed: regions.len() < planned,
            regions,
            skipped: Vec::new(),
            admin_is_target: false,
        },
        management: aws.caller.account,
        plan,
        narrowing: narrowing.clone(),
        excluded_by_ou,
        placed: Vec::new(),
        pages: Some(pages),
    };
    discovery.scope.admin_is_target = admin.is_some_and(|a| discovery.wanted(&a.id) && discovery.skip(&a).is_none());
    discovery.place(first);
    if let Some(wanted) = &narrowing.accounts {
        discovery.finish().await?;
        let scope = &discovery.scope;
        let listed = |id: &AccountId| scope.accounts.contains(id) || scope.skipped.iter().any(|(s, _)| s == id);
        if let Some(missing) = wanted.iter().find(|id| !listed(id)) {
            return Err(ScopeError::UnknownAccount(*missing));
        }
    }
    Ok(discovery)
}

impl Discovery<'_> {
    /// What was listed.
    pub fn into_scope(self) -> Scope {
        self.scope
    }

    /// Every page is listed (or the listing failed).
    pub fn is_listed(&self) -> bool {
        self.pages.is_none()
    }

    /// Lists every page not listed yet.
    pub async fn finish(&mut self) -> Result<(), ScopeError> {
        while let Some(page) = self.next_page().await {
            self.place(page?);
        }
        Ok(())
    }

    /// Hands the targets to `sink` a page at a time as they are listed, those placed already
    /// first, until the listing ends, fails, or `keep_going` says no.
    pub async fn hand_out(&mut self, mut sink: Sender<Listed>, keep_going: impl Fn() -> bool) {
        let mut listed = Listed::Accounts(std::mem::take(&mut self.placed));
        loop {
            let last = !matches!(listed, Listed::Accounts(_));
            if sink.send(listed).await.is_err() || last || self.is_listed() {
                return;
            }
            listed = match keep_going() {
                false => Listed::Stopped,
                true => match self.next_page().await {
                    None => return,
                    Some(Ok(page)) => {
                        self.place(page);
                        Listed::Accounts(std::mem::take(&mut self.placed))
                    }
                    Some(Err(error)) => Listed::Failed(error),
                },
            };
        }
    }

    async fn next_page(&mut self) -> Option<Result<Vec<OrgAccount>, AwsError>> {
        let page = self.pages.as_mut()?.next().await;
        if !matches!(page, Some(Ok(_))) {
            self.pages = None;
            self.scope.accounts.sort();
            self.scope.skipped.sort_by_key(|a| a.0);
        }
        page
    }

    /// Each account a target, or skipped with why (or out of this run's `--accounts`).
    fn place(&mut self, page: Vec<OrgAccount>) {
        for account in page {
            if !self.wanted(&account.id) {
                continue;
            }
            if !account.name.is_empty() {
                self.scope.names.insert(account.id, account.name.clone());
            }
            match self.skip(&account) {
                Some(reason) => self.scope.skipped.push((account.id, reason)),
                None => {
                    self.scope.emails.insert(account.id, account.email);
                    self.scope.accounts.push(account.id);
                    self.placed.push(account.id);
                }
            }
        }
    }

    fn wanted(&self, account: &AccountId) -> bool {
        self.narrowing.accounts.as_ref().is_none_or(|wanted| wanted.contains(account))
    }

    fn skip(&self, account: &OrgAccount) -> Option<SkipReason> {
        let plan = &self.plan.organization;
        if plan.exclude_accounts.contains(&account.id) {
            Some(SkipReason::ExcludedByPlan)
        } else if self.excluded_by_ou.contains(&account.id) {
            Some(SkipReason::ExcludedOu)
        } else if account.id == self.management && !plan.include_management_account {
            Some(SkipReason::ManagementAccount)
        } else if account.status != AccountStatus::Active {
            Some(SkipReason::AccountNotActive { status: account.status.to_string() })
        } else {
            None
        }
    }
}

/// The run's regions, and how many the plan covers.
fn regions(aws: &Aws, plan: &Plan, narrowing: &Narrowing) -> Result<(Vec<Region>, usize), ScopeError> {
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
    let Some(wanted) = &narrowing.regions else { return Ok((planned.iter().copied().collect(), planned.len())) };
    if let Some(outside) = wanted.iter().find(|r| !planned.contains(*r)) {
        let names: Vec<_> = planned.iter().map(Region::as_str).collect();
        return Err(ScopeError::RegionOutsidePlan(*outside, names.join(", ")));
    }
    Ok((wanted.iter().cloned().collect(), planned.len()))
}
