//! The HTML report in a real browser: headless Chromium (Debian's `chromium` package)
//! opens the file offline and runs its script; the tests read the DOM the script built and
//! count the pixels of a screenshot. Without Chromium these tests skip, unless
//! ORGGUARD_REQUIRE_CHROMIUM is set (CI sets it), in which case they fail.
//!
//! `report_at_5000_accounts_x_17_regions` is ignored by default: it measures the size and
//! load time the report states for large organizations. Run it with
//! `cargo nextest run --release --test report_html --run-ignored only --no-capture`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orgguard::audit::{finding_id, ControlResult, Verdict};
use orgguard::control::Control;
use orgguard::model::{AccountId, Region};
use orgguard::report::{AuditReport, BaselineComparison, Format, Metadata};

const CHROMIUM: &str = "/usr/bin/chromium";
const PLAN: &str = "plans/example.toml";
const GENERATED_AT: &str = "2025-06-01T12:00:00Z";
const PLAN_SHA256: &str = "5f3c1e0b7a9d4c2e8f6a1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e";

// ---------------------------------------------------------------------------------------
// A synthetic organization: every control judged in every cell, with chosen exceptions.

enum Outcome {
    Pass,
    Fail(String, String),
    NotEvaluated(String),
}

struct Organization<'a> {
    accounts: usize,
    regions: &'a [&'a str],
    /// Judged in each region.
    regional: &'a [&'a str],
    /// Judged once per account (IAM): results without a region.
    global: &'a [&'a str],
}

fn account(index: usize) -> AccountId {
    AccountId::parse(&format!("{:012}", 100_000_000_000 + index)).unwrap()
}

impl Organization<'_> {
    fn audit(&self, generated_at: &str, judge: impl Fn(usize, Option<&str>, &str) -> Outcome) -> AuditReport {
        let regions: Vec<Region> = self.regions.iter().map(|r| Region::parse(r).unwrap()).collect();
        let mut results = Vec::new();
        for index in 0..self.accounts {
            let account = account(index);
            let cells = std::iter::once((None, self.global))
                .chain(regions.iter().map(|region| (Some(region), self.regional)));
            for (region, controls) in cells {
                for control in controls {
                    let (verdict, expected, actual, reason) = match judge(index, region.map(Region::as_str), control) {
                        Outcome::Pass => (Verdict::Pass, None, None, None),
                        Outcome::Fail(expected, actual) => (Verdict::Fail, Some(expected), Some(actual), None),
                        Outcome::NotEvaluated(reason) => (Verdict::NotEvaluated, None, None, Some(reason)),
                    };
                    results.push(ControlResult {
                        finding_id: finding_id(PLAN, control, &account, region),
                        control: (*control).to_owned(),
                        account,
                        region: region.cloned(),
                        verdict,
                        expected,
                        actual,
                        reason,
                    });
                }
            }
        }
        let controls = self
            .regional
            .iter()
            .chain(self.global)
            .map(|id| Control { id: (*id).into(), description: format!("{id} is as planned"), mapping: "orgguard".into() })
            .collect();
        AuditReport {
            metadata: Metadata {
                tool: "orgguard".into(),
                tool_version: "0.1.0".into(),
                plan: PLAN.into(),
                plan_sha256: PLAN_SHA256.into(),
                generated_at: generated_at.into(),
                accounts: self.accounts,
                regions,
            },
            controls,
            results,
            baseline: None,
            account_names: Default::default(),
            coverage: Vec::new(),
        }
    }
}

