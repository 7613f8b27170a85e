//! The only module that speaks to AWS. One `SdkConfig` with one HTTP client builds every
//! client; the rest of orgguard sees typed results and [`AwsError`]s, never SDK types.

mod credentials;
mod events;
mod guardduty;
mod iam;
mod limits;
mod network;
mod organizations;
mod chatbot;
mod storage;
mod retry;
mod sns;

use std::sync::Arc;
use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region as SdkRegion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime::client::retries::RetryPartition;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use events::Events;
pub use guardduty::{Destination, Filter, GuardDuty, ListFile, MemberDetectors};
pub use iam::Iam;
pub use network::{Alarm, FlowLog, FlowLogSpec, Metric, MetricFilter, Network, FLOW_LOG_BATCH};
pub use organizations::OrgAccount;
pub use chatbot::{Chatbot, Configuration, ObservedConfiguration};
pub use storage::{ObservedBucket, Storage};
pub use sns::Sns;

use limits::{Gate, Gated, Limits};
pub use limits::{key as limit_key, Key, Service};
use retry::{ThrottleBudget, TooManyRequests};

use crate::model::{AccountId, Partition, Region};
use crate::model::Rates;

/// How to reach AWS: endpoint override (emulator, VPC endpoint) and the retry budget.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub endpoint_url: Option<String>,
    pub max_attempts: u32,
    /// How long a throttled call is retried for.
    pub throttle_budget: Duration,
    pub rates: Rates,
    /// A named profile of ~/.aws/config (else the SDK's default chain, AWS_PROFILE included).
    pub profile: Option<String>,
    /// Count the calls per rate-limit key (a dry run's forecast needs them).
    pub count_calls: bool,
}

/// Who runs orgguard: the management account's identity.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account: AccountId,
    pub partition: Partition,
}

/// The AWS error codes orgguard acts on outside this module; any other is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// `UnrecognizedClientException`: the account has not enabled the region (opt-in regions).
    RegionNotEnabled,
    /// GuardDuty's `BadRequestException` (among others, a feature the region does not offer).
    BadRequest,
    AccessDenied,
    /// Organizations is not in use: the caller is not the management account of one.
    OrganizationsNotInUse,
    Other,
}

/// An AWS call that failed, with the operation and AWS's error code.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
}

impl AwsError {
    /// What is wrong with the caller's own credentials, in words that say what to do, when
    /// this error (of the first call) is about them.
    pub fn credentials_problem(&self, profile: Option<&str>) -> Option<String> {
        let text = format!("{} {}", self.code, self.message);
        let which = profile.map_or_else(|| "the default credentials".to_owned(), |p| format!("profile {p}"));
        if text.contains("no credentials found in chain") {
            return Some(match profile {
                Some(p) => format!("profile {p} gives no credentials: it is not in ~/.aws/config or ~/.aws/credentials, or holds none (aws configure list-profiles)"),
                None => "no AWS credentials found: name a profile (--profile or AWS_PROFILE), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; \
                         orgguard runs as the organization's management account"
                    .to_owned(),
            });
        }
        if text.to_ascii_lowercase().contains("sso") && (text.contains("expired") || text.contains("token")) {
            return Some(format!("the SSO session of {which} has expired or was never started: run `aws sso login{}`", profile.map_or(String::new(), |p| format!(" --profile {p}"))));
        }
        match self.code.as_str() {
            "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => Some(format!("{which} have expired: renew them (a new session, or aws sso login)")),
            "InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" | "AccessDenied" | "AccessDeniedException" => {
                Some(format!("{which} were refused by AWS ({}): check that they are current and of the management account", self.code))
            }
            _ => None,
        }
    }

    /// A call into a region the account has not enabled (opt-in regions).
    pub fn is_region_not_enabled(&self) -> bool {
        self.kind() == Code::RegionNotEnabled
    }

    /// The code as orgguard acts on it: AWS's codes are compared as text here and nowhere else.
    pub fn kind(&self) -> Code {
        match self.code.as_str() {
            "UnrecognizedClientException" => Code::RegionNotEnabled,
            "BadRequestException" => Code::BadRequest,
            "AccessDenied" | "AccessDeniedException" => Code::AccessDenied,
            "AWSOrganizationsNotInUseException" => Code::OrganizationsNotInUse,
            _ => Code::Other,
        }
    }

    fn malformed(operation: &'static str, missing: &str) -> Self {
        Self { operation, code: "MalformedResponse".into(), message: format!("the response has no {missing}") }
    }

    fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let (code, message) = match &error {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let code = inner.code().unwrap_or("Unknown").to_owned();
                let mut message = inner.message().map_or_else(|| inner.to_string(), str::to_owned);
                if let Some(note) = retry::budget_note(&code) {
                    message = format!("{message} ({note})");
                }
                (code, message)
            }
            SdkError::TimeoutError(_) => ("Timeout".to_owned(), "the call timed out".to_owned()),
            SdkError::DispatchFailure(_) => ("DispatchFailure".to_owned(), error_chain(&error)),
            _ => ("ClientError".to_owned(), error_chain(&error)),
        };
        Self { operation, code, message }
    }
}

/// A JSON document as AWS returns it (policies, event patterns); None if it is not JSON.
fn json_document(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text).ok()
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The shared HTTP client, minus the check every new SDK client asks of it: the SDK's own
/// builds a whole TLS configuration (root certificates parsed) to validate and throws it
/// away, once per client, and orgguard makes clients per account, region and service.
/// Connections still come from the one connector the inner client caches.
#[derive(Debug)]
struct OneSetup(SharedHttpClient);

impl HttpClient for OneSetup {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The connection to AWS from the management account.
#[derive(Clone, Debug)]
pub struct Aws {
    base: SdkConfig,
    pub caller: Caller,
    limits: Arc<Limits>,
}

/// Where global services (Organizations, STS) are called when no region is configured.
const HOME_REGION: &str = "us-east-1";

impl Aws {
    pub async fn connect(options: &ConnectOptions) -> Result<Self, AwsError> {
        // One HTTP client, hence one connection pool, for every client built from this
        // config; left to itself the SDK would make one per client (per account, region and
        // service), each with its own connections and its own TLS setup.
        let http_client = OneSetup(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .build_https(),
        );
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client)
            .retry_config(RetryConfig::standard().with_max_attempts(options.max_attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        let mut base = loader.load().await;
        if base.region().is_none() {
            base = base.to_builder().region(SdkRegion::new(HOME_REGION)).build();
        }
        let caller = credentials::caller_identity(&base, options.throttle_budget).await?;
        retry::set_budget(options.throttle_budget);
        Ok(Self { base, caller, limits: Arc::new(Limits::new(&options.rates, options.count_calls, options.throttle_budget)) })
    }

    /// The region the SDK was configured with (AWS_REGION, the profile), when GuardDuty has it.
    pub fn home_region(&self) -> Option<Region> {
        self.base.region().and_then(|r| Region::parse(r.as_ref()).ok())
    }

    /// Lets the rate limiters forget the keys of accounts finished with.
    pub fn forget_idle_limits(&self) {
        self.limits.forget_idle();
    }

    /// Calls made so far per rate-limit key (counted only with `count_calls`).
    pub fn calls(&self) -> std::collections::HashMap<(Service, Key), u32> {
        self.limits.calls()
    }

    /// The management account's session: the caller's own credentials.
    pub fn management(&self) -> AccountSession {
        let retry_partition = retry::partition(format!("orgguard-{}", self.caller.account));
        AccountSession { account: self.caller.account, config: self.base.clone(), assumed: None, limits: self.limits.clone(), retry_partition }
    }

    /// A session in `account`: the caller's own credentials for the management account,
    /// otherwise `role` assumed (once, refreshed before it expires) and shared by all regions.
    pub fn session(&self, account: &AccountId, role: &str, external_id: Option<&str>) -> AccountSession {
        if *account == self.caller.account {
            return self.management();
        }
        let role_arn = format!("arn:{}:iam::{}:role/{}", self.caller.partition.name(), account, role);
        let provider =
            credentials::AssumedRole::new(&self.base, role_arn, external_id.map(str::to_owned), self.limits.clone());
        let config = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider.clone()))
            .identity_cache(IdentityCache::no_cache())
            .build();
        let retry_partition = retry::partition(format!("orgguard-{account}"));
        AccountSession { account: *account, config, assumed: Some(provider), limits: self.limits.clone(), retry_partition }
    }
}

/// A service client from a config, with orgguard's retry partition, classifier and
/// throttling budget.
macro_rules! client {
    ($sdk:ident, $config:expr, $partition:expr, $budget:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .retry_partition($partition)
                .retry_classifier($crate::aws::retry::TooManyRequests)
                .interceptor($budget)
                .build(),
        )
    };
}
pub(crate) use client;

