"""Findings export: GuardDuty publishing destinations, which moto 5.2.5 does not have, with
AWS's rules (CAPABILITIES.md section 1; GuardDuty user guide, "Exporting findings"):

- CreatePublishingDestination (destinationType S3; destinationProperties destinationArn, the
  bucket's ARN with an optional /prefix, kmsKeyArn, and expectedBucketOwner, which the bucket's
  account must be), List (pages of up to 50), Describe, Update, Delete. The bucket must exist,
  and with a prefix an object named "prefix/".
- Describe's status: PUBLISHING when the bucket policy lets GuardDuty (guardduty.amazonaws.com,
  or guardduty.<region>.amazonaws.com for an opt-in region) s3:GetBucketLocation the bucket
  and s3:PutObject under the prefix, and the key policy lets it kms:GenerateDataKey, each
  for the admin's detector: conditions aws:SourceAccount and aws:SourceArn, where given, must
  match it. Otherwise UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY, with
  publishingFailureStartTimestamp. Deny statements count here only without conditions (the
  ones SRA and LZA add, for non-TLS requests or another key, never match GuardDuty's).
"""

import json
import os
import time
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qs

from moto.guardduty.responses import GuardDutyResponse
from moto.kms.models import kms_backends
from moto.s3.models import s3_backends

from guardduty_org import _require
from registry import DETECTOR, Registry

DESTINATION = DETECTOR + "/publishingDestination/(?P<destination_id>[^/]+)"
OPERATIONS = (
    ("POST", DETECTOR + "/publishingDestination", "CreatePublishingDestination"),
    ("GET", DETECTOR + "/publishingDestination", "ListPublishingDestinations"),
    ("GET", DESTINATION, "DescribePublishingDestination"),
    ("POST", DESTINATION, "UpdatePublishingDestination"),
    ("DELETE", DESTINATION, "DeletePublishingDestination"),
)
# Opt-in regions, whose GuardDuty acts as its regional service principal.
OPT_IN = {
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
    "me-central-1", "me-south-1", "mx-central-1",
}
NO_BUCKET = "The request failed because the destination bucket does not exist."  # ours
NO_PREFIX = "The request failed because the destination prefix does not exist: create an object named \"{}/\" first."  # ours
OTHER_OWNER = "The request failed because the destination bucket is not owned by the expected bucket owner."  # ours
NO_DESTINATION = "The request is rejected because the destination does not exist."  # ours


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def allows(policy: str | None, principal: str, action: str, resource: str, source_account: str, source_arn: str) -> bool:
    """Whether the policy lets the service principal make the call for this source."""
    if not policy:
        return False
    statements = _list(json.loads(policy).get("Statement", []))

    def applies(statement: dict) -> bool:
        services = _list((statement.get("Principal") or {}).get("Service", [])) if isinstance(statement.get("Principal"), dict) else []
        if statement.get("Principal") != "*" and principal not in services:
            return False
        if not any(fnmatchcase(action, a) for a in _list(statement.get("Action", []))):
            return False
        return any(fnmatchcase(resource, r) for r in _list(statement.get("Resource", [])))

    def conditions_hold(statement: dict) -> bool:
        context = {"aws:sourceaccount": source_account, "aws:sourcearn": source_arn}
        for operator, tests in (statement.get("Condition") or {}).items():
            like = operator.lower() in ("stringlike", "arnlike")
            for key, wanted in tests.items():
                value = context.get(key.lower())
                if value is None:
                    continue  # a key GuardDuty's request does not carry here: not ours to judge
                if not any(fnmatchcase(value, w) if like else value == w for w in _list(wanted)):
                    return False
        return True

    denied = any(s.get("Effect") == "Deny" and not s.get("Condition") and applies(s) for s in statements)
    return not denied and any(s.get("Effect") == "Allow" and applies(s) and conditions_hold(s) for s in statements)


def _bucket(name: str):
    """The bucket of that name, in whichever account owns it, and that account."""
    for account in list(s3_backends.keys()):
        found = s3_backends[account]["aws"].buckets.get(name)
        if found is not None:
            return found, account
    return None, None


def _key_policy(key_arn: str) -> str | None:
    parts = key_arn.split(":")
    if len(parts) < 6:
        return None
    region, account, key_id = parts[3], parts[4], parts[5].split("/", 1)[-1]
    try:
        return kms_backends[account][region].get_key_policy(key_id)
    except Exception:  # noqa: BLE001 - no such key: nothing allows anything
        return None


