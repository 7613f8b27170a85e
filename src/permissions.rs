//! The IAM permissions orgguard needs, as each resource kind declares them (`grants` in its
//! file), assembled into a policy for one principal and one command: `orgguard iam-policy`
//! prints it, and `docs/iam/*.json` are its output for the shipped plans.

use serde::Serialize;
use serde_json::{json, Value};

/// Who calls: the identity orgguard runs as in the management account, or the member role
/// it assumes in every other account (the delegated admin and the log archive are members).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Principal {
    Management,
    Member,
}

/// The command a policy is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Purpose {
    /// `rollout` (and `audit`, `report`, a dry run).
    Rollout,
    /// `audit`, `report` and `rollout --dry-run` only: reads.
    Audit,
    /// `teardown`: the reads and what a teardown removes.
    Teardown,
    /// `drill`: the reads, sample findings and the delivery metrics.
    Drill,
}

/// When a grant is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// By every command.
    Read,
    /// By a rollout's writes.
    Rollout,
    /// By a teardown's.
    Teardown,
    /// By both.
    Both,
    /// By a drill.
    Drill,
}

impl Phase {
    fn serves(self, purpose: Purpose) -> bool {
        match (self, purpose) {
            (Phase::Read, _) => true,
            (Phase::Rollout | Phase::Both, Purpose::Rollout) => true,
            (Phase::Teardown | Phase::Both, Purpose::Teardown) => true,
            (Phase::Drill, Purpose::Drill) => true,
            _ => false,
        }
    }
}

/// Actions on resources, under a statement id that kinds sharing a resource share.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub sid: String,
    pub principal: Principal,
    pub phase: Phase,
    pub actions: Vec<&'static str>,
    pub resources: Vec<String>,
    pub condition: Option<Value>,
}

impl Grant {
    /// Reads on every resource (IAM offers nothing narrower for most of orgguard's reads).
    pub fn read(actions: &[&'static str]) -> Self {
        Self::new("OrgguardRead", Phase::Read, actions, &["*"])
    }

    /// The member role's `actions` on `resources`.
    pub fn new(sid: impl Into<String>, phase: Phase, actions: &[&'static str], resources: &[impl AsRef<str>]) -> Self {
        let resources = resources.iter().map(|r| r.as_ref().to_owned()).collect();
        Self { sid: sid.into(), principal: Principal::Member, phase, actions: actions.to_vec(), resources, condition: None }
    }

    pub fn when(self, condition: Value) -> Self {
        Self { condition: Some(condition), ..self }
    }

    /// Called by the management account's identity.
    pub fn management(self) -> Self {
        Self { principal: Principal::Management, ..self }
    }
}

/// The policy `principal` needs for `purpose`; the management account's includes what the
/// member role does in its own account when it is a target (`own_account`), under `Own` ids.
pub fn policy(grants: &[Grant], principal: Principal, purpose: Purpose, own_account: bool) -> Policy {
    let mut statements: Vec<Grant> = Vec::new();
    // Its own grants first, then (the management account's) those of its own account.
    let own_grants = grants.iter().filter(|g| principal == Principal::Management && own_account && g.principal == Principal::Member);
    let own_grants = own_grants.map(|g| Grant { sid: format!("Own{}", g.sid), ..g.clone() });
    let chosen = grants.iter().filter(|g| g.principal == principal).cloned().chain(own_grants).filter(|g| g.phase.serves(purpose));
    for grant in chosen {
        let same = statements.iter_mut().find(|s| s.sid == grant.sid && s.condition == grant.condition);
        match same {
            Some(statement) => {
                statement.actions.extend(grant.actions);
                statement.resources.extend(grant.resources);
            }
            None => {
                // Ids are unique in a policy: one id under another condition (two plans' policy
                // names, say) is numbered.
                let taken = statements.iter().filter(|s| s.sid.trim_end_matches(|c: char| c.is_ascii_digit()) == grant.sid).count();
                let sid = if taken == 0 { grant.sid.clone() } else { format!("{}{}", grant.sid, taken + 1) };
                statements.push(Grant { sid, ..grant });
            }
        }
    }
    let statements: Vec<Statement> = statements
        .into_iter()
        .map(|mut s| {
            s.actions.sort_unstable();
            s.actions.dedup();
            dedup_in_order(&mut s.resources);
            let resource = match s.resources.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            Statement { sid: s.sid, effect: "Allow", action: s.actions, resource, condition: s.condition }
        })
        .collect();
    Policy { version: "2012-10-17", statement: statements }
}

/// A policy as IAM reads it, its keys in the order people write them.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    version: &'static str,
    statement: Vec<Statement>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    sid: String,
    effect: &'static str,
    action: Vec<&'static str>,
    resource: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<Value>,
}

fn dedup_in_order(items: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(grants: &[Grant], principal: Principal, purpose: Purpose, own_account: bool) -> Value {
        serde_json::to_value(super::policy(grants, principal, purpose, own_account)).unwrap()
    }

    #[test]
    fn grants_of_one_id_merge_and_each_purpose_takes_its_phases() {
        let grants = [
            Grant::read(&["sns:GetTopicAttributes"]),
            Grant::read(&["events:DescribeRule", "sns:GetTopicAttributes"]),
            Grant::new("TopicWrite", Phase::Rollout, &["sns:CreateTopic"], &["arn:aws:sns:*:*:a"]),
            Grant::new("TopicWrite", Phase::Both, &["sns:Unsubscribe"], &["arn:aws:sns:*:*:b"]),
            Grant::new("TopicTeardown", Phase::Teardown, &["sns:DeleteTopic"], &["arn:aws:sns:*:*:a"]),
            Grant::new("Assume", Phase::Read, &["sts:AssumeRole"], &["arn:aws:iam::*:role/r"]).management(),
        ];
        let rollout = policy(&grants, Principal::Member, Purpose::Rollout, false);
        assert_eq!(rollout["Statement"][0]["Action"], json!(["events:DescribeRule", "sns:GetTopicAttributes"]));
        assert_eq!(rollout["Statement"][0]["Resource"], "*");
        assert_eq!(rollout["Statement"][1]["Action"], json!(["sns:CreateTopic", "sns:Unsubscribe"]));
        assert_eq!(rollout["Statement"][1]["Resource"], json!(["arn:aws:sns:*:*:a", "arn:aws:sns:*:*:b"]));
        assert_eq!(rollout["Statement"].as_array().unwrap().len(), 2);
        let audit = policy(&grants, Principal::Member, Purpose::Audit, false);
        assert_eq!(audit["Statement"].as_array().unwrap().len(), 1, "reads only");
        let teardown = policy(&grants, Principal::Member, Purpose::Teardown, false);
        let sids: Vec<&str> = teardown["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap()).collect();
        assert_eq!(sids, ["OrgguardRead", "TopicWrite", "TopicTeardown"]);
        let management = policy(&grants, Principal::Management, Purpose::Audit, true);
        let sids: Vec<&str> = management["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap()).collect();
        assert_eq!(sids, ["Assume", "OwnOrgguardRead"], "its own first");
        let two_conditions = [
            Grant::new("Attach", Phase::Rollout, &["iam:AttachRolePolicy"], &["r1"]).when(json!({"a": 1})),
            Grant::new("Attach", Phase::Rollout, &["iam:AttachRolePolicy"], &["r2"]).when(json!({"a": 2})),
        ];
        let numbered = policy(&two_conditions, Principal::Member, Purpose::Rollout, false);
        let sids: Vec<&str> = numbered["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap()).collect();
        assert_eq!(sids, ["Attach", "Attach2"], "ids stay unique");
    }
}
