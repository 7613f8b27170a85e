//! What the delegated admin holds on its own detector for the whole organization: the
//! suppression rules, the IP lists and the findings export of a region. Read, planned and
//! applied alike by a rollout (the organization layer) and a teardown.

use std::borrow::Cow;

use super::Context;
use crate::aws::{AwsError, GuardDuty};
use crate::model::{ObservedDestination, ObservedFilter, ObservedList, Region};
use crate::outcome::{Note, TargetError, Unmet};
use crate::plan::{Alerts, Export, IpLists, Notifications, Plan, RegionSelection, Suppression};
use crate::desired::Wiring;
use crate::resources::{alerts, archive, export, ip_lists, slack, suppression, Change};

/// The plan's sections for the admin's detector (a teardown may leave them out).
#[derive(Clone, Copy, Default)]
pub struct Sections<'a> {
    pub rules: Option<&'a Suppression>,
    pub lists: Option<&'a IpLists>,
    pub export: Option<&'a Export>,
    pub alerts: Option<&'a Alerts>,
}

impl<'a> Sections<'a> {
    pub fn of(plan: &'a Plan) -> Self {
        Self { rules: plan.suppression.as_ref(), lists: plan.ip_lists.as_ref(), export: plan.export.as_ref(), alerts: plan.alerts.as_ref() }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_none() && self.lists.is_none() && self.export.is_none() && self.alerts.is_none()
    }
}

/// Central alerting's wiring in the admin account.
fn alert_wiring<'a>(cx: &'a Context, plan: &'a Notifications) -> Option<Wiring<'a>> {
    Some(Wiring { plan, account: cx.plan.admin.as_ref()?.account.get_ref(), partition: cx.aws.caller.partition, alarms: false })
}

/// The central topic and rules the admin holds now (with `[alerts]`).
pub async fn observe_alerts(cx: &Context, region: &Region, held: &mut Held) -> Result<(), AwsError> {
    let (Some(alerts), Some(session)) = (&cx.plan.alerts, cx.admin.as_ref()) else { return Ok(()) };
    let plan = alerts.wiring();
    let wiring = alert_wiring(cx, &plan).expect("an admin session with an admin plan");
    let topic = session.sns(region).find_topic(&wiring.topic_arn(region)).await?;
    let events = session.events(region);
    let mut rules = Vec::new();
    for rule in &alerts.rules {
        rules.push(events.find_rule(rule.name.get_ref()).await?);
    }
    held.alerts = Some(alerts::Observed { topic, rules });
    Ok(())
}

/// What the admin's detector holds, for the sections planned.
#[derive(Debug, Default)]
pub struct Held {
    pub filters: Vec<ObservedFilter>,
    pub lists: Vec<ObservedList>,
    pub destinations: Vec<ObservedDestination>,
    /// The export's key, when the plan names it by an alias that names one now.
    pub key: Option<String>,
    /// The archive, read in the region where it is made (`archive_region`).
    pub archive: Option<archive::Observed>,
    pub alerts: Option<alerts::Observed>,
    /// Read in the last region (`last_region`) only.
    pub slack: Option<slack::Observed>,
    /// Why the Slack configuration could not be read there.
    pub slack_error: Option<TargetError>,
}

/// With `[export.archive]`, the region where the archive is made: the key's, which GuardDuty
/// wants the bucket's to be.
fn archive_region(plan: &Plan) -> Option<Region> {
    let export = plan.export.as_ref().filter(|e| e.archive.is_some())?;
    export.key_place().map(|(region, _)| region)
}

/// The region of the run whose organization layer goes first: where the findings archive is
/// made, which the other regions' exports write to.
pub fn first_region(plan: &Plan, regions: &[Region]) -> Option<Region> {
    archive_region(plan).filter(|r| regions.contains(r))
}

/// The region whose organization layer goes last: where the Slack channel configuration is
/// made, once every other region's central topic is there to subscribe.
pub fn last_region(plan: &Plan, regions: &[Region]) -> Option<Region> {
    plan.alerts.as_ref()?.slack.as_ref()?;
    let first = first_region(plan, regions);
    regions.iter().rev().copied().find(|r| Some(*r) != first).or(first)
}

/// Slack through Chatbot for these central topics (with `[alerts.slack]`).
fn slack_desired<'a>(cx: &'a Context, topics: Vec<String>) -> Option<slack::Desired<'a>> {
    let alerts = cx.plan.alerts.as_ref()?;
    let admin = cx.plan.admin.as_ref()?.account.get_ref();
    Some(slack::Desired::new(alerts.slack.as_ref()?, admin, cx.aws.caller.partition, topics))
}

