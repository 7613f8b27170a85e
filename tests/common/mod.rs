//! Test support: the emulator as a child process, orgguard as a child process, and the
//! emulator's own view of its state (an independent reader, not orgguard's read path).

#![allow(dead_code)] // each test crate uses part of this module

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const MANAGEMENT: &str = "123456789012";

pub fn member(index: usize) -> String {
    format!("{:012}", 100_000_000_000u64 + index as u64)
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running emulator on a free port; stopped when dropped.
pub struct Emulator {
    child: Child,
    pub endpoint: String,
    /// orgguard's working directory in this test (its journal goes there).
    pub workdir: tempfile::TempDir,
}

impl Emulator {
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(root().join("scripts/emulator"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("scripts/emulator starts");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let endpoint = loop {
            let line = lines.next().expect("the emulator prints READY").expect("readable");
            if let Some(rest) = line.strip_prefix("READY ") {
                break rest.split_whitespace().next().expect("endpoint").to_owned();
            }
        };
        Self { child, endpoint, workdir: tempfile::tempdir().expect("temp dir") }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_orgguard/{path}", self.endpoint)
    }

    pub fn get(&self, path: &str) -> Value {
        ureq::get(&self.url(path)).call().expect("control GET").body_mut().read_json().expect("json")
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        ureq::post(&self.url(path)).send_json(body).expect("control POST").body_mut().read_json().expect("json")
    }

    /// Mutating requests (anything but Get*, List*, Describe*, AssumeRole) since the last reset.
    pub fn mutating_calls(&self) -> u64 {
        self.get("counts")["mutating"].as_u64().expect("mutating count")
    }

    /// Requests of one operation, over all accounts and regions, or one account-region.
    pub fn calls(&self, operation: &str, target: Option<(&str, &str)>) -> u64 {
        self.get("counts")["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter(|r| r["operation"] == operation)
            .filter(|r| target.is_none_or(|(a, g)| r["account"] == a && r["region"] == g))
            .map(|r| r["count"].as_u64().expect("count"))
            .sum()
    }

    pub fn reset_counts(&self) {
        self.post("counts/reset", Value::Null);
    }

    /// The detectors of one account-region, straight from the emulator's backend.
    pub fn detectors(&self, account: &str, region: &str) -> Vec<Value> {
        self.get("state")["detectors"][account][region].as_array().cloned().unwrap_or_default()
    }

    pub fn orgguard(&self, args: &[&str]) -> Run {
        let mut command = self.command(args);
        Run { output: command.output().expect("orgguard runs") }
    }

    /// orgguard with this emulator as its endpoint, in the test's working directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = command(args, Some(&self.endpoint));
        command.current_dir(self.workdir.path());
        command
    }
}

impl Emulator {
    /// Runs `script` (Python, with boto3) as `account` through the public AWS API, as a user's
    /// own script would: `client(service, region)` gives a client in the account, through
    /// AssumeRole of OrganizationAccountAccessRole.
    pub fn boto3_as(&self, account: &str, script: &str) {
        let prelude = format!(
            r#"
import boto3
endpoint, account = {endpoint:?}, {account:?}
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
keys = sts.assume_role(RoleArn=f"arn:aws:iam::{{account}}:role/OrganizationAccountAccessRole", RoleSessionName="user-script")["Credentials"]
def client(service, region):
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=keys["AccessKeyId"],
                        aws_secret_access_key=keys["SecretAccessKey"], aws_session_token=keys["SessionToken"])
"#,
            endpoint = self.endpoint
        );
        let output = Command::new(root().join(".venv/emulator/bin/python"))
            .args(["-c", &format!("{prelude}\n{script}")])
            .output()
            .expect("the emulator's python runs");
        assert!(output.status.success(), "boto3 script failed: {}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().expect("exited normally")
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

pub fn orgguard(args: &[&str], endpoint: Option<&str>) -> Run {
    Run { output: command(args, endpoint).output().expect("orgguard runs") }
}

fn command(args: &[&str], endpoint: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orgguard"));
    command
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    if let Some(endpoint) = endpoint {
        command.args(["--endpoint-url", endpoint]);
    }
    command
}

/// A plan file in a fresh directory, kept for as long as the returned guard lives.
pub fn plan_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, text).expect("plan written");
    (dir, path)
}

/// The seed's detector, in three regions, without the sections this test does not need.
pub const THREE_REGION_PLAN: &str = r#"
[organization]
regions = ["us-east-1", "eu-west-1", "ap-northeast-1"]
include_management_account = true

[detector]
finding_publishing_frequency = "SIX_HOURS"

[detector.features]
S3_DATA_EVENTS = true
EBS_MALWARE_PROTECTION = true
EKS_AUDIT_LOGS = false
"#;

pub const REGIONS: [&str; 3] = ["ap-northeast-1", "eu-west-1", "us-east-1"];

/// orgguard with the plan `text` (written to a file of its own), then `args`.
pub fn with_plan(emulator: &Emulator, text: &str, args: &[&str]) -> Run {
    let (_dir, path) = plan_file(text);
    let mut all = args.to_vec();
    all.extend(["--plan", path_str(&path)]);
    emulator.orgguard(&all)
}

/// An audit's FAIL rows (`--format json`): (control, region, what was found).
pub fn failing(report: &Value) -> Vec<(String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let rows = report["results"].as_array().expect("results");
    rows.iter().filter(|r| r["verdict"] == "FAIL").map(|r| (text(&r["control"]), text(&r["region"]), text(&r["actual"]))).collect()
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
