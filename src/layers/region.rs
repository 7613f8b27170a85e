//! Per account and region: the detector, the findings topic and its subscriptions, the
//! rules and their targets, the exfiltration alarm (log group, flow logs, metric filter,
//! alarm), and the account's invitation-era relationships. Everything is read before
//! anything is changed; changes go in dependency order: detector, topic, rules (whose
//! targets need the account's IAM role), the alarm's parts (whose flow logs need the
//! delivery role), relationships.

use std::sync::OnceLock;

use super::{result, settle, Context};
use crate::aws::{AccountSession, AwsError, Events, GuardDuty, Network, Sns};
use crate::desired::Wiring;
use crate::model::{AccountId, DetectorSettings, Feature, ObservedDetector, ObservedRelationship, ObservedRule, ObservedTopic, Region, Target};
use crate::outcome::{Layer, Legacy, Note, ReadFrom, SkipReason, Status, TargetError};
use crate::results::{shared, TargetResult};
use crate::resources::{detector, exfiltration, relationship, rules, topic, Change};

/// What the plan asks of one account-region.
struct Desired<'a> {
    pub detector: &'a DetectorSettings,
    pub wiring: Option<Wiring<'a>>,
    pub exfiltration: Option<exfiltration::Desired<'a>>,
    /// The planned delegated admin, and the admins designated in the region when they could
    /// be read (without them an organization member would look invited).
    pub admin: Option<(&'a AccountId, Option<&'a [AccountId]>)>,
    pub migrate_invitations: bool,
}

/// What one account-region holds now.
struct Observed {
    pub detector: Option<ObservedDetector>,
    pub read_from: ReadFrom,
    /// Read where the account has a detector and is not an Enabled member of the planned
    /// admin; a check that could not be made is a note (the admin's CreateMembers still says
    /// why an account cannot join).
    pub relationship: Option<Result<ObservedRelationship, AwsError>>,
    /// The topic and each planned rule, with a `[notifications]` plan.
    pub wiring: Option<(Option<ObservedTopic>, Vec<Option<ObservedRule>>)>,
    /// With an `[exfiltration]` plan.
    pub exfiltration: Option<exfiltration::Observed>,
}

/// One account-region's changes, by kind.
#[derive(Debug, Default, PartialEq)]
struct Planned {
    pub detector: Option<detector::Change>,
    pub topic: Vec<topic::Change>,
    pub rules: Vec<rules::Change>,
    pub exfiltration: Vec<exfiltration::Part>,
    pub relationship: Vec<relationship::Change>,
    /// An invitation-era administrator orgguard leaves alone (without --migrate-invitations).
    pub conflict: Option<Legacy>,
    /// Drift reported but deliberately not changed.
    pub notes: Vec<Note>,
    /// Planned features GuardDuty does not offer in this region.
    pub unavailable: Vec<Feature>,
}

impl Planned {
    /// Every change, in the order they are made.
    fn changes(&self) -> Vec<Change> {
        let detector = self.detector.iter().cloned().map(Change::from);
        let topic = self.topic.iter().cloned().map(Change::from);
        let rules = self.rules.iter().cloned().map(Change::from);
        let exfiltration = self.exfiltration.iter().cloned().map(|p| Change::from(exfiltration::Change::from(p)));
        detector.chain(topic).chain(rules).chain(exfiltration).chain(self.relationship.iter().cloned().map(Change::from)).collect()
    }
}

