//! Central alerting (`[alerts]`): in each region's delegated admin, the plan's rules on the
//! default bus, where every member's findings arrive, publishing to one topic with its
//! subscriptions. The same topic and rules as the per-account wiring (`topic`, `rules`), made
//! in the admin account without a role (EventBridge publishes to SNS through the topic's
//! policy), and judged as one organization control.

use std::fmt;

use serde::Serialize;

use super::registry::{At, AtAdmin, Made, Resource, Section};
use super::{rules, topic, Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::Grant;
use crate::aws::{AwsError, Events, Sns};
use crate::desired::Wiring;
use crate::model::{AccountId, ObservedRule, ObservedTopic, Partition, Region};
use crate::outcome::{Note, TargetError};
use crate::plan::{Notifications, Plan};

pub const ALERTS: &str = "OG.Org.Alerts";

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Change {
    Topic(topic::Change),
    Rule(rules::Change),
}

/// What the admin holds now: the central topic, and each planned rule in plan order.
#[derive(Debug, Default)]
pub struct Observed {
    pub topic: Option<ObservedTopic>,
    pub rules: Vec<Option<ObservedRule>>,
}

/// AWS Chatbot's own subscription to each topic of its configurations.
const CHATBOT: (&str, &str) = ("https", "https://global.sns-api.chatbot.amazonaws.com");

/// The topic without Chatbot's subscription, which `[alerts.slack]` plans (Chatbot makes and
/// removes it with its configuration).
fn without_chatbot(topic: Option<&ObservedTopic>, slack: bool) -> Option<ObservedTopic> {
    let mut topic = topic?.clone();
    if slack {
        topic.subscriptions.retain(|s| (s.protocol.as_str(), s.endpoint.as_str()) != CHATBOT);
    }
    Some(topic)
}

/// The topic's and each rule's changes; drift left alone fails the alerts control.
pub fn plan(wiring: &Wiring, region: &Region, observed: &Observed, slack: bool) -> (Vec<Change>, Vec<Note>) {
    let (topic_changes, mut notes) = topic::plan(wiring, region, without_chatbot(observed.topic.as_ref(), slack).as_ref());
    let mut changes: Vec<Change> = topic_changes.into_iter().map(Change::Topic).collect();
    for (rule, found) in wiring.plan.rules.iter().zip(&observed.rules) {
        let (rule_changes, rule_notes) = rules::plan(wiring, region, rule, found.as_ref());
        changes.extend(rule_changes.into_iter().map(Change::Rule));
        notes.extend(rule_notes);
    }
    (changes, notes.into_iter().map(central).collect())
}

/// Teardown: the rules (their planned targets first), then the topic.
pub fn teardown(wiring: &Wiring, observed: &Observed, prune: bool, slack: bool) -> (Vec<Change>, Vec<Note>) {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    for (rule, found) in wiring.plan.rules.iter().zip(&observed.rules) {
        let (rule_changes, rule_notes) = rules::teardown(rule, found.as_ref());
        changes.extend(rule_changes.into_iter().map(Change::Rule));
        notes.extend(rule_notes);
    }
    let (topic_changes, topic_notes) = topic::teardown(wiring, without_chatbot(observed.topic.as_ref(), slack).as_ref(), prune);
    changes.extend(topic_changes.into_iter().map(Change::Topic));
    notes.extend(topic_notes);
    (changes, notes)
}

pub async fn apply(sns: &Sns, events: &Events, wiring: &Wiring<'_>, region: &Region, change: &Change) -> Result<(), AwsError> {
    match change {
        Change::Topic(change) => topic::apply(sns, wiring, region, change).await,
        Change::Rule(change) => rules::apply(events, wiring, region, change).await,
    }
}

/// The central topic and rules, in each region's delegated admin.
pub struct CentralAlerts;

pub struct Desired<'a> {
    /// The alerts as a per-account wiring.
    wiring: Notifications,
    admin: AccountId,
    partition: Partition,
    region: Region,
    /// `[alerts.slack]`: Chatbot's subscription to the topic is the Slack kind's.
    slack: bool,
    _plan: std::marker::PhantomData<&'a Plan>,
}

