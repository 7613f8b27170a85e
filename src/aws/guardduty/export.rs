//! Findings export: the publishing destination of the delegated admin's detector.

use aws_sdk_guardduty::types::{DestinationProperties, DestinationType};

use super::GuardDuty;
use crate::aws::AwsError;
use crate::model::{DestinationStatus, ObservedDestination};

/// Where a destination publishes: the bucket (and prefix), the key, and the account that must
/// own the bucket (GuardDuty then refuses a bucket someone else holds under that name).
pub struct Destination<'a> {
    pub arn: &'a str,
    pub kms_key_arn: &'a str,
    pub expected_owner: Option<&'a str>,
}

impl Destination<'_> {
    fn properties(&self) -> DestinationProperties {
        let properties = DestinationProperties::builder().destination_arn(self.arn).kms_key_arn(self.kms_key_arn);
        properties.set_expected_bucket_owner(self.expected_owner.map(str::to_owned)).build()
    }
}

impl GuardDuty {
    /// Every publishing destination of the detector: List, then Describe each.
    pub async fn destinations(&self, detector_id: &str) -> Result<Vec<ObservedDestination>, AwsError> {
        let pages = self
            .api
            .pages(
                |c| c.list_publishing_destinations().detector_id(detector_id).into_paginator().send(),
                |p| p.next_token().is_some_and(|t| !t.is_empty()),
            )
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListPublishingDestinations", e))?;
        let ids: Vec<String> = pages.into_iter().flat_map(|p| p.destinations.unwrap_or_default()).filter_map(|d| d.destination_id).collect();
        let mut destinations = Vec::new();
        for id in ids {
            let got = self.api.get().await.describe_publishing_destination().detector_id(detector_id).destination_id(&id).send().await;
            let got = got.map_err(|e| AwsError::from_sdk("guardduty:DescribePublishingDestination", e))?;
            let properties = got.destination_properties();
            destinations.push(ObservedDestination {
                destination_arn: properties.and_then(|p| p.destination_arn()).unwrap_or_default().to_owned(),
                kms_key_arn: properties.and_then(|p| p.kms_key_arn()).unwrap_or_default().to_owned(),
                expected_owner: properties.and_then(|p| p.expected_bucket_owner()).map(str::to_owned),
                status: DestinationStatus::parse(got.status().map_or("", |s| s.as_str())),
                id,
            });
        }
        Ok(destinations)
    }

    /// Creates the S3 destination; returns its id.
    pub async fn create_destination(&self, detector_id: &str, target: &Destination<'_>) -> Result<String, AwsError> {
        const OPERATION: &str = "guardduty:CreatePublishingDestination";
        let properties = target.properties();
        let sent = self.api.get().await.create_publishing_destination().detector_id(detector_id).destination_type(DestinationType::S3);
        let created = sent.destination_properties(properties).send().await.map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        created.destination_id.ok_or_else(|| AwsError::malformed(OPERATION, "DestinationId"))
    }

    pub async fn update_destination(&self, detector_id: &str, id: &str, target: &Destination<'_>) -> Result<(), AwsError> {
        let properties = target.properties();
        let sent = self.api.get().await.update_publishing_destination().detector_id(detector_id).destination_id(id);
        sent.destination_properties(properties).send().await.map(drop).map_err(|e| AwsError::from_sdk("guardduty:UpdatePublishingDestination", e))
    }

    pub async fn delete_destination(&self, detector_id: &str, id: &str) -> Result<(), AwsError> {
        let sent = self.api.get().await.delete_publishing_destination().detector_id(detector_id).destination_id(id).send().await;
        sent.map(drop).map_err(|e| AwsError::from_sdk("guardduty:DeletePublishingDestination", e))
    }
}
