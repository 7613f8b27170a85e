//! The organization side of GuardDuty: designation (from the management account); as the
//! delegated admin, the organization configuration and members; as a member, its
//! invitation-era relationships.

use std::collections::BTreeMap;

use aws_sdk_guardduty::types::{
    AccountDetail, AutoEnableMembers, OrgFeature, OrgFeatureAdditionalConfiguration, OrgFeatureStatus,
    OrganizationAdditionalConfiguration, OrganizationFeatureConfiguration,
};

use super::{enabled, observe_feature, Agents, GuardDuty};
use crate::aws::AwsError;
use crate::model::{AccountId, AdminSide, Agent, AutoEnable, Feature, MemberStatus, ObservedDetector, ObservedRelationship, Unprocessed};

/// The organization side of GuardDuty: designation (from the management account) and,
/// as the delegated admin, the organization configuration and members.
impl GuardDuty {
    pub async fn list_admins(&self) -> Result<Vec<AccountId>, AwsError> {
        let pages = self
            .api
            .pages(
                |c| c.list_organization_admin_accounts().into_paginator().send(),
                |p| p.next_token().is_some_and(|t| !t.is_empty()),
            )
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListOrganizationAdminAccounts", e))?;
        Ok(pages.iter().flat_map(|p| p.admin_accounts()).filter_map(|a| AccountId::parse(a.admin_account_id()?).ok()).collect())
    }

    pub async fn enable_admin(&self, account: &AccountId) -> Result<(), AwsError> {
        self.api.get().await
            .enable_organization_admin_account()
            .admin_account_id(account.as_str())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:EnableOrganizationAdminAccount", e))?;
        Ok(())
    }

    pub async fn disable_admin(&self, account: &AccountId) -> Result<(), AwsError> {
        self.api.get().await
            .disable_organization_admin_account()
            .admin_account_id(account.as_str())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:DisableOrganizationAdminAccount", e))?;
        Ok(())
    }

