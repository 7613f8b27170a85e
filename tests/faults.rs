//! Faults on the emulator: throttling, server errors, dropped connections, short sessions,
//! interruption. Every time: no panic, every target accounted for, the exit code true, and
//! a rerun completes what the fault left, with nothing duplicated.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

const REGIONS_ARG: &str = "us-east-1,eu-west-1";

fn rollout(emulator: &Emulator, extra: &[&str]) -> Run {
    let plan = path_str(&root().join("plans/example.toml")).to_owned();
    let mut args = vec!["rollout", "--plan", plan.as_str(), "--regions", REGIONS_ARG];
    args.extend_from_slice(extra);
    emulator.orgguard(&args)
}

/// Exactly one detector, one topic, both rules with one target each, in every target.
fn assert_converged(emulator: &Emulator, members: usize) {
    let wiring = emulator.get("wiring");
    for account in (1..=members).map(member).chain([MANAGEMENT.to_owned()]) {
        for region in ["us-east-1", "eu-west-1"] {
            assert_eq!(emulator.detectors(&account, region).len(), 1, "{account}/{region} detectors");
            let topics = wiring["topics"][&account][region].as_object().map_or(0, |t| t.len());
            assert_eq!(topics, 1, "{account}/{region} topics");
            let topic = &wiring["topics"][&account][region]["guardduty-finding"];
            assert_eq!(topic["subscriptions"].as_array().unwrap().len(), 1, "{account}/{region} subscriptions");
            for rule in ["guardduty-finding", "gdu-finding-archive-api"] {
                let targets = &wiring["rules"][&account][region][rule]["targets"];
                assert_eq!(targets.as_array().map_or(0, |t| t.len()), 1, "{account}/{region} {rule}");
            }
        }
    }
}

fn faults(emulator: &Emulator) -> Value {
    emulator.get("counts")["faults"].clone()
}

