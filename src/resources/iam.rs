//! An IAM role orgguard owns and the one policy attached to it: the account's role that
//! EventBridge assumes with its publishing policy (IAM is global: once per account), or
//! Chatbot's at the delegated admin. A changed policy document gets a new default version;
//! the oldest non-default one goes first when IAM's five are used.

use std::fmt;

use serde::Serialize;
use serde_json::json;

use super::{same_json, Calls, Check, Kind, Place};
use crate::control::Failure;
use crate::permissions::{Grant, Phase};
use crate::aws::{AwsError, Iam, Service};
use crate::desired::Role;
use crate::model::ObservedIam;
use crate::outcome::Note;
use crate::plan::Plan;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateRole { role: String },
    UpdateRoleTrust { role: String },
    CreatePolicy { policy: String },
    /// A new default version; `delete_version` first when IAM's five versions are used.
    UpdatePolicy { policy: String, delete_version: Option<String> },
    AttachPolicy { role: String, policy: String },
    /// Teardown: the policy off the role.
    DetachPolicy { role: String, policy: String },
    /// Teardown: the policy's non-default versions, then the policy.
    DeletePolicy { policy: String, old_versions: Vec<String> },
    /// Teardown: the role, once no policy is attached to it.
    DeleteRole { role: String },
}

pub fn plan(desired: &Role, observed: &ObservedIam) -> Vec<Change> {
    let role = desired.role.clone();
    let policy = desired.policy.clone();
    let mut changes = Vec::new();
    match &observed.role_trust {
        None => changes.push(Change::CreateRole { role: role.clone() }),
        Some(trust) if !same_json(trust, &desired.trust) => changes.push(Change::UpdateRoleTrust { role: role.clone() }),
        Some(_) => {}
    }
    match &observed.policy {
        None => changes.push(Change::CreatePolicy { policy: policy.clone() }),
        Some(current) if !same_json(&current.document, &desired.document) => {
            // IAM keeps five versions; the default one is never among old_versions.
            let delete_version = (current.old_versions.len() >= 4).then(|| current.old_versions[0].clone());
            changes.push(Change::UpdatePolicy { policy: policy.clone(), delete_version })
        }
        Some(_) => {}
    }
    if !observed.attached {
        changes.push(Change::AttachPolicy { role, policy });
    }
    changes
}

/// Teardown: the policy detached and deleted (every version), then the role. A policy
/// attached elsewhere too, or a role with other policies attached, is kept and reported.
pub fn teardown(desired: &Role, observed: &ObservedIam) -> (Vec<Change>, Vec<Note>) {
    let (role, policy) = (desired.role.clone(), desired.policy.clone());
    let (mut changes, mut notes) = (Vec::new(), Vec::new());
    if observed.attached {
        changes.push(Change::DetachPolicy { role: role.clone(), policy: policy.clone() });
    }
    if let Some(current) = &observed.policy {
        let elsewhere = current.attachments - i32::from(observed.attached);
        if elsewhere > 0 {
            notes.push(Note::new(format!("policy {policy} kept: attached to {elsewhere} other roles, users or groups")));
        } else {
            changes.push(Change::DeletePolicy { policy, old_versions: current.old_versions.clone() });
        }
    }
    if observed.role_trust.is_some() {
        if observed.others_attached.is_empty() {
            changes.push(Change::DeleteRole { role });
        } else {
            notes.push(Note::new(format!("role {role} kept: it also has {}", observed.others_attached.join(", "))));
        }
    }
    (changes, notes)
}

pub async fn apply(iam: &Iam, desired: &Role, change: &Change) -> Result<(), AwsError> {
    let (role, policy_arn) = (&desired.role, &desired.policy_arn);
    match change {
        Change::CreateRole { .. } => iam.create_role(role, &desired.trust.to_string()).await,
        Change::UpdateRoleTrust { .. } => iam.update_trust(role, &desired.trust.to_string()).await,
        Change::CreatePolicy { policy } => iam.create_policy(policy, &desired.document.to_string()).await,
        Change::UpdatePolicy { delete_version, .. } => iam.new_policy_version(policy_arn, &desired.document.to_string(), delete_version.as_deref()).await,
        Change::AttachPolicy { .. } => iam.attach(role, policy_arn).await,
        Change::DetachPolicy { .. } => iam.detach(role, policy_arn).await,
        Change::DeletePolicy { old_versions, .. } => iam.delete_policy(policy_arn, old_versions).await,
        Change::DeleteRole { .. } => iam.delete_role(role).await,
    }
}

