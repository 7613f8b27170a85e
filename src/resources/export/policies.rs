//! What GuardDuty needs from the bucket and key policies before it is asked to publish
//! there: judged from the policies as read, so that a dry run names a statement missing.

use serde_json::{json, Value};

use crate::aws::{AwsError, Storage};
use crate::model::{AccountId, Region};
use crate::outcome::{TargetError, Unmet};
use crate::plan::Export;

/// What GuardDuty needs from the bucket and key policies to publish for the admin's detector
/// (`source_arn`) in `region`: each statement missing, as the JSON to add, with where. A
/// policy that is not there (None) lacks everything; one whose conditions orgguard cannot
/// judge (keys other than aws:SourceAccount and aws:SourceArn, operators other than the
/// string and ARN ones) is left to GuardDuty. Deny statements are not judged.
pub fn missing_statements(
    desired: &Export,
    bucket_policy: Option<&Value>,
    key_policy: Option<&Value>,
    admin: &AccountId,
    region: &Region,
    source_arn: &str,
) -> Vec<(&'static str, Value)> {
    let principal = region.guardduty_principal();
    let bucket = desired.bucket.get_ref();
    let folder = desired.prefix.as_ref().map_or(bucket.clone(), |p| format!("{bucket}/{}", p.get_ref()));
    // An object GuardDuty writes: prefix/AWSLogs/<admin>/GuardDuty/<region>/...
    let object = format!("{folder}/AWSLogs/{admin}/GuardDuty/{region}/findings.jsonl.gz");
    let needed = [
        ("bucket policy", bucket_policy, "s3:GetBucketLocation", bucket.clone(), bucket.clone()),
        ("bucket policy", bucket_policy, "s3:PutObject", object, format!("{folder}/*")),
        ("key policy", key_policy, "kms:GenerateDataKey", desired.kms_key.get_ref().clone(), "*".into()),
    ];
    needed
        .into_iter()
        .filter(|(_, policy, action, resource, _)| {
            policy.is_none_or(|p| judge(p, &principal, action, resource, admin.as_str(), source_arn) == Verdict::Missing)
        })
        .map(|(place, _, action, _, resource)| {
            let statement = json!({
                "Effect": "Allow",
                "Principal": {"Service": principal},
                "Action": action,
                "Resource": resource,
                "Condition": {"StringEquals": {"aws:SourceAccount": admin.as_str(), "aws:SourceArn": source_arn}},
            });
            (place, statement)
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Allowed,
    Missing,
    /// A condition orgguard does not judge.
    Unknown,
}

/// Whether an Allow statement of the policy lets the service principal make the call on the
/// resource, with its conditions on aws:SourceAccount and aws:SourceArn met.
fn judge(policy: &Value, principal: &str, action: &str, resource: &str, account: &str, source_arn: &str) -> Verdict {
    let statements = match &policy["Statement"] {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    let applying = statements.iter().filter(|statement| {
        let named = statement["Principal"] == "*" || strings(&statement["Principal"]["Service"]).iter().any(|p| p == principal);
        statement["Effect"] == "Allow"
            && named
            && strings(&statement["Action"]).iter().any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && strings(&statement["Resource"]).iter().any(|r| glob(r, resource))
    });
    let verdicts: Vec<Verdict> = applying.map(|statement| conditions(&statement["Condition"], account, source_arn)).collect();
    if verdicts.contains(&Verdict::Allowed) {
        Verdict::Allowed
    } else if verdicts.contains(&Verdict::Unknown) {
        Verdict::Unknown
    } else {
        Verdict::Missing
    }
}

/// A statement's conditions, as IAM evaluates them for GuardDuty's request.
fn conditions(condition: &Value, account: &str, source_arn: &str) -> Verdict {
    let Some(operators) = condition.as_object() else { return Verdict::Allowed };
    let mut verdict = Verdict::Allowed;
    for (operator, tests) in operators {
        let operator = operator.to_ascii_lowercase();
        let (operator, if_exists) = match operator.strip_suffix("ifexists") {
            Some(base) => (base.to_owned(), true),
            None => (operator, false),
        };
        for (key, wanted) in tests.as_object().into_iter().flatten() {
            let value = match key.to_ascii_lowercase().as_str() {
                "aws:sourceaccount" => account,
                "aws:sourcearn" => source_arn,
                _ if if_exists => continue,
                _ => return Verdict::Unknown,
            };
            let wanted = strings(wanted);
            let any = |matches: &dyn Fn(&str) -> bool| wanted.iter().any(|w| matches(w));
            let holds = match operator.as_str() {
                "stringequals" => any(&|w| w == value),
                "stringequalsignorecase" => any(&|w| w.eq_ignore_ascii_case(value)),
                "stringlike" | "arnlike" | "arnequals" => any(&|w| glob(w, value)),
                "stringnotequals" => !any(&|w| w == value),
                "stringnotlike" | "arnnotlike" | "arnnotequals" => !any(&|w| glob(w, value)),
                _ => return Verdict::Unknown,
            };
            if !holds {
                verdict = Verdict::Missing;
            }
        }
    }
    verdict
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
        Value::String(one) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// IAM's wildcards: `*` any run of characters, `?` one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Before GuardDuty is asked to publish to the plan's bucket: the bucket and key policies,
/// read in the accounts that own them (`buckets`, `keys`), must let the admin's detector write
/// there; a statement missing fails the target, named, with nothing sent to GuardDuty.
/// Policies that cannot be read are left to GuardDuty (its status says what it found).
pub async fn check(buckets: &Storage, keys: &Storage, export: &Export, region: &Region, admin: &AccountId, source_arn: &str) -> Result<(), TargetError> {
    let read = async {
        let bucket = buckets.bucket_policy(export.bucket_name()).await?;
        let key = keys.key_policy(export.kms_key.get_ref()).await?;
        Ok::<_, AwsError>((bucket, key))
    };
    let (bucket, key) = match read.await {
        Ok(policies) => policies,
        Err(error) => {
            tracing::warn!("findings export in {region}: the bucket and key policies were not checked: {error}");
            return Ok(());
        }
    };
    let missing = missing_statements(export, bucket.as_ref(), key.as_ref(), admin, region, source_arn);
    if missing.is_empty() {
        return Ok(());
    }
    let each: Vec<String> = missing.iter().map(|(place, statement)| format!("the {place} lacks {statement}")).collect();
    let message = format!("not asked of GuardDuty: {}", each.join("; "));
    Err(TargetError::Unmet { operation: "guardduty:CreatePublishingDestination", unmet: Unmet::PolicyMissing, message })
}

#[cfg(test)]
mod tests {
    use super::super::tests::desired;
    use super::*;

    #[test]
    fn the_missing_statement_is_named_and_conditions_for_another_detector_do_not_count() {
        let admin = AccountId::parse("100000000001").unwrap();
        let region = Region::parse("us-east-1").unwrap();
        let detector = "arn:aws:guardduty:us-east-1:100000000001:detector/abc";
        let bucket = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": "s3:GetBucketLocation",
             "Resource": "arn:aws:s3:::findings", "Condition": {"StringEquals": {"aws:SourceAccount": "100000000001"}}},
            {"Effect": "Allow", "Principal": {"Service": ["guardduty.amazonaws.com"]}, "Action": ["s3:PutObject"],
             "Resource": "arn:aws:s3:::findings/guardduty/*", "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:guardduty:*:100000000001:detector/*"}}},
        ]});
        let key = json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}});
        assert_eq!(missing_statements(&desired(), Some(&bucket), Some(&key), &admin, &region, detector), vec![]);
        let other = "arn:aws:guardduty:us-east-1:100000000002:detector/xyz";
        let missing = missing_statements(&desired(), Some(&bucket), Some(&key), &AccountId::parse("100000000002").unwrap(), &region, other);
        let places: Vec<_> = missing.iter().map(|(place, s)| (*place, s["Action"].as_str().unwrap())).collect();
        assert_eq!(places, [("bucket policy", "s3:GetBucketLocation"), ("bucket policy", "s3:PutObject")], "the key policy has no condition");
        assert_eq!(missing[1].1["Resource"], "arn:aws:s3:::findings/guardduty/*");
        let negated = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": "S3:*",
            "Resource": "arn:aws:s3:::findings*", "Condition": {"StringNotEquals": {"aws:SourceAccount": "100000000001"}}}]});
        assert_eq!(missing_statements(&desired(), Some(&negated), Some(&key), &admin, &region, detector).len(), 2, "StringNotEquals the admin excludes it");
        let org_only = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": "s3:*",
            "Resource": "arn:aws:s3:::findings*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}]});
        assert_eq!(missing_statements(&desired(), Some(&org_only), Some(&key), &admin, &region, detector), vec![], "a key orgguard does not judge is left to GuardDuty");
        let arn_equals = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": ["s3:GetBucketLocation", "s3:PutObject"],
            "Resource": ["arn:aws:s3:::findings", "arn:aws:s3:::findings/guardduty/AWSLogs/*"], "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:guardduty:*:100000000001:detector/*"}}}]});
        assert_eq!(missing_statements(&desired(), Some(&arn_equals), Some(&key), &admin, &region, detector), vec![], "ArnEquals takes wildcards; the object is under AWSLogs");
        let opt_in = Region::parse("af-south-1").unwrap();
        let missing = missing_statements(&desired(), Some(&bucket), None, &admin, &opt_in, detector);
        assert_eq!(missing.len(), 3, "an opt-in region's GuardDuty is its regional principal, and there is no key policy");
        assert_eq!(missing[0].1["Principal"]["Service"], "guardduty.af-south-1.amazonaws.com");
        assert!(glob("arn:aws:s3:::f*/g?ardduty/*", "arn:aws:s3:::findings/guardduty/x") && !glob("a*b", "ac"));
    }
}
