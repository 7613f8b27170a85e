//! `orgguard rollout` on the emulator: detectors everywhere, idempotent, dry run inert,
//! failures kept to their target. State is read from the emulator's backend.

mod common;

use common::*;
use serde_json::{json, Value};

fn assert_plan_detector(emulator: &Emulator, account: &str, region: &str) {
    let detectors = emulator.detectors(account, region);
    assert_eq!(detectors.len(), 1, "{account}/{region} has exactly one detector: {detectors:?}");
    let d = &detectors[0];
    assert_eq!(d["status"], "ENABLED", "{account}/{region}");
    assert_eq!(d["finding_publishing_frequency"], "SIX_HOURS", "{account}/{region}");
    assert_eq!(d["features"]["S3_DATA_EVENTS"], "ENABLED", "{account}/{region}");
    assert_eq!(d["features"]["EBS_MALWARE_PROTECTION"], "ENABLED", "{account}/{region}");
    assert_eq!(d["features"]["EKS_AUDIT_LOGS"], "DISABLED", "{account}/{region}");
}

#[test]
fn rollout_of_20_accounts_by_3_regions_is_complete_idempotent_and_dry_run_is_inert() {
    let emulator = Emulator::start(&["--accounts", "20"]);
    let (_dir, plan) = plan_file(THREE_REGION_PLAN);
    let plan = path_str(&plan);
    let accounts: Vec<String> = (1..=20).map(member).chain([MANAGEMENT.to_owned()]).collect();

    let dry = emulator.orgguard(&["rollout", "--plan", plan, "--dry-run"]);
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
    let first = dry.stderr().lines().next().unwrap_or_default().to_owned();
    assert_eq!(first, format!("note: every AWS call goes to {} (--endpoint-url or AWS_ENDPOINT_URL, unencrypted), not to AWS", emulator.endpoint));
    assert_eq!(emulator.mutating_calls(), 0, "a dry run makes no mutating call");
    assert!(emulator.get("state")["detectors"].as_object().unwrap().is_empty());
    assert!(dry.stdout().contains("create detector (63, would change)"), "{}", dry.stdout());
    assert!(dry.stdout().contains("21 accounts x 3 regions = 63 targets"), "{}", dry.stdout());

    // The accounts as tasks on four threads, then on one (a current-thread runtime).
    emulator.reset_counts();
    let first = emulator.orgguard(&["rollout", "--plan", plan, "--threads", "4"]);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    for account in &accounts {
        for region in REGIONS {
            assert_plan_detector(&emulator, account, region);
        }
    }
    assert_eq!(emulator.calls("CreateDetector", None), 63);
    assert_eq!(emulator.calls("AssumeRole", None), 20, "one session per member account, shared by its regions");

    emulator.reset_counts();
    let second = emulator.orgguard(&["rollout", "--plan", plan, "--threads", "1"]);
    assert_eq!(second.code(), 0, "{}", second.stderr());
    assert_eq!(emulator.mutating_calls(), 0, "a second run changes nothing");
    assert_eq!(emulator.calls("ListDetectors", None), 63, "every account-region read on the one thread");
    assert!(second.stdout().contains("No changes"), "{}", second.stdout());

    emulator.reset_counts();
    let dry_again = emulator.orgguard(&["rollout", "--plan", plan, "--dry-run"]);
    assert_eq!(dry_again.code(), 0);
    assert_eq!(emulator.mutating_calls(), 0);
}

#[test]
fn a_denied_role_and_a_disabled_region_fail_or_skip_only_their_targets() {
    let emulator = Emulator::start(&[
        "--accounts", "6", "--role-missing", "2", "--region-disabled", "3:eu-west-1", "--suspended", "4",
    ]);
    let (dir, plan) = plan_file(THREE_REGION_PLAN);
    let summary_path = dir.path().join("summary.json");
    let run = emulator.orgguard(&["rollout", "--plan", path_str(&plan), "--summary-json", path_str(&summary_path)]);
    assert_eq!(run.code(), 1, "a failed target makes the exit code non-zero");
    let stdout = run.stdout();
    assert!(
        stdout.lines().any(|l| l.contains(&member(2)) && l.contains("sts:AssumeRole") && l.contains("AccessDenied")),
        "{stdout}"
    );

    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    let result = |account: &str, region: Option<&str>| -> Value {
        summary["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["target"]["account"] == account && r["target"]["region"] == json!(region))
            .cloned()
            .unwrap_or_else(|| panic!("no result for {account}/{region:?}"))
    };
    let denied = result(&member(2), None);
    assert_eq!(denied["status"], "failed");
    assert_eq!(denied["operation"], "sts:AssumeRole");
    assert_eq!(denied["code"], "AccessDenied");
    assert_eq!(result(&member(3), Some("eu-west-1"))["reason"], "region_not_enabled");
    assert_eq!(result(&member(4), None)["reason"], "account_not_active");
    assert_eq!(summary["failures"], 1);

    for (account, region) in [(2, "us-east-1"), (3, "eu-west-1"), (4, "us-east-1")] {
        assert!(emulator.detectors(&member(account), region).is_empty(), "{account}/{region} untouched");
    }
    for account in [1, 3, 5, 6] {
        for region in REGIONS {
            if (account, region) != (3, "eu-west-1") {
                assert_plan_detector(&emulator, &member(account), region);
            }
        }
    }
}

#[test]
fn an_existing_detector_is_updated_in_place_and_unplanned_features_are_left_alone() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let id = emulator.post(
        "detector",
        json!({
            "account": member(1), "region": "eu-west-1", "frequency": "FIFTEEN_MINUTES",
            "features": {"S3_DATA_EVENTS": false, "EKS_AUDIT_LOGS": true, "RDS_LOGIN_EVENTS": true},
        }),
    )["detectorId"]
        .clone();
    let (_dir, plan) = plan_file(THREE_REGION_PLAN);
    let run = emulator.orgguard(&["rollout", "--plan", path_str(&plan)]);
    assert_eq!(run.code(), 0, "{}", run.stderr());

    let target = Some((member(1), "eu-west-1"));
    let target = target.as_ref().map(|(a, r)| (a.as_str(), *r));
    assert_eq!(emulator.calls("CreateDetector", target), 0, "never a second detector");
    assert_eq!(emulator.calls("UpdateDetector", target), 1);
    assert_plan_detector(&emulator, &member(1), "eu-west-1");
    let detector = &emulator.detectors(&member(1), "eu-west-1")[0];
    assert_eq!(detector["id"], id, "the same detector, updated");
    assert_eq!(detector["features"]["RDS_LOGIN_EVENTS"], "ENABLED", "a feature the plan does not name is kept");
    assert!(run.stdout().contains("frequency FIFTEEN_MINUTES -> SIX_HOURS"), "{}", run.stdout());
}

