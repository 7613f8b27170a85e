//! Runtime Monitoring coverage: read only. Which EKS clusters, ECS clusters and EC2
//! instances GuardDuty's agent actually covers, as the delegated admin reports it for every
//! member (ListCoverage). The audit reads it in each region where the plan turns a runtime
//! feature on; an account with an unhealthy resource fails its coverage control.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Check, Place};
use crate::control::Failure;
use crate::permissions::Grant;
use crate::model::{AccountId, CoveredResource, Feature, Region};
use crate::outcome::Note;
use crate::plan::Plan;

pub const COVERAGE: &str = "OG.Runtime.Coverage";

/// The coverage of one account's resources of one type in one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Covered {
    pub account: AccountId,
    pub region: Region,
    /// EKS, ECS or EC2.
    pub resource_type: String,
    pub healthy: usize,
    pub unhealthy: usize,
    /// Each unhealthy resource and GuardDuty's issue with it: `prod-cluster: issue`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<String>,
}

/// A region's coverage as the audit found it: read, or why not (then its control is not
/// evaluated, and the rest of the region's judgement stands).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    Read(Vec<Covered>),
    /// The call and its error code: the audit could not read everything.
    Failed(String),
    /// Nothing to read: the delegated admin has no detector in the region.
    NoDetector,
    /// GuardDuty does not offer Runtime Monitoring in the region.
    NotOffered,
}

impl Coverage {
    /// Why the coverage control is not evaluated, if it is not.
    pub fn unread(&self) -> Option<String> {
        match self {
            Self::Read(_) => None,
            Self::Failed(reason) => Some(reason.clone()),
            Self::NoDetector => Some("the delegated admin has no detector in the region".into()),
            Self::NotOffered => Some("GuardDuty does not offer Runtime Monitoring in this region".into()),
        }
    }
}

/// Coverage is judged where the plan turns a runtime feature on, at a delegated admin.
pub fn wanted(plan: &Plan) -> bool {
    let features = plan.detector.features.get_ref();
    plan.admin.is_some() && [Feature::RuntimeMonitoring, Feature::EksRuntimeMonitoring].iter().any(|f| features.get(f) == Some(&true))
}

/// Runtime Monitoring's coverage, read by the audit at the delegated admin.
pub fn grants(plan: &Plan, _: &str) -> Vec<Grant> {
    match plan.admin.is_some() {
        true => vec![Grant::read(&["guardduty:ListCoverage", "guardduty:GetCoverageStatistics"])],
        false => Vec::new(),
    }
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let description = "Every EKS cluster, ECS cluster and EC2 instance Runtime Monitoring reports for the account is HEALTHY";
    wanted(plan).then(|| Check::new(Place::Member, COVERAGE, description, "GuardDuty.11")).into_iter().collect()
}

/// The region's resources counted by account and type, unhealthy ones named with their issue.
pub fn summarize(region: &Region, resources: &[CoveredResource]) -> Vec<Covered> {
    let mut rows: BTreeMap<(AccountId, &str), Covered> = BTreeMap::new();
    for resource in resources {
        let row = rows.entry((resource.account, &resource.resource_type)).or_insert_with(|| Covered {
            account: resource.account,
            region: *region,
            resource_type: resource.resource_type.clone(),
            healthy: 0,
            unhealthy: 0,
            issues: Vec::new(),
        });
        if resource.healthy {
            row.healthy += 1;
        } else {
            row.unhealthy += 1;
            row.issues.push(format!("{}: {}", resource.id, resource.issue.as_deref().unwrap_or("no issue given")));
        }
    }
    rows.into_values().collect()
}

/// One note per account and type with unhealthy resources, failing the account's control.
pub fn notes(rows: &[Covered]) -> Vec<Note> {
    rows.iter()
        .filter(|row| row.unhealthy > 0)
        .map(|row| {
            let (kind, total) = (&row.resource_type, row.healthy + row.unhealthy);
            let found = format!("{kind} {} of {total} UNHEALTHY ({})", row.unhealthy, row.issues.join("; "));
            Note {
                text: format!("{}: Runtime Monitoring coverage: {found}", row.account),
                fails: Some(Failure { account: Some(row.account), ..Failure::new(COVERAGE, format!("every {kind} resource HEALTHY"), found) }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_counted_by_account_and_type_and_only_unhealthy_ones_fail() {
        let [a, b] = ["100000000001", "100000000002"].map(|a| AccountId::parse(a).unwrap());
        let region = Region::parse("eu-west-1").unwrap();
        let resource = |account, resource_type: &str, id: &str, issue: Option<&str>| CoveredResource {
            account,
            resource_type: resource_type.into(),
            id: id.into(),
            healthy: issue.is_none(),
            issue: issue.map(str::to_owned),
        };
        let resources = [
            resource(b, "EKS", "prod", Some("Addon not installed")),
            resource(a, "EC2", "i-1", None),
            resource(b, "EKS", "dev", None),
            resource(a, "EC2", "i-2", None),
        ];
        let rows = summarize(&region, &resources);
        let counted: Vec<_> = rows.iter().map(|r| (r.account, r.resource_type.as_str(), r.healthy, r.unhealthy)).collect();
        assert_eq!(counted, [(a, "EC2", 2, 0), (b, "EKS", 1, 1)]);
        let failures: Vec<_> = notes(&rows).into_iter().map(|n| n.fails.unwrap()).collect();
        assert_eq!(failures.len(), 1);
        assert_eq!((failures[0].account, failures[0].control.as_str()), (Some(b), COVERAGE));
        assert_eq!(failures[0].actual, "EKS 1 of 2 UNHEALTHY (prod: Addon not installed)");
    }
}
