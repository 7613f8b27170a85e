//! The delegated admin's trusted IP list and threat lists in one region, which apply to
//! every member: created activated, pointed at a new file location with an update that
//! activates them again, replaced when the format changes (GuardDuty cannot update it), and
//! waited on until ACTIVE. Lists the plan does not name are reported, and removed only with
//! `prune = true` (first, since GuardDuty holds one trusted list and six threat lists).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::registry::{At, AtAdmin, Made, Resource, Section};
use super::{Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{GuardDuty, ListFile, Service};
use crate::model::{ListKind, ListStatus, ObservedList};
use crate::outcome::{Note, TargetError, Unmet};
use crate::plan::{IpList, IpLists, Plan};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateList { list: ListKind, name: String },
    /// The planned location, activated again; `why` says what differed.
    UpdateList { list: ListKind, name: String, id: String, why: String },
    /// Another format: deleted, then created.
    ReplaceList { list: ListKind, name: String, id: String },
    /// A list the plan does not name (with `prune`), or in a teardown one it does.
    DeleteList { list: ListKind, name: String, id: String },
}

/// Lists per account and region GuardDuty holds of each kind.
fn quota(kind: ListKind) -> usize {
    match kind {
        ListKind::Trusted => 1,
        ListKind::Threat => 6,
    }
}

pub fn plan(desired: &IpLists, observed: &[ObservedList]) -> (Vec<Change>, Vec<Note>) {
    // A list being deleted is gone as far as the plan is concerned.
    let observed: Vec<&ObservedList> = observed.iter().filter(|o| !o.status.is_gone()).collect();
    let planned = |o: &ObservedList| desired.all().find(|(kind, l)| *kind == o.kind && l.name.get_ref() == &o.name);
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    for other in observed.iter().filter(|o| planned(o).is_none()) {
        if desired.prune {
            changes.push(Change::DeleteList { list: other.kind, name: other.name.clone(), id: other.id.clone() });
        } else {
            notes.push(Note {
                text: format!("{} {} ({}) is not in the plan (kept; prune = true removes it)", other.kind, other.name, other.location),
                fails: Some(Failure::new(control(other.kind), "only the planned lists", format!("{} present", other.name))),
            });
        }
    }
    // Held of each kind once the changes above are made: what stays, then what is created.
    let held = |kind: ListKind| observed.iter().filter(|o| o.kind == kind && (planned(o).is_some() || !desired.prune)).count();
    let mut room = [ListKind::Trusted, ListKind::Threat].map(|kind| quota(kind).saturating_sub(held(kind)));
    for (kind, list) in desired.all() {
        let name = list.name.get_ref().clone();
        match observed.iter().find(|o| o.kind == kind && o.name == name) {
            None if room[kind as usize] == 0 => notes.push(Note {
                text: format!("{kind} {name} not created: GuardDuty holds {} and lists the plan does not name take the room; prune = true removes them", quota(kind)),
                fails: Some(Failure::new(control(kind), format!("{name} active"), "no room")),
            }),
            None => {
                room[kind as usize] -= 1;
                changes.push(Change::CreateList { list: kind, name });
            }
            Some(found) if found.status == ListStatus::Deactivating => notes.push(Note {
                text: format!("{kind} {name} is DEACTIVATING; the next run activates it again"),
                fails: Some(Failure::new(control(kind), format!("{name} active"), "DEACTIVATING")),
            }),
            Some(found) if found.format != list.format.as_str() => {
                changes.push(Change::ReplaceList { list: kind, name, id: found.id.clone() });
            }
            Some(found) => {
                let owner = list.bucket_owner.map(|a| a.to_string());
                let why = if found.location != *list.location.get_ref() {
                    format!("location {} -> {}", found.location, list.location.get_ref())
                } else if owner.is_some() && found.expected_owner != owner {
                    format!("expected bucket owner {}", found.expected_owner.as_deref().unwrap_or("not set"))
                } else if !found.status.is_settled() {
                    format!("status {}", found.status)
                } else {
                    continue;
                };
                changes.push(Change::UpdateList { list: kind, name, id: found.id.clone(), why });
            }
        }
    }
    (changes, notes)
}

