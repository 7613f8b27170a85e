//! The findings SNS topic of one account-region (display name, tags, a resource policy
//! letting EventBridge publish) and the plan's subscriptions to it. Subscriptions the plan
//! does not name are reported, and removed only with `prune_subscriptions = true`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::registry::{At, InAccountRegion, Made, Resource, Section};
use super::{differs, Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, Service, Sns};
use crate::desired::Wiring;
use crate::model::{ObservedTopic, Region};
use crate::outcome::{Note, TargetError};
use crate::plan::Plan;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateTopic { topic: String },
    SetTopicAttribute { topic: String, attribute: Attribute },
    TagTopic { topic: String, tags: BTreeMap<String, String> },
    Subscribe { protocol: String, endpoint: String },
    /// A subscription the plan does not name (pruning), or in a teardown that keeps the topic
    /// a planned one (`planned`).
    Unsubscribe {
        protocol: String,
        endpoint: String,
        subscription_arn: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        planned: bool,
    },
    /// Teardown: the topic, and every subscription it still has.
    DeleteTopic { topic: String },
}

/// A topic attribute orgguard sets, by SNS's name for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Attribute {
    DisplayName,
    Policy,
}

impl Attribute {
    fn name(self) -> &'static str {
        match self {
            Self::DisplayName => "DisplayName",
            Self::Policy => "Policy",
        }
    }
}

