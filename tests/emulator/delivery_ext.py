"""A finding's way to people, as AWS carries it: GuardDuty -> EventBridge -> SNS -> endpoints.
moto 5.2.5 has none of it (GuardDuty has no findings; an EventBridge rule cannot target SNS).

- GuardDuty sends each new finding as an event, detail-type "GuardDuty Finding" and source
  "aws.guardduty", to the default bus of the finding's account and, for a member's finding, to
  the default bus of its administrator in the same Region; a finding that a suppression rule
  archived as it was made is not sent (GuardDuty user guide, "Creating custom responses to
  GuardDuty findings with Amazon EventBridge" and "Suppression rules").
- EventBridge evaluates each rule of the default bus: a DISABLED rule does not fire; the
  pattern is matched with moto's matcher, the one TestEventPattern answers with. A target gets
  its Input (a constant), its InputPath, its InputTransformer, or the event (EventBridge user
  guide, "Transforming target input").
- An SNS target with a RoleArn publishes as that role: the role must trust
  events.amazonaws.com and allow sns:Publish on the topic (or the topic policy must allow the
  role, in the topic's own account); without a RoleArn the topic policy must allow
  events.amazonaws.com. An explicit Deny refuses either way. Conditions on aws:SourceAccount
  and aws:SourceArn are the rule's. A topic encrypted with AWS's managed key alias/aws/sns is
  refused (EventBridge may not use it); with a customer key, its key policy must let the
  publisher use it (kms:GenerateDataKey*, kms:Decrypt) (EventBridge user guide, "Permissions
  for Amazon SNS"; SNS developer guide, "Enabling compatibility between event sources from AWS
  services and encrypted topics"). SQS and Lambda targets are recorded.
- SNS delivers to each subscription of the topic that is confirmed and whose filter policy
  (attribute or message-body scope, moto's matcher) matches: EventBridge sends no message
  attributes, so an attribute-scope policy filters the message out. Each delivery is recorded;
  GET /_orgguard/deliveries answers {"deliveries": [...], "invocations": [...]}.
- Metrics, as AWS sends them every minute, into CloudWatch (readable with GetMetricData):
  AWS/Events MatchedEvents, TriggeredRules, Invocations and FailedInvocations (only when not
  zero) by RuleName, for the default bus (EventBridge user guide, "Monitoring Amazon
  EventBridge"); AWS/SNS NumberOfMessagesPublished, NumberOfNotificationsDelivered,
  NumberOfNotificationsFailed and NumberOfNotificationsFilteredOut by TopicName (SNS developer
  guide, "Monitoring Amazon SNS topics using CloudWatch").
"""

import fnmatch
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.utils import utcnow
from moto.events.models import events_backends
from moto.events.utils import EventTemplateParser
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.sns.models import sns_backends

from guardduty_org import _administrator_of
from registry import Registry
from sns_ext import pending

DELIVERIES: list[dict[str, Any]] = []
INVOCATIONS: list[dict[str, Any]] = []
EVENTS = "events.amazonaws.com"


def publish_finding(account: str, region: str, finding: dict[str, Any]) -> None:
    """The finding's event, on its account's default bus and its administrator's."""
    associated = _administrator_of(account, region)
    buses = [account] + ([associated[0]] if associated else [])
    for bus in buses:
        event = {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": bus, "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [], "detail": finding,
        }
        _put(bus, region, event)


def _put(account: str, region: str, event: dict[str, Any]) -> None:
    bus = events_backends[account][region].event_buses.get("default")
    for rule in list(bus.rules.values()) if bus else []:
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
            continue
        _metric(account, region, "AWS/Events", "RuleName", rule.name, {"MatchedEvents": 1, "TriggeredRules": 1})
        for target in rule.targets:
            refused = _invoke(account, region, rule, target, event)
            INVOCATIONS.append({"account": account, "region": region, "rule": rule.name, "target": target["Arn"],
                                "finding": event["detail"]["id"], "failed": refused})
            counts = {"Invocations": 1} | ({"FailedInvocations": 1} if refused else {})
            _metric(account, region, "AWS/Events", "RuleName", rule.name, counts)