/// Pure: the changes that make `observed` what `desired` asks.
fn plan(desired: &Desired, region: &Region, observed: &Observed) -> Planned {
    let mut planned = Planned { detector: detector::plan(desired.detector, observed.detector.as_ref()), ..Planned::default() };
    if let Some(current) = &observed.detector {
        planned.unavailable = detector::unavailable(desired.detector, current);
        let unavailable = planned.unavailable.iter().map(|f| Note::new(format!("{f}: GuardDuty does not offer it in {region}; left out")));
        planned.notes.extend(unavailable);
    }
    if let (Some(wiring), Some((topic, rules))) = (&desired.wiring, &observed.wiring) {
        let (changes, notes) = topic::plan(wiring, region, topic.as_ref());
        planned.topic = changes;
        planned.notes.extend(notes);
        for (rule, current) in wiring.plan.rules.iter().zip(rules) {
            let (changes, notes) = rules::plan(wiring, region, rule, current.as_ref());
            planned.rules.extend(changes);
            planned.notes.extend(notes);
        }
    }
    if let (Some(desired), Some(observed)) = (&desired.exfiltration, &observed.exfiltration) {
        let (changes, notes) = exfiltration::plan(desired, observed);
        planned.exfiltration = changes;
        planned.notes.extend(notes);
    }
    match (&observed.relationship, desired.admin) {
        (Some(Ok(relationship)), Some((admin, Some(designated)))) => {
            match relationship::plan(admin, designated, relationship, desired.migrate_invitations) {
                Ok(changes) => planned.relationship = changes,
                Err(conflict) => planned.conflict = Some(conflict),
            }
        }
        (Some(Err(error)), _) => planned.notes.push(Note::new(format!("invitation-era relationships not checked: {error}"))),
        _ => {}
    }
    planned
}

impl Context {
    fn desired<'a>(&'a self, account: &'a AccountId, region: &Region) -> Desired<'a> {
        let designated = self.before.get(region).and_then(|b| b.designated.as_deref());
        let notifications = self.plan.notifications.as_ref();
        let exfiltration = self.plan.exfiltration.as_ref().map(|plan| {
            let topic = plan.topic(notifications).expect("checked when the plan is read");
            exfiltration::Desired::new(plan, topic, account, region, self.aws.caller.partition)
        });
        Desired {
            detector: &self.desired,
            wiring: self.wiring(account),
            exfiltration,
            admin: self.plan.admin.as_ref().map(|a| (a.account.get_ref(), designated)),
            migrate_invitations: self.options.migrate_invitations,
        }
    }

    /// The account is an Enabled member of the planned admin, as the admin's lists read
    /// before the accounts show.
    fn is_member(&self, account: &AccountId, region: &Region) -> bool {
        self.seen_by_admin(account, region).is_some() || self.before.get(region).and_then(|b| b.admin_side.as_ref()).is_some_and(|(_, side)| side.is_enabled_member(account))
    }
}

/// The account-region's clients, built once for its reads and its writes.
struct Clients<'a> {
    session: &'a AccountSession,
    region: &'a Region,
    /// Built when first called: a member's detector the admin saw as planned is not read in
    /// the account (building and dropping a client costs about what a call does).
    guardduty: OnceLock<GuardDuty>,
    /// SNS and EventBridge, with a `[notifications]` plan.
    wiring: Option<(Sns, Events)>,
    /// EC2, CloudWatch Logs and CloudWatch, with an `[exfiltration]` plan.
    network: Option<Network>,
}

impl Clients<'_> {
    fn guardduty(&self) -> &GuardDuty {
        self.guardduty.get_or_init(|| self.session.guardduty(self.region))
    }
}

/// Reads only. Err: the detector could not be read (a region not enabled among them);
/// Ok with the first wiring read that failed: what was read before it still counts.
async fn observe(
    cx: &Context,
    desired: &Desired<'_>,
    clients: &Clients<'_>,
    account: &AccountId,
    region: &Region,
) -> Result<(Observed, Option<AwsError>), AwsError> {
    let guardduty = || clients.guardduty();
    // The admin's view of a member stands when it is all the audit may read, or when it
    // already matches the plan; a detector to change is read where it is changed.
    let (detector, read_from) = match cx.seen_by_admin(account, region) {
        Some(seen) if cx.options.detectors_from_admin || detector::plan(desired.detector, Some(seen)).is_none() => {
            (Some(seen.clone()), ReadFrom::DelegatedAdmin)
        }
        _ => (guardduty().find_detector().await?, ReadFrom::Account),
    };
    let check_relationship = matches!(desired.admin, Some((admin, Some(_))) if admin != account) && !cx.is_member(account, region);
    let relationship = match &detector {
        Some(detector) if check_relationship => Some(guardduty().relationship(&detector.id).await),
        _ => None,
    };
    let mut observed = Observed { detector, read_from, relationship, wiring: None, exfiltration: None };
    if let (Some(wiring), Some((sns, events))) = (&desired.wiring, &clients.wiring) {
        match read_wiring(sns, events, wiring, region).await {
            Ok(wiring) => observed.wiring = Some(wiring),
            Err(error) => return Ok((observed, Some(error))),
        }
    }
    if let (Some(desired), Some(network)) = (&desired.exfiltration, &clients.network) {
        match exfiltration::observe(network, desired.plan).await {
            Ok(found) => observed.exfiltration = Some(found),
            Err(error) => return Ok((observed, Some(error))),
        }
    }
    Ok((observed, None))
}

