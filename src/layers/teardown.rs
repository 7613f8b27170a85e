//! Teardown (`orgguard teardown`): the plan's resources taken back out, layer by layer in
//! the order AWS requires, and nothing the plan does not name. Per region at the delegated
//! admin first (the registry's kinds there backwards, members' auto-enable NONE, the target
//! accounts disassociated then deleted, the designation removed); then per account-region the
//! registry's kinds there backwards (the exfiltration alarm's parts, the rules, the topic), and with
//! `--delete-detectors` the detector; then per account the IAM policies and roles, once no
//! rule or flow log of the account uses them. Each layer observes, plans (pure, per kind) and executes
//! as a rollout does, so a dry run, a change set and a second teardown work the same way.

use super::{result, settle, Context, Delegated};
use crate::aws::{AccountSession, GuardDuty};
use crate::discover::Scope;
use crate::model::{AccountId, AdminSide, AutoEnable, Region, Target};
use crate::outcome::{Layer, Note, SkipReason, Status, TargetError};
use crate::results::{shared, TargetResult};
use crate::resources::registry::{self, Made, Section, Slots};
use crate::resources::{admin, detector, membership, org_config, Change};

/// What a teardown removes; each layer can be chosen on its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Teardown {
    /// Per account-region the plan's rules and topic.
    pub wiring: bool,
    /// Per account the IAM roles and policies of the layers chosen (not when the run leaves
    /// regions out: their rules and flow logs still use them).
    pub iam: bool,
    /// Per account-region the exfiltration alarm, its metric filter, orgguard's flow logs and
    /// the log group.
    pub exfiltration: bool,
    /// Per region: members' auto-enable off, the target accounts' memberships removed.
    pub membership: bool,
    /// Per region: the planned admin's designation.
    pub admin: bool,
    /// Per account-region the detector, and its findings with it (never a default).
    pub detectors: bool,
    /// Per region at the delegated admin: the plan's suppression rules, IP lists and findings export.
    pub central: bool,
    /// Also remove subscriptions the plan does not name (otherwise their topic is kept).
    pub prune_subscriptions: bool,
    /// Only some of the organization's accounts: members' auto-enable goes from ALL to NEW
    /// (not NONE), so that accounts joining later are still enrolled.
    pub some_accounts: bool,
}

impl Teardown {
    /// Whether the accounts must be entered at all.
    pub fn enters_accounts(&self, cx: &Context) -> bool {
        self.detectors || (self.wiring && cx.plan.notifications.is_some()) || (self.exfiltration && cx.plan.exfiltration.is_some())
    }

    /// Whether the kinds of the plan's `section` are taken out.
    pub fn takes(&self, section: Section) -> bool {
        match section {
            Section::Notifications => self.wiring,
            Section::Exfiltration => self.exfiltration,
            Section::Suppression | Section::IpLists | Section::Export | Section::Alerts | Section::Slack => self.central,
        }
    }

    /// What a resumed teardown must have been: its layers and settings.
    pub fn key(&self) -> String {
        let layers = [
            ("wiring", self.wiring),
            ("iam", self.iam),
            ("exfiltration", self.exfiltration),
            ("membership", self.membership),
            ("admin", self.admin),
            ("detectors", self.detectors),
            ("central", self.central),
            ("prune-subscriptions", self.prune_subscriptions),
            ("some-accounts", self.some_accounts),
        ];
        layers.iter().filter(|(_, on)| *on).map(|(name, _)| *name).collect::<Vec<_>>().join(",")
    }
}

/// One account-region: read as a rollout reads it (the registry's kinds in its order, then
/// the detector); taken out backwards: the exfiltration alarm's parts, the rules, the topic,
/// then the detector.
pub async fn region(cx: &Context, session: &AccountSession, region: &Region, teardown: &Teardown) -> TargetResult {
    let target = Target { account: session.account, region: Some(*region) };
    let in_layer = |status| result(target.clone(), Layer::Account, status);
    if !teardown.enters_accounts(cx) {
        return in_layer(Status::Unchanged);
    }
    let guardduty = session.guardduty(region);
    let mut kinds = cx.kinds(session, region);
    // A region that is not enabled answers the first read, whichever it is.
    let observed = async {
        if let Some(error) = registry::observe(&mut kinds).await.into_iter().next() {
            return Err(error);
        }
        match teardown.detectors {
            true => Ok(guardduty.find_detector().await?),
            false => Ok(None),
        }
    };
    let detector = match observed.await {
        Ok(detector) => detector,
        Err(error) if error.is_region_not_enabled() => return in_layer(Status::Skipped(SkipReason::RegionNotEnabled)),
        Err(error) => return in_layer(Status::failed(error)),
    };
    kinds.reverse();
    let (mut changes, mut notes, _) = registry::plan(&mut kinds, cx.mode()).await;
    let mut detector_change = detector::teardown(detector.as_ref());
    if detector_change.is_some() && cx.before.get(region).is_some_and(|b| b.organization_failed) {
        detector_change = None;
        notes.push(Note::new("detector kept: the region's organization layer failed, so the account may still be a member"));
    }
    changes.extend(detector_change.iter().cloned().map(Change::from));
    let status = settle(cx, &target, Layer::Account, &changes, async {
        registry::apply(&kinds, &mut Made { roles_ready: true, ..Made::default() }).await?;
        if let Some(change) = &detector_change {
            detector::apply(&guardduty, change).await?;
        }
        Ok::<_, TargetError>(())
    })
    .await;
    TargetResult { changes: shared(changes), notes, ..in_layer(status) }
}