def _input(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        value: Any = event
        for part in target["InputPath"].removeprefix("$").strip(".").split("."):
            value = value.get(part) if part and isinstance(value, dict) else value
        return json.dumps(value)
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        parsed = EventTemplateParser.parse(transformer.get("InputTemplate"), transformer.get("InputPathsMap", {}), event)
        return parsed if isinstance(parsed, str) else json.dumps(parsed)
    return json.dumps(event)


def _invoke(account: str, region: str, rule, target: dict[str, Any], event: dict[str, Any]) -> str | None:
    """Sends the target its input: None, or why it failed."""
    arn = target["Arn"].split(":")
    if arn[2] != "sns":
        return None  # SQS, Lambda and the rest: recorded as invoked
    topic_account, topic_region = arn[4], arn[3]
    topic = sns_backends[topic_account][topic_region].topics.get(target["Arn"])
    if topic is None:
        return f"the topic {target['Arn']} does not exist"
    context = {"aws:sourceaccount": account, "aws:sourcearn": rule.arn}
    refused, publisher = _may_publish(target, topic, topic_account, context)
    refused = refused or _key_refuses(topic, topic_account, topic_region, publisher, context)
    if refused:
        return refused
    _fan_out(topic, topic_account, topic_region, _input(target, event), event["detail"]["id"])
    return None


def _may_publish(target: dict[str, Any], topic, topic_account: str, context: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """(why EventBridge may not publish to the topic, or None; who publishes)."""
    topic_policy = [topic.policy]
    role_arn = target.get("RoleArn")
    if not role_arn:
        publisher = {"Service": EVENTS}
        verdict = evaluate(topic_policy, "sns:Publish", topic.arn, publisher, context)
        return (None if verdict == "Allow" else f"the topic policy {'denies' if verdict else 'does not allow'} {EVENTS} sns:Publish"), publisher
    role_account = role_arn.split(":")[4]
    role = next((r for r in iam_backends[role_account]["aws"].roles.values() if r.arn == role_arn), None)
    publisher = {"AWS": role_arn, "account": role_account}
    if role is None:
        return f"the role {role_arn} does not exist", publisher
    if evaluate([role.assume_role_policy_document], "sts:AssumeRole", role_arn, {"Service": EVENTS}, context) != "Allow":
        return f"the role {role_arn} does not trust {EVENTS}", publisher
    identity = evaluate(_role_policies(role), "sns:Publish", topic.arn, None, context)
    resource = evaluate(topic_policy, "sns:Publish", topic.arn, publisher, context)
    if "Deny" in (identity, resource):
        return f"sns:Publish denied to {role_arn}", publisher
    allowed = identity == "Allow" or resource == "Allow" if role_account == topic_account else identity == resource == "Allow"
    return (None if allowed else f"{role_arn} may not sns:Publish to {topic.arn}"), publisher


def _role_policies(role) -> list[Any]:
    documents = list(role.policies.values())
    for policy in role.managed_policies.values():
        documents.extend(v.document for v in policy.versions if v.is_default)
    return documents


def _key_refuses(topic, account: str, region: str, publisher: dict[str, str], context: dict[str, str]) -> str | None:
    key_id = topic.kms_master_key_id
    if not key_id:
        return None
    if key_id.endswith("alias/aws/sns"):
        return "the topic is encrypted with the AWS managed key alias/aws/sns, which EventBridge may not use"
    backend = kms_backends[account][region]
    try:
        key = backend.describe_key(key_id)
    except Exception:  # noqa: BLE001 (moto's NotFound of any kind)
        return f"the topic's key {key_id} does not exist"
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        if evaluate([key.policy], action, key.arn, publisher, context) != "Allow":
            return f"the key policy of {key.arn} does not let {publisher.get('Service') or publisher.get('AWS')} {action}"
    return None


def _fan_out(topic, account: str, region: str, message: str, finding_id: str) -> None:
    backend = sns_backends[account][region]
    _metric(account, region, "AWS/SNS", "TopicName", topic.name, {"NumberOfMessagesPublished": 1})
    for subscription in list(backend.subscriptions.values()):
        if subscription.topic.arn != topic.arn:
            continue
        record = {"topic": topic.arn, "protocol": subscription.protocol, "endpoint": subscription.endpoint, "finding": finding_id}
        if pending(subscription):
            DELIVERIES.append(record | {"outcome": "pending confirmation"})
            continue
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(None, message):
            DELIVERIES.append(record | {"outcome": "filtered out"})
            _metric(account, region, "AWS/SNS", "TopicName", topic.name, {"NumberOfNotificationsFilteredOut": 1})
            continue
        if subscription.protocol == "sqs":
            subscription.publish(message, str(uuid.uuid4()))
        DELIVERIES.append(record | {"outcome": "delivered", "message": message})
        _metric(account, region, "AWS/SNS", "TopicName", topic.name, {"NumberOfNotificationsDelivered": 1})


def _metric(account: str, region: str, namespace: str, dimension: str, value: str, counts: dict[str, int]) -> None:
    now = utcnow()  # naive, as moto keeps its data points
    data = [{"MetricName": name, "Value": float(n), "Unit": "Count", "Timestamp": now, "Dimensions": [{"Name": dimension, "Value": value}]}
            for name, n in counts.items()]
    cloudwatch_backends[account][region].put_metric_data(namespace, data)


# ---- policy evaluation ------------------------------------------------------------------

def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(document) if document else {}
    statements = (document or {}).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, case: bool = True) -> bool:
    return fnmatch.fnmatchcase(value, pattern) if case else fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _principal(statement: dict[str, Any], who: dict[str, str]) -> bool:
    principal = statement.get("Principal")
    if principal == "*" or (isinstance(principal, dict) and "*" in _listed(principal.get("AWS", []))):
        return True
    if not isinstance(principal, dict):
        return False
    if "Service" in who:
        return who["Service"] in _listed(principal.get("Service", []))
    names = {who["AWS"], who["account"], f"arn:aws:iam::{who['account']}:root"}
    return any(p in names for p in _listed(principal.get("AWS", [])))


def _conditions(statement: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in (statement.get("Condition") or {}).items():
        base, if_exists = operator.removesuffix("IfExists"), operator.endswith("IfExists")
        for key, wanted in tests.items():
            have = context.get(key.lower())
            negated = "Not" in base
            if have is None:
                if not (if_exists or negated):
                    return False
                continue
            like = base.startswith("Arn") or "Like" in base
            hit = any(_like(str(w), have) if like else str(w) == have for w in _listed(wanted))
            if hit == negated:
                return False
    return True


def evaluate(documents: list[Any], action: str, resource: str, who: dict[str, str] | None, context: dict[str, str]) -> str | None:
    """"Deny", "Allow" or None (not allowed) for the principal `who` (None: an identity
    policy, which has no Principal) calling `action` on `resource`."""
    allowed = False
    for document in documents:
        for statement in _statements(document):
            actions = _listed(statement.get("Action", []))
            if not any(_like(a, action, case=False) for a in actions):
                continue
            if not any(_like(r, resource) for r in _listed(statement.get("Resource", "*"))):
                continue
            if who is not None and not _principal(statement, who):
                continue
            if not _conditions(statement, context):
                continue
            if statement.get("Effect") == "Deny":
                return "Deny"
            allowed = True
    return "Allow" if allowed else None


def state() -> dict[str, list[dict[str, Any]]]:
    return {"deliveries": DELIVERIES, "invocations": INVOCATIONS}


def register(registry: Registry) -> None:
    registry.control("GET", "deliveries", lambda _: state())
