//! Findings export to S3: the delegated admin's detector publishes every member's findings of
//! its region to the plan's bucket, encrypted with the plan's key. One destination per
//! detector: a destination elsewhere is pointed at the plan's bucket; one that GuardDuty cannot
//! publish to is reported with its status.

mod policies;

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use super::archive;
use super::registry::{At, AtAdmin, Made, Mode, Once, Resource, Section};
use super::{Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, Destination, GuardDuty, Service, Storage};
use crate::model::{AccountId, ObservedDestination, Partition, Region};
use crate::outcome::{Note, TargetError};
use crate::plan::{Export, Plan};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateDestination { destination: String },
    UpdateDestination { id: String, destination: String, why: String },
    /// Teardown: the destination that publishes to the plan's bucket.
    DeleteDestination { id: String, destination: String },
}

pub fn plan(desired: &Export, observed: &[ObservedDestination]) -> (Vec<Change>, Vec<Note>) {
    let (want, key) = (desired.destination_arn(), desired.kms_key.get_ref());
    let owner = desired.bucket_account.map(|a| a.to_string());
    // The plan's is the destination to the plan's bucket; another is someone else's, kept.
    let ours = observed.iter().find(|d| same_destination(&d.destination_arn, &want));
    let mut notes: Vec<Note> = observed
        .iter()
        .filter(|d| !same_destination(&d.destination_arn, &want))
        .map(|d| Note::new(format!("another publishing destination {} (kept: the plan does not name it)", d.destination_arn)))
        .collect();
    let change = match ours {
        None => Some(Change::CreateDestination { destination: want }),
        Some(found) if found.kms_key_arn != *key => Some(Change::UpdateDestination { id: found.id.clone(), destination: want, why: format!("key {}", found.kms_key_arn) }),
        Some(found) if owner.is_some() && found.expected_owner != owner => {
            let why = format!("expected bucket owner {}", found.expected_owner.as_deref().unwrap_or("not set"));
            Some(Change::UpdateDestination { id: found.id.clone(), destination: want, why })
        }
        Some(found) if !found.status.is_working() => {
            notes.push(Note {
                text: format!("findings export to {want}: status {}; GuardDuty cannot write there with the key: check the bucket and key policies", found.status),
                fails: Some(Failure::new(EXPORT, "PUBLISHING", found.status.to_string())),
            });
            None
        }
        Some(_) => None,
    };
    (change.into_iter().collect(), notes)
}