const ROLE: &str = "OG.Wiring.Role";
const POLICY: &str = "OG.Wiring.Policy";

/// The reads of every role orgguard makes.
pub const READS: &[&str] =
    &["iam:GetRole", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListAttachedRolePolicies", "iam:ListPolicyVersions", "iam:ListRolePolicies", "iam:ListInstanceProfilesForRole"];

/// A role orgguard makes (`name` tells its statements apart), with its one policy, passed only
/// to `service`: made, attached only that policy, and taken out by a teardown.
pub fn role_grants(name: &str, role: &str, policy: &str, service: &str, p: &str) -> Vec<Grant> {
    let (role_arn, policy_arn) = ([format!("arn:{p}:iam::*:role/{role}")], [format!("arn:{p}:iam::*:policy/{policy}")]);
    let only_policy = json!({"ArnLike": {"iam:PolicyARN": policy_arn[0]}});
    vec![
        Grant::read(READS),
        Grant::new(format!("{name}RoleWrite"), Phase::Rollout, &["iam:CreateRole", "iam:UpdateAssumeRolePolicy"], &role_arn),
        Grant::new(format!("AttachOnlyThe{name}Policy"), Phase::Rollout, &["iam:AttachRolePolicy"], &role_arn).when(only_policy.clone()),
        Grant::new(format!("{name}PolicyWrite"), Phase::Rollout, &["iam:CreatePolicy", "iam:CreatePolicyVersion"], &policy_arn),
        Grant::new(format!("{name}PolicyWrite"), Phase::Both, &["iam:DeletePolicyVersion"], &policy_arn),
        Grant::new(format!("PassThe{name}Role"), Phase::Rollout, &["iam:PassRole"], &role_arn).when(json!({"StringEquals": {"iam:PassedToService": service}})),
        Grant::new(format!("{name}RoleTeardown"), Phase::Teardown, &["iam:DeleteRole"], &role_arn),
        Grant::new(format!("DetachOnlyThe{name}Policy"), Phase::Teardown, &["iam:DetachRolePolicy"], &role_arn).when(only_policy),
        Grant::new(format!("{name}PolicyTeardown"), Phase::Teardown, &["iam:DeletePolicy"], &policy_arn),
    ]
}

/// The roles are declared by the kinds that need them.
pub fn grants(_: &Plan, _: &str) -> Vec<Grant> {
    Vec::new()
}

pub fn checks(plan: &Plan) -> Vec<Check> {
    if plan.notifications.is_none() {
        return Vec::new();
    }
    vec![
        Check::new(Place::Account, ROLE, "The EventBridge role exists, trusted by events.amazonaws.com", "orgguard"),
        Check::new(Place::Account, POLICY, "The publish policy is as planned and attached to the role", "orgguard"),
    ]
}

impl Kind for Change {
    fn kind(&self) -> &'static str {
        match self {
            Self::CreateRole { .. } => "create IAM role",
            Self::UpdateRoleTrust { .. } => "update IAM role trust",
            Self::CreatePolicy { .. } => "create IAM policy",
            Self::UpdatePolicy { .. } => "update IAM policy",
            Self::AttachPolicy { .. } => "attach IAM policy",
            Self::DetachPolicy { .. } => "detach IAM policy",
            Self::DeletePolicy { .. } => "delete IAM policy",
            Self::DeleteRole { .. } => "delete IAM role",
        }
    }

    fn calls(&self) -> Calls {
        match self {
            Self::UpdatePolicy { delete_version, .. } => Calls::here(Service::Iam, 1 + u32::from(delete_version.is_some())),
            Self::DeletePolicy { old_versions, .. } => Calls::here(Service::Iam, 1 + old_versions.len() as u32),
            _ => Calls::here(Service::Iam, 1),
        }
    }

    fn failures(&self, _: &Plan) -> Vec<Failure> {
        vec![match self {
            Self::DetachPolicy { .. } | Self::DeletePolicy { .. } | Self::DeleteRole { .. } => return Vec::new(),
            Self::CreateRole { role } => Failure::new(ROLE, format!("role {role}"), "missing"),
            Self::UpdateRoleTrust { role } => {
                Failure::new(ROLE, format!("role {role} with the planned trust policy"), "other trust policy")
            }
            Self::CreatePolicy { policy } => Failure::new(POLICY, format!("policy {policy}"), "missing"),
            Self::UpdatePolicy { policy, .. } => Failure::new(POLICY, format!("policy {policy} as planned"), "other document"),
            Self::AttachPolicy { role, policy } => Failure::new(POLICY, format!("{policy} attached to {role}"), "not attached"),
        }]
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The role's purpose is its kind's to say (EventBridge's, Chatbot's, VPC Flow Logs').
            Self::CreateRole { role } => write!(f, "role {role}"),
            Self::UpdateRoleTrust { role } => write!(f, "role {role}: trust policy differs"),
            Self::CreatePolicy { policy } => write!(f, "policy {policy}"),
            Self::UpdatePolicy { policy, delete_version } => {
                write!(f, "policy {policy}: document differs, new default version")?;
                match delete_version {
                    Some(version) => write!(f, " (deleting the oldest version {version})"),
                    None => Ok(()),
                }
            }
            Self::AttachPolicy { role, policy } => write!(f, "{policy} to {role}"),
            Self::DetachPolicy { role, policy } => write!(f, "{policy} from {role}"),
            Self::DeletePolicy { policy, old_versions } if old_versions.is_empty() => write!(f, "policy {policy}"),
            Self::DeletePolicy { policy, old_versions } => write!(f, "policy {policy}, its {} older versions first", old_versions.len()),
            Self::DeleteRole { role } => write!(f, "role {role}"),
        }
    }
}

