//! The judgement, unit by unit: where each control is judged, what a conflict or an unread
//! target gives, and that no evidence is lost.

use super::*;
use crate::aws::AwsError;
use crate::outcome::{ReadFrom, SkipReason};
use crate::results::shared;
use crate::outcome::{Legacy, OtherAdmin};
use crate::resources::{fixtures, membership, Change};

fn id(n: u64) -> AccountId {
    AccountId::parse(&format!("{:012}", 100_000_000_000 + n)).unwrap()
}

fn at(account: AccountId, region: Option<Region>, layer: Layer, status: Status, changes: Vec<Change>) -> TargetResult {
    TargetResult {
        target: crate::model::Target { account, region },
        layer,
        status,
        changes: shared(changes),
        notes: vec![],
        detector_read_from: region.map(|_| ReadFrom::Account),
        unavailable: vec![],
        coverage: None,
    }
}

fn verdict<'a>(rows: &'a [ControlResult], control: &str, account: AccountId, region: Option<Region>) -> (Verdict, Option<&'a str>) {
    let row = rows.iter().find(|r| r.control == control && r.account == account && r.region == region);
    let row = row.unwrap_or_else(|| panic!("no row {control} {account} {region:?}"));
    (row.verdict, row.reason.as_deref().or(row.actual.as_deref()))
}

#[test]
fn a_denied_role_leaves_the_account_unjudged_but_not_its_membership_and_a_change_fails_its_member() {
    let plan = fixtures::plan();
    let region = Some(fixtures::region());
    let (admin, denied, missing) = (id(1), id(2), id(3));
    let role = TargetError::Role(AwsError { operation: "sts:AssumeRole", code: "AccessDenied".into(), message: "arn:...".into() });
    let results = vec![
        at(admin, region, Layer::Account, Status::Unchanged, vec![]),
        at(admin, None, Layer::Account, Status::Unchanged, vec![]),
        at(denied, None, Layer::Account, Status::failed(role), vec![]),
        at(missing, region, Layer::Account, Status::Unchanged, vec![]),
        at(admin, region, Layer::Organization, Status::Planned, vec![membership::Change::CreateMembers { accounts: vec![missing] }.into()]),
    ];
    let rows = judge(&plan, "example", &results);
    assert_eq!(verdict(&rows, "GuardDuty.1", admin, region), (Verdict::Pass, None));
    assert_eq!(verdict(&rows, "OG.Wiring.Role", denied, None), (Verdict::NotEvaluated, Some("sts:AssumeRole: AccessDenied")));
    assert_eq!(verdict(&rows, "GuardDuty.1", denied, region), (Verdict::NotEvaluated, Some("sts:AssumeRole: AccessDenied")));
    assert_eq!(verdict(&rows, MEMBER, denied, region), (Verdict::Pass, None), "the admin sees membership");
    assert_eq!(verdict(&rows, MEMBER, missing, region), (Verdict::Fail, Some("not an enabled member")));
    assert!(!rows.iter().any(|r| r.control == MEMBER && r.account == admin), "the admin is not its own member");
    assert_eq!(verdict(&rows, ADMIN, admin, region), (Verdict::Pass, None));
}

#[test]
fn conflicts_fail_their_controls_and_a_skipped_region_is_not_evaluated() {
    let plan = fixtures::plan();
    let region = Some(fixtures::region());
    let (admin, other, held, off) = (id(1), id(2), id(3), id(4));
    let legacy = Legacy { admin, administrator: Some(id(9)), invitations: vec![] };
    let results = vec![
        at(held, region, Layer::Account, Status::failed(TargetError::Legacy(legacy.clone())), vec![]),
        at(off, region, Layer::Account, Status::Skipped(SkipReason::RegionNotEnabled), vec![]),
        at(admin, region, Layer::Organization, Status::failed(TargetError::OtherAdmin(OtherAdmin { current: other, planned: admin })), vec![]),
    ];
    let rows = judge(&plan, "example", &results);
    assert_eq!(verdict(&rows, MEMBER, held, region).0, Verdict::Fail);
    assert_eq!(verdict(&rows, MEMBER, held, region).1, Some(legacy.to_string().as_str()));
    assert_eq!(verdict(&rows, "GuardDuty.1", held, region), (Verdict::Pass, None), "everything else was read");
    assert_eq!(verdict(&rows, MEMBER, off, region), (Verdict::NotEvaluated, Some("region not enabled")));
    assert_eq!(verdict(&rows, "OG.Wiring.Topic", off, region), (Verdict::NotEvaluated, Some("region not enabled")));
    let (designation, found) = verdict(&rows, ADMIN, admin, region);
    assert_eq!(designation, Verdict::Fail);
    assert!(found.unwrap().starts_with("100000000002 is the delegated admin here"), "{found:?}");
    assert_eq!(verdict(&rows, "OG.Org.AutoEnable", admin, region), (Verdict::NotEvaluated, Some("the planned admin is not designated")));
}

#[test]
fn control_ids_sort_naturally() {
    let mut ids = ["GuardDuty.10", "OG.Org.Member", "GuardDuty.5", "GuardDuty.1", "GuardDuty.11", "OG.Detector.Frequency"];
    ids.sort_by(|a, b| natural(a, b));
    assert_eq!(ids, ["GuardDuty.1", "GuardDuty.5", "GuardDuty.10", "GuardDuty.11", "OG.Detector.Frequency", "OG.Org.Member"]);
}

#[test]
fn every_failure_of_a_control_is_kept_and_drift_left_alone_fails_too() {
    use crate::outcome::Note;
    use crate::resources::topic;
    use crate::control::Failure;
    let plan = fixtures::plan();
    let region = Some(fixtures::region());
    let mut result = at(id(5), region, Layer::Account, Status::Unchanged, vec![]);
    let extra = |endpoint: &str| Note {
        text: format!("subscription https:{endpoint} is not in the plan (kept)"),
        fails: Some(Failure::new("OG.Wiring.Subscriptions", "only planned subscriptions", format!("https:{endpoint} subscribed"))),
    };
    result.notes = vec![extra("//a.example"), extra("//b.example")];
    result.changes = shared(vec![topic::Change::Subscribe { protocol: "email".into(), endpoint: "x@example.com".into() }.into()]);
    let rows = judge(&plan, "example", &[result]);
    let row = rows.iter().find(|r| r.control == "OG.Wiring.Subscriptions").unwrap();
    assert_eq!(row.verdict, Verdict::Fail);
    assert_eq!(row.actual.as_deref(), Some("missing; https://a.example subscribed; https://b.example subscribed"), "no evidence is overwritten");
    assert_eq!(row.expected.as_deref(), Some("email:x@example.com subscribed; only planned subscriptions"), "each expectation once");
}

#[test]
fn a_wiring_read_that_failed_keeps_the_detector_judged() {
    let plan = fixtures::plan();
    let region = Some(fixtures::region());
    let throttled = AwsError { operation: "sns:GetTopicAttributes", code: "Throttled".into(), message: "slow down".into() };
    let results = vec![at(id(5), region, Layer::Account, Status::failed(throttled), vec![])];
    let rows = judge(&plan, "example", &results);
    assert_eq!(verdict(&rows, "GuardDuty.10", id(5), region), (Verdict::Pass, None));
    let (verdict_topic, reason) = verdict(&rows, "OG.Wiring.Topic", id(5), region);
    assert_eq!((verdict_topic, reason), (Verdict::NotEvaluated, Some("sns:GetTopicAttributes: Throttled: slow down")));
}
