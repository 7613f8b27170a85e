//! The trusted IP list and threat lists at the delegated admin, on the emulator, checked in
//! its own backend: created and ACTIVE in every admin region, untouched by a rerun, a new
//! file location an update that activates again, a file GuardDuty cannot read a failure with
//! the account, region and reason, a list the plan does not name reported, and a teardown
//! that removes the plan's lists only.

mod common;

use common::*;
use serde_json::Value;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn plan(threat_file: &str) -> String {
    format!(
        "[organization]\nregions = [\"us-east-1\", \"eu-west-1\"]\n[admin]\naccount = \"{}\"\n\
         [detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
         [ip_lists]\ntrusted = {{ name = \"egress\", location = \"s3://orgguard-lists/trusted.txt\", bucket_owner = \"{owner}\" }}\n\
         [[ip_lists.threat]]\nname = \"known-bad\"\nformat = \"TXT\"\nlocation = \"s3://orgguard-lists/{threat_file}\"\n",
        member(1),
        owner = member(1)
    )
}

/// The admin's lists in one region: (kind, name, location, status).
fn lists(emulator: &Emulator, region: &str) -> Vec<(String, String, String, String)> {
    let state = emulator.get("state");
    let found = state["ip_lists"][member(1)][region].as_array().cloned().unwrap_or_default();
    let text = |l: &Value, k: &str| l[k].as_str().unwrap().to_owned();
    found.iter().map(|l| (text(l, "kind"), text(l, "name"), text(l, "location"), text(l, "status"))).collect()
}


#[test]
fn the_admin_holds_the_planned_lists_active_in_every_region_and_only_those_it_is_asked_to() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    emulator.boto3_as(&member(1), r#"
s3 = client("s3", "us-east-1")
s3.create_bucket(Bucket="orgguard-lists")
for key in ("trusted.txt", "threats.txt", "threats-v2.txt"):
    s3.put_object(Bucket="orgguard-lists", Key=key, Body=b"203.0.113.0/24\n")
"#);
    emulator.reset_counts();
    let dry = with_plan(&emulator, &plan("threats.txt"), &["rollout", "--dry-run"]);
    assert_eq!(dry.code(), 0, "{}\n{}", dry.stdout(), dry.stderr());
    assert_eq!(emulator.mutating_calls(), 0);
    assert!(dry.stdout().contains("create IP list (4, would change)"), "{}", dry.stdout());

    let rollout = with_plan(&emulator, &plan("threats.txt"), &["rollout"]);
    assert_eq!(rollout.code(), 0, "{}", rollout.stdout());
    for region in REGIONS {
        let expected = [
            ("ipset", "egress", "s3://orgguard-lists/trusted.txt", "ACTIVE"),
            ("threatintelset", "known-bad", "s3://orgguard-lists/threats.txt", "ACTIVE"),
        ]
        .map(|(k, n, l, s)| (k.to_owned(), n.to_owned(), l.to_owned(), s.to_owned()));
        assert_eq!(lists(&emulator, region), expected, "{region}: created, then waited on until ACTIVE");
    }
    let trusted = &emulator.get("state")["ip_lists"][member(1)]["us-east-1"][0];
    assert_eq!(trusted["expectedBucketOwner"], member(1).as_str(), "GuardDuty refuses a bucket someone else took under that name");
    emulator.reset_counts();
    assert_eq!(with_plan(&emulator, &plan("threats.txt"), &["rollout"]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0, "a rerun changes nothing");

    emulator.reset_counts();
    assert_eq!(with_plan(&emulator, &plan("threats-v2.txt"), &["rollout"]).code(), 0);
    assert_eq!((emulator.calls("UpdateThreatIntelSet", None), emulator.mutating_calls()), (2, 2), "an update a region, no new list");
    assert!(REGIONS.iter().all(|r| lists(&emulator, r)[1].2 == "s3://orgguard-lists/threats-v2.txt" && lists(&emulator, r)[1].3 == "ACTIVE"));

    let unreadable = with_plan(&emulator, &plan("missing.txt"), &["rollout"]);
    assert_eq!(unreadable.code(), 1, "{}", unreadable.stdout());
    let stdout = unreadable.stdout();
    assert!(stdout.contains(&format!("{}/us-east-1", member(1))) && stdout.contains("ListNotActive"), "{stdout}");
    assert!(stdout.contains("could not activate s3://orgguard-lists/missing.txt (status ERROR)"), "{stdout}");

    assert_eq!(with_plan(&emulator, &plan("threats-v2.txt"), &["rollout"]).code(), 0, "the file readable again");
    emulator.boto3_as(&member(1), r#"
gd = client("guardduty", "eu-west-1")
detector = gd.list_detectors()["DetectorIds"][0]
gd.create_threat_intel_set(DetectorId=detector, Name="someone-elses", Format="TXT", Location="s3://orgguard-lists/threats.txt", Activate=True)
"#);
    let audit = with_plan(&emulator, &plan("threats-v2.txt"), &["audit", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let expected = ("OG.Org.ThreatLists".to_owned(), "eu-west-1".to_owned(), "someone-elses present".to_owned());
    assert_eq!(failing(&report), [expected], "only the list the plan does not name: {report}");

    let teardown = with_plan(&emulator, &plan("threats-v2.txt"), &["teardown", "--only", "central", "--yes"]);
    assert_eq!(teardown.code(), 0, "{}\n{}", teardown.stdout(), teardown.stderr());
    assert_eq!(lists(&emulator, "us-east-1"), vec![]);
    let left: Vec<String> = lists(&emulator, "eu-west-1").into_iter().map(|(_, name, _, _)| name).collect();
    assert_eq!(left, ["someone-elses"], "a list the plan does not name stays");
}
