//! Per account and region: the detector, the kinds held in each account-region
//! (`resources::registry::IN_ACCOUNT_REGION`: the findings topic, the rules, the exfiltration
//! alarm's parts),
//! and the account's invitation-era relationships. Everything is read before anything is
//! changed; changes go in dependency order: detector, the registry's kinds in its order (a
//! change that needs the account's IAM roles, when they could not be made ready, fails the
//! target as a dependency), relationships.

use std::sync::OnceLock;

use super::{result, settle, Context};
use crate::aws::{AccountSession, AwsError, GuardDuty};
use crate::model::{AccountId, DetectorSettings, Feature, ObservedDetector, ObservedRelationship, Region, Target};
use crate::outcome::{Layer, Legacy, Note, ReadFrom, SkipReason, Status, TargetError};
use crate::results::{shared, TargetResult};
use crate::resources::registry::{self, Here, Made, Mode, Slots, IN_ACCOUNT_REGION};
use crate::resources::{detector, relationship, Change};

/// What the plan asks of one account-region.
struct Desired<'a> {
    pub detector: &'a DetectorSettings,
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
}

/// One account-region's changes, by kind.
#[derive(Debug, Default, PartialEq)]
struct Planned {
    pub detector: Option<detector::Change>,
    /// The registry's kinds' changes, in its order.
    pub kinds: Vec<Change>,
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
        detector.chain(self.kinds.iter().cloned()).chain(self.relationship.iter().cloned().map(Change::from)).collect()
    }
}

