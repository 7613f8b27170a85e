//! docs/iam holds least-privilege policies: every AWS operation orgguard can call is in
//! them (the read-only ones in the audit variants), and nothing more than what AWS needs
//! on orgguard's behalf.

mod common;

use std::collections::BTreeSet;

use common::root;
use orgguard::permissions::{Principal, Purpose};
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

/// Calls only `orgguard drill` makes: in the drill policies only.
const DRILL_ONLY: &[&str] = &["guardduty:CreateSampleFindings", "cloudwatch:GetMetricData", "guardduty:ListFindings", "events:TestEventPattern"];

/// Writes the teardown makes as well as the rollout.
const TEARDOWN_SHARED: &[&str] =
    &["chatbot:UpdateSlackChannelConfiguration", "guardduty:UpdateOrganizationConfiguration", "guardduty:DisableOrganizationAdminAccount", "guardduty:DeleteFilter", "guardduty:DeleteIPSet", "guardduty:DeleteThreatIntelSet", "sns:Unsubscribe", "iam:DeletePolicyVersion", "ec2:DeleteFlowLogs"];

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
    // A role orgguard makes may be attached (or detached) only its own policy.
    for (file, action) in [("member-rollout.json", "iam:AttachRolePolicy"), ("member-teardown.json", "iam:DetachRolePolicy")] {
        let attaching: Vec<Value> = statements(file).into_iter().filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action)).collect();
        let roles_and_policies: Vec<(&str, &str)> =
            attaching.iter().map(|s| (s["Resource"].as_str().unwrap(), s["Condition"]["ArnLike"]["iam:PolicyARN"].as_str().unwrap())).collect();
        assert_eq!(
            roles_and_policies,
            [
                ("arn:aws:iam::*:role/guardduty-chatbot", "arn:aws:iam::*:policy/GuardDutyChatbotReadOnly"),
                ("arn:aws:iam::*:role/eventbridge_to_sns", "arn:aws:iam::*:policy/EventBridgePublishGuarddutyFinding"),
                ("arn:aws:iam::*:role/orgguard-flow-logs", "arn:aws:iam::*:policy/OrgGuardFlowLogsDelivery"),
            ],
            "{file}"
        );
    }
}

/// docs/iam is what `orgguard iam-policy` prints for the shipped plans (`scripts/iam-policies`
/// writes it), so the policies there are the ones the kinds declare.
#[test]
fn the_documented_policies_are_what_the_kinds_declare_for_the_shipped_plans() {
    let mut plans: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("plans")).unwrap().map(|e| e.unwrap().path()).collect();
    plans.sort();
    for principal in [Principal::Management, Principal::Member] {
        for purpose in [Purpose::Rollout, Purpose::Audit, Purpose::Teardown, Purpose::Drill] {
            let name = format!("{}-{}.json", format!("{principal:?}").to_lowercase(), format!("{purpose:?}").to_lowercase());
            let policy = orgguard::ops::iam_policy(&plans, principal, purpose, "aws", principal == Principal::Management).unwrap();
            let documented = std::fs::read_to_string(root().join("docs/iam").join(&name)).unwrap();
            assert_eq!(documented.trim_end(), serde_json::to_string_pretty(&policy).unwrap(), "docs/iam/{name}: run scripts/iam-policies");
        }
    }
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
    let mut operations = operations();
    for drill_only in DRILL_ONLY {
        assert!(operations.remove(*drill_only), "{drill_only} is called");
    }
    let drill = [("management-drill.json", &DRILL_ONLY[3..]), ("member-drill.json", &DRILL_ONLY[..3])];
    for (file, needed) in drill {
        let allowed = actions(file);
        let missing: Vec<_> = needed.iter().filter(|a| !allowed.contains(**a)).collect();
        assert!(missing.is_empty(), "{file} lacks {missing:?}");
    }
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