/// The topic's changes, and notes on the drift left alone (an unplanned subscription fails
/// the subscriptions control all the same: it is a way for findings to leave).
pub fn plan(wiring: &Wiring, region: &Region, observed: Option<&ObservedTopic>) -> (Vec<Change>, Vec<Note>) {
    let name = wiring.plan.topic.clone();
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let subscriptions = match observed {
        None => {
            changes.push(Change::CreateTopic { topic: name.clone() });
            &[][..]
        }
        Some(topic) => {
            if topic.display_name != wiring.display_name() {
                changes.push(Change::SetTopicAttribute { topic: name.clone(), attribute: Attribute::DisplayName });
            }
            if differs(topic.policy.as_ref(), &wiring.topic_policy(region)) {
                changes.push(Change::SetTopicAttribute { topic: name.clone(), attribute: Attribute::Policy });
            }
            let missing_tags: BTreeMap<_, _> = wiring
                .plan
                .tags
                .iter()
                .filter(|(k, v)| topic.tags.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !missing_tags.is_empty() {
                changes.push(Change::TagTopic { topic: name.clone(), tags: missing_tags });
            }
            &topic.subscriptions[..]
        }
    };
    let planned = wiring.subscriptions();
    for (protocol, endpoint) in &planned {
        let found = subscriptions.iter().find(|s| s.protocol == *protocol && s.endpoint == *endpoint);
        let Some(found) = found else {
            changes.push(Change::Subscribe { protocol: (*protocol).to_owned(), endpoint: (*endpoint).to_owned() });
            continue;
        };
        // A subscription still pending confirmation delivers nothing until its recipient
        // confirms (and AWS deletes it unconfirmed after three days; the next run subscribes
        // again): reported, there is nothing to change.
        if !found.arn.starts_with("arn:") {
            notes.push(Note {
                text: format!("subscription {protocol}:{endpoint} is pending confirmation: nothing reaches it until its recipient confirms"),
                fails: Some(Failure::new(SUBSCRIPTIONS, format!("{protocol}:{endpoint} confirmed"), "pending confirmation")),
            });
        }
        // A filter policy can make a planned subscription receive nothing, and a redrive
        // policy sends what is not delivered elsewhere: both are reported, not undone.
        let attributes = [("filter policy", &found.filter_policy), ("redrive policy", &found.redrive_policy)];
        for (what, value) in attributes.into_iter().filter_map(|(what, value)| Some((what, value.as_deref()?))) {
            let expected = format!("{protocol}:{endpoint} without a {what}");
            notes.push(Note {
                text: format!("subscription {protocol}:{endpoint} has a {what} {value} (kept; the plan sets none)"),
                fails: Some(Failure::new(SUBSCRIPTIONS, expected, format!("{what} {value}"))),
            });
        }
    }
    for extra in subscriptions.iter().filter(|s| !planned.contains(&(s.protocol.as_str(), s.endpoint.as_str()))) {
        // A subscription still pending confirmation has no ARN to unsubscribe with.
        if wiring.plan.prune_subscriptions && extra.arn.starts_with("arn:") {
            changes.push(Change::Unsubscribe {
                protocol: extra.protocol.clone(),
                endpoint: extra.endpoint.clone(),
                subscription_arn: extra.arn.clone(),
                planned: false,
            });
        } else {
            let text = format!(
                "subscription {}:{} is not in the plan (kept; prune_subscriptions = true removes it)",
                extra.protocol, extra.endpoint
            );
            let subscribed = format!("{}:{} subscribed", extra.protocol, extra.endpoint);
            notes.push(Note { text, fails: Some(Failure::new(SUBSCRIPTIONS, "only planned subscriptions", subscribed)) });
        }
    }
    (changes, notes)
}

/// Teardown: the topic goes, and its subscriptions with it; unless it has subscriptions the
/// plan does not name and `prune` is off: then only the planned ones go (those still
/// pending confirmation have no ARN; they stay) and the topic is kept, and reported.
pub fn teardown(wiring: &Wiring, observed: Option<&ObservedTopic>, prune: bool) -> (Vec<Change>, Vec<Note>) {
    let Some(topic) = observed else { return (Vec::new(), Vec::new()) };
    let planned = wiring.subscriptions();
    let (ours, others): (Vec<_>, Vec<_>) =
        topic.subscriptions.iter().partition(|s| planned.contains(&(s.protocol.as_str(), s.endpoint.as_str())));
    if prune || others.is_empty() {
        return (vec![Change::DeleteTopic { topic: wiring.plan.topic.clone() }], Vec::new());
    }
    let changes = ours
        .iter()
        .filter(|s| s.arn.starts_with("arn:"))
        .map(|s| Change::Unsubscribe { protocol: s.protocol.clone(), endpoint: s.endpoint.clone(), subscription_arn: s.arn.clone(), planned: true })
        .collect();
    let others: Vec<String> = others.iter().map(|s| format!("{}:{}", s.protocol, s.endpoint)).collect();
    let text = format!("topic {} kept with subscriptions the plan does not name ({}); --prune-subscriptions removes them", wiring.plan.topic, others.join(", "));
    (changes, vec![Note::new(text)])
}

pub async fn apply(sns: &Sns, wiring: &Wiring<'_>, region: &Region, change: &Change) -> Result<(), AwsError> {
    let topic = wiring.topic_arn(region);
    match change {
        Change::CreateTopic { topic: name } => {
            let policy = wiring.topic_policy(region).to_string();
            sns.create_topic(name, wiring.display_name(), &policy, &wiring.plan.tags).await.map(drop)
        }
        Change::SetTopicAttribute { attribute, .. } => {
            let value = match attribute {
                Attribute::Policy => wiring.topic_policy(region).to_string(),
                Attribute::DisplayName => wiring.display_name().to_owned(),
            };
            sns.set_attribute(&topic, attribute.name(), &value).await
        }
        Change::TagTopic { tags, .. } => sns.tag(&topic, tags).await,
        Change::Subscribe { protocol, endpoint } => sns.subscribe(&topic, protocol, endpoint).await,
        Change::Unsubscribe { subscription_arn, .. } => sns.unsubscribe(subscription_arn).await,
        Change::DeleteTopic { .. } => sns.delete_topic(&topic).await,
    }
}

const TOPIC: &str = "OG.Wiring.Topic";
const TOPIC_POLICY: &str = "OG.Wiring.TopicPolicy";
const SUBSCRIPTIONS: &str = "OG.Wiring.Subscriptions";

/// A topic named `topic` in every account-region that has it.
pub fn topic_grants(topic: &str, p: &str) -> Vec<Grant> {
    let arn = [format!("arn:{p}:sns:*:*:{topic}")];
    vec![
        Grant::read(&["sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:ListSubscriptionsByTopic", "sns:GetSubscriptionAttributes"]),
        Grant::new("TopicWrite", Phase::Rollout, &["sns:CreateTopic", "sns:SetTopicAttributes", "sns:TagResource", "sns:Subscribe"], &arn),
        // No resource type: a subscription is not a resource IAM names.
        Grant::new("Unsubscribe", Phase::Both, &["sns:Unsubscribe"], &["*"]),
        Grant::new("TopicTeardown", Phase::Teardown, &["sns:DeleteTopic"], &arn),
    ]
}

pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    plan.notifications.as_ref().map(|n| topic_grants(&n.topic, p)).unwrap_or_default()
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    if plan.notifications.is_none() {
        return Vec::new();
    }
    vec![
        Check::new(Place::Region, TOPIC, "The findings SNS topic exists with its display name and tags", "orgguard"),
        Check::new(Place::Region, TOPIC_POLICY, "The topic policy lets EventBridge publish", "orgguard"),
        Check::new(Place::Region, SUBSCRIPTIONS, "The planned subscriptions exist, and no other", "orgguard"),
    ]
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateTopic { .. } => "create SNS topic",
            Self::SetTopicAttribute { .. } => "set SNS topic attribute",
            Self::TagTopic { .. } => "tag SNS topic",
            Self::Subscribe { .. } => "subscribe",
            Self::Unsubscribe { .. } => "unsubscribe",
            Self::DeleteTopic { .. } => "delete SNS topic",
        }
    }

    fn calls(&self) -> Calls {
        Calls::here(Service::Sns, 1)
    }

    fn failures(&self, plan: &Plan) -> Vec<Failure> {
        match self {
            Self::CreateTopic { topic } => {
                let subscriptions = plan.notifications.as_ref().map_or(0, |n| n.subscriptions.len());
                vec![
                    Failure::new(TOPIC, format!("topic {topic}"), "missing"),
                    Failure::new(TOPIC_POLICY, "events.amazonaws.com may publish", "no topic"),
                    Failure::new(SUBSCRIPTIONS, format!("{subscriptions} subscriptions"), "no topic"),
                ]
            }
            Self::SetTopicAttribute { attribute: Attribute::Policy, .. } => {
                vec![Failure::new(TOPIC_POLICY, "events.amazonaws.com may publish", "other policy")]
            }
            Self::SetTopicAttribute { attribute, .. } => vec![Failure::new(TOPIC, format!("{} as planned", attribute.name()), "differs")],
            Self::TagTopic { tags, .. } => vec![Failure::new(TOPIC, format!("tags {tags:?}"), "missing or different")],
            Self::Subscribe { protocol, endpoint } => vec![Failure::new(SUBSCRIPTIONS, format!("{protocol}:{endpoint} subscribed"), "missing")],
            Self::Unsubscribe { protocol, endpoint, planned: false, .. } => {
                vec![Failure::new(SUBSCRIPTIONS, "only planned subscriptions", format!("{protocol}:{endpoint} subscribed"))]
            }
            Self::Unsubscribe { planned: true, .. } | Self::DeleteTopic { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateTopic { topic } => write!(f, "topic {topic} with display name, policy and tags"),
            Self::SetTopicAttribute { topic, attribute } => write!(f, "topic {topic}: {}", attribute.name()),
            Self::TagTopic { topic, tags } => write!(f, "topic {topic}: {tags:?}"),
            Self::Subscribe { protocol, endpoint } => write!(f, "{protocol}:{endpoint}"),
            Self::Unsubscribe { protocol, endpoint, planned: false, .. } => write!(f, "{protocol}:{endpoint} (not in the plan; pruning)"),
            Self::Unsubscribe { protocol, endpoint, planned: true, .. } => write!(f, "{protocol}:{endpoint}"),
            Self::DeleteTopic { topic } => write!(f, "topic {topic} and its subscriptions"),
        }
    }
}

