//! docs/iam holds least-privilege policies: every AWS operation orgguard can call is in
//! them (the read-only ones in the audit variants), and nothing more than what AWS needs
//! on orgguard's behalf.

mod common;

use std::collections::BTreeSet;

use common::root;
use serde_json::Value;

/// Actions AWS checks on orgguard's behalf, not operations orgguard calls itself.
const ON_BEHALF: &[&str] = &[
    "iam:CreateServiceLinkedRole",
    "iam:PassRole",
    "ec2:CreateTags",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "s3:GetObject",
    "s3:ListBucket",
    "organizations:EnableAWSServiceAccess",
    "organizations:RegisterDelegatedAdministrator",
    "organizations:DeregisterDelegatedAdministrator",
    "organizations:ListDelegatedAdministrators",
    "organizations:ListAWSServiceAccessForOrganization",
    "organizations:DescribeOrganizationalUnit",
    "organizations:DescribeOrganization",
];

/// Deletions only `orgguard teardown` makes: in the teardown policies, not the rollout ones.
const TEARDOWN_ONLY: &[&str] = &[
    "guardduty:DeleteDetector",
    "guardduty:DeleteMembers",
    "guardduty:DisassociateMembers",
    "sns:DeleteTopic",
    "events:DeleteRule",
    "events:RemoveTargets",
    "iam:DetachRolePolicy",
    "iam:DeletePolicy",
    "iam:DeleteRole",
    "guardduty:DeletePublishingDestination",
    "chatbot:DeleteSlackChannelConfiguration",
    "logs:DeleteMetricFilter",
    "logs:DeleteLogGroup",
    "cloudwatch:DeleteAlarms",
];

/// Writes the teardown makes as well as the rollout.
const TEARDOWN_SHARED: &[&str] =
    &["guardduty:UpdateOrganizationConfiguration", "guardduty:DisableOrganizationAdminAccount", "guardduty:DeleteFilter", "guardduty:DeleteIPSet", "guardduty:DeleteThreatIntelSet", "sns:Unsubscribe", "iam:DeletePolicyVersion", "ec2:DeleteFlowLogs"];

/// The files of a directory and of every directory below it.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    entries.flat_map(|path| if path.is_dir() { files(&path) } else { vec![path] }).collect()
}

/// The operations orgguard calls: every "service:Operation" named in src/aws.
fn operations() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for path in files(&root().join("src/aws")) {
        let text = std::fs::read_to_string(path).unwrap();
        for piece in text.split('"').skip(1).step_by(2) {
            let Some((service, operation)) = piece.split_once(':') else { continue };
            let known = ["sts", "organizations", "guardduty", "sns", "events", "iam", "s3", "kms", "chatbot", "ec2", "logs", "cloudwatch"].contains(&service);
            if known && !operation.is_empty() && operation.chars().all(|c| c.is_ascii_alphabetic()) {
                found.insert(piece.to_owned());
            }
        }
    }
    found
}

fn statements(file: &str) -> Vec<Value> {
    let policy: Value = serde_json::from_str(&std::fs::read_to_string(root().join("docs/iam").join(file)).unwrap()).unwrap();
    policy["Statement"].as_array().unwrap().clone()
}