/// In the last region only: the central topics there are (this region's is made before the
/// configuration), the Chatbot role and the configuration of the plan's channel (or, if the
/// plan moved the channel, of its name). A Slack workspace the account never authorised stops
/// here, naming that one-time step.
///
/// A rollout's dry run counts every region's topic, as the rollout makes each before this
/// region, so that the change set it writes is the one the rollout makes; the audit counts
/// only the topics there are.
pub async fn observe_slack(cx: &Context, region: &Region, regions: &[Region], held: &mut Held) -> Result<(), TargetError> {
    let (Some(alerts), Some(session)) = (&cx.plan.alerts, cx.admin.as_ref()) else { return Ok(()) };
    if last_region(&cx.plan, regions) != Some(*region) {
        return Ok(());
    }
    let plan = alerts.wiring();
    let wiring = alert_wiring(cx, &plan).expect("an admin session with an admin plan");
    // (A teardown takes them all out of the configuration without looking: the other regions
    // are deleting theirs meanwhile.)
    let rollout_dry_run = cx.options.dry_run && !cx.options.detectors_from_admin;
    let every = rollout_dry_run || cx.options.teardown.is_some();
    let mut topics = Vec::new();
    for other in regions {
        let arn = wiring.topic_arn(other);
        if other == region || every || session.sns(other).find_topic(&arn).await?.is_some() {
            topics.push(arn);
        }
    }
    let desired = slack_desired(cx, topics.clone()).expect("alerts with slack");
    let chatbot = session.chatbot();
    let team = desired.slack.team_id.get_ref();
    if !chatbot.workspaces().await?.contains(team) {
        let message = format!(
            "the Slack workspace {team} is not authorised for AWS Chatbot in the admin account {}: authorise it once in the \
             AWS Chatbot console (Configure new client, Slack), then run again",
            session.account
        );
        return Err(TargetError::Unmet { operation: "chatbot:DescribeSlackWorkspaces", unmet: Unmet::WorkspaceNotAuthorized, message });
    }
    let (channel, name) = (desired.slack.channel_id.get_ref(), desired.slack.configuration_name.get_ref());
    let configurations = chatbot.configurations().await?;
    let by_channel = configurations.iter().find(|c| &c.channel_id == channel);
    let configuration = by_channel.or_else(|| configurations.iter().find(|c| &c.name == name)).cloned();
    let role = session.iam().observe(&desired.role.role, &desired.role.policy_arn).await?;
    held.slack = Some(slack::Observed { role, configuration, topics });
    Ok(())
}

/// What the archive should be (with `[export.archive]` and an admin).
fn archive_desired<'a>(cx: &'a Context) -> Option<archive::Desired<'a>> {
    let export = cx.plan.export.as_ref()?;
    let partition = cx.aws.caller.partition;
    // GuardDuty's principal, and each opt-in region's own, for the regions the plan names.
    let regions: Vec<Region> = match &cx.plan.organization.regions {
        RegionSelection::All => partition.guardduty_regions().iter().filter_map(|r| Region::parse(r).ok()).collect(),
        RegionSelection::List(regions) => regions.iter().copied().collect(),
    };
    let mut principals: Vec<String> = regions.iter().map(Region::guardduty_principal).collect();
    principals.sort();
    principals.dedup();
    Some(archive::Desired { export, archive: export.archive.as_ref()?, admin: *cx.plan.admin.as_ref()?.account.get_ref(), principals, partition: partition.name() })
}

/// The export's key and, in the archive's region, the archive: read in the accounts that own
/// them. Only with `[export.archive]` (otherwise the plan names the key's ARN).
pub async fn observe_archive(cx: &Context, region: &Region, held: &mut Held) -> Result<(), AwsError> {
    let Some(export) = cx.plan.export.as_ref().filter(|e| e.archive.is_some()) else { return Ok(()) };
    let Some((key_region, key_account)) = export.key_place() else { return Ok(()) };
    let keys = cx.session(&key_account).storage(&key_region);
    held.key = keys.find_key(export.kms_key.get_ref()).await?;
    if archive_region(&cx.plan) == Some(*region) {
        let key_policy = match &held.key {
            Some(key) => keys.key_policy(key).await?,
            None => None,
        };
        let bucket_account = export.bucket_account.or(cx.plan.admin.as_ref().map(|a| *a.account.get_ref())).expect("an export has an admin");
        let prefix = export.prefix.as_ref().map(|p| p.get_ref().as_str());
        let bucket = cx.session(&bucket_account).storage(&key_region).bucket(export.bucket_name(), prefix).await?;
        held.archive = Some(archive::Observed { key: held.key.clone(), key_policy, bucket });
    }
    Ok(())
}

/// The plan's export with the key its alias names now (unchanged without one).
fn with_key<'a>(export: &'a Export, key: Option<&str>) -> Cow<'a, Export> {
    match key {
        Some(key) if key != export.kms_key.get_ref() => {
            let kms_key = toml::Spanned::new(export.kms_key.span(), key.to_owned());
            Cow::Owned(Export { kms_key, ..export.clone() })
        }
        _ => Cow::Borrowed(export),
    }
}

