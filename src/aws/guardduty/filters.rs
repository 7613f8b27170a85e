//! Suppression rules (GuardDuty filters) on the delegated admin's detector.

use std::collections::HashMap;

use aws_sdk_guardduty::types::{Condition as SdkCondition, FilterAction as SdkAction, FindingCriteria};

use super::GuardDuty;
use crate::aws::AwsError;
use crate::model::{Condition, Criteria, FilterAction, ObservedFilter};

/// A rule as orgguard writes it.
pub struct Filter<'a> {
    pub name: &'a str,
    pub rank: u32,
    pub action: FilterAction,
    pub description: &'a str,
    pub criteria: &'a Criteria,
}

/// The rule's rank, action, description and criteria on a CreateFilter or UpdateFilter call.
macro_rules! rule {
    ($call:expr, $filter:expr) => {
        $call
            .rank($filter.rank as i32)
            .action(SdkAction::from($filter.action.as_str()))
            .description($filter.description)
            .finding_criteria(finding_criteria($filter.criteria))
    };
}

impl GuardDuty {
    /// Every suppression rule of the detector, in rank order: ListFilters, then GetFilter each.
    pub async fn filters(&self, detector_id: &str) -> Result<Vec<ObservedFilter>, AwsError> {
        let pages = self
            .api
            .pages(
                |c| c.list_filters().detector_id(detector_id).into_paginator().send(),
                |p| p.next_token().is_some_and(|t| !t.is_empty()),
            )
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:ListFilters", e))?;
        let mut filters = Vec::new();
        for name in pages.into_iter().flat_map(|p| p.filter_names.unwrap_or_default()) {
            let got = self.api.get().await.get_filter().detector_id(detector_id).filter_name(&name).send().await;
            let got = got.map_err(|e| AwsError::from_sdk("guardduty:GetFilter", e))?;
            let criteria = got.finding_criteria().and_then(|c| c.criterion()).map(observed_criteria).unwrap_or_default();
            filters.push(ObservedFilter {
                rank: got.rank().and_then(|r| u32::try_from(r).ok()).unwrap_or(0),
                action: got.action().and_then(|a| FilterAction::parse(a.as_str())),
                description: got.description().unwrap_or_default().to_owned(),
                criteria,
                name,
            });
        }
        filters.sort_by_key(|f| f.rank);
        Ok(filters)
    }

    /// Creates the rule at its rank: GuardDuty moves the rules from that rank one down.
    pub async fn create_filter(&self, detector_id: &str, filter: &Filter<'_>) -> Result<(), AwsError> {
        let call = self.api.get().await.create_filter().detector_id(detector_id).name(filter.name);
        rule!(call, filter).send().await.map(drop).map_err(|e| AwsError::from_sdk("guardduty:CreateFilter", e))
    }

    /// Sets everything the rule has, its rank included (GuardDuty moves the others).
    pub async fn update_filter(&self, detector_id: &str, filter: &Filter<'_>) -> Result<(), AwsError> {
        let call = self.api.get().await.update_filter().detector_id(detector_id).filter_name(filter.name);
        rule!(call, filter).send().await.map(drop).map_err(|e| AwsError::from_sdk("guardduty:UpdateFilter", e))
    }

    pub async fn delete_filter(&self, detector_id: &str, name: &str) -> Result<(), AwsError> {
        self.api.get().await
            .delete_filter()
            .detector_id(detector_id)
            .filter_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("guardduty:DeleteFilter", e))?;
        Ok(())
    }
}

fn finding_criteria(criteria: &Criteria) -> FindingCriteria {
    let criterion = criteria
        .iter()
        .map(|(field, c)| {
            let condition = SdkCondition::builder()
                .set_equals(c.equals.clone())
                .set_not_equals(c.not_equals.clone())
                .set_greater_than(c.greater_than)
                .set_greater_than_or_equal(c.greater_than_or_equal)
                .set_less_than(c.less_than)
                .set_less_than_or_equal(c.less_than_or_equal)
                .set_matches(c.matches.clone())
                .set_not_matches(c.not_matches.clone())
                .build();
            (field.clone(), condition)
        })
        .collect();
    FindingCriteria::builder().set_criterion(Some(criterion)).build()
}

/// GuardDuty's criteria in the current condition names: a deprecated one (Eq, Gte, ...)
/// reads as its current name, where the current one is not also given.
#[allow(deprecated)] // reading the deprecated names is the point
fn observed_criteria(criterion: &HashMap<String, SdkCondition>) -> Criteria {
    let list = |current: &[String], deprecated: &[String]| {
        let values = if current.is_empty() { deprecated } else { current };
        (!values.is_empty()).then(|| values.to_vec())
    };
    let widen = |n: Option<i32>| n.map(i64::from);
    criterion
        .iter()
        .map(|(field, c)| {
            let condition = Condition {
                equals: list(c.equals(), c.eq()),
                not_equals: list(c.not_equals(), c.neq()),
                greater_than: c.greater_than().or(widen(c.gt())),
                greater_than_or_equal: c.greater_than_or_equal().or(widen(c.gte())),
                less_than: c.less_than().or(widen(c.lt())),
                less_than_or_equal: c.less_than_or_equal().or(widen(c.lte())),
                matches: (!c.matches().is_empty()).then(|| c.matches().to_vec()),
                not_matches: (!c.not_matches().is_empty()).then(|| c.not_matches().to_vec()),
            };
            (field.clone(), condition)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)] // what older scripts wrote
    fn deprecated_condition_names_read_as_the_current_ones_and_the_current_win() {
        let old = SdkCondition::builder().lt(4).eq("Recon:EC2/Portscan").build();
        let both = SdkCondition::builder().gte(2).greater_than_or_equal(7).build();
        let read = observed_criteria(&HashMap::from([("severity".to_owned(), old), ("confidence".to_owned(), both)]));
        assert_eq!(read["severity"], Condition { less_than: Some(4), equals: Some(vec!["Recon:EC2/Portscan".into()]), ..Condition::default() });
        assert_eq!(read["confidence"].greater_than_or_equal, Some(7));
    }
}
