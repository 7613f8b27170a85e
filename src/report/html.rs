//! The self-contained HTML report: one file that opens offline. The summary, the
//! per-control table and the run's metadata are static HTML; the accounts x regions
//! matrix is drawn by the inline script from a compact JSON block, a page of rows at a
//! time, so that 5000 accounts x 17 regions (1.6 million results) stay about 5 MB and
//! show their first page in under a second (measured by `tests/report_html.rs`).
//!
//! The JSON block (`<script type="application/json" id="data">`) holds index tables, not
//! results: `columns` ("global" first when account-level controls exist, then regions),
//! `controls` (ids), `accounts` and their `names` ("" where unknown); `cells`, row-major accounts x columns, each the 1-based
//! index of the set in `sets` of controls judged in that cell (0: nothing judged);
//! `details`, sorted by cell then control, only for results that are not a plain PASS:
//! `[cell, control, verdict, expected, actual, reason, baseline, finding_id]`, where the
//! three texts index `strings` (0 is "none") and the codes are those of [`verdict_code`]
//! and [`baseline_codes`]. A PASS is a judged control with no detail.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use serde::Serialize;

use super::{AuditReport, BaselineComparison};
use crate::audit::Verdict;

pub fn render(report: &AuditReport) -> String {
    let matrix = Matrix::new(report);
    let data = serde_json::to_string(&matrix.data).expect("the matrix serializes");
    let meta = &report.metadata;
    let mut html = String::with_capacity(data.len() + STYLE.len() + SCRIPT.len() + 16 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>orgguard audit: {plan} ({generated})</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        plan = escape(&meta.plan),
        generated = escape(&meta.generated_at),
    );
    header(&mut html, report);
    summary(&mut html, report, &matrix);
    runtime_coverage(&mut html, report);
    html.push_str(MATRIX_SECTION);
    let _ = write!(
        html,
        "<script type=\"application/json\" id=\"data\">{}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        script_safe(&data)
    );
    html
}

fn header(html: &mut String, report: &AuditReport) {
    let meta = &report.metadata;
    let regions: Vec<&str> = meta.regions.iter().map(|r| r.as_str()).collect();
    let mut rows = vec![
        ("Tool", format!("{} {}", meta.tool, meta.tool_version)),
        ("Generated at", meta.generated_at.clone()),
        ("Plan", meta.plan.clone()),
        ("Plan SHA-256", meta.plan_sha256.clone()),
        ("Accounts", meta.accounts.to_string()),
        ("Regions", format!("{} ({})", regions.len(), regions.join(", "))),
    ];
    if let Some(baseline) = &report.baseline {
        rows.push(("Baseline", format!("the result generated at {}", baseline.baseline_generated_at)));
    }
    let _ = write!(html, "<header>\n<h1>orgguard audit: {}</h1>\n<dl id=\"metadata\">", escape(&meta.plan));
    for (name, value) in rows {
        let _ = write!(html, "<dt>{name}</dt><dd>{}</dd>", escape(&value));
    }
    html.push_str("</dl>\n</header>\n");
}