/// Two destination ARNs name the same place: a folder's trailing / does not count.
fn same_destination(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Teardown: the destinations that publish to the plan's bucket, and no other.
pub fn teardown(desired: &Export, observed: &[ObservedDestination]) -> Vec<Change> {
    let want = desired.destination_arn();
    observed.iter().filter(|d| same_destination(&d.destination_arn, &want)).map(|d| Change::DeleteDestination { id: d.id.clone(), destination: want.clone() }).collect()
}

pub async fn apply(admin: &GuardDuty, detector_id: &str, desired: &Export, change: &Change) -> Result<(), AwsError> {
    let owner = desired.bucket_account.map(|a| a.to_string());
    let target = |arn| Destination { arn, kms_key_arn: desired.kms_key.get_ref(), expected_owner: owner.as_deref() };
    match change {
        Change::CreateDestination { destination } => admin.create_destination(detector_id, &target(destination)).await.map(drop),
        Change::UpdateDestination { id, destination, .. } => admin.update_destination(detector_id, id, &target(destination)).await,
        Change::DeleteDestination { id, .. } => admin.delete_destination(detector_id, id).await,
    }
}

const EXPORT: &str = "OG.Org.FindingsExport";

/// The destination on the delegated admin's detector, and the bucket and key policies read
/// (in the accounts that own them) before GuardDuty is asked to publish there.
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    let Some(export) = &plan.export else { return Vec::new() };
    let (bucket, detectors) = (export.bucket.get_ref(), [format!("arn:{p}:guardduty:*:*:detector/*")]);
    vec![
        Grant::read(&["guardduty:ListPublishingDestinations", "guardduty:DescribePublishingDestination"]),
        Grant::new("FindingsExportPolicies", Phase::Read, &["s3:GetBucketPolicy", "kms:GetKeyPolicy", "kms:DescribeKey"], &[bucket.clone(), format!("arn:{p}:kms:*:*:key/*")]),
        // What GuardDuty checks on the admin's behalf when it is asked to publish there.
        Grant::new("FindingsExportBucketAccess", Phase::Read, &["s3:GetObject", "s3:ListBucket"], &[bucket.clone(), format!("{bucket}/*")]),
        Grant::new("GuardDutyDetectorWrite", Phase::Rollout, &["guardduty:CreatePublishingDestination", "guardduty:UpdatePublishingDestination"], &detectors),
        Grant::new("GuardDutyDetectorTeardown", Phase::Teardown, &["guardduty:DeletePublishingDestination"], &detectors),
    ]
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    let description = "The delegated admin exports findings to the planned bucket with the planned key, and GuardDuty is publishing";
    plan.export.iter().map(|_| Check::new(Place::Organization, EXPORT, description, "orgguard")).collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateDestination { .. } => "create findings export",
            Self::UpdateDestination { .. } => "update findings export",
            Self::DeleteDestination { .. } => "delete findings export",
        }
    }

    fn calls(&self) -> Calls {
        Calls::here(Service::GuardDuty, 1)
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        match self {
            Self::CreateDestination { destination } => vec![Failure::new(EXPORT, format!("export to {destination}"), "none")],
            Self::UpdateDestination { destination, why, .. } => vec![Failure::new(EXPORT, format!("export to {destination}"), why.clone())],
            Self::DeleteDestination { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDestination { destination } => write!(f, "{destination}"),
            Self::UpdateDestination { destination, why, .. } => write!(f, "{destination} (was {why})"),
            Self::DeleteDestination { destination, .. } => write!(f, "{destination}"),
        }
    }
}

/// The findings export, and with `[export.archive]` the archive it writes to (made in the
/// key's region, before the destination): one kind, as the archive serves only the export.
pub struct FindingsExport;

pub struct Desired<'a> {
    export: &'a Export,
    /// In the archive's region, outside a teardown: what the archive should be.
    archive: Option<archive::Desired<'a>>,
    /// Outside a teardown, with `[export.archive]`: the key the plan names by its alias is looked up.
    finds_key: bool,
    /// A rollout, its dry run too, checks the bucket and key policies before asking GuardDuty
    /// (the audit judges the destination's status instead).
    checks_policies: bool,
    admin: AccountId,
    region: Region,
    partition: Partition,
    detector: Option<&'a str>,
}

pub struct Clients {
    guardduty: GuardDuty,
    /// Where the key is (its account, its region), and the bucket (its account, the key's region).
    keys: Option<Storage>,
    buckets: Option<Storage>,
}

pub struct Observed {
    destinations: Vec<ObservedDestination>,
    /// The key's ARN, when the plan names it by an alias that names one now.
    key: Option<String>,
    archive: Option<archive::Observed>,
    /// The bucket and key policies were found to let the destination publish.
    policies_checked: bool,
}

/// A change to the archive or to the destination.
#[derive(Clone, Debug)]
pub enum Step {
    Archive(archive::Change),
    Destination(Change),
}

impl From<Step> for super::Change {
    fn from(step: Step) -> Self {
        match step {
            Step::Archive(change) => change.into(),
            Step::Destination(change) => change.into(),
        }
    }
}

impl Desired<'_> {
    /// The plan's export with the key its alias names (unchanged without one).
    fn with_key(&self, key: Option<&str>) -> Cow<'_, Export> {
        match key {
            Some(key) if key != self.export.kms_key.get_ref() => {
                let kms_key = toml::Spanned::new(self.export.kms_key.span(), key.to_owned());
                Cow::Owned(Export { kms_key, ..self.export.clone() })
            }
            _ => Cow::Borrowed(self.export),
        }
    }

    /// What GuardDuty must be let to publish for: the admin's detector here.
    async fn check_policies(&self, clients: &Clients, key: Option<&str>, detector: &str) -> Result<(), TargetError> {
        let (Some(buckets), Some(keys)) = (&clients.buckets, &clients.keys) else { return Ok(()) };
        let source_arn = format!("arn:{}:guardduty:{}:{}:detector/{detector}", self.partition.name(), self.region, self.admin);
        policies::check(buckets, keys, &self.with_key(key), &self.region, &self.admin, &source_arn).await
    }
}

