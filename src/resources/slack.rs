//! Slack through AWS Chatbot (`[alerts.slack]`): in the delegated admin's account, the role
//! Chatbot assumes (seed 002's: trusted by chatbot.amazonaws.com for this account only,
//! read-only CloudWatch) and the Slack channel configuration subscribed to the central topic
//! of every region, with a read-only guardrail always set. One configuration per channel: a
//! configuration of the channel under another name is not orgguard's; orgguard adds its
//! topics to it (and its guardrail if it has none, or AdministratorAccess among them) and
//! reports it. Made once a run, in the last region's organization layer, once every other
//! region's central topic is tchannel.

use std::fmt;

use serde::Serialize;
use serde_json::json;

use super::registry::{self, At, AtAdmin, Made, Mode, Once, Resource, Section};
use super::{iam, Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AccountSession, AwsError, Chatbot, Configuration, Iam, ObservedConfiguration, Service};
use crate::desired::{Role, Wiring};
use crate::model::{AccountId, ObservedIam, Partition, Region};
use crate::outcome::{Note, TargetError, Unmet};
use crate::plan::{Plan, Slack};

pub const SLACK: &str = "OG.Org.Slack";
/// AWS's AdministratorAccess, in any partition.
fn administrator(policy: &str) -> bool {
    policy.ends_with(":iam::aws:policy/AdministratorAccess")
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Role(iam::Change),
    CreateConfiguration { name: String, topics: Vec<String> },
    /// Every value the configuration is set to (the role, logging and guardrails of one that is
    /// not orgguard's are kept, but guardrails that are none or include AdministratorAccess).
    UpdateConfiguration { name: String, arn: String, role_arn: String, topics: Vec<String>, logging_level: String, guardrails: Vec<String>, why: String },
    DeleteConfiguration { name: String, arn: String },
}

/// What the admin account holds now.
#[derive(Debug)]
pub struct Observed {
    pub role: ObservedIam,
    /// The configuration of the plan's channel, whatever its name (or of its name).
    pub configuration: Option<ObservedConfiguration>,
    /// The central topics there are to subscribe.
    pub topics: Vec<String>,
}

/// What the plan asks for, spelled out for the admin account.
pub struct Desired<'a> {
    pub slack: &'a Slack,
    pub role: Role,
    pub role_arn: String,
    /// The central topic of every region of the run that has it.
    pub topics: Vec<String>,
}

impl<'a> Desired<'a> {
    pub fn new(slack: &'a Slack, admin: &AccountId, partition: Partition, topics: Vec<String>) -> Self {
        let p = partition.name();
        let role = Role {
            role: slack.role.clone(),
            policy: slack.policy.clone(),
            policy_arn: format!("arn:{p}:iam::{admin}:policy/{}", slack.policy),
            trust: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "chatbot.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": admin.as_str()}},
                }],
            }),
            document: json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*"], "Resource": "*"}],
            }),
        };
        Self { slack, role_arn: format!("arn:{p}:iam::{admin}:role/{}", slack.role), role, topics }
    }
}

/// Pure: the role's changes, then the configuration's.
pub fn plan(desired: &Desired, observed: &Observed) -> (Vec<Change>, Vec<Note>) {
    let mut changes: Vec<Change> = iam::plan(&desired.role, &observed.role).into_iter().map(Change::Role).collect();
    let mut notes = Vec::new();
    let slack = desired.slack;
    let name = slack.configuration_name.get_ref().clone();
    let guardrails = slack.guardrail_policies.get_ref().clone();
    let Some(found) = &observed.configuration else {
        changes.push(Change::CreateConfiguration { name, topics: desired.topics.clone() });
        return (changes, notes);
    };
    let mut topics = found.topics.clone();
    topics.extend(desired.topics.iter().filter(|t| !found.topics.contains(t)).cloned());
    let ours = found.name == name;
    let (role_arn, logging_level, guardrails) = match ours {
        true => (desired.role_arn.clone(), slack.logging_level.get_ref().clone(), guardrails),
        false => {
            notes.push(Note::new(format!("Slack channel {} has the configuration {} (kept, not orgguard's: orgguard adds its topics to it)", found.channel_id, found.name)));
            let unguarded = found.guardrails.is_empty() || found.guardrails.iter().any(|g| administrator(g));
            (found.role_arn.clone(), found.logging_level.clone(), if unguarded { guardrails } else { found.guardrails.clone() })
        }
    };
    let mut why = Vec::new();
    if topics != found.topics {
        why.push(format!("{} topics missing", topics.len() - found.topics.len()));
    }
    if role_arn != found.role_arn {
        why.push(format!("role {}", found.role_arn));
    }
    if logging_level != found.logging_level {
        why.push(format!("logging {}", found.logging_level));
    }
    let mut sorted = (guardrails.clone(), found.guardrails.clone());
    sorted.0.sort();
    sorted.1.sort();
    if sorted.0 != sorted.1 {
        why.push(format!("guardrails {}", if found.guardrails.is_empty() { "none (AdministratorAccess)".into() } else { found.guardrails.join(", ") }));
    }
    if !why.is_empty() {
        changes.push(Change::UpdateConfiguration { name: found.name.clone(), arn: found.arn.clone(), role_arn, topics, logging_level, guardrails, why: why.join("; ") });
    }
    (changes, notes)
}