fn summary(html: &mut String, report: &AuditReport, matrix: &Matrix) {
    let [pass, not_evaluated, fail] = matrix.totals();
    html.push_str("<section id=\"summary\">\n<div class=\"cards\">");
    let _ = write!(
        html,
        "<div class=\"card\" id=\"coverage\" title=\"PASS / (PASS + FAIL)\"><b>{}</b>coverage</div>\
         <div class=\"card pass\"><b>{pass}</b>PASS</div>\
         <div class=\"card fail\"><b>{fail}</b>FAIL</div>\
         <div class=\"card ne\"><b>{not_evaluated}</b>NOT_EVALUATED</div>",
        coverage(pass, fail)
    );
    if let Some(baseline) = &report.baseline {
        let _ = write!(
            html,
            "<div class=\"card\" id=\"baseline\" title=\"compared with the result generated at {}\">\
             <b>{} / {} / {}</b>new failures / resolved / still failing</div>",
            escape(&baseline.baseline_generated_at),
            baseline.new_failures.len(),
            baseline.resolved.len(),
            baseline.still_failing.len(),
        );
    }
    html.push_str(
        "</div>\n<h2>By control</h2>\n<table id=\"controls\">\n<thead><tr><th>Control</th><th>Description</th>\
         <th>Mapping</th><th>PASS</th><th>FAIL</th><th>NOT_EVALUATED</th><th>Coverage</th></tr></thead>\n<tbody>\n",
    );
    for (index, id) in matrix.data.controls.iter().enumerate() {
        let [pass, not_evaluated, fail] = matrix.counts[index];
        let (description, mapping) =
            report.control(id).map_or(("", ""), |c| (c.description.as_str(), c.mapping.as_str()));
        let _ = writeln!(
            html,
            "<tr data-control=\"{id}\"><td>{id}</td><td>{}</td><td>{}</td><td class=\"n\">{pass}</td>\
             <td class=\"n\">{fail}</td><td class=\"n\">{not_evaluated}</td><td class=\"n\">{}</td></tr>",
            escape(description),
            escape(mapping),
            coverage(pass, fail),
            id = escape(id),
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

/// Runtime Monitoring's coverage, when the audit read it: per account, region and resource
/// type, the healthy and unhealthy resources, the unhealthy first, each with GuardDuty's issue.
fn runtime_coverage(html: &mut String, report: &AuditReport) {
    if report.coverage.is_empty() {
        return;
    }
    let mut rows: Vec<_> = report.coverage.iter().collect();
    rows.sort_by_key(|row| row.unhealthy == 0);
    html.push_str(
        "<section id=\"runtime-coverage\">\n<h2>Runtime Monitoring coverage</h2>\n<table>\n<thead><tr><th>Account</th>\
         <th>Region</th><th>Type</th><th>HEALTHY</th><th>UNHEALTHY</th><th>Issues</th></tr></thead>\n<tbody>\n",
    );
    for row in rows {
        let name = report.name(&row.account);
        let _ = writeln!(
            html,
            "<tr{}><td>{}{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            if row.unhealthy > 0 { " class=\"fail\"" } else { "" },
            row.account,
            if name.is_empty() { String::new() } else { format!(" ({})", escape(name)) },
            row.region,
            escape(&row.resource_type),
            row.healthy,
            row.unhealthy,
            escape(&row.issues.join("; ")),
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

/// PASS / (PASS + FAIL) to a tenth of a percent, rounded down so that a single failure
/// among millions never shows as 100.0%.
fn coverage(pass: usize, fail: usize) -> String {
    match pass + fail {
        0 => "n/a".to_owned(),
        judged => {
            let tenths = pass * 1000 / judged;
            format!("{}.{}%", tenths / 10, tenths % 10)
        }
    }
}

/// The code of a verdict in the JSON block; 0 is an empty cell. The order is severity, so
/// the script takes the worst verdict of a cell as the largest code.
fn verdict_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Pass => 1,
        Verdict::NotEvaluated => 2,
        Verdict::Fail => 3,
    }
}

/// Hashed before sorted: a large organization's million results name a few thousand
/// distinct accounts, a few regions and controls.
fn sorted_distinct<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut distinct: Vec<&str> = names.collect::<HashSet<_>>().into_iter().collect();
    distinct.sort_unstable();
    distinct
}

/// Finding id -> baseline code (1 new, 2 still failing, 3 resolved).
fn baseline_codes(baseline: Option<&BaselineComparison>) -> HashMap<&str, u8> {
    baseline.map(|b| b.labels().into_iter().map(|(id, label)| (id, label as u8)).collect()).unwrap_or_default()
}

#[derive(Serialize)]
struct Data<'a> {
    columns: Vec<&'a str>,
    controls: Vec<&'a str>,
    accounts: Vec<&'a str>,
    /// Each account's name, "" where unknown, in `accounts` order.
    names: Vec<&'a str>,
    sets: Vec<Vec<usize>>,
    cells: Vec<usize>,
    strings: Vec<&'a str>,
    details: Vec<Detail<'a>>,
}

/// `[cell, control, verdict, expected, actual, reason, baseline, finding_id]`: an array,
/// not an object, because there are tens of thousands of them.
#[derive(Serialize)]
struct Detail<'a>(usize, usize, u8, usize, usize, usize, u8, &'a str);

struct Matrix<'a> {
    data: Data<'a>,
    /// Per control, in `data.controls` order: [PASS, NOT_EVALUATED, FAIL].
    counts: Vec<[usize; 3]>,
}