fn actions(file: &str) -> BTreeSet<String> {
    statements(file).iter().flat_map(|s| s["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned())).collect()
}

/// Writes that may stand on `"Resource": "*"`, and why (AWS's Service Authorization
/// Reference lists no resource type for them, or a condition key narrows them instead).
const STAR_WRITES: &[(&str, &str)] = &[
    ("guardduty:CreateDetector", "no resource type: the detector does not exist yet"),
    ("kms:CreateKey", "no resource type: the key does not exist yet"),
    ("guardduty:DeclineInvitations", "no resource type"),
    ("guardduty:EnableOrganizationAdminAccount", "no resource type"),
    ("guardduty:DisableOrganizationAdminAccount", "no resource type"),
    ("sns:Unsubscribe", "no resource type (it acts on a subscription, which IAM cannot name)"),
    ("organizations:EnableAWSServiceAccess", "narrowed by organizations:ServicePrincipal to GuardDuty's"),
    ("organizations:RegisterDelegatedAdministrator", "narrowed by organizations:ServicePrincipal to GuardDuty's"),
    ("organizations:DeregisterDelegatedAdministrator", "narrowed by organizations:ServicePrincipal to GuardDuty's"),
];

#[test]
fn no_write_stands_on_every_resource_unless_aws_allows_nothing_narrower() {
    for file in ["management-rollout.json", "member-rollout.json", "management-teardown.json", "member-teardown.json"] {
        for statement in statements(file) {
            let resources = match &statement["Resource"] {
                Value::Array(list) => list.clone(),
                one => vec![one.clone()],
            };
            let everywhere = resources.iter().any(|r| r.as_str().is_some_and(|r| r == "*" || r.ends_with(":*:*:*")));
            for action in statement["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()) {
                if everywhere && !read_only(action) {
                    let allowed = STAR_WRITES.iter().find(|(a, _)| *a == action);
                    assert!(allowed.is_some(), "{file}: {action} on every resource");
                    if action.starts_with("organizations:") {
                        let principals = &statement["Condition"]["StringEquals"]["organizations:ServicePrincipal"];
                        assert_eq!(principals, &serde_json::json!(["guardduty.amazonaws.com", "malware-protection.guardduty.amazonaws.com"]), "{file}: {action}");
                    }
                }
            }
        }
    }
    let assume = statements("management-rollout.json").into_iter().find(|s| s["Action"][0] == "sts:AssumeRole").unwrap();
    assert_eq!(assume["Condition"]["StringEquals"]["aws:ResourceOrgID"], "${aws:PrincipalOrgID}", "member roles of this organization only");
    let attach = statements("member-rollout.json").into_iter().find(|s| s["Action"][0] == "iam:AttachRolePolicy").unwrap();
    assert_eq!(attach["Condition"]["ArnLike"]["iam:PolicyARN"], "arn:aws:iam::*:policy/EventBridgePublishGuarddutyFinding");
    let detach = statements("member-teardown.json").into_iter().find(|s| s["Action"][0] == "iam:DetachRolePolicy").unwrap();
    assert_eq!(detach["Condition"]["ArnLike"]["iam:PolicyARN"], "arn:aws:iam::*:policy/EventBridgePublishGuarddutyFinding");
}

fn read_only(operation: &str) -> bool {
    let name = operation.split(':').nth(1).unwrap();
    ["Get", "List", "Describe"].iter().any(|p| name.starts_with(p)) || operation == "sts:AssumeRole"
}

fn is_management(operation: &str) -> bool {
    operation.starts_with("organizations:")
        || operation.starts_with("sts:")
        || operation.contains("OrganizationAdminAccount")
}

#[test]
fn the_operations_are_found() {
    let operations = operations();
    assert!(operations.len() > 30, "{operations:?}");
    assert!(operations.contains("guardduty:CreateMembers") && operations.contains("sns:Subscribe"));
    assert!(TEARDOWN_ONLY.iter().chain(TEARDOWN_SHARED).all(|o| operations.contains(*o)), "every teardown operation is called");
}

#[test]
fn every_operation_is_allowed_and_nothing_more() {
    let operations = operations();
    let on_behalf: BTreeSet<String> = ON_BEHALF.iter().map(|a| a.to_string()).collect();
    let teardown_only: BTreeSet<String> = TEARDOWN_ONLY.iter().map(|a| a.to_string()).collect();
    let teardown: BTreeSet<String> = operations
        .iter()
        .filter(|o| read_only(o) || teardown_only.contains(*o) || TEARDOWN_SHARED.contains(&o.as_str()))
        .cloned()
        .collect();
    let rollout: BTreeSet<String> = operations.difference(&teardown_only).cloned().collect();
    let member = |set: &BTreeSet<String>| -> BTreeSet<String> { set.iter().filter(|o| !is_management(o)).cloned().collect() };
    let reads = |set: BTreeSet<String>| -> BTreeSet<String> { set.into_iter().filter(|o| read_only(o)).collect() };
    let cases = [
        ("management-rollout.json", rollout.clone(), true),
        ("management-audit.json", reads(operations.clone()), false),
        ("management-teardown.json", teardown.clone(), true),
        ("member-rollout.json", member(&rollout), true),
        ("member-audit.json", reads(member(&operations)), false),
        ("member-teardown.json", member(&teardown), true),
    ];
    for (file, needed, writes) in cases {
        let allowed = actions(file);
        let missing: Vec<_> = needed.difference(&allowed).collect();
        assert!(missing.is_empty(), "{file} lacks {missing:?}");
        let extra: Vec<_> = allowed.difference(&needed).filter(|a| !writes || !on_behalf.contains(*a)).collect();
        assert!(extra.is_empty(), "{file} allows more than orgguard needs: {extra:?}");
    }
}
