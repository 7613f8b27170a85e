//! The kinds held in every account-region the plan reaches, besides the detector they need:
//! each reads, plans and changes its own resources in the account, and the account-region
//! layer walks [`REGISTRY`] (a teardown walks it backwards). Adding such a kind: its file with
//! an [`InRegion`] impl, and its line in `REGISTRY`.

use std::future::Future;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::Change;
use crate::aws::{AccountSession, AwsError};
use crate::model::{AccountId, Partition, Region};
use crate::outcome::{Note, TargetError};
use crate::plan::Plan;

/// Where a kind is planned: the plan, and the account-region.
#[derive(Clone, Copy)]
pub struct Here<'a> {
    pub plan: &'a Plan,
    pub account: &'a AccountId,
    pub region: Region,
    pub partition: Partition,
}

/// The plan section a kind comes from, which a teardown takes out or leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `[notifications]`: the findings topic and the rules.
    Notifications,
    /// `[exfiltration]`: the alarm, its metric filter, the flow logs and their log group.
    Exfiltration,
}

/// One kind held in each account-region: reads only in `observe`, a pure `plan`, writes only
/// in `apply`.
pub trait InRegion: 'static {
    /// The kind, as the registry's order names it.
    const NAME: &'static str;
    const SECTION: Section;
    /// What the plan asks of one account-region.
    type Desired<'a>: Send + Sync;
    /// The clients its reads and writes use, built once per account-region.
    type Clients: Send + Sync;
    type Observed: Send + Sync;
    type Change: Clone + Into<Change> + Send + Sync;

    /// None: the plan has no section for it.
    fn desired<'a>(here: &Here<'a>) -> Option<Self::Desired<'a>>;
    fn clients(session: &AccountSession, region: &Region) -> Self::Clients;
    fn observe(clients: &Self::Clients, desired: &Self::Desired<'_>) -> impl Future<Output = Result<Self::Observed, AwsError>> + Send;
    /// Pure: the changes that make it as planned, and drift reported but left alone.
    fn plan(desired: &Self::Desired<'_>, observed: &Self::Observed) -> (Vec<Self::Change>, Vec<Note>);
    /// Pure: what a teardown takes out (`prune`: subscriptions the plan does not name too).
    fn plan_teardown(desired: &Self::Desired<'_>, observed: &Self::Observed, prune: bool) -> (Vec<Self::Change>, Vec<Note>);
    /// Why the change cannot be made while the account's IAM roles are not ready, if it needs them.
    fn needs_roles(desired: &Self::Desired<'_>, change: &Self::Change) -> Option<TargetError>;
    fn apply(clients: &Self::Clients, desired: &Self::Desired<'_>, change: &Self::Change) -> impl Future<Output = Result<(), TargetError>> + Send;
}

/// Every kind held in each account-region after its detector, in the order they are made.
pub const REGISTRY: &[Entry] = &[entry::<super::topic::Topic>(), entry::<super::rules::Rules>(), entry::<super::exfiltration::Parts>()];

/// A kind's place in the registry.
pub struct Entry {
    pub name: &'static str,
    /// Its slot in one account-region, if the plan has the kind and (in a teardown) the
    /// teardown takes its section out.
    pub start: for<'a> fn(&Here<'a>, &AccountSession, &dyn Fn(Section) -> bool) -> Option<Box<dyn Slotted<'a> + 'a>>,
}

const fn entry<K: InRegion>() -> Entry {
    Entry { name: K::NAME, start: start::<K> }
}

/// The kinds of one account-region, in the registry's order.
pub type Slots<'a> = Vec<Box<dyn Slotted<'a> + 'a>>;

/// What a plan is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    Rollout,
    /// `prune`: subscriptions the plan does not name go too.
    Teardown { prune: bool },
}

/// One kind in one account-region, whatever its types.
pub trait Slotted<'a>: Send + Sync {
    fn name(&self) -> &'static str;
    fn section(&self) -> Section;
    /// Reads it.
    fn observe(&mut self) -> BoxFuture<'_, Result<(), AwsError>>;
    /// Forgets what was read: another kind of its section could not be read.
    fn forget(&mut self);
    /// Plans what was read (nothing, if it was not).
    fn plan(&mut self, pass: Pass) -> (Vec<Change>, Vec<Note>);
    /// Makes what was planned, in order; a change that needs the account's roles while they are
    /// not ready stops there.
    fn apply(&self, roles_ready: bool) -> BoxFuture<'_, Result<(), TargetError>>;
}

/// A kind's desired and observed state and its changes in one account-region.
struct Slot<'a, K: InRegion> {
    desired: K::Desired<'a>,
    clients: K::Clients,
    observed: Option<K::Observed>,
    changes: Vec<K::Change>,
}

fn start<'a, K: InRegion>(here: &Here<'a>, session: &AccountSession, wanted: &dyn Fn(Section) -> bool) -> Option<Box<dyn Slotted<'a> + 'a>> {
    if !wanted(K::SECTION) {
        return None;
    }
    let desired = K::desired(here)?;
    let clients = K::clients(session, &here.region);
    Some(Box::new(Slot::<'a, K> { desired, clients, observed: None, changes: Vec::new() }))
}

impl<'a, K: InRegion> Slotted<'a> for Slot<'a, K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn section(&self) -> Section {
        K::SECTION
    }

    fn observe(&mut self) -> BoxFuture<'_, Result<(), AwsError>> {
        async move {
            self.observed = Some(K::observe(&self.clients, &self.desired).await?);
            Ok(())
        }
        .boxed()
    }

    fn forget(&mut self) {
        self.observed = None;
    }

    fn plan(&mut self, pass: Pass) -> (Vec<Change>, Vec<Note>) {
        let Some(observed) = &self.observed else { return (Vec::new(), Vec::new()) };
        let (changes, notes) = match pass {
            Pass::Rollout => K::plan(&self.desired, observed),
            Pass::Teardown { prune } => K::plan_teardown(&self.desired, observed, prune),
        };
        self.changes = changes;
        (self.changes.iter().cloned().map(Into::into).collect(), notes)
    }

    fn apply(&self, roles_ready: bool) -> BoxFuture<'_, Result<(), TargetError>> {
        async move {
            for change in &self.changes {
                match K::needs_roles(&self.desired, change) {
                    Some(blocked) if !roles_ready => return Err(blocked),
                    _ => K::apply(&self.clients, &self.desired, change).await?,
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
    fn the_registry_makes_the_topic_before_the_rules_that_target_it_and_the_alarm_after_both() {
        let names: Vec<&str> = REGISTRY.iter().map(|entry| entry.name).collect();
        assert_eq!(names, ["findings topic", "rules", "exfiltration alarm"]);
    }
}
