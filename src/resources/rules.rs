//! The plan's EventBridge rules on the default bus of one account-region: enabled, with the
//! planned event pattern, and each with its target publishing to the topic through the role.

use std::fmt;

use serde::Serialize;

use super::registry::{At, InAccountRegion, Made, Resource, Section};
use super::{differs, Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, Events, Service};
use crate::desired::Wiring;
use crate::model::{ObservedRule, Region};
use crate::outcome::{Note, TargetError};
use crate::plan::{Plan, Rule};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    PutRule { rule: String, reason: Drift },
    PutTarget { rule: String, target_id: String },
    /// Teardown: the planned target off the rule.
    RemoveTarget { rule: String, target_id: String },
    /// Teardown: the rule, once it has no target.
    DeleteRule { rule: String },
}

/// Why a rule is put again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Drift {
    #[serde(rename = "missing")]
    Missing,
    #[serde(rename = "disabled")]
    Disabled,
    #[serde(rename = "event pattern differs")]
    PatternDiffers,
    #[serde(rename = "description differs")]
    DescriptionDiffers,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "missing",
            Self::Disabled => "disabled",
            Self::PatternDiffers => "event pattern differs",
            Self::DescriptionDiffers => "description differs",
        })
    }
}

/// One rule and its target, and notes on targets the plan does not name: kept, but failing
/// the rule's target control (a second target can send every finding elsewhere).
pub fn plan(wiring: &Wiring, region: &Region, rule: &Rule, observed: Option<&ObservedRule>) -> (Vec<Change>, Vec<Note>) {
    let name = rule.name.get_ref().clone();
    let reason = match observed {
        None => Some(Drift::Missing),
        Some(o) if !o.enabled => Some(Drift::Disabled),
        Some(o) if differs(o.pattern.as_ref(), &rule.pattern()) => Some(Drift::PatternDiffers),
        Some(o) if rule.description.as_ref().is_some_and(|d| o.description.as_ref() != Some(d)) => Some(Drift::DescriptionDiffers),
        Some(_) => None,
    };
    let mut changes: Vec<Change> = reason.map(|reason| Change::PutRule { rule: name.clone(), reason }).into_iter().collect();
    let (topic, role) = (wiring.topic_arn(region), wiring.target_role());
    // A target that replaces the event (a constant Input, say) delivers, but not the finding.
    let target_ok = observed.is_some_and(|o| o.targets.iter().any(|t| t.id == rule.target_id && t.arn == topic && t.role_arn == role && t.replaced_input.is_none()));
    if !target_ok {
        changes.push(Change::PutTarget { rule: name.clone(), target_id: rule.target_id.clone() });
    }
    let others = observed.into_iter().flat_map(|o| &o.targets).filter(|t| t.id != rule.target_id);
    let notes = others
        .map(|t| Note {
            text: format!("rule {name}: target {} -> {} is not in the plan (kept)", t.id, t.arn),
            fails: Some(Failure::new(target_control(&name), "only the planned target", format!("also {} -> {}", t.id, t.arn))),
        })
        .collect();
    (changes, notes)
}

/// Teardown of one planned rule: its planned target, then the rule; a rule with a target
/// the plan does not name is kept (with that target), and reported.
pub fn teardown(rule: &Rule, observed: Option<&ObservedRule>) -> (Vec<Change>, Vec<Note>) {
    let Some(observed) = observed else { return (Vec::new(), Vec::new()) };
    let name = rule.name.get_ref().clone();
    let mut changes = Vec::new();
    if observed.targets.iter().any(|t| t.id == rule.target_id) {
        changes.push(Change::RemoveTarget { rule: name.clone(), target_id: rule.target_id.clone() });
    }
    let others: Vec<String> = observed.targets.iter().filter(|t| t.id != rule.target_id).map(|t| format!("{} -> {}", t.id, t.arn)).collect();
    if others.is_empty() {
        changes.push(Change::DeleteRule { rule: name });
        return (changes, Vec::new());
    }
    (changes, vec![Note::new(format!("rule {name} kept: it has targets the plan does not name ({})", others.join(", ")))])
}

pub async fn apply(events: &Events, wiring: &Wiring<'_>, region: &Region, change: &Change) -> Result<(), AwsError> {
    match change {
        Change::PutRule { rule, .. } => {
            let planned = wiring.plan.rules.iter().find(|r| r.name.get_ref() == rule).expect("a change names a planned rule");
            events.put_rule(rule, &planned.pattern().to_string(), planned.description.as_deref()).await
        }
        Change::PutTarget { rule, target_id } => events.put_target(rule, target_id, &wiring.topic_arn(region), wiring.target_role().as_deref()).await,
        Change::RemoveTarget { rule, target_id } => events.remove_targets(rule, std::slice::from_ref(target_id)).await,
        Change::DeleteRule { rule } => events.delete_rule(rule).await,
    }
}

fn rule_control(rule: &str) -> String {
    format!("OG.Wiring.Rule/{rule}")
}

fn target_control(rule: &str) -> String {
    format!("OG.Wiring.Target/{rule}")
}

