//! GuardDuty in one account and region: read and change the detector.

use std::collections::BTreeMap;

use aws_sdk_guardduty::types::{
    DetectorFeature, DetectorFeatureConfiguration, DetectorStatus, FeatureStatus, FindingPublishingFrequency,
};

use super::AwsError;
use crate::model::{DetectorSettings, Feature, Frequency, ObservedDetector};

pub struct GuardDuty {
    client: aws_sdk_guardduty::Client,
}

impl GuardDuty {
    pub(super) fn new(client: aws_sdk_guardduty::Client) -> Self {
        Self { client }
    }

    /// The account-region's detector, if it has one (GuardDuty allows at most one).
    pub async fn find_detector(&self) -> Result<Option<ObservedDetector>, AwsError> {
        let ids: Vec<String> = self
            .client
            .list_detectors()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListDetectors", e))?;
        let Some(id) = ids.into_iter().next() else { return Ok(None) };
        let output = self
            .client
            .get_detector()
            .detector_id(&id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:GetDetector", e))?;
        let features = output
            .features()
            .iter()
            .filter_map(|f| {
                let feature = Feature::parse(f.name()?.as_str())?;
                Some((feature, f.status() == Some(&FeatureStatus::Enabled)))
            })
            .collect::<BTreeMap<_, _>>();
        Ok(Some(ObservedDetector {
            id,
            enabled: output.status() == Some(&DetectorStatus::Enabled),
            frequency: output.finding_publishing_frequency().and_then(|f| Frequency::parse(f.as_str())),
            features,
        }))
    }

    pub async fn create_detector(&self, settings: &DetectorSettings) -> Result<String, AwsError> {
        const OPERATION: &str = "guardduty:CreateDetector";
        let output = self
            .client
            .create_detector()
            .enable(settings.enabled)
            .finding_publishing_frequency(FindingPublishingFrequency::from(settings.frequency.as_str()))
            .set_features(Some(feature_configurations(&settings.features)))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        output.detector_id().map(str::to_owned).ok_or_else(|| AwsError {
            operation: OPERATION,
            code: "MalformedResponse".into(),
            message: "the response has no DetectorId".into(),
        })
    }

    /// Changes only what is given: GuardDuty leaves unnamed features as they are.
    pub async fn update_detector(
        &self,
        detector_id: &str,
        enable: Option<bool>,
        frequency: Option<Frequency>,
        features: &BTreeMap<Feature, bool>,
    ) -> Result<(), AwsError> {
        self.client
            .update_detector()
            .detector_id(detector_id)
            .set_enable(enable)
            .set_finding_publishing_frequency(frequency.map(|f| FindingPublishingFrequency::from(f.as_str())))
            .set_features((!features.is_empty()).then(|| feature_configurations(features)))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:UpdateDetector", e))?;
        Ok(())
    }
}

fn feature_configurations(features: &BTreeMap<Feature, bool>) -> Vec<DetectorFeatureConfiguration> {
    features
        .iter()
        .map(|(feature, on)| {
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::from(feature.as_str()))
                .status(if *on { FeatureStatus::Enabled } else { FeatureStatus::Disabled })
                .build()
        })
        .collect()
}