def status(destination: dict, account: str, region: str, detector_id: str) -> str:
    """PUBLISHING, or UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY, as GuardDuty would find it now."""
    arn = destination["properties"]["destinationArn"]
    name, _, prefix = arn.split(":::", 1)[-1].partition("/")
    prefix = prefix.rstrip("/")
    bucket, _ = _bucket(name)
    principal = f"guardduty.{region}.amazonaws.com" if region in OPT_IN else "guardduty.amazonaws.com"
    source = (account, f"arn:aws:guardduty:{region}:{account}:detector/{detector_id}")
    bucket_policy = bucket.policy.decode() if bucket is not None and bucket.policy else None
    objects = f"arn:aws:s3:::{name}/{prefix + '/' if prefix else ''}x"
    ok = (
        allows(bucket_policy, principal, "s3:GetBucketLocation", f"arn:aws:s3:::{name}", *source)
        and allows(bucket_policy, principal, "s3:PutObject", objects, *source)
        and allows(_key_policy(destination["properties"]["kmsKeyArn"]), principal, "kms:GenerateDataKey", destination["properties"]["kmsKeyArn"], *source)
    )
    return "PUBLISHING" if ok else "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY"


class ExportHandlers(GuardDutyResponse):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

    def _destinations(self) -> dict[str, dict[str, Any]]:
        detector_id = self.path.split("/")[2]
        self.guardduty_backend.get_detector(detector_id)
        return self.guardduty_backend.__dict__.setdefault("destinations", {}).setdefault(detector_id, {})

    def _properties(self, request: dict) -> dict[str, str]:
        properties = request.get("destinationProperties") or {}
        arn, key = properties.get("destinationArn") or "", properties.get("kmsKeyArn") or ""
        _require(arn.startswith("arn:") and ":s3:::" in arn and key.startswith("arn:") and ":kms:" in key)
        name, _, prefix = arn.split(":::", 1)[-1].partition("/")
        bucket, owner = _bucket(name)
        _require(bucket is not None, NO_BUCKET)
        expected = properties.get("expectedBucketOwner")
        _require(expected in (None, owner), OTHER_OWNER)
        prefix = prefix.rstrip("/")
        _require(not prefix or f"{prefix}/" in bucket.keys, NO_PREFIX.format(prefix))
        return {"destinationArn": arn, "kmsKeyArn": key, **({"expectedBucketOwner": expected} if expected else {})}

    def create_publishing_destination(self) -> str:
        destinations, request = self._destinations(), json.loads(self.body or "{}")
        _require(request.get("destinationType") == "S3")
        destination_id = os.urandom(16).hex()
        destinations[destination_id] = {"properties": self._properties(request), "failing_since": None}
        return json.dumps({"destinationId": destination_id})

    def _found_destination(self) -> tuple[str, dict[str, Any]]:
        destination_id = self.path.split("/")[-1]
        found = self._destinations().get(destination_id)
        _require(found, NO_DESTINATION)
        return destination_id, found

    def _destination_status(self, found: dict[str, Any]) -> str:
        now = status(found, self.current_account, self.region, self.path.split("/")[2])
        if now == "PUBLISHING":
            found["failing_since"] = None
        elif found["failing_since"] is None:
            found["failing_since"] = int(time.time() * 1000)
        return now

    def describe_publishing_destination(self) -> str:
        destination_id, found = self._found_destination()
        result = {
            "destinationId": destination_id, "destinationType": "S3", "status": self._destination_status(found),
            "publishingFailureStartTimestamp": found["failing_since"] or 0, "destinationProperties": found["properties"],
        }
        return json.dumps(result)

    def list_publishing_destinations(self) -> str:
        destinations = self._destinations()
        query = {k: v[0] for k, v in parse_qs(self.parsed_url.query).items()}
        limit, token = query.get("maxResults", "50"), query.get("nextToken", "0")
        _require(limit.isdigit() and 1 <= int(limit) <= 50 and token.isdigit())
        ids = sorted(destinations)[int(token):int(token) + int(limit)]
        result: dict[str, Any] = {
            "destinations": [{"destinationId": i, "destinationType": "S3", "status": self._destination_status(destinations[i])} for i in ids],
        }
        if int(token) + int(limit) < len(destinations):
            result["nextToken"] = str(int(token) + int(limit))
        return json.dumps(result)

    def update_publishing_destination(self) -> str:
        _, found = self._found_destination()
        request = json.loads(self.body or "{}")
        if request.get("destinationProperties"):
            found["properties"] = self._properties(request)
        return "{}"

    def delete_publishing_destination(self) -> str:
        destination_id, _ = self._found_destination()
        del self._destinations()[destination_id]
        return "{}"


def state() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """account -> region -> every destination ({id, destinationArn, kmsKeyArn, status})."""
    from moto.guardduty.models import guardduty_backends

    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for account, regions in list(guardduty_backends.items()):
        for region, backend in list(regions.items()):
            for detector_id, destinations in backend.__dict__.get("destinations", {}).items():
                for destination_id, found in sorted(destinations.items()):
                    entry = dict(found["properties"], id=destination_id, status=status(found, account, region, detector_id))
                    result.setdefault(account, {}).setdefault(region, []).append(entry)
    return result


def register(registry: Registry) -> None:
    registry.guardduty(OPERATIONS, ExportHandlers)
    registry.state("destinations", state)
