//! `orgguard teardown` on the emulator, checked through the emulator's own backends: a full
//! teardown leaves none of the plan's resources, a second one changes nothing, a rollout
//! rebuilds it all; one layer alone leaves the others running; what the plan does not name
//! is kept; an interrupted teardown resumes.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const TWO_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// The example plan in the two regions of these tests (a run narrowed by --regions keeps
/// the IAM role and policy, which the plan's other regions use).
fn two_region_plan() -> (tempfile::TempDir, std::path::PathBuf) {
    let example = std::fs::read_to_string(root().join("plans/example.toml")).unwrap();
    plan_file(&example.replace(r#"regions = "all""#, r#"regions = ["us-east-1", "eu-west-1"]"#))
}

fn run(emulator: &Emulator, command: &str, extra: &[&str]) -> Run {
    let (_dir, plan) = two_region_plan();
    let mut args = vec![command, "--plan", path_str(&plan)];
    args.extend_from_slice(extra);
    emulator.orgguard(&args)
}

/// The organization's accounts: the management account and `members` members.
fn accounts(members: usize) -> Vec<String> {
    std::iter::once(MANAGEMENT.to_owned()).chain((1..=members).map(member)).collect()
}

/// What the plan's wiring left in the emulator: (account, region or "iam", name) of each
/// planned topic, rule, role and policy found.
fn planned_wiring(emulator: &Emulator) -> Vec<(String, String, String)> {
    let wiring = emulator.get("wiring");
    let mut found = Vec::new();
    for (account, regions) in wiring["topics"].as_object().unwrap() {
        for (region, topics) in regions.as_object().unwrap() {
            found.extend(topics.as_object().unwrap().keys().map(|t| (account.clone(), region.clone(), t.clone())));
        }
    }
    for (account, regions) in wiring["rules"].as_object().unwrap() {
        for (region, rules) in regions.as_object().unwrap() {
            found.extend(rules.as_object().unwrap().keys().map(|r| (account.clone(), region.clone(), r.clone())));
        }
    }
    for (account, iam) in wiring["iam"].as_object().unwrap() {
        let names = iam["roles"].as_object().unwrap().keys().chain(iam["policies"].as_object().unwrap().keys());
        let ours = names.filter(|n| ["eventbridge_to_sns", "EventBridgePublishGuarddutyFinding"].contains(&n.as_str()));
        found.extend(ours.map(|n| (account.clone(), "iam".to_owned(), n.clone())));
    }
    found.sort();
    found
}

fn summary_json(emulator: &Emulator, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(emulator.workdir.path().join(name)).unwrap()).unwrap()
}

fn detector_count(emulator: &Emulator, members: usize) -> usize {
    accounts(members).iter().flat_map(|a| TWO_REGIONS.map(|r| emulator.detectors(a, r).len())).sum()
}

#[test]
fn a_full_teardown_leaves_nothing_of_the_plan_a_second_changes_nothing_and_a_rollout_rebuilds_it() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    assert_eq!(run(&emulator, "rollout", &[]).code(), 0);
    assert_eq!(planned_wiring(&emulator).len(), 4 * 2 * 3 + 4 * 2, "topic and two rules per account-region, role and policy per account");

    emulator.reset_counts();
    let dry = run(&emulator, "teardown", &["--dry-run", "--delete-detectors", "--summary-json", "dry.json"]);
    assert_eq!(dry.code(), 0, "{}\n{}", dry.stdout(), dry.stderr());
    assert_eq!(emulator.mutating_calls(), 0, "a dry run deletes nothing");
    let expected = json!({
        "remove EventBridge target": 16, "delete EventBridge rule": 16, "delete SNS topic": 8, "delete detector": 8,
        "detach IAM policy": 4, "delete IAM policy": 4, "delete IAM role": 4,
        "update organization configuration": 2, "disassociate members": 2, "delete members": 2, "remove delegated admin": 2,
    });
    assert_eq!(summary_json(&emulator, "dry.json")["changes_by_kind"], expected, "every deletion listed");

    let unconfirmed = run(&emulator, "teardown", &["--delete-detectors"]);
    assert_eq!(unconfirmed.code(), 1, "not on a terminal, and no --yes");
    assert!(unconfirmed.stderr().contains("needs --yes"), "{}", unconfirmed.stderr());
    assert_eq!(emulator.mutating_calls(), 0);

    let teardown = run(&emulator, "teardown", &["--yes", "--delete-detectors", "--summary-json", "done.json"]);
    assert_eq!(teardown.code(), 0, "{}\n{}", teardown.stdout(), teardown.stderr());
    assert_eq!(summary_json(&emulator, "done.json")["changes_by_kind"], expected, "made as listed");
    assert_eq!(planned_wiring(&emulator), Vec::<(String, String, String)>::new());
    let org = emulator.get("guardduty-org");
    for region in TWO_REGIONS {
        assert!(org.get(region).is_none_or(|r| r["admins"] == json!([]) && r["members"] == json!({})), "{region}: {org}");
    }
    assert_eq!(detector_count(&emulator, 3), 0);
    // Auto-enable went to NONE before the members were removed (AWS refuses it under ALL).
    assert_eq!(emulator.calls("UpdateOrganizationConfiguration", None), 2);

    emulator.reset_counts();
    let again = run(&emulator, "teardown", &["--yes", "--delete-detectors"]);
    assert_eq!(again.code(), 0, "{}", again.stdout());
    assert_eq!(emulator.mutating_calls(), 0, "a second teardown finds nothing to do");
    assert!(again.stdout().starts_with("Nothing to remove"), "{}", again.stdout());

    let audit = run(&emulator, "audit", &["--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
    for result in report["results"].as_array().unwrap() {
        *verdicts.entry(result["verdict"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let passing: Vec<&Value> = report["results"].as_array().unwrap().iter().filter(|r| r["verdict"] == "PASS").collect();
    // Only what the plan wants off passes: EKS_AUDIT_LOGS = false, and no detector has it on.
    assert!(passing.iter().all(|r| r["control"] == "GuardDuty.5"), "{passing:?}");
    assert_eq!(passing.len(), 8, "{verdicts:?}");
    assert!(verdicts["FAIL"] > 0, "{verdicts:?}");

    assert_eq!(run(&emulator, "rollout", &[]).code(), 0);
    assert_eq!(planned_wiring(&emulator).len(), 4 * 2 * 3 + 4 * 2, "rebuilt");
    assert_eq!(detector_count(&emulator, 3), 8);
    assert_eq!(run(&emulator, "audit", &[]).code(), 0, "and compliant again");
}

#[test]
fn a_wiring_teardown_leaves_guardduty_running_and_keeps_a_topic_with_a_subscription_the_plan_does_not_name() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    assert_eq!(run(&emulator, "rollout", &[]).code(), 0);
    let kept = member(2);
    emulator.boto3_as(&kept, r#"
sns = client("sns", "us-east-1")
sns.subscribe(TopicArn=f"arn:aws:sns:us-east-1:{account}:guardduty-finding", Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{account}:audit-copy")
"#);
    let org_before = emulator.get("guardduty-org");

    let teardown = run(&emulator, "teardown", &["--only", "wiring", "--yes"]);
    assert_eq!(teardown.code(), 0, "{}\n{}", teardown.stdout(), teardown.stderr());
    assert!(teardown.stdout().contains("kept, and why (1):"), "{}", teardown.stdout());
    let topic = &emulator.get("wiring")["topics"][&kept]["us-east-1"]["guardduty-finding"];
    let subscriptions: Vec<&Value> = topic["subscriptions"].as_array().unwrap().iter().map(|s| &s["protocol"]).collect();
    assert_eq!(subscriptions, [&json!("sqs")], "the planned email subscription went, the other stayed: {topic}");
    let left = planned_wiring(&emulator);
    assert_eq!(left, [(kept.clone(), "us-east-1".to_owned(), "guardduty-finding".to_owned())], "only that topic is left");
    assert_eq!(emulator.get("guardduty-org"), org_before, "the admin and members are untouched");
    assert_eq!(detector_count(&emulator, 2), 6, "GuardDuty keeps running");

    let pruned = run(&emulator, "teardown", &["--only", "wiring", "--prune-subscriptions", "--yes"]);
    assert_eq!(pruned.code(), 0, "{}", pruned.stdout());
    assert_eq!(planned_wiring(&emulator), Vec::<(String, String, String)>::new());
    assert_eq!(emulator.calls("DeleteTopic", Some((&kept, "us-east-1"))), 1);
}

#[test]
fn membership_and_admin_alone_are_removed_from_the_admin_and_the_management_account_without_entering_members() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    assert_eq!(run(&emulator, "rollout", &[]).code(), 0);
    emulator.reset_counts();
    let narrowed = run(&emulator, "teardown", &["--only", "admin", "--accounts", &member(2), "--yes"]);
    assert_eq!(narrowed.code(), 1, "removing the admin would remove every member, not only the one named");
    assert!(narrowed.stderr().contains("serve every member"), "{}", narrowed.stderr());
    assert_eq!(emulator.mutating_calls(), 0);
    let teardown = run(&emulator, "teardown", &["--only", "membership,admin", "--yes"]);
    assert_eq!(teardown.code(), 0, "{}\n{}", teardown.stdout(), teardown.stderr());
    for account in [member(2), member(3)] {
        let entered: u64 = TWO_REGIONS.iter().map(|r| emulator.calls("ListDetectors", Some((&account, r)))).sum();
        assert_eq!(entered, 0, "{account} is not entered");
    }
    assert_eq!(emulator.calls("DisassociateMembers", None), 2);
    assert_eq!(emulator.calls("DeleteMembers", None), 2);
    assert_eq!(emulator.calls("DisableOrganizationAdminAccount", None), 2);
    let org = emulator.get("guardduty-org");
    assert!(TWO_REGIONS.iter().all(|r| org.get(r).is_none()), "{org}");
    assert_eq!(detector_count(&emulator, 3), 8, "every account keeps GuardDuty, standalone");
    assert_eq!(planned_wiring(&emulator).len(), 4 * 2 * 3 + 4 * 2, "the wiring stays");
}

#[test]
fn an_interrupted_teardown_resumes_without_redoing_finished_targets() {
    let emulator = Emulator::start(&["--accounts", "8", "--latency-ms", "100"]);
    assert_eq!(run(&emulator, "rollout", &["--concurrency", "32"]).code(), 0);
    let (_dir, plan) = two_region_plan();
    let child = emulator
        .command(&["teardown", "--plan", path_str(&plan), "--yes", "--concurrency", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let journal = emulator.workdir.path().join("orgguard-plan.teardown.journal");
    let finished = |lines: usize| {
        (0..1500).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            std::fs::read_to_string(&journal).unwrap_or_default().lines().count() >= lines
        })
    };
    assert!(finished(1 + 6), "the teardown journals finished targets");
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stdout));
    assert!(!planned_wiring(&emulator).is_empty(), "interrupted before the end");

    let journal: Vec<Value> = std::fs::read_to_string(&journal).unwrap().lines().skip(1).filter_map(|l| serde_json::from_str(l).ok()).collect();
    let finished: Vec<String> = accounts(8)
        .into_iter()
        .filter(|a| a != &member(1))
        .filter(|a| journal.iter().filter(|l| l["account"] == a.as_str() && l["layer"] == "account" && l["status"] == "applied").count() == 3)
        .collect();
    assert!(!finished.is_empty(), "some accounts finished before the interruption");
    emulator.reset_counts();
    let resumed = run(&emulator, "teardown", &["--yes", "--resume"]);
    assert_eq!(resumed.code(), 0, "{}\n{}", resumed.stdout(), resumed.stderr());
    assert!(resumed.stdout().contains("skipped, finished in the run resumed"), "{}", resumed.stdout());
    assert!(emulator.calls("GetTopicAttributes", None) > 0, "the accounts not finished are read");
    for account in &finished {
        let entered: u64 = TWO_REGIONS.iter().map(|r| emulator.calls("ListTopics", Some((account, r))) + emulator.calls("GetTopicAttributes", Some((account, r)))).sum();
        assert_eq!(entered, 0, "{account} finished before the interruption and is not read again");
    }
    assert_eq!(planned_wiring(&emulator), Vec::<(String, String, String)>::new());
    emulator.reset_counts();
    assert_eq!(run(&emulator, "teardown", &["--yes"]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0, "the resumed teardown finished everything");
}

#[test]
fn narrowed_runs_keep_what_other_regions_or_accounts_still_use_and_odd_layer_choices_are_refused() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    assert_eq!(run(&emulator, "rollout", &[]).code(), 0);
    emulator.reset_counts();
    for (args, says) in [
        (&["--only", "detectors", "--yes"][..], "add --delete-detectors"),
        (&["--only", "wiring", "--delete-detectors", "--yes"][..], "--only leaves detectors out"),
        (&["--only", "wiring,detectors", "--delete-detectors", "--yes"][..], "add membership to --only"),
    ] {
        let refused = run(&emulator, "teardown", args);
        assert_eq!(refused.code(), 1, "{args:?}");
        assert!(refused.stderr().contains(says), "{args:?}: {}", refused.stderr());
    }
    assert_eq!(emulator.mutating_calls(), 0);

    let one_region = run(&emulator, "teardown", &["--regions", "us-east-1", "--only", "wiring", "--yes"]);
    assert_eq!(one_region.code(), 0, "{}\n{}", one_region.stdout(), one_region.stderr());
    assert!(one_region.stderr().contains("the IAM roles and policies stay"), "{}", one_region.stderr());
    assert_eq!(emulator.calls("DeleteRole", None), 0);
    let left = planned_wiring(&emulator);
    assert!(left.iter().all(|(_, place, _)| place != "us-east-1"), "{left:?}");
    assert_eq!(left.iter().filter(|(_, place, _)| place == "iam").count(), 3 * 2, "every account keeps its role and policy: {left:?}");
    assert_eq!(left.iter().filter(|(_, place, _)| place == "eu-west-1").count(), 3 * 3, "eu-west-1's wiring stays");
}

/// orgguard on a terminal (Python's pty), answering the confirmation with `answer`.
fn on_terminal(emulator: &Emulator, args: &[&str], answer: &str) -> (i32, String) {
    let script = r#"
import os, pty, sys
answer, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
while b"type yes to go on" not in out:
    chunk = os.read(fd, 4096)
    if not chunk:
        break
    out += chunk
os.write(fd, answer.encode() + b"\n")
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let orgguard = env!("CARGO_BIN_EXE_orgguard");
    let output = Command::new(root().join(".venv/emulator/bin/python"))
        .args(["-c", script, answer, orgguard])
        .args(args)
        .args(["--endpoint-url", &emulator.endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .current_dir(emulator.workdir.path())
        .output()
        .unwrap();
    (output.status.code().unwrap(), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn on_a_terminal_teardown_asks_with_the_count_of_each_deletion_and_makes_only_what_is_confirmed() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    assert_eq!(run(&emulator, "rollout", &[]).code(), 0);
    let (_dir, plan) = two_region_plan();
    let args = ["teardown", "--plan", path_str(&plan), "--only", "membership,admin"];
    emulator.reset_counts();
    let (code, screen) = on_terminal(&emulator, &args, "no");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Delete delete members: 4, disassociate members: 4, remove delegated admin: 2, update organization configuration: 2?"), "{screen}");
    assert!(screen.contains("not confirmed; nothing was deleted"), "{screen}");
    assert_eq!(emulator.mutating_calls(), 0);
    let (code, screen) = on_terminal(&emulator, &args, "yes");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(emulator.calls("DisableOrganizationAdminAccount", None), 2);
    assert!(emulator.get("guardduty-org").as_object().unwrap().is_empty(), "no admin, no members");
}
