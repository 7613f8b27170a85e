//! Findings export to S3 at the delegated admin, on the emulator, with the bucket and key in
//! a log-archive account made through the public API: a bucket policy that lacks a statement
//! is reported, named, before any GuardDuty call; once it is there every admin region
//! publishes; a rerun changes nothing; a key policy broken later fails the audit with the
//! destination's status; a teardown removes the destinations.

mod common;

use common::*;
use serde_json::Value;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn plan(key_arn: &str) -> String {
    format!(
        "[organization]\nregions = [\"us-east-1\", \"eu-west-1\"]\n[admin]\naccount = \"{}\"\n\
         [detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
         [export]\nbucket = \"arn:aws:s3:::org-findings\"\nprefix = \"guardduty\"\nkms_key = \"{key_arn}\"\nbucket_account = \"{}\"\n",
        member(1),
        member(2)
    )
}


/// The bucket policy of the log archive: GetBucketLocation, and PutObject when `put`.
fn bucket_policy(emulator: &Emulator, put: bool) {
    let admin = member(1);
    let put_statement = if put {
        format!(r#", {{"Effect": "Allow", "Principal": {{"Service": "guardduty.amazonaws.com"}}, "Action": "s3:PutObject",
                  "Resource": "arn:aws:s3:::org-findings/guardduty/*",
                  "Condition": {{"StringEquals": {{"aws:SourceAccount": "{admin}"}}, "ArnLike": {{"aws:SourceArn": "arn:aws:guardduty:*:{admin}:detector/*"}}}}}}"#)
    } else {
        String::new()
    };
    emulator.boto3_as(&member(2), &format!(r#"
import json
statements = json.loads('''[{{"Effect": "Allow", "Principal": {{"Service": "guardduty.amazonaws.com"}}, "Action": "s3:GetBucketLocation",
               "Resource": "arn:aws:s3:::org-findings", "Condition": {{"StringEquals": {{"aws:SourceAccount": "{admin}"}}}}}}{put_statement}]''')
client("s3", "us-east-1").put_bucket_policy(Bucket="org-findings", Policy=json.dumps({{"Version": "2012-10-17", "Statement": statements}}))
"#));
}

fn destinations(emulator: &Emulator, region: &str) -> Vec<(String, String)> {
    let state = emulator.get("state");
    let found = state["destinations"][member(1)][region].as_array().cloned().unwrap_or_default();
    found.iter().map(|d| (d["destinationArn"].as_str().unwrap().to_owned(), d["status"].as_str().unwrap().to_owned())).collect()
}

#[test]
fn the_admin_exports_every_region_to_the_log_archive_once_its_policies_allow_it() {
    let emulator = Emulator::start(&["--accounts", "2"]);
    let key_file = emulator.workdir.path().join("key-arn");
    emulator.boto3_as(&member(2), &format!(r#"
import json
s3 = client("s3", "us-east-1")
s3.create_bucket(Bucket="org-findings")
s3.put_object(Bucket="org-findings", Key="guardduty/", Body=b"")
policy = {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Service": "guardduty.amazonaws.com"}},
          "Action": "kms:GenerateDataKey", "Resource": "*", "Condition": {{"StringEquals": {{"aws:SourceAccount": "{admin}"}}}}}}]}}
key = client("kms", "us-east-1").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
open({path:?}, "w").write(key)
"#, admin = member(1), path = path_str(&key_file)));
    let key = std::fs::read_to_string(&key_file).unwrap();
    let text = plan(&key);
    bucket_policy(&emulator, false);

    emulator.reset_counts();
    let refused = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!(refused.code(), 1, "{}", refused.stdout());
    let stdout = refused.stdout();
    assert!(stdout.contains("PolicyMissing") && stdout.contains("the bucket policy lacks"), "{stdout}");
    assert!(stdout.contains(r#""Action":"s3:PutObject""#) && stdout.contains("arn:aws:s3:::org-findings/guardduty/*"), "{stdout}");
    assert!(!stdout.contains("GetBucketLocation"), "only what is missing is named: {stdout}");
    assert_eq!(emulator.calls("CreatePublishingDestination", None), 0, "nothing was asked of GuardDuty");
    emulator.reset_counts();
    let dry = with_plan(&emulator, &text, &["rollout", "--dry-run"]);
    assert_eq!(dry.code(), 1, "once the admin's detector exists, the dry run says it too: {}", dry.stdout());
    assert!(dry.stdout().contains("PolicyMissing"), "{}", dry.stdout());
    assert_eq!(emulator.mutating_calls(), 0);

    bucket_policy(&emulator, true);
    let rollout = with_plan(&emulator, &text, &["rollout"]);
    assert_eq!(rollout.code(), 0, "{}", rollout.stdout());
    for region in REGIONS {
        assert_eq!(destinations(&emulator, region), [("arn:aws:s3:::org-findings/guardduty".to_owned(), "PUBLISHING".to_owned())], "{region}");
    }
    emulator.reset_counts();
    assert_eq!(with_plan(&emulator, &text, &["rollout"]).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0, "a rerun changes nothing");

    emulator.boto3_as(&member(2), &format!(r#"
client("kms", "us-east-1").put_key_policy(KeyId={key:?}, PolicyName="default", Policy='{{"Version": "2012-10-17", "Statement": []}}')
"#));
    let audit = with_plan(&emulator, &text, &["audit", "--format", "json"]);
    assert_eq!(audit.code(), 2, "{}", audit.stderr());
    let report: Value = serde_json::from_str(&audit.stdout()).unwrap();
    let unable = |region: &str| ("OG.Org.FindingsExport".to_owned(), region.to_owned(), "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY".to_owned());
    assert_eq!(failing(&report), [unable("eu-west-1"), unable("us-east-1")], "{report}");

    let teardown = with_plan(&emulator, &text, &["teardown", "--only", "central", "--yes"]);
    assert_eq!(teardown.code(), 0, "{}\n{}", teardown.stdout(), teardown.stderr());
    assert!(REGIONS.iter().all(|r| destinations(&emulator, r).is_empty()));
}
