//! Per region, at the delegated admin: the designation (from the management account), the
//! admin's own detector when the admin is outside the run's accounts, the organization
//! configuration and the members. In a rollout it runs after the accounts, so that every
//! account has its detector before the admin adds it; the audit reads it first, to see the
//! members' detectors without entering them.

use std::collections::{BTreeMap, HashMap};

use super::{result, settle, Before, Context, Delegated};
use crate::aws::{AccountSession, AwsError, GuardDuty};
use crate::desired::Organization;
use crate::discover::Scope;
use crate::model::{AccountId, AdminSide, DetectorSettings, Feature, ObservedDetector, Region, Target};
use crate::outcome::{Layer, OtherAdmin, SkipReason, Status, TargetError};
use crate::results::{shared, TargetResult};
use crate::resources::coverage::{self, Coverage};
use crate::resources::registry::{self, AdminRegion, Made, Slots, AT_ADMIN};
use crate::resources::{admin, detector, membership, org_config, Change};

/// What the organization looks like in a region, before the accounts are entered: the
/// admins designated (both rollout and audit), and for a rollout the planned admin's side
/// (its Enabled members need no relationship check in the accounts, and the organization
/// layer does not read it again) with the members' detectors as the admin sees them
/// (GetMemberDetectors, 50 a call: a member's detector is then read in the account only
/// when the admin's view of it differs from the plan). A region where they cannot be read
/// is left out of it.
pub async fn before(cx: &Context, regions: &[Region]) -> HashMap<Region, Before> {
    let Some(admin) = cx.admin.as_ref().map(|a| &a.session) else { return HashMap::new() };
    let management = cx.aws.management();
    let read = regions.iter().map(|region| {
        let management = &management;
        async move {
            let designated = management.guardduty(region).list_admins().await.ok();
            let members = match cx.options.detectors_from_admin || cx.options.teardown.is_some() {
                true => None,
                false => async {
                    let guardduty = admin.guardduty(region);
                    let detector = guardduty.find_detector().await.ok().flatten()?;
                    let side = guardduty.admin_side(&detector.id).await.ok()?;
                    let members: Vec<AccountId> = side.members.keys().copied().collect();
                    let detectors = detector::observe_members(&guardduty, &detector, &side, &members).await.unwrap_or_default();
                    Some((Some((detector.id, side)), detectors))
                }
                .await,
            };
            let (admin_side, detectors) = members.unwrap_or_default();
            (*region, Before { designated, admin_side, detectors, ..Before::default() })
        }
    });
    super::join_ordered(read).await.into_iter().collect()
}

/// What the admin's side holds now.
struct Observed {
    pub admin_detector: Option<ObservedDetector>,
    pub designated: Vec<AccountId>,
    /// Read when the planned admin is designated and has a detector.
    pub side: Option<AdminSide>,
}

/// One region's organization changes, by kind, in the order they are made.
#[derive(Debug, Default, PartialEq)]
struct Planned {
    /// The admin's own detector, when the admin is not one of the run's accounts.
    pub detector: Option<detector::Change>,
    pub admin: Option<admin::Change>,
    pub config: Option<org_config::Change>,
    pub members: Option<membership::Change>,
    /// What the admin holds for the organization: the changes of `registry::AT_ADMIN`'s
    /// kinds, in its order.
    pub kinds: Vec<Change>,
}

impl Planned {
    fn changes(&self) -> Vec<Change> {
        let detector = self.detector.iter().cloned().map(Change::from);
        let admin = self.admin.iter().cloned().map(Change::from);
        let config = self.config.iter().cloned().map(Change::from);
        let members = self.members.iter().cloned().map(Change::from);
        detector.chain(admin).chain(config).chain(members).chain(self.kinds.iter().cloned()).collect()
    }
}

/// Pure: the changes that make the region's organization what `desired` asks; another admin
/// designated is a conflict unless `replace`. An admin not designated yet has nothing set.
fn plan(
    desired: &Organization,
    settings: &DetectorSettings,
    admin_is_target: bool,
    replace: bool,
    observed: &Observed,
) -> Result<Planned, OtherAdmin> {
    let side = observed.side.as_ref();
    let detector = match (&observed.admin_detector, admin_is_target) {
        (None, false) => detector::plan(settings, None),
        _ => None,
    };
    Ok(Planned {
        detector,
        admin: admin::plan(desired.admin, &observed.designated, replace)?,
        config: org_config::plan(desired, side, observed.admin_detector.as_ref()),
        members: membership::plan(&desired.members, side),
        kinds: Vec::new(),
    })
}

async fn observe(
    cx: &Context,
    guardduty: &GuardDuty,
    region: &Region,
    admin: &AccountId,
    designated: Option<&[AccountId]>,
) -> Result<Observed, AwsError> {
    let admin_detector = guardduty.find_detector().await?;
    let designated = match designated {
        Some(designated) => designated.to_vec(),
        None => cx.aws.management().guardduty(region).list_admins().await?,
    };
    let read_before = cx.before.get(region).and_then(|b| b.admin_side.as_ref());
    let side = match &admin_detector {
        Some(detector) if designated.contains(admin) => match read_before {
            // A rollout read it while the organization was listed; the accounts do not change it.
            Some((id, side)) if *id == detector.id => Some(side.clone()),
            _ => Some(guardduty.admin_side(&detector.id).await?),
        },
        _ => None,
    };
    Ok(Observed { admin_detector, designated, side })
}