/// Teardown: orgguard's configuration, then its role and policy; another's keeps everything
/// but orgguard's topics.
pub fn teardown(desired: &Desired, observed: &Observed) -> (Vec<Change>, Vec<Note>) {
    let mut changes = Vec::new();
    match &observed.configuration {
        Some(found) if &found.name == desired.slack.configuration_name.get_ref() => {
            changes.push(Change::DeleteConfiguration { name: found.name.clone(), arn: found.arn.clone() })
        }
        Some(found) if found.topics.iter().any(|t| desired.topics.contains(t)) => {
            let topics = found.topics.iter().filter(|t| !desired.topics.contains(t)).cloned().collect();
            changes.push(Change::UpdateConfiguration {
                name: found.name.clone(),
                arn: found.arn.clone(),
                role_arn: found.role_arn.clone(),
                topics,
                logging_level: found.logging_level.clone(),
                guardrails: found.guardrails.clone(),
                why: "orgguard's topics taken out".into(),
            })
        }
        _ => {}
    }
    let (role, notes) = iam::teardown(&desired.role, &observed.role);
    changes.extend(role.into_iter().map(Change::Role));
    (changes, notes)
}

pub async fn apply(iam_client: &Iam, chatbot: &Chatbot, desired: &Desired<'_>, change: &Change) -> Result<(), AwsError> {
    let slack = desired.slack;
    match change {
        Change::Role(change) => iam::apply(iam_client, &desired.role, change).await,
        Change::CreateConfiguration { name, topics } => {
            let configuration = Configuration {
                role_arn: &desired.role_arn,
                topics,
                logging_level: slack.logging_level.get_ref(),
                guardrails: slack.guardrail_policies.get_ref(),
            };
            chatbot.create(name, slack.team_id.get_ref(), slack.channel_id.get_ref(), &configuration).await
        }
        Change::UpdateConfiguration { arn, role_arn, topics, logging_level, guardrails, .. } => {
            let configuration = Configuration { role_arn, topics, logging_level, guardrails };
            chatbot.update(arn, slack.channel_id.get_ref(), &configuration).await
        }
        Change::DeleteConfiguration { arn, .. } => chatbot.delete(arn).await,
    }
}

/// The region of the run where the channel configuration is made and read: the last, once
/// every other region's central topic is there to subscribe (or the first, when it is the
/// only one).
pub fn region(plan: &Plan, regions: &[Region]) -> Option<Region> {
    let (first, last) = registry::first_and_last(plan, regions);
    last.or(first)
}

/// The Slack channel configuration and its role, in the admin account, in one region.
pub struct SlackChannel;

pub struct Channel<'a> {
    slack: &'a Slack,
    admin: AccountId,
    partition: Partition,
    region: Region,
    /// Every region's central topic.
    topics: Vec<(Region, String)>,
    /// Every region's topic counts, there or not: a rollout's dry run (the rollout makes each
    /// before this region, so the change set it writes is the one the rollout makes) and a
    /// teardown (which takes them all out of the configuration without looking: the other
    /// regions are deleting theirs meanwhile). The audit counts only the topics there are.
    every: bool,
}

impl Channel<'_> {
    fn desired(&self, topics: &[String]) -> Desired<'_> {
        Desired::new(self.slack, &self.admin, self.partition, topics.to_vec())
    }
}

impl Resource for SlackChannel {
    const NAME: &'static str = "Slack channel";
    const SECTION: Section = Section::Slack;
    const NEEDS: &'static [Section] = &[Section::Alerts];
    type Placement = AtAdmin;
    type Desired<'a> = Channel<'a>;
    type Clients = AccountSession;
    type Observed = Observed;
    type Change = Change;