/// The report the browser tests open: 50 accounts x 3 regions, 3 regional and 2 IAM
/// controls (550 results), with these exceptions:
/// - account 2, eu-west-1, GuardDuty.1: FAIL, new since the baseline;
/// - account 5, us-east-1, GuardDuty.10: FAIL, failing in the baseline too;
/// - account 9, IAM, OG.Wiring.Policy: FAIL, new, whose finding holds markup ([`HOSTILE`]);
/// - account 3, us-east-1, GuardDuty.1: PASS, resolved since the baseline;
/// - account 7: suspended, nothing evaluated (11 results);
/// - account 12, ap-northeast-1: region not enabled (3 results).
///
/// So 3 FAIL, 14 NOT_EVALUATED, 533 PASS: coverage 533 / 536 = 99.44%, shown as 99.4%.
fn fixture() -> AuditReport {
    let organization = Organization {
        accounts: 50,
        regions: &["us-east-1", "eu-west-1", "ap-northeast-1"],
        regional: &["GuardDuty.1", "OG.Detector.Frequency", "GuardDuty.10"],
        global: &["OG.Wiring.Role", "OG.Wiring.Policy"],
    };
    let disabled = || Outcome::Fail("enabled".into(), "disabled".into());
    let mut report = organization.audit(GENERATED_AT, |account, region, control| match (account, region, control) {
        (7, ..) => Outcome::NotEvaluated("account suspended".into()),
        (12, Some("ap-northeast-1"), _) => Outcome::NotEvaluated("region not enabled: ap-northeast-1".into()),
        (2, Some("eu-west-1"), "GuardDuty.1") | (5, Some("us-east-1"), "GuardDuty.10") => disabled(),
        (9, None, "OG.Wiring.Policy") => Outcome::Fail("policy orgguard-publish as planned".into(), HOSTILE.into()),
        _ => Outcome::Pass,
    });
    let baseline = organization.audit("2025-05-01T12:00:00Z", |account, region, control| match (account, region, control) {
        (5, Some("us-east-1"), "GuardDuty.10") | (3, Some("us-east-1"), "GuardDuty.1") => disabled(),
        _ => Outcome::Pass,
    });
    report.baseline = Some(BaselineComparison::new(&baseline, &report.results));
    report
}

/// Text that would run a script, end the data block or open a comment if it were not escaped.
const HOSTILE: &str = r#"</script><script>document.title="pwned"</script><!-- & 'x'"#;

// ---------------------------------------------------------------------------------------
// Headless Chromium.

/// The browser, or None (with a message) when it is absent and not required.
fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    assert!(
        std::env::var_os("ORGGUARD_REQUIRE_CHROMIUM").is_none(),
        "ORGGUARD_REQUIRE_CHROMIUM is set but {CHROMIUM} is absent: apt-get install chromium"
    );
    eprintln!("SKIPPED: {CHROMIUM} is absent (Debian package `chromium`); set ORGGUARD_REQUIRE_CHROMIUM=1 to fail instead");
    None
}

/// Runs headless Chromium on `url` with a fresh profile and returns its stdout and wall time.
fn run_chromium(browser: &str, extra: &[&str], url: &str) -> (String, Duration) {
    let profile = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {browser}: {e}"));
    // Both pipes are drained while the browser runs: a full pipe would stall it.
    fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut out = String::new();
            pipe.read_to_string(&mut out).expect("the browser writes UTF-8");
            out
        })
    }
    let (stdout, stderr) = (drain(child.stdout.take().unwrap()), drain(child.stderr.take().unwrap()));
    // A browser that hangs must not hang the test suite.
    let deadline = start + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{browser} did not finish within 120 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(status.success(), "{browser} failed on {url}: {status}\n{stderr}");
    (stdout, elapsed)
}

/// The report written to a fresh directory, and that directory (kept while it lives).
fn written(report: &AuditReport) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    std::fs::write(&path, Format::Html.render(report)).unwrap();
    (dir, path)
}

fn url(path: &Path, hash: &str) -> String {
    format!("file://{}{hash}", path.display())
}

/// The DOM after the report's script ran, with the matrix filtered as `hash` says.
fn dom(browser: &str, path: &Path, hash: &str) -> String {
    let (dom, _) = run_chromium(browser, &["--dump-dom"], &url(path, hash));
    assert!(dom.contains("data-first-render-ms="), "the script ran to its end:\n{dom}");
    dom
}

// ---------------------------------------------------------------------------------------
// Reading the serialized DOM: attributes of tags, rows of the matrix.

type Attributes = BTreeMap<String, String>;

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\u{a0}").replace("&amp;", "&")
}

/// The attributes of the tag that starts at `html` (just after its name), up to its `>`.
fn attributes(html: &str) -> Attributes {
    let mut attributes = Attributes::new();
    let mut rest = html;
    loop {
        rest = rest.trim_start();
        if rest.starts_with('>') || rest.is_empty() {
            return attributes;
        }
        let end = rest.find(|c: char| c == '=' || c == '>' || c.is_whitespace()).unwrap_or(rest.len());
        let name = rest[..end].to_owned();
        rest = &rest[end..];
        if let Some(quoted) = rest.strip_prefix("=\"") {
            // Serialized attribute values escape `"`, so the next one ends the value.
            let close = quoted.find('"').expect("a closed attribute value");
            attributes.insert(name, unescape(&quoted[..close]));
            rest = &quoted[close + 1..];
        } else {
            attributes.insert(name, String::new());
        }
    }
}