impl<'a> Matrix<'a> {
    fn new(report: &'a AuditReport) -> Self {
        let results = &report.results;
        let has_global = results.iter().any(|r| r.region.is_none());
        let planned = report.metadata.regions.iter().map(|r| r.as_str());
        let regions = sorted_distinct(planned.chain(results.iter().filter_map(|r| r.region.as_ref().map(|r| r.as_str()))));
        let columns: Vec<&str> = has_global.then_some("global").into_iter().chain(regions).collect();
        let accounts = sorted_distinct(results.iter().map(|r| r.account.as_str()));
        // The plan's controls in report order, then any control only the results name.
        let mut controls: Vec<&str> = report.controls.iter().map(|c| c.id.as_str()).collect();
        let named = sorted_distinct(results.iter().map(|r| r.control.as_str()));
        let unlisted: Vec<&str> = named.into_iter().filter(|id| !controls.contains(id)).collect();
        controls.extend(unlisted);

        let index = |names: &[&'a str]| -> HashMap<&'a str, usize> {
            names.iter().enumerate().map(|(i, name)| (*name, i)).collect()
        };
        let (column_index, account_index, control_index) = (index(&columns), index(&accounts), index(&controls));
        let baseline = baseline_codes(report.baseline.as_ref());

        let mut judged: Vec<Vec<usize>> = vec![Vec::new(); accounts.len() * columns.len()];
        let mut counts = vec![[0; 3]; controls.len()];
        let mut details = Vec::new();
        for result in results {
            let column = column_index[result.region.as_ref().map_or("global", |r| r.as_str())];
            let cell = account_index[result.account.as_str()] * columns.len() + column;
            let control = control_index[result.control.as_str()];
            let code = verdict_code(result.verdict);
            judged[cell].push(control);
            counts[control][usize::from(code) - 1] += 1;
            let label = baseline.get(result.finding_id.as_str()).copied().unwrap_or(0);
            if result.verdict != Verdict::Pass || label != 0 {
                let texts = [&result.expected, &result.actual, &result.reason].map(|t| t.as_deref().unwrap_or(""));
                details.push((cell, control, code, texts, label, result.finding_id.as_str()));
            }
        }
        // Sorted before the strings are numbered, so the file depends on the results only,
        // not on their order.
        details.sort_unstable_by_key(|&(cell, control, ..)| (cell, control));
        let mut strings = Interner::default();
        let details = details
            .into_iter()
            .map(|(cell, control, code, [expected, actual, reason], label, finding)| {
                Detail(cell, control, code, strings.id(expected), strings.id(actual), strings.id(reason), label, finding)
            })
            .collect();

        let mut sets: BTreeMap<Vec<usize>, usize> = BTreeMap::new();
        let mut set_list = Vec::new();
        let cells = judged
            .into_iter()
            .map(|mut set| {
                if set.is_empty() {
                    return 0;
                }
                set.sort_unstable();
                *sets.entry(set).or_insert_with_key(|set| {
                    set_list.push(set.clone());
                    set_list.len()
                })
            })
            .collect();

        let by_id: HashMap<&str, &str> = report.account_names.iter().map(|(a, n)| (a.as_str(), n.as_str())).collect();
        let names = accounts.iter().map(|id| by_id.get(id).copied().unwrap_or("")).collect();
        let data = Data { columns, controls, accounts, names, sets: set_list, cells, strings: strings.strings, details };
        Self { data, counts }
    }

    /// [PASS, NOT_EVALUATED, FAIL] over every control.
    fn totals(&self) -> [usize; 3] {
        self.counts.iter().fold([0; 3], |sum, c| [sum[0] + c[0], sum[1] + c[1], sum[2] + c[2]])
    }
}

/// The string table of the details: reasons and expected/actual values repeat across
/// thousands of cells, so each is written once. Index 0 is the absent text.
struct Interner<'a> {
    ids: HashMap<&'a str, usize>,
    strings: Vec<&'a str>,
}

impl Default for Interner<'_> {
    fn default() -> Self {
        Self { ids: HashMap::from([("", 0)]), strings: vec![""] }
    }
}

impl<'a> Interner<'a> {
    fn id(&mut self, text: &'a str) -> usize {
        *self.ids.entry(text).or_insert_with(|| {
            self.strings.push(text);
            self.strings.len() - 1
        })
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that cannot end its `<script>` element (`</script>`) or open a comment (`<!--`)
/// whatever the strings in it. These three characters occur only inside JSON strings,
/// where the \u escapes mean the same.
fn script_safe(json: &str) -> String {
    json.replace('&', "\\u0026").replace('<', "\\u003c").replace('>', "\\u003e")
}

const MATRIX_SECTION: &str = r##"<section id="matrix-section">
<h2>Accounts x regions</h2>
<form id="filters" onsubmit="return false">
<label>Status <select name="status"><option value="">all</option><option>FAIL</option><option>NOT_EVALUATED</option><option>PASS</option></select></label>
<label>Control <select name="control"><option value="">all</option></select></label>
<label id="baseline-filter" hidden>Baseline <select name="baseline"><option value="">all</option><option>new</option><option>still failing</option><option>resolved</option></select></label>
<label>Account <input name="account" type="search" placeholder="account id or name" size="16"></label>
<span class="legend"><i class="fail"></i>FAIL <i class="ne"></i>NOT_EVALUATED <i class="pass"></i>PASS <i class="none"></i>not judged</span>
</form>
<p id="shown"></p>
<noscript><p>The matrix needs JavaScript; the summary above and the JSON report hold every result.</p></noscript>
<table id="matrix"><thead></thead><tbody></tbody></table>
<button id="more" type="button" hidden></button>
</section>
"##;

const STYLE: &str = include_str!("html/style.css");

/// The matrix: filters read the index tables, and only the first page of matching rows is
/// built, more on request, so the DOM stays small whatever the organization's size.
const SCRIPT: &str = include_str!("html/script.js");
