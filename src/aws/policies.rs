//! The bucket and key policies a findings export needs, read in the accounts that own them
//! before GuardDuty is asked to publish there. Two reads a region, at most, in a run that
//! creates or moves a destination: no rate limiter of their own.

use serde_json::Value;

use super::{json_document, AwsError};

pub struct Policies {
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
}

impl Policies {
    pub(super) fn new(s3: aws_sdk_s3::Client, kms: aws_sdk_kms::Client) -> Self {
        Self { s3, kms }
    }

    /// The bucket's policy; None when it has none.
    pub async fn bucket_policy(&self, bucket: &str) -> Result<Option<Value>, AwsError> {
        match self.s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(output) => Ok(output.policy().and_then(json_document)),
            Err(error) => match AwsError::from_sdk("s3:GetBucketPolicy", error) {
                error if error.code == "NoSuchBucketPolicy" => Ok(None),
                error => Err(error),
            },
        }
    }

    /// The key's (default) policy.
    pub async fn key_policy(&self, key_arn: &str) -> Result<Option<Value>, AwsError> {
        let got = self.kms.get_key_policy().key_id(key_arn).policy_name("default").send().await;
        Ok(got.map_err(|e| AwsError::from_sdk("kms:GetKeyPolicy", e))?.policy().and_then(json_document))
    }
}