/// The account-region's topic and each planned rule.
pub(super) async fn read_wiring(
    sns: &Sns,
    events: &Events,
    wiring: &Wiring<'_>,
    region: &Region,
) -> Result<(Option<ObservedTopic>, Vec<Option<ObservedRule>>), AwsError> {
    let topic = sns.find_topic(&wiring.topic_arn(region)).await?;
    let mut rules = Vec::new();
    for rule in &wiring.plan.rules {
        rules.push(events.find_rule(rule.name.get_ref()).await?);
    }
    Ok((topic, rules))
}

/// Observe, plan, and (unless a dry run) execute one account-region. `role_ready`: the
/// account's IAM role, which the rules' targets need, is there.
pub async fn reconcile(cx: &Context, session: &AccountSession, region: &Region, role_ready: bool) -> TargetResult {
    if let Some(teardown) = &cx.options.teardown {
        return super::teardown::region(cx, session, region, teardown).await;
    }
    let target = Target { account: session.account, region: Some(*region) };
    let desired = cx.desired(&session.account, region);
    let wiring = desired.wiring.as_ref().map(|_| (session.sns(region), session.events(region)));
    let network = desired.exfiltration.as_ref().map(|_| session.network(region));
    let clients = Clients { session, region, guardduty: OnceLock::new(), wiring, network };
    let (observed, unread) = match observe(cx, &desired, &clients, &session.account, region).await {
        Ok(observed) => observed,
        Err(error) if error.is_region_not_enabled() => return result(target, Layer::Account, Status::Skipped(SkipReason::RegionNotEnabled)),
        Err(error) => return result(target, Layer::Account, Status::failed(error)),
    };
    let planned = plan(&desired, region, &observed);
    let changes = planned.changes();
    let status = match unread {
        Some(error) => Status::failed(error),
        None => {
            let execute = execute(&clients, region, &desired, &observed, &planned, role_ready);
            match (settle(cx, &target, Layer::Account, &changes, execute).await, &planned.conflict) {
                (Status::Failed(error), _) => Status::Failed(error),
                (_, Some(conflict)) => Status::failed(TargetError::Legacy(conflict.clone())),
                (status, None) => status,
            }
        }
    };
    TargetResult {
        target,
        layer: Layer::Account,
        status,
        changes: shared(changes),
        notes: planned.notes,
        detector_read_from: Some(observed.read_from),
        unavailable: planned.unavailable,
        coverage: None,
    }
}

async fn execute(
    clients: &Clients<'_>,
    region: &Region,
    desired: &Desired<'_>,
    observed: &Observed,
    planned: &Planned,
    role_ready: bool,
) -> Result<(), TargetError> {
    if let Some(change) = &planned.detector {
        detector::apply(clients.guardduty(), change).await?;
    }
    if let (Some(wiring), Some((sns, events))) = (&desired.wiring, &clients.wiring) {
        for change in &planned.topic {
            topic::apply(sns, wiring, region, change).await?;
        }
        for change in &planned.rules {
            if let (rules::Change::PutTarget { .. }, false) = (change, role_ready) {
                let reason = format!("the IAM role {} could not be made ready in this account", wiring.plan.role);
                return Err(TargetError::Dependency { operation: "events:PutTargets", reason });
            }
            rules::apply(events, wiring, region, change).await?;
        }
    }
    if let (Some(exfiltration), Some(network)) = (&desired.exfiltration, &clients.network) {
        for change in &planned.exfiltration {
            let delivers = matches!(change, exfiltration::Part::CreateFlowLogs { .. });
            if delivers && !role_ready {
                let reason = format!("the flow-log delivery role {} could not be made ready in this account", exfiltration.plan.role.get_ref());
                return Err(TargetError::Dependency { operation: "ec2:CreateFlowLogs", reason });
            }
            exfiltration::apply(network, exfiltration, change).await?;
        }
    }
    if let Some(current) = &observed.detector {
        for change in &planned.relationship {
            relationship::apply(clients.guardduty(), &current.id, change).await?;
        }
    }
    Ok(())
}

