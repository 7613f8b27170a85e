//! Trusted IP lists (IP sets) and threat intel sets on the delegated admin's detector: two
//! families of calls with the same shape, one arm each.

use aws_sdk_guardduty::types::{IpSetFormat, ThreatIntelSetFormat};

use super::GuardDuty;
use crate::aws::AwsError;
use crate::model::{ListFormat, ListKind, ListStatus, ObservedList};

/// Where a list's file is, and the account that must own its bucket.
pub struct ListFile<'a> {
    pub location: &'a str,
    pub owner: Option<String>,
}

impl GuardDuty {
    /// Every list of both kinds on the detector: List*, then Get* each.
    pub async fn lists(&self, detector_id: &str) -> Result<Vec<ObservedList>, AwsError> {
        let more = |token: Option<&str>| token.is_some_and(|t| !t.is_empty());
        let trusted = self
            .api
            .pages(|c| c.list_ip_sets().detector_id(detector_id).into_paginator().send(), |p| more(p.next_token()))
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListIPSets", e))?;
        let threat = self
            .api
            .pages(|c| c.list_threat_intel_sets().detector_id(detector_id).into_paginator().send(), |p| more(p.next_token()))
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListThreatIntelSets", e))?;
        let trusted = trusted.into_iter().flat_map(|p| p.ip_set_ids).flatten().map(|id| (ListKind::Trusted, id));
        let threat = threat.into_iter().flat_map(|p| p.threat_intel_set_ids).flatten().map(|id| (ListKind::Threat, id));
        let mut lists = Vec::new();
        for (kind, id) in trusted.chain(threat).collect::<Vec<_>>() {
            lists.push(self.list(detector_id, kind, id).await?);
        }
        Ok(lists)
    }

    pub async fn list(&self, detector_id: &str, kind: ListKind, id: String) -> Result<ObservedList, AwsError> {
        let api = self.api.get().await;
        let (name, format, location, status, expected_owner) = match kind {
            ListKind::Trusted => {
                let got = api.get_ip_set().detector_id(detector_id).ip_set_id(&id).send().await;
                let got = got.map_err(|e| AwsError::from_sdk("guardduty:GetIPSet", e))?;
                (got.name, got.format.map(|f| f.as_str().to_owned()), got.location, got.status.map(|s| s.as_str().to_owned()), got.expected_bucket_owner)
            }
            ListKind::Threat => {
                let got = api.get_threat_intel_set().detector_id(detector_id).threat_intel_set_id(&id).send().await;
                let got = got.map_err(|e| AwsError::from_sdk("guardduty:GetThreatIntelSet", e))?;
                let format = got.format.map(|f| f.as_str().to_owned());
                (got.name, format, got.location, got.status.map(|s| s.as_str().to_owned()), got.expected_bucket_owner)
            }
        };
        Ok(ObservedList {
            kind,
            id,
            name: name.unwrap_or_default(),
            format: format.unwrap_or_default(),
            location: location.unwrap_or_default(),
            expected_owner,
            status: ListStatus::parse(status.as_deref().unwrap_or_default()),
        })
    }

    /// Creates the list, activated; returns its id.
    pub async fn create_list(&self, detector_id: &str, kind: ListKind, name: &str, format: ListFormat, file: &ListFile<'_>) -> Result<String, AwsError> {
        let api = self.api.get().await;
        let owner = file.owner.clone();
        let id = match kind {
            ListKind::Trusted => {
                let sent = api.create_ip_set().detector_id(detector_id).name(name).format(IpSetFormat::from(format.as_str()));
                let sent = sent.location(file.location).set_expected_bucket_owner(owner).activate(true).send().await;
                sent.map_err(|e| AwsError::from_sdk("guardduty:CreateIPSet", e))?.ip_set_id
            }
            ListKind::Threat => {
                let sent = api.create_threat_intel_set().detector_id(detector_id).name(name).format(ThreatIntelSetFormat::from(format.as_str()));
                let sent = sent.location(file.location).set_expected_bucket_owner(owner).activate(true).send().await;
                sent.map_err(|e| AwsError::from_sdk("guardduty:CreateThreatIntelSet", e))?.threat_intel_set_id
            }
        };
        let operation = if kind == ListKind::Trusted { "guardduty:CreateIPSet" } else { "guardduty:CreateThreatIntelSet" };
        id.ok_or_else(|| AwsError::malformed(operation, "its id"))
    }

    /// Points the list at the file and activates it again (GuardDuty reads the file anew).
    pub async fn update_list(&self, detector_id: &str, kind: ListKind, id: &str, file: &ListFile<'_>) -> Result<(), AwsError> {
        let api = self.api.get().await;
        let owner = file.owner.clone();
        match kind {
            ListKind::Trusted => {
                let sent = api.update_ip_set().detector_id(detector_id).ip_set_id(id).location(file.location).set_expected_bucket_owner(owner);
                sent.activate(true).send().await.map(drop).map_err(|e| AwsError::from_sdk("guardduty:UpdateIPSet", e))
            }
            ListKind::Threat => {
                let sent = api.update_threat_intel_set().detector_id(detector_id).threat_intel_set_id(id).location(file.location);
                let sent = sent.set_expected_bucket_owner(owner).activate(true).send().await;
                sent.map(drop).map_err(|e| AwsError::from_sdk("guardduty:UpdateThreatIntelSet", e))
            }
        }
    }

    pub async fn delete_list(&self, detector_id: &str, kind: ListKind, id: &str) -> Result<(), AwsError> {
        let api = self.api.get().await;
        match kind {
            ListKind::Trusted => {
                let sent = api.delete_ip_set().detector_id(detector_id).ip_set_id(id).send().await;
                sent.map(drop).map_err(|e| AwsError::from_sdk("guardduty:DeleteIPSet", e))
            }
            ListKind::Threat => {
                let sent = api.delete_threat_intel_set().detector_id(detector_id).threat_intel_set_id(id).send().await;
                sent.map(drop).map_err(|e| AwsError::from_sdk("guardduty:DeleteThreatIntelSet", e))
            }
        }
    }
}