    fn desired<'a>(at: &At<'a, Self>) -> Option<Channel<'a>> {
        let alerts = at.plan.alerts.as_ref()?;
        if region(at.plan, at.regions) != Some(at.region) {
            return None;
        }
        let wiring = alerts.wiring();
        let (admin, partition) = (at.admin.account, at.partition);
        let central = Wiring { plan: &wiring, account: &admin, partition, alarms: false };
        let topics = at.regions.iter().map(|r| (*r, central.topic_arn(r))).collect();
        let every = matches!(at.mode, Mode::Rollout { dry_run: true } | Mode::Teardown { .. });
        Some(Channel { slack: alerts.slack.as_ref()?, admin, partition, region: at.region, topics, every })
    }

    fn once(plan: &Plan) -> Option<Once> {
        plan.alerts.as_ref()?.slack.as_ref().map(|_| Once::Last)
    }

    fn clients(at: &At<'_, Self>) -> AccountSession {
        at.admin.clone()
    }

    /// The central topics there are (this region's is made before the configuration), the
    /// Chatbot role and the configuration of the plan's channel (or, if the plan moved the
    /// channel, of its name). A Slack workspace the account never authorised stops here,
    /// naming that one-time step.
    async fn observe(session: &AccountSession, channel: &Self::Desired<'_>) -> Result<Observed, TargetError> {
        let mut topics = Vec::new();
        for (other, arn) in &channel.topics {
            if *other == channel.region || channel.every || session.sns(other).find_topic(arn).await?.is_some() {
                topics.push(arn.clone());
            }
        }
        let chatbot = session.chatbot();
        let team = channel.slack.team_id.get_ref();
        if !chatbot.workspaces().await?.contains(team) {
            let message = format!(
                "the Slack workspace {team} is not authorised for AWS Chatbot in the admin account {}: authorise it once in the \
                 AWS Chatbot console (Configure new client, Slack), then run again",
                channel.admin
            );
            return Err(TargetError::Unmet { operation: "chatbot:DescribeSlackWorkspaces", unmet: Unmet::WorkspaceNotAuthorized, message });
        }
        let (channel_id, name) = (channel.slack.channel_id.get_ref(), channel.slack.configuration_name.get_ref());
        let configurations = chatbot.configurations().await?;
        let by_channel = configurations.iter().find(|c| &c.channel_id == channel_id);
        let configuration = by_channel.or_else(|| configurations.iter().find(|c| &c.name == name)).cloned();
        let desired = channel.desired(&topics);
        let role = session.iam().observe(&desired.role.role, &desired.role.policy_arn).await?;
        Ok(Observed { role, configuration, topics })
    }

    fn plan(channel: &Self::Desired<'_>, observed: &Observed) -> (Vec<Change>, Vec<Note>) {
        plan(&channel.desired(&observed.topics), observed)
    }

    fn plan_teardown(channel: &Self::Desired<'_>, observed: &Observed, _prune: bool) -> (Vec<Change>, Vec<Note>) {
        teardown(&channel.desired(&observed.topics), observed)
    }

    async fn apply(session: &AccountSession, channel: &Self::Desired<'_>, observed: &Observed, change: &Change, _: &mut Made) -> Result<(), TargetError> {
        Ok(apply(&session.iam(), &session.chatbot(), &channel.desired(&observed.topics), change).await?)
    }
}

