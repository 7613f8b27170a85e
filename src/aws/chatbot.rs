//! AWS Chatbot's Slack channel configurations in one account. Configurations are global; the
//! API is served in a few regions (us-east-2 is used). A few calls a run: no rate limiter.

use aws_sdk_chatbot::types::SlackChannelConfiguration;

use super::AwsError;

pub struct Chatbot {
    client: aws_sdk_chatbot::Client,
}

/// A Slack channel configuration as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedConfiguration {
    pub arn: String,
    pub name: String,
    pub channel_id: String,
    pub role_arn: String,
    pub topics: Vec<String>,
    pub logging_level: String,
    pub guardrails: Vec<String>,
}

/// What a configuration is made or set to.
pub struct Configuration<'a> {
    pub role_arn: &'a str,
    pub topics: &'a [String],
    pub logging_level: &'a str,
    pub guardrails: &'a [String],
}

/// The role, topics, logging level and guardrails on a Create or Update call.
macro_rules! configured {
    ($call:expr, $configuration:expr) => {
        $call
            .iam_role_arn($configuration.role_arn)
            .set_sns_topic_arns(Some($configuration.topics.to_vec()))
            .logging_level($configuration.logging_level)
            .set_guardrail_policy_arns(Some($configuration.guardrails.to_vec()))
    };
}

impl Chatbot {
    pub(super) fn new(client: aws_sdk_chatbot::Client) -> Self {
        Self { client }
    }

    /// The Slack workspaces (team ids) authorised for the account in the Chatbot console.
    pub async fn workspaces(&self) -> Result<Vec<String>, AwsError> {
        let (mut teams, mut token) = (Vec::new(), None);
        loop {
            let page = self.client.describe_slack_workspaces().set_next_token(token).send().await;
            let page = page.map_err(|e| AwsError::from_sdk("chatbot:DescribeSlackWorkspaces", e))?;
            teams.extend(page.slack_workspaces().iter().map(|w| w.slack_team_id().to_owned()));
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(teams);
            }
        }
    }

    /// Every Slack channel configuration of the account.
    pub async fn configurations(&self) -> Result<Vec<ObservedConfiguration>, AwsError> {
        let (mut found, mut token) = (Vec::new(), None);
        loop {
            let page = self.client.describe_slack_channel_configurations().set_next_token(token).send().await;
            let page = page.map_err(|e| AwsError::from_sdk("chatbot:DescribeSlackChannelConfigurations", e))?;
            found.extend(page.slack_channel_configurations().iter().map(observed));
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    pub async fn create(&self, name: &str, team_id: &str, channel_id: &str, configuration: &Configuration<'_>) -> Result<(), AwsError> {
        let call = self.client.create_slack_channel_configuration().configuration_name(name).slack_team_id(team_id).slack_channel_id(channel_id);
        let call = configured!(call, configuration);
        call.send().await.map(drop).map_err(|e| AwsError::from_sdk("chatbot:CreateSlackChannelConfiguration", e))
    }

    pub async fn update(&self, arn: &str, channel_id: &str, configuration: &Configuration<'_>) -> Result<(), AwsError> {
        let call = self.client.update_slack_channel_configuration().chat_configuration_arn(arn).slack_channel_id(channel_id);
        let call = configured!(call, configuration);
        call.send().await.map(drop).map_err(|e| AwsError::from_sdk("chatbot:UpdateSlackChannelConfiguration", e))
    }

    pub async fn delete(&self, arn: &str) -> Result<(), AwsError> {
        let call = self.client.delete_slack_channel_configuration().chat_configuration_arn(arn).send().await;
        call.map(drop).map_err(|e| AwsError::from_sdk("chatbot:DeleteSlackChannelConfiguration", e))
    }
}

fn observed(c: &SlackChannelConfiguration) -> ObservedConfiguration {
    ObservedConfiguration {
        arn: c.chat_configuration_arn().to_owned(),
        name: c.configuration_name().unwrap_or_default().to_owned(),
        channel_id: c.slack_channel_id().to_owned(),
        role_arn: c.iam_role_arn().to_owned(),
        topics: c.sns_topic_arns().to_vec(),
        logging_level: c.logging_level().unwrap_or("NONE").to_owned(),
        guardrails: c.guardrail_policy_arns().to_vec(),
    }
}
