//! Client-side rate limits, keyed the way AWS meters them: per account, region and service
//! for the member-side APIs, and one budget each for the management account's STS and
//! Organizations calls (Organizations' quota is shared by every tool in the organization).

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::model::{known_regions, AccountId, Region};
use crate::plan::Rates;

#[derive(Clone, Copy, Debug)]
pub enum Service {
    GuardDuty,
    Sns,
    Events,
    Iam,
}

/// Compact keys: at 5000 accounts x 34 regions x 4 services the limiter holds 680,000.
type Key = (u64, u16);

#[derive(Debug)]
pub struct Limits {
    per_key: [DefaultKeyedRateLimiter<Key>; 4],
    sts: DefaultDirectRateLimiter,
    organizations: DefaultDirectRateLimiter,
}

fn quota(per_second: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub fn new(rates: &Rates) -> Self {
        Self {
            per_key: [rates.guardduty, rates.sns, rates.events, rates.iam].map(|r| RateLimiter::keyed(quota(r))),
            sts: RateLimiter::direct(quota(rates.sts)),
            organizations: RateLimiter::direct(quota(rates.organizations)),
        }
    }

    pub async fn sts(&self) {
        self.sts.until_ready().await;
    }

    pub async fn organizations(&self) {
        self.organizations.until_ready().await;
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
        let account = account.as_str().parse().expect("account ids are 12 digits");
        let region = region.and_then(|r| known_regions().position(|k| k == r.as_str())).map_or(u16::MAX, |i| i as u16);
        Self { limits, service, key: (account, region) }
    }

    pub async fn wait(&self) {
        self.limits.per_key[self.service as usize].until_key_ready(&self.key).await;
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
}