/// What the emulator saw each principal call, as IAM actions: every account but the
/// management account is reached through the member role.
fn called(emulator: &common::Emulator) -> BTreeSet<(Principal, String)> {
    let requests = emulator.get("counts")["requests"].as_array().unwrap().clone();
    requests
        .iter()
        .map(|r| {
            let principal = if r["account"] == common::MANAGEMENT { Principal::Management } else { Principal::Member };
            (principal, iam_action(r["service"].as_str().unwrap(), r["operation"].as_str().unwrap()))
        })
        .collect()
}

/// The IAM action AWS checks for an API operation, where the two names differ.
fn iam_action(service: &str, operation: &str) -> String {
    let service = match service {
        "monitoring" => "cloudwatch",
        other => other,
    };
    let operation = match (service, operation) {
        ("s3", "HeadBucket") => "ListBucket",
        ("s3", "GetBucketEncryption") => "GetEncryptionConfiguration",
        ("s3", "PutBucketEncryption") => "PutEncryptionConfiguration",
        // (The emulator names the lifecycle calls as moto does, without "Configuration".)
        ("s3", "GetBucketLifecycleConfiguration" | "GetBucketLifecycle") => "GetLifecycleConfiguration",
        ("s3", "PutBucketLifecycleConfiguration" | "PutBucketLifecycle") => "PutLifecycleConfiguration",
        ("s3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("s3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "HeadObject") => "GetObject",
        (_, operation) => operation,
    };
    format!("{service}:{operation}")
}

/// Every call orgguard made at the emulator in a rollout, an audit and a teardown of the
/// shipped plans is in the policy `orgguard iam-policy` prints for its principal and command:
/// a call that no kind declares fails here, whatever its name in the source.
#[test]
fn every_call_of_every_command_is_in_the_policy_its_kinds_declare() {
    let emulator = common::Emulator::start(&["--accounts", "3"]);
    emulator.post("slack-workspace", serde_json::json!({"account": "100000000001", "team_id": "T07ORG", "team_name": "example"}));
    emulator.boto3_as(
        "100000000002",
        r#"
s3 = client("s3", "us-east-1")
s3.create_bucket(Bucket="example-security-lists")
for key in ("trusted-ips.txt", "threat-ips.txt"):
    s3.put_object(Bucket="example-security-lists", Key=key, Body=b"203.0.113.0/24\n")
"#,
    );
    let regions = "us-east-1,eu-west-1";
    let commands: [(Purpose, &[&str]); 4] = [
        (Purpose::Rollout, &["rollout"]),
        (Purpose::Audit, &["audit"]),
        (Purpose::Drill, &["drill", "--yes", "--timeout", "1"]),
        (Purpose::Teardown, &["teardown", "--delete-detectors", "--yes"]),
    ];
    for plan in ["plans/central-findings.toml", "plans/network-exfiltration.toml"] {
        let path = root().join(plan);
        for (purpose, args) in commands {
            emulator.reset_counts();
            let run = emulator.orgguard(&[args, &["--plan", path.to_str().unwrap(), "--regions", regions]].concat());
            assert!(run.code() <= 2, "{plan} {args:?}: {}", run.stderr());
            let policies = [Principal::Management, Principal::Member].map(|principal| {
                let policy = orgguard::ops::iam_policy(&[path.clone()], principal, purpose, "aws", true).unwrap();
                let policy = serde_json::to_value(policy).unwrap();
                let actions: BTreeSet<String> = policy["Statement"].as_array().unwrap().iter().flat_map(|s| s["Action"].as_array().unwrap().clone()).map(|a| a.as_str().unwrap().to_owned()).collect();
                (principal, actions)
            });
            let calls = called(&emulator);
            assert!(!calls.is_empty(), "{plan} {args:?}: the emulator counted nothing");
            let lacking: Vec<_> = calls.iter().filter(|(principal, action)| !policies.iter().any(|(p, allowed)| p == principal && allowed.contains(action))).collect();
            assert!(lacking.is_empty(), "{plan} {args:?}: the policies lack {lacking:?}");
        }
    }
}
