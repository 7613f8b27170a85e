//! Findings: the sample findings a drill makes.

use super::GuardDuty;
use crate::aws::AwsError;

impl GuardDuty {
    /// The account-region's detector id, if it has one (ListDetectors only).
    pub async fn detector_id(&self) -> Result<Option<String>, AwsError> {
        let output = self.api.get().await.list_detectors().send().await;
        let output = output.map_err(|e| AwsError::from_sdk("guardduty:ListDetectors", e))?;
        Ok(output.detector_ids().first().cloned())
    }

    /// One sample finding of each type, marked as a sample by GuardDuty.
    pub async fn create_sample_findings(&self, detector_id: &str, types: &[String]) -> Result<(), AwsError> {
        let call = self.api.get().await.create_sample_findings().detector_id(detector_id).set_finding_types(Some(types.to_vec())).send().await;
        call.map(drop).map_err(|e| AwsError::from_sdk("guardduty:CreateSampleFindings", e))
    }
}
