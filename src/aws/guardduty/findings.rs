//! Findings: the sample findings a drill makes.

use aws_sdk_guardduty::types::{Condition, FindingCriteria};

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

    /// Whether a finding of the type updated since `since_ms` (epoch milliseconds) is archived:
    /// a suppression rule archived it as it was made, and GuardDuty did not send it on.
    pub async fn archived_since(&self, detector_id: &str, finding_type: &str, since_ms: i64) -> Result<bool, AwsError> {
        let equals = |value: &str| Condition::builder().equals(value).build();
        let criteria = FindingCriteria::builder()
            .criterion("type", equals(finding_type))
            .criterion("service.archived", equals("true"))
            .criterion("updatedAt", Condition::builder().greater_than_or_equal(since_ms).build())
            .build();
        let call = self.api.get().await.list_findings().detector_id(detector_id).finding_criteria(criteria).max_results(1).send().await;
        Ok(!call.map_err(|e| AwsError::from_sdk("guardduty:ListFindings", e))?.finding_ids().is_empty())
    }
}
