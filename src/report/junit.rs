//! JUnit XML: one testcase per account-region-control, so CI systems show the audit.
//! FAIL is a failure carrying expected and actual; NOT_EVALUATED is skipped, with why.

use crate::safe::xml_text as xml;
use std::collections::BTreeMap;
use std::fmt::Write;

use super::AuditReport;
use crate::audit::{ControlResult, Verdict};

pub fn render(report: &AuditReport) -> String {
    let mut by_control: BTreeMap<&str, Vec<&ControlResult>> = BTreeMap::new();
    for result in &report.results {
        by_control.entry(&result.control).or_default().push(result);
    }
    let count = |verdict| report.count(verdict);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"orgguard audit\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" timestamp=\"{}\">",
        report.results.len(),
        count(Verdict::Fail),
        count(Verdict::NotEvaluated),
        xml(&report.metadata.generated_at)
    );
    for (control, results) in by_control {
        let failures = results.iter().filter(|r| r.verdict == Verdict::Fail).count();
        let skipped = results.iter().filter(|r| r.verdict == Verdict::NotEvaluated).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
            xml(control),
            results.len()
        );
        for r in results {
            let region = r.region.as_ref().map_or("global", |g| g.as_str());
            let _ = write!(out, "    <testcase classname=\"{}.{region}\" name=\"{}\"", r.account, xml(control));
            match r.verdict {
                Verdict::Pass => out.push_str("/>\n"),
                Verdict::Fail => {
                    let expected = r.expected.as_deref().unwrap_or("");
                    let actual = r.actual.as_deref().unwrap_or("");
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"expected {}, actual {}\" type=\"drift\">expected: {}\nactual: {}</failure>\n    </testcase>",
                        xml(expected),
                        xml(actual),
                        xml(expected),
                        xml(actual)
                    );
                }
                Verdict::NotEvaluated => {
                    let _ = writeln!(out, ">\n      <skipped message=\"{}\"/>\n    </testcase>", xml(r.reason.as_deref().unwrap_or("")));
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