/// Pure: the detector's and the relationships' changes that make `observed` what `desired`
/// asks, with the registry's kinds' (each planned by its own slot).
fn plan(desired: &Desired, region: &Region, observed: &Observed, kinds: &mut Slots<'_>) -> Planned {
    let mut planned = Planned { detector: detector::plan(desired.detector, observed.detector.as_ref()), ..Planned::default() };
    if let Some(current) = &observed.detector {
        planned.unavailable = detector::unavailable(desired.detector, current);
        let unavailable = planned.unavailable.iter().map(|f| Note::new(format!("{f}: GuardDuty does not offer it in {region}; left out")));
        planned.notes.extend(unavailable);
    }
    for kind in kinds {
        let (changes, notes) = kind.plan(Mode::Rollout { dry_run: false });
        planned.kinds.extend(changes);
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
    fn desired(&self, region: &Region) -> Desired<'_> {
        let designated = self.before.get(region).and_then(|b| b.designated.as_deref());
        Desired {
            detector: &self.desired,
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
}

impl Clients<'_> {
    fn guardduty(&self) -> &GuardDuty {
        self.guardduty.get_or_init(|| self.session.guardduty(self.region))
    }
}

/// Reads only. Err: the detector could not be read (a region not enabled among them);
/// Ok with the first read of the registry's kinds that failed: what was read in other plan
/// sections still counts.
async fn observe(
    cx: &Context,
    desired: &Desired<'_>,
    clients: &Clients<'_>,
    kinds: &mut Slots<'_>,
    account: &AccountId,
    region: &Region,
) -> Result<(Observed, Option<TargetError>), AwsError> {
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
    let observed = Observed { detector, read_from, relationship };
    Ok((observed, registry::observe(kinds).await.into_iter().next()))
}

impl Context {
    /// The registry's kinds the plan has in this account-region (in a teardown, those of the
    /// sections it takes out).
    pub(super) fn kinds<'a>(&'a self, session: &'a AccountSession, region: &Region) -> Slots<'a> {
        let here = Here { plan: &self.plan, session, region: *region, partition: self.aws.caller.partition };
        registry::slots(IN_ACCOUNT_REGION, &here, &|section| self.wants(section))
    }

    /// Whether the run reads the plan's `section`: all of them, but in a teardown those it takes out.
    pub(super) fn wants(&self, section: registry::Section) -> bool {
        self.options.teardown.is_none_or(|t| t.takes(section))
    }
}

/// Observe, plan, and (unless a dry run) execute one account-region. `role_ready`: the
/// account's IAM role, which the rules' targets need, is there.
pub async fn reconcile(cx: &Context, session: &AccountSession, region: &Region, role_ready: bool) -> TargetResult {
    if let Some(teardown) = &cx.options.teardown {
        return super::teardown::region(cx, session, region, teardown).await;
    }
    let target = Target { account: session.account, region: Some(*region) };
    let desired = cx.desired(region);
    let clients = Clients { session, region, guardduty: OnceLock::new() };
    let mut kinds = cx.kinds(session, region);
    let (observed, unread) = match observe(cx, &desired, &clients, &mut kinds, &session.account, region).await {
        Ok(observed) => observed,
        Err(error) if error.is_region_not_enabled() => return result(target, Layer::Account, Status::Skipped(SkipReason::RegionNotEnabled)),
        Err(error) => return result(target, Layer::Account, Status::failed(error)),
    };
    let planned = plan(&desired, region, &observed, &mut kinds);
    let changes = planned.changes();
    let status = match unread {
        Some(error) => Status::failed(error),
        None => {
            let execute = execute(&clients, &kinds, &observed, &planned, role_ready);
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
    kinds: &Slots<'_>,
    observed: &Observed,
    planned: &Planned,
    role_ready: bool,
) -> Result<(), TargetError> {
    if let Some(change) = &planned.detector {
        detector::apply(clients.guardduty(), change).await?;
    }
    registry::apply(kinds, &mut Made { roles_ready: role_ready, ..Made::default() }).await?;
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
    use crate::desired::Wiring;
    use crate::model::Partition;
    use crate::resources::fixtures::{self, settings};
    use crate::resources::registry::Resource;
    use crate::resources::rules::Rules;
    use crate::resources::topic::Topic;

    #[test]
    fn a_fresh_account_region_gets_everything_in_dependency_order() {
        let plan_file = fixtures::plan();
        let (account, region) = (fixtures::account(), fixtures::region());
        let settings = settings();
        let desired = Desired { detector: &settings, admin: None, migrate_invitations: false };
        let observed = Observed { detector: None, read_from: ReadFrom::Account, relationship: None };
        let mut planned = plan(&desired, &region, &observed, &mut Vec::new());
        // The registry's kinds after the detector, in its order: the topic, then the rules.
        let desired = (Wiring::of(&plan_file, &account, Partition::Aws).unwrap(), region);
        planned.kinds.extend(Topic::plan(&desired, &None).0.into_iter().map(Change::from));
        planned.kinds.extend(Rules::plan(&desired, &vec![None, None]).0.into_iter().map(Change::from));
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
        let desired = Desired { detector: &settings, admin: Some((&admin, Some(&designated))), migrate_invitations: false };
        let detector = fixtures::detector();
        let held = ObservedRelationship { administrator: Some(old), invitations: vec![] };
        let observed = Observed { detector: Some(detector.clone()), read_from: ReadFrom::Account, relationship: Some(Ok(held)) };
        let planned = plan(&desired, &region, &observed, &mut Vec::new());
        assert_eq!(planned.conflict, Some(Legacy { admin, administrator: Some(old), invitations: vec![] }));
        assert!(planned.changes().is_empty(), "nothing is changed for the conflict");
        let denied = AwsError { operation: "guardduty:ListInvitations", code: "AccessDenied".into(), message: "no".into() };
        let observed = Observed { detector: Some(detector), read_from: ReadFrom::Account, relationship: Some(Err(denied)) };
        let planned = plan(&desired, &region, &observed, &mut Vec::new());
        assert_eq!(planned.conflict, None);
        assert_eq!(planned.notes, [Note::new("invitation-era relationships not checked: guardduty:ListInvitations: AccessDenied: no")]);
    }
}
