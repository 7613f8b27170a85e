//! GuardDuty in one account and region: read and change the detector. The organization's
//! side (designation, configuration, members, relationships) is in `organization`.

mod coverage;
mod export;
mod filters;
mod findings;
mod lists;
mod organization;

pub use export::Destination;
pub use filters::Filter;
pub use lists::ListFile;
pub use organization::MemberDetectors;

use std::collections::BTreeMap;

use aws_sdk_guardduty::types::{
    DetectorAdditionalConfiguration, DetectorFeature, DetectorFeatureConfiguration, DetectorStatus, FeatureAdditionalConfiguration,
    FeatureStatus, FindingPublishingFrequency,
};

use super::limits::Gated;
use super::AwsError;
use crate::model::{Agent, DetectorSettings, Feature, Frequency, ObservedDetector};

/// Per feature, a value per agent (its status, or its organization auto-enable mode).
pub type Agents<T> = BTreeMap<Feature, BTreeMap<Agent, T>>;

pub struct GuardDuty {
    api: Gated<aws_sdk_guardduty::Client>,
}

impl GuardDuty {
    pub(super) fn new(api: Gated<aws_sdk_guardduty::Client>) -> Self {
        Self { api }
    }

    /// The account-region's detector, if it has one (GuardDuty allows at most one).
    pub async fn find_detector(&self) -> Result<Option<ObservedDetector>, AwsError> {
        let pages = self
            .api
            .pages(|c| c.list_detectors().into_paginator().send(), |p| p.next_token().is_some_and(|t| !t.is_empty()))
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListDetectors", e))?;
        let Some(id) = pages.iter().flat_map(|p| p.detector_ids()).next().cloned() else { return Ok(None) };
        let output = self
            .api
            .get()
            .await
            .get_detector()
            .detector_id(&id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:GetDetector", e))?;
        let mut detector = ObservedDetector {
            id,
            enabled: output.status() == Some(&DetectorStatus::Enabled),
            frequency: output.finding_publishing_frequency().and_then(|f| Frequency::parse(f.as_str())),
            features: BTreeMap::new(),
            agents: BTreeMap::new(),
        };
        for f in output.features() {
            let agents = f.additional_configuration().iter().map(|c| (c.name().map(|n| n.as_str()), enabled(c.status())));
            observe_feature(&mut detector, f.name().map(|n| n.as_str()), enabled(f.status()), agents);
        }
        Ok(Some(detector))
    }

    pub async fn create_detector(&self, settings: &DetectorSettings) -> Result<String, AwsError> {
        const OPERATION: &str = "guardduty:CreateDetector";
        let output = self
            .api
            .get()
            .await
            .create_detector()
            .enable(settings.enabled)
            .finding_publishing_frequency(FindingPublishingFrequency::from(settings.frequency.as_str()))
            .set_features(Some(feature_configurations(&settings.features, &settings.agents_by_feature())))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        output.detector_id().map(str::to_owned).ok_or_else(|| AwsError::malformed(OPERATION, "DetectorId"))
    }

    /// Changes only what is given: GuardDuty leaves unnamed features and agents as they are.
    pub async fn update_detector(
        &self,
        detector_id: &str,
        enable: Option<bool>,
        frequency: Option<Frequency>,
        features: &BTreeMap<Feature, bool>,
        agents: &Agents<bool>,
    ) -> Result<(), AwsError> {
        self.api.get().await
            .update_detector()
            .detector_id(detector_id)
            .set_enable(enable)
            .set_finding_publishing_frequency(frequency.map(|f| FindingPublishingFrequency::from(f.as_str())))
            .set_features((!features.is_empty() || !agents.is_empty()).then(|| feature_configurations(features, agents)))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:UpdateDetector", e))?;
        Ok(())
    }

    /// Deletes the detector, and with it the account-region's findings and configuration.
    pub async fn delete_detector(&self, detector_id: &str) -> Result<(), AwsError> {
        self.api.get().await
            .delete_detector()
            .detector_id(detector_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:DeleteDetector", e))?;
        Ok(())
    }
}

/// One entry per feature named: its status if given, its agents if any (an entry with
/// agents and no status changes only the agents).
fn feature_configurations(features: &BTreeMap<Feature, bool>, agents: &Agents<bool>) -> Vec<DetectorFeatureConfiguration> {
    let named: std::collections::BTreeSet<Feature> = features.keys().chain(agents.keys()).copied().collect();
    named
        .into_iter()
        .map(|feature| {
            let agents = agents.get(&feature).map(|agents| {
                agents
                    .iter()
                    .map(|(agent, on)| {
                        DetectorAdditionalConfiguration::builder()
                            .name(FeatureAdditionalConfiguration::from(agent.as_str()))
                            .status(status(*on))
                            .build()
                    })
                    .collect()
            });
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::from(feature.as_str()))
                .set_status(features.get(&feature).map(|on| status(*on)))
                .set_additional_configuration(agents)
                .build()
        })
        .collect()
}

fn enabled(status: Option<&FeatureStatus>) -> bool {
    status == Some(&FeatureStatus::Enabled)
}

/// Records a feature as read, with its agents; names this version does not know are left out.
fn observe_feature<'a>(
    detector: &mut ObservedDetector,
    name: Option<&str>,
    on: bool,
    agents: impl Iterator<Item = (Option<&'a str>, bool)>,
) {
    let Some(feature) = name.and_then(Feature::parse) else { return };
    detector.features.insert(feature, on);
    let agents: BTreeMap<Agent, bool> = agents.filter_map(|(name, on)| Some((Agent::parse(name?)?, on))).collect();
    if !agents.is_empty() {
        detector.agents.insert(feature, agents);
    }
}

fn status(on: bool) -> FeatureStatus {
    if on {
        FeatureStatus::Enabled
    } else {
        FeatureStatus::Disabled
    }
}
