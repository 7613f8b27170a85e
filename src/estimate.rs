//! A dry run's forecast of the rollout it stands for: the calls (the reads this dry run
//! made, which the rollout makes again, plus the writes of every planned change) and the
//! time they need. The model: the largest of the busiest rate-limit key's calls at its rate
//! (the plan's rates sit under AWS's default quotas; STS and Organizations are keys of the
//! run), every call at a stated latency with the run's concurrency in flight, and orgguard's
//! own CPU for every call shared among its threads (one core each).

use std::collections::HashMap;

use serde::Serialize;

use crate::aws::{limit_key, Key, Service};
use crate::model::AccountId;
use crate::results::TargetResult;
use crate::model::Rates;
use crate::resources::{At, Calls};

/// What one AWS call costs in the forecast when the limits do not bind: a typical latency.
pub const LATENCY_MS: u64 = 50;

/// orgguard's own CPU per call (its thread, the AWS SDK's share included), as `scripts/bench`
/// measures it on this project's machine: 270 to 360 us.
const CPU_PER_CALL_S: f64 = 0.0003;

#[derive(Clone, Debug, Serialize)]
pub struct Estimate {
    pub reads: u64,
    pub writes: u64,
    /// The larger of the busiest key's calls at its rate, and all calls at LATENCY_S with
    /// `concurrency` in flight.
    pub seconds: f64,
    /// The busiest rate-limit key: service, account (none for the run's STS and
    /// Organizations budgets), region, calls, and seconds at its rate.
    pub busiest: (String, Option<String>, Option<String>, u32, f64),
    /// The latency each call is assumed to take.
    pub latency_ms: u64,
    pub latency_seconds: f64,
    /// The runtime's threads, each taken as a core of its own.
    pub threads: usize,
    /// orgguard's own CPU for every call, over its threads.
    pub cpu_seconds: f64,
}

pub fn rollout(
    reads: HashMap<(Service, Key), u32>,
    results: &[TargetResult],
    management: &AccountId,
    rates: &Rates,
    concurrency: usize,
    latency_ms: u64,
    threads: usize,
) -> Estimate {
    let mut calls = reads;
    let read_total: u64 = calls.values().map(|&n| u64::from(n)).sum();
    let mut write_total = 0u64;
    for result in results {
        let target = &result.target;
        for change in &result.changes {
            // Organization-layer results name the admin, whose key their writes use.
            let Calls { service, at, count } = change.calls();
            let account = match at {
                At::Target => &target.account,
                At::Management => management,
            };
            *calls.entry((service, limit_key(account, target.region.as_ref()))).or_default() += count;
            write_total += u64::from(count);
        }
    }
    let ((service, (account, region)), busiest_calls) =
        calls.iter().max_by(|a, b| at_rate(a, rates).total_cmp(&at_rate(b, rates))).map_or(((Service::Sts, (0, u16::MAX)), 0), |(k, n)| (*k, *n));
    let busiest_seconds = f64::from(busiest_calls) / f64::from(service.rate(rates).max(1));
    let all = (read_total + write_total) as f64;
    let latency_seconds = all * latency_ms as f64 / 1000.0 / concurrency.max(1) as f64;
    let cpu_seconds = all * CPU_PER_CALL_S / threads.max(1) as f64;
    let region = crate::model::known_regions().nth(usize::from(region)).map(str::to_owned);
    Estimate {
        reads: read_total,
        writes: write_total,
        seconds: busiest_seconds.max(latency_seconds).max(cpu_seconds),
        busiest: (service.name().to_owned(), (account != 0).then(|| format!("{account:012}")), region, busiest_calls, busiest_seconds),
        latency_ms,
        latency_seconds,
        threads,
        cpu_seconds,
    }
}

fn at_rate(((service, _), calls): &(&(Service, Key), &u32), rates: &Rates) -> f64 {
    f64::from(**calls) / f64::from(service.rate(rates).max(1))
}
