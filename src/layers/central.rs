//! What the delegated admin holds on its own detector for the whole organization: the
//! suppression rules, the IP lists and the findings export of a region. Read, planned and
//! applied alike by a rollout (the organization layer) and a teardown.

use super::Context;
use crate::aws::{AwsError, GuardDuty};
use crate::model::{ObservedDestination, ObservedFilter, ObservedList, Region};
use crate::outcome::{Note, TargetError};
use crate::plan::{Export, IpLists, Plan, Suppression};
use crate::resources::{export, ip_lists, suppression, Change};

/// The plan's sections for the admin's detector (a teardown may leave them out).
#[derive(Clone, Copy, Default)]
pub struct Sections<'a> {
    pub rules: Option<&'a Suppression>,
    pub lists: Option<&'a IpLists>,
    pub export: Option<&'a Export>,
}

impl<'a> Sections<'a> {
    pub fn of(plan: &'a Plan) -> Self {
        Self { rules: plan.suppression.as_ref(), lists: plan.ip_lists.as_ref(), export: plan.export.as_ref() }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_none() && self.lists.is_none() && self.export.is_none()
    }
}

/// What the admin's detector holds, for the sections planned.
#[derive(Debug, Default)]
pub struct Held {
    pub filters: Vec<ObservedFilter>,
    pub lists: Vec<ObservedList>,
    pub destinations: Vec<ObservedDestination>,
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
        let rules = self.suppression.iter().cloned().map(Change::from);
        let lists = self.ip_lists.iter().cloned().map(Change::from);
        rules.chain(lists).chain(self.export.iter().cloned().map(Change::from))
    }
}

/// Pure: what makes the admin's detector hold what the sections say.
pub fn plan(sections: Sections<'_>, held: &Held) -> Planned {
    let mut planned = Planned::default();
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
        let (changes, notes) = export::plan(destination, &held.destinations);
        planned.export = changes;
        planned.notes.extend(notes);
    }
    planned
}

/// Pure: what the sections put there, to take out.
pub fn teardown(sections: Sections<'_>, held: &Held) -> Planned {
    Planned {
        suppression: sections.rules.map(|r| suppression::teardown(r, &held.filters)).unwrap_or_default(),
        ip_lists: sections.lists.map(|l| ip_lists::teardown(l, &held.lists)).unwrap_or_default(),
        export: sections.export.map(|e| export::teardown(e, &held.destinations)).unwrap_or_default(),
        ..Planned::default()
    }
}

/// The changes, one at a time (GuardDuty's ranks and quotas want them in order).
pub async fn apply(
    cx: &Context<'_>,
    guardduty: &GuardDuty,
    region: &Region,
    detector_id: &str,
    sections: Sections<'_>,
    planned: &Planned,
) -> Result<(), TargetError> {
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
        for change in &planned.export {
            if !matches!(change, export::Change::DeleteDestination { .. }) && !planned.policies_checked {
                check_policies(cx, destination, region, detector_id).await?;
            }
            export::apply(guardduty, detector_id, destination, change).await?;
        }
    }
    Ok(())
}

/// When a destination is to be created or moved and the admin's detector exists: its
/// policies, checked as the plan is made, so that a dry run says what they lack.
pub async fn check(cx: &Context<'_>, region: &Region, detector_id: &str, sections: Sections<'_>, planned: &mut Planned) -> Result<(), TargetError> {
    let writes = planned.export.iter().any(|c| !matches!(c, export::Change::DeleteDestination { .. }));
    if let (Some(destination), true) = (sections.export, writes) {
        check_policies(cx, destination, region, detector_id).await?;
        planned.policies_checked = true;
    }
    Ok(())
}

/// Before GuardDuty is asked to publish to the plan's bucket: the bucket and key policies,
/// read in the accounts that own them, must let the admin's detector write there; a
/// statement missing fails the target, named, with nothing sent to GuardDuty. Policies that
/// cannot be read are left to GuardDuty (its status says what it found).
async fn check_policies(cx: &Context<'_>, export: &Export, region: &Region, detector_id: &str) -> Result<(), TargetError> {
    let (Some(admin), Some((key_region, key_account))) = (cx.plan.admin.as_ref(), export.key_place()) else { return Ok(()) };
    let admin = *admin.account.get_ref();
    let bucket_account = export.bucket_account.unwrap_or(admin);
    let read = async {
        let bucket = cx.session(&bucket_account).policies(&key_region).bucket_policy(export.bucket_name()).await?;
        let key = cx.session(&key_account).policies(&key_region).key_policy(export.kms_key.get_ref()).await?;
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
    Err(TargetError::Aws(AwsError { operation: "guardduty:CreatePublishingDestination", code: "PolicyMissing".into(), message }))
}
