//! The AWS SDK's own cost of a call, without orgguard: `sdk_floor ENDPOINT CALLS` makes CALLS
//! GuardDuty ListDetectors calls with one client, 64 in flight, on a single-threaded runtime as
//! orgguard uses. scripts/bench runs it for two call counts and takes the difference of the
//! process CPU, so start-up does not count: the floor orgguard's CPU per call is compared with.

use aws_config::{BehaviorVersion, Region};
use futures::StreamExt;

/// As orgguard's own (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(endpoint), Some(calls)) = (args.next(), args.next().and_then(|n| n.parse::<usize>().ok())) else {
        eprintln!("usage: sdk_floor ENDPOINT CALLS");
        std::process::exit(2);
    };
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .load()
        .await;
    let client = aws_sdk_guardduty::Client::new(&config);
    let failed = futures::stream::iter(0..calls)
        .map(|_| client.list_detectors().send())
        .buffer_unordered(64)
        .filter(|answer| std::future::ready(answer.is_err()))
        .count()
        .await;
    println!("{calls} calls, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
