//! The AWS SDK's own cost of a call, without orgguard: `sdk_floor ENDPOINT CALLS [SERVICE [THREADS]]`
//! makes CALLS calls of one cheap read of SERVICE (guardduty ListDetectors, the default; sns
//! ListTopics; events ListRules; iam ListRoles; sts GetCallerIdentity) with one client, 64 in
//! flight, on a single-threaded runtime; with THREADS above 1, on tokio's multi-threaded one
//! with that many workers, each call a task (as orgguard's accounts are), so that the runtime's
//! cost of a second thread is measured without orgguard. scripts/bench runs it for two call counts and takes
//! the difference of the process CPU, so start-up does not count: the floor orgguard's CPU per
//! call is compared with, per service, since their protocols (JSON, XML) cost differently.

use aws_config::{BehaviorVersion, Region};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

/// As orgguard's own (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(endpoint), Some(calls)) = (args.next(), args.next().and_then(|n| n.parse::<usize>().ok())) else {
        eprintln!("usage: sdk_floor ENDPOINT CALLS [guardduty|sns|events|iam|sts [THREADS]]");
        std::process::exit(2);
    };
    let service = args.next().unwrap_or_else(|| "guardduty".to_owned());
    let threads = args.next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(1);
    // As orgguard's runtime (src/main.rs).
    let mut runtime = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    let runtime = runtime.enable_all().build().expect("a runtime");
    let failed = runtime.block_on(run(endpoint, calls, &service, threads > 1));
    println!("{calls} calls, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

/// CALLS calls of SERVICE, 64 in flight, each its own task when `spawn`: how many failed.
async fn run(endpoint: String, calls: usize, service: &str, spawn: bool) -> usize {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .load()
        .await;
    // One call of the service, its answer reduced to whether it failed.
    macro_rules! call {
        ($sdk:ident, $operation:ident) => {{
            let client = $sdk::Client::new(&config);
            Box::new(move || client.$operation().send().map(|a| a.is_err()).boxed())
        }};
    }
    let call: Box<dyn Fn() -> BoxFuture<'static, bool>> = match service {
        "guardduty" => call!(aws_sdk_guardduty, list_detectors),
        "sns" => call!(aws_sdk_sns, list_topics),
        "events" => call!(aws_sdk_eventbridge, list_rules),
        "iam" => call!(aws_sdk_iam, list_roles),
        "sts" => call!(aws_sdk_sts, get_caller_identity),
        other => {
            eprintln!("sdk_floor: no call for {other}");
            std::process::exit(2);
        }
    };
    let calls = futures::stream::iter(0..calls)
        .map(|_| if spawn { tokio::spawn(call()).map(|done| done.unwrap_or(true)).boxed() } else { call() });
    calls.buffer_unordered(64).filter(|&failed| std::future::ready(failed)).count().await
}
