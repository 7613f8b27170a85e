//! The findings archive: the S3 bucket and the KMS key a findings export writes with, read
//! (their policies, before GuardDuty is asked to publish there) and, with `[export.archive]`,
//! made. A few calls a run, in one account each: no rate limiter of their own. Operations are
//! named by their IAM actions where S3's differ (HeadBucket is s3:ListBucket), as a denial
//! names them.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use serde_json::Value;

use super::{json_document, AwsError};
use crate::model::Region;

/// The id of the lifecycle rule orgguard keeps on the bucket; other rules are left as they are.
pub const RETENTION_RULE: &str = "orgguard-findings-retention";

pub struct Storage {
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
}

/// A bucket as the archive needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedBucket {
    /// The KMS key of the bucket's default encryption, when it is SSE-KMS.
    pub encryption_key: Option<String>,
    /// All four public access settings on.
    pub public_access_blocked: bool,
    pub policy: Option<Value>,
    /// The expiration of orgguard's lifecycle rule, when the bucket has it enabled.
    pub retention_days: Option<i32>,
    /// The `prefix/` object GuardDuty wants before it publishes under a prefix.
    pub folder: bool,
}

/// One of S3's "there is none" answers: `Ok(None)`.
fn none_if<T>(result: Result<T, AwsError>, codes: &[&str]) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if codes.contains(&error.code.as_str()) => Ok(None),
        Err(error) => Err(error),
    }
}

impl Storage {
    pub(super) fn new(s3: aws_sdk_s3::Client, kms: aws_sdk_kms::Client) -> Self {
        Self { s3, kms }
    }

    /// The bucket's policy; None when it has none.
    pub async fn bucket_policy(&self, bucket: &str) -> Result<Option<Value>, AwsError> {
        let got = self.s3.get_bucket_policy().bucket(bucket).send().await.map_err(|e| AwsError::from_sdk("s3:GetBucketPolicy", e));
        Ok(none_if(got, &["NoSuchBucketPolicy"])?.and_then(|o| o.policy().and_then(json_document)))
    }

    /// The key's (default) policy.
    pub async fn key_policy(&self, key_arn: &str) -> Result<Option<Value>, AwsError> {
        let got = self.kms.get_key_policy().key_id(key_arn).policy_name("default").send().await;
        Ok(got.map_err(|e| AwsError::from_sdk("kms:GetKeyPolicy", e))?.policy().and_then(json_document))
    }

    /// The ARN of the key a key ARN or an alias ARN names; None when there is none.
    pub async fn find_key(&self, key: &str) -> Result<Option<String>, AwsError> {
        let got = self.kms.describe_key().key_id(key).send().await.map_err(|e| AwsError::from_sdk("kms:DescribeKey", e));
        Ok(none_if(got, &["NotFoundException"])?.and_then(|o| o.key_metadata().and_then(|m| m.arn()).map(str::to_owned)))
    }

    /// A symmetric key with the policy, and its alias (`alias/name`); the key's ARN.
    pub async fn create_key(&self, alias: &str, policy: &str) -> Result<String, AwsError> {
        let description = "orgguard: the GuardDuty findings archive's key";
        let made = self.kms.create_key().description(description).policy(policy).send().await;
        let made = made.map_err(|e| AwsError::from_sdk("kms:CreateKey", e))?;
        let key = made.key_metadata().ok_or_else(|| AwsError::malformed("kms:CreateKey", "KeyMetadata"))?;
        let arn = key.arn().ok_or_else(|| AwsError::malformed("kms:CreateKey", "Arn"))?.to_owned();
        let aliased = self.kms.create_alias().alias_name(alias).target_key_id(key.key_id()).send().await;
        if let Err(error) = aliased {
            // Without its alias the next run would not find it, and make another: this one goes.
            let scheduled = self.kms.schedule_key_deletion().key_id(&arn).pending_window_in_days(7).send().await;
            if let Err(scheduled) = scheduled.map_err(|e| AwsError::from_sdk("kms:ScheduleKeyDeletion", e)) {
                tracing::warn!("the key {arn}, made without its alias, is left: {scheduled}");
            }
            return Err(AwsError::from_sdk("kms:CreateAlias", error));
        }
        Ok(arn)
    }

    pub async fn put_key_policy(&self, key_arn: &str, policy: &str) -> Result<(), AwsError> {
        let put = self.kms.put_key_policy().key_id(key_arn).policy_name("default").policy(policy).send().await;
        put.map(drop).map_err(|e| AwsError::from_sdk("kms:PutKeyPolicy", e))
    }

    /// The bucket as the archive needs it; None when there is no such bucket.
    /// The objects GuardDuty writes, which the retention rule expires: under `prefix/AWSLogs/`,
    /// so that the `prefix/` object GuardDuty checks for stays.
    pub fn findings_prefix(prefix: Option<&str>) -> String {
        prefix.map_or("AWSLogs/".into(), |p| format!("{p}/AWSLogs/"))
    }