/// The accounts that should be members in `region`: every target account but the admin,
/// and those this run found could not be (the region not enabled, or an invitation-era
/// administrator holding the account).
fn members(scope: &Scope, results: &[TargetResult], admin: &AccountId, region: &Region) -> Vec<AccountId> {
    let excluded: Vec<&AccountId> = results
        .iter()
        .filter(|r| r.target.region.as_ref() == Some(region))
        .filter(|r| match &r.status {
            Status::Skipped(SkipReason::RegionNotEnabled) => true,
            Status::Failed(error) => matches!(**error, TargetError::Legacy(_)),
            _ => false,
        })
        .map(|r| &r.target.account)
        .collect();
    scope.accounts.iter().filter(|a| *a != admin && !excluded.contains(a)).copied().collect()
}

/// Observe, plan and (unless a dry run) execute one region's organization. `designated`:
/// the admins as read just before (the audit's first pass), otherwise read again. With
/// `detectors_from_admin`, also the members' detectors as the admin sees them.
pub async fn reconcile(
    cx: &Context,
    delegated: &Delegated,
    region: &Region,
    scope: &Scope,
    results: &[TargetResult],
    designated: Option<&[AccountId]>,
) -> (TargetResult, Option<BTreeMap<AccountId, ObservedDetector>>) {
    if let Some(teardown) = &cx.options.teardown {
        return (super::teardown::organization(cx, delegated, region, scope, teardown).await, None);
    }
    let admin = delegated.account();
    let target = Target { account: *admin, region: Some(*region) };
    let in_layer = |status| result(target.clone(), Layer::Organization, status);
    let admin_region_off = results.iter().any(|r| {
        r.target == target && r.layer == Layer::Account && r.status == Status::Skipped(SkipReason::RegionNotEnabled)
    });
    if admin_region_off {
        return (in_layer(Status::Skipped(SkipReason::RegionNotEnabled)), None);
    }
    let session = &delegated.session;
    let guardduty = session.guardduty(region);
    let observed = match observe(cx, &guardduty, region, admin, designated).await {
        Ok(observed) => observed,
        Err(error) if error.is_region_not_enabled() => return (in_layer(Status::Skipped(SkipReason::RegionNotEnabled)), None),
        Err(error) => return (in_layer(Status::failed(error)), None),
    };
    let session_in = |account: &AccountId| cx.session(account);
    let detector_id = observed.admin_detector.as_ref().map(|d| d.id.as_str());
    let mut kinds = cx.held_by_admin(session, region, &scope.regions, detector_id, &session_in);
    // What the admin holds for the organization and cannot be read (a Slack workspace never
    // authorised) fails the region's result, but after the rest, which does not depend on it.
    let unread = registry::observe(&mut kinds).await;
    let desired = Organization::new(admin, delegated.auto_enable, &cx.desired, members(scope, results, admin, region));
    let mut planned = match plan(&desired, &cx.desired, scope.admin_is_target, cx.options.replace_admin, &observed) {
        Ok(planned) => planned,
        Err(conflict) => return (in_layer(Status::failed(TargetError::OtherAdmin(conflict))), None),
    };
    let (changes, mut notes, checked) = registry::plan(&mut kinds, cx.mode()).await;
    planned.kinds = changes;
    if let Err(error) = checked {
        return (TargetResult { changes: shared(planned.changes()), notes, ..in_layer(Status::failed(error)) }, None);
    }
    let view = match (&observed.side, &observed.admin_detector) {
        (Some(side), Some(detector)) if cx.options.detectors_from_admin => {
            match detector::observe_members(&guardduty, detector, side, &desired.members).await {
                Ok(view) => Some(view),
                Err(error) => return (in_layer(Status::failed(error)), None),
            }
        }
        _ => None,
    };
    let coverage = match cx.options.detectors_from_admin && coverage::wanted(&cx.plan) {
        true => Some(read_coverage(&guardduty, region, observed.admin_detector.as_ref()).await),
        false => None,
    };
    let changes = planned.changes();
    let execute = execute(cx, &guardduty, region, &desired, &scope.emails, &observed, &planned, &kinds);
    let status = match (settle(cx, &target, Layer::Organization, &changes, execute).await, unread.into_iter().next()) {
        (Status::Failed(error), _) => Status::Failed(error),
        (_, Some(error)) if error.is_region_not_enabled() => Status::Skipped(SkipReason::RegionNotEnabled),
        (_, Some(error)) => Status::failed(error),
        (status, None) => status,
    };
    if let Some(Coverage::Read(rows)) = &coverage {
        notes.extend(coverage::notes(rows));
    }
    (TargetResult { changes: shared(changes), notes, coverage, ..in_layer(status) }, view)
}

