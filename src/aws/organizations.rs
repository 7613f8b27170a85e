//! Organizations, from the management account: the accounts and the OUs they sit in.

use aws_smithy_async::future::pagination_stream::PaginationStream;

use super::limits::paged;
use super::{Aws, AwsError};
use crate::model::AccountId;

/// A member of the organization as ListAccounts reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: AccountId,
    pub email: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE, or a status this version does not know.
    pub status: String,
}

impl Aws {
    /// Every page of an Organizations call, each within the organization-wide budget.
    async fn organizations<P, E>(
        &self,
        call: impl FnOnce(&aws_sdk_organizations::Client) -> PaginationStream<Result<P, E>>,
        has_more: impl Fn(&P) -> bool,
    ) -> Result<Vec<P>, E> {
        let client = aws_sdk_organizations::Client::new(&self.base);
        paged(call(&client), has_more, || self.limits.organizations()).await
    }

    /// Every account of the organization, all pages.
    pub async fn list_accounts(&self) -> Result<Vec<OrgAccount>, AwsError> {
        let pages = self
            .organizations(|c| c.list_accounts().into_paginator().send(), |p| p.next_token().is_some_and(|t| !t.is_empty()))
            .await
            .map_err(|e| AwsError::from_sdk("organizations:ListAccounts", e))?;
        Ok(pages
            .iter()
            .flat_map(|page| page.accounts())
            .filter_map(|a| {
                Some(OrgAccount {
                    id: AccountId::parse(a.id()?).ok()?,
                    email: a.email().unwrap_or_default().to_owned(),
                    status: a.status().map_or("UNKNOWN", |s| s.as_str()).to_owned(),
                })
            })
            .collect())
    }

    /// The accounts in an OU and in every OU below it.
    pub async fn accounts_under_ou(&self, ou: &str) -> Result<Vec<AccountId>, AwsError> {
        let more = |token: Option<&str>| token.is_some_and(|t| !t.is_empty());
        let mut pending = vec![ou.to_owned()];
        let mut accounts = Vec::new();
        while let Some(parent) = pending.pop() {
            let direct = self
                .organizations(|c| c.list_accounts_for_parent().parent_id(&parent).into_paginator().send(), |p| more(p.next_token()))
                .await
                .map_err(|e| AwsError::from_sdk("organizations:ListAccountsForParent", e))?;
            accounts.extend(direct.iter().flat_map(|page| page.accounts()).filter_map(|a| AccountId::parse(a.id()?).ok()));
            let children = self
                .organizations(
                    |c| c.list_organizational_units_for_parent().parent_id(&parent).into_paginator().send(),
                    |p| more(p.next_token()),
                )
                .await
                .map_err(|e| AwsError::from_sdk("organizations:ListOrganizationalUnitsForParent", e))?;
            pending.extend(children.iter().flat_map(|page| page.organizational_units()).filter_map(|ou| ou.id().map(str::to_owned)));
        }
        Ok(accounts)
    }
}
