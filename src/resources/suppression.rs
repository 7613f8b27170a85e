//! The delegated admin's suppression rules (GuardDuty filters) in one region, which apply
//! to every member's findings: the plan's rules hold ranks 1, 2, ... in plan order. orgguard
//! owns the ranks: it walks the plan's order and makes one call per rule that is missing,
//! out of place or different (GuardDuty moves the others, never leaving a gap), one at a
//! time. Rules the plan does not name sink below the planned ones; they are reported, and
//! removed only with `prune = true`.

use std::fmt;

use serde::Serialize;

use super::registry::{At, AtAdmin, Made, Resource, Section};
use super::{Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, Filter, GuardDuty, Service};
use crate::model::{same_criteria, ObservedFilter};
use crate::outcome::{Note, TargetError};
use crate::plan::{Plan, Suppression, SuppressionRule};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateFilter { name: String, rank: u32 },
    /// The rule set as planned at its rank; `differs` names what was not.
    UpdateFilter { name: String, rank: u32, differs: Vec<&'static str> },
    /// A rule the plan does not name (with `prune`), or in a teardown one it does.
    DeleteFilter { name: String },
}

/// The changes that give the admin's detector the planned rules, in order; `observed` in
/// rank order (empty when the admin has no detector yet).
pub fn plan(desired: &Suppression, observed: &[ObservedFilter]) -> (Vec<Change>, Vec<Note>) {
    let planned = desired.rules.get_ref();
    let is_planned = |name: &str| planned.iter().any(|r| r.name.get_ref() == name);
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    // The order GuardDuty holds, as each change will leave it.
    let mut order: Vec<&str> = Vec::new();
    for rule in observed {
        if is_planned(&rule.name) || !desired.prune {
            order.push(&rule.name);
        }
        if is_planned(&rule.name) {
            continue;
        }
        if desired.prune {
            changes.push(Change::DeleteFilter { name: rule.name.clone() });
        } else {
            notes.push(Note {
                text: format!("suppression rule {} is not in the plan (kept; prune = true removes it)", rule.name),
                fails: Some(Failure::new(RULES, "only the planned suppression rules", format!("{} present", rule.name))),
            });
        }
    }
    for (index, rule) in planned.iter().enumerate() {
        let (name, rank) = (rule.name.get_ref(), index as u32 + 1);
        let at = order.iter().position(|n| n == name);
        let found = observed.iter().find(|o| o.name == *name);
        match (at, found) {
            (None, _) | (_, None) => {
                changes.push(Change::CreateFilter { name: name.clone(), rank });
                order.insert(index, name);
            }
            (Some(at), Some(found)) => {
                let mut differs = differences(rule, found);
                if at != index {
                    differs.insert(0, "rank");
                    let moved = order.remove(at);
                    order.insert(index, moved);
                }
                if !differs.is_empty() {
                    changes.push(Change::UpdateFilter { name: name.clone(), rank, differs });
                }
            }
        }
    }
    (changes, notes)
}

fn differences(rule: &SuppressionRule, found: &ObservedFilter) -> Vec<&'static str> {
    let mut differs = Vec::new();
    if found.action != Some(rule.action) {
        differs.push("action");
    }
    if found.description != rule.description {
        differs.push("description");
    }
    if !same_criteria(&found.criteria, rule.criteria.get_ref()) {
        differs.push("criteria");
    }
    differs
}

/// Teardown: the rules the plan names, and no other.
pub fn teardown(desired: &Suppression, observed: &[ObservedFilter]) -> Vec<Change> {
    let planned = |name: &str| desired.rules.get_ref().iter().any(|r| r.name.get_ref() == name);
    observed.iter().filter(|o| planned(&o.name)).map(|o| Change::DeleteFilter { name: o.name.clone() }).collect()
}

