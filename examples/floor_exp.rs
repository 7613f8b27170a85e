use aws_config::{BehaviorVersion, Region};
use futures::StreamExt;
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap();
    let calls: usize = args.next().unwrap().parse().unwrap();
    let variant = args.next().unwrap_or_default();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).endpoint_url(endpoint).region(Region::new("us-east-1"));
    if variant.contains("nostall") {
        loader = loader.stalled_stream_protection(aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled());
    }
    if variant.contains("noretry") {
        loader = loader.retry_config(aws_config::retry::RetryConfig::disabled());
    }
    if variant.contains("notimeout") {
        loader = loader.timeout_config(aws_config::timeout::TimeoutConfig::disabled());
    }
    if variant.contains("static") {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new("bench", "bench", None, None, "static")).identity_cache(aws_config::identity::IdentityCache::no_cache());
    }
    let config = loader.load().await;
    let client = aws_sdk_guardduty::Client::new(&config);
    let failed = futures::stream::iter(0..calls)
        .map(|_| client.list_detectors().send())
        .buffer_unordered(64)
        .filter(|answer| std::future::ready(answer.is_err()))
        .count()
        .await;
    println!("{calls} calls, {failed} failed");
}