impl Context {
    /// The registry's kinds the delegated admin holds in `region` (in a teardown, those of the
    /// sections it takes out).
    pub(super) fn held_by_admin<'a>(
        &'a self,
        admin: &'a AccountSession,
        region: &Region,
        regions: &'a [Region],
        detector: Option<&'a str>,
        session: &'a (dyn Fn(&AccountId) -> AccountSession + Sync),
    ) -> Slots<'a> {
        let partition = self.aws.caller.partition;
        let at = AdminRegion { plan: &self.plan, admin, region: *region, regions, partition, mode: self.mode(), detector, session };
        registry::slots(AT_ADMIN, &at, &|section| self.wants(section))
    }
}

/// The region's Runtime Monitoring coverage, or why it could not be read.
async fn read_coverage(guardduty: &GuardDuty, region: &Region, detector: Option<&ObservedDetector>) -> Coverage {
    let Some(detector) = detector else { return Coverage::NoDetector };
    // A feature GuardDuty leaves out of the detector is one it does not offer here.
    if ![Feature::RuntimeMonitoring, Feature::EksRuntimeMonitoring].iter().any(|f| detector.features.contains_key(f)) {
        return Coverage::NotOffered;
    }
    match guardduty.coverage(&detector.id).await {
        Ok(resources) => Coverage::Read(coverage::summarize(region, &resources)),
        Err(error) => Coverage::Failed(format!("{}: {}", error.operation, error.code)),
    }
}

async fn execute(
    cx: &Context,
    guardduty: &GuardDuty,
    region: &Region,
    desired: &Organization<'_>,
    emails: &BTreeMap<AccountId, String>,
    observed: &Observed,
    planned: &Planned,
    kinds: &Slots<'_>,
) -> Result<(), TargetError> {
    let mut detector_id = observed.admin_detector.as_ref().map(|d| d.id.clone());
    if let Some(change) = &planned.detector {
        detector_id = Some(detector::apply(guardduty, change).await?);
    }
    let Some(detector_id) = detector_id else {
        let reason = format!("the admin {} has no detector in {region} (see its account result)", desired.admin);
        return Err(TargetError::Dependency { operation: "guardduty:ListDetectors", reason });
    };
    if let Some(change) = &planned.admin {
        admin::apply(&cx.aws.management().guardduty(region), change).await?;
    }
    if let Some(change) = &planned.config {
        org_config::apply(guardduty, &detector_id, desired.auto_enable, change).await?;
    }
    // An account that could not join does not hold back what the admin holds for the others.
    let members = match &planned.members {
        Some(change) => membership::apply(guardduty, &detector_id, emails, change).await,
        None => Ok(()),
    };
    let held = registry::apply(kinds, &mut Made { detector: Some(detector_id), ..Made::default() }).await;
    members.and(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AutoEnable, MemberStatus};
    use crate::resources::fixtures::{self, settings};

    #[test]
    fn a_fresh_region_is_designated_configured_and_joined_and_another_admin_is_a_conflict() {
        let [admin, other, member] = ["100000000001", "100000000002", "100000000003"].map(|a| AccountId::parse(a).unwrap());
        let desired = Organization::new(&admin, AutoEnable::All, &settings(), vec![member]);
        let fresh = Observed { admin_detector: None, designated: vec![], side: None };
        let planned = plan(&desired, &settings(), true, false, &fresh).unwrap();
        assert_eq!(planned.detector, None, "the admin's own account work creates its detector");
        assert_eq!(planned.admin, Some(admin::Change::EnableAdmin { account: admin }));
        assert!(planned.config.is_some());
        assert_eq!(planned.members, Some(membership::Change::CreateMembers { accounts: vec![member] }));
        let outside = plan(&desired, &settings(), false, false, &fresh).unwrap();
        assert!(matches!(outside.detector, Some(detector::Change::CreateDetector { .. })), "an admin outside the run gets its detector here");
        let held = Observed { admin_detector: None, designated: vec![other], side: None };
        assert_eq!(plan(&desired, &settings(), true, false, &held), Err(OtherAdmin { current: other, planned: admin }));
        let replaced = plan(&desired, &settings(), true, true, &held).unwrap();
        assert_eq!(replaced.admin, Some(admin::Change::ReplaceAdmin { from: other, to: admin }));
    }

    #[test]
    fn a_region_as_planned_needs_nothing() {
        let [admin, member] = ["100000000001", "100000000003"].map(|a| AccountId::parse(a).unwrap());
        let desired = Organization::new(&admin, AutoEnable::All, &settings(), vec![member]);
        let detector = fixtures::detector();
        let side = AdminSide {
            auto_enable: Some(AutoEnable::All),
            feature_auto_enable: BTreeMap::new(),
            agent_auto_enable: BTreeMap::new(),
            members: BTreeMap::from([(member, MemberStatus::Enabled)]),
            member_detectors: BTreeMap::new(),
        };
        let observed = Observed { admin_detector: Some(detector), designated: vec![admin], side: Some(side) };
        assert_eq!(plan(&desired, &settings(), true, false, &observed), Ok(Planned::default()));
    }
}
