"""Trusted IP lists (IP sets) and threat intel sets, which moto 5.2.5 does not have, with
AWS's rules (CAPABILITIES.md section 3; GuardDuty API reference):

- CreateIPSet / CreateThreatIntelSet (name 1-300, format TXT, STIX, OTX_CSV, ALIEN_VAULT,
  PROOF_POINT or FIRE_EYE, location an S3 URL, activate, expectedBucketOwner), Get, List (ids,
  pages of up to 50),
  Update (name, location, activate: the file is read anew), Delete;
- status INACTIVE, or after an activation ACTIVATING, then ACTIVE once GuardDuty has read the
  file, or ERROR when it cannot: here the first Get after an activation answers ACTIVATING,
  the next ACTIVE if the location names an object in the emulator's S3 (any account's
  bucket; the expected owner's, when one is given), else ERROR;
- quotas: 1 IP set and 6 threat intel sets per account and region;
- only an administrator (any account that is not an associated member) manages them.
"""

import json
import os
import re
from typing import Any
from urllib.parse import parse_qs

from moto.guardduty.responses import GuardDutyResponse
from moto.s3.models import s3_backends

from guardduty_org import _administrator_of, _require
from registry import DETECTOR, Registry

FORMATS = ("TXT", "STIX", "OTX_CSV", "ALIEN_VAULT", "PROOF_POINT", "FIRE_EYE")
KINDS = {
    # kind: (path segment, quota, id key, list key)
    "ipset": ("ipset", 1, "ipSetId", "ipSetIds"),
    "threatintelset": ("threatintelset", 6, "threatIntelSetId", "threatIntelSetIds"),
}
LOCATION = re.compile(r"^(?:s3://(?P<b1>[^/]+)/(?P<k1>.+)|https://s3[.a-z0-9-]*\.amazonaws\.com/(?P<b2>[^/]+)/(?P<k2>.+)|https://(?P<b3>[^/.]+)\.s3[.a-z0-9-]*\.amazonaws\.com/(?P<k3>.+))$")
QUOTA = "The request is rejected because the number of {} exceeds the limit of {}."  # ours
NO_LIST = "The request is rejected because the input list ID is not owned by the current account."  # ours
MEMBER = "The request is rejected because the current account is a member account: only its administrator manages IP lists."  # ours
OPERATIONS = (
    ("POST", DETECTOR + "/ipset", "CreateIPSet"),
    ("GET", DETECTOR + "/ipset", "ListIPSets"),
    ("GET", DETECTOR + "/ipset/(?P<list_id>[^/]+)", "GetIPSet"),
    ("POST", DETECTOR + "/ipset/(?P<list_id>[^/]+)", "UpdateIPSet"),
    ("DELETE", DETECTOR + "/ipset/(?P<list_id>[^/]+)", "DeleteIPSet"),
    ("POST", DETECTOR + "/threatintelset", "CreateThreatIntelSet"),
    ("GET", DETECTOR + "/threatintelset", "ListThreatIntelSets"),
    ("GET", DETECTOR + "/threatintelset/(?P<list_id>[^/]+)", "GetThreatIntelSet"),
    ("POST", DETECTOR + "/threatintelset/(?P<list_id>[^/]+)", "UpdateThreatIntelSet"),
    ("DELETE", DETECTOR + "/threatintelset/(?P<list_id>[^/]+)", "DeleteThreatIntelSet"),
)


def _readable(location: str, expected_owner: str | None) -> bool:
    """The location names an object in some account's bucket of the emulator's S3, owned by
    the expected bucket owner when one is given (GuardDuty's check, in the API reference's
    words "to prevent a bucket sniping")."""
    match = LOCATION.match(location)
    if not match:
        return False
    bucket = match["b1"] or match["b2"] or match["b3"]
    key = match["k1"] or match["k2"] or match["k3"]
    for account in list(s3_backends.keys()):
        found = s3_backends[account]["aws"].buckets.get(bucket)
        if found is not None:
            return key in found.keys and expected_owner in (None, account)
    return False