#[cfg(test)]
mod tests {


    use super::super::fixtures;
    use super::*;
    use crate::desired::Wiring;
    use crate::model::{ObservedPolicy, Partition};

    #[test]
    fn a_changed_policy_gets_a_new_version_and_the_oldest_goes_when_five_exist() {
        let plan_file = fixtures::plan();
        let account = fixtures::account();
        let wiring = Wiring { plan: plan_file.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws, alarms: false };
        let observed = |old: &[&str]| ObservedIam {
            role_trust: Some(wiring.trust_policy()),
            policy: Some(ObservedPolicy {
                document: json!({"Version": "2012-10-17", "Statement": []}),
                old_versions: old.iter().map(|v| v.to_string()).collect(),
                attachments: 1,
            }),
            attached: true,
            others_attached: vec![],
        };
        let policy = "EventBridgePublishGuarddutyFinding".to_owned();
        assert_eq!(plan(&wiring.role(), &observed(&["v1"])), vec![Change::UpdatePolicy { policy: policy.clone(), delete_version: None }]);
        let full = plan(&wiring.role(), &observed(&["v1", "v2", "v3", "v4"]));
        assert_eq!(full, vec![Change::UpdatePolicy { policy, delete_version: Some("v1".into()) }]);
        assert_eq!(full[0].calls(), Calls::here(Service::Iam, 2), "the delete is a call of its own");
        let (policy, role) = (wiring.plan.policy.clone(), wiring.plan.role.clone());
        let (changes, notes) = teardown(&wiring.role(), &observed(&["v1", "v2"]));
        assert!(notes.is_empty());
        assert_eq!(changes, vec![
            Change::DetachPolicy { role: role.clone(), policy: policy.clone() },
            Change::DeletePolicy { policy: policy.clone(), old_versions: vec!["v1".into(), "v2".into()] },
            Change::DeleteRole { role: role.clone() },
        ]);
        assert_eq!(changes[1].calls().count, 3, "each older version, then the policy");
        let mut shared = observed(&[]);
        shared.policy.as_mut().unwrap().attachments = 2;
        shared.others_attached = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
        let (changes, notes) = teardown(&wiring.role(), &shared);
        assert_eq!(changes, vec![Change::DetachPolicy { role, policy }], "what others use is kept");
        assert_eq!(notes.len(), 2, "{notes:?}");
    }


    #[test]
    fn nothing_there_means_role_policy_and_attachment() {
        let plan_file = fixtures::plan();
        let account = fixtures::account();
        let wiring = Wiring { plan: plan_file.notifications.as_ref().unwrap(), account: &account, partition: Partition::Aws, alarms: false };
        let changes = plan(&wiring.role(), &ObservedIam { role_trust: None, policy: None, attached: false, others_attached: vec![] });
        let kinds: Vec<&str> = changes.iter().map(Kind::kind).collect();
        assert_eq!(kinds, ["create IAM role", "create IAM policy", "attach IAM policy"]);
    }
}