/// Teardown: the lists the plan names, and no other.
pub fn teardown(desired: &IpLists, observed: &[ObservedList]) -> Vec<Change> {
    let planned = |o: &&ObservedList| desired.all().any(|(kind, l)| kind == o.kind && l.name.get_ref() == &o.name);
    observed.iter().filter(planned).map(|o| Change::DeleteList { list: o.kind, name: o.name.clone(), id: o.id.clone() }).collect()
}

/// Applies the change; a list created or updated is waited on until GuardDuty says ACTIVE.
pub async fn apply<'a>(admin: &GuardDuty, detector_id: &str, desired: &'a IpLists, change: &Change) -> Result<(), TargetError> {
    let planned = |kind: ListKind, name: &str| -> &'a IpList {
        desired.all().find(|(k, l)| *k == kind && l.name.get_ref() == name).map(|(_, l)| l).expect("a change names a planned list")
    };
    let file = |list: &'a IpList| ListFile { location: list.location.get_ref(), owner: list.bucket_owner.map(|a| a.to_string()) };
    let (kind, id) = match change {
        Change::DeleteList { list, id, .. } => return Ok(admin.delete_list(detector_id, *list, id).await?),
        Change::CreateList { list, name } => {
            let planned = planned(*list, name);
            (*list, admin.create_list(detector_id, *list, name, planned.format, &file(planned)).await?)
        }
        Change::ReplaceList { list, name, id } => {
            admin.delete_list(detector_id, *list, id).await?;
            let planned = planned(*list, name);
            (*list, admin.create_list(detector_id, *list, name, planned.format, &file(planned)).await?)
        }
        Change::UpdateList { list, name, id, .. } => {
            let planned = planned(*list, name);
            admin.update_list(detector_id, *list, id, &file(planned)).await?;
            (*list, id.clone())
        }
    };
    active(admin, detector_id, kind, id).await
}

/// Polls the list until ACTIVE: 0.5 s, then twice as long each time, up to a minute in all.
async fn active(admin: &GuardDuty, detector_id: &str, kind: ListKind, id: String) -> Result<(), TargetError> {
    let mut wait = Duration::from_millis(500);
    let mut waited = Duration::ZERO;
    loop {
        let list = admin.list(detector_id, kind, id.clone()).await?;
        let operation = if kind == ListKind::Trusted { "guardduty:GetIPSet" } else { "guardduty:GetThreatIntelSet" };
        let fail = |unmet, message| Err(TargetError::Unmet { operation, unmet, message });
        match &list.status {
            ListStatus::Active => return Ok(()),
            ListStatus::Activating if waited < Duration::from_secs(60) => {}
            ListStatus::Activating => return fail(Unmet::StillActivating, format!("{kind} {} still ACTIVATING after a minute; the next run checks again", list.name)),
            other => {
                let message = format!("{kind} {}: GuardDuty could not activate {} (status {other}); check the file and that the admin may read it", list.name, list.location);
                return fail(Unmet::ListNotActive, message);
            }
        }
        tokio::time::sleep(wait).await;
        waited += wait;
        wait = (wait * 2).min(Duration::from_secs(8));
    }
}

/// The trusted IP list and threat lists, on the delegated admin's detector.
pub struct Lists;

impl Resource for Lists {
    const NAME: &'static str = "IP lists";
    const SECTION: Section = Section::IpLists;
    type Placement = AtAdmin;
    /// The plan's lists, and the admin's detector if it has one.
    type Desired<'a> = (&'a IpLists, Option<&'a str>);
    type Clients = GuardDuty;
    type Observed = Vec<ObservedList>;
    type Change = Change;

    fn desired<'a>(at: &At<'a, Self>) -> Option<Self::Desired<'a>> {
        Some((at.plan.ip_lists.as_ref()?, at.detector))
    }

    fn clients(at: &At<'_, Self>) -> GuardDuty {
        at.admin.guardduty(&at.region)
    }

    async fn observe(guardduty: &GuardDuty, (_, detector): &Self::Desired<'_>) -> Result<Vec<ObservedList>, TargetError> {
        match detector {
            Some(detector) => Ok(guardduty.lists(detector).await?),
            None => Ok(Vec::new()),
        }
    }

    fn plan((lists, _): &Self::Desired<'_>, observed: &Vec<ObservedList>) -> (Vec<Change>, Vec<Note>) {
        plan(lists, observed)
    }

    fn plan_teardown((lists, _): &Self::Desired<'_>, observed: &Vec<ObservedList>, _prune: bool) -> (Vec<Change>, Vec<Note>) {
        (teardown(lists, observed), Vec::new())
    }

    async fn apply(guardduty: &GuardDuty, (lists, _): &Self::Desired<'_>, _: &Vec<ObservedList>, change: &Change, made: &mut Made) -> Result<(), TargetError> {
        apply(guardduty, made.detector()?, lists, change).await
    }
}