/// Rules named `rules` on the default bus of every account-region that has them.
pub fn rule_grants(rules: &[Rule], p: &str) -> Vec<Grant> {
    let arns: Vec<String> = rules.iter().map(|r| format!("arn:{p}:events:*:*:rule/{}", r.name.get_ref())).collect();
    vec![
        Grant::read(&["events:DescribeRule", "events:ListTargetsByRule"]),
        Grant::new("RuleWrite", Phase::Rollout, &["events:PutRule", "events:PutTargets"], &arns),
        Grant::new("RuleTeardown", Phase::Teardown, &["events:RemoveTargets", "events:DeleteRule"], &arns),
    ]
}

/// The rules, and the role their targets pass to EventBridge.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    let Some(notifications) = &plan.notifications else { return Vec::new() };
    let mut grants = rule_grants(&notifications.rules, p);
    grants.extend(super::iam::role_grants("EventBridge", &notifications.role, &notifications.policy, "events.amazonaws.com", p));
    grants
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let rules = plan.notifications.iter().flat_map(|n| &n.rules);
    rules
        .flat_map(|rule| {
            let name = rule.name.get_ref();
            [
                Check::new(Place::Region, &rule_control(name), &format!("Rule {name} exists, enabled, with the planned pattern and description"), "orgguard"),
                Check::new(Place::Region, &target_control(name), &format!("Rule {name} targets the topic with the role, and nothing else"), "orgguard"),
            ]
        })
        .collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::PutRule { .. } => "put EventBridge rule",
            Self::PutTarget { .. } => "put EventBridge target",
            Self::RemoveTarget { .. } => "remove EventBridge target",
            Self::DeleteRule { .. } => "delete EventBridge rule",
        }
    }

    fn calls(&self) -> Calls {
        Calls::here(Service::Events, 1)
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        match self {
            Self::PutRule { rule, reason } => vec![Failure::new(rule_control(rule), "enabled, planned pattern and description", reason.to_string())],
            Self::PutTarget { rule, target_id } => {
                vec![Failure::new(target_control(rule), format!("target {target_id} -> topic, with role"), "missing or different")]
            }
            Self::RemoveTarget { .. } | Self::DeleteRule { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PutRule { rule, reason } => write!(f, "rule {rule}: {reason}"),
            Self::PutTarget { rule, target_id } => write!(f, "rule {rule}: target {target_id} -> topic, with role"),
            Self::RemoveTarget { rule, target_id } => write!(f, "rule {rule}: target {target_id}"),
            Self::DeleteRule { rule } => write!(f, "rule {rule}"),
        }
    }
}

/// The plan's rules and their targets in each account-region, with `[notifications]`.
pub struct Rules;

