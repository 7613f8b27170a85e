//! One row per account-region-control, for spreadsheets.

use super::AuditReport;
use crate::safe::csv_cell;

pub fn render(report: &AuditReport) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = ["finding_id", "account", "account_name", "region", "control", "verdict", "expected", "actual", "reason", "baseline"];
    writer.write_record(header).expect("writing to memory");
    let labels = report.baseline.as_ref().map(|b| b.labels()).unwrap_or_default();
    for r in &report.results {
        let baseline = labels.get(r.finding_id.as_str()).map_or("", |l| l.as_str());
        let cells = [
            r.finding_id.as_str(),
            r.account.as_str(),
            report.name(&r.account),
            r.region.as_ref().map_or("global", |g| g.as_str()),
            r.control.as_str(),
            r.verdict.as_str(),
            r.expected.as_deref().unwrap_or(""),
            r.actual.as_deref().unwrap_or(""),
            r.reason.as_deref().unwrap_or(""),
            baseline,
        ];
        writer.write_record(cells.map(csv_cell).iter().map(|c| c.as_bytes())).expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("flushing to memory")).expect("csv of utf-8 strings")
}