fn control(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Trusted => TRUSTED,
        ListKind::Threat => THREAT,
    }
}

const TRUSTED: &str = "OG.Org.TrustedIpList";
const THREAT: &str = "OG.Org.ThreatLists";

/// The lists, on the delegated admin's detector; GuardDuty keeps a policy of its
/// service-linked role in step with them (its `iam:PutRolePolicy` is checked on orgguard's behalf).
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    if plan.ip_lists.is_none() {
        return Vec::new();
    }
    let detectors = [format!("arn:{p}:guardduty:*:*:detector/*")];
    let role = [format!("arn:{p}:iam::*:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty")];
    vec![
        Grant::read(&["guardduty:ListIPSets", "guardduty:GetIPSet", "guardduty:ListThreatIntelSets", "guardduty:GetThreatIntelSet"]),
        Grant::new("GuardDutyDetectorWrite", Phase::Rollout, &["guardduty:CreateIPSet", "guardduty:UpdateIPSet", "guardduty:CreateThreatIntelSet", "guardduty:UpdateThreatIntelSet"], &detectors),
        Grant::new("GuardDutyDetectorWrite", Phase::Both, &["guardduty:DeleteIPSet", "guardduty:DeleteThreatIntelSet"], &detectors),
        Grant::new("GuardDutyServiceRolePolicyForLists", Phase::Rollout, &["iam:PutRolePolicy"], &role),
        Grant::new("GuardDutyServiceRolePolicyForLists", Phase::Both, &["iam:DeleteRolePolicy"], &role),
    ]
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let Some(lists) = &plan.ip_lists else { return Vec::new() };
    let mut checks = Vec::new();
    if lists.trusted.is_some() {
        checks.push(Check::new(Place::Organization, TRUSTED, "The delegated admin holds the planned trusted IP list, active, and no other", "orgguard"));
    }
    if !lists.threat.get_ref().is_empty() {
        checks.push(Check::new(Place::Organization, THREAT, "The delegated admin holds the planned threat lists, active, and no other", "orgguard"));
    }
    checks
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateList { .. } => "create IP list",
            Self::UpdateList { .. } => "update IP list",
            Self::ReplaceList { .. } => "replace IP list",
            Self::DeleteList { .. } => "delete IP list",
        }
    }

    /// Each write, then at least one read while GuardDuty activates the list.
    fn calls(&self) -> Calls {
        let count = match self {
            Self::DeleteList { .. } => 1,
            Self::ReplaceList { .. } => 3,
            _ => 2,
        };
        Calls::here(Service::GuardDuty, count)
    }

    fn failures(&self, plan: &Plan) -> Vec<Failure> {
        let planned = |kind: ListKind, name: &str| plan.ip_lists.iter().flat_map(IpLists::all).any(|(k, l)| k == kind && l.name.get_ref() == name);
        vec![match self {
            Self::CreateList { list, name } => Failure::new(control(*list), format!("{name} active"), "missing"),
            Self::UpdateList { list, name, why, .. } => Failure::new(control(*list), format!("{name} active at its planned location"), why.clone()),
            Self::ReplaceList { list, name, .. } => Failure::new(control(*list), format!("{name} in its planned format"), "another format"),
            Self::DeleteList { list, name, .. } if !planned(*list, name) => Failure::new(control(*list), "only the planned lists", format!("{name} present")),
            Self::DeleteList { .. } => return Vec::new(),
        }]
    }

    fn summary(&self) -> String {
        match self {
            Self::UpdateList { list, name, .. } => format!("{list} {name}: location or status"),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateList { list, name } => write!(f, "{list} {name}, activated"),
            Self::UpdateList { list, name, why, .. } => write!(f, "{list} {name}: {why}, activated again"),
            Self::ReplaceList { list, name, .. } => write!(f, "{list} {name}: another format, deleted and created"),
            Self::DeleteList { list, name, .. } => write!(f, "{list} {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn desired(prune: bool) -> IpLists {
        let text = format!(
            "[organization]\nregions = \"all\"\n[admin]\naccount = \"100000000001\"\n[detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
             [ip_lists]\nprune = {prune}\ntrusted = {{ name = \"egress\", location = \"s3://lists/trusted.txt\" }}\n\
             [[ip_lists.threat]]\nname = \"bad\"\nformat = \"STIX\"\nlocation = \"s3://lists/bad.xml\"\n"
        );
        Plan::parse(&text, Path::new("p.toml")).unwrap().ip_lists.unwrap()
    }

    fn found(kind: ListKind, name: &str, format: &str, location: &str, status: &str) -> ObservedList {
        ObservedList { kind, id: format!("id-{name}"), name: name.into(), format: format.into(), location: location.into(), expected_owner: None, status: ListStatus::parse(status) }
    }

    #[test]
    fn lists_as_planned_need_nothing_and_each_difference_its_own_change() {
        let good = vec![
            found(ListKind::Trusted, "egress", "TXT", "s3://lists/trusted.txt", "ACTIVE"),
            found(ListKind::Threat, "bad", "STIX", "s3://lists/bad.xml", "ACTIVATING"),
        ];
        assert_eq!(plan(&desired(false), &good), (vec![], vec![]));
        let moved = vec![found(ListKind::Trusted, "egress", "TXT", "s3://lists/old.txt", "ACTIVE"), found(ListKind::Threat, "bad", "TXT", "s3://lists/bad.xml", "ACTIVE")];
        let (changes, _) = plan(&desired(false), &moved);
        assert_eq!(changes, vec![
            Change::UpdateList { list: ListKind::Trusted, name: "egress".into(), id: "id-egress".into(), why: "location s3://lists/old.txt -> s3://lists/trusted.txt".into() },
            Change::ReplaceList { list: ListKind::Threat, name: "bad".into(), id: "id-bad".into() },
        ]);
        let text = "[organization]\nregions = \"all\"\n[admin]\naccount = \"100000000001\"\n[detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
                    [ip_lists]\ntrusted = { name = \"egress\", location = \"s3://lists/trusted.txt\", bucket_owner = \"100000000009\" }\n";
        let owned = Plan::parse(text, Path::new("p.toml")).unwrap().ip_lists.unwrap();
        let (changes, _) = plan(&owned, &good[..1]);
        assert!(matches!(&changes[..], [Change::UpdateList { why, .. }] if why == "expected bucket owner not set"), "{changes:?}");
        let inactive = vec![found(ListKind::Trusted, "egress", "TXT", "s3://lists/trusted.txt", "INACTIVE")];
        let (changes, _) = plan(&desired(false), &inactive);
        assert!(matches!(&changes[0], Change::UpdateList { why, .. } if why == "status INACTIVE"), "{changes:?}");
        assert_eq!(changes[1], Change::CreateList { list: ListKind::Threat, name: "bad".into() });
    }

    #[test]
    fn a_list_the_plan_does_not_name_is_reported_unless_pruned_first() {
        let other = vec![found(ListKind::Trusted, "old", "TXT", "s3://lists/old.txt", "ACTIVE")];
        let (changes, notes) = plan(&desired(false), &other);
        assert_eq!(notes[0].fails.as_ref().unwrap().actual, "old present");
        assert_eq!(notes[1].fails.as_ref().unwrap().actual, "no room", "GuardDuty holds one trusted list: {notes:?}");
        assert_eq!(changes, vec![Change::CreateList { list: ListKind::Threat, name: "bad".into() }], "no create GuardDuty would refuse");
        let deleted = vec![found(ListKind::Trusted, "old", "TXT", "s3://lists/old.txt", "DELETE_PENDING")];
        assert_eq!(plan(&desired(false), &deleted).0.len(), 2, "a list being deleted holds no room");
        let (changes, notes) = plan(&desired(true), &other);
        assert!(notes.is_empty());
        assert_eq!(changes[0], Change::DeleteList { list: ListKind::Trusted, name: "old".into(), id: "id-old".into() }, "GuardDuty holds one trusted list: the old goes first");
        assert_eq!(teardown(&desired(false), &other), vec![], "a teardown leaves what the plan does not name");
    }
}
