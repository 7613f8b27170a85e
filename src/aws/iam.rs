//! IAM in one account (global): the role EventBridge assumes and its publishing policy.

use futures::TryFutureExt;

use super::limits::Gated;
use super::{json_document, AwsError};
use crate::model::{ObservedIam, ObservedPolicy};

pub struct Iam {
    api: Gated<aws_sdk_iam::Client>,
}

impl Iam {
    pub(super) fn new(api: Gated<aws_sdk_iam::Client>) -> Self {
        Self { api }
    }

    pub async fn observe(&self, role: &str, policy_arn: &str) -> Result<ObservedIam, AwsError> {
        let role_trust = match self.api.get().await.get_role().role_name(role).send().await {
            Ok(output) => Some(
                output
                    .role()
                    .and_then(|r| r.assume_role_policy_document())
                    .and_then(url_json)
                    .unwrap_or_default(),
            ),
            Err(e) => absent(AwsError::from_sdk("iam:GetRole", e))?,
        };
        let mut attached = Vec::new();
        if role_trust.is_some() {
            let pages = self
                .api
                .pages(|c| c.list_attached_role_policies().role_name(role).into_paginator().send(), |p| p.is_truncated)
                .await
                .map_err(|e| AwsError::from_sdk("iam:ListAttachedRolePolicies", e))?;
            attached = pages.iter().flat_map(|p| p.attached_policies()).filter_map(|p| p.policy_arn().map(str::to_owned)).collect();
        }
        let policy = match self.api.get().await.get_policy().policy_arn(policy_arn).send().await {
            Ok(found) => Some(self.policy(policy_arn, found.policy().and_then(|p| p.attachment_count()).unwrap_or(0)).await?),
            Err(e) => absent(AwsError::from_sdk("iam:GetPolicy", e))?,
        };
        let (ours, others_attached): (Vec<String>, Vec<String>) = attached.into_iter().partition(|a| a == policy_arn);
        Ok(ObservedIam { role_trust, policy, attached: !ours.is_empty(), others_attached })
    }

    async fn policy(&self, arn: &str, attachments: i32) -> Result<ObservedPolicy, AwsError> {
        let pages = self
            .api
            .pages(|c| c.list_policy_versions().policy_arn(arn).into_paginator().send(), |p| p.is_truncated)
            .await
            .map_err(|e| AwsError::from_sdk("iam:ListPolicyVersions", e))?;
        let mut versions: Vec<_> = pages.into_iter().flat_map(|p| p.versions.unwrap_or_default()).collect();
        versions.sort_by_key(|v| v.create_date().copied());
        let default = versions.iter().find(|v| v.is_default_version()).and_then(|v| v.version_id());
        let document = match default {
            Some(version) => self
                .api
                .get()
                .await
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .map_err(|e| AwsError::from_sdk("iam:GetPolicyVersion", e))
                .await?
                .policy_version()
                .and_then(|v| v.document())
                .and_then(url_json),
            None => None,
        };
        Ok(ObservedPolicy {
            document: document.unwrap_or(serde_json::Value::Null),
            attachments,
            old_versions: versions
                .iter()
                .filter(|v| !v.is_default_version())
                .filter_map(|v| v.version_id().map(str::to_owned))
                .collect(),
        })
    }