/// Each `<tag ...>` in `html`, in order: its attributes and the text up to its closing tag.
fn elements(html: &str, tag: &str) -> Vec<(Attributes, String)> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        if !rest.starts_with([' ', '>']) {
            continue;
        }
        let attributes = attributes(rest);
        let body_start = rest.find('>').unwrap() + 1;
        let body_end = rest.find(&close).unwrap_or(rest.len());
        found.push((attributes, rest[body_start..body_end.max(body_start)].to_owned()));
    }
    found
}

fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    unescape(&text)
}

struct Row {
    account: String,
    /// region (or "global") -> (data-status, title)
    cells: BTreeMap<String, (String, String)>,
}

fn matrix_rows(dom: &str) -> Vec<Row> {
    elements(dom, "tr")
        .into_iter()
        .filter(|(attributes, _)| attributes.get("class").map(String::as_str) == Some("acct"))
        .map(|(attributes, body)| Row {
            account: attributes["data-account"].clone(),
            cells: elements(&body, "td")
                .into_iter()
                .map(|(td, _)| (td["data-region"].clone(), (td["data-status"].clone(), td["title"].clone())))
                .collect(),
        })
        .collect()
}

fn element_text(dom: &str, tag: &str, id: &str) -> String {
    let (_, body) = elements(dom, tag)
        .into_iter()
        .find(|(attributes, _)| attributes.get("id").map(String::as_str) == Some(id))
        .unwrap_or_else(|| panic!("no <{tag} id={id}>"));
    text_of(&body)
}

// ---------------------------------------------------------------------------------------
// Without a browser: the file itself.