/// Reads only what the plan has sections for.
pub async fn observe(guardduty: &GuardDuty, detector_id: &str, sections: Sections<'_>) -> Result<Held, AwsError> {
    let mut held = Held::default();
    if sections.rules.is_some() {
        held.filters = guardduty.filters(detector_id).await?;
    }
    if sections.lists.is_some() {
        held.lists = guardduty.lists(detector_id).await?;
    }
    if sections.export.is_some() {
        held.destinations = guardduty.destinations(detector_id).await?;
    }
    Ok(held)
}

/// The changes to the admin's detector, by kind, in the order they are made.
#[derive(Debug, Default, PartialEq)]
pub struct Planned {
    pub archive: Vec<archive::Change>,
    pub alerts: Vec<alerts::Change>,
    pub slack: Vec<slack::Change>,
    pub suppression: Vec<suppression::Change>,
    pub ip_lists: Vec<ip_lists::Change>,
    pub export: Vec<export::Change>,
    /// Drift reported but deliberately not changed.
    pub notes: Vec<Note>,
    /// The bucket and key policies were found to let the destination publish (`check`).
    pub policies_checked: bool,
}

impl Planned {
    pub fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        let archive = self.archive.iter().cloned().map(Change::from);
        let alerts = self.alerts.iter().cloned().map(Change::from);
        let slack = self.slack.iter().cloned().map(Change::from);
        let rules = self.suppression.iter().cloned().map(Change::from);
        let lists = self.ip_lists.iter().cloned().map(Change::from);
        archive.chain(alerts).chain(slack).chain(rules).chain(lists).chain(self.export.iter().cloned().map(Change::from))
    }
}

/// What makes the admin's detector hold what the sections say, and the archive what the
/// plan says where it is made.
pub fn plan(cx: &Context, region: &Region, sections: Sections<'_>, held: &Held) -> Planned {
    let mut planned = Planned::default();
    if let (Some(desired), Some(observed)) = (archive_desired(cx), &held.archive) {
        let (changes, notes) = archive::plan(&desired, observed);
        planned.archive = changes;
        planned.notes.extend(notes);
    }
    if let (Some(alerts), Some(observed)) = (sections.alerts, &held.alerts) {
        let plan = alerts.wiring();
        let (changes, notes) = alerts::plan(&alert_wiring(cx, &plan).expect("alerts with an admin"), region, observed, alerts.slack.is_some());
        planned.alerts = changes;
        planned.notes.extend(notes);
    }
    if let Some((desired, observed)) = held.slack.as_ref().and_then(|o| Some((slack_desired(cx, o.topics.clone())?, o))) {
        let (changes, notes) = slack::plan(&desired, observed);
        planned.slack = changes;
        planned.notes.extend(notes);
    }
    if let Some(rules) = sections.rules {
        let (changes, notes) = suppression::plan(rules, &held.filters);
        planned.suppression = changes;
        planned.notes.extend(notes);
    }
    if let Some(lists) = sections.lists {
        let (changes, notes) = ip_lists::plan(lists, &held.lists);
        planned.ip_lists = changes;
        planned.notes.extend(notes);
    }
    if let Some(destination) = sections.export {
        let (changes, notes) = export::plan(&with_key(destination, held.key.as_deref()), &held.destinations);
        planned.export = changes;
        planned.notes.extend(notes);
    }
    planned
}

/// What the sections put there, to take out.
pub fn teardown(cx: &Context, sections: Sections<'_>, held: &Held, prune: bool) -> Planned {
    let alerts = sections.alerts.zip(held.alerts.as_ref()).map(|(alerts, observed)| {
        let plan = alerts.wiring();
        alerts::teardown(&alert_wiring(cx, &plan).expect("alerts with an admin"), observed, prune, alerts.slack.is_some())
    });
    let (alerts, mut notes) = alerts.unwrap_or_default();
    let slack = held.slack.as_ref().filter(|_| sections.alerts.is_some()).and_then(|o| Some(slack::teardown(&slack_desired(cx, o.topics.clone())?, o)));
    let (slack, slack_notes) = slack.unwrap_or_default();
    notes.extend(slack_notes);
    Planned {
        alerts,
        slack,
        notes,
        suppression: sections.rules.map(|r| suppression::teardown(r, &held.filters)).unwrap_or_default(),
        ip_lists: sections.lists.map(|l| ip_lists::teardown(l, &held.lists)).unwrap_or_default(),
        export: sections.export.map(|e| export::teardown(e, &held.destinations)).unwrap_or_default(),
        ..Planned::default()
    }
}