    pub async fn create_role(&self, role: &str, trust: &str) -> Result<(), AwsError> {
        self.api.get().await
            .create_role()
            .role_name(role)
            .assume_role_policy_document(trust)
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::from_sdk("iam:CreateRole", e))
            .or_else(already_there)
    }

    pub async fn update_trust(&self, role: &str, trust: &str) -> Result<(), AwsError> {
        self.api.get().await
            .update_assume_role_policy()
            .role_name(role)
            .policy_document(trust)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:UpdateAssumeRolePolicy", e))?;
        Ok(())
    }

    pub async fn create_policy(&self, name: &str, document: &str) -> Result<(), AwsError> {
        self.api.get().await
            .create_policy()
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::from_sdk("iam:CreatePolicy", e))
            .or_else(already_there)
    }

    /// A new default version; the oldest non-default one goes first when IAM's five are used.
    pub async fn new_policy_version(&self, arn: &str, document: &str, delete_first: Option<&str>) -> Result<(), AwsError> {
        if let Some(version) = delete_first {
            self.api.get().await
                .delete_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("iam:DeletePolicyVersion", e))?;
        }
        self.api.get().await
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:CreatePolicyVersion", e))?;
        Ok(())
    }

    pub async fn attach(&self, role: &str, policy_arn: &str) -> Result<(), AwsError> {
        self.api.get().await
            .attach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("iam:AttachRolePolicy", e))?;
        Ok(())
    }

    /// What else the role has, which IAM refuses to delete it with: inline policies and
    /// instance profiles.
    pub async fn role_holds(&self, role: &str) -> Result<Vec<String>, AwsError> {
        let inline = self
            .api
            .pages(|c| c.list_role_policies().role_name(role).into_paginator().send(), |p| p.is_truncated)
            .await
            .map_err(|e| AwsError::from_sdk("iam:ListRolePolicies", e))?;
        let profiles = self
            .api
            .pages(|c| c.list_instance_profiles_for_role().role_name(role).into_paginator().send(), |p| p.is_truncated)
            .await
            .map_err(|e| AwsError::from_sdk("iam:ListInstanceProfilesForRole", e))?;
        let inline = inline.iter().flat_map(|p| p.policy_names()).map(|n| format!("inline policy {n}"));
        let profiles = profiles.iter().flat_map(|p| p.instance_profiles()).map(|i| format!("instance profile {}", i.instance_profile_name()));
        Ok(inline.chain(profiles).collect())
    }

    pub async fn detach(&self, role: &str, policy_arn: &str) -> Result<(), AwsError> {
        let detached = self.api.get().await.detach_role_policy().role_name(role).policy_arn(policy_arn).send().await;
        detached.map(drop).map_err(|e| AwsError::from_sdk("iam:DetachRolePolicy", e)).or_else(gone)
    }

    /// Deletes the policy's non-default versions, then the policy (IAM refuses it otherwise).
    pub async fn delete_policy(&self, arn: &str, old_versions: &[String]) -> Result<(), AwsError> {
        for version in old_versions {
            let deleted = self.api.get().await.delete_policy_version().policy_arn(arn).version_id(version).send().await;
            deleted.map(drop).map_err(|e| AwsError::from_sdk("iam:DeletePolicyVersion", e)).or_else(gone)?;
        }
        let deleted = self.api.get().await.delete_policy().policy_arn(arn).send().await;
        deleted.map(drop).map_err(|e| AwsError::from_sdk("iam:DeletePolicy", e)).or_else(gone)
    }

    pub async fn delete_role(&self, role: &str) -> Result<(), AwsError> {
        let deleted = self.api.get().await.delete_role().role_name(role).send().await;
        deleted.map(drop).map_err(|e| AwsError::from_sdk("iam:DeleteRole", e)).or_else(gone)
    }
}

/// IAM returns policy documents URL-encoded.
fn url_json(text: &str) -> Option<serde_json::Value> {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
    json_document(&decoded)
}

/// A create whose first answer was lost and whose retry finds the entity made by that
/// first attempt has done its job.
fn already_there(error: AwsError) -> Result<(), AwsError> {
    if error.code == "EntityAlreadyExists" {
        Ok(())
    } else {
        Err(error)
    }
}

/// A delete whose first answer was lost and whose retry finds the entity gone has done its job.
fn gone(error: AwsError) -> Result<(), AwsError> {
    absent::<()>(error).map(drop)
}

/// NoSuchEntity means "not there", which is a state, not a failure.
fn absent<T>(error: AwsError) -> Result<Option<T>, AwsError> {
    if error.code == "NoSuchEntity" {
        Ok(None)
    } else {
        Err(error)
    }
}