impl Resource for Rules {
    const NAME: &'static str = "rules";
    const SECTION: Section = Section::Notifications;
    type Placement = InAccountRegion;
    type Desired<'a> = (Wiring<'a>, Region);
    type Clients = Events;
    /// Each planned rule, in the plan's order.
    type Observed = Vec<Option<ObservedRule>>;
    type Change = Change;

    fn desired<'a>(here: &At<'a, Self>) -> Option<Self::Desired<'a>> {
        super::topic::Topic::desired(here)
    }

    fn clients(here: &At<'_, Self>) -> Events {
        here.session.events(&here.region)
    }

    async fn observe(events: &Events, (wiring, _): &Self::Desired<'_>) -> Result<Self::Observed, TargetError> {
        let mut rules = Vec::new();
        for rule in &wiring.plan.rules {
            rules.push(events.find_rule(rule.name.get_ref()).await?);
        }
        Ok(rules)
    }

    fn plan((wiring, region): &Self::Desired<'_>, observed: &Self::Observed) -> (Vec<Change>, Vec<Note>) {
        let (changes, notes): (Vec<_>, Vec<_>) = wiring.plan.rules.iter().zip(observed).map(|(rule, current)| plan(wiring, region, rule, current.as_ref())).unzip();
        (changes.concat(), notes.concat())
    }

    fn plan_teardown((wiring, _): &Self::Desired<'_>, observed: &Self::Observed, _prune: bool) -> (Vec<Change>, Vec<Note>) {
        let (changes, notes): (Vec<_>, Vec<_>) = wiring.plan.rules.iter().zip(observed).map(|(rule, current)| teardown(rule, current.as_ref())).unzip();
        (changes.concat(), notes.concat())
    }

    /// A target names the account's role, which EventBridge must be able to assume.
    fn needs_roles((wiring, _): &Self::Desired<'_>, change: &Change) -> Option<TargetError> {
        let reason = || format!("the IAM role {} could not be made ready in this account", wiring.plan.role);
        matches!(change, Change::PutTarget { .. }).then(|| TargetError::Dependency { operation: "events:PutTargets", reason: reason() })
    }

    async fn apply(events: &Events, (wiring, region): &Self::Desired<'_>, _: &Self::Observed, change: &Change, _: &mut Made) -> Result<(), TargetError> {
        Ok(apply(events, wiring, region, change).await?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures;
    use super::*;
    use crate::model::{ObservedTarget, Partition};

    #[test]
    fn a_rule_that_matches_needs_nothing_and_each_kind_of_drift_its_own_change() {
        let plan_file = fixtures::plan();
        let n = plan_file.notifications.as_ref().unwrap();
        let (account, region) = (fixtures::account(), fixtures::region());
        let wiring = Wiring { plan: n, account: &account, partition: Partition::Aws, alarms: false };
        let rule = &n.rules[0];
        let good = ObservedRule {
            enabled: true,
            description: Some("GuardDutyのすべての検出結果(全重要度)をSNSトピックに送信".into()),
            // key order and a scalar in place of a one-element list are not drift
            pattern: Some(json!({"detail-type": "GuardDuty Finding", "source": ["aws.guardduty"]})),
            targets: vec![ObservedTarget { id: "guardduty-finding".into(), arn: wiring.topic_arn(&region), role_arn: Some(wiring.role_arn()), replaced_input: None }],
        };
        assert_eq!(plan(&wiring, &region, rule, Some(&good)), (vec![], vec![]));
        let outside = ObservedTarget { id: "copy".into(), arn: "arn:aws:sqs:eu-west-1:999999999999:loot".into(), role_arn: None, replaced_input: None };
        let copied = ObservedRule { targets: vec![good.targets[0].clone(), outside], ..good.clone() };
        let (changes, notes) = plan(&wiring, &region, rule, Some(&copied));
        assert!(changes.is_empty(), "left alone");
        let failure = notes[0].fails.as_ref().unwrap();
        assert_eq!((failure.control.as_str(), failure.actual.as_str()), ("OG.Wiring.Target/guardduty-finding", "also copy -> arn:aws:sqs:eu-west-1:999999999999:loot"));
        let mut constant = good.clone();
        constant.targets[0].replaced_input = Some("Input");
        let replaced = vec![Change::PutTarget { rule: "guardduty-finding".into(), target_id: "guardduty-finding".into() }];
        assert_eq!(plan(&wiring, &region, rule, Some(&constant)).0, replaced, "a target that sends a constant in place of the finding is put again");
        let disabled = ObservedRule { enabled: false, ..good.clone() };
        let (changes, _) = plan(&wiring, &region, rule, Some(&disabled));
        assert_eq!(changes, vec![Change::PutRule { rule: "guardduty-finding".into(), reason: Drift::Disabled }]);
        assert_eq!(serde_json::to_value(&changes[0]).unwrap()["reason"], "disabled");
        let renamed = ObservedRule { description: Some("old words".into()), ..good.clone() };
        assert_eq!(plan(&wiring, &region, rule, Some(&renamed)).0, vec![Change::PutRule { rule: "guardduty-finding".into(), reason: Drift::DescriptionDiffers }]);
        let mut high = rule.clone();
        high.min_severity = Some(toml::Spanned::new(0..0, 7.0));
        assert_eq!(high.pattern()["detail"]["severity"], json!([{"numeric": [">=", 7.0]}]));
        assert_eq!(plan(&wiring, &region, &high, Some(&good)).0, vec![Change::PutRule { rule: "guardduty-finding".into(), reason: Drift::PatternDiffers }]);
        let untargeted = ObservedRule { targets: vec![], ..good };
        assert_eq!(
            plan(&wiring, &region, rule, Some(&untargeted)).0,
            vec![Change::PutTarget { rule: "guardduty-finding".into(), target_id: "guardduty-finding".into() }]
        );
        assert_eq!(plan(&wiring, &region, rule, None).0.len(), 2);
    }

    #[test]
    fn teardown_removes_the_planned_target_then_the_rule_and_keeps_a_rule_with_another_target() {
        let plan_file = fixtures::plan();
        let rule = &plan_file.notifications.as_ref().unwrap().rules[0];
        let ours = ObservedTarget { id: "guardduty-finding".into(), arn: "arn:aws:sns:eu-west-1:111122223333:guardduty-finding".into(), role_arn: None, replaced_input: None };
        let observed = ObservedRule { enabled: true, description: None, pattern: None, targets: vec![ours.clone()] };
        let name = "guardduty-finding".to_owned();
        let remove = Change::RemoveTarget { rule: name.clone(), target_id: name.clone() };
        assert_eq!(teardown(rule, Some(&observed)), (vec![remove.clone(), Change::DeleteRule { rule: name.clone() }], vec![]));
        let other = ObservedTarget { id: "copy".into(), arn: "arn:aws:sqs:eu-west-1:111122223333:copy".into(), role_arn: None, replaced_input: None };
        let shared = ObservedRule { targets: vec![ours, other], ..observed };
        let (changes, notes) = teardown(rule, Some(&shared));
        assert_eq!(changes, vec![remove], "the rule stays, with the other target");
        assert!(notes[0].text.contains("copy -> arn:aws:sqs:eu-west-1:111122223333:copy"), "{notes:?}");
        assert_eq!(teardown(rule, None), (vec![], vec![]), "nothing there, nothing to do");
    }
}