impl Resource for FindingsExport {
    const NAME: &'static str = "findings export";
    const SECTION: Section = Section::Export;
    type Placement = AtAdmin;
    type Desired<'a> = Desired<'a>;
    type Clients = Clients;
    type Observed = Observed;
    type Change = Step;

    fn desired<'a>(at: &At<'a, Self>) -> Option<Desired<'a>> {
        let export = at.plan.export.as_ref()?;
        let teardown = matches!(at.mode, Mode::Teardown { .. });
        let archive = archive::Desired::of(at.plan, at.partition).filter(|_| !teardown && archive::region(at.plan) == Some(at.region));
        Some(Desired {
            export,
            archive,
            finds_key: !teardown && export.archive.is_some(),
            checks_policies: matches!(at.mode, Mode::Rollout { .. }),
            admin: at.admin.account,
            region: at.region,
            partition: at.partition,
            detector: at.detector,
        })
    }

    /// The archive is made in its region before the others' exports write to it.
    fn once(plan: &Plan) -> Option<Once> {
        archive::region(plan).map(Once::First)
    }

    fn clients(at: &At<'_, Self>) -> Clients {
        let guardduty = at.admin.guardduty(&at.region);
        let Some((export, (key_region, key_account))) = at.plan.export.as_ref().and_then(|e| Some((e, e.key_place()?))) else {
            return Clients { guardduty, keys: None, buckets: None };
        };
        let bucket_account = export.bucket_account.unwrap_or(at.admin.account);
        let (keys, buckets) = ((at.session)(&key_account).storage(&key_region), (at.session)(&bucket_account).storage(&key_region));
        Clients { guardduty, keys: Some(keys), buckets: Some(buckets) }
    }

    async fn observe(clients: &Clients, desired: &Self::Desired<'_>) -> Result<Observed, TargetError> {
        let destinations = match desired.detector {
            Some(detector) => clients.guardduty.destinations(detector).await?,
            None => Vec::new(),
        };
        let mut observed = Observed { destinations, key: None, archive: None, policies_checked: false };
        let (Some(keys), Some(buckets), true) = (&clients.keys, &clients.buckets, desired.finds_key) else { return Ok(observed) };
        observed.key = keys.find_key(desired.export.kms_key.get_ref()).await?;
        if desired.archive.is_some() {
            let key_policy = match &observed.key {
                Some(key) => keys.key_policy(key).await?,
                None => None,
            };
            let prefix = desired.export.prefix.as_ref().map(|p| p.get_ref().as_str());
            let bucket = buckets.bucket(desired.export.bucket_name(), prefix).await?;
            observed.archive = Some(archive::Observed { key: observed.key.clone(), key_policy, bucket });
        }
        Ok(observed)
    }

    fn plan(desired: &Self::Desired<'_>, observed: &Observed) -> (Vec<Step>, Vec<Note>) {
        let (mut steps, mut notes) = (Vec::new(), Vec::new());
        if let (Some(archive), Some(found)) = (&desired.archive, &observed.archive) {
            let (changes, kept) = archive::plan(archive, found);
            steps.extend(changes.into_iter().map(Step::Archive));
            notes.extend(kept);
        }
        let (changes, kept) = plan(&desired.with_key(observed.key.as_deref()), &observed.destinations);
        steps.extend(changes.into_iter().map(Step::Destination));
        notes.extend(kept);
        (steps, notes)
    }

    fn plan_teardown(desired: &Self::Desired<'_>, observed: &Observed, _prune: bool) -> (Vec<Step>, Vec<Note>) {
        (teardown(desired.export, &observed.destinations).into_iter().map(Step::Destination).collect(), Vec::new())
    }

    /// When a destination is to be created or moved and the admin's detector exists: its
    /// policies, checked as the plan is made, so that a dry run says what they lack. Where the
    /// archive's policies are made in this run, they are checked once made.
    async fn check(clients: &Clients, desired: &Self::Desired<'_>, observed: &mut Observed, steps: &[Step]) -> Result<(), TargetError> {
        let writes = steps.iter().any(|s| matches!(s, Step::Destination(c) if !matches!(c, Change::DeleteDestination { .. })));
        let archive_changes = steps.iter().any(|s| matches!(s, Step::Archive(_)));
        let Some(detector) = desired.detector.filter(|_| desired.checks_policies && writes && !archive_changes) else { return Ok(()) };
        desired.check_policies(clients, observed.key.as_deref(), detector).await?;
        observed.policies_checked = true;
        Ok(())
    }

    async fn apply(clients: &Clients, desired: &Self::Desired<'_>, observed: &Observed, step: &Step, made: &mut Made) -> Result<(), TargetError> {
        match step {
            Step::Archive(change) => {
                let (Some(archive), Some(found), Some(keys), Some(buckets)) = (&desired.archive, &observed.archive, &clients.keys, &clients.buckets) else {
                    return Ok(());
                };
                Ok(archive::apply(archive, keys, buckets, &desired.region, found, change, &mut made.key).await?)
            }
            Step::Destination(change) => {
                let detector = made.detector()?;
                let key = made.key.as_deref().or(observed.key.as_deref());
                if !matches!(change, Change::DeleteDestination { .. }) && !observed.policies_checked {
                    desired.check_policies(clients, key, detector).await?;
                }
                Ok(apply(&clients.guardduty, detector, &desired.with_key(key), change).await?)
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::DestinationStatus;

    pub(super) fn desired() -> Export {
        let text = "[organization]\nregions = \"all\"\n[admin]\naccount = \"100000000001\"\n[detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
                    [export]\nbucket = \"arn:aws:s3:::findings\"\nprefix = \"guardduty\"\nkms_key = \"arn:aws:kms:us-east-1:100000000009:key/k1\"\n";
        Plan::parse(text, Path::new("p.toml")).unwrap().export.unwrap()
    }

    fn found(arn: &str, key: &str, status: &str) -> ObservedDestination {
        ObservedDestination { id: "d1".into(), destination_arn: arn.into(), kms_key_arn: key.into(), expected_owner: None, status: DestinationStatus::parse(status) }
    }

    #[test]
    fn a_destination_as_planned_and_publishing_needs_nothing_and_each_difference_its_own_change_or_note() {
        let key = "arn:aws:kms:us-east-1:100000000009:key/k1";
        assert_eq!(plan(&desired(), &[found("arn:aws:s3:::findings/guardduty", key, "PUBLISHING")]), (vec![], vec![]));
        assert_eq!(plan(&desired(), &[]).0, vec![Change::CreateDestination { destination: "arn:aws:s3:::findings/guardduty".into() }]);
        let (changes, notes) = plan(&desired(), &[found("arn:aws:s3:::someone-elses", key, "PUBLISHING")]);
        assert_eq!(changes, vec![Change::CreateDestination { destination: "arn:aws:s3:::findings/guardduty".into() }], "another destination is not taken over");
        assert!(notes[0].text.contains("someone-elses"), "{notes:?}");
        assert_eq!(plan(&desired(), &[found("arn:aws:s3:::findings/guardduty/", key, "PUBLISHING")]), (vec![], vec![]), "a folder's trailing / is the same place");
        let (changes, _) = plan(&desired(), &[found("arn:aws:s3:::findings/guardduty", "arn:aws:kms:us-east-1:100000000009:key/old", "PUBLISHING")]);
        assert!(matches!(&changes[..], [Change::UpdateDestination { why, .. }] if why == "key arn:aws:kms:us-east-1:100000000009:key/old"), "{changes:?}");
        let (changes, notes) = plan(&desired(), &[found("arn:aws:s3:::findings/guardduty", key, "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY")]);
        assert!(changes.is_empty());
        assert_eq!(notes[0].fails.as_ref().unwrap().actual, "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY");
        assert_eq!(teardown(&desired(), &[found("arn:aws:s3:::old", key, "PUBLISHING")]), vec![], "not the plan's bucket");
    }
}
