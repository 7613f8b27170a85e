//! Suppression rules at the delegated admin, on the emulator, checked in the emulator's own
//! backend: created in plan order with the planned ranks in every admin region, untouched by
//! a rerun, an insertion in the middle made with one call, a rule written by an older script
//! with the deprecated condition names not drift, a rule the plan does not name reported and
//! removed only when pruning, and a teardown that removes the plan's rules only.

mod common;

use common::*;
use serde_json::{json, Value};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn plan(rules: &[&str], prune: bool) -> String {
    let mut text = format!(
        "[organization]\nregions = [\"us-east-1\", \"eu-west-1\"]\n[admin]\naccount = \"{}\"\n\
         [detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n[suppression]\nprune = {prune}\n",
        member(1)
    );
    for name in rules {
        text += &format!(
            "[[suppression.rules]]\nname = \"{name}\"\naction = \"ARCHIVE\"\ndescription = \"{name} findings\"\n\
             [suppression.rules.criteria]\nseverity = {{ LessThan = 4 }}\n\"resource.resourceType\" = {{ Equals = [\"{name}\"] }}\n"
        );
    }
    text
}

/// The admin's rules in one region, in rank order, as (name, rank).
fn rules(emulator: &Emulator, region: &str) -> Vec<(String, u64)> {
    let state = emulator.get("state");
    let rules = state["suppression_rules"][member(1)][region].as_array().cloned().unwrap_or_default();
    rules.iter().map(|r| (r["name"].as_str().unwrap().to_owned(), r["rank"].as_u64().unwrap())).collect()
}

fn ranked(names: &[&str]) -> Vec<(String, u64)> {
    names.iter().enumerate().map(|(i, n)| (n.to_string(), i as u64 + 1)).collect()
}


#[test]
fn the_admin_holds_the_planned_rules_in_plan_order_in_every_region_and_only_those_it_is_asked_to() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    // An older script's rule, with the deprecated condition names, under a planned name.
    emulator.boto3_as(&member(1), r#"
gd = client("guardduty", "us-east-1")
detector = gd.create_detector(Enable=True)["DetectorId"]
gd.create_filter(DetectorId=detector, Name="low-noise", Action="ARCHIVE", Description="low-noise findings",
                 FindingCriteria={"Criterion": {"severity": {"Lt": 4}, "resource.resourceType": {"Eq": ["low-noise"]}}})
"#);
    let two = plan(&["low-noise", "scanner"], false);
    emulator.reset_counts();
    let dry = with_plan(&emulator, &two, &["rollout", "--dry-run"]);
    assert_eq!(dry.code(), 0, "{}\n{}", dry.stdout(), dry.stderr());
    assert_eq!(emulator.mutating_calls(), 0);
    assert!(dry.stdout().contains("create suppression rule (3, would change)"), "{}", dry.stdout());

    let first = with_plan(&emulator, &two, &["rollout", "--detail"]);
    assert_eq!(first.code(), 0, "{}", first.stdout());
    assert_eq!(emulator.calls("CreateFilter", None), 3, "the older script's rule is the planned one");
    assert_eq!(emulator.calls("UpdateFilter", None), 0, "Lt reads as LessThan: no drift");
    for region in REGIONS {
        assert_eq!(rules(&emulator, region), ranked(&["low-noise", "scanner"]), "{region}");
    }
    let scanner = &emulator.get("state")["suppression_rules"][member(1)]["eu-west-1"][1];
    assert_eq!(scanner["action"], "ARCHIVE");
    assert_eq!(scanner["criterion"], json!({"severity": {"lessThan": 4}, "resource.resourceType": {"equals": ["scanner"]}}));

    emulator.reset_counts();
    assert_eq!(with_plan(&emulator, &two, &["rollout"]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0, "a rerun changes nothing");

    emulator.reset_counts();
    let three = plan(&["low-noise", "pentest", "scanner"], false);
    assert_eq!(with_plan(&emulator, &three, &["rollout"]).code(), 0);
    assert_eq!((emulator.calls("CreateFilter", None), emulator.mutating_calls()), (2, 2), "one call a region: GuardDuty moves the rest");
    for region in REGIONS {
        assert_eq!(rules(&emulator, region), ranked(&["low-noise", "pentest", "scanner"]), "{region}");
    }

    emulator.boto3_as(&member(1), r#"
gd = client("guardduty", "us-east-1")
detector = gd.list_detectors()["DetectorIds"][0]
gd.create_filter(DetectorId=detector, Name="manual", Rank=1, FindingCriteria={"Criterion": {"type": {"Equals": ["Recon:EC2/Portscan"]}}})
"#);
    let audit = with_plan(&emulator, &three, &["audit", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let failing: Vec<(String, String)> = failing(&report).into_iter().map(|(control, region, _)| (control, region)).collect();
    assert_eq!(failing, [("OG.Org.SuppressionRules".to_owned(), "us-east-1".to_owned())], "{report}");
    assert_eq!(with_plan(&emulator, &three, &["rollout"]).code(), 0);
    assert_eq!(rules(&emulator, "us-east-1"), ranked(&["low-noise", "pentest", "scanner", "manual"]), "kept, below the planned rules");
    emulator.reset_counts();
    assert_eq!(with_plan(&emulator, &plan(&["low-noise", "pentest", "scanner"], true), &["rollout"]).code(), 0);
    assert_eq!((emulator.calls("DeleteFilter", Some((&member(1), "us-east-1"))), emulator.mutating_calls()), (1, 1), "pruned when asked");

    emulator.boto3_as(&member(1), r#"
gd = client("guardduty", "eu-west-1")
detector = gd.list_detectors()["DetectorIds"][0]
gd.create_filter(DetectorId=detector, Name="keep-me", FindingCriteria={"Criterion": {"type": {"Equals": ["Recon:EC2/Portscan"]}}})
"#);
    let teardown = with_plan(&emulator, &three, &["teardown", "--only", "central", "--yes"]);
    assert_eq!(teardown.code(), 0, "{}\n{}", teardown.stdout(), teardown.stderr());
    assert_eq!(rules(&emulator, "us-east-1"), vec![]);
    assert_eq!(rules(&emulator, "eu-west-1"), ranked(&["keep-me"]), "a rule the plan does not name stays");
}
