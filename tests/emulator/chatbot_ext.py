"""AWS Chatbot's Slack channel configurations, which moto 5.2.5 does not have, with AWS's
rules (CAPABILITIES.md section 6; Chatbot API reference):

- CreateSlackChannelConfiguration (ConfigurationName of 1-128 [A-Za-z0-9-_], IamRoleArn,
  SlackTeamId, SlackChannelId, SnsTopicArns, LoggingLevel ERROR | INFO | NONE (default NONE),
  GuardrailPolicyArns), DescribeSlackChannelConfigurations (pages, or one by
  ChatConfigurationArn), UpdateSlackChannelConfiguration, DeleteSlackChannelConfiguration,
  DescribeSlackWorkspaces. Configurations are global: the API is served in us-east-2,
  us-west-2, eu-west-1 and ap-southeast-1 and each answers for all of them.
- One configuration per Slack channel per account (InvalidRequestException "has already been
  configured for AWS account"), and per name (ConflictException).
- A Slack workspace is authorised once per account in the console (no API): the emulator
  holds the authorised ones (POST /_orgguard/slack-workspace {"account", "team_id",
  "team_name"}), and refuses a configuration for another with InvalidRequestException.
- A configuration without GuardrailPolicyArns gets AdministratorAccess, as AWS documents.
- Chatbot subscribes its endpoint (https) to the configuration's topics, and unsubscribes it.
Messages marked "ours" are the emulator's wording where AWS's is not documented.
"""

import json
import re
from typing import Any

from registry import Registry

REGIONS = {"us-east-2", "us-west-2", "eu-west-1", "ap-southeast-1"}
# account -> authorised Slack workspaces (team id -> team name)
WORKSPACES: dict[str, dict[str, str]] = {}
# account -> configuration ARN -> configuration, as Describe answers it
CONFIGURATIONS: dict[str, dict[str, dict[str, Any]]] = {}
NAME = re.compile(r"^[A-Za-z0-9-_]{1,128}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$")
POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+$")
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"
# Chatbot subscribes this endpoint to each topic of a configuration, and unsubscribes it when
# the topic leaves the configuration (the subscriptions a Chatbot channel shows in SNS).
ENDPOINT = "https://global.sns-api.chatbot.amazonaws.com"


def _subscriptions(account: str, before: list[str], after: list[str]) -> None:
    """Chatbot's subscriptions follow the configuration's topics (those that exist)."""
    from moto.sns.models import sns_backends

    for arn in set(before) | set(after):
        region = arn.split(":")[3]
        backend = sns_backends[account][region]
        if arn not in backend.topics:
            continue
        found = backend._find_subscription(arn, ENDPOINT, "https")
        if arn in after and found is None:
            backend.subscribe(arn, ENDPOINT, "https")
        elif arn not in after and found is not None:
            backend.unsubscribe(found.arn)


class ChatbotError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> ChatbotError:
    return ChatbotError(400, "InvalidParameterException", message)


def _check(request: dict[str, Any], creating: bool) -> None:
    if "IamRoleArn" in request or creating:
        if not ROLE_ARN.match(request.get("IamRoleArn") or ""):
            raise _invalid("IamRoleArn must be an IAM role's ARN.")  # ours
    for arn in request.get("SnsTopicArns") or []:
        if not TOPIC_ARN.match(arn):
            raise _invalid(f"{arn} is not an SNS topic ARN.")  # ours
    for arn in request.get("GuardrailPolicyArns") or []:
        if not POLICY_ARN.match(arn):
            raise _invalid(f"{arn} is not an IAM policy ARN.")  # ours
    if request.get("LoggingLevel", "NONE") not in ("ERROR", "INFO", "NONE"):
        raise _invalid("LoggingLevel must be ERROR, INFO or NONE.")  # ours


def _create(account: str, request: dict[str, Any]) -> dict[str, Any]:
    name, team, channel = request.get("ConfigurationName") or "", request.get("SlackTeamId") or "", request.get("SlackChannelId") or ""
    if not NAME.match(name):
        raise _invalid("ConfigurationName must be 1 to 128 of letters, digits, - and _.")  # ours
    if not channel:
        raise _invalid("SlackChannelId is required.")  # ours
    _check(request, creating=True)
    workspaces = WORKSPACES.get(account, {})
    if team not in workspaces:
        raise ChatbotError(400, "InvalidRequestException",
                           f"Slack workspace {team} is not authorized for this account: authorize it in the AWS Chatbot console first.")  # ours
    existing = CONFIGURATIONS.setdefault(account, {})
    if any(c["SlackChannelId"] == channel for c in existing.values()):
        raise ChatbotError(400, "InvalidRequestException", f"Slack channel {channel} has already been configured for AWS account {account}.")
    arn = f"arn:aws:chatbot::{account}:chat-configuration/slack-channel/{name}"
    if arn in existing:
        raise ChatbotError(409, "ConflictException", f"A configuration named {name} already exists.")  # ours
    existing[arn] = {
        "SlackTeamName": workspaces[team], "SlackTeamId": team, "SlackChannelId": channel,
        "SlackChannelName": request.get("SlackChannelName") or f"channel-{channel.lower()}",
        "ChatConfigurationArn": arn, "IamRoleArn": request["IamRoleArn"], "SnsTopicArns": list(request.get("SnsTopicArns") or []),
        "ConfigurationName": name, "LoggingLevel": request.get("LoggingLevel", "NONE"),
        "GuardrailPolicyArns": list(request.get("GuardrailPolicyArns") or [ADMINISTRATOR]),
        "UserAuthorizationRequired": bool(request.get("UserAuthorizationRequired", False)), "State": "ENABLED",
    }
    _subscriptions(account, [], existing[arn]["SnsTopicArns"])
    return {"ChannelConfiguration": existing[arn]}


