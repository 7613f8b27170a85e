//! placeholder

use super::AuditReport;

pub fn render_table(report: &AuditReport) -> String {
    let _ = report;
    String::new()
}
