//! The findings archive orgguard prepares with `[export.archive]`: the KMS key (found by its
//! alias, or made with it) and the bucket in the log-archive account, encrypted with the key,
//! public access blocked, TLS only, objects expiring after the retention, and the `prefix/`
//! object; each policy with the statements GuardDuty needs from the admin's detectors of
//! every region (opt-in regions' own principals too). orgguard's statements are known by their
//! Sid: others in the policies are kept. Made once a run, in the key's region, before any
//! region's export; a teardown keeps the archive (it holds the organization's findings).

use std::fmt;

use serde::Serialize;
use serde_json::{json, Value};

use super::{same_json, Calls, Kind};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, ObservedBucket, Service, Storage};
use crate::model::{AccountId, Partition, Region};
use crate::outcome::Note;
use crate::plan::{Archive, Export, Plan, RegionSelection};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A key with orgguard's policy, and the plan's alias on it.
    CreateKey { alias: String },
    PutKeyPolicy { key: String, why: String },
    CreateBucket { bucket: String },
    PutEncryption { bucket: String, why: String },
    BlockPublicAccess { bucket: String },
    PutBucketPolicy { bucket: String, why: String },
    PutRetention { bucket: String, days: u32, why: String },
    PutFolder { bucket: String, prefix: String },
}

/// The archive as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The ARN of the key the plan's ARN (or alias) names.
    pub key: Option<String>,
    pub key_policy: Option<Value>,
    pub bucket: Option<ObservedBucket>,
}

/// What the archive should be, for the plan's export.
pub struct Desired<'a> {
    pub export: &'a Export,
    pub archive: &'a Archive,
    pub admin: AccountId,
    /// GuardDuty's principals in the regions the plan names.
    pub principals: Vec<String>,
    pub partition: &'static str,
}

impl<'a> Desired<'a> {
    /// With `[export.archive]` and an admin: GuardDuty's principal, and each opt-in region's
    /// own, for the regions the plan names.
    pub fn of(plan: &'a Plan, partition: Partition) -> Option<Self> {
        let export = plan.export.as_ref()?;
        let regions: Vec<Region> = match &plan.organization.regions {
            RegionSelection::All => partition.guardduty_regions().iter().filter_map(|r| Region::parse(r).ok()).collect(),
            RegionSelection::List(regions) => regions.iter().copied().collect(),
        };
        let mut principals: Vec<String> = regions.iter().map(Region::guardduty_principal).collect();
        principals.sort();
        principals.dedup();
        Some(Desired { export, archive: export.archive.as_ref()?, admin: *plan.admin.as_ref()?.account.get_ref(), principals, partition: partition.name() })
    }
}

/// With `[export.archive]`, the region where the archive is made: the key's, which GuardDuty
/// wants the bucket's to be.
pub fn region(plan: &Plan) -> Option<Region> {
    let export = plan.export.as_ref().filter(|e| e.archive.is_some())?;
    export.key_place().map(|(region, _)| region)
}

