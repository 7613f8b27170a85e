//! Runtime Monitoring coverage on the emulator: the audit reads it from each region's
//! delegated admin in calls that follow the resources, not the accounts, and an unhealthy
//! cluster fails its account's coverage control, in every report format and the HTML view.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};

const REGIONS_ARG: &str = "us-east-1,eu-west-1";

fn plan() -> String {
    path_str(&root().join("plans/runtime-monitoring.toml")).to_owned()
}

#[test]
fn an_unhealthy_cluster_fails_its_accounts_coverage_and_the_read_follows_the_resources() {
    // Members 2, 4 and 6 run an EKS cluster, an ECS cluster and an EC2 instance in both
    // regions; member 6's EKS cluster is UNHEALTHY (coverage_ext.seed).
    let emulator = Emulator::start(&["--accounts", "6", "--coverage-every", "2"]);
    let run = emulator.orgguard(&["rollout", "--plan", &plan(), "--regions", REGIONS_ARG]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let admin = member(1);
    emulator.post("coverage", json!({"account": admin, "region": "us-east-1", "resources": [
        {"type": "EC2", "name": "i-0123456789abcdef0", "status": "UNHEALTHY", "issue": "Agent not reporting"}]}));
    emulator.reset_counts();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("audit.json");
    let run = emulator.orgguard(&["audit", "--plan", &plan(), "--regions", REGIONS_ARG, "--format", "json"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    std::fs::write(&saved, run.stdout()).unwrap();
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(emulator.mutating_calls(), 0, "the audit is read-only");

    // One statistics call per region, and one page of ListCoverage (at most 50 resources).
    assert_eq!(emulator.calls("GetCoverageStatistics", None), 2);
    assert_eq!(emulator.calls("ListCoverage", None), 2);
    assert_eq!(emulator.calls("ListCoverage", Some((&admin, "us-east-1"))), 1, "read at the delegated admin");

    let unhealthy = "eks-100000000006: No agent reporting: the agent pod is not running on some nodes";
    let failing: Vec<(String, String, String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["control"] == "OG.Runtime.Coverage" && r["verdict"] == "FAIL")
        .map(|r| [&r["account"], &r["region"], &r["expected"], &r["actual"]].map(|v| v.as_str().unwrap().to_owned()).into())
        .collect();
    assert_eq!(
        failing,
        [
            (admin.clone(), "us-east-1".into(), "every EC2 resource HEALTHY".into(), "EC2 1 of 1 UNHEALTHY (i-0123456789abcdef0: Agent not reporting)".into()),
            (member(6), "eu-west-1".into(), "every EKS resource HEALTHY".into(), format!("EKS 1 of 1 UNHEALTHY ({unhealthy})")),
            (member(6), "us-east-1".into(), "every EKS resource HEALTHY".into(), format!("EKS 1 of 1 UNHEALTHY ({unhealthy})")),
        ]
    );
    let verdicts: BTreeMap<(String, String), String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["control"] == "OG.Runtime.Coverage")
        .map(|r| ((r["account"].as_str().unwrap().into(), r["region"].as_str().unwrap().into()), r["verdict"].as_str().unwrap().into()))
        .collect();
    assert_eq!(verdicts.len(), 7 * 2, "every account in both regions, the admin and the management account included: {verdicts:?}");
    assert_eq!(verdicts.values().filter(|v| *v == "PASS").count(), 7 * 2 - 3);

    // The report's coverage rows agree with what the emulator holds.
    let state = emulator.get("state")["coverage"].clone();
    for row in report["coverage"].as_array().unwrap() {
        let (account, region, kind) = (row["account"].as_str().unwrap(), row["region"].as_str().unwrap(), row["resource_type"].as_str().unwrap());
        let seeded: Vec<&Value> = state[account][region].as_array().unwrap().iter().filter(|r| r["type"] == kind).collect();
        let unhealthy = seeded.iter().filter(|r| r["status"] == "UNHEALTHY").count() as u64;
        assert_eq!((row["healthy"].as_u64(), row["unhealthy"].as_u64()), (Some(seeded.len() as u64 - unhealthy), Some(unhealthy)), "{row}");
    }
    assert_eq!(report["coverage"].as_array().unwrap().len(), 3 * 3 * 2 + 1, "3 members x 3 types x 2 regions, and the admin's instance");

    // Every format carries the control; the HTML report has the coverage view, unhealthy first.
    let out = dir.path().join("out");
    let run = orgguard(&["report", "--from", path_str(&saved), "--format", "csv,junit,html", "--out", path_str(&out)], None);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let csv = std::fs::read_to_string(out.join("orgguard-audit.csv")).unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains("OG.Runtime.Coverage") && l.contains(",FAIL,")).count(), 3, "{csv}");
    let junit = std::fs::read_to_string(out.join("orgguard-audit.junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), report["results"].as_array().unwrap().len());
    assert_eq!(junit.matches("<failure").count(), report["results"].as_array().unwrap().iter().filter(|r| r["verdict"] == "FAIL").count());
    let html = std::fs::read_to_string(out.join("orgguard-audit.html")).unwrap();
    let section = &html[html.find("<section id=\"runtime-coverage\">").expect("a coverage view")..];
    let section = &section[..section.find("</section>").unwrap()];
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("<tr")).collect();
    assert_eq!(rows.len(), 19);
    assert!(rows[..3].iter().all(|r| r.starts_with("<tr class=\"fail\">")) && !rows[3].contains("fail"), "{section}");
}

#[test]
fn a_region_without_covered_resources_costs_one_call_and_an_unreadable_one_is_not_evaluated() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let run = emulator.orgguard(&["rollout", "--plan", &plan(), "--regions", REGIONS_ARG]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    emulator.reset_counts();
    let run = emulator.orgguard(&["audit", "--plan", &plan(), "--regions", REGIONS_ARG, "--format", "json"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!((emulator.calls("GetCoverageStatistics", None), emulator.calls("ListCoverage", None)), (2, 0));

    // Coverage that cannot be read is not evaluated, and the audit says it could not read
    // everything (exit 1); the region's other controls are still judged.
    // (An audit policy from before coverage: it lacks guardduty:GetCoverageStatistics.)
    emulator.post("faults", json!({"denied": {"rate": 1.0, "operations": ["GetCoverageStatistics"]}}));
    let run = emulator.orgguard(&["audit", "--plan", &plan(), "--regions", REGIONS_ARG, "--format", "json"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    let rows = report["results"].as_array().unwrap();
    let coverage: Vec<&Value> = rows.iter().filter(|r| r["control"] == "OG.Runtime.Coverage").collect();
    assert_eq!(coverage.len(), 4 * 2);
    assert!(coverage.iter().all(|r| r["verdict"] == "NOT_EVALUATED" && r["reason"] == "guardduty:GetCoverageStatistics: AccessDeniedException"), "{coverage:?}");
    assert!(rows.iter().filter(|r| r["control"] != "OG.Runtime.Coverage").all(|r| r["verdict"] == "PASS"));
}

#[test]
fn a_region_that_does_not_offer_runtime_monitoring_is_not_evaluated_without_failing_the_audit() {
    let unavailable = "RUNTIME_MONITORING@eu-west-1,EKS_RUNTIME_MONITORING@eu-west-1";
    let emulator = Emulator::start(&["--accounts", "2", "--feature-unavailable", unavailable]);
    let run = emulator.orgguard(&["rollout", "--plan", &plan(), "--regions", REGIONS_ARG]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    emulator.reset_counts();
    let run = emulator.orgguard(&["audit", "--plan", &plan(), "--regions", REGIONS_ARG, "--format", "json"]);
    assert_eq!(run.code(), 0, "nothing failed and nothing could not be read: {}", run.stderr());
    assert_eq!(emulator.calls("GetCoverageStatistics", Some((&member(1), "eu-west-1"))), 0, "not asked where it is not offered");
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    let reasons: BTreeMap<String, String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["control"] == "OG.Runtime.Coverage" && r["region"] == "eu-west-1")
        .map(|r| (r["account"].as_str().unwrap().to_owned(), r["reason"].as_str().unwrap_or("judged").to_owned()))
        .collect();
    assert_eq!(reasons.len(), 3);
    assert!(reasons.values().all(|r| r == "GuardDuty does not offer Runtime Monitoring in this region"), "{reasons:?}");
}