    pub async fn bucket(&self, bucket: &str, prefix: Option<&str>) -> Result<Option<ObservedBucket>, AwsError> {
        let head = self.s3.head_bucket().bucket(bucket).send().await.map_err(|e| AwsError::from_sdk("s3:ListBucket", e));
        if none_if(head, &["NotFound", "NoSuchBucket"])?.is_none() {
            return Ok(None);
        }
        let encryption = self.s3.get_bucket_encryption().bucket(bucket).send().await;
        let encryption = none_if(encryption.map_err(|e| AwsError::from_sdk("s3:GetEncryptionConfiguration", e)), &["ServerSideEncryptionConfigurationNotFoundError"])?;
        let encryption_key = encryption.and_then(|e| {
            let rule = e.server_side_encryption_configuration()?.rules().first()?.apply_server_side_encryption_by_default()?.clone();
            (rule.sse_algorithm() == &ServerSideEncryption::AwsKms).then(|| rule.kms_master_key_id().map(str::to_owned)).flatten()
        });
        let blocked = self.s3.get_public_access_block().bucket(bucket).send().await;
        let blocked = none_if(blocked.map_err(|e| AwsError::from_sdk("s3:GetBucketPublicAccessBlock", e)), &["NoSuchPublicAccessBlockConfiguration"])?;
        let public_access_blocked = blocked.and_then(|b| b.public_access_block_configuration().cloned()).is_some_and(|c| {
            [c.block_public_acls(), c.ignore_public_acls(), c.block_public_policy(), c.restrict_public_buckets()].iter().all(|v| *v == Some(true))
        });
        let findings = Self::findings_prefix(prefix);
        let ours = |r: &&LifecycleRule| {
            r.id() == Some(RETENTION_RULE) && r.status() == &ExpirationStatus::Enabled && r.filter().and_then(|f| f.prefix()) == Some(findings.as_str())
        };
        let retention_days = self.lifecycle(bucket).await?.iter().find(ours).and_then(|r| r.expiration()?.days());
        let folder = match prefix {
            None => true,
            Some(prefix) => {
                let head = self.s3.head_object().bucket(bucket).key(format!("{prefix}/")).send().await;
                none_if(head.map_err(|e| AwsError::from_sdk("s3:GetObject", e)), &["NotFound", "NoSuchKey"])?.is_some()
            }
        };
        Ok(Some(ObservedBucket { encryption_key, public_access_blocked, policy: self.bucket_policy(bucket).await?, retention_days, folder }))
    }

    async fn lifecycle(&self, bucket: &str) -> Result<Vec<LifecycleRule>, AwsError> {
        let got = self.s3.get_bucket_lifecycle_configuration().bucket(bucket).send().await;
        let got = none_if(got.map_err(|e| AwsError::from_sdk("s3:GetLifecycleConfiguration", e)), &["NoSuchLifecycleConfiguration"])?;
        Ok(got.map(|o| o.rules().to_vec()).unwrap_or_default())
    }

    pub async fn create_bucket(&self, bucket: &str, region: &Region) -> Result<(), AwsError> {
        let mut create = self.s3.create_bucket().bucket(bucket);
        // us-east-1 is S3's default and takes no location constraint.
        if region.as_str() != "us-east-1" {
            let constraint = CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(region.as_str())).build();
            create = create.create_bucket_configuration(constraint);
        }
        create.send().await.map(drop).map_err(|e| AwsError::from_sdk("s3:CreateBucket", e))
    }

    /// Default encryption with the key (SSE-KMS, S3 Bucket Keys on).
    pub async fn put_encryption(&self, bucket: &str, key_arn: &str) -> Result<(), AwsError> {
        let malformed = |_| AwsError::malformed("s3:PutEncryptionConfiguration", "a valid configuration");
        let default = ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::AwsKms).kms_master_key_id(key_arn).build().map_err(malformed)?;
        let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).bucket_key_enabled(true).build();
        let configuration = ServerSideEncryptionConfiguration::builder().rules(rule).build().map_err(malformed)?;
        let put = self.s3.put_bucket_encryption().bucket(bucket).server_side_encryption_configuration(configuration).send().await;
        put.map(drop).map_err(|e| AwsError::from_sdk("s3:PutEncryptionConfiguration", e))
    }

    pub async fn block_public_access(&self, bucket: &str) -> Result<(), AwsError> {
        let all = PublicAccessBlockConfiguration::builder().block_public_acls(true).ignore_public_acls(true).block_public_policy(true).restrict_public_buckets(true).build();
        let put = self.s3.put_public_access_block().bucket(bucket).public_access_block_configuration(all).send().await;
        put.map(drop).map_err(|e| AwsError::from_sdk("s3:PutBucketPublicAccessBlock", e))
    }

    pub async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> Result<(), AwsError> {
        let put = self.s3.put_bucket_policy().bucket(bucket).policy(policy).send().await;
        put.map(drop).map_err(|e| AwsError::from_sdk("s3:PutBucketPolicy", e))
    }

    /// orgguard's lifecycle rule (objects under the prefix expire after `days`), the bucket's
    /// other rules kept: S3 replaces the whole configuration.
    pub async fn put_retention(&self, bucket: &str, prefix: Option<&str>, days: i32) -> Result<(), AwsError> {
        let malformed = |_| AwsError::malformed("s3:PutLifecycleConfiguration", "a valid configuration");
        let mut rules: Vec<LifecycleRule> = self.lifecycle(bucket).await?.into_iter().filter(|r| r.id() != Some(RETENTION_RULE)).collect();
        let filter = LifecycleRuleFilter::builder().prefix(Self::findings_prefix(prefix)).build();
        let expiration = LifecycleExpiration::builder().days(days).build();
        rules.push(LifecycleRule::builder().id(RETENTION_RULE).status(ExpirationStatus::Enabled).filter(filter).expiration(expiration).build().map_err(malformed)?);
        let configuration = BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build().map_err(malformed)?;
        let put = self.s3.put_bucket_lifecycle_configuration().bucket(bucket).lifecycle_configuration(configuration).send().await;
        put.map(drop).map_err(|e| AwsError::from_sdk("s3:PutLifecycleConfiguration", e))
    }

    /// The empty `prefix/` object.
    pub async fn put_folder(&self, bucket: &str, prefix: &str) -> Result<(), AwsError> {
        let put = self.s3.put_object().bucket(bucket).key(format!("{prefix}/")).body(ByteStream::from_static(b"")).send().await;
        put.map(drop).map_err(|e| AwsError::from_sdk("s3:PutObject", e))
    }
}