impl Desired<'_> {
    fn bucket(&self) -> &str {
        self.export.bucket_name()
    }

    /// The statements' conditions: GuardDuty acting for the admin's detectors, any region.
    fn condition(&self) -> Value {
        let detectors = format!("arn:{}:guardduty:*:{}:detector/*", self.partition, self.admin);
        json!({"StringEquals": {"aws:SourceAccount": self.admin.as_str()}, "ArnLike": {"aws:SourceArn": detectors}})
    }

    fn key_statements(&self) -> Vec<Value> {
        let mut statements = vec![json!({
            "Sid": "OrgguardGuardDutyFindings",
            "Effect": "Allow",
            "Principal": {"Service": self.principals},
            "Action": "kms:GenerateDataKey",
            "Resource": "*",
            "Condition": self.condition(),
        })];
        // The bucket's own account writes with the key too (the prefix/ object, under the
        // bucket's default encryption) when the key is elsewhere.
        let key_account = self.export.key_place().map(|(_, account)| account);
        let bucket_account = self.export.bucket_account.unwrap_or(self.admin);
        if key_account.is_some_and(|a| a != bucket_account) {
            statements.push(json!({
                "Sid": "OrgguardBucketAccountEncrypt",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:{}:iam::{bucket_account}:root", self.partition)},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
            }));
        }
        statements
    }

    /// A new key's whole policy: its account administers it (without that statement a key
    /// can be left unmanageable), and GuardDuty's statement.
    pub fn new_key_policy(&self) -> String {
        let account = self.export.key_place().map_or(self.admin, |(_, account)| account);
        let admin = json!({
            "Sid": "OrgguardKeyAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:{}:iam::{account}:root", self.partition)},
            "Action": "kms:*",
            "Resource": "*",
        });
        let statements: Vec<Value> = std::iter::once(admin).chain(self.key_statements()).collect();
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    }

    fn bucket_statements(&self) -> Vec<Value> {
        let bucket = self.export.bucket.get_ref();
        let folder = self.export.prefix.as_ref().map_or(bucket.clone(), |p| format!("{bucket}/{}", p.get_ref()));
        let guardduty = |sid: &str, action: &str, resource: String| {
            json!({"Sid": sid, "Effect": "Allow", "Principal": {"Service": self.principals}, "Action": action, "Resource": resource, "Condition": self.condition()})
        };
        vec![
            json!({
                "Sid": "OrgguardDenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket, format!("{bucket}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }),
            guardduty("OrgguardGuardDutyGetBucketLocation", "s3:GetBucketLocation", bucket.clone()),
            guardduty("OrgguardGuardDutyPutObject", "s3:PutObject", format!("{folder}/*")),
        ]
    }

    fn days(&self) -> u32 {
        *self.archive.retention_days.get_ref()
    }
}

/// The policy with orgguard's statements in it (by Sid, the others kept), when it lacks one
/// of them or has one different; None when it has them all.
pub fn merged(policy: Option<&Value>, ours: &[Value]) -> Option<String> {
    let mut statements: Vec<Value> = match policy.map(|p| &p["Statement"]) {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(one)) => vec![Value::Object(one.clone())],
        _ => Vec::new(),
    };
    let mut changed = false;
    for statement in ours {
        match statements.iter().position(|s| s["Sid"] == statement["Sid"]) {
            Some(i) if same_json(&statements[i], statement) => continue,
            Some(i) => statements[i] = statement.clone(),
            None => statements.push(statement.clone()),
        }
        changed = true;
    }
    let version = policy.and_then(|p| p.get("Version").cloned()).unwrap_or_else(|| json!("2012-10-17"));
    changed.then(|| json!({"Version": version, "Statement": statements}).to_string())
}

/// Pure: what makes the archive as planned; a key ARN (not an alias) that names no key is a
/// note: orgguard makes keys only by alias.
pub fn plan(desired: &Desired, observed: &Observed) -> (Vec<Change>, Vec<Note>) {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let planned_key = desired.export.kms_key.get_ref();
    match &observed.key {
        None if planned_key.contains(":alias/") => {
            changes.push(Change::CreateKey { alias: planned_key.rsplit_once(':').map_or(planned_key.as_str(), |(_, a)| a).to_owned() })
        }
        None => notes.push(Note {
            text: format!("the key {planned_key} does not exist: orgguard makes a key only by an alias ARN"),
            fails: Some(Failure::new(EXPORT, format!("key {planned_key}"), "no such key")),
        }),
        Some(key) => {
            if merged(observed.key_policy.as_ref(), &desired.key_statements()).is_some() {
                changes.push(Change::PutKeyPolicy { key: key.clone(), why: "its policy lacks GuardDuty's statement, or has another".into() });
            }
        }
    }
    let bucket = desired.bucket().to_owned();
    let found = observed.bucket.clone().unwrap_or_default();
    if observed.bucket.is_none() {
        changes.push(Change::CreateBucket { bucket: bucket.clone() });
    }
    let key_matches = |used: &str| {
        observed.key.as_deref().is_some_and(|key| used == key || key.ends_with(&format!("/{used}"))) || used == planned_key
    };
    // A bucket orgguard did not make may serve other writers: its encryption is reported,
    // not changed (they may have no right to the key).
    match (&observed.bucket, found.encryption_key.as_deref().is_some_and(key_matches)) {
        (_, true) => {}
        (None, false) => changes.push(Change::PutEncryption { bucket: bucket.clone(), why: "new bucket".into() }),
        (Some(_), false) => {
            let found = found.encryption_key.as_ref().map_or("not SSE-KMS".into(), |k| format!("encrypted with {k}"));
            notes.push(Note {
                text: format!("bucket {bucket} is {found}, not with the plan's key: kept (another writer may need it); encrypt it with the key to export there"),
                fails: Some(Failure::new(EXPORT, format!("bucket {bucket} encrypted with the plan's key"), found)),
            });
        }
    }
    if !found.public_access_blocked {
        changes.push(Change::BlockPublicAccess { bucket: bucket.clone() });
    }
    if merged(found.policy.as_ref(), &desired.bucket_statements()).is_some() {
        changes.push(Change::PutBucketPolicy { bucket: bucket.clone(), why: "its policy lacks orgguard's statements (TLS only, GuardDuty's), or has others under their names".into() });
    }
    if found.retention_days != i32::try_from(desired.days()).ok() {
        let why = found.retention_days.map_or("no retention rule".into(), |d| format!("{d} days"));
        changes.push(Change::PutRetention { bucket: bucket.clone(), days: desired.days(), why });
    }
    if let (Some(prefix), false) = (&desired.export.prefix, found.folder) {
        changes.push(Change::PutFolder { bucket, prefix: prefix.get_ref().clone() });
    }
    (changes, notes)
}

