//! Audit: judge a dry run's results against the plan, control by control. Pure: the
//! drift itself was decided by each kind's plan (`resources`), which also says which
//! control each change breaks; this module places the verdicts and says what was not read.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::control::Control;
use crate::model::{AccountId, Feature, Region};
use crate::outcome::{Layer, Status, TargetError};
use crate::results::TargetResult;
use crate::plan::Plan;
use crate::resources::admin::ADMIN;
use crate::resources::coverage::{Coverage, COVERAGE};
use crate::resources::slack::{self, SLACK};
use crate::resources::detector::feature_control;
use crate::resources::membership::MEMBER;
use crate::resources::{self, Place};

/// Every control the plan sets, in natural order of their ids.
pub fn controls(plan: &Plan) -> Vec<Control> {
    let mut controls: Vec<Control> = resources::checks(plan).into_iter().map(|check| check.control).collect();
    controls.sort_by(|a, b| natural(&a.id, &b.id));
    controls
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Fail,
    NotEvaluated,
    Pass,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::NotEvaluated => "NOT_EVALUATED",
        }
    }
}

/// One control for one account (and region; IAM controls have none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlResult {
    pub finding_id: String,
    pub control: String,
    pub account: AccountId,
    pub region: Option<Region>,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Why a control was not evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Control ids in natural order: runs of digits compare as numbers, so GuardDuty.1 <
/// GuardDuty.5 < GuardDuty.10. Without allocating: a large audit sorts a million rows.
pub fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    segments(a).cmp(segments(b))
}

/// A control id's runs: text, or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Segment<'a> {
    Text(&'a str),
    Number(u64),
}

fn segments(id: &str) -> impl Iterator<Item = Segment<'_>> {
    let mut rest = id;
    std::iter::from_fn(move || {
        let digits = rest.chars().next()?.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(match run.parse() {
            Ok(number) if digits => Segment::Number(number),
            _ => Segment::Text(run),
        })
    })
}

/// Results in the order reports show them: controls in natural order; within a control the
/// order they had (by account and region, as the judgement makes them).
pub fn sort_results(results: &mut [ControlResult]) {
    results.sort_by(|a, b| natural(&a.control, &b.control));
}

/// A stable id for (plan, control, account, region), so results of two runs line up.
pub fn finding_id(plan_name: &str, control: &str, account: &AccountId, region: Option<&Region>) -> String {
    let key = format!("{plan_name}|{control}|{account}|{}", region.map_or("global", Region::as_str));
    format!("og-{}", &hex::encode(Sha256::digest(key.as_bytes()))[..20])
}