pub async fn apply(admin: &GuardDuty, detector_id: &str, desired: &Suppression, change: &Change) -> Result<(), AwsError> {
    let filter = |name: &str, rank: u32| {
        let rule = desired.rules.get_ref().iter().find(|r| r.name.get_ref() == name).expect("a change names a planned rule");
        Filter { name: rule.name.get_ref(), rank, action: rule.action, description: &rule.description, criteria: rule.criteria.get_ref() }
    };
    match change {
        Change::CreateFilter { name, rank } => admin.create_filter(detector_id, &filter(name, *rank)).await,
        Change::UpdateFilter { name, rank, .. } => admin.update_filter(detector_id, &filter(name, *rank)).await,
        Change::DeleteFilter { name } => admin.delete_filter(detector_id, name).await,
    }
}

const RULES: &str = "OG.Org.SuppressionRules";

/// The suppression rules, on the delegated admin's detector.
pub struct Rules;

impl Resource for Rules {
    const NAME: &'static str = "suppression rules";
    const SECTION: Section = Section::Suppression;
    type Placement = AtAdmin;
    /// The plan's rules, and the admin's detector if it has one.
    type Desired<'a> = (&'a Suppression, Option<&'a str>);
    type Clients = GuardDuty;
    type Observed = Vec<ObservedFilter>;
    type Change = Change;

    fn desired<'a>(at: &At<'a, Self>) -> Option<Self::Desired<'a>> {
        Some((at.plan.suppression.as_ref()?, at.detector))
    }

    fn clients(at: &At<'_, Self>) -> GuardDuty {
        at.admin.guardduty(&at.region)
    }

    async fn observe(guardduty: &GuardDuty, (_, detector): &Self::Desired<'_>) -> Result<Vec<ObservedFilter>, TargetError> {
        match detector {
            Some(detector) => Ok(guardduty.filters(detector).await?),
            None => Ok(Vec::new()),
        }
    }

    fn plan((rules, _): &Self::Desired<'_>, observed: &Vec<ObservedFilter>) -> (Vec<Change>, Vec<Note>) {
        plan(rules, observed)
    }

    fn plan_teardown((rules, _): &Self::Desired<'_>, observed: &Vec<ObservedFilter>, _prune: bool) -> (Vec<Change>, Vec<Note>) {
        (teardown(rules, observed), Vec::new())
    }

    async fn apply(guardduty: &GuardDuty, (rules, _): &Self::Desired<'_>, _: &Vec<ObservedFilter>, change: &Change, made: &mut Made) -> Result<(), TargetError> {
        Ok(apply(guardduty, made.detector()?, rules, change).await?)
    }
}