/// Makes one change (the key first: the bucket is encrypted with it); `made_key`: the key
/// made by an earlier change of this run.
pub async fn apply(
    desired: &Desired<'_>,
    keys: &Storage,
    buckets: &Storage,
    region: &Region,
    observed: &Observed,
    change: &Change,
    made_key: &mut Option<String>,
) -> Result<(), AwsError> {
    let merged_policy = |policy: Option<&Value>, ours: &[Value]| merged(policy, ours).unwrap_or_default();
    match change {
        Change::CreateKey { alias } => *made_key = Some(keys.create_key(alias, &desired.new_key_policy()).await?),
        Change::PutKeyPolicy { key, .. } => keys.put_key_policy(key, &merged_policy(observed.key_policy.as_ref(), &desired.key_statements())).await?,
        Change::CreateBucket { bucket } => buckets.create_bucket(bucket, region).await?,
        Change::PutEncryption { bucket, .. } => {
            let key = made_key.as_deref().or(observed.key.as_deref()).unwrap_or(desired.export.kms_key.get_ref());
            buckets.put_encryption(bucket, key).await?
        }
        Change::BlockPublicAccess { bucket } => buckets.block_public_access(bucket).await?,
        Change::PutBucketPolicy { bucket, .. } => {
            let policy = merged_policy(observed.bucket.as_ref().and_then(|b| b.policy.as_ref()), &desired.bucket_statements());
            buckets.put_bucket_policy(bucket, &policy).await?
        }
        Change::PutRetention { bucket, days, .. } => {
            let prefix = desired.export.prefix.as_ref().map(|p| p.get_ref().as_str());
            buckets.put_retention(bucket, prefix, i32::try_from(*days).unwrap_or(i32::MAX)).await?
        }
        Change::PutFolder { bucket, prefix } => buckets.put_folder(bucket, prefix).await?,
    }
    Ok(())
}

