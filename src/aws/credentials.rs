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

/// Sessions are renewed this long before they expire (or, for short sessions, after three
/// quarters of their life), so no call carries a dying token.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
const SESSION_NAME: &str = "orgguard";

pub async fn caller_identity(config: &SdkConfig, throttle_budget: Duration) -> Result<Caller, AwsError> {
    const OPERATION: &str = "sts:GetCallerIdentity";
    let partition = super::retry::partition("orgguard-sts".into());
    let output = super::client!(aws_sdk_sts, config, partition, super::retry::ThrottleBudget::new(throttle_budget, None))
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
    let malformed = |what: &str| AwsError::malformed(OPERATION, what);
    let arn = output.arn().ok_or_else(|| malformed("Arn"))?;
    let account = output
        .account()
        .and_then(|a| AccountId::parse(a).ok())
        .ok_or_else(|| malformed("Account"))?;
    let partition = Partition::from_arn(arn).ok_or_else(|| malformed("partition in Arn"))?;
    Ok(Caller { account, partition })
}

/// A member account's role, assumed from the management account's credentials.
#[derive(Clone, Debug)]
pub struct AssumedRole {
    sts: aws_sdk_sts::Client,
    limits: Arc<Limits>,
    role_arn: String,
    external_id: Option<String>,
    /// One assumption at a time per account; every region waits for the same one.
    current: Arc<Mutex<Option<Session>>>,
}

#[derive(Clone, Debug)]
struct Session {
    credentials: Result<Credentials, AwsError>,
    /// When to assume again; None: never (no expiry, or a denial, which stays for the run).
    renew_at: Option<SystemTime>,
}

/// AssumeRole answers that will not change within a run; anything else (throttling past
/// the retry budget, a timeout) is tried again at the next call.
const FINAL_DENIALS: &[&str] = &["AccessDenied", "AccessDeniedException", "RegionDisabledException"];

impl Session {
    fn new(credentials: Result<Credentials, AwsError>, now: SystemTime) -> Self {
        let renew_at = match &credentials {
            Ok(credentials) => credentials.expiry().map(|expiry| {
                let life = expiry.duration_since(now).unwrap_or_default();
                expiry - REFRESH_MARGIN.min(life / 4)
            }),
            Err(error) if FINAL_DENIALS.contains(&error.code.as_str()) => None,
            Err(_) => Some(now),
        };
        Self { credentials, renew_at }
    }
}

impl AssumedRole {
    pub fn new(base: &SdkConfig, role_arn: String, external_id: Option<String>, limits: Arc<Limits>) -> Self {
        let partition = super::retry::partition("orgguard-sts".into());
        let sts = super::client!(aws_sdk_sts, base, partition, super::retry::ThrottleBudget::new(limits.throttle_budget, None));
        Self { sts, limits, role_arn, external_id, current: Arc::default() }
    }

    /// Cached credentials, or a fresh AssumeRole when there are none or they near expiry.
    /// A denied role stays denied for the run: it is not asked again for every region.
    pub async fn credentials(&self) -> Result<Credentials, AwsError> {
        let mut current = self.current.lock().await;
        let now = SystemTime::now();
        let fresh = current.as_ref().is_some_and(|s| s.renew_at.is_none_or(|at| now < at));
        if !fresh {
            *current = Some(Session::new(self.assume().await, now));
        }
        current.as_ref().expect("set above").credentials.clone()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session(life: Duration, now: SystemTime) -> Session {
        let credentials = Credentials::new("a", "s", None, Some(now + life), "test");
        Session::new(Ok(credentials), now)
    }

    #[test]
    fn an_hour_long_session_is_renewed_five_minutes_before_it_ends() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(session(Duration::from_secs(3600), now).renew_at, Some(now + Duration::from_secs(3300)));
    }

    #[test]
    fn a_short_session_is_renewed_after_three_quarters_of_its_life_not_at_every_call() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(session(Duration::from_secs(60), now).renew_at, Some(now + Duration::from_secs(45)));
    }

    #[test]
    fn a_denied_role_is_not_asked_again_but_a_throttled_one_is() {
        let error = |code: &str| AwsError { operation: "sts:AssumeRole", code: code.into(), message: String::new() };
        let now = SystemTime::now();
        assert_eq!(Session::new(Err(error("AccessDenied")), now).renew_at, None);
        assert_eq!(Session::new(Err(error("Throttling")), now).renew_at, Some(now));
    }
}
