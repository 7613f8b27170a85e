//! Findings export to S3: the delegated admin's detector publishes every member's findings of
//! its region to the plan's bucket, encrypted with the plan's key. One destination per
//! detector: a destination elsewhere is pointed at the plan's bucket; one that GuardDuty cannot
//! publish to is reported with its status.

use std::fmt;

use serde::Serialize;
use serde_json::{json, Value};

use super::{Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::aws::{AwsError, Destination, GuardDuty, Service};
use crate::model::{AccountId, ObservedDestination, Region};
use crate::outcome::Note;
use crate::plan::{Export, Plan};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateDestination { destination: String },
    UpdateDestination { id: String, destination: String, why: String },
    /// Teardown: the destination that publishes to the plan's bucket.
    DeleteDestination { id: String, destination: String },
}

pub fn plan(desired: &Export, observed: &[ObservedDestination]) -> (Vec<Change>, Vec<Note>) {
    let (want, key) = (desired.destination_arn(), desired.kms_key.get_ref());
    let owner = desired.bucket_account.map(|a| a.to_string());
    // The plan's is the destination to the plan's bucket; another is someone else's, kept.
    let ours = observed.iter().find(|d| same_destination(&d.destination_arn, &want));
    let mut notes: Vec<Note> = observed
        .iter()
        .filter(|d| !same_destination(&d.destination_arn, &want))
        .map(|d| Note::new(format!("another publishing destination {} (kept: the plan does not name it)", d.destination_arn)))
        .collect();
    let change = match ours {
        None => Some(Change::CreateDestination { destination: want }),
        Some(found) if found.kms_key_arn != *key => Some(Change::UpdateDestination { id: found.id.clone(), destination: want, why: format!("key {}", found.kms_key_arn) }),
        Some(found) if owner.is_some() && found.expected_owner != owner => {
            let why = format!("expected bucket owner {}", found.expected_owner.as_deref().unwrap_or("not set"));
            Some(Change::UpdateDestination { id: found.id.clone(), destination: want, why })
        }
        Some(found) if !found.status.is_working() => {
            notes.push(Note {
                text: format!("findings export to {want}: status {}; GuardDuty cannot write there with the key: check the bucket and key policies", found.status),
                fails: Some(Failure::new(EXPORT, "PUBLISHING", found.status.to_string())),
            });
            None
        }
        Some(_) => None,
    };
    (change.into_iter().collect(), notes)
}

/// Two destination ARNs name the same place: a folder's trailing / does not count.
fn same_destination(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Teardown: the destinations that publish to the plan's bucket, and no other.
pub fn teardown(desired: &Export, observed: &[ObservedDestination]) -> Vec<Change> {
    let want = desired.destination_arn();
    observed.iter().filter(|d| same_destination(&d.destination_arn, &want)).map(|d| Change::DeleteDestination { id: d.id.clone(), destination: want.clone() }).collect()
}

pub async fn apply(admin: &GuardDuty, detector_id: &str, desired: &Export, change: &Change) -> Result<(), AwsError> {
    let owner = desired.bucket_account.map(|a| a.to_string());
    let target = |arn| Destination { arn, kms_key_arn: desired.kms_key.get_ref(), expected_owner: owner.as_deref() };
    match change {
        Change::CreateDestination { destination } => admin.create_destination(detector_id, &target(destination)).await.map(drop),
        Change::UpdateDestination { id, destination, .. } => admin.update_destination(detector_id, id, &target(destination)).await,
        Change::DeleteDestination { id, .. } => admin.delete_destination(detector_id, id).await,
    }
}

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

const EXPORT: &str = "OG.Org.FindingsExport";

pub fn checks(plan: &Plan) -> Vec<Check> {
    let description = "The delegated admin exports findings to the planned bucket with the planned key, and GuardDuty is publishing";
    plan.export.iter().map(|_| Check::new(Place::Organization, EXPORT, description, "orgguard")).collect()
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateDestination { .. } => "create findings export",
            Self::UpdateDestination { .. } => "update findings export",
            Self::DeleteDestination { .. } => "delete findings export",
        }
    }

    fn calls(&self) -> Calls {
        Calls::here(Service::GuardDuty, 1)
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        match self {
            Self::CreateDestination { destination } => vec![Failure::new(EXPORT, format!("export to {destination}"), "none")],
            Self::UpdateDestination { destination, why, .. } => vec![Failure::new(EXPORT, format!("export to {destination}"), why.clone())],
            Self::DeleteDestination { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDestination { destination } => write!(f, "{destination}"),
            Self::UpdateDestination { destination, why, .. } => write!(f, "{destination} (was {why})"),
            Self::DeleteDestination { destination, .. } => write!(f, "{destination}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::DestinationStatus;

    fn desired() -> Export {
        let text = "[organization]\nregions = \"all\"\n[admin]\naccount = \"100000000001\"\n[detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n\
                    [export]\nbucket = \"arn:aws:s3:::findings\"\nprefix = \"guardduty\"\nkms_key = \"arn:aws:kms:us-east-1:100000000009:key/k1\"\n";
        Plan::parse(text, Path::new("p.toml")).unwrap().export.unwrap()
    }

    fn found(arn: &str, key: &str, status: &str) -> ObservedDestination {
        ObservedDestination { id: "d1".into(), destination_arn: arn.into(), kms_key_arn: key.into(), expected_owner: None, status: DestinationStatus::parse(status) }
    }

    #[test]
    fn a_destination_as_planned_and_publishing_needs_nothing_and_each_difference_its_own_change_or_note() {
        let key = "arn:aws:kms:us-east-1:100000000009:key/k1";
        assert_eq!(plan(&desired(), &[found("arn:aws:s3:::findings/guardduty", key, "PUBLISHING")]), (vec![], vec![]));
        assert_eq!(plan(&desired(), &[]).0, vec![Change::CreateDestination { destination: "arn:aws:s3:::findings/guardduty".into() }]);
        let (changes, notes) = plan(&desired(), &[found("arn:aws:s3:::someone-elses", key, "PUBLISHING")]);
        assert_eq!(changes, vec![Change::CreateDestination { destination: "arn:aws:s3:::findings/guardduty".into() }], "another destination is not taken over");
        assert!(notes[0].text.contains("someone-elses"), "{notes:?}");
        assert_eq!(plan(&desired(), &[found("arn:aws:s3:::findings/guardduty/", key, "PUBLISHING")]), (vec![], vec![]), "a folder's trailing / is the same place");
        let (changes, _) = plan(&desired(), &[found("arn:aws:s3:::findings/guardduty", "arn:aws:kms:us-east-1:100000000009:key/old", "PUBLISHING")]);
        assert!(matches!(&changes[..], [Change::UpdateDestination { why, .. }] if why == "key arn:aws:kms:us-east-1:100000000009:key/old"), "{changes:?}");
        let (changes, notes) = plan(&desired(), &[found("arn:aws:s3:::findings/guardduty", key, "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY")]);
        assert!(changes.is_empty());
        assert_eq!(notes[0].fails.as_ref().unwrap().actual, "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY");
        assert_eq!(teardown(&desired(), &[found("arn:aws:s3:::old", key, "PUBLISHING")]), vec![], "not the plan's bucket");
    }

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
