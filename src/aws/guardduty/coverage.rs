//! Runtime Monitoring coverage, read at the delegated admin for every member at once.

use aws_sdk_guardduty::types::{CoverageResource, CoverageStatisticsType, CoverageStatus};

use super::GuardDuty;
use crate::aws::AwsError;
use crate::model::{AccountId, CoveredResource};

/// ListCoverage's largest page.
const PAGE: i32 = 50;

impl GuardDuty {
    /// Every resource Runtime Monitoring covers for the detector's account and its members.
    /// GetCoverageStatistics first, so that a region with none costs one call; then
    /// ListCoverage in pages of 50: calls in proportion to resources, not to accounts.
    pub async fn coverage(&self, detector_id: &str) -> Result<Vec<CoveredResource>, AwsError> {
        let statistics = self
            .api
            .get()
            .await
            .get_coverage_statistics()
            .detector_id(detector_id)
            .statistics_type(CoverageStatisticsType::CountByCoverageStatus)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:GetCoverageStatistics", e))?;
        let counts = statistics.coverage_statistics().and_then(|s| s.count_by_coverage_status());
        if counts.is_none_or(|counts| counts.values().sum::<i64>() == 0) {
            return Ok(Vec::new());
        }
        let pages = self
            .api
            .pages(
                |c| c.list_coverage().detector_id(detector_id).max_results(PAGE).into_paginator().send(),
                |p| p.next_token().is_some_and(|t| !t.is_empty()),
            )
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListCoverage", e))?;
        Ok(pages.into_iter().flat_map(|p| p.resources.unwrap_or_default()).filter_map(covered).collect())
    }
}

/// A resource of an account GuardDuty names; one without an account id says nothing to judge.
fn covered(resource: CoverageResource) -> Option<CoveredResource> {
    let account = AccountId::parse(resource.account_id()?).ok()?;
    let resource_type = resource.resource_details().and_then(|d| d.resource_type()).map_or("unknown", |t| t.as_str());
    Some(CoveredResource {
        account,
        resource_type: resource_type.to_owned(),
        id: resource.resource_id().unwrap_or_default().to_owned(),
        healthy: resource.coverage_status() == Some(&CoverageStatus::Healthy),
        issue: resource.issue().filter(|i| !i.is_empty()).map(str::to_owned),
    })
}