/// The bucket and key, where orgguard makes them (`[export.archive]`).
pub fn grants(plan: &Plan, p: &str) -> Vec<Grant> {
    let Some(export) = plan.export.as_ref().filter(|e| e.archive.is_some()) else { return Vec::new() };
    let bucket = export.bucket.get_ref();
    let alias = export.kms_key.get_ref().rsplit_once(":alias/").map_or("*".into(), |(_, alias)| alias.to_owned());
    vec![
        Grant::new("FindingsExportPolicies", Phase::Read, &["s3:GetBucketPublicAccessBlock", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration"], &[bucket]),
        Grant::new("FindingsArchiveBucket", Phase::Rollout, &["s3:CreateBucket", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration"], &[bucket]),
        Grant::new("FindingsArchivePrefixObject", Phase::Rollout, &["s3:PutObject"], &[format!("{bucket}/*")]),
        Grant::new("FindingsArchiveKey", Phase::Rollout, &["kms:CreateAlias", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], &[format!("arn:{p}:kms:*:*:key/*"), format!("arn:{p}:kms:*:*:alias/{alias}")]),
        // No resource type: the key does not exist yet.
        Grant::new("FindingsArchiveNewKey", Phase::Rollout, &["kms:CreateKey"], &["*"]),
    ]
}

/// The archive's drift fails the export's control: GuardDuty's findings land there.
const EXPORT: &str = "OG.Org.FindingsExport";

/// No control of its own: the export's.
pub fn checks(_: &Plan) -> Vec<super::Check> {
    Vec::new()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateKey { .. } => "create archive key",
            Self::PutKeyPolicy { .. } => "set archive key policy",
            Self::CreateBucket { .. } => "create archive bucket",
            Self::PutEncryption { .. } => "set archive bucket encryption",
            Self::BlockPublicAccess { .. } => "block archive bucket public access",
            Self::PutBucketPolicy { .. } => "set archive bucket policy",
            Self::PutRetention { .. } => "set archive retention",
            Self::PutFolder { .. } => "create archive prefix object",
        }
    }

    fn calls(&self) -> Calls {
        // A new key is CreateKey and CreateAlias; the retention rule is read, then put whole.
        let count = match self {
            Self::CreateKey { .. } | Self::PutRetention { .. } => 2,
            _ => 1,
        };
        Calls::here(Service::Direct, count)
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        let (expected, actual) = match self {
            Self::CreateKey { alias } => (format!("key {alias}"), "none".to_owned()),
            Self::PutKeyPolicy { key, why } => (format!("key {key} lets GuardDuty encrypt"), why.clone()),
            Self::CreateBucket { bucket } => (format!("bucket {bucket}"), "none".to_owned()),
            Self::PutEncryption { bucket, why } => (format!("bucket {bucket} encrypted with the plan's key"), why.clone()),
            Self::BlockPublicAccess { bucket } => (format!("bucket {bucket} blocks public access"), "not blocked".to_owned()),
            Self::PutBucketPolicy { bucket, why } => (format!("bucket {bucket}'s policy as planned"), why.clone()),
            Self::PutRetention { bucket, days, why } => (format!("bucket {bucket} keeps findings {days} days"), why.clone()),
            Self::PutFolder { bucket, prefix } => (format!("object {prefix}/ in {bucket}"), "none".to_owned()),
        };
        vec![Failure::new(EXPORT, expected, actual)]
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateKey { alias } => write!(f, "create the archive key {alias}"),
            Self::PutKeyPolicy { key, why } => write!(f, "set the policy of the archive key {key} ({why})"),
            Self::CreateBucket { bucket } => write!(f, "create the archive bucket {bucket}"),
            Self::PutEncryption { bucket, why } => write!(f, "encrypt {bucket} with the plan's key ({why})"),
            Self::BlockPublicAccess { bucket } => write!(f, "block public access to {bucket}"),
            Self::PutBucketPolicy { bucket, .. } => write!(f, "set the policy of {bucket} (TLS only, GuardDuty's statements)"),
            Self::PutRetention { bucket, days, why } => write!(f, "keep findings in {bucket} {days} days ({why})"),
            Self::PutFolder { bucket, prefix } => write!(f, "create the object {prefix}/ in {bucket}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orgguards_statements_are_put_by_sid_and_the_others_kept() {
        let ours = [json!({"Sid": "Orgguard", "Effect": "Allow", "Action": "kms:GenerateDataKey"})];
        let theirs = json!({"Sid": "Theirs", "Effect": "Allow", "Action": "kms:Decrypt"});
        let policy = json!({"Version": "2012-10-17", "Statement": [theirs.clone(), ours[0].clone()]});
        assert_eq!(merged(Some(&policy), &ours), None, "as planned: nothing to put");
        let changed = json!({"Version": "2012-10-17", "Statement": [theirs.clone(), {"Sid": "Orgguard", "Effect": "Deny", "Action": "kms:GenerateDataKey"}]});
        let put: Value = serde_json::from_str(&merged(Some(&changed), &ours).unwrap()).unwrap();
        assert_eq!(put["Statement"], json!([theirs, ours[0]]), "replaced in place, theirs kept");
        let fresh: Value = serde_json::from_str(&merged(None, &ours).unwrap()).unwrap();
        assert_eq!(fresh, json!({"Version": "2012-10-17", "Statement": [ours[0]]}));
    }
}
