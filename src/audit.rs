//! Audit: judge a dry run's results against the plan, control by control. Pure: the
//! drift itself was decided by `diff` (the one place that does), this module only says
//! which control each difference breaks and what was expected and found.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aws::{AwsError, ADMIN_CONFLICT, LEGACY_ADMINISTRATOR};
use crate::diff::{Change, DetectorField};
use crate::model::{AccountId, Feature, Region};
use crate::outcome::{Layer, Status, TargetResult};
use crate::plan::Plan;

/// A control every result belongs to: a stable id, what it checks, and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub id: String,
    pub description: String,
    /// Security Hub control or Prowler check this corresponds to, when there is one.
    pub mapping: String,
}

fn control(id: &str, description: &str, mapping: &str) -> Control {
    Control { id: id.into(), description: description.into(), mapping: mapping.into() }
}

/// The Security Hub control that covers a detector feature.
pub fn feature_control(feature: Feature) -> (&'static str, &'static str) {
    match feature {
        Feature::EksAuditLogs => ("GuardDuty.5", "EKS audit log monitoring"),
        Feature::LambdaNetworkLogs => ("GuardDuty.6", "Lambda protection"),
        Feature::EksRuntimeMonitoring => ("GuardDuty.7", "EKS runtime monitoring"),
        Feature::EbsMalwareProtection => ("GuardDuty.8", "Malware protection for EC2 (EBS volume scans)"),
        Feature::RdsLoginEvents => ("GuardDuty.9", "RDS protection"),
        Feature::S3DataEvents => ("GuardDuty.10", "S3 protection"),
        Feature::RuntimeMonitoring => ("GuardDuty.11", "Runtime monitoring"),
    }
}

const ENABLED: &str = "GuardDuty.1";
const FREQUENCY: &str = "OG.Detector.Frequency";
const ADMIN: &str = "OG.Org.DelegatedAdmin";
const MEMBER: &str = "OG.Org.Member";
const AUTO_ENABLE: &str = "OG.Org.AutoEnable";
const TOPIC: &str = "OG.Wiring.Topic";
const TOPIC_POLICY: &str = "OG.Wiring.TopicPolicy";
const SUBSCRIPTIONS: &str = "OG.Wiring.Subscriptions";
const ROLE: &str = "OG.Wiring.Role";
const POLICY: &str = "OG.Wiring.Policy";

fn rule_control(rule: &str) -> String {
    format!("OG.Wiring.Rule/{rule}")
}

fn target_control(rule: &str) -> String {
    format!("OG.Wiring.Target/{rule}")
}