/// The findings topic and its subscriptions in each account-region, with `[notifications]`.
pub struct Topic;

impl Resource for Topic {
    const NAME: &'static str = "findings topic";
    const SECTION: Section = Section::Notifications;
    type Placement = InAccountRegion;
    type Desired<'a> = (Wiring<'a>, Region);
    type Clients = Sns;
    type Observed = Option<ObservedTopic>;
    type Change = Change;

    fn desired<'a>(here: &At<'a, Self>) -> Option<Self::Desired<'a>> {
        Some((Wiring::of(here.plan, &here.session.account, here.partition)?, here.region))
    }

    fn clients(here: &At<'_, Self>) -> Sns {
        here.session.sns(&here.region)
    }

    async fn observe(sns: &Sns, (wiring, region): &Self::Desired<'_>) -> Result<Option<ObservedTopic>, TargetError> {
        Ok(sns.find_topic(&wiring.topic_arn(region)).await?)
    }

    fn plan((wiring, region): &Self::Desired<'_>, observed: &Option<ObservedTopic>) -> (Vec<Change>, Vec<Note>) {
        plan(wiring, region, observed.as_ref())
    }

    fn plan_teardown((wiring, _): &Self::Desired<'_>, observed: &Option<ObservedTopic>, prune: bool) -> (Vec<Change>, Vec<Note>) {
        teardown(wiring, observed.as_ref(), prune)
    }

    async fn apply(sns: &Sns, (wiring, region): &Self::Desired<'_>, _: &Self::Observed, change: &Change, _: &mut Made) -> Result<(), TargetError> {
        Ok(apply(sns, wiring, region, change).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::model::{ObservedSubscription, Partition};

    #[test]
    fn unplanned_subscriptions_are_reported_unless_the_plan_prunes_them() {
        let mut plan_file = fixtures::plan();
        let (account, region) = (fixtures::account(), fixtures::region());
        let observed = |plan_file: &Plan| {
            let wiring = Wiring { plan: plan_file.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws, alarms: false };
            let topic = ObservedTopic {
                arn: wiring.topic_arn(&region),
                display_name: "put-slack".into(),
                policy: Some(wiring.topic_policy(&region)),
                tags: BTreeMap::from([("Name".into(), "guardduty-finding".into())]),
                subscriptions: vec![
                    ObservedSubscription {
                        arn: "arn:aws:sns:eu-west-1:111122223333:guardduty-finding:1".into(),
                        protocol: "email".into(),
                        endpoint: "someone@example.com".into(),
                        filter_policy: None,
                        redrive_policy: None,
                    },
                    ObservedSubscription {
                        arn: "arn:aws:sns:eu-west-1:111122223333:guardduty-finding:2".into(),
                        protocol: "email".into(),
                        endpoint: "security-alerts@example.com".into(),
                        filter_policy: Some(r#"{"never":["matches"]}"#.into()),
                        redrive_policy: None,
                    },
                ],
            };
            plan(&wiring, &region, Some(&topic))
        };
        let (changes, notes) = observed(&plan_file);
        assert!(changes.is_empty(), "the planned subscription is there: {changes:?}");
        let failing: Vec<&str> = notes.iter().filter_map(|n| Some(n.fails.as_ref()?.actual.as_str())).collect();
        assert_eq!(failing, [r#"filter policy {"never":["matches"]}"#, "email:someone@example.com subscribed"], "kept, and failing");
        plan_file.notifications.as_mut().unwrap().prune_subscriptions = true;
        let (changes, notes) = observed(&plan_file);
        assert_eq!(notes.len(), 1, "the filter policy is still reported: {notes:?}");
        assert!(matches!(changes[0], Change::Unsubscribe { .. }), "{changes:?}");
    }

    #[test]
    fn a_planned_subscription_pending_confirmation_fails_subscriptions_and_changes_nothing() {
        let plan_file = fixtures::plan();
        let (account, region) = (fixtures::account(), fixtures::region());
        let wiring = Wiring { plan: plan_file.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws, alarms: false };
        let subscriptions = wiring
            .subscriptions()
            .into_iter()
            .map(|(protocol, endpoint)| ObservedSubscription {
                arn: "PendingConfirmation".into(),
                protocol: protocol.into(),
                endpoint: endpoint.into(),
                filter_policy: None,
                redrive_policy: None,
            })
            .collect();
        let topic = ObservedTopic {
            arn: wiring.topic_arn(&region),
            display_name: wiring.display_name().to_owned(),
            policy: Some(wiring.topic_policy(&region)),
            tags: plan_file.notifications.as_ref().unwrap().tags.clone(),
            subscriptions,
        };
        let (changes, notes) = plan(&wiring, &region, Some(&topic));
        assert_eq!(changes, []);
        let failures: Vec<_> = notes.iter().filter_map(|n| Some((n.fails.as_ref()?.control.as_str(), n.fails.as_ref()?.actual.as_str()))).collect();
        assert_eq!(failures, [(SUBSCRIPTIONS, "pending confirmation")]);
    }

    #[test]
    fn teardown_deletes_the_topic_unless_a_subscription_the_plan_does_not_name_keeps_it() {
        let plan_file = fixtures::plan();
        let account = fixtures::account();
        let wiring = Wiring { plan: plan_file.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws, alarms: false };
        let subscription = |n: u8, endpoint: &str| ObservedSubscription {
            arn: format!("arn:aws:sns:eu-west-1:111122223333:guardduty-finding:{n}"),
            protocol: "email".into(),
            endpoint: endpoint.into(),
            filter_policy: None,
            redrive_policy: None,
        };
        let mut topic = ObservedTopic {
            arn: "arn:aws:sns:eu-west-1:111122223333:guardduty-finding".into(),
            display_name: "put-slack".into(),
            policy: None,
            tags: BTreeMap::new(),
            subscriptions: vec![subscription(1, "security-alerts@example.com")],
        };
        let delete = Change::DeleteTopic { topic: "guardduty-finding".into() };
        assert_eq!(teardown(&wiring, Some(&topic), false), (vec![delete.clone()], vec![]));
        topic.subscriptions.push(subscription(2, "someone@example.com"));
        let (changes, notes) = teardown(&wiring, Some(&topic), false);
        assert!(matches!(&changes[..], [Change::Unsubscribe { planned: true, endpoint, .. }] if endpoint == "security-alerts@example.com"), "{changes:?}");
        assert!(notes[0].text.contains("email:someone@example.com"), "{notes:?}");
        assert_eq!(teardown(&wiring, Some(&topic), true), (vec![delete], vec![]), "pruning: the topic goes with both");
        assert_eq!(teardown(&wiring, None, false), (vec![], vec![]));
    }

    #[test]
    fn a_missing_topic_fails_topic_policy_and_subscriptions() {
        let plan_file = fixtures::plan();
        let account = fixtures::account();
        let wiring = Wiring { plan: plan_file.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws, alarms: false };
        let (changes, notes) = plan(&wiring, &fixtures::region(), None);
        assert!(notes.is_empty());
        assert_eq!(changes[0], Change::CreateTopic { topic: "guardduty-finding".into() });
        assert!(changes[1..].iter().all(|c| matches!(c, Change::Subscribe { .. })), "{changes:?}");
        let controls: Vec<String> = changes[0].failures(&plan_file).into_iter().map(|f| f.control).collect();
        assert_eq!(controls, [TOPIC, TOPIC_POLICY, SUBSCRIPTIONS]);
    }
}