    /// What the designated admin sees from its detector: the organization configuration
    /// and every member.
    pub async fn admin_side(&self, detector_id: &str) -> Result<AdminSide, AwsError> {
        let configuration = self
            .api
            .get()
            .await
            .describe_organization_configuration()
            .detector_id(detector_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:DescribeOrganizationConfiguration", e))?;
        let members = self.members(detector_id).await?;
        Ok(AdminSide {
            auto_enable: configuration.auto_enable_organization_members().and_then(|a| AutoEnable::parse(a.as_str())),
            feature_auto_enable: configuration
                .features()
                .iter()
                .filter_map(|f| Some((Feature::parse(f.name()?.as_str())?, mode(f.auto_enable().map(|a| a.as_str())))))
                .collect(),
            agent_auto_enable: configuration
                .features()
                .iter()
                .filter_map(|f| {
                    let agents: BTreeMap<Agent, Option<AutoEnable>> = f
                        .additional_configuration()
                        .iter()
                        .filter_map(|c| Some((Agent::parse(c.name()?.as_str())?, mode(c.auto_enable().map(|a| a.as_str())))))
                        .collect();
                    Some((Feature::parse(f.name()?.as_str())?, agents)).filter(|(_, agents)| !agents.is_empty())
                })
                .collect(),
            members: members
                .iter()
                .filter_map(|m| {
                    Some((AccountId::parse(m.account_id()?).ok()?, MemberStatus::parse(m.relationship_status().unwrap_or_default())))
                })
                .collect(),
            member_detectors: members
                .iter()
                .filter_map(|m| Some((AccountId::parse(m.account_id()?).ok()?, m.detector_id()?.to_owned())))
                .collect(),
        })
    }

    /// Every member the detector's account holds, associated or not.
    async fn members(&self, detector_id: &str) -> Result<Vec<aws_sdk_guardduty::types::Member>, AwsError> {
        let pages = self
            .api
            .pages(
                |c| c.list_members().detector_id(detector_id).only_associated("false").into_paginator().send(),
                |p| p.next_token().is_some_and(|t| !t.is_empty()),
            )
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListMembers", e))?;
        Ok(pages.into_iter().flat_map(|p| p.members.unwrap_or_default()).collect())
    }

    pub async fn update_organization(
        &self,
        detector_id: &str,
        auto_enable: AutoEnable,
        features: &BTreeMap<Feature, AutoEnable>,
        agents: &Agents<AutoEnable>,
    ) -> Result<(), AwsError> {
        let named: std::collections::BTreeSet<Feature> = features.keys().chain(agents.keys()).copied().collect();
        let features = named
            .into_iter()
            .map(|feature| {
                let agents = agents.get(&feature).map(|agents| {
                    agents
                        .iter()
                        .map(|(agent, mode)| {
                            OrganizationAdditionalConfiguration::builder()
                                .name(OrgFeatureAdditionalConfiguration::from(agent.as_str()))
                                .auto_enable(OrgFeatureStatus::from(mode.as_str()))
                                .build()
                        })
                        .collect()
                });
                OrganizationFeatureConfiguration::builder()
                    .name(OrgFeature::from(feature.as_str()))
                    .set_auto_enable(features.get(&feature).map(|mode| OrgFeatureStatus::from(mode.as_str())))
                    .set_additional_configuration(agents)
                    .build()
            })
            .collect::<Vec<_>>();
        self.api.get().await
            .update_organization_configuration()
            .detector_id(detector_id)
            .auto_enable_organization_members(AutoEnableMembers::from(auto_enable.as_str()))
            .set_features((!features.is_empty()).then_some(features))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:UpdateOrganizationConfiguration", e))?;
        Ok(())
    }

    /// Adds up to 50 accounts; returns those GuardDuty did not process, with its reason.
    pub async fn create_members(&self, detector_id: &str, accounts: &[(AccountId, String)]) -> Result<Unprocessed, AwsError> {
        const OPERATION: &str = "guardduty:CreateMembers";
        let details = accounts
            .iter()
            .map(|(id, email)| AccountDetail::builder().account_id(id.as_str()).email(email).build())
            .collect::<Vec<_>>();
        let output = self
            .api
            .get()
            .await
            .create_members()
            .detector_id(detector_id)
            .set_account_details(Some(details))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        Ok(unprocessed(OPERATION, output.unprocessed_accounts()))
    }
}

/// What the admin reads of up to 50 members' detectors with GetMemberDetectors.
#[derive(Debug, Default)]
pub struct MemberDetectors {
    /// Each member's features and agents (GetMemberDetectors gives no id, status or frequency).
    pub features: BTreeMap<AccountId, ObservedDetector>,
    /// Accounts whose detector the admin cannot see, with GuardDuty's reason.
    pub unprocessed: Vec<(String, String)>,
}

impl GuardDuty {
    /// As the admin: the detectors of these members (at most 50), without entering them.
    pub async fn member_detectors(&self, detector_id: &str, accounts: &[AccountId]) -> Result<MemberDetectors, AwsError> {
        let output = self
            .api
            .get()
            .await
            .get_member_detectors()
            .detector_id(detector_id)
            .set_account_ids(Some(accounts.iter().map(|a| a.as_str().to_owned()).collect()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:GetMemberDetectors", e))?;
        let features = output
            .member_data_source_configurations()
            .iter()
            .filter_map(|member| {
                let account = AccountId::parse(member.account_id()?).ok()?;
                let mut detector =
                    ObservedDetector { id: String::new(), enabled: true, frequency: None, features: BTreeMap::new(), agents: BTreeMap::new() };
                for f in member.features() {
                    let agents = f.additional_configuration().iter().map(|c| (c.name().map(|n| n.as_str()), enabled(c.status())));
                    observe_feature(&mut detector, f.name().map(|n| n.as_str()), enabled(f.status()), agents);
                }
                Some((account, detector))
            })
            .collect();
        let unprocessed = unprocessed("guardduty:GetMemberDetectors", output.unprocessed_accounts()).accounts;
        Ok(MemberDetectors { features, unprocessed })
    }
}

/// A member account's side of its relationships: its administrator and pending invitations.
impl GuardDuty {
    pub async fn relationship(&self, detector_id: &str) -> Result<ObservedRelationship, AwsError> {
        let administrator = self
            .api
            .get()
            .await
            .get_administrator_account()
            .detector_id(detector_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:GetAdministratorAccount", e))?;
        let pages = self
            .api
            .pages(|c| c.list_invitations().into_paginator().send(), |p| p.next_token().is_some_and(|t| !t.is_empty()))
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListInvitations", e))?;
        let invitations: Vec<_> = pages.iter().flat_map(|p| p.invitations()).collect();
        Ok(ObservedRelationship {
            administrator: administrator
                .administrator()
                .filter(|a| a.relationship_status().map(MemberStatus::parse) == Some(MemberStatus::Enabled))
                .and_then(|a| AccountId::parse(a.account_id()?).ok()),
            invitations: invitations.iter().filter_map(|i| AccountId::parse(i.account_id()?).ok()).collect(),
        })
    }

    /// Leaves the administrator the account is associated with (an invitation-era one).
    pub async fn leave_administrator(&self, detector_id: &str) -> Result<(), AwsError> {
        self.api.get().await
            .disassociate_from_administrator_account()
            .detector_id(detector_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:DisassociateFromAdministratorAccount", e))?;
        Ok(())
    }

    /// Declines the invitations; returns those GuardDuty did not process.
    pub async fn decline_invitations(&self, from: &[AccountId]) -> Result<Unprocessed, AwsError> {
        const OPERATION: &str = "guardduty:DeclineInvitations";
        let output = self
            .api
            .get()
            .await
            .decline_invitations()
            .set_account_ids(Some(from.iter().map(|a| a.as_str().to_owned()).collect()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        Ok(unprocessed(OPERATION, output.unprocessed_accounts()))
    }
}

impl GuardDuty {
    /// As an administrator, ends these members' association (up to 50), or with `delete`
    /// deletes their records; returns those GuardDuty did not process.
    pub async fn remove_members(&self, detector_id: &str, accounts: &[AccountId], delete: bool) -> Result<Unprocessed, AwsError> {
        let ids: Vec<String> = accounts.iter().map(|a| a.as_str().to_owned()).collect();
        let api = self.api.get().await;
        let (operation, output) = match delete {
            true => {
                const OPERATION: &str = "guardduty:DeleteMembers";
                let sent = api.delete_members().detector_id(detector_id).set_account_ids(Some(ids)).send().await;
                (OPERATION, sent.map_err(|e| AwsError::from_sdk(OPERATION, e))?.unprocessed_accounts)
            }
            false => {
                const OPERATION: &str = "guardduty:DisassociateMembers";
                let sent = api.disassociate_members().detector_id(detector_id).set_account_ids(Some(ids)).send().await;
                (OPERATION, sent.map_err(|e| AwsError::from_sdk(OPERATION, e))?.unprocessed_accounts)
            }
        };
        Ok(unprocessed(operation, &output.unwrap_or_default()))
    }
}

/// GuardDuty's UnprocessedAccounts, every one kept, whatever its account id looks like.
fn unprocessed(operation: &'static str, accounts: &[aws_sdk_guardduty::types::UnprocessedAccount]) -> Unprocessed {
    let accounts = accounts
        .iter()
        .map(|u| (u.account_id().unwrap_or("(no account id)").to_owned(), u.result().unwrap_or_default().to_owned()))
        .collect();
    Unprocessed { operation, accounts }
}

/// An organization auto-enable mode (None: one this version does not know); GuardDuty
/// leaves one out for NONE.
fn mode(text: Option<&str>) -> Option<AutoEnable> {
    AutoEnable::parse(text.unwrap_or("NONE"))
}
