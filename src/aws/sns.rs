//! SNS in one account and region: the findings topic and its subscriptions.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sns::types::Tag;

use super::limits::Gated;
use super::{json_document, AwsError};
use crate::model::{ObservedSubscription, ObservedTopic};

pub struct Sns {
    api: Gated<aws_sdk_sns::Client>,
}

impl Sns {
    pub(super) fn new(api: Gated<aws_sdk_sns::Client>) -> Self {
        Self { api }
    }

    /// The topic at `arn` with its tags and subscriptions, or None if it does not exist.
    pub async fn find_topic(&self, arn: &str) -> Result<Option<ObservedTopic>, AwsError> {
        let attributes = match self.api.get().await.get_topic_attributes().topic_arn(arn).send().await {
            Ok(output) => output.attributes().cloned().unwrap_or_default(),
            Err(e) => {
                let error = AwsError::from_sdk("sns:GetTopicAttributes", e);
                return if error.code == "NotFound" { Ok(None) } else { Err(error) };
            }
        };
        let tags = self
            .api
            .get()
            .await
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sns:ListTagsForResource", e))?
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        let pages = self
            .api
            .pages(
                |c| c.list_subscriptions_by_topic().topic_arn(arn).into_paginator().send(),
                |p| p.next_token().is_some_and(|t| !t.is_empty()),
            )
            .await
            .map_err(|e| AwsError::from_sdk("sns:ListSubscriptionsByTopic", e))?;
        let mut subscriptions = Vec::new();
        for s in pages.iter().flat_map(|p| p.subscriptions()) {
            let arn = s.subscription_arn().unwrap_or_default().to_owned();
            let mut attributes = match arn.starts_with("arn:") {
                true => self.subscription_attributes(&arn).await?,
                false => Default::default(),
            };
            let mut nonempty = |name: &str| attributes.remove(name).filter(|v| !v.is_empty());
            subscriptions.push(ObservedSubscription {
                protocol: s.protocol().unwrap_or_default().to_owned(),
                endpoint: s.endpoint().unwrap_or_default().to_owned(),
                filter_policy: nonempty("FilterPolicy"),
                redrive_policy: nonempty("RedrivePolicy"),
                arn,
            });
        }
        Ok(Some(ObservedTopic {
            arn: arn.to_owned(),
            display_name: attributes.get("DisplayName").cloned().unwrap_or_default(),
            policy: attributes.get("Policy").and_then(|p| json_document(p)),
            tags,
            subscriptions,
        }))
    }

    async fn subscription_attributes(&self, arn: &str) -> Result<std::collections::HashMap<String, String>, AwsError> {
        let output = self.api.get().await.get_subscription_attributes().subscription_arn(arn).send().await;
        let output = output.map_err(|e| AwsError::from_sdk("sns:GetSubscriptionAttributes", e))?;
        Ok(output.attributes().cloned().unwrap_or_default())
    }

    pub async fn create_topic(
        &self,
        name: &str,
        display_name: &str,
        policy: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        const OPERATION: &str = "sns:CreateTopic";
        let attributes = HashMap::from([
            ("DisplayName".to_owned(), display_name.to_owned()),
            ("Policy".to_owned(), policy.to_owned()),
        ]);
        let output = self
            .api
            .get()
            .await
            .create_topic()
            .name(name)
            .set_attributes(Some(attributes))
            .set_tags(Some(sns_tags(tags, OPERATION)?))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        output.topic_arn().map(str::to_owned).ok_or_else(|| AwsError::malformed(OPERATION, "TopicArn"))
    }

    pub async fn set_attribute(&self, arn: &str, name: &str, value: &str) -> Result<(), AwsError> {
        self.api.get().await
            .set_topic_attributes()
            .topic_arn(arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sns:SetTopicAttributes", e))?;
        Ok(())
    }

    pub async fn tag(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        const OPERATION: &str = "sns:TagResource";
        self.api.get().await
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sns_tags(tags, OPERATION)?))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        Ok(())
    }

    pub async fn subscribe(&self, arn: &str, protocol: &str, endpoint: &str) -> Result<(), AwsError> {
        self.api.get().await
            .subscribe()
            .topic_arn(arn)
            .protocol(protocol)
            .endpoint(endpoint)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sns:Subscribe", e))?;
        Ok(())
    }

    pub async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError> {
        self.api.get().await
            .unsubscribe()
            .subscription_arn(subscription_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sns:Unsubscribe", e))?;
        Ok(())
    }

    /// Deletes the topic and every subscription it still has (SNS: idempotent).
    pub async fn delete_topic(&self, arn: &str) -> Result<(), AwsError> {
        self.api.get().await
            .delete_topic()
            .topic_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sns:DeleteTopic", e))?;
        Ok(())
    }
}

fn sns_tags(tags: &BTreeMap<String, String>, operation: &'static str) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| AwsError {
                operation,
                code: "InvalidParameter".into(),
                message: e.to_string(),
            })
        })
        .collect()
}