/// The judgement of a dry run: every control for every target, PASS, FAIL or NOT_EVALUATED.
/// Where each control is judged comes from its kind (`resources::Place`).
pub fn judge(plan: &Plan, plan_name: &str, results: &[TargetResult]) -> Vec<ControlResult> {
    let checks = resources::checks(plan);
    let at = |place: Place| -> Vec<&str> { checks.iter().filter(|c| c.place == place).map(|c| c.control.id.as_str()).collect() };
    let (detector, wiring, account_level) = (at(Place::Detector), at(Place::Region), at(Place::Account));
    let (organization, member) = (at(Place::Organization), at(Place::Member));
    let regional: Vec<&str> = detector.iter().chain(&wiring).copied().collect();
    let controls_at = |region: Option<&Region>| if region.is_some() { &regional } else { &account_level };
    let mut out = Judgement { plan_name, rows: BTreeMap::new() };
    // Where membership is judged (account, region), or why not: it is judged wherever the
    // account-region was, and also where a denied role hid the rest (the admin sees it).
    let mut member_places: Vec<(AccountId, Region, Option<String>)> = Vec::new();

    let regions: BTreeSet<&Region> = results.iter().filter_map(|r| r.target.region.as_ref()).collect();
    let read: BTreeSet<(&AccountId, &Region)> =
        results.iter().filter(|r| r.layer == Layer::Account).filter_map(|r| Some((&r.target.account, r.target.region.as_ref()?))).collect();
    for result in results.iter().filter(|r| r.layer == Layer::Account) {
        let account = &result.target.account;
        let region = result.target.region.as_ref();
        // An account result stands for the regions nothing was read of, when it could not be entered.
        let unread_regions = || regions.iter().filter(|r| !read.contains(&(account, **r))).copied();
        match &result.status {
            Status::Skipped(reason) => {
                let places: Vec<Option<&Region>> = std::iter::once(region).chain(region.is_none().then(unread_regions).into_iter().flatten().map(Some)).collect();
                for place in places {
                    out.not_evaluated(controls_at(place), account, place, &reason.to_string());
                    member_places.extend(place.map(|r| (*account, *r, Some(reason.to_string()))));
                }
            }
            Status::Failed(error) if region.is_none() && matches!(**error, TargetError::Role(_)) => {
                let because = unread_because(error);
                out.not_evaluated(&account_level, account, None, &because);
                for place in unread_regions() {
                    out.not_evaluated(&regional, account, Some(place), &because);
                    member_places.push((*account, *place, None));
                }
            }
            Status::Failed(error) if !matches!(**error, TargetError::Legacy(_)) => {
                // What was read before the failure still counts; the rest is not evaluated.
                let because = unread_because(error);
                match result.detector_read_from {
                    Some(_) => {
                        out.pass(&detector, account, region);
                        out.unavailable(&result.unavailable, account, region);
                        out.not_evaluated(&wiring, account, region, &because);
                        member_places.extend(region.map(|r| (*account, *r, None)));
                    }
                    None => {
                        out.not_evaluated(controls_at(region), account, region, &because);
                        member_places.extend(region.map(|r| (*account, *r, Some(because.clone()))));
                    }
                }
                out.failures(plan, result, account, region);
            }
            _ => {
                out.pass(controls_at(region), account, region);
                out.unavailable(&result.unavailable, account, region);
                member_places.extend(region.map(|r| (*account, *r, None)));
                out.failures(plan, result, account, region);
            }
        }
    }

    let Some(admin) = plan.admin.as_ref().map(|a| a.account.get_ref()) else { return out.into_rows() };
    member_places.retain(|(account, _, _)| account != admin);
    for (account, region, reason) in &member_places {
        if let Some(reason) = reason {
            out.not_evaluated(&member, account, Some(region), reason);
        }
    }
    // The Slack configuration is made and read in one region of the run: judged there only.
    let run_regions: Vec<Region> = regions.iter().map(|r| **r).collect();
    let slack_region = slack::region(plan, &run_regions);
    // A region's delegated admin (the organization's account list has no region).
    for (result, region) in results.iter().filter(|r| r.layer == Layer::Organization).filter_map(|r| Some((r, r.target.region.as_ref()?))) {
        let members: Vec<&AccountId> =
            member_places.iter().filter(|(_, r, reason)| r == region && reason.is_none()).map(|(a, _, _)| a).collect();
        let organization: Vec<&str> = organization.iter().copied().filter(|c| *c != SLACK || slack_region == Some(*region)).collect();
        // Coverage is the one member control the admin answers for its own account too.
        let admin_too: &[&str] = if member.contains(&COVERAGE) { &[COVERAGE] } else { &[] };
        let unjudged = |out: &mut Judgement, reason: &str| {
            out.not_evaluated(&organization, admin, Some(region), reason);
            out.not_evaluated(admin_too, admin, Some(region), reason);
            for account in &members {
                out.not_evaluated(&member, account, Some(region), reason);
            }
        };
        match &result.status {
            Status::Failed(error) => match &**error {
                TargetError::OtherAdmin(conflict) => {
                    unjudged(&mut out, "the planned admin is not designated");
                    out.fail(ADMIN, admin, Some(region), format!("{admin} designated"), conflict.to_string());
                }
                error => unjudged(&mut out, &unread_because(error)),
            },
            Status::Skipped(reason) => unjudged(&mut out, &reason.to_string()),
            Status::Unchanged | Status::Planned | Status::Applied => {
                out.pass(&organization, admin, Some(region));
                out.pass(admin_too, admin, Some(region));
                for account in &members {
                    out.pass(&member, account, Some(region));
                }
                if let Some(reason) = result.coverage.as_ref().and_then(Coverage::unread) {
                    out.not_evaluated(admin_too, admin, Some(region), &reason);
                    for account in &members {
                        out.not_evaluated(admin_too, account, Some(region), &reason);
                    }
                }
                // The organization's own controls, and its members'; an admin's detector created
                // here belongs to an account outside the run, which the audit does not judge.
                let left_alone = result.notes.iter().filter_map(|note| note.fails.clone());
                for failure in result.changes.iter().flat_map(|change| change.failures(plan)).chain(left_alone) {
                    match failure.account {
                        Some(account) if member.contains(&failure.control.as_str()) && members.contains(&&account) => {
                            out.fail(&failure.control, &account, Some(region), failure.expected, failure.actual)
                        }
                        Some(account) if admin_too.contains(&failure.control.as_str()) && account == *admin => {
                            out.fail(&failure.control, &account, Some(region), failure.expected, failure.actual)
                        }
                        None if organization.contains(&failure.control.as_str()) => {
                            out.fail(&failure.control, admin, Some(region), failure.expected, failure.actual)
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    // An invitation-era administrator keeps the account out of the organization's admin.
    for result in results.iter().filter(|r| r.layer == Layer::Account) {
        if let (Status::Failed(error), Some(region)) = (&result.status, &result.target.region) {
            if let TargetError::Legacy(conflict) = &**error {
                out.fail(MEMBER, &result.target.account, Some(region), format!("Enabled member of {admin}"), conflict.to_string());
            }
        }
    }
    out.into_rows()
}

/// Why a control could not be judged: the call and its code; the message too, except for
/// a denied role, where it only repeats the role's ARN.
fn unread_because(error: &TargetError) -> String {
    match error {
        TargetError::Role(error) => format!("{}: {}", error.operation, error.code),
        error => error.to_string(),
    }
}

/// Rows keyed by (control, account, region): a FAIL overrides the PASS set before it.
struct Judgement<'a> {
    plan_name: &'a str,
    rows: BTreeMap<(String, AccountId, Option<Region>), ControlResult>,
}

impl Judgement<'_> {
    fn put(&mut self, control: &str, account: &AccountId, region: Option<&Region>, verdict: Verdict, detail: [Option<String>; 3]) {
        let [expected, actual, reason] = detail;
        self.rows.insert(
            (control.to_owned(), *account, region.cloned()),
            ControlResult {
                finding_id: finding_id(self.plan_name, control, account, region),
                control: control.to_owned(),
                account: *account,
                region: region.cloned(),
                verdict,
                expected,
                actual,
                reason,
            },
        );
    }

    fn pass(&mut self, controls: &[&str], account: &AccountId, region: Option<&Region>) {
        for control in controls {
            self.put(control, account, region, Verdict::Pass, [None, None, None]);
        }
    }

    /// Every row, controls in natural order, then by account and region (the map's order).
    fn into_rows(self) -> Vec<ControlResult> {
        let mut rows: Vec<ControlResult> = self.rows.into_values().collect();
        sort_results(&mut rows);
        rows
    }

    /// The controls a result's changes, and the drift it left alone, show failing, at its own place.
    fn failures(&mut self, plan: &Plan, result: &TargetResult, account: &AccountId, region: Option<&Region>) {
        let left_alone = result.notes.iter().filter_map(|note| note.fails.clone());
        for failure in result.changes.iter().flat_map(|change| change.failures(plan)).chain(left_alone) {
            self.fail(&failure.control, account, region, failure.expected, failure.actual);
        }
    }

    /// A FAIL; one already there for the same control and place keeps its evidence, and this
    /// one's is added to it.
    fn fail(&mut self, control: &str, account: &AccountId, region: Option<&Region>, expected: String, actual: String) {
        let key = (control.to_owned(), *account, region.cloned());
        let (expected, actual) = match self.rows.get(&key) {
            Some(ControlResult { verdict: Verdict::Fail, expected: Some(before_expected), actual: Some(before_actual), .. }) => {
                let expected = if before_expected.split("; ").any(|e| e == expected) { before_expected.clone() } else { format!("{before_expected}; {expected}") };
                (expected, format!("{before_actual}; {actual}"))
            }
            _ => (expected, actual),
        };
        self.put(control, account, region, Verdict::Fail, [Some(expected), Some(actual), None]);
    }

    /// Features GuardDuty does not offer in the region: not evaluated, and not drift.
    fn unavailable(&mut self, features: &[Feature], account: &AccountId, region: Option<&Region>) {
        for feature in features {
            let reason = format!("{feature} is not offered by GuardDuty in this region");
            self.not_evaluated(&[feature_control(*feature).0], account, region, &reason);
        }
    }

    fn not_evaluated(&mut self, controls: &[&str], account: &AccountId, region: Option<&Region>, reason: &str) {
        for control in controls {
            self.put(control, account, region, Verdict::NotEvaluated, [None, None, Some(reason.to_owned())]);
        }
    }
}

#[cfg(test)]
mod tests;