/// What one region's teardown removes at the delegated admin, in order.
#[derive(Default)]
struct Planned {
    config: Option<org_config::Change>,
    members: Vec<membership::Change>,
    designation: Option<admin::Change>,
    notes: Vec<Note>,
}

/// One region at the delegated admin: what the admin holds for the organization (the
/// registry's kinds there, backwards), members' auto-enable off, the target accounts
/// disassociated then deleted, then the designation removed (from the management account).
pub async fn organization(cx: &Context, delegated: &Delegated, region: &Region, scope: &Scope, teardown: &Teardown) -> TargetResult {
    let admin = *delegated.account();
    let target = Target { account: admin, region: Some(*region) };
    let in_layer = |status| result(target.clone(), Layer::Organization, status);
    if !teardown.membership && !teardown.admin && !teardown.central {
        return in_layer(Status::Unchanged);
    }
    let session = &delegated.session;
    let guardduty = session.guardduty(region);
    let designated = cx.before.get(region).and_then(|b| b.designated.clone());
    let observed = async {
        let designated = match designated {
            Some(designated) => designated,
            None => cx.aws.management().guardduty(region).list_admins().await?,
        };
        let is_admin = designated.contains(&admin);
        let detector = match teardown.central || (is_admin && (teardown.membership || teardown.admin)) {
            true => guardduty.find_detector().await?,
            false => None,
        };
        let side = match &detector {
            Some(detector) if is_admin && (teardown.membership || teardown.admin) => Some(guardduty.admin_side(&detector.id).await?),
            _ => None,
        };
        Ok::<_, TargetError>((designated, detector.map(|d| d.id), side))
    };
    let (designated, detector_id, side) = match observed.await {
        Ok(observed) => observed,
        Err(error) if error.is_region_not_enabled() => return in_layer(Status::Skipped(SkipReason::RegionNotEnabled)),
        Err(error) => return in_layer(Status::failed(error)),
    };
    let session_in = |account: &AccountId| cx.session(account);
    let mut kinds = cx.held_by_admin(session, region, &scope.regions, detector_id.as_deref(), &session_in);
    match registry::observe(&mut kinds).await.into_iter().next() {
        Some(error) if error.is_region_not_enabled() => return in_layer(Status::Skipped(SkipReason::RegionNotEnabled)),
        Some(error) => return in_layer(Status::failed(error)),
        None => {}
    }
    kinds.reverse();
    let mut planned = plan(teardown, &admin, scope, &designated, side.as_ref());
    let (mut changes, notes, _) = registry::plan(&mut kinds, cx.mode()).await;
    planned.notes.splice(0..0, notes);
    changes.extend(planned.config.iter().cloned().map(Change::from));
    changes.extend(planned.members.iter().cloned().map(Change::from));
    changes.extend(planned.designation.iter().cloned().map(Change::from));
    let execute = execute(cx, &guardduty, region, detector_id.as_deref(), &kinds, &planned);
    let status = settle(cx, &target, Layer::Organization, &changes, execute).await;
    TargetResult { changes: shared(changes), notes: planned.notes, ..in_layer(status) }
}

/// Pure: the region's membership and designation teardown at the admin.
fn plan(teardown: &Teardown, admin: &AccountId, scope: &Scope, designated: &[AccountId], side: Option<&AdminSide>) -> Planned {
    let (designation, notes) = admin::teardown(admin, designated);
    let mut planned = Planned { designation: designation.filter(|_| teardown.admin), notes, ..Planned::default() };
    let Some(side) = side else { return planned };
    let mut others = side.members.keys().copied().collect::<Vec<_>>();
    if teardown.membership {
        let accounts: Vec<AccountId> = scope.accounts.iter().filter(|a| *a != admin).copied().collect();
        let (changes, kept) = membership::teardown(&accounts, side);
        // Under ALL, AWS refuses to remove organization members: NONE (which disables no
        // one) for the whole organization, NEW when only some accounts leave.
        planned.config = match teardown.some_accounts {
            false => org_config::teardown(side, AutoEnable::None),
            true if !changes.is_empty() && side.auto_enable == Some(AutoEnable::All) => org_config::teardown(side, AutoEnable::New),
            true => None,
        };
        planned.members = changes;
        others = kept;
    }
    if !others.is_empty() {
        let fate = match planned.designation {
            Some(_) => "removing the designation removes them too (they keep GuardDuty)",
            None => "kept",
        };
        let listed: Vec<String> = others.iter().take(10).map(AccountId::to_string).collect();
        let more = if others.len() > 10 { format!(" and {} more", others.len() - 10) } else { String::new() };
        let text = format!("{} members this teardown does not remove: {fate}: {}{more}", others.len(), listed.join(", "));
        planned.notes.push(Note::new(text));
    }
    planned
}

async fn execute(
    cx: &Context,
    guardduty: &GuardDuty,
    region: &Region,
    detector_id: Option<&str>,
    kinds: &Slots<'_>,
    planned: &Planned,
) -> Result<(), TargetError> {
    registry::apply(kinds, &mut Made { detector: detector_id.map(str::to_owned), ..Made::default() }).await?;
    if let Some(detector_id) = detector_id {
        if let Some(change) = &planned.config {
            org_config::apply(guardduty, detector_id, AutoEnable::None, change).await?;
        }
        for change in &planned.members {
            membership::remove(guardduty, detector_id, change).await?;
        }
    }
    if let Some(change) = &planned.designation {
        admin::apply(&cx.aws.management().guardduty(region), change).await?;
    }
    Ok(())
}