#[test]
fn twenty_percent_throttling_everywhere_loses_no_target() {
    let emulator = Emulator::start(&["--accounts", "8", "--throttle-rate", "0.2", "--seed", "11"]);
    let run = rollout(&emulator, &[]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    assert!(faults(&emulator)["throttle"].as_u64().unwrap() >= 20, "throttling was injected: {}", faults(&emulator));
    assert_converged(&emulator, 8);
    emulator.reset_counts();
    let again = rollout(&emulator, &[]);
    assert_eq!(again.code(), 0);
    assert_eq!(emulator.mutating_calls(), 0, "a rerun under throttling changes nothing");
}

/// The example plan with two attempts per call and a throttling budget of `budget` seconds.
fn patient_plan(budget: u64) -> String {
    let text = std::fs::read_to_string(root().join("plans/example.toml")).unwrap();
    let limits = format!("max_attempts = 2\nthrottle_budget_seconds = {budget}\n");
    text.replace("max_attempts = 8                 # per AWS call, with backoff, before a target fails\n", &limits)
}

#[test]
fn throttling_is_retried_for_a_time_budget_not_a_count_and_a_call_throttled_past_it_names_it() {
    // Two attempts would lose a third of the calls to 60% throttling; the budget loses none.
    let emulator = Emulator::start(&["--accounts", "3", "--throttle-rate", "0.6", "--seed", "3"]);
    let run = with_plan(&emulator, &patient_plan(600), &["rollout", "--regions", REGIONS_ARG, "--concurrency", "8"]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    assert_converged(&emulator, 3);
    let throttled = faults(&emulator)["throttle"].as_u64().unwrap();
    assert!(throttled > 50, "throttling was injected: {throttled}");

    // One operation throttled for good: its targets fail, saying which budget they outlasted.
    emulator.post("faults", serde_json::json!({"reset": true, "throttle": {"rate": 1.0, "operations": ["GetDetector"]}}));
    let run = with_plan(&emulator, &patient_plan(2), &["rollout", "--regions", REGIONS_ARG]);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    assert!(run.stdout().contains("still throttled after the 2 s retry budget (limits.throttle_budget_seconds)"), "{}", run.stdout());
}

#[test]
fn server_errors_and_dropped_connections_are_retried_or_reported_and_a_rerun_converges() {
    let emulator = Emulator::start(&["--accounts", "6", "--error-rate", "0.05", "--drop-rate", "0.02", "--seed", "5"]);
    let run = rollout(&emulator, &[]);
    assert!(matches!(run.code(), 0 | 1), "{}", run.stderr());
    assert!(!run.stderr().contains("panicked"));
    let injected = faults(&emulator);
    assert!(injected["server_error"].as_u64().unwrap_or(0) + injected["drop"].as_u64().unwrap_or(0) > 0, "{injected}");
    emulator.post("faults", serde_json::json!({"reset": true}));
    let rerun = rollout(&emulator, &[]);
    assert_eq!(rerun.code(), 0, "{}", rerun.stdout());
    assert_converged(&emulator, 6);
}

#[test]
fn sessions_shorter_than_the_run_are_renewed_without_expired_token_failures() {
    let emulator = Emulator::start(&["--accounts", "3", "--session-seconds", "4", "--latency-ms", "150"]);
    let run = rollout(&emulator, &["--concurrency", "2"]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    assert!(!run.stdout().contains("ExpiredToken"), "{}", run.stdout());
    assert!(emulator.calls("AssumeRole", None) > 3, "sessions were renewed: {}", emulator.calls("AssumeRole", None));
    assert_converged(&emulator, 3);
}

/// A rollout of 12 accounts slowed by latency, started in the background.
fn slow_rollout(emulator: &Emulator) -> std::process::Child {
    let plan = root().join("plans/example.toml");
    emulator
        .command(&["rollout", "--plan", path_str(&plan), "--regions", REGIONS_ARG, "--concurrency", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The journal's lines once it has at least `lines` (the header first).
fn journal_when(emulator: &Emulator, lines: usize) -> Vec<Value> {
    let path = emulator.workdir.path().join("orgguard-example.journal");
    for _ in 0..600 {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.lines().count() >= lines {
            return text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the journal never reached {lines} lines");
}

/// Accounts whose every target (IAM and both regions) the journal records applied.
fn finished_accounts(journal: &[Value]) -> Vec<String> {
    let mut done: std::collections::BTreeMap<String, usize> = Default::default();
    for line in journal.iter().skip(1).filter(|l| l["layer"] == "account" && l["status"] == "applied") {
        *done.entry(line["account"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    done.into_iter().filter(|(_, n)| *n == 3).map(|(a, _)| a).collect()
}

fn requests_in(emulator: &Emulator, account: &str) -> u64 {
    let counts = emulator.get("counts");
    counts["requests"].as_array().unwrap().iter().filter(|r| r["account"] == account).map(|r| r["count"].as_u64().unwrap()).sum()
}

#[test]
fn sigint_stops_new_work_and_resume_continues_without_redoing_finished_targets() {
    let emulator = Emulator::start(&["--accounts", "12", "--latency-ms", "100"]);
    let child = slow_rollout(&emulator);
    journal_when(&emulator, 1 + 9);
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("not started: interrupted"), "{stdout}");
    assert!(stdout.contains("rollout: 13 accounts x 2 regions"), "the summary is printed: {stdout}");
    assert!(stdout.contains("journal: orgguard-example.journal (--resume"), "{stdout}");
    let finished = finished_accounts(&journal_when(&emulator, 1));
    assert!(finished.len() >= 3 && finished.len() < 12, "some accounts finished, not all: {finished:?}");

    emulator.reset_counts();
    let resumed = rollout(&emulator, &["--resume"]);
    assert_eq!(resumed.code(), 0, "{}", resumed.stdout());
    // The admin's organization layer runs again: the accounts done now must become members.
    for account in finished.iter().filter(|a| **a != member(1) && a.as_str() != MANAGEMENT) {
        assert_eq!(requests_in(&emulator, account), 0, "{account} finished before the interruption and is not entered again");
    }
    assert_converged(&emulator, 12);
    emulator.reset_counts();
    assert_eq!(rollout(&emulator, &[]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0, "the resumed run completed everything");
}

#[test]
fn kill_9_mid_run_then_a_plain_rerun_converges_without_duplicates() {
    let emulator = Emulator::start(&["--accounts", "12", "--latency-ms", "100"]);
    let mut child = slow_rollout(&emulator);
    journal_when(&emulator, 1 + 12);
    child.kill().unwrap(); // SIGKILL: no summary, no cleanup
    child.wait().unwrap();
    let rerun = rollout(&emulator, &[]);
    assert_eq!(rerun.code(), 0, "{}", rerun.stdout());
    assert_converged(&emulator, 12);
    let iam = emulator.get("wiring")["iam"].clone();
    for account in (1..=12).map(member).chain([MANAGEMENT.to_owned()]) {
        let roles = iam[&account]["roles"].as_object().unwrap();
        let ours: Vec<_> = roles.keys().filter(|r| *r != "OrganizationAccountAccessRole").collect();
        assert_eq!(ours, ["eventbridge_to_sns"], "{account} roles");
        assert_eq!(roles["eventbridge_to_sns"]["attached"].as_array().unwrap().len(), 1, "{account} attachments");
        let policies = iam[&account]["policies"].as_object().unwrap();
        assert_eq!(policies.len(), 1, "{account} policies");
        assert_eq!(policies["EventBridgePublishGuarddutyFinding"]["versions"], 1, "{account} policy versions");
    }
    emulator.reset_counts();
    assert_eq!(rollout(&emulator, &[]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0);
}

#[test]
fn the_member_role_is_assumed_with_the_plans_external_id() {
    let emulator = Emulator::start(&["--accounts", "3", "--external-id", "orgguard-ext-42"]);
    let without = rollout(&emulator, &["--regions", "us-east-1"]);
    assert_eq!(without.code(), 1, "members refuse a session without the external id");
    assert!(without.stdout().contains("sts:AssumeRole") && without.stdout().contains("AccessDenied"), "{}", without.stdout());

    let text = std::fs::read_to_string(root().join("plans/example.toml")).unwrap();
    let (_dir, plan) = plan_file(&text.replace("# external_id = \"...\"", "external_id = \"orgguard-ext-42\""));
    let with = emulator.orgguard(&["rollout", "--plan", path_str(&plan), "--regions", "us-east-1"]);
    assert_eq!(with.code(), 0, "{}", with.stdout());
    for account in (1..=3).map(member) {
        assert_eq!(emulator.detectors(&account, "us-east-1").len(), 1, "{account}");
    }
}

#[test]
fn odd_answers_from_aws_do_not_panic_and_every_target_is_accounted_for() {
    let emulator = Emulator::start(&["--accounts", "3", "--odd-answers"]);
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let run = rollout(&emulator, &["--summary-json", path_str(&summary)]);
    assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
    assert_eq!(run.code(), 1, "a CreateDetector answer without its detector id fails the target: {}", run.stdout());
    assert!(run.stdout().contains("guardduty:CreateDetector"), "{}", run.stdout());
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let results = summary["results"].as_array().unwrap();
    for account in (1..=3).map(member).chain([MANAGEMENT.to_owned()]) {
        for region in ["us-east-1", "eu-west-1"] {
            assert!(results.iter().any(|r| r["target"]["account"] == account.as_str() && r["target"]["region"] == region), "{account}/{region}");
        }
    }
    let skipped: Vec<&str> = results.iter().filter(|r| r["reason"] == "account_not_active").map(|r| r["target"]["account"].as_str().unwrap()).collect();
    assert_eq!(skipped, ["999999999901", "999999999902"], "accounts in unknown states are skipped with their status");
    assert!(faults(&emulator)["odd_answer"].as_u64().unwrap() > 0);

    let audit = emulator.orgguard(&["audit", "--plan", path_str(&root().join("plans/example.toml")), "--regions", REGIONS_ARG]);
    assert!(!audit.stderr().contains("panicked"), "{}", audit.stderr());
    assert!(matches!(audit.code(), 1 | 2), "{}", audit.stdout());
}

#[test]
fn every_page_of_a_listing_waits_for_its_own_slot() {
    // 100 accounts: ListAccounts answers 5 pages of 20. The emulator throttles a caller
    // past 2 calls a second; the plan allows orgguard 1.
    let emulator = Emulator::start(&["--accounts", "99", "--per-key-rps", "organizations=2", "--per-key-burst", "organizations=2"]);
    let (_dir, plan) = plan_file(&format!("{THREE_REGION_PLAN}\n[limits.rates]\norganizations = 1\n"));
    let run = emulator.orgguard(&["rollout", "--plan", path_str(&plan), "--dry-run", "--accounts", &member(1), "--regions", "us-east-1"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(emulator.calls("ListAccounts", None), 5);
    assert_eq!(faults(&emulator)["per_key_rps"].as_u64().unwrap_or(0), 0, "no page went over the budget: {}", faults(&emulator));
}

#[test]
fn latency_spikes_slow_the_run_but_lose_nothing() {
    // Every call waits a random 0-400 ms: calls finish out of order, sessions and limits hold.
    let emulator = Emulator::start(&["--accounts", "4", "--latency-jitter-ms", "400", "--seed", "9"]);
    let run = rollout(&emulator, &[]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    assert!(faults(&emulator)["latency"].as_u64().unwrap() > 100, "{}", faults(&emulator));
    assert_converged(&emulator, 4);
    emulator.reset_counts();
    assert_eq!(rollout(&emulator, &[]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0);
}

#[test]
fn accounts_are_worked_on_while_the_organization_is_listed_and_a_listing_that_fails_midway_is_reported() {
    // 100 accounts, 5 ListAccounts pages; the plan allows 1 Organizations call a second.
    let emulator = Emulator::start(&["--accounts", "99"]);
    let (_dir, plan) = plan_file(&format!("{THREE_REGION_PLAN}\n[limits.rates]\norganizations = 1\n"));
    let args = ["rollout", "--plan", path_str(&plan), "--regions", "us-east-1"];
    let child = emulator.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    while emulator.calls("ListAccounts", None) < 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "ListAccounts never reached its second page");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first page's accounts are being worked on before the organization is listed.
    assert!(emulator.calls("ListDetectors", None) > 0, "no account was entered while the listing went on");
    // From the third page on, ListAccounts fails: the accounts listed are finished, the run says
    // which listing failed, and the exit code is not 0.
    emulator.post("faults", serde_json::json!({"server_errors": {"rate": 1.0, "operations": ["ListAccounts"]}}));
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("organizations:ListAccounts") && stderr.contains("not visited"), "{stderr}");
    assert_eq!(emulator.detectors(&member(1), "us-east-1").len(), 1, "a first-page account was finished");
    assert!(emulator.calls("AssumeRole", None) < 70, "the accounts of later pages were not entered");
    assert!(emulator.detectors(&member(99), "us-east-1").is_empty(), "the last page's account was not reached");

    emulator.post("faults", serde_json::json!({"reset": true}));
    let again = emulator.orgguard(&args);
    assert_eq!(again.code(), 0, "{}", again.stderr());
    for account in (1..=99).map(member) {
        assert_eq!(emulator.detectors(&account, "us-east-1").len(), 1, "{account}");
    }
}

#[test]
fn ctrl_c_while_the_organization_is_listed_says_which_accounts_were_not_reached() {
    let emulator = Emulator::start(&["--accounts", "99"]);
    let (_dir, plan) = plan_file(&format!("{THREE_REGION_PLAN}\n[limits.rates]\norganizations = 1\n"));
    let args = ["rollout", "--plan", path_str(&plan), "--regions", "us-east-1", "--detail"];
    let child = emulator.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    while emulator.calls("ListAccounts", None) < 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "ListAccounts never reached its second page");
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}");
    assert!(emulator.calls("ListAccounts", None) < 5, "the listing stopped");
    let unlisted = stdout.lines().find(|l| l.contains("(the organization's account list)")).unwrap_or_default();
    assert!(unlisted.contains("interrupted"), "{stdout}");
    assert!(emulator.detectors(&member(99), "us-east-1").is_empty(), "the last page's account was not reached");
}
