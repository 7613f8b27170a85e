//! Organization edge cases on the emulator: invitation-era administrators and pending
//! invitations (a conflict until --migrate-invitations), and an organization that changes
//! during a run.

mod common;

use common::*;
use serde_json::{json, Value};

const REGION: &str = "us-east-1";

fn plan() -> String {
    format!("{THREE_REGION_PLAN}\n[admin]\naccount = \"{}\"\nauto_enable = \"ALL\"\n", member(1))
}

fn rollout(emulator: &Emulator, plan: &str, extra: &[&str]) -> Run {
    let mut args = vec!["rollout", "--plan", plan, "--regions", REGION];
    args.extend_from_slice(extra);
    emulator.orgguard(&args)
}

fn org(emulator: &Emulator) -> Value {
    emulator.get("guardduty-org")[REGION].clone()
}

#[test]
fn invitation_era_administrators_are_a_conflict_until_migrated_on_request() {
    let emulator = Emulator::start(&["--accounts", "4"]);
    let (old_admin, held, invited) = (member(4), member(3), member(2));
    emulator.post("detector", json!({"account": invited, "region": REGION}));
    for (account, status) in [(&held, "Enabled"), (&invited, "Invited")] {
        let action = json!({"action": "legacy_administrator", "account": account, "region": REGION, "administrator": old_admin, "status": status});
        emulator.post("drift", action);
    }
    let (_dir, plan) = plan_file(&plan());
    let plan = path_str(&plan);
    let rollout = |extra: &[&str]| rollout(&emulator, plan, extra);

    emulator.reset_counts();
    let dry = rollout(&["--dry-run"]);
    assert_eq!(dry.code(), 1, "conflicts are reported: {}", dry.stdout());
    assert_eq!(emulator.mutating_calls(), 0);
    let stdout = dry.stdout();
    for expected in [
        format!("{held}/{REGION}"),
        format!("LegacyAdministrator                      associated with administrator {old_admin} (an invitation, not the organization)"),
        format!("invitations pending from {old_admin}"),
        "rerun with --migrate-invitations".to_owned(),
    ] {
        assert!(stdout.contains(&expected), "{expected:?} in\n{stdout}");
    }

    let plain = rollout(&[]);
    assert_eq!(plain.code(), 1, "{}", plain.stdout());
    let members = &org(&emulator)["members"];
    assert_eq!(members[&old_admin], "Enabled", "other accounts become members: {members}");
    assert_eq!(org(&emulator)["invited_members"][&held]["administrator"], old_admin.as_str(), "left alone");
    assert_ne!(members[&held], "Enabled");
    assert_eq!(org(&emulator)["invitations"][&invited], json!([old_admin]), "left alone");

    let audit = emulator.orgguard(&["audit", "--plan", plan, "--regions", REGION, "--format", "json"]);
    assert_eq!(audit.code(), 2, "a conflict is drift, not an unreadable target: {}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let member_row = |account: &str| {
        report["results"].as_array().unwrap().iter().find(|r| r["control"] == "OG.Org.Member" && r["account"] == account).cloned().unwrap()
    };
    assert_eq!(member_row(&held)["verdict"], "FAIL");
    assert!(member_row(&held)["actual"].as_str().unwrap().contains(&format!("associated with administrator {old_admin}")));
    assert_eq!(member_row(&invited)["verdict"], "FAIL");
    assert_eq!(member_row(&old_admin)["verdict"], "PASS");

    let migrated = rollout(&["--migrate-invitations"]);
    assert_eq!(migrated.code(), 0, "{}", migrated.stdout());
    assert_eq!(emulator.calls("DisassociateFromAdministratorAccount", Some((&held, REGION))), 1);
    assert_eq!(emulator.calls("DeclineInvitations", Some((&invited, REGION))), 1);
    let after = org(&emulator);
    assert_eq!(after["members"][&held], "Enabled", "{after}");
    assert_eq!(after["members"][&invited], "Enabled", "{after}");
    assert!(after["invitations"].get(&invited).is_none(), "{after}");
    emulator.reset_counts();
    assert_eq!(rollout(&[]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0);
}

#[test]
fn accounts_that_are_suspended_leave_or_join_during_a_run_end_in_a_clear_state() {
    let (suspended, leaving) = (member(3), member(4));
    let emulator = Emulator::start(&[
        "--accounts", "6", "--latency-ms", "20",
        "--leave-after", &format!("{leaving}=2"), "--join-after", "2=2",
    ]);
    emulator.post("faults", json!({"suspend_after_requests": {&suspended: 2}}));
    let (_dir, plan) = plan_file(&plan());
    let plan = path_str(&plan);
    let run = emulator.orgguard(&["rollout", "--plan", plan, "--regions", REGION]);
    let stdout = run.stdout();
    assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
    assert_eq!(run.code(), 1, "{stdout}");
    for gone in [&suspended, &leaving] {
        let reason = format!("{gone}: The request is rejected because the given account ID is not an active account");
        assert!(stdout.contains(&reason), "the admin could not add it, and says why: {stdout}");
    }
    assert!(stdout.contains("rollout: 7 accounts x 1 regions"), "the accounts that joined later are not this run's: {stdout}");

    let rerun = emulator.orgguard(&["rollout", "--plan", plan, "--regions", REGION, "--detail"]);
    assert_eq!(rerun.code(), 0, "{}", rerun.stdout());
    assert!(rerun.stdout().contains(&format!("{suspended:<40} account is SUSPENDED")), "{}", rerun.stdout());
    let members = &org(&emulator)["members"];
    for joined in [member(7), member(8)] {
        assert_eq!(emulator.detectors(&joined, REGION).len(), 1, "{joined} joined and was rolled out");
        assert_eq!(members[&joined], "Enabled", "{members}");
    }
    assert!(members.get(&leaving).is_none(), "{members}");
}

#[test]
fn an_unreachable_admin_fails_the_organization_layer_and_nothing_else() {
    let emulator = Emulator::start(&["--accounts", "4", "--role-missing", "1"]);
    let (_dir, plan) = plan_file(&plan());
    let run = emulator.orgguard(&["rollout", "--plan", path_str(&plan), "--regions", REGION]);
    let stdout = run.stdout();
    assert_eq!(run.code(), 1, "{stdout}");
    let failed: Vec<&str> = stdout.lines().filter(|l| l.contains("AccessDenied")).collect();
    assert_eq!(failed.len(), 2, "the admin's own account and its organization layer: {stdout}");
    assert!(failed.iter().all(|l| l.starts_with(&format!("  {}", member(1))) && l.contains("sts:AssumeRole")), "{stdout}");
    for account in [member(2), member(3), member(4), MANAGEMENT.to_owned()] {
        assert_eq!(emulator.detectors(&account, REGION).len(), 1, "{account} still rolled out");
    }
    assert!(emulator.get("guardduty-org").get(REGION).is_none(), "nothing designated without the admin's detector");
}

/// An invitation-era setup made the way an older script made it, through the public API
/// only: an administrator records and invites the account, which accepts.
#[test]
fn an_invitation_era_setup_made_through_the_public_api_is_reported_then_migrated() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let (old_admin, held) = (member(3), member(2));
    emulator.boto3_as(&old_admin, &format!(r#"
gd = client("guardduty", "{REGION}")
detector = gd.create_detector(Enable=True)["DetectorId"]
assert gd.create_members(DetectorId=detector, AccountDetails=[{{"AccountId": "{held}", "Email": "held@example.com"}}])["UnprocessedAccounts"] == []
assert gd.invite_members(DetectorId=detector, AccountIds=["{held}"])["UnprocessedAccounts"] == []
"#));
    emulator.boto3_as(&held, &format!(r#"
gd = client("guardduty", "{REGION}")
detector = gd.create_detector(Enable=True)["DetectorId"]
assert gd.get_invitations_count()["InvitationsCount"] == 1
invitation = gd.list_invitations()["Invitations"][0]
gd.accept_administrator_invitation(DetectorId=detector, AdministratorId=invitation["AccountId"], InvitationId=invitation["InvitationId"])
assert gd.get_administrator_account(DetectorId=detector)["Administrator"]["AccountId"] == "{old_admin}"
"#));
    assert_eq!(org(&emulator)["invited_members"][&held], json!({"administrator": old_admin, "status": "Enabled"}));
    let (_dir, plan) = plan_file(&plan());
    let plan = path_str(&plan);
    let rollout = |extra: &[&str]| rollout(&emulator, plan, extra);
    let reported = rollout(&[]);
    assert_eq!(reported.code(), 1, "{}", reported.stdout());
    let expected = format!("associated with administrator {old_admin} (an invitation, not the organization)");
    assert!(reported.stdout().contains(&expected), "{}", reported.stdout());
    assert_ne!(org(&emulator)["members"][&held], "Enabled", "left alone");

    let migrated = rollout(&["--migrate-invitations"]);
    assert_eq!(migrated.code(), 0, "{}", migrated.stdout());
    let after = org(&emulator);
    assert_eq!(after["members"][&held], "Enabled", "{after}");
    assert_eq!(after["invited_members"][&held]["status"], "Removed", "the old administrator's record: {after}");
}
