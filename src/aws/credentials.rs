//! Who we are (GetCallerIdentity) and the member-account sessions (AssumeRole), each
//! assumed once and refreshed a while before it expires.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;
use tokio::sync::Mutex;

use super::limits::Limits;
use super::{AwsError, Caller};
use crate::model::{AccountId, Partition};

/// Sessions are renewed this long before they expire, so no call carries a dying token.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
const SESSION_NAME: &str = "orgguard";

pub async fn caller_identity(config: &SdkConfig) -> Result<Caller, AwsError> {
    const OPERATION: &str = "sts:GetCallerIdentity";
    let output = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
    let malformed = |what: &str| AwsError::malformed(OPERATION, what);
    let arn = output.arn().ok_or_else(|| malformed("Arn"))?.to_owned();
    let account = output
        .account()
        .and_then(|a| AccountId::parse(a).ok())
        .ok_or_else(|| malformed("Account"))?;
    let partition = Partition::from_arn(&arn).ok_or_else(|| malformed("partition in Arn"))?;
    Ok(Caller { account, arn, partition })
}

/// A member account's role, assumed from the management account's credentials.
#[derive(Clone, Debug)]
pub struct AssumedRole {
    sts: aws_sdk_sts::Client,
    limits: Arc<Limits>,
    role_arn: String,
    external_id: Option<String>,
    /// One assumption at a time per account; every region waits for the same one.
    current: Arc<Mutex<Option<Result<Credentials, AwsError>>>>,
}

impl AssumedRole {
    pub fn new(base: &SdkConfig, role_arn: String, external_id: Option<String>, limits: Arc<Limits>) -> Self {
        Self { sts: aws_sdk_sts::Client::new(base), limits, role_arn, external_id, current: Arc::default() }
    }

    /// Cached credentials, or a fresh AssumeRole when there are none or they near expiry.
    /// A denied role stays denied for the run: it is not asked again for every region.
    pub async fn credentials(&self) -> Result<Credentials, AwsError> {
        let mut current = self.current.lock().await;
        let fresh = match &*current {
            Some(Ok(credentials)) => credentials
                .expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_MARGIN),
            Some(Err(_)) => true,
            None => false,
        };
        if !fresh {
            *current = Some(self.assume().await);
        }
        current.clone().expect("set above")
    }

    async fn assume(&self) -> Result<Credentials, AwsError> {
        const OPERATION: &str = "sts:AssumeRole";
        self.limits.sts().await;
        let output = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .set_external_id(self.external_id.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        let credentials = output.credentials().ok_or_else(|| AwsError::malformed(OPERATION, "Credentials"))?;
        Ok(Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            SystemTime::try_from(*credentials.expiration()).ok(),
            "orgguard-assume-role",
        ))
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.credentials().await.map_err(CredentialsError::provider_error)
        })
    }
}