#[test]
fn the_file_is_self_contained_escaped_and_deterministic() {
    let report = fixture();
    let html = Format::Html.render(&report);
    for external in ["src=", "href=", "http://", "https://", "@import", "url("] {
        assert!(!html.contains(external), "no external resource ({external})");
    }
    assert_eq!(html.matches("</script>").count(), 2, "only the data block and the script end a script element");
    assert!(!html.contains("<!--"), "no text opens a comment inside the data block");
    assert!(html.contains(r#"\u003c/script\u003e\u003cscript\u003edocument.title=\"pwned\"\u003c/script\u003e\u003c!-- \u0026 'x'"#));

    let mut shuffled = report.clone();
    shuffled.results.reverse();
    assert_eq!(Format::Html.render(&shuffled), html, "the same results in another order give the same file");
}

/// The data block the script draws the matrix from, decoded.
fn data_block(html: &str) -> serde_json::Value {
    let start = html.find(r#"<script type="application/json" id="data">"#).unwrap();
    let json = &html[start..].split_once('>').unwrap().1;
    serde_json::from_str(json.split_once("</script>").unwrap().0).unwrap()
}

#[test]
fn the_data_block_holds_index_tables_and_only_the_results_that_are_not_a_plain_pass() {
    let organization =
        Organization { accounts: 2, regions: &["us-east-1"], regional: &["GuardDuty.1", "GuardDuty.10"], global: &["OG.Wiring.Role"] };
    let mut report = organization.audit(GENERATED_AT, |account, region, control| match (account, region, control) {
        (0, Some(_), "GuardDuty.10") => Outcome::Fail("enabled".into(), "disabled".into()),
        (1, None, _) => Outcome::NotEvaluated("sts:AssumeRole: AccessDenied".into()),
        _ => Outcome::Pass,
    });
    let baseline = organization.audit("2025-05-01T12:00:00Z", |account, region, control| match (account, region, control) {
        (1, Some(_), "GuardDuty.1") => Outcome::Fail("enabled".into(), "disabled".into()),
        _ => Outcome::Pass,
    });
    report.baseline = Some(BaselineComparison::new(&baseline, &report.results));
    report.account_names.insert(account(1), "security".into());
    let id = |account: usize, region: Option<&str>, control: &str| {
        finding_id(PLAN, control, &self::account(account), region.map(|r| Region::parse(r).unwrap()).as_ref())
    };
    // Cells are row-major (account, column): 0 = 100000000000 global, 1 = its us-east-1, ...
    assert_eq!(
        data_block(&Format::Html.render(&report)),
        serde_json::json!({
            "columns": ["global", "us-east-1"],
            "controls": ["GuardDuty.1", "GuardDuty.10", "OG.Wiring.Role"],
            "accounts": ["100000000000", "100000000001"],
            "names": ["", "security"],
            "sets": [[2], [0, 1]],
            "cells": [1, 2, 1, 2],
            "strings": ["", "enabled", "disabled", "sts:AssumeRole: AccessDenied"],
            "details": [
                // [cell, control, verdict (1 PASS, 2 NOT_EVALUATED, 3 FAIL), expected, actual, reason,
                //  baseline (1 new, 2 still failing, 3 resolved), finding id]
                [1, 1, 3, 1, 2, 0, 1, id(0, Some("us-east-1"), "GuardDuty.10")],
                [2, 2, 2, 0, 0, 3, 0, id(1, None, "OG.Wiring.Role")],
                [3, 0, 1, 0, 0, 0, 3, id(1, Some("us-east-1"), "GuardDuty.1")],
            ],
        })
    );
}

// ---------------------------------------------------------------------------------------
// In Chromium.

#[test]
fn chromium_renders_the_summary_and_the_matrix_of_50_accounts_x_3_regions() {
    let Some(browser) = chromium() else { return };
    let report = fixture();
    let (_dir, path) = written(&report);
    let dom = dom(browser, &path, "");

    assert!(dom.contains("<title>orgguard audit: plans/example.toml (2025-06-01T12:00:00Z)</title>"), "the markup in a result did not run");
    assert!(!dom.contains("pwned\"</script>") && !dom.contains("<script>document.title"), "no element was injected");

    let metadata = element_text(&dom, "dl", "metadata");
    for expected in ["Toolorgguard 0.1.0", "Generated at2025-06-01T12:00:00Z", "Planplans/example.toml"] {
        assert!(metadata.contains(expected), "{expected} in {metadata}");
    }
    assert!(metadata.contains(&format!("Plan SHA-256{PLAN_SHA256}")), "{metadata}");
    assert!(metadata.contains("Regions3 (us-east-1, eu-west-1, ap-northeast-1)"), "{metadata}");
    assert!(metadata.contains("Baselinethe result generated at 2025-05-01T12:00:00Z"), "{metadata}");

    assert_eq!(element_text(&dom, "div", "coverage"), "99.4%coverage");
    let summary = element_text(&dom, "section", "summary");
    for expected in ["533PASS", "3FAIL", "14NOT_EVALUATED", "2 / 1 / 1new failures / resolved / still failing"] {
        assert!(summary.contains(expected), "{expected} in {summary}");
    }
    // GuardDuty.1 has 150 results: 1 FAIL (account 2), 4 NOT_EVALUATED (account 7 in three
    // regions, account 12 in one), 145 PASS: 145 / 146 = 99.32%.
    let controls = elements(&dom, "tr")
        .into_iter()
        .find(|(attributes, _)| attributes.get("data-control").map(String::as_str) == Some("GuardDuty.1"))
        .map(|(_, body)| text_of(&body))
        .unwrap();
    assert_eq!(controls, "GuardDuty.1GuardDuty.1 is as plannedorgguard1451499.3%");

    let header = text_of(&elements(&dom, "thead").last().unwrap().1);
    assert_eq!(header, "accountglobalap-northeast-1eu-west-1us-east-1");
    let rows = matrix_rows(&dom);
    assert_eq!(rows.len(), 50, "every account has its row");
    assert_eq!(rows[2].account, "100000000002");
    assert_eq!(element_text(&dom, "p", "shown"), "Showing 50 of 50 accounts.");

    let statuses = |row: &Row| -> Vec<(String, String)> {
        row.cells.iter().map(|(region, (status, _))| (region.clone(), status.clone())).collect()
    };
    let all = |status: &str| -> Vec<(String, String)> {
        ["ap-northeast-1", "eu-west-1", "global", "us-east-1"].map(|r| (r.to_owned(), status.to_owned())).to_vec()
    };
    let with = |region: &str, status: &str| -> Vec<(String, String)> {
        let mut cells = all("PASS");
        cells.iter_mut().filter(|(r, _)| r == region).for_each(|cell| cell.1 = status.to_owned());
        cells
    };
    assert_eq!(statuses(&rows[0]), all("PASS"));
    assert_eq!(statuses(&rows[2]), with("eu-west-1", "FAIL"));
    assert_eq!(rows[2].cells["eu-west-1"].1, "100000000002 eu-west-1\nGuardDuty.1 FAIL [new]: expected enabled, found disabled");
    assert_eq!(statuses(&rows[5]), with("us-east-1", "FAIL"));
    assert_eq!(rows[5].cells["us-east-1"].1, "100000000005 us-east-1\nGuardDuty.10 FAIL [still failing]: expected enabled, found disabled");
    assert_eq!(statuses(&rows[3]), all("PASS"));
    assert_eq!(rows[3].cells["us-east-1"].1, "100000000003 us-east-1\nGuardDuty.1 PASS [resolved]");
    assert_eq!(statuses(&rows[9]), with("global", "FAIL"));
    assert_eq!(
        rows[9].cells["global"].1,
        format!("100000000009 global\nOG.Wiring.Policy FAIL [new]: expected policy orgguard-publish as planned, found {HOSTILE}")
    );
    assert_eq!(statuses(&rows[7]), all("NOT_EVALUATED"));
    assert_eq!(
        rows[7].cells["us-east-1"].1,
        "100000000007 us-east-1\nGuardDuty.1 NOT_EVALUATED: account suspended\n\
         OG.Detector.Frequency NOT_EVALUATED: account suspended\nGuardDuty.10 NOT_EVALUATED: account suspended"
    );
    assert_eq!(statuses(&rows[12]), with("ap-northeast-1", "NOT_EVALUATED"));
}

#[test]
fn chromium_filters_the_matrix_by_status_control_account_and_baseline() {
    let Some(browser) = chromium() else { return };
    let (dir, _path) = written(&fixture());
    let ids = |indexes: &[usize]| -> Vec<String> { indexes.iter().map(|i| account(*i).to_string()).collect() };
    // Filters as a link carries them, in the URL's fragment: one frame of the report each.
    let cases = [
        ("#status=FAIL", ids(&[2, 5, 9])),
        ("#status=NOT_EVALUATED", ids(&[7, 12])),
        ("#status=NOT_EVALUATED&control=OG.Wiring.Role", ids(&[7])),
        ("#status=FAIL&control=OG.Wiring.Policy", ids(&[9])),
        ("#baseline=new", ids(&[2, 9])),
        ("#baseline=resolved", ids(&[3])),
        ("#account=10000000001", ids(&(10..20).collect::<Vec<_>>())),
        ("#status=PASS&account=100000000007", ids(&[])),
    ];
    let frames: String =
        cases.iter().map(|(hash, _)| format!(r#"<iframe src="report.html{}"></iframe>"#, hash.replace('&', "&amp;"))).collect();
    // And the same filters chosen in the form, in a frame opened without any.
    let result = in_page(
        browser,
        dir.path(),
        &format!(r#"{frames}<iframe id="form" src="report.html"></iframe>"#),
        r##"const accounts = (doc) => [...doc.querySelectorAll("#matrix tr.acct")].map((tr) => tr.dataset.account);
        const linked = [...document.querySelectorAll("iframe:not(#form)")].map((frame) => accounts(frame.contentDocument));
        const doc = document.getElementById("form").contentDocument;
        const choose = (name, value) => {
          doc.forms.filters.elements[name].value = value;
          doc.forms.filters.elements[name].dispatchEvent(new Event("input", { bubbles: true }));
        };
        choose("status", "FAIL");
        choose("control", "GuardDuty.1");
        const chosen = {
          accounts: accounts(doc),
          cells: [...doc.querySelectorAll("#matrix tr.acct td")].map((td) => td.dataset.status),
          shown: doc.getElementById("shown").textContent,
          hash: doc.location.hash,
        };
        choose("account", "100000000009");
        const none = accounts(doc);
        return { linked, chosen, none };"##,
    );
    for ((hash, expected), shown) in cases.iter().zip(result["linked"].as_array().unwrap()) {
        assert_eq!(shown, &serde_json::json!(expected), "{hash}");
    }
    assert_eq!(
        result["chosen"],
        serde_json::json!({
            "accounts": ids(&[2]),
            "cells": ["NONE", "PASS", "FAIL", "PASS"],
            "shown": "Showing 1 of 1 accounts (50 before filtering).",
            "hash": "#status=FAIL&control=GuardDuty.1",
        }),
        "GuardDuty.1 is not judged at account level (global); the other cells show its verdict"
    );
    assert_eq!(result["none"], serde_json::json!([]));
}

/// Runs `script`, the body of a JavaScript function, in a page of our own in `dir` once
/// that page and `body` (an image or a frame of the report) have loaded, and returns what
/// the function returned, as JSON. File access between file:// pages lets the script read
/// the report's document and the screenshot's pixels.
fn in_page(browser: &str, dir: &Path, body: &str, script: &str) -> serde_json::Value {
    let page = dir.join("driver.html");
    let html = format!(
        "<!DOCTYPE html><body>{body}<pre id=\"out\"></pre><script>\nwindow.addEventListener(\"load\", () => {{\n\
         document.getElementById(\"out\").textContent = JSON.stringify((() => {{\n{script}\n}})());\n}});\n</script></body>"
    );
    std::fs::write(&page, html).unwrap();
    let (dom, _) = run_chromium(browser, &["--dump-dom", "--allow-file-access-from-files"], &url(&page, ""));
    let out = element_text(&dom, "pre", "out");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: the page's result: {out:?}\n{dom}"))
}

const REPORT_FRAME: &str = r#"<iframe id="report" src="report.html" width="1400" height="1000"></iframe>"#;

#[test]
fn chromium_expands_a_cell_and_filters_by_a_clicked_control() {
    let Some(browser) = chromium() else { return };
    let (dir, _path) = written(&fixture());
    let result = in_page(
        browser,
        dir.path(),
        REPORT_FRAME,
        r##"const doc = document.getElementById("report").contentDocument;
        const cell = () => doc.querySelector('tr[data-account="100000000009"] td[data-region="global"]');
        const details = () => [...doc.querySelectorAll("#matrix tr.detail")].map((tr) => tr.textContent);
        cell().click();
        const opened = details();
        cell().click();
        const closed = details();
        doc.querySelector('#controls tr[data-control="GuardDuty.10"] td').click();
        const statuses = [...doc.querySelectorAll('tr[data-account="100000000005"] td')].map((td) => td.dataset.status);
        return { opened, closed, control: doc.querySelector("#filters select[name=control]").value, statuses, hash: doc.location.hash };"##,
    );
    assert_eq!(
        result,
        serde_json::json!({
            "opened": [format!(
                "100000000009 globalOG.Wiring.Policy FAIL [new]: expected policy orgguard-publish as planned, found {HOSTILE} {}1 controls PASS",
                finding_id(PLAN, "OG.Wiring.Policy", &account(9), None)
            )],
            "closed": [],
            "control": "GuardDuty.10",
            "statuses": ["NONE", "PASS", "PASS", "FAIL"],
            "hash": "#control=GuardDuty.10",
        })
    );
}

#[test]
fn chromium_shows_a_large_matrix_a_page_of_200_rows_at_a_time() {
    let Some(browser) = chromium() else { return };
    let organization = Organization { accounts: 450, regions: &["us-east-1"], regional: &["GuardDuty.1"], global: &[] };
    let (dir, _path) = written(&organization.audit(GENERATED_AT, |_, _, _| Outcome::Pass));
    let result = in_page(
        browser,
        dir.path(),
        REPORT_FRAME,
        r##"const doc = document.getElementById("report").contentDocument;
        const more = doc.getElementById("more");
        const pages = [];
        for (let page = 0; page < 3; page++) {
          pages.push([doc.querySelectorAll("#matrix tr.acct").length, more.hidden, more.textContent, doc.getElementById("shown").textContent]);
          more.click();
        }
        return pages;"##,
    );
    assert_eq!(
        result,
        serde_json::json!([
            [200, false, "Show 200 more", "Showing 200 of 450 accounts."],
            [400, false, "Show 50 more", "Showing 400 of 450 accounts."],
            [450, true, "Show 0 more", "Showing 450 of 450 accounts."],
        ])
    );
}

/// The colours of the statuses, as the report's stylesheet defines them (`--fail:#d93025`).
fn colour(html: &str, name: &str) -> [u8; 3] {
    let start = html.find(&format!("--{name}:#")).unwrap_or_else(|| panic!("--{name} in the stylesheet")) + name.len() + 4;
    let hex = &html[start..start + 6];
    [0, 2, 4].map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
}

/// Bands of consecutive pixel rows each holding at least `min` pixels of a colour: one
/// band per row of the matrix that shows that colour, whatever the layout above it.
fn bands(per_row: &[u32], min: u32) -> Vec<(usize, usize)> {
    let mut bands = Vec::new();
    let mut start = None;
    for (y, count) in per_row.iter().chain([&0]).enumerate() {
        match (start, *count >= min) {
            (None, true) => start = Some(y),
            (Some(s), false) => {
                bands.push((s, y - s));
                start = None;
            }
            _ => {}
        }
    }
    bands
}

#[test]
fn chromium_screenshot_shows_the_matrix_in_its_colours() {
    let Some(browser) = chromium() else { return };
    let report = fixture();
    let (dir, path) = written(&report);
    let html = std::fs::read_to_string(&path).unwrap();
    let shot = dir.path().join("shot.png");
    run_chromium(browser, &[&format!("--screenshot={}", shot.display()), "--window-size=1400,1000"], &url(&path, ""));

    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    assert_eq!(&png[12..16], b"IHDR");
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((dimension(16), dimension(20)), (1400, 1000), "the requested window size");

    // Chromium decodes the screenshot in a page of our own and counts, in each pixel row,
    // the pixels of each status colour (within a small tolerance for colour conversion).
    let colours = ["fail", "ne", "pass"].map(|name| colour(&html, name));
    let counts = in_page(
        browser,
        dir.path(),
        r#"<img id="shot" src="shot.png">"#,
        &format!(
            r#"const img = document.getElementById("shot");
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth;
            canvas.height = img.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0);
            img.remove();
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
            const colours = {colours:?};
            const counts = colours.map(() => new Array(canvas.height).fill(0));
            for (let i = 0; i < pixels.length; i += 4) {{
              colours.forEach((c, k) => {{
                const near = [0, 1, 2].every((j) => Math.abs(pixels[i + j] - c[j]) <= 6);
                if (near) counts[k][Math.floor(i / 4 / canvas.width)]++;
              }});
            }}
            return counts;"#
        ),
    );
    let counts: Vec<Vec<u32>> = serde_json::from_value(counts).unwrap();
    let [fail, not_evaluated, pass] = [0, 1, 2].map(|k| &counts[k]);

    // A matrix cell is at least 110 px wide (min-width); with its text, well over 60 px of
    // each of its pixel rows keep the cell's colour. Legend swatches (12 px) and the cards'
    // borders (6 px) stay far below that.
    let cell_rows = |per_row: &[u32]| bands(per_row, 60);
    let fail_bands = cell_rows(fail);
    assert_eq!(fail_bands.len(), 3, "the FAIL cells of accounts 2, 5 and 9, in three matrix rows: {fail_bands:?}");
    let ne_bands = cell_rows(not_evaluated);
    assert_eq!(ne_bands.len(), 2, "the NOT_EVALUATED cells of accounts 7 and 12: {ne_bands:?}");
    assert!(fail_bands.iter().chain(&ne_bands).all(|&(_, height)| (18..40).contains(&height)), "cell-high bands");
    let suspended = ne_bands[0].0 + ne_bands[0].1 / 2;
    assert!(not_evaluated[suspended] > 4 * 60 && pass[suspended] == 0, "account 7's row is NOT_EVALUATED, four cells wide");
    let pass_bands = cell_rows(pass);
    assert!(pass_bands.len() >= 15, "the PASS rows on screen, one band each: {pass_bands:?}");
    for (y, _) in &fail_bands {
        assert!(pass_bands.iter().any(|(p, _)| p.abs_diff(*y) <= 1), "a FAIL cell's row shows its other cells PASS");
    }
}

// ---------------------------------------------------------------------------------------
// The scale the report claims to handle, measured.

/// 5000 accounts x 17 regions x 19 regional controls, and 2 IAM controls: 1,625,000
/// results. About 2% of the regional results FAIL, 1% of accounts are suspended and 5% have
/// one region not enabled; half the failures name the account's own resources (distinct
/// texts, the string table's worst case). The baseline differs in its failures.
fn large_organization() -> AuditReport {
    const REGIONS: [&str; 17] = [
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
        "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    ];
    const REGIONAL: [&str; 19] = [
        "GuardDuty.1", "OG.Detector.Frequency", "GuardDuty.5", "GuardDuty.6", "GuardDuty.7", "GuardDuty.8",
        "GuardDuty.9", "GuardDuty.10", "GuardDuty.11", "OG.Org.Member", "OG.Wiring.Topic", "OG.Wiring.TopicPolicy",
        "OG.Wiring.Subscriptions", "OG.Wiring.Rule/high", "OG.Wiring.Target/high", "OG.Wiring.Rule/medium",
        "OG.Wiring.Target/medium", "OG.Wiring.Rule/low", "OG.Wiring.Target/low",
    ];
    let organization = Organization {
        accounts: 5000,
        regions: &REGIONS,
        regional: &REGIONAL,
        global: &["OG.Wiring.Role", "OG.Wiring.Policy"],
    };
    // A fixed hash, so the organization is the same on every run.
    let draw = |seed: u64, account: usize, region: Option<&str>, control: &str| -> u64 {
        let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
        for byte in account.to_le_bytes().iter().chain(region.unwrap_or("global").as_bytes()).chain(control.as_bytes()) {
            h = (h ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        h % 1000
    };
    let judge = |seed: u64| {
        move |account: usize, region: Option<&str>, control: &str| {
            if account % 100 == 42 {
                return Outcome::NotEvaluated("sts:AssumeRole: AccessDenied".into());
            }
            if account % 20 == 3 && region == Some("ap-south-1") {
                return Outcome::NotEvaluated("region not enabled: ap-south-1".into());
            }
            match draw(seed, account, region, control) {
                0..10 => Outcome::Fail("enabled".into(), "disabled".into()),
                10..20 => Outcome::Fail(
                    format!("topic arn:aws:sns:{}:{}:guardduty-findings", region.unwrap_or("us-east-1"), self::account(account)),
                    "missing or different".into(),
                ),
                _ => Outcome::Pass,
            }
        }
    };
    let mut report = organization.audit(GENERATED_AT, judge(1));
    let baseline = organization.audit("2025-05-01T12:00:00Z", judge(2));
    report.baseline = Some(BaselineComparison::new(&baseline, &report.results));
    report
}

#[test]
#[ignore = "a measurement: builds 1.6M results and loads a large page; run it on purpose"]
fn report_at_5000_accounts_x_17_regions() {
    let report = large_organization();
    let start = Instant::now();
    let html = Format::Html.render(&report);
    let render = start.elapsed();
    println!(
        "results: {} ({} FAIL, {} NOT_EVALUATED); html: {} bytes ({:.1} MB), rendered in {:.2} s",
        report.results.len(),
        report.count(Verdict::Fail),
        report.count(Verdict::NotEvaluated),
        html.len(),
        html.len() as f64 / 1e6,
        render.as_secs_f64()
    );
    assert!(html.len() < 30_000_000, "the file stays under 30 MB");

    let Some(browser) = chromium() else { return };
    let (dir, path) = written(&report);
    let (_, idle) = run_chromium(browser, &["--dump-dom"], "about:blank");
    let start = Instant::now();
    let dom = dom(browser, &path, "");
    let wall = start.elapsed();
    let (body, _) = elements(&dom, "body").into_iter().next().unwrap();
    println!(
        "chromium: first page of the matrix on screen {} ms after navigation start; --dump-dom wall time {:.2} s \
         (about:blank: {:.2} s); {}",
        body["data-first-render-ms"],
        wall.as_secs_f64(),
        idle.as_secs_f64(),
        element_text(&dom, "p", "shown"),
    );
    assert_eq!(matrix_rows(&dom).len(), 200, "one page of rows");

    // What a reader waits for once the page is open: each filter, the next page, a cell's details.
    let timings = in_page(
        browser,
        dir.path(),
        REPORT_FRAME,
        r##"const doc = document.getElementById("report").contentDocument;
        const timed = (name, act) => {
          const start = performance.now();
          act();
          return [name, +(performance.now() - start).toFixed(1), doc.getElementById("shown").textContent];
        };
        const choose = (name, value) => () => {
          doc.forms.filters.elements[name].value = value;
          doc.forms.filters.elements[name].dispatchEvent(new Event("input", { bubbles: true }));
        };
        return [
          ["load (first page on screen)", +doc.body.dataset.firstRenderMs, doc.getElementById("shown").textContent],
          timed("status FAIL", choose("status", "FAIL")),
          timed("control GuardDuty.1", choose("control", "GuardDuty.1")),
          timed("account 1000000012", choose("account", "1000000012")),
          timed("status all", choose("status", "")),
          timed("control all", choose("control", "")),
          timed("account cleared", choose("account", "")),
          timed("show 200 more", () => doc.getElementById("more").click()),
          timed("expand a cell", () => doc.querySelector("#matrix td.c").click()),
        ];"##,
    );
    for timing in timings.as_array().unwrap() {
        let [name, ms, shown] = [&timing[0], &timing[1], &timing[2]];
        println!("chromium, in a frame: {:<28} {:>6.1} ms  ({})", name.as_str().unwrap(), ms.as_f64().unwrap(), shown.as_str().unwrap());
    }
}