class ListHandlers(GuardDutyResponse):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

    def _lists(self, kind: str) -> dict[str, dict[str, Any]]:
        detector_id = self.path.split("/")[2]
        self.guardduty_backend.get_detector(detector_id)
        return self.guardduty_backend.__dict__.setdefault("ip_lists", {}).setdefault((detector_id, kind), {})

    def _one(self, kind: str) -> dict[str, Any]:
        found = self._lists(kind).get(self.path.split("/")[-1])
        _require(found, NO_LIST)
        return found

    def _create(self, kind: str) -> str:
        lists, request = self._lists(kind), json.loads(self.body or "{}")
        _require(_administrator_of(self.current_account, self.region) is None, MEMBER)
        _, quota, id_key, _ = KINDS[kind]
        _require(len(lists) < quota, QUOTA.format("IP sets" if kind == "ipset" else "threat intel sets", quota))
        name, location = request.get("name") or "", request.get("location") or ""
        _require(1 <= len(name) <= 300 and request.get("format") in FORMATS and LOCATION.match(location))
        list_id = os.urandom(16).hex()
        lists[list_id] = {"name": name, "format": request["format"], "location": location, "status": "INACTIVE"}
        if request.get("expectedBucketOwner"):
            lists[list_id]["expectedBucketOwner"] = request["expectedBucketOwner"]
        if request.get("activate"):
            lists[list_id]["status"] = "ACTIVATING"
        return json.dumps({id_key: list_id})

    def _get(self, kind: str) -> str:
        found = self._one(kind)
        shown = dict(found)
        if found["status"] == "ACTIVATING":
            # Answered once as ACTIVATING, then as GuardDuty's read of the file turned out.
            found["status"] = "ACTIVE" if _readable(found["location"], found.get("expectedBucketOwner")) else "ERROR"
        return json.dumps(dict(shown, tags={}))

    def _list(self, kind: str) -> str:
        ids = sorted(self._lists(kind))
        query = {k: v[0] for k, v in parse_qs(self.parsed_url.query).items()}
        limit, token = query.get("maxResults", "50"), query.get("nextToken", "0")
        _require(limit.isdigit() and 1 <= int(limit) <= 50 and token.isdigit())
        start, size = int(token), int(limit)
        result: dict[str, Any] = {KINDS[kind][3]: ids[start:start + size]}
        if start + size < len(ids):
            result["nextToken"] = str(start + size)
        return json.dumps(result)

    def _update(self, kind: str) -> str:
        found, request = self._one(kind), json.loads(self.body or "{}")
        _require(_administrator_of(self.current_account, self.region) is None, MEMBER)
        if "location" in request:
            _require(LOCATION.match(request["location"]))
            found["location"] = request["location"]
        if "name" in request:
            _require(1 <= len(request["name"]) <= 300)
            found["name"] = request["name"]
        if request.get("expectedBucketOwner"):
            found["expectedBucketOwner"] = request["expectedBucketOwner"]
        if "activate" in request:
            found["status"] = "ACTIVATING" if request["activate"] else "INACTIVE"
        return "{}"

    def _delete(self, kind: str) -> str:
        self._one(kind)
        _require(_administrator_of(self.current_account, self.region) is None, MEMBER)
        del self._lists(kind)[self.path.split("/")[-1]]
        return "{}"

    def create_ip_set(self) -> str:
        return self._create("ipset")

    def get_ip_set(self) -> str:
        return self._get("ipset")

    def list_ip_sets(self) -> str:
        return self._list("ipset")

    def update_ip_set(self) -> str:
        return self._update("ipset")

    def delete_ip_set(self) -> str:
        return self._delete("ipset")

    def create_threat_intel_set(self) -> str:
        return self._create("threatintelset")

    def get_threat_intel_set(self) -> str:
        return self._get("threatintelset")

    def list_threat_intel_sets(self) -> str:
        return self._list("threatintelset")

    def update_threat_intel_set(self) -> str:
        return self._update("threatintelset")

    def delete_threat_intel_set(self) -> str:
        return self._delete("threatintelset")


def state() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """account -> region -> every list ({kind, id, name, format, location, status}), by kind and id."""
    from moto.guardduty.models import guardduty_backends

    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for account, regions in list(guardduty_backends.items()):
        for region, backend in list(regions.items()):
            for (_, kind), lists in sorted(backend.__dict__.get("ip_lists", {}).items()):
                for list_id, found in sorted(lists.items()):
                    result.setdefault(account, {}).setdefault(region, []).append(dict(found, kind=kind, id=list_id))
    return result


def register(registry: Registry) -> None:
    registry.guardduty(OPERATIONS, ListHandlers)
    registry.state("ip_lists", state)