def _found(account: str, request: dict[str, Any]) -> dict[str, Any]:
    found = CONFIGURATIONS.get(account, {}).get(request.get("ChatConfigurationArn") or "")
    if found is None:
        raise ChatbotError(404, "ResourceNotFoundException", "The configuration does not exist.")  # ours
    return found


def _update(account: str, request: dict[str, Any]) -> dict[str, Any]:
    found = _found(account, request)
    _check(request, creating=False)
    _subscriptions(account, found["SnsTopicArns"], request.get("SnsTopicArns", found["SnsTopicArns"]))
    for key in ("SlackChannelName", "SnsTopicArns", "IamRoleArn", "LoggingLevel", "GuardrailPolicyArns", "UserAuthorizationRequired"):
        if key in request:
            found[key] = request[key]
    return {"ChannelConfiguration": found}


def _describe(account: str, request: dict[str, Any]) -> dict[str, Any]:
    configurations = list(CONFIGURATIONS.get(account, {}).values())
    if request.get("ChatConfigurationArn"):
        configurations = [c for c in configurations if c["ChatConfigurationArn"] == request["ChatConfigurationArn"]]
    size, start = int(request.get("MaxResults") or 100), int(request.get("NextToken") or 0)
    result: dict[str, Any] = {"SlackChannelConfigurations": configurations[start:start + size]}
    if start + size < len(configurations):
        result["NextToken"] = str(start + size)
    return result


def _workspaces(account: str, _: dict[str, Any]) -> dict[str, Any]:
    return {"SlackWorkspaces": [{"SlackTeamId": t, "SlackTeamName": n} for t, n in WORKSPACES.get(account, {}).items()]}


def _delete(account: str, request: dict[str, Any]) -> dict[str, Any]:
    _subscriptions(account, _found(account, request)["SnsTopicArns"], [])
    del CONFIGURATIONS[account][request["ChatConfigurationArn"]]
    return {}


OPERATIONS = {
    "CreateSlackChannelConfiguration": _create,
    "UpdateSlackChannelConfiguration": _update,
    "DescribeSlackChannelConfigurations": _describe,
    "DeleteSlackChannelConfiguration": _delete,
    "DescribeSlackWorkspaces": _workspaces,
}


def operation(path: str) -> str:
    """/create-slack-channel-configuration -> CreateSlackChannelConfiguration."""
    return "".join(word.capitalize() for word in path.strip("/").split("-"))


def answer(account: str, region: str, path: str, body: bytes) -> tuple[int, dict[str, Any], str | None]:
    """(status, JSON answer, error code or None) for one Chatbot request."""
    handler = OPERATIONS.get(operation(path))
    try:
        if region not in REGIONS:
            raise ChatbotError(400, "InvalidRequestException", f"AWS Chatbot is not served in {region}.")  # ours: AWS has no endpoint there
        if handler is None:
            raise ChatbotError(400, "InvalidRequestException", f"{operation(path)} is not emulated.")  # ours
        request = json.loads(body) if body else {}
        return 200, handler(account, request), None
    except ChatbotError as error:
        return error.status, {"Message": error.message}, error.code


def authorise(account: str, team_id: str, team_name: str) -> None:
    """The console's one-time "Configure new client: Slack" step for the account."""
    WORKSPACES.setdefault(account, {})[team_id] = team_name


def state() -> dict[str, list[dict[str, Any]]]:
    return {account: list(configurations.values()) for account, configurations in CONFIGURATIONS.items() if configurations}


def _authorise(request: dict[str, Any]) -> dict[str, Any]:
    """POST /_orgguard/slack-workspace {account, team_id, team_name}."""
    authorise(request["account"], request["team_id"], request.get("team_name", "workspace"))
    return {}


def register(registry: Registry) -> None:
    """moto has no Chatbot: the gate hands its requests to answer()."""
    registry.service("chatbot", operation, answer)
    registry.state("chatbot", state)
    registry.control("POST", "slack-workspace", _authorise)