#[test]
fn accounts_and_regions_narrow_one_run() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let (_dir, plan) = plan_file(THREE_REGION_PLAN);
    let run = emulator.orgguard(&[
        "rollout", "--plan", path_str(&plan), "--accounts", &member(2), "--regions", "eu-west-1",
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(emulator.calls("CreateDetector", None), 1);
    assert_eq!(emulator.detectors(&member(2), "eu-west-1").len(), 1);

    let outside = emulator.orgguard(&["rollout", "--plan", path_str(&plan), "--regions", "us-west-2"]);
    assert_eq!(outside.code(), 1);
    assert!(outside.stderr().contains("--regions names us-west-2, which the plan does not cover"), "{}", outside.stderr());
    let stranger = emulator.orgguard(&["rollout", "--plan", path_str(&plan), "--accounts", "999999999999"]);
    assert!(stranger.stderr().contains("999999999999, which is not in the organization"), "{}", stranger.stderr());
}

#[test]
fn the_management_account_is_a_target_only_when_the_plan_says_so() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let (_dir, plan) = plan_file(&THREE_REGION_PLAN.replace("include_management_account = true\n", ""));
    let run = emulator.orgguard(&["rollout", "--plan", path_str(&plan), "--regions", "us-east-1"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stdout().contains("the management account: a target only with include_management_account = true"),
        "{}",
        run.stdout()
    );
    assert_eq!(emulator.calls("ListDetectors", Some((MANAGEMENT, "us-east-1"))), 0, "not touched");
    assert!(emulator.detectors(MANAGEMENT, "us-east-1").is_empty());
    assert_eq!(emulator.detectors(&member(2), "us-east-1").len(), 1, "the members are");
}

#[test]
fn a_no_change_rollout_takes_members_detectors_from_the_admin_and_enters_only_what_differs() {
    let emulator = Emulator::start(&["--accounts", "5"]);
    let plan = path_str(&root().join("plans/detectors-only.toml")).to_owned();
    let args = ["rollout", "--plan", plan.as_str(), "--regions", "us-east-1,eu-west-1"];
    assert_eq!(emulator.orgguard(&args).code(), 0);

    emulator.reset_counts();
    let again = emulator.orgguard(&args);
    assert_eq!((again.code(), emulator.mutating_calls()), (0, 0), "{}", again.stdout());
    // Four members (and the management account) per region: one GetMemberDetectors each, and
    // no member's detector read in the member, whose role is not even assumed.
    assert_eq!(emulator.calls("GetMemberDetectors", None), 2);
    // The admin's side is read once per region, while the organization is listed, not again
    // by the organization layer after the accounts.
    assert_eq!(emulator.calls("ListMembers", None), 2);
    assert_eq!(emulator.calls("DescribeOrganizationConfiguration", None), 2);
    for account in [member(2), member(5)] {
        assert_eq!(emulator.calls("ListDetectors", Some((&account, "us-east-1"))), 0, "{account}");
    }
    assert_eq!(emulator.calls("AssumeRole", None), 1, "only the admin's role");

    // A feature turned off by hand: the admin's view differs from the plan, so that member is
    // read where it is changed, and only it.
    emulator.post("drift", serde_json::json!({"action": "feature_off", "account": member(3), "region": "us-east-1", "feature": "S3_DATA_EVENTS"}));
    emulator.reset_counts();
    let fix = emulator.orgguard(&args);
    assert_eq!(fix.code(), 0, "{}", fix.stdout());
    assert_eq!(emulator.calls("ListDetectors", Some((&member(3), "us-east-1"))), 1);
    assert_eq!(emulator.calls("UpdateDetector", None), 1);
    assert_eq!(emulator.calls("AssumeRole", None), 2, "the admin's and that member's");
    assert_plan_detector(&emulator, &member(3), "us-east-1");
}
