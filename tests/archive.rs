//! The findings archive orgguard prepares itself (`[export.archive]`), on the emulator: the
//! key made by its alias and the bucket in the log-archive account, each checked through
//! boto3 in that account; every admin region publishes there; a rerun changes nothing;
//! drift made through the public API fails the audit and the next rollout corrects it.

mod common;

use common::*;

fn plan() -> String {
    format!(
        "[organization]\nregions = [\"us-east-1\", \"eu-west-1\"]\n[admin]\naccount = \"{admin}\"\n\
         [detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
         [export]\nbucket = \"arn:aws:s3:::org-archive\"\nprefix = \"guardduty\"\n\
         kms_key = \"arn:aws:kms:eu-west-1:{archive}:alias/guardduty-findings\"\nbucket_account = \"{archive}\"\n\
         [export.archive]\nretention_days = 400\n",
        admin = member(1),
        archive = member(2)
    )
}

/// Checked as the log-archive account's own script would: the bucket, its settings and
/// policy, and the key with both statements; `days` the retention found.
fn check_archive(emulator: &Emulator, days: u32) {
    emulator.boto3_as(
        &member(2),
        &format!(
            r#"
import json
s3, kms = client("s3", "eu-west-1"), client("kms", "eu-west-1")
key = kms.describe_key(KeyId="alias/guardduty-findings")["KeyMetadata"]["Arn"]
assert s3.get_bucket_location(Bucket="org-archive")["LocationConstraint"] == "eu-west-1"
sse = s3.get_bucket_encryption(Bucket="org-archive")["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
assert (sse["SSEAlgorithm"], sse["KMSMasterKeyID"]) == ("aws:kms", key), sse
blocked = s3.get_public_access_block(Bucket="org-archive")["PublicAccessBlockConfiguration"]
assert all(blocked.values()) and len(blocked) == 4, blocked
policy = json.loads(s3.get_bucket_policy(Bucket="org-archive")["Policy"])
sids = sorted(s["Sid"] for s in policy["Statement"])
assert sids == ["OrgguardDenyInsecureTransport", "OrgguardGuardDutyGetBucketLocation", "OrgguardGuardDutyPutObject"], sids
put = next(s for s in policy["Statement"] if s["Sid"] == "OrgguardGuardDutyPutObject")
assert put["Resource"] == "arn:aws:s3:::org-archive/guardduty/*" and put["Condition"]["StringEquals"]["aws:SourceAccount"] == "{admin}", put
rules = s3.get_bucket_lifecycle_configuration(Bucket="org-archive")["Rules"]
assert [(r["ID"], r["Expiration"]["Days"], r["Filter"]["Prefix"]) for r in rules] == [("orgguard-findings-retention", {days}, "guardduty/AWSLogs/")], rules
s3.head_object(Bucket="org-archive", Key="guardduty/")
key_policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
statements = {{s["Sid"]: s for s in key_policy["Statement"]}}
assert statements["OrgguardKeyAdministration"]["Principal"]["AWS"] == "arn:aws:iam::{archive}:root"
assert statements["OrgguardGuardDutyFindings"]["Action"] == "kms:GenerateDataKey"
"#,
            admin = member(1),
            archive = member(2)
        ),
    );
}

#[test]
fn orgguard_prepares_the_archive_once_every_region_publishes_there_and_drift_is_corrected() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let text = plan();

    emulator.reset_counts();
    let dry = with_plan(&emulator, &text, &["rollout", "--dry-run", "--detail"]);
    assert_eq!(dry.code(), 0, "{}{}", dry.stdout(), dry.stderr());
    assert_eq!(emulator.mutating_calls(), 0, "a dry run makes no call that changes anything");
    for expected in ["create the archive key alias/guardduty-findings", "create the archive bucket org-archive", "keep findings in org-archive 400 days"] {
        assert!(dry.stdout().contains(expected), "{expected}: {}", dry.stdout());
    }

    let run = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!(run.code(), 0, "{}{}", run.stdout(), run.stderr());
    check_archive(&emulator, 400);
    assert_eq!(emulator.calls("CreateKey", None), 1, "one key, made once");
    let state = emulator.get("state");
    for region in ["us-east-1", "eu-west-1"] {
        let found = state["destinations"][member(1)][region].as_array().cloned().unwrap_or_default();
        let found: Vec<(&str, &str, bool)> = found
            .iter()
            .map(|d| (d["destinationArn"].as_str().unwrap(), d["status"].as_str().unwrap(), d["kmsKeyArn"].as_str().unwrap().contains(":key/")))
            .collect();
        assert_eq!(found, [("arn:aws:s3:::org-archive/guardduty", "PUBLISHING", true)], "{region}: the key's ARN, not its alias");
    }

    emulator.reset_counts();
    let again = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!((again.code(), emulator.mutating_calls()), (0, 0), "a rerun changes nothing: {}", again.stdout());

    // The log-archive account loosens the bucket through the public API.
    emulator.boto3_as(
        &member(2),
        r#"
s3 = client("s3", "eu-west-1")
s3.delete_public_access_block(Bucket="org-archive")
s3.put_bucket_lifecycle_configuration(Bucket="org-archive", LifecycleConfiguration={"Rules": [
    {"ID": "orgguard-findings-retention", "Status": "Enabled", "Filter": {"Prefix": "guardduty/AWSLogs/"}, "Expiration": {"Days": 30}},
    {"ID": "theirs", "Status": "Enabled", "Filter": {"Prefix": "other/"}, "Expiration": {"Days": 7}}]})
"#,
    );
    let audit = with_plan(&emulator, &text, &["audit", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: serde_json::Value = serde_json::from_str(&audit.stdout()).unwrap();
    let mut failed = failing(&report);
    failed.sort();
    assert_eq!(
        failed,
        [
            ("OG.Org.FindingsExport".to_owned(), "eu-west-1".to_owned(), "not blocked; 30 days".to_owned()),
        ],
        "at the admin, in the archive's region"
    );
    emulator.reset_counts();
    let fixed = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!(fixed.code(), 0, "{}", fixed.stdout());
    assert_eq!((emulator.calls("PutBucketPublicAccessBlock", None), emulator.calls("PutBucketLifecycle", None)), (1, 1));
    assert_eq!(emulator.mutating_calls(), 2, "exactly the two corrections");
    check_archive_rules(&emulator);
    assert_eq!(with_plan(&emulator, &text, &["audit"]).code(), 0);
}

/// The bucket's other lifecycle rule is kept beside orgguard's.
fn check_archive_rules(emulator: &Emulator) {
    emulator.boto3_as(
        &member(2),
        r#"
rules = client("s3", "eu-west-1").get_bucket_lifecycle_configuration(Bucket="org-archive")["Rules"]
assert sorted((r["ID"], r["Expiration"]["Days"]) for r in rules) == [("orgguard-findings-retention", 400), ("theirs", 7)], rules
"#,
    );
}
