//! Every kind orgguard manages beside the detector, the delegated administrator and its
//! members, each in one file implementing [`Resource`], listed once here by placement: the
//! layers walk [`IN_ACCOUNT_REGION`] and [`AT_ADMIN`] (a teardown walks them backwards) and
//! name no kind. Adding a kind: its file with a [`Resource`] impl, and its line below.

use std::future::Future;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::Change;
use crate::aws::AccountSession;
use crate::model::{AccountId, Partition, Region};
use crate::outcome::{Note, TargetError};
use crate::plan::Plan;

/// The kinds held in every account-region the plan reaches, after its detector, in the order
/// they are made.
pub const IN_ACCOUNT_REGION: &[Entry<InAccountRegion>] =
    &[entry::<super::topic::Topic>(), entry::<super::rules::Rules>(), entry::<super::exfiltration::Parts>()];

/// The kinds the delegated admin holds for the organization in each region, after its
/// designation, organization configuration and members, in the order they are made.
pub const AT_ADMIN: &[Entry<AtAdmin>] = &[
    entry::<super::alerts::CentralAlerts>(),
    entry::<super::slack::SlackChannel>(),
    entry::<super::suppression::Rules>(),
    entry::<super::ip_lists::Lists>(),
    entry::<super::export::FindingsExport>(),
];

/// The plan section a kind comes from: a plan section is read whole (a kind that cannot be
/// read leaves its section unplanned), and a teardown takes a section out or leaves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `[notifications]`: the findings topic and the rules, in each account-region.
    Notifications,
    /// `[exfiltration]`: the alarm, its metric filter, the flow logs and their log group.
    Exfiltration,
    /// `[suppression]`, at the admin.
    Suppression,
    /// `[ip_lists]`, at the admin.
    IpLists,
    /// `[export]`: the findings archive and the admin's publishing destination.
    Export,
    /// `[alerts]`: the central topic and rules.
    Alerts,
    /// `[alerts.slack]`: the Chatbot channel configuration and its role, in one region (a
    /// workspace never authorised holds back nothing else).
    Slack,
}

/// What a run does with what it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Rollout { dry_run: bool },
    Audit,
    /// `prune`: subscriptions the plan does not name go too.
    Teardown { prune: bool },
}

/// Where a kind lives, and what it is given to plan there.
pub trait Placement: 'static {
    type At<'a>: Sync;
}

/// In each account-region the plan reaches, through the account's member role.
pub enum InAccountRegion {}

/// One account-region: the plan, the account's session and the region.
#[derive(Clone, Copy)]
pub struct Here<'a> {
    pub plan: &'a Plan,
    pub session: &'a AccountSession,
    pub region: Region,
    pub partition: Partition,
}

impl Placement for InAccountRegion {
    type At<'a> = Here<'a>;
}

/// At the delegated admin, per region; a kind there may work in other accounts too (the
/// findings archive in the log-archive account).
pub enum AtAdmin {}

/// One region at the delegated admin.
#[derive(Clone, Copy)]
pub struct AdminRegion<'a> {
    pub plan: &'a Plan,
    pub admin: &'a AccountSession,
    pub region: Region,
    /// Every region of the run.
    pub regions: &'a [Region],
    pub partition: Partition,
    pub mode: Mode,
    /// The admin's detector here, if it has one.
    pub detector: Option<&'a str>,
    /// The member role's session in another account.
    pub session: &'a (dyn Fn(&AccountId) -> AccountSession + Sync),
}

impl Placement for AtAdmin {
    type At<'a> = AdminRegion<'a>;
}

/// What the changes made so far in one place leave for the next: whether the account's IAM
/// roles are ready, the admin's detector (made in this run, perhaps), the findings key.
#[derive(Clone, Debug, Default)]
pub struct Made {
    pub roles_ready: bool,
    pub detector: Option<String>,
    /// The findings export's key ARN, when the archive's alias names one or the archive made it.
    pub key: Option<String>,
}

impl Made {
    /// The admin's detector, which the admin's kinds write to.
    pub fn detector(&self) -> Result<&str, TargetError> {
        let reason = "the admin has no detector here (see its account result)".to_owned();
        self.detector.as_deref().ok_or(TargetError::Dependency { operation: "guardduty:ListDetectors", reason })
    }
}

/// A kind held in one region only: where that region comes in the run's order of regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Once {
    /// This region goes first: the others need what the kind makes there.
    First(Region),
    /// The last region: the kind needs what the others make.
    Last,
}

/// The regions whose delegated-admin work goes first and last, as the kinds held in one
/// region ask (the findings archive first, the Slack configuration last).
pub fn first_and_last(plan: &Plan, regions: &[Region]) -> (Option<Region>, Option<Region>) {
    let once: Vec<Once> = AT_ADMIN.iter().filter_map(|entry| (entry.once)(plan)).collect();
    let first = once.iter().find_map(|o| match o {
        Once::First(region) if regions.contains(region) => Some(*region),
        _ => None,
    });
    let last = once.contains(&Once::Last).then(|| regions.iter().rev().copied().find(|r| Some(*r) != first)).flatten();
    (first, last)
}