/// The changes, one at a time (GuardDuty's ranks and quotas want them in order).
pub async fn apply(
    cx: &Context,
    guardduty: &GuardDuty,
    region: &Region,
    detector_id: &str,
    sections: Sections<'_>,
    held: &Held,
    planned: &Planned,
) -> Result<(), TargetError> {
    let mut key = held.key.clone();
    if let (Some(desired), Some(observed), false) = (archive_desired(cx), &held.archive, planned.archive.is_empty()) {
        let (key_region, key_account) = desired.export.key_place().expect("checked when the plan was read");
        let bucket_account = desired.export.bucket_account.unwrap_or(desired.admin);
        let (keys, buckets) = (cx.session(&key_account).storage(&key_region), cx.session(&bucket_account).storage(&key_region));
        key = archive::apply(&desired, &keys, &buckets, region, observed, &planned.archive).await?;
    }
    if let (Some(alerts), Some(session)) = (sections.alerts, cx.admin.as_ref()) {
        let plan = alerts.wiring();
        let wiring = alert_wiring(cx, &plan).expect("alerts with an admin");
        let (sns, events) = (session.sns(region), session.events(region));
        for change in &planned.alerts {
            alerts::apply(&sns, &events, &wiring, region, change).await?;
        }
    }
    let slack = held.slack.as_ref().and_then(|o| slack_desired(cx, o.topics.clone()));
    if let (Some(desired), Some(session), false) = (slack, cx.admin.as_ref(), planned.slack.is_empty()) {
        let (iam, chatbot) = (session.iam(), session.chatbot());
        for change in &planned.slack {
            slack::apply(&iam, &chatbot, &desired, change).await?;
        }
    }
    if let Some(rules) = sections.rules {
        for change in &planned.suppression {
            suppression::apply(guardduty, detector_id, rules, change).await?;
        }
    }
    if let Some(lists) = sections.lists {
        for change in &planned.ip_lists {
            ip_lists::apply(guardduty, detector_id, lists, change).await?;
        }
    }
    if let Some(destination) = sections.export {
        let destination = with_key(destination, key.as_deref());
        for change in &planned.export {
            if !matches!(change, export::Change::DeleteDestination { .. }) && !planned.policies_checked {
                check_policies(cx, &destination, region, detector_id).await?;
            }
            export::apply(guardduty, detector_id, &destination, change).await?;
        }
    }
    Ok(())
}

/// When a destination is to be created or moved and the admin's detector exists: its
/// policies, checked as the plan is made, so that a dry run says what they lack.
/// Where orgguard makes the archive's policies itself in this run, they are not checked.
pub async fn check(cx: &Context, region: &Region, detector_id: &str, sections: Sections<'_>, held: &Held, planned: &mut Planned) -> Result<(), TargetError> {
    let writes = planned.export.iter().any(|c| !matches!(c, export::Change::DeleteDestination { .. }));
    if let (Some(destination), true, true) = (sections.export, writes, planned.archive.is_empty()) {
        check_policies(cx, &with_key(destination, held.key.as_deref()), region, detector_id).await?;
        planned.policies_checked = true;
    }
    Ok(())
}

/// Before GuardDuty is asked to publish to the plan's bucket: the bucket and key policies,
/// read in the accounts that own them, must let the admin's detector write there; a
/// statement missing fails the target, named, with nothing sent to GuardDuty. Policies that
/// cannot be read are left to GuardDuty (its status says what it found).
async fn check_policies(cx: &Context, export: &Export, region: &Region, detector_id: &str) -> Result<(), TargetError> {
    let (Some(admin), Some((key_region, key_account))) = (cx.plan.admin.as_ref(), export.key_place()) else { return Ok(()) };
    let admin = *admin.account.get_ref();
    let bucket_account = export.bucket_account.unwrap_or(admin);
    let read = async {
        let bucket = cx.session(&bucket_account).storage(&key_region).bucket_policy(export.bucket_name()).await?;
        let key = cx.session(&key_account).storage(&key_region).key_policy(export.kms_key.get_ref()).await?;
        Ok::<_, AwsError>((bucket, key))
    };
    let (bucket, key) = match read.await {
        Ok(policies) => policies,
        Err(error) => {
            tracing::warn!("findings export in {region}: the bucket and key policies were not checked: {error}");
            return Ok(());
        }
    };
    let source_arn = format!("arn:{}:guardduty:{region}:{admin}:detector/{detector_id}", cx.aws.caller.partition.name());
    let missing = export::missing_statements(export, bucket.as_ref(), key.as_ref(), &admin, region, &source_arn);
    if missing.is_empty() {
        return Ok(());
    }
    let each: Vec<String> = missing.iter().map(|(place, statement)| format!("the {place} lacks {statement}")).collect();
    let message = format!("not asked of GuardDuty: {}", each.join("; "));
    Err(TargetError::Unmet { operation: "guardduty:CreatePublishingDestination", unmet: Unmet::PolicyMissing, message })
}