/// An account whose role could not be assumed: its region's detector as the delegated admin
/// saw it is still judged, and the result says why the rest was not read.
pub fn unentered(cx: &Context, account: &AccountId, region: &Region, error: &AwsError) -> Option<TargetResult> {
    let detector = cx.seen_by_admin(account, region)?;
    let changes = detector::plan(&cx.desired, Some(detector)).into_iter().map(Change::from).collect();
    let target = Target { account: *account, region: Some(*region) };
    Some(TargetResult {
        changes: shared(changes),
        detector_read_from: Some(ReadFrom::DelegatedAdmin),
        unavailable: detector::unavailable(&cx.desired, detector),
        ..result(target, Layer::Account, Status::failed(TargetError::Role(error.clone())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Partition;
    use crate::resources::fixtures::{self, settings};

    #[test]
    fn a_fresh_account_region_gets_everything_in_dependency_order() {
        let plan_file = fixtures::plan();
        let (account, region) = (fixtures::account(), fixtures::region());
        let settings = settings();
        let wiring = Wiring { plan: plan_file.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws, alarms: false };
        let desired = Desired { detector: &settings, wiring: Some(wiring), exfiltration: None, admin: None, migrate_invitations: false };
        let observed = Observed { detector: None, read_from: ReadFrom::Account, relationship: None, wiring: Some((None, vec![None, None])), exfiltration: None };
        let planned = plan(&desired, &region, &observed);
        let kinds: Vec<&str> = planned.changes().iter().map(Change::kind).collect();
        assert_eq!(kinds[0], "create detector");
        assert_eq!(kinds[1], "create SNS topic");
        assert_eq!(&kinds[kinds.len() - 4..], ["put EventBridge rule", "put EventBridge target", "put EventBridge rule", "put EventBridge target"]);
        assert!(planned.conflict.is_none() && planned.notes.is_empty());
    }

    #[test]
    fn an_invitation_era_administrator_is_a_conflict_and_an_unreadable_one_a_note() {
        let region = fixtures::region();
        let [admin, old] = ["100000000001", "100000000009"].map(|a| AccountId::parse(a).unwrap());
        let settings = settings();
        let designated = vec![admin];
        let desired = Desired { detector: &settings, wiring: None, exfiltration: None, admin: Some((&admin, Some(&designated))), migrate_invitations: false };
        let detector = fixtures::detector();
        let held = ObservedRelationship { administrator: Some(old), invitations: vec![] };
        let observed =
            Observed { detector: Some(detector.clone()), read_from: ReadFrom::Account, relationship: Some(Ok(held)), wiring: None, exfiltration: None };
        let planned = plan(&desired, &region, &observed);
        assert_eq!(planned.conflict, Some(Legacy { admin, administrator: Some(old), invitations: vec![] }));
        assert!(planned.changes().is_empty(), "nothing is changed for the conflict");
        let denied = AwsError { operation: "guardduty:ListInvitations", code: "AccessDenied".into(), message: "no".into() };
        let observed = Observed { detector: Some(detector), read_from: ReadFrom::Account, relationship: Some(Err(denied)), wiring: None, exfiltration: None };
        let planned = plan(&desired, &region, &observed);
        assert_eq!(planned.conflict, None);
        assert_eq!(planned.notes, [Note::new("invitation-era relationships not checked: guardduty:ListInvitations: AccessDenied: no")]);
    }
}
