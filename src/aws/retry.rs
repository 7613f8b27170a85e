//! Retry policy additions to the SDK's standard retries: HTTP 429 is throttling, and
//! throttling is retried for as long as a time budget allows, not a fixed number of attempts,
//! each throttled answer slowing the key that drew it.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_smithy_runtime::client::retries::classifiers::run_classifiers_on_ctx;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef, InterceptorContext};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::retry::{ErrorKind, RetryConfig};

use super::limits::Gate;

/// HTTP 429 is throttling whatever the error code: SNS answers `Throttled` (429), which the
/// SDK does not treat as retryable by default.
#[derive(Debug, Default)]
pub struct TooManyRequests;

impl ClassifyRetry for TooManyRequests {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response() {
            Some(response) if response.status().as_u16() == 429 => RetryAction::throttling_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "orgguard: HTTP 429 is throttling"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_before(RetryClassifierPriority::modeled_as_retryable_classifier())
    }
}

/// A retry partition of its own: the SDK's retry quota (a token bucket) for its clients, in
/// which a throttled retry costs nothing, since the budget and the backoff pace those; other
/// errors' retries draw on it as the SDK's standard retries do.
pub fn partition(name: String) -> RetryPartition {
    RetryPartition::custom(name).token_bucket(TokenBucket::builder().throttling_retry_cost(0).build()).build()
}

/// The run's throttling budget, for the error that outlasts it (set once, when AWS is reached).
static BUDGET: OnceLock<Duration> = OnceLock::new();

pub fn set_budget(budget: Duration) {
    let _ = BUDGET.set(budget);
}

/// What an error that is throttling says of the budget it outlasted.
pub fn budget_note(code: &str) -> Option<String> {
    let throttling = ["Throttling", "ThrottlingException", "Throttled", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "RequestThrottled"];
    let budget = BUDGET.get()?;
    throttling.contains(&code).then(|| format!("still throttled after the {} s retry budget (limits.throttle_budget_seconds)", budget.as_secs()))
}

/// When the call began: its first attempt.
#[derive(Clone, Copy, Debug)]
struct Began(Instant);

impl Storable for Began {
    type Storer = StoreReplace<Self>;
}

/// Throttling is retried while the call is younger than the budget: the attempts the SDK
/// counts stay under its maximum (so its exponential backoff stays at its cap, 20 s), and
/// the key's rate limiter gives up a slot for each throttled answer. Other errors keep the
/// SDK's fixed number of attempts.
#[derive(Debug)]
pub struct ThrottleBudget {
    budget: Duration,
    /// The client's rate-limit key, where it has one.
    gate: Option<Gate>,
}

impl ThrottleBudget {
    pub fn new(budget: Duration, gate: Option<Gate>) -> Self {
        Self { budget, gate }
    }
}

/// Pure: the attempts to report to the SDK's retry strategy after a throttled attempt, so
/// that it retries while the budget lasts (None: leave the count as it is).
fn attempts_to_report(attempts: u32, max_attempts: u32, elapsed: Duration, budget: Duration) -> Option<u32> {
    (elapsed < budget && max_attempts > 1 && attempts >= max_attempts - 1).then(|| max_attempts - 1)
}

impl Intercept for ThrottleBudget {
    fn name(&self) -> &'static str {
        "orgguard: throttling retried within a time budget"
    }

    fn read_before_execution(&self, _: &BeforeSerializationInterceptorContextRef<'_>, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Began(Instant::now()));
        Ok(())
    }

    fn read_after_attempt(&self, ctx: &FinalizerInterceptorContextRef<'_>, components: &RuntimeComponents, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        let action = run_classifiers_on_ctx(components.retry_classifiers(), ctx.inner());
        if !matches!(action, RetryAction::RetryIndicated(RetryReason::RetryableError { kind: ErrorKind::ThrottlingError, .. })) {
            return Ok(());
        }
        if let Some(gate) = &self.gate {
            gate.slow_down();
        }
        let elapsed = cfg.load::<Began>().map_or(Duration::ZERO, |b| b.0.elapsed());
        let max_attempts = cfg.load::<RetryConfig>().map_or(1, RetryConfig::max_attempts);
        let attempts = cfg.load::<RequestAttempts>().map_or(1, RequestAttempts::attempts);
        if let Some(report) = attempts_to_report(attempts, max_attempts, elapsed, self.budget) {
            cfg.interceptor_state().store_put(RequestAttempts::new(report));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retried_until_the_budget_not_the_attempts_run_out() {
        let budget = Duration::from_secs(300);
        assert_eq!(attempts_to_report(2, 8, Duration::from_secs(5), budget), None, "under the maximum: the SDK retries anyway");
        assert_eq!(attempts_to_report(7, 8, Duration::from_secs(5), budget), Some(7), "the last attempt is not the last");
        assert_eq!(attempts_to_report(30, 8, Duration::from_secs(299), budget), Some(7));
        assert_eq!(attempts_to_report(30, 8, Duration::from_secs(300), budget), None, "the budget is spent: the SDK stops");
        assert_eq!(attempts_to_report(1, 1, Duration::ZERO, budget), None, "max_attempts = 1 means no retry at all");
        assert!(budget_note("AccessDenied").is_none());
    }
}
