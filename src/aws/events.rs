//! EventBridge in one account and region: rules on the default bus and their targets.

use aws_sdk_eventbridge::types::{RuleState, Target};

use super::limits::Gated;
use super::{json_document, AwsError};
use crate::model::{ObservedRule, ObservedTarget};

pub struct Events {
    api: Gated<aws_sdk_eventbridge::Client>,
}

impl Events {
    pub(super) fn new(api: Gated<aws_sdk_eventbridge::Client>) -> Self {
        Self { api }
    }

    /// Whether EventBridge matches `event` (JSON) with `pattern` (TestEventPattern).
    pub async fn test_event_pattern(&self, pattern: &str, event: &str) -> Result<bool, AwsError> {
        let output = self.api.get().await.test_event_pattern().event_pattern(pattern).event(event).send().await;
        Ok(output.map_err(|e| AwsError::from_sdk("events:TestEventPattern", e))?.result())
    }

    /// The rule and its targets, or None if there is no such rule.
    pub async fn find_rule(&self, name: &str) -> Result<Option<ObservedRule>, AwsError> {
        let rule = match self.api.get().await.describe_rule().name(name).send().await {
            Ok(rule) => rule,
            Err(e) => {
                let error = AwsError::from_sdk("events:DescribeRule", e);
                return if error.code == "ResourceNotFoundException" { Ok(None) } else { Err(error) };
            }
        };
        // A rule has at most five targets: one page.
        let targets = self
            .api
            .get()
            .await
            .list_targets_by_rule()
            .rule(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("events:ListTargetsByRule", e))?;
        Ok(Some(ObservedRule {
            enabled: rule.state() == Some(&RuleState::Enabled),
            description: rule.description().map(str::to_owned),
            pattern: rule.event_pattern().and_then(json_document),
            targets: targets
                .targets()
                .iter()
                .map(|t| ObservedTarget {
                    id: t.id().to_owned(),
                    arn: t.arn().to_owned(),
                    role_arn: t.role_arn().filter(|r| !r.is_empty()).map(str::to_owned),
                    replaced_input: match (t.input(), t.input_path(), t.input_transformer()) {
                        (Some(_), _, _) => Some("Input"),
                        (_, Some(_), _) => Some("InputPath"),
                        (_, _, Some(_)) => Some("InputTransformer"),
                        _ => None,
                    },
                })
                .collect(),
        }))
    }

    /// Creates or replaces the rule: enabled, with this pattern (and description, if given).
    pub async fn put_rule(&self, name: &str, pattern: &str, description: Option<&str>) -> Result<(), AwsError> {
        self.api.get().await
            .put_rule()
            .name(name)
            .event_pattern(pattern)
            .set_description(description.map(str::to_owned))
            .state(RuleState::Enabled)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("events:PutRule", e))?;
        Ok(())
    }

    /// Creates or replaces one target (with the role EventBridge assumes for it, if any); a
    /// partial failure comes back as an error.
    pub async fn put_target(&self, rule: &str, id: &str, arn: &str, role_arn: Option<&str>) -> Result<(), AwsError> {
        const OPERATION: &str = "events:PutTargets";
        let target = Target::builder().id(id).arn(arn).set_role_arn(role_arn.map(str::to_owned)).build().map_err(|e| AwsError {
            operation: OPERATION,
            code: "InvalidParameter".into(),
            message: e.to_string(),
        })?;
        let output = self
            .api
            .get()
            .await
            .put_targets()
            .rule(rule)
            .targets(target)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        first_failure(OPERATION, output.failed_entries().first().map(|f| (f.error_code(), f.error_message())))
    }

    /// Removes these targets from the rule; a partial failure comes back as an error.
    pub async fn remove_targets(&self, rule: &str, ids: &[String]) -> Result<(), AwsError> {
        const OPERATION: &str = "events:RemoveTargets";
        let output = self.api.get().await
            .remove_targets()
            .rule(rule)
            .set_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OPERATION, e))?;
        first_failure(OPERATION, output.failed_entries().first().map(|f| (f.error_code(), f.error_message())))
    }

    /// Deletes the rule (it must have no targets left); one already gone is not an error.
    pub async fn delete_rule(&self, name: &str) -> Result<(), AwsError> {
        let deleted = self.api.get().await.delete_rule().name(name).send().await;
        match deleted.map_err(|e| AwsError::from_sdk("events:DeleteRule", e)) {
            Err(error) if error.code != "ResourceNotFoundException" => Err(error),
            _ => Ok(()),
        }
    }
}

/// A batch's first failed entry (error code, message), as an error.
fn first_failure(operation: &'static str, failed: Option<(Option<&str>, Option<&str>)>) -> Result<(), AwsError> {
    match failed {
        None => Ok(()),
        Some((code, message)) => Err(AwsError {
            operation,
            code: code.unwrap_or("FailedEntry").to_owned(),
            message: message.unwrap_or_default().to_owned(),
        }),
    }
}
