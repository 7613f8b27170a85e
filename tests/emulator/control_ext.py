"""The control API's view of the notification wiring, and hand-made drift.

GET /_orgguard/wiring reads the IAM roles and policies, SNS topics and EventBridge rules
straight from moto's backends, so tests can check what orgguard built without going through
(and being counted by) the AWS APIs. POST /_orgguard/drift changes that state, and GuardDuty's,
the way a person in the console would, so tests can check that orgguard finds and repairs it.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.exceptions import JsonRESTError, ServiceException
from moto.events.models import events_backends
from moto.guardduty.models import guardduty_backends
from moto.iam.models import AWSManagedPolicy, IAMBackend, ManagedPolicy, iam_backends
from moto.sns.models import sns_backends
from moto.sns.utils import make_arn_for_topic

import guardduty_ext
import guardduty_invitations
import guardduty_org
import sns_ext
from registry import Registry

SERVICE_ROLE_PATH = "/aws-service-role/"


def _backends(backends: dict) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) for the backends that exist. Iterating never creates one
    (indexing would); the lists are snapshots because requests may add backends meanwhile."""
    for account, regions in list(backends.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def _parsed(document: str | None) -> Any:
    return json.loads(document) if document else None


def _customer_policies(backend: IAMBackend) -> list[ManagedPolicy]:
    """AWS managed policies share the dict with the account's own; moto creates them with the
    backend, and only when MOTO_IAM_LOAD_MANAGED_POLICIES is set, so this filter is all they cost."""
    return [p for p in list(backend.managed_policies.values()) if not isinstance(p, AWSManagedPolicy)]


def _iam() -> dict[str, Any]:
    result = {}
    for account, _, backend in _backends(iam_backends):
        roles = {
            role.name: {"trust": _parsed(role.assume_role_policy_document), "attached": list(role.managed_policies)}
            for role in list(backend.roles.values())
            if not role.path.startswith(SERVICE_ROLE_PATH)
        }
        policies = {
            policy.name: {
                "arn": policy.arn,
                "default_version": policy.default_version_id,
                "versions": len(policy.versions),
                "document": _parsed(backend.get_policy_version(policy.arn, policy.default_version_id).document),
            }
            for policy in _customer_policies(backend)
        }
        if roles or policies:
            result[account] = {"roles": roles, "policies": policies}
    return result


def _topics() -> dict[str, Any]:
    subscriptions: dict[str, list[dict[str, str]]] = {}
    for _, _, backend in _backends(sns_backends):
        for sub in list(backend.subscriptions.values()):
            subscriptions.setdefault(sub.topic.arn, []).append(
                {"protocol": sub.protocol, "endpoint": sub.endpoint, "arn": sub.arn, "pending": sns_ext.pending(sub)}
            )
    result: dict[str, Any] = {}
    for account, region, backend in _backends(sns_backends):
        for topic in list(backend.topics.values()):
            result.setdefault(account, {}).setdefault(region, {})[topic.name] = {
                "arn": topic.arn,
                "display_name": topic.display_name,
                "policy": _parsed(topic.policy),
                "tags": dict(backend.list_tags_for_resource(topic.arn)),
                "subscriptions": subscriptions.get(topic.arn, []),
            }
    return result


def _rules() -> dict[str, Any]:
    result: dict[str, Any] = {}
    for account, region, backend in _backends(events_backends):
        for rule in list(backend.event_buses["default"].rules.values()):
            result.setdefault(account, {}).setdefault(region, {})[rule.name] = {
                "state": rule.state,
                "description": rule.description,
                "pattern": _parsed(rule.event_pattern.dump()),
                "targets": [{"id": t["Id"], "arn": t["Arn"], "role_arn": t.get("RoleArn")} for t in rule.targets],
            }
    return result


def wiring_state() -> dict[str, Any]:
    """account -> IAM roles and customer-managed policies; account -> region -> SNS topics and
    rules on the default event bus. Accounts and regions with none of them are left out."""
    return {"iam": _iam(), "topics": _topics(), "rules": _rules()}


def _events(request: dict):
    return events_backends[request["account"]][request["region"]]


def _topic(request: dict):
    """The account-region's SNS backend and the ARN of the topic named in the request."""
    account, region = request["account"], request["region"]
    return sns_backends[account][region], make_arn_for_topic(account, request["topic"], region)


def _disable_rule(request: dict) -> None:
    if not _events(request).disable_rule(request["rule"], None):
        raise KeyError(f"no rule {request['rule']}")


def _remove_target(request: dict) -> None:
    backend, target = _events(request), request["target_id"]
    rule = backend.describe_rule(request["rule"], None)
    if target not in [t["Id"] for t in rule.targets]:
        raise KeyError(f"no target {target}")  # moto's remove_targets ignores unknown ids
    backend.remove_targets(rule.name, None, [target])


def _set_topic_policy(request: dict) -> None:
    backend, arn = _topic(request)
    backend.set_topic_attribute(arn, "policy", json.dumps(request["policy"]))


def _delete_subscription(request: dict) -> None:
    backend, arn = _topic(request)
    found = [
        sub.arn for sub in list(backend.subscriptions.values())
        if sub.topic.arn == arn and sub.endpoint == request["endpoint"]
    ]
    if not found:
        raise KeyError(f"no subscription of {request['endpoint']} to {arn}")
    for subscription in found:
        backend.unsubscribe(subscription)


def _silent_recipient(request: dict) -> None:
    """{"action": "silent_recipient", "endpoint"}: world-wide, no account or region: the
    endpoint's recipient never confirms, so its subscriptions made from now on stay pending."""
    sns_ext.SILENT_RECIPIENTS.add(request["endpoint"])


def _feature_off(request: dict) -> None:
    backend, feature = guardduty_backends[request["account"]][request["region"]], request["feature"]
    if not backend.detectors:
        raise KeyError("no detector")
    detector_id = next(iter(backend.detectors))
    if feature not in backend.detectors[detector_id].feature_status:
        raise KeyError(f"no feature {feature}")
    backend.update_detector(detector_id, None, None, None, [{"name": feature, "status": "DISABLED"}])


def _agent_off(request: dict) -> None:
    """{"action": "agent_off", "account", "region", "feature", "agent"}: one runtime-monitoring
    agent (additionalConfiguration) of the account-region's detector becomes DISABLED."""
    backend = guardduty_backends[request["account"]][request["region"]]
    feature, agent = request["feature"], request["agent"]
    if not backend.detectors:
        raise KeyError("no detector")
    if agent not in guardduty_ext.ADDITIONAL.get(feature, ()):
        raise KeyError(f"no agent {agent} of {feature}; agents: {guardduty_ext.ADDITIONAL}")
    detector_id = next(iter(backend.detectors))
    agents = [{"name": agent, "status": "DISABLED"}]
    backend.update_detector(detector_id, None, None, None, [{"name": feature, "additionalConfiguration": agents}])


def _legacy_administrator(request: dict) -> None:
    """{"action": "legacy_administrator", "account", "region", "administrator", "status":
    "Enabled" | "Invited"}: an invitation-era relationship (guardduty_invitations.make_legacy_member)."""
    guardduty_invitations.make_legacy_member(request["account"], request["region"], request["administrator"], request["status"])


def _disassociate_member(request: dict) -> None:
    """The region's delegated admin is found from the region alone; `account` is not needed.
    Unlike DisassociateMembers, auto-enable ALL does not stop it: this is drift, not an API call."""
    region = request["region"]
    admin = guardduty_org._admin(region)
    if admin is None:
        raise KeyError(f"no delegated GuardDuty admin in {region}")
    member = guardduty_backends[admin][region].org_members[request["member"]]
    member.update(relationshipStatus="Removed", updatedAt=guardduty_org._now())


def _set_policy_document(request: dict) -> None:
    backend = iam_backends[request["account"]]["global"]
    policy = {p.name: p for p in _customer_policies(backend)}[request["policy"]]
    backend.create_policy_version(policy.arn, json.dumps(request["document"]), set_as_default=True)


DRIFT: dict[str, Callable[[dict], None]] = {
    "disable_rule": _disable_rule,
    "remove_target": _remove_target,
    "set_topic_policy": _set_topic_policy,
    "delete_subscription": _delete_subscription,
    "silent_recipient": _silent_recipient,
    "feature_off": _feature_off,
    "agent_off": _agent_off,
    "legacy_administrator": _legacy_administrator,
    "disassociate_member": _disassociate_member,
    "set_policy_document": _set_policy_document,
}


def drift(request: dict) -> dict:
    """Applies request["action"] in request["account"] (and request["region"] for all but IAM).
    moto's own refusals (no such rule or topic, malformed document, five policy versions)
    become ValueError, which the control API answers with 400 like any other bad input."""
    try:
        DRIFT[request["action"]](request)
    except (ServiceException, JsonRESTError) as error:
        raise ValueError(f"{type(error).__name__}: {error.message}") from error
    return {}


def register(registry: Registry) -> None:
    registry.control("GET", "wiring", lambda request: wiring_state())
    registry.control("POST", "drift", drift)
