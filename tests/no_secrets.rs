//! No access key, secret or session token appears in what orgguard writes: output, logs,
//! the summary, the journal, the audit result or any report file.

mod common;

use std::process::Command;

use common::*;

const KEY_ID: &str = "AKIAORGGUARDFAKE0001";
const SECRET: &str = "orgguard/fake+secret/DoNotLeak0123456789abcd";
const TOKEN: &str = "orgguard-fake-session-token-DoNotLeak";

fn orgguard_with_known_credentials(emulator: &Emulator, args: &[&str]) -> String {
    orgguard_logging(emulator, args, "debug")
}

fn orgguard_logging(emulator: &Emulator, args: &[&str], log: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_orgguard"))
        .args(args)
        .args(["--endpoint-url", &emulator.endpoint, "--log-format", "json"])
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("AWS_REGION", "us-east-1")
        .env("ORGGUARD_LOG", log)
        .output()
        .expect("orgguard runs");
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn credentials_appear_in_no_output_log_summary_or_report() {
    let emulator = Emulator::start(&["--accounts", "3", "--role-missing", "3"]);
    let dir = tempfile::tempdir().unwrap();
    let plan = root().join("plans/example.toml");
    let (plan, out) = (path_str(&plan), dir.path());
    let summary = out.join("summary.json");
    let journal = out.join("rollout.journal");
    let reports = out.join("reports");
    let mut written = String::new();
    written += &orgguard_with_known_credentials(&emulator, &["rollout", "--plan", plan, "--regions", "us-east-1", "--summary-json", path_str(&summary), "--journal", path_str(&journal)]);
    written += &orgguard_with_known_credentials(&emulator, &["audit", "--plan", plan, "--regions", "us-east-1", "--format", "json"]);
    written += &orgguard_with_known_credentials(
        &emulator,
        &["report", "--plan", plan, "--regions", "us-east-1", "--format", "json,ocsf,csv,junit,html", "--out", path_str(&reports)],
    );
    // A more specific directive does not lift the cap on the SDK's own logs.
    let sdk_trace = "trace,aws_smithy_runtime::client=trace,aws_sigv4=trace,aws_config=trace";
    let traced = orgguard_logging(&emulator, &["rollout", "--plan", plan, "--regions", "us-east-1", "--dry-run"], sdk_trace);
    assert!(traced.contains(r#""level":"TRACE""#), "trace logs are written (the HTTP and TLS crates'), the SDK's capped");
    written += &traced;
    written += &std::fs::read_to_string(&summary).unwrap();
    written += &std::fs::read_to_string(&journal).unwrap();
    for file in std::fs::read_dir(&reports).unwrap() {
        written += &std::fs::read_to_string(file.unwrap().path()).unwrap();
    }
    assert!(written.contains("100000000003") && written.contains("AccessDenied"), "the runs did real work: {written:.2000}");
    for secret in [KEY_ID, SECRET, TOKEN] {
        assert!(!written.contains(secret), "{secret} leaked");
    }
    // Member sessions' keys come from AssumeRole; moto's session tokens start with FQoGZXIvYXdzE.
    assert!(!written.contains("FQoGZXIvYXdzE"), "a session token leaked");
}
