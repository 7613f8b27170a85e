//! placeholder

use super::AuditReport;

pub fn render(report: &AuditReport) -> String {
    let _ = report;
    String::new()
}
