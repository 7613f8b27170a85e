//! Pure: what the plan asks for in one account (and region), with every ARN and policy
//! document spelled out for that account, region and partition.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::model::{AccountId, Agent, DetectorSettings, Feature, Partition, Region};
use crate::model::AutoEnable;
use crate::plan::{Notifications, Plan, Protocol};

/// An IAM role orgguard owns, with the one customer-managed policy attached to it.
pub struct Role {
    pub role: String,
    pub policy: String,
    pub policy_arn: String,
    pub trust: Value,
    pub document: Value,
}

/// The EventBridge-to-SNS wiring of one account.
pub struct Wiring<'a> {
    pub plan: &'a Notifications,
    pub account: &'a AccountId,
    pub partition: Partition,
    /// The account's exfiltration alarm notifies the topic: CloudWatch may publish to it.
    pub alarms: bool,
}

impl<'a> Wiring<'a> {
    /// The plan's `[notifications]` in `account`, if it has them.
    pub fn of(plan: &'a Plan, account: &'a AccountId, partition: Partition) -> Option<Self> {
        let notifications = plan.notifications.as_ref()?;
        let alarms = plan.exfiltration.as_ref().is_some_and(|e| e.topic(Some(notifications)) == Some(notifications.topic.as_str()));
        Some(Wiring { plan: notifications, account, partition, alarms })
    }
}

impl Wiring<'_> {
    pub fn topic_arn(&self, region: &Region) -> String {
        format!("arn:{}:sns:{region}:{}:{}", self.partition.name(), self.account, self.plan.topic)
    }

    pub fn role_arn(&self) -> String {
        format!("arn:{}:iam::{}:role/{}", self.partition.name(), self.account, self.plan.role)
    }

    /// The role the rules' targets name: none for wiring without one (central alerts).
    pub fn target_role(&self) -> Option<String> {
        (!self.plan.role.is_empty()).then(|| self.role_arn())
    }

    pub fn policy_arn(&self) -> String {
        format!("arn:{}:iam::{}:policy/{}", self.partition.name(), self.account, self.plan.policy)
    }

    /// The role EventBridge assumes for the rules' targets, and its publish policy.
    pub fn role(&self) -> Role {
        Role {
            role: self.plan.role.clone(),
            policy: self.plan.policy.clone(),
            policy_arn: self.policy_arn(),
            trust: self.trust_policy(),
            document: self.publish_policy(),
        }
    }

    pub fn display_name(&self) -> &str {
        self.plan.display_name.as_deref().unwrap_or("")
    }

    /// EventBridge may assume the role, for this account's rules only (a confused deputy in
    /// another account cannot have EventBridge use it).
    pub fn trust_policy(&self) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": self.account.as_str()}},
            }],
        })
    }

    /// The role may publish to the topic in every region (the topic exists per region).
    pub fn publish_policy(&self) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AllowPublishToGuarddutyFindingTopic",
                "Effect": "Allow",
                "Action": "sns:Publish",
                "Resource": format!("arn:{}:sns:*:{}:{}", self.partition.name(), self.account, self.plan.topic),
            }],
        })
    }

    /// The topic's resource policy: the owner keeps full control, EventBridge may publish for
    /// this account's rules (and CloudWatch for its alarms, with an exfiltration alarm).
    pub fn topic_policy(&self, region: &Region) -> Value {
        let topic = self.topic_arn(region);
        let mut policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnerFullControl",
                    "Effect": "Allow",
                    "Principal": {"AWS": format!("arn:{}:iam::{}:root", self.partition.name(), self.account)},
                    "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission",
                               "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe",
                               "sns:ListSubscriptionsByTopic", "sns:Publish"],
                    "Resource": topic,
                },
                {
                    "Sid": "AllowEventBridgePublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic,
                    // Only this account's rules in this region: no confused deputy.
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": self.account.as_str()},
                        "ArnLike": {"aws:SourceArn": format!("arn:{}:events:{region}:{}:rule/*", self.partition.name(), self.account)},
                    },
                },
            ],
        });
        if self.alarms {
            let statements = policy["Statement"].as_array_mut().expect("a list");
            statements.push(json!({
                "Sid": "AllowCloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": self.account.as_str()},
                    "ArnLike": {"aws:SourceArn": format!("arn:{}:cloudwatch:{region}:{}:alarm:*", self.partition.name(), self.account)},
                },
            }));
        }
        policy
    }

    pub fn subscriptions(&self) -> Vec<(&'static str, &str)> {
        self.plan.subscriptions.iter().map(|s| (protocol_name(s.protocol), s.endpoint.0.as_str())).collect()
    }
}

pub fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Email => "email",
        Protocol::EmailJson => "email-json",
        Protocol::Https => "https",
        Protocol::Lambda => "lambda",
        Protocol::Sqs => "sqs",
    }
}

/// The organization as the delegated admin should hold it in one region.
pub struct Organization<'a> {
    pub admin: &'a AccountId,
    /// Member accounts' auto-enable.
    pub auto_enable: AutoEnable,
    /// The plan's mode for a feature that is on, NONE for one that is off; features the
    /// plan does not name are left as they are.
    pub feature_auto_enable: BTreeMap<Feature, AutoEnable>,
    /// Each planned agent's mode, under its runtime feature.
    pub agent_auto_enable: BTreeMap<Feature, BTreeMap<Agent, AutoEnable>>,
    /// Every target account that should be a member (the admin itself excluded).
    pub members: Vec<AccountId>,
}

impl<'a> Organization<'a> {
    pub fn new(admin: &'a AccountId, mode: AutoEnable, settings: &DetectorSettings, members: Vec<AccountId>) -> Self {
        let on_or_none = |on: bool| if on { mode } else { AutoEnable::None };
        Self {
            admin,
            auto_enable: mode,
            feature_auto_enable: settings.features.iter().map(|(&feature, &on)| (feature, on_or_none(on))).collect(),
            agent_auto_enable: settings
                .agents_by_feature()
                .into_iter()
                .map(|(feature, agents)| (feature, agents.into_iter().map(|(agent, on)| (agent, on_or_none(on))).collect()))
                .collect(),
            members,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::plan::Plan;

    #[test]
    fn every_arn_carries_the_callers_partition() {
        let plan = Plan::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/example.toml")).unwrap();
        let account = AccountId::parse("111122223333").unwrap();
        let partition = Partition::from_arn("arn:aws-cn:iam::111122223333:user/ops").unwrap();
        let wiring = Wiring { plan: plan.notifications.as_ref().unwrap(), account: &account, partition, alarms: false };
        let region = Region::parse("cn-north-1").unwrap();
        assert_eq!(wiring.topic_arn(&region), "arn:aws-cn:sns:cn-north-1:111122223333:guardduty-finding");
        assert_eq!(wiring.role_arn(), "arn:aws-cn:iam::111122223333:role/eventbridge_to_sns");
        assert_eq!(wiring.policy_arn(), "arn:aws-cn:iam::111122223333:policy/EventBridgePublishGuarddutyFinding");
        assert_eq!(wiring.publish_policy()["Statement"][0]["Resource"], "arn:aws-cn:sns:*:111122223333:guardduty-finding");
        assert_eq!(partition.guardduty_regions(), ["cn-north-1", "cn-northwest-1"]);
        assert_eq!(Partition::from_arn("arn:aws-us-gov:sts::1:assumed-role/x/y"), Some(Partition::AwsUsGov));
    }
}