/// The channel configuration and the role Chatbot assumes, in the admin's account.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    let Some(slack) = plan.alerts.as_ref().and_then(|a| a.slack.as_ref()) else { return Vec::new() };
    let configurations = [format!("arn:{p}:chatbot::*:chat-configuration/slack-channel/*")];
    let mut grants = vec![
        Grant::read(&["chatbot:DescribeSlackWorkspaces", "chatbot:DescribeSlackChannelConfigurations"]),
        Grant::new("ChatbotConfiguration", Phase::Rollout, &["chatbot:CreateSlackChannelConfiguration"], &configurations),
        // A teardown takes orgguard's topics out of another's configuration.
        Grant::new("ChatbotConfiguration", Phase::Both, &["chatbot:UpdateSlackChannelConfiguration"], &configurations),
        Grant::new("ChatbotTeardown", Phase::Teardown, &["chatbot:DeleteSlackChannelConfiguration"], &configurations),
    ];
    grants.extend(iam::role_grants("Chatbot", &slack.role, &slack.policy, "chatbot.amazonaws.com", p));
    grants
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let description = "The Slack channel's Chatbot configuration holds every region's central topic, with a read-only guardrail";
    plan.alerts.iter().filter(|a| a.slack.is_some()).map(|_| Check::new(Place::Organization, SLACK, description, "orgguard")).collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::Role(_) => "Chatbot role",
            Self::CreateConfiguration { .. } => "create Slack channel configuration",
            Self::UpdateConfiguration { .. } => "update Slack channel configuration",
            Self::DeleteConfiguration { .. } => "delete Slack channel configuration",
        }
    }

    fn calls(&self) -> Calls {
        match self {
            Self::Role(change) => change.calls(),
            _ => Calls::here(Service::Direct, 1),
        }
    }

    fn failures(&self, plan: &Plan) -> Vec<Failure> {
        match self {
            Self::Role(change) => change.failures(plan).into_iter().map(|f| Failure { control: SLACK.into(), expected: format!("Chatbot: {}", f.expected), ..f }).collect(),
            Self::CreateConfiguration { name, .. } => vec![Failure::new(SLACK, format!("Slack channel configuration {name}"), "none")],
            Self::UpdateConfiguration { name, why, .. } => vec![Failure::new(SLACK, format!("Slack channel configuration {name} as planned"), why.clone())],
            Self::DeleteConfiguration { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Role(change) => write!(f, "Chatbot: {change}"),
            Self::CreateConfiguration { name, topics } => write!(f, "Slack channel configuration {name} with {} central topics", topics.len()),
            Self::UpdateConfiguration { name, why, .. } => write!(f, "Slack channel configuration {name} ({why})"),
            Self::DeleteConfiguration { name, .. } => write!(f, "Slack channel configuration {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountId;

    fn slack() -> Slack {
        let text = "configuration_name = \"guardduty-alerts\"\nteam_id = \"T1\"\nchannel_id = \"C1\"\n";
        toml::from_str(text).unwrap()
    }

    #[test]
    fn another_configuration_of_the_channel_gets_the_topics_and_a_guardrail_and_loses_only_the_topics_at_teardown() {
        let (slack, admin) = (slack(), AccountId::parse("100000000001").unwrap());
        let ours = |r: &str| format!("arn:aws:sns:{r}:100000000001:guardduty-findings-central");
        let desired = Desired::new(&slack, &admin, Partition::Aws, vec![ours("eu-west-1"), ours("us-east-1")]);
        let theirs = ObservedConfiguration {
            arn: "arn:aws:chatbot::100000000001:chat-configuration/slack-channel/theirs".into(),
            name: "theirs".into(),
            channel_id: "C1".into(),
            role_arn: "arn:aws:iam::100000000001:role/theirs".into(),
            topics: vec!["arn:aws:sns:us-east-1:100000000001:theirs".into(), ours("eu-west-1")],
            logging_level: "NONE".into(),
            guardrails: vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()],
        };
        let role = ObservedIam { role_trust: Some(desired.role.trust.clone()), policy: None, attached: false, others_attached: vec![] };
        let observed = Observed { role, configuration: Some(theirs.clone()), topics: desired.topics.clone() };
        let (changes, notes) = plan(&desired, &observed);
        let update = changes.iter().find_map(|c| match c {
            Change::UpdateConfiguration { role_arn, topics, guardrails, .. } => Some((role_arn, topics, guardrails)),
            _ => None,
        });
        let (role_arn, topics, guardrails) = update.expect("an update of theirs");
        assert_eq!(role_arn, &theirs.role_arn, "their role is kept");
        assert_eq!(topics, &vec![theirs.topics[0].clone(), ours("eu-west-1"), ours("us-east-1")], "theirs first, ours added");
        assert_eq!(guardrails, &vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()], "AdministratorAccess replaced");
        assert_eq!(notes.len(), 1);
        let (changes, _) = teardown(&desired, &observed);
        assert!(
            matches!(&changes[0], Change::UpdateConfiguration { topics, guardrails, .. } if topics == &vec![theirs.topics[0].clone()] && guardrails == &theirs.guardrails),
            "{changes:?}"
        );
        assert!(!changes.iter().any(|c| matches!(c, Change::DeleteConfiguration { .. })), "theirs is never deleted");
    }
}