impl Desired<'_> {
    fn wiring(&self) -> Wiring<'_> {
        Wiring { plan: &self.wiring, account: &self.admin, partition: self.partition, alarms: false }
    }
}

impl Resource for CentralAlerts {
    const NAME: &'static str = "central alerts";
    const SECTION: Section = Section::Alerts;
    type Placement = AtAdmin;
    type Desired<'a> = Desired<'a>;
    type Clients = (Sns, Events);
    type Observed = Observed;
    type Change = Change;

    fn desired<'a>(at: &At<'a, Self>) -> Option<Desired<'a>> {
        let alerts = at.plan.alerts.as_ref()?;
        let (admin, partition, region) = (at.admin.account, at.partition, at.region);
        Some(Desired { wiring: alerts.wiring(), admin, partition, region, slack: alerts.slack.is_some(), _plan: std::marker::PhantomData })
    }

    fn clients(at: &At<'_, Self>) -> (Sns, Events) {
        (at.admin.sns(&at.region), at.admin.events(&at.region))
    }

    async fn observe((sns, events): &(Sns, Events), desired: &Self::Desired<'_>) -> Result<Observed, TargetError> {
        let topic = sns.find_topic(&desired.wiring().topic_arn(&desired.region)).await?;
        let mut rules = Vec::new();
        for rule in &desired.wiring.rules {
            rules.push(events.find_rule(rule.name.get_ref()).await?);
        }
        Ok(Observed { topic, rules })
    }

    fn plan(desired: &Self::Desired<'_>, observed: &Observed) -> (Vec<Change>, Vec<Note>) {
        plan(&desired.wiring(), &desired.region, observed, desired.slack)
    }

    fn plan_teardown(desired: &Self::Desired<'_>, observed: &Observed, prune: bool) -> (Vec<Change>, Vec<Note>) {
        teardown(&desired.wiring(), observed, prune, desired.slack)
    }

    async fn apply((sns, events): &(Sns, Events), desired: &Self::Desired<'_>, _: &Observed, change: &Change, _: &mut Made) -> Result<(), TargetError> {
        Ok(apply(sns, events, &desired.wiring(), &desired.region, change).await?)
    }
}

/// A per-account control's failure, as the central alerts control's.
fn central_failure(failure: Failure) -> Failure {
    Failure { control: ALERTS.into(), expected: format!("central: {}", failure.expected), ..failure }
}

fn central(note: Note) -> Note {
    Note { text: format!("central alerts: {}", note.text), fails: note.fails.map(central_failure) }
}

/// The central topic and rules, in the delegated admin's account.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    let Some(alerts) = &plan.alerts else { return Vec::new() };
    let mut grants = topic::topic_grants(&alerts.topic, p);
    grants.extend(rules::rule_grants(&alerts.rules, p));
    grants
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let description = "Each region's delegated admin holds the central rules, targeting the central topic with its subscriptions, and nothing else";
    plan.alerts.iter().map(|_| Check::new(Place::Organization, ALERTS, description, "orgguard")).collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::Topic(topic::Change::CreateTopic { .. }) => "create central alert topic",
            Self::Topic(topic::Change::DeleteTopic { .. }) => "delete central alert topic",
            Self::Topic(topic::Change::Subscribe { .. } | topic::Change::Unsubscribe { .. }) => "central alert subscription",
            Self::Topic(_) => "set central alert topic",
            Self::Rule(rules::Change::PutRule { .. } | rules::Change::PutTarget { .. }) => "put central alert rule",
            Self::Rule(_) => "delete central alert rule",
        }
    }

    fn calls(&self) -> Calls {
        match self {
            Self::Topic(change) => change.calls(),
            Self::Rule(change) => change.calls(),
        }
    }

    fn failures(&self, plan: &Plan) -> Vec<Failure> {
        let inner = match self {
            Self::Topic(change) => change.failures(plan),
            Self::Rule(change) => change.failures(plan),
        };
        inner.into_iter().map(central_failure).collect()
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Topic(change) => write!(f, "central: {change}"),
            Self::Rule(change) => write!(f, "central: {change}"),
        }
    }
}