/// Every control the plan sets, in report order.
pub fn controls(plan: &Plan) -> Vec<Control> {
    let mut controls = vec![
        control(ENABLED, "GuardDuty detector exists and is enabled", "Security Hub GuardDuty.1; Prowler guardduty_is_enabled"),
        control(FREQUENCY, "Finding publishing frequency is as planned", "orgguard"),
    ];
    for (&feature, &on) in plan.detector.features.get_ref() {
        let (id, name) = feature_control(feature);
        let state = if on { "enabled" } else { "disabled" };
        controls.push(control(id, &format!("{name} ({feature}) is {state}"), &format!("Security Hub {id}")));
    }
    if plan.admin.is_some() {
        controls.extend([
            control(ADMIN, "The planned delegated admin is designated in the region", "Prowler guardduty_delegated_admin_enabled_all_regions"),
            control(MEMBER, "The account is an enabled member of the delegated admin", "Prowler guardduty_centrally_managed"),
            control(AUTO_ENABLE, "Organization auto-enable (members and features) is as planned", "orgguard"),
        ]);
    }
    if let Some(notifications) = &plan.notifications {
        controls.extend([
            control(TOPIC, "The findings SNS topic exists with its display name and tags", "orgguard"),
            control(TOPIC_POLICY, "The topic policy lets EventBridge publish", "orgguard"),
            control(SUBSCRIPTIONS, "The planned subscriptions exist", "orgguard"),
            control(ROLE, "The EventBridge role exists, trusted by events.amazonaws.com", "orgguard"),
            control(POLICY, "The publish policy is as planned and attached to the role", "orgguard"),
        ]);
        for rule in &notifications.rules {
            let name = rule.name.get_ref();
            controls.push(control(&rule_control(name), &format!("Rule {name} exists, enabled, with the planned pattern"), "orgguard"));
            controls.push(control(&target_control(name), &format!("Rule {name} targets the topic with the role"), "orgguard"));
        }
    }
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

/// A stable id for (plan, control, account, region), so results of two runs line up.
pub fn finding_id(plan_name: &str, control: &str, account: &AccountId, region: Option<&Region>) -> String {
    let key = format!("{plan_name}|{control}|{account}|{}", region.map_or("global", Region::as_str));
    format!("og-{}", &hex::encode(Sha256::digest(key.as_bytes()))[..20])
}

/// The judgement of a dry run: every control for every target, PASS, FAIL or NOT_EVALUATED.
pub fn judge(plan: &Plan, plan_name: &str, results: &[TargetResult]) -> Vec<ControlResult> {
    let catalog = controls(plan);
    let ids: BTreeSet<&str> = catalog.iter().map(|c| c.id.as_str()).collect();
    let regional: Vec<&str> = catalog
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| ![ROLE, POLICY, ADMIN, AUTO_ENABLE, MEMBER].contains(id))
        .collect();
    let account_level: Vec<&str> = [ROLE, POLICY].into_iter().filter(|id| ids.contains(id)).collect();
    // The detector's controls, judged wherever the detector was read (by the admin, say),
    // even when the account's wiring could not be.
    let detector: Vec<&str> = regional.iter().copied().filter(|id| *id == ENABLED || *id == FREQUENCY || id.starts_with("GuardDuty.")).collect();
    let wiring: Vec<&str> = regional.iter().copied().filter(|id| !detector.contains(id)).collect();
    let admin = plan.admin.as_ref().map(|a| a.account.get_ref());
    let mut out = Judgement { plan_name, rows: BTreeMap::new() };

    let regions: BTreeSet<&Region> = results.iter().filter_map(|r| r.target.region.as_ref()).collect();
    let read: BTreeSet<(&AccountId, &Region)> = results
        .iter()
        .filter(|r| r.layer == Layer::Account)
        .filter_map(|r| Some((&r.target.account, r.target.region.as_ref()?)))
        .collect();
    for result in results.iter().filter(|r| r.layer == Layer::Account) {
        let account = &result.target.account;
        let region = result.target.region.as_ref();
        let controls: Vec<&str> = if region.is_some() { regional.clone() } else { account_level.clone() };
        let regions_of_account: Vec<Option<&Region>> = match region {
            Some(region) => vec![Some(region)],
            // An account that could not be entered: every region nothing was read of is unjudged.
            None => std::iter::once(None)
                .chain(regions.iter().filter(|r| !read.contains(&(account, **r))).map(|r| Some(*r)))
                .collect(),
        };
        match &result.status {
            Status::Skipped(reason) => {
                for region in &regions_of_account {
                    let controls = if region.is_some() { &regional } else { &account_level };
                    out.not_evaluated(controls, account, *region, &reason.to_string());
                }
            }
            Status::Failed(error) if region.is_none() && error.operation == "sts:AssumeRole" => {
                for region in &regions_of_account {
                    let controls = if region.is_some() { &regional } else { &account_level };
                    out.not_evaluated(controls, account, *region, &unread_because(error));
                }
            }
            Status::Failed(error) if error.code != LEGACY_ADMINISTRATOR => {
                // What was read before the failure still counts; the rest is not evaluated.
                let unread = match result.detector_read_from {
                    Some(_) => {
                        out.pass(&detector, account, region);
                        out.unavailable(&result.unavailable, account, region);
                        &wiring
                    }
                    None => &controls,
                };
                out.not_evaluated(unread, account, region, &unread_because(error));
                for change in &result.changes {
                    for (control, expected, actual) in failures(plan, change) {
                        out.fail(&control, account, region, expected, actual);
                    }
                }
            }
            _ => {
                out.pass(&controls, account, region);
                out.unavailable(&result.unavailable, account, region);
                for change in &result.changes {
                    for (control, expected, actual) in failures(plan, change) {
                        out.fail(&control, account, region, expected, actual);
                    }
                }
            }
        }
    }

    if let Some(admin) = admin {
        // Membership is judged where the account-region was judged; where it could not be
        // (region not enabled, account suspended) membership is not judged either. A denied
        // role does not hide membership: the admin sees it.
        let judged: Vec<(AccountId, Region, Option<String>)> = out
            .rows
            .values()
            .filter(|r| r.control == ENABLED && &r.account != admin)
            .filter_map(|r| {
                let unjudged = r.reason.clone().filter(|reason| !reason.starts_with("sts:AssumeRole"));
                Some((r.account, r.region?, unjudged))
            })
            .collect();
        for (account, region, reason) in judged.iter().filter(|(_, _, reason)| reason.is_some()) {
            out.not_evaluated(&[MEMBER], account, Some(region), reason.as_deref().unwrap_or_default());
        }
        let members: Vec<(AccountId, Region)> =
            judged.into_iter().filter(|(_, _, reason)| reason.is_none()).map(|(a, r, _)| (a, r)).collect();
        // A region's delegated admin (the organization's account list has no region).
        let layer = results.iter().filter(|r| r.layer == Layer::Organization).filter_map(|r| Some((r, r.target.region.as_ref()?)));
        for (result, region) in layer {
            let in_region: Vec<&AccountId> = members.iter().filter(|(_, r)| r == region).map(|(a, _)| a).collect();
            match &result.status {
                Status::Failed(error) if error.code == ADMIN_CONFLICT => {
                    out.fail(ADMIN, admin, Some(region), format!("{admin} designated"), error.message.clone());
                    for account in &in_region {
                        out.not_evaluated(&[MEMBER], account, Some(region), "the planned admin is not designated");
                    }
                    out.not_evaluated(&[AUTO_ENABLE], admin, Some(region), "the planned admin is not designated");
                }
                Status::Failed(error) => {
                    let reason = format!("{}: {}: {}", error.operation, error.code, error.message);
                    out.not_evaluated(&[ADMIN, AUTO_ENABLE], admin, Some(region), &reason);
                    for account in &in_region {
                        out.not_evaluated(&[MEMBER], account, Some(region), &reason);
                    }
                }
                _ => {
                    out.pass(&[ADMIN, AUTO_ENABLE], admin, Some(region));
                    for account in &in_region {
                        out.pass(&[MEMBER], account, Some(region));
                    }
                    for change in &result.changes {
                        match &**change {
                            Change::EnableAdmin { .. } => out.fail(ADMIN, admin, Some(region), format!("{admin} designated"), "no delegated admin".into()),
                            Change::ReplaceAdmin { from, .. } => out.fail(ADMIN, admin, Some(region), format!("{admin} designated"), format!("{from} designated")),
                            Change::UpdateOrganization { auto_enable, features, agents } => {
                                let mut expected: Vec<String> = auto_enable.iter().map(|m| format!("members {m}")).collect();
                                expected.extend(features.iter().map(|(f, m)| format!("{f} {m}")));
                                for (feature, agents) in agents {
                                    expected.extend(agents.iter().map(|(a, m)| format!("{feature}/{a} {m}")));
                                }
                                out.fail(AUTO_ENABLE, admin, Some(region), expected.join(", "), "differs".into());
                            }
                            Change::CreateMembers { accounts } => {
                                for account in accounts.iter().filter(|a| in_region.contains(a)) {
                                    out.fail(MEMBER, account, Some(region), "Enabled member".into(), "not an enabled member".into());
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    // An invitation-era administrator keeps the account out of the organization's admin.
    for result in results.iter().filter(|r| r.layer == Layer::Account) {
        if let (Status::Failed(error), Some(region), Some(admin)) = (&result.status, &result.target.region, admin) {
            if error.code == LEGACY_ADMINISTRATOR {
                out.fail(MEMBER, &result.target.account, Some(region), format!("Enabled member of {admin}"), error.message.clone());
            }
        }
    }
    out.rows.into_values().collect()
}

/// Why a control could not be judged: the call and AWS's code; the message too, except for
/// a denied role, where it only repeats the role's ARN.
fn unread_because(error: &AwsError) -> String {
    match error.operation {
        "sts:AssumeRole" => format!("{}: {}", error.operation, error.code),
        _ => format!("{}: {}: {}", error.operation, error.code, error.message),
    }
}

/// The controls a change shows failing, with what was expected and what was found.
fn failures(plan: &Plan, change: &Change) -> Vec<(String, String, String)> {
    let on_off = |on: bool| if on { "enabled" } else { "disabled" }.to_owned();
    match change {
        Change::CreateDetector { settings } => {
            let mut rows = vec![
                (ENABLED.to_owned(), "enabled".to_owned(), "no detector".to_owned()),
                (FREQUENCY.to_owned(), settings.frequency.to_string(), "no detector".to_owned()),
            ];
            rows.extend(settings.features.iter().filter(|(_, on)| **on).map(|(f, _)| {
                (feature_control(*f).0.to_owned(), on_off(true), "no detector".to_owned())
            }));
            rows
        }
        Change::UpdateDetector { fields, .. } => fields
            .iter()
            .map(|field| match field {
                DetectorField::Enable { from, to } => (ENABLED.to_owned(), on_off(*to), on_off(*from)),
                DetectorField::Frequency { from, to } => {
                    (FREQUENCY.to_owned(), to.to_string(), from.map_or("unknown".to_owned(), |f| f.to_string()))
                }
                DetectorField::Feature { feature, from, to } => {
                    (feature_control(*feature).0.to_owned(), on_off(*to), on_off(*from))
                }
                DetectorField::Agent { feature, agent, from, to } => {
                    (feature_control(*feature).0.to_owned(), format!("{agent} {}", on_off(*to)), format!("{agent} {}", on_off(*from)))
                }
            })
            .collect(),
        Change::CreateRole { role } => vec![(ROLE.into(), format!("role {role}"), "missing".into())],
        Change::UpdateRoleTrust { role } => vec![(ROLE.into(), format!("role {role} trusted by events.amazonaws.com"), "other trust policy".into())],
        Change::CreatePolicy { policy } => vec![(POLICY.into(), format!("policy {policy}"), "missing".into())],
        Change::UpdatePolicy { policy, .. } => vec![(POLICY.into(), format!("policy {policy} as planned"), "other document".into())],
        Change::AttachPolicy { role, policy } => vec![(POLICY.into(), format!("{policy} attached to {role}"), "not attached".into())],
        Change::CreateTopic { topic } => {
            let subscriptions = plan.notifications.as_ref().map_or(0, |n| n.subscriptions.len());
            vec![
                (TOPIC.into(), format!("topic {topic}"), "missing".into()),
                (TOPIC_POLICY.into(), "events.amazonaws.com may publish".into(), "no topic".into()),
                (SUBSCRIPTIONS.into(), format!("{subscriptions} subscriptions"), "no topic".into()),
            ]
        }
        Change::SetTopicAttribute { attribute: "Policy", .. } => {
            vec![(TOPIC_POLICY.into(), "events.amazonaws.com may publish".into(), "other policy".into())]
        }
        Change::SetTopicAttribute { attribute, .. } => vec![(TOPIC.into(), format!("{attribute} as planned"), "differs".into())],
        Change::TagTopic { tags, .. } => vec![(TOPIC.into(), format!("tags {tags:?}"), "missing or different".into())],
        Change::Subscribe { protocol, endpoint } => {
            vec![(SUBSCRIPTIONS.into(), format!("{protocol}:{endpoint} subscribed"), "missing".into())]
        }
        Change::Unsubscribe { protocol, endpoint, .. } => {
            vec![(SUBSCRIPTIONS.into(), "only planned subscriptions".into(), format!("{protocol}:{endpoint} subscribed"))]
        }
        Change::PutRule { rule, reason } => vec![(rule_control(rule), "enabled, planned pattern".into(), (*reason).into())],
        Change::PutTarget { rule, target_id } => {
            vec![(target_control(rule), format!("target {target_id} -> topic, with role"), "missing or different".into())]
        }
        Change::EnableAdmin { .. }
        | Change::ReplaceAdmin { .. }
        | Change::UpdateOrganization { .. }
        | Change::CreateMembers { .. }
        | Change::LeaveAdministrator { .. }
        | Change::DeclineInvitations { .. } => vec![],
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

    fn fail(&mut self, control: &str, account: &AccountId, region: Option<&Region>, expected: String, actual: String) {
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