/// Credentials in one account, and clients built from them per region.
#[derive(Clone, Debug)]
pub struct AccountSession {
    pub account: AccountId,
    config: SdkConfig,
    assumed: Option<credentials::AssumedRole>,
    limits: Arc<Limits>,
    /// The SDK shares one retry quota per partition; the default partition is per service and
    /// region, so one throttled account would slow every other. Each account has its own.
    retry_partition: RetryPartition,
}

impl AccountSession {
    /// Assume the role now, so that a denied role is reported once for the account.
    pub async fn ready(&self) -> Result<(), AwsError> {
        match &self.assumed {
            Some(provider) => provider.credentials().await.map(drop),
            None => Ok(()),
        }
    }

    fn regional(&self, region: &Region) -> SdkConfig {
        self.config.to_builder().region(SdkRegion::new(region.as_str().to_owned())).build()
    }

    fn retry_partition(&self) -> RetryPartition {
        self.retry_partition.clone()
    }

    fn gate(&self, service: Service, region: Option<&Region>) -> Gate {
        Gate::new(self.limits.clone(), service, &self.account, region)
    }

    /// The throttling budget of a client, slowing its rate-limit key if it has one.
    fn budget(&self, gate: Option<&Gate>) -> ThrottleBudget {
        ThrottleBudget::new(self.limits.throttle_budget, gate.cloned())
    }

    pub fn guardduty(&self, region: &Region) -> GuardDuty {
        let gate = self.gate(Service::GuardDuty, Some(region));
        let client = client!(aws_sdk_guardduty, &self.regional(region), self.retry_partition(), self.budget(Some(&gate)));
        GuardDuty::new(Gated::new(client, gate))
    }

    pub fn sns(&self, region: &Region) -> Sns {
        let gate = self.gate(Service::Sns, Some(region));
        let client = client!(aws_sdk_sns, &self.regional(region), self.retry_partition(), self.budget(Some(&gate)));
        Sns::new(Gated::new(client, gate))
    }

    pub fn events(&self, region: &Region) -> Events {
        let gate = self.gate(Service::Events, Some(region));
        let client = client!(aws_sdk_eventbridge, &self.regional(region), self.retry_partition(), self.budget(Some(&gate)));
        Events::new(Gated::new(client, gate))
    }

    /// EC2 flow logs, CloudWatch Logs and CloudWatch alarms: the exfiltration alarm.
    pub fn network(&self, region: &Region) -> Network {
        let config = self.regional(region);
        let [ec2, logs, cloudwatch] = [Service::Ec2, Service::Logs, Service::CloudWatch].map(|s| self.gate(s, Some(region)));
        Network::new(
            Gated::new(client!(aws_sdk_ec2, &config, self.retry_partition(), self.budget(Some(&ec2))), ec2),
            Gated::new(client!(aws_sdk_cloudwatchlogs, &config, self.retry_partition(), self.budget(Some(&logs))), logs),
            Gated::new(client!(aws_sdk_cloudwatch, &config, self.retry_partition(), self.budget(Some(&cloudwatch))), cloudwatch),
        )
    }

    /// S3 and KMS in the region of the findings bucket and its key: the archive, and its policies.
    pub fn storage(&self, region: &Region) -> Storage {
        let config = self.regional(region);
        // An endpoint of our own (the emulator) has no bucket subdomains.
        let path_style = config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(path_style).retry_partition(self.retry_partition());
        // Checksums where S3 requires them (encryption, lifecycle) only: the empty `prefix/`
        // object needs none, and some S3-compatible endpoints refuse the chunked upload that
        // carries one.
        let s3 = s3.request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired);
        let s3 = s3.retry_classifier(TooManyRequests).interceptor(self.budget(None)).build();
        Storage::new(aws_sdk_s3::Client::from_conf(s3), client!(aws_sdk_kms, &config, self.retry_partition(), self.budget(None)))
    }

    /// AWS Chatbot, whose configurations are global, through one of the regions that serve
    /// its API.
    pub fn chatbot(&self) -> Chatbot {
        let config = self.config.to_builder().region(SdkRegion::new("us-east-2")).build();
        Chatbot::new(client!(aws_sdk_chatbot, &config, self.retry_partition(), self.budget(None)))
    }

    /// IAM is global: one client per account, in the home region.
    pub fn iam(&self) -> Iam {
        let gate = self.gate(Service::Iam, None);
        Iam::new(Gated::new(client!(aws_sdk_iam, &self.config, self.retry_partition(), self.budget(Some(&gate))), gate))
    }
}
