//! Client-side rate limits, keyed the way AWS meters them: per account, region and service
//! for the member-side APIs, and one budget each for the management account's STS and
//! Organizations calls (Organizations' quota is shared by every tool in the organization).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use aws_smithy_async::future::pagination_stream::PaginationStream;
use futures::{Stream, TryStreamExt};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::model::{known_regions, AccountId, Region};
use crate::model::Rates;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    GuardDuty,
    Sns,
    Events,
    Iam,
    /// Per account and region: the exfiltration alarm's flow logs, log group and metric
    /// filter, and alarm.
    Ec2,
    Logs,
    CloudWatch,
    /// The run's own budgets (management account): no per-key limiter.
    Sts,
    Organizations,
    /// S3 and KMS for the findings archive, Chatbot: a few calls a run, no limiter of their own.
    Direct,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Self::GuardDuty => "guardduty",
            Self::Sns => "sns",
            Self::Events => "events",
            Self::Iam => "iam",
            Self::Ec2 => "ec2",
            Self::Logs => "logs",
            Self::CloudWatch => "cloudwatch",
            Self::Sts => "sts",
            Self::Organizations => "organizations",
            Self::Direct => "s3/kms/chatbot",
        }
    }

    /// Calls per second this service's key is allowed.
    pub fn rate(self, rates: &Rates) -> u32 {
        match self {
            Self::GuardDuty => rates.guardduty,
            Self::Sns => rates.sns,
            Self::Events => rates.events,
            Self::Iam => rates.iam,
            Self::Ec2 => rates.ec2,
            Self::Logs => rates.logs,
            Self::CloudWatch => rates.cloudwatch,
            Self::Sts => rates.sts,
            Self::Organizations => rates.organizations,
            // A few calls a run, against quotas of many a second: never the bound here.
            Self::Direct => 1000,
        }
    }
}

/// Compact keys: at 5000 accounts x 34 regions x 4 services the limiter holds 680,000.
pub type Key = (u64, u16);

/// The key of an account (and region) as the limiter holds it.
pub fn key(account: &AccountId, region: Option<&Region>) -> Key {
    let account = account.as_str().parse().expect("account ids are 12 digits");
    let region = region.and_then(|r| known_regions().position(|k| k == r.as_str())).map_or(u16::MAX, |i| i as u16);
    (account, region)
}

/// The run's own budgets have one key.
const RUN: Key = (0, u16::MAX);

#[derive(Debug)]
pub struct Limits {
    per_key: [DefaultKeyedRateLimiter<Key>; 7],
    sts: DefaultDirectRateLimiter,
    organizations: DefaultDirectRateLimiter,
    /// Calls that passed each (service, key): what a dry run forecasts the rollout from
    /// (None when not counted: at 5000 accounts x 17 regions that is 300,000 keys).
    calls: Option<Mutex<HashMap<(Service, Key), u32>>>,
    /// How long a throttled call is retried for.
    pub throttle_budget: std::time::Duration,
}

fn quota(per_second: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub fn new(rates: &Rates, count_calls: bool, throttle_budget: std::time::Duration) -> Self {
        Self {
            per_key: [rates.guardduty, rates.sns, rates.events, rates.iam, rates.ec2, rates.logs, rates.cloudwatch].map(|r| RateLimiter::keyed(quota(r))),
            sts: RateLimiter::direct(quota(rates.sts)),
            organizations: RateLimiter::direct(quota(rates.organizations)),
            calls: count_calls.then(Mutex::default),
            throttle_budget,
        }
    }

    /// Forgets the keys whose budget is full again (accounts finished with): the limiters'
    /// memory follows the accounts in flight, not every account-region of the run.
    pub fn forget_idle(&self) {
        for limiter in &self.per_key {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    pub async fn sts(&self) {
        self.sts.until_ready().await;
        self.count(Service::Sts, RUN);
    }

    pub async fn organizations(&self) {
        self.organizations.until_ready().await;
        self.count(Service::Organizations, RUN);
    }

    fn count(&self, service: Service, key: Key) {
        if let Some(calls) = &self.calls {
            *calls.lock().expect("no panic while counting").entry((service, key)).or_default() += 1;
        }
    }

    /// Calls so far per (service, key).
    pub fn calls(&self) -> HashMap<(Service, Key), u32> {
        self.calls.as_ref().map(|calls| calls.lock().expect("no panic while counting").clone()).unwrap_or_default()
    }
}

/// One client's place in the limits: waits for its key's next slot before each call.
#[derive(Clone, Debug)]
pub struct Gate {
    limits: Arc<Limits>,
    service: Service,
    key: Key,
}

impl Gate {
    pub fn new(limits: Arc<Limits>, service: Service, account: &AccountId, region: Option<&Region>) -> Self {
        Self { limits, service, key: key(account, region) }
    }

    pub async fn wait(&self) {
        self.limits.per_key[self.service as usize].until_key_ready(&self.key).await;
        self.limits.count(self.service, self.key);
    }

    /// AWS throttled a call of this key: the key gives up its next slot.
    pub fn slow_down(&self) {
        let _ = self.limits.per_key[self.service as usize].check_key(&self.key);
    }
}

/// A service client behind its gate: `get` waits for the next slot, so no call skips it.
#[derive(Debug)]
pub struct Gated<C> {
    inner: C,
    gate: Gate,
}

impl<C> Gated<C> {
    pub fn new(inner: C, gate: Gate) -> Self {
        Self { inner, gate }
    }

    pub async fn get(&self) -> &C {
        self.gate.wait().await;
        &self.inner
    }

    /// Every page of a paginated call (`call` builds the SDK's page stream), each page
    /// after its own slot.
    pub async fn pages<P, E>(
        &self,
        call: impl FnOnce(&C) -> PaginationStream<Result<P, E>>,
        has_more: impl Fn(&P) -> bool,
    ) -> Result<Vec<P>, E> {
        paged(call(&self.inner), has_more, || self.gate.wait()).try_collect().await
    }
}

/// The pages of an SDK page stream, `wait` before each. The stream requests a page only
/// when asked for the next one, so waiting before asking gates that page's call; after a
/// page that says it is the last, or an error, nothing is asked.
pub fn paged<P, E, W: std::future::Future<Output = ()>>(
    stream: PaginationStream<Result<P, E>>,
    has_more: impl Fn(&P) -> bool,
    wait: impl Fn() -> W,
) -> impl Stream<Item = Result<P, E>> {
    futures::stream::unfold(Some((stream, has_more, wait)), |state| async move {
        let (mut stream, has_more, wait) = state?;
        wait().await;
        let page = stream.next().await?;
        let more = page.as_ref().is_ok_and(&has_more);
        Some((page, more.then_some((stream, has_more, wait))))
    })
}
