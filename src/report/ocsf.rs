//! OCSF 1.1 Compliance Finding (class_uid 2003) records, one per result, as a JSON array.

use serde_json::{json, Value};

use super::AuditReport;
use crate::audit::{ControlResult, Verdict};

pub const OCSF_VERSION: &str = "1.1.0";
const CLASS_UID: u32 = 2003;
const CATEGORY_FINDINGS: u32 = 2;
const ACTIVITY_CREATE: u32 = 1;

pub fn render(report: &AuditReport) -> String {
    let time = chrono::DateTime::parse_from_rfc3339(&report.metadata.generated_at)
        .map_or(0, |t| t.timestamp_millis());
    let records: Vec<Value> = report.results.iter().map(|r| record(report, r, time)).collect();
    serde_json::to_string_pretty(&records).expect("records serialize") + "\n"
}

fn record(report: &AuditReport, r: &ControlResult, time: i64) -> Value {
    let control = report.control(&r.control);
    let (status_id, status, severity_id, severity) = match r.verdict {
        Verdict::Pass => (1, "Pass", 1, "Informational"),
        Verdict::Fail => (3, "Fail", 3, "Medium"),
        Verdict::NotEvaluated => (0, "Unknown", 1, "Informational"),
    };
    let detail = match r.verdict {
        Verdict::Fail => format!(
            "expected {}, actual {}",
            r.expected.as_deref().unwrap_or(""),
            r.actual.as_deref().unwrap_or("")
        ),
        Verdict::NotEvaluated => format!("not evaluated: {}", r.reason.as_deref().unwrap_or("")),
        Verdict::Pass => "as planned".to_owned(),
    };
    let region = r.region.as_ref().map(|g| g.as_str());
    let mut account = json!({"uid": r.account, "type": "AWS Account", "type_id": 10});
    if let Some(name) = report.account_names.get(&r.account) {
        account["name"] = json!(name);
    }
    json!({
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "category_uid": CATEGORY_FINDINGS,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "time": time,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "message": format!("{} {}: {}", r.control, r.verdict.as_str(), detail),
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": report.metadata.tool,
                "vendor_name": "orgguard",
                "version": report.metadata.tool_version,
            },
        },
        "finding_info": {
            "uid": r.finding_id,
            "title": control.map_or(r.control.as_str(), |c| c.description.as_str()),
            "desc": detail,
        },
        "compliance": {
            "control": r.control,
            "standards": [control.map_or("orgguard", |c| c.mapping.as_str())],
            "status_id": status_id,
            "status": status,
            "status_detail": detail,
        },
        "cloud": {
            "provider": "AWS",
            "account": account,
            "region": region,
        },
        "resources": [{
            "uid": format!("{}/{}", r.account, region.unwrap_or("global")),
            "type": "AWS GuardDuty account-region",
        }],
        "unmapped": {"plan": report.metadata.plan, "plan_sha256": report.metadata.plan_sha256},
    })
}