/// The suppression rules, on the delegated admin's detector.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    if plan.suppression.is_none() {
        return Vec::new();
    }
    let detectors = [format!("arn:{p}:guardduty:*:*:detector/*")];
    vec![
        Grant::read(&["guardduty:ListFilters", "guardduty:GetFilter"]),
        Grant::new("GuardDutyDetectorWrite", Phase::Rollout, &["guardduty:CreateFilter", "guardduty:UpdateFilter"], &detectors),
        Grant::new("GuardDutyDetectorWrite", Phase::Both, &["guardduty:DeleteFilter"], &detectors),
    ]
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let description = "The delegated admin holds the planned suppression rules, in plan order, as planned, and no other";
    plan.suppression.iter().map(|_| Check::new(Place::Organization, RULES, description, "orgguard")).collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateFilter { .. } => "create suppression rule",
            Self::UpdateFilter { .. } => "update suppression rule",
            Self::DeleteFilter { .. } => "delete suppression rule",
        }
    }

    fn calls(&self) -> Calls {
        Calls::here(Service::GuardDuty, 1)
    }

    fn failures(&self, plan: &Plan) -> Vec<Failure> {
        let planned = |name: &str| plan.suppression.iter().flat_map(|s| s.rules.get_ref()).any(|r| r.name.get_ref() == name);
        vec![match self {
            Self::CreateFilter { name, rank } => Failure::new(RULES, format!("{name} at rank {rank}"), "missing"),
            Self::UpdateFilter { name, rank, differs } => {
                Failure::new(RULES, format!("{name} as planned at rank {rank}"), format!("{} differs", differs.join(", ")))
            }
            Self::DeleteFilter { name } if !planned(name) => Failure::new(RULES, "only the planned suppression rules", format!("{name} present")),
            Self::DeleteFilter { .. } => return Vec::new(),
        }]
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateFilter { name, rank } => write!(f, "{name} at rank {rank}"),
            Self::UpdateFilter { name, rank, differs } => write!(f, "{name} at rank {rank}: {}", differs.join(", ")),
            Self::DeleteFilter { name } => write!(f, "{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::{Condition, Criteria, FilterAction};

    fn desired(names: &[&str], prune: bool) -> Suppression {
        let rules: String = names
            .iter()
            .map(|n| format!("[[suppression.rules]]\nname = \"{n}\"\ndescription = \"{n}\"\ncriteria = {{ severity = {{ LessThan = 4 }} }}\n"))
            .collect();
        let text = format!(
            "[organization]\nregions = \"all\"\n[admin]\naccount = \"100000000001\"\n[detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
             [suppression]\nprune = {prune}\n{rules}"
        );
        Plan::parse(&text, Path::new("p.toml")).unwrap().suppression.unwrap()
    }

    fn observed(names: &[&str]) -> Vec<ObservedFilter> {
        let criteria = Criteria::from([("severity".to_owned(), Condition { less_than: Some(4), ..Condition::default() })]);
        let rule = |(i, n): (usize, &&str)| ObservedFilter {
            name: n.to_string(),
            rank: i as u32 + 1,
            action: Some(FilterAction::Archive),
            description: n.to_string(),
            criteria: criteria.clone(),
        };
        names.iter().enumerate().map(rule).collect()
    }

    #[test]
    fn rules_in_place_need_nothing_and_an_insertion_in_the_middle_is_one_call() {
        assert_eq!(plan(&desired(&["aaa", "bbb", "ccc"], false), &observed(&["aaa", "bbb", "ccc"])), (vec![], vec![]));
        let (changes, _) = plan(&desired(&["aaa", "xxx", "bbb", "ccc"], false), &observed(&["aaa", "bbb", "ccc"]));
        assert_eq!(changes, vec![Change::CreateFilter { name: "xxx".into(), rank: 2 }], "GuardDuty moves b and c down");
        let (changes, _) = plan(&desired(&["aaa", "bbb"], false), &observed(&[]));
        assert_eq!(changes, vec![Change::CreateFilter { name: "aaa".into(), rank: 1 }, Change::CreateFilter { name: "bbb".into(), rank: 2 }]);
    }

    #[test]
    fn a_rule_out_of_place_moves_and_one_that_differs_is_updated_in_the_same_call() {
        let (changes, _) = plan(&desired(&["aaa", "bbb", "ccc"], false), &observed(&["ccc", "aaa", "bbb"]));
        assert_eq!(changes.len(), 2, "a up, then b up; c ends third: {changes:?}");
        let mut found = observed(&["aaa", "bbb"]);
        found[1].criteria.get_mut("severity").unwrap().less_than = Some(7);
        found[1].action = Some(FilterAction::Noop);
        let (changes, _) = plan(&desired(&["bbb", "aaa"], false), &found);
        assert_eq!(changes, vec![Change::UpdateFilter { name: "bbb".into(), rank: 1, differs: vec!["rank", "action", "criteria"] }]);
    }

    #[test]
    fn a_rule_the_plan_does_not_name_is_reported_below_the_planned_ones_unless_pruned() {
        let (changes, notes) = plan(&desired(&["aaa"], false), &observed(&["old", "aaa"]));
        assert_eq!(changes, vec![Change::UpdateFilter { name: "aaa".into(), rank: 1, differs: vec!["rank"] }], "old sinks below a");
        assert_eq!(notes[0].fails.as_ref().unwrap().actual, "old present");
        let (changes, notes) = plan(&desired(&["aaa"], true), &observed(&["old", "aaa"]));
        assert_eq!(changes, vec![Change::DeleteFilter { name: "old".into() }], "a is first once old is gone");
        assert!(notes.is_empty());
        assert_eq!(teardown(&desired(&["aaa"], false), &observed(&["old", "aaa"])), vec![Change::DeleteFilter { name: "aaa".into() }]);
    }
}
