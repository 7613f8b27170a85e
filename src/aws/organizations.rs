//! Organizations, from the management account: the accounts and the OUs they sit in.

use aws_smithy_async::future::pagination_stream::PaginationStream;
use futures::{Stream, StreamExt, TryStreamExt};

use super::limits::paged;
use super::{Aws, AwsError};
use crate::model::{AccountId, AccountStatus};

/// A member of the organization as ListAccounts reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: AccountId,
    /// The name people know the account by.
    pub name: String,
    pub email: String,
    pub status: AccountStatus,
}

impl Aws {
    fn organizations_client(&self) -> aws_sdk_organizations::Client {
        let partition = super::retry::partition("orgguard-organizations".into());
        super::client!(aws_sdk_organizations, &self.base, partition, super::retry::ThrottleBudget::new(self.limits.throttle_budget, None))
    }

    /// Every page of an Organizations call, each within the organization-wide budget.
    fn organizations<'a, P: 'a, E: 'a>(
        &'a self,
        call: impl FnOnce(&aws_sdk_organizations::Client) -> PaginationStream<Result<P, E>>,
        has_more: impl Fn(&P) -> bool + 'a,
    ) -> impl Stream<Item = Result<P, E>> + 'a {
        paged(call(&self.organizations_client()), has_more, || self.limits.organizations())
    }

    /// The organization's accounts a ListAccounts page at a time, each page listed when the
    /// one before has been taken.
    pub fn account_pages(&self) -> impl Stream<Item = Result<Vec<OrgAccount>, AwsError>> + '_ {
        self.organizations(|c| c.list_accounts().into_paginator().send(), |p| more(p.next_token())).map(|page| {
            let page = page.map_err(|e| AwsError::from_sdk("organizations:ListAccounts", e))?;
            Ok(page.accounts().iter().filter_map(|a| org_account(a.id()?, a.name(), a.email(), a.status())).collect())
        })
    }

    /// One account as the organization knows it; None when it is not in the organization.
    pub async fn describe_account(&self, id: &AccountId) -> Result<Option<OrgAccount>, AwsError> {
        self.limits.organizations().await;
        match self.organizations_client().describe_account().account_id(id.as_str()).send().await {
            Ok(output) => Ok(output.account().and_then(|a| org_account(a.id()?, a.name(), a.email(), a.status()))),
            Err(error) => match AwsError::from_sdk("organizations:DescribeAccount", error) {
                error if error.code == "AccountNotFoundException" => Ok(None),
                error => Err(error),
            },
        }
    }

    /// The accounts in an OU and in every OU below it.
    pub async fn accounts_under_ou(&self, ou: &str) -> Result<Vec<AccountId>, AwsError> {
        let mut pending = vec![ou.to_owned()];
        let mut accounts = Vec::new();
        while let Some(parent) = pending.pop() {
            let direct = self
                .organizations(|c| c.list_accounts_for_parent().parent_id(&parent).into_paginator().send(), |p| more(p.next_token()))
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| AwsError::from_sdk("organizations:ListAccountsForParent", e))?;
            accounts.extend(direct.iter().flat_map(|page| page.accounts()).filter_map(|a| AccountId::parse(a.id()?).ok()));
            let children = self
                .organizations(
                    |c| c.list_organizational_units_for_parent().parent_id(&parent).into_paginator().send(),
                    |p| more(p.next_token()),
                )
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| AwsError::from_sdk("organizations:ListOrganizationalUnitsForParent", e))?;
            pending.extend(children.iter().flat_map(|page| page.organizational_units()).filter_map(|ou| ou.id().map(str::to_owned)));
        }
        Ok(accounts)
    }
}

/// A page token that asks for another page.
fn more(token: Option<&str>) -> bool {
    token.is_some_and(|t| !t.is_empty())
}

fn org_account(
    id: &str,
    name: Option<&str>,
    email: Option<&str>,
    status: Option<&aws_sdk_organizations::types::AccountStatus>,
) -> Option<OrgAccount> {
    Some(OrgAccount {
        id: AccountId::parse(id).ok()?,
        name: name.unwrap_or_default().to_owned(),
        email: email.unwrap_or_default().to_owned(),
        status: AccountStatus::parse(status.map_or("UNKNOWN", |s| s.as_str())),
    })
}