/// What a kind `K` is given in one of its places.
pub type At<'a, K> = <<K as Resource>::Placement as Placement>::At<'a>;

/// One kind: reads only in `observe` (and `check`), a pure `plan`, writes only in `apply`.
pub trait Resource: 'static {
    /// The kind, as the registry's order names it.
    const NAME: &'static str;
    const SECTION: Section;
    type Placement: Placement;
    /// Other plan sections it builds on in the same place: when one of them cannot be read,
    /// neither is it (Slack subscribes the central topic it does not make).
    const NEEDS: &'static [Section] = &[];
    /// What the plan asks of one place.
    type Desired<'a>: Send + Sync;
    /// The clients its reads and writes use, built once per place.
    type Clients: Send + Sync;
    type Observed: Send + Sync;
    type Change: Clone + Into<Change> + Send + Sync;

    /// None: the plan has no section for it, or it does not live in this place.
    fn desired<'a>(at: &At<'a, Self>) -> Option<Self::Desired<'a>>;
    fn clients(at: &At<'_, Self>) -> Self::Clients;
    fn observe(clients: &Self::Clients, desired: &Self::Desired<'_>) -> impl Future<Output = Result<Self::Observed, TargetError>> + Send;
    /// Pure: the changes that make it as planned, and drift reported but left alone.
    fn plan(desired: &Self::Desired<'_>, observed: &Self::Observed) -> (Vec<Self::Change>, Vec<Note>);
    /// Pure: what a teardown takes out (`prune`: subscriptions the plan does not name too).
    fn plan_teardown(desired: &Self::Desired<'_>, observed: &Self::Observed, prune: bool) -> (Vec<Self::Change>, Vec<Note>);

    /// Once planned, what the changes need that only a read can tell (reads only).
    fn check(
        _clients: &Self::Clients,
        _desired: &Self::Desired<'_>,
        _observed: &mut Self::Observed,
        _changes: &[Self::Change],
    ) -> impl Future<Output = Result<(), TargetError>> + Send {
        async { Ok(()) }
    }

    /// Held in one region only (its `desired` is None elsewhere): where that region goes.
    fn once(_plan: &Plan) -> Option<Once> {
        None
    }

    /// Why the change cannot be made while the account's IAM roles are not ready, if it needs them.
    fn needs_roles(_desired: &Self::Desired<'_>, _change: &Self::Change) -> Option<TargetError> {
        None
    }

    /// Makes one change.
    fn apply(
        clients: &Self::Clients,
        desired: &Self::Desired<'_>,
        observed: &Self::Observed,
        change: &Self::Change,
        made: &mut Made,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;
}

/// A kind's place in the registry.
pub struct Entry<P: Placement> {
    pub name: &'static str,
    pub once: fn(&Plan) -> Option<Once>,
    /// Its slot in one place, if the plan has the kind there and `wanted` its section.
    pub start: for<'a> fn(&P::At<'a>, &(dyn Fn(Section) -> bool + 'a)) -> Option<Box<dyn Slotted<'a> + 'a>>,
}

const fn entry<K: Resource>() -> Entry<K::Placement> {
    Entry { name: K::NAME, once: K::once, start: start::<K> }
}

/// The kinds of one place, in the registry's order.
pub type Slots<'a> = Vec<Box<dyn Slotted<'a> + 'a>>;

/// The registry's kinds in one place (in a teardown, those of the sections it takes out).
pub fn slots<'a, P: Placement>(registry: &[Entry<P>], at: &P::At<'a>, wanted: &(dyn Fn(Section) -> bool + 'a)) -> Slots<'a> {
    registry.iter().filter_map(|entry| (entry.start)(at, wanted)).collect()
}

/// Reads each slot in order; a plan section is read whole, so a slot that cannot be read
/// forgets its section's slots read before it, and the later ones of its section, or that
/// need it, are not read. Every error, in order (the first of a region not enabled stops there).
pub async fn observe(slots: &mut Slots<'_>) -> Vec<TargetError> {
    let mut errors: Vec<(Section, TargetError)> = Vec::new();
    for read in 0..slots.len() {
        let section = slots[read].section();
        if errors.iter().any(|(failed, _)| *failed == section || slots[read].needs().contains(failed)) {
            continue;
        }
        if let Err(error) = slots[read].observe().await {
            slots[..read].iter_mut().filter(|k| k.section() == section).for_each(|k| k.forget());
            let stop = error.is_region_not_enabled();
            errors.push((section, error));
            if stop {
                break;
            }
        }
    }
    errors.into_iter().map(|(_, error)| error).collect()
}

/// Plans each slot that was read, then checks what its changes need: the changes in order,
/// the notes, and the first check that failed (nothing is to be made then).
pub async fn plan(slots: &mut Slots<'_>, mode: Mode) -> (Vec<Change>, Vec<Note>, Result<(), TargetError>) {
    let (mut changes, mut notes, mut checked) = (Vec::new(), Vec::new(), Ok(()));
    for slot in slots.iter_mut() {
        let (planned, kept) = slot.plan(mode);
        notes.extend(kept);
        if checked.is_ok() {
            checked = slot.check().await;
        }
        changes.extend(planned);
    }
    (changes, notes, checked)
}

/// Makes what each slot planned, in order, until one fails.
pub async fn apply(slots: &Slots<'_>, made: &mut Made) -> Result<(), TargetError> {
    for slot in slots {
        slot.apply(made).await?;
    }
    Ok(())
}

/// One kind in one place, whatever its types.
pub trait Slotted<'a>: Send + Sync {
    fn section(&self) -> Section;
    fn needs(&self) -> &'static [Section];
    /// Reads it.
    fn observe(&mut self) -> BoxFuture<'_, Result<(), TargetError>>;
    /// Forgets what was read: another kind of its section could not be read.
    fn forget(&mut self);
    /// Plans what was read (nothing, if it was not).
    fn plan(&mut self, mode: Mode) -> (Vec<Change>, Vec<Note>);
    /// Reads what the changes planned need.
    fn check(&mut self) -> BoxFuture<'_, Result<(), TargetError>>;
    /// Makes what was planned, in order; a change that needs the account's roles while they are
    /// not ready stops there.
    fn apply<'s>(&'s self, made: &'s mut Made) -> BoxFuture<'s, Result<(), TargetError>>;
}

/// A kind's desired and observed state and its changes in one place.
struct Slot<'a, K: Resource> {
    desired: K::Desired<'a>,
    clients: K::Clients,
    observed: Option<K::Observed>,
    changes: Vec<K::Change>,
}

fn start<'a, K: Resource>(at: &At<'a, K>, wanted: &(dyn Fn(Section) -> bool + 'a)) -> Option<Box<dyn Slotted<'a> + 'a>> {
    if !wanted(K::SECTION) {
        return None;
    }
    let desired = K::desired(at)?;
    let clients = K::clients(at);
    Some(Box::new(Slot::<'a, K> { desired, clients, observed: None, changes: Vec::new() }))
}

impl<'a, K: Resource> Slotted<'a> for Slot<'a, K> {
    fn section(&self) -> Section {
        K::SECTION
    }

    fn needs(&self) -> &'static [Section] {
        K::NEEDS
    }

    fn observe(&mut self) -> BoxFuture<'_, Result<(), TargetError>> {
        async move {
            self.observed = Some(K::observe(&self.clients, &self.desired).await?);
            Ok(())
        }
        .boxed()
    }

    fn forget(&mut self) {
        self.observed = None;
    }

    fn plan(&mut self, mode: Mode) -> (Vec<Change>, Vec<Note>) {
        let Some(observed) = &self.observed else { return (Vec::new(), Vec::new()) };
        let (changes, notes) = match mode {
            Mode::Teardown { prune } => K::plan_teardown(&self.desired, observed, prune),
            Mode::Rollout { .. } | Mode::Audit => K::plan(&self.desired, observed),
        };
        self.changes = changes;
        (self.changes.iter().cloned().map(Into::into).collect(), notes)
    }

    fn check(&mut self) -> BoxFuture<'_, Result<(), TargetError>> {
        async move {
            match (&mut self.observed, self.changes.is_empty()) {
                (Some(observed), false) => K::check(&self.clients, &self.desired, observed, &self.changes).await,
                _ => Ok(()),
            }
        }
        .boxed()
    }

    fn apply<'s>(&'s self, made: &'s mut Made) -> BoxFuture<'s, Result<(), TargetError>> {
        async move {
            let Some(observed) = &self.observed else { return Ok(()) };
            for change in &self.changes {
                match K::needs_roles(&self.desired, change) {
                    Some(blocked) if !made.roles_ready => return Err(blocked),
                    _ => K::apply(&self.clients, &self.desired, observed, change, made).await?,
                }
            }
            Ok(())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_comes_after_what_it_needs() {
        let here: Vec<&str> = IN_ACCOUNT_REGION.iter().map(|e| e.name).collect();
        assert_eq!(here, ["findings topic", "rules", "exfiltration alarm"], "the topic before the rules that target it, the alarm after both");
        let admin: Vec<&str> = AT_ADMIN.iter().map(|e| e.name).collect();
        let expected = ["central alerts", "Slack channel", "suppression rules", "IP lists", "findings export"];
        assert_eq!(admin, expected, "the central topic before Slack subscribes it; the export last, as GuardDuty may refuse it");
    }
}
