"""The fault "odd_answers": valid answers that a newer or stranger AWS could send.

While it is on (POST /_orgguard/faults {"odd_answers": true}, --odd-answers; cleared by
"reset"), the gate (gate.Gate) hands the successful (2xx) answers of the operations in
REWRITES to their rewrite here before they leave. Every answer stays valid JSON or XML of the
service's protocol; what it carries is what AWS's models allow a newer AWS to add (values of
enums the client does not know, keys and attributes it does not know) or what AWS's paging
contract permits (pages of another size than asked for, fields the models mark optional
left out). The values are ours, not AWS's: no AWS Region sends them today.

A rewrite returns the answer to send, or None when the fault leaves moto's answer as it is
(the gate counts the former as fault kind "odd_answer"). ListMembers' large pages are made
by guardduty_members.list_members (guardduty_members.huge_page, set while the fault is on); its
rewrite here only recognises a page larger than asked for, so that it is counted.
"""

import json
from collections.abc import Callable
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.organizations.models import organizations_backends

# Keys no AWS model has (ours): objects, lists and scalars, so that a client's parser must
# skip values of every JSON type.
UNKNOWN_KEYS = {
    "orgguardFutureSettings2030": {"mode": "SOMETHING_NEW", "levels": [1, 2.5, None, True, {"deep": []}]},
    "orgguardFutureFlag2030": True,
}
UNKNOWN_KEYS_PASCAL = {  # for the awsJson1.1 services, whose keys are PascalCase
    "OrgguardFutureSettings2030": {"Mode": "SOMETHING_NEW", "Levels": [1, 2.5, None, True, {"Deep": []}]},
    "OrgguardFutureFlag2030": True,
}
ODD_FEATURE = {"name": "FUTURE_PROTECTION_2030", "status": "ENABLED_SOMEHOW"}
# Organization accounts only ListAccounts' last page shows (they exist nowhere else).
ODD_ACCOUNTS = (("999999999901", "PENDING_CLOSURE"), ("999999999902", "SOMETHING_ELSE"))
ODD_JOINED_METHOD = "UNKNOWN_METHOD"
ODD_JOINED_TIMESTAMP = 1704067200.0  # 2024-01-01, before the seeded members
ODD_TOPIC_ATTRIBUTE = ("OrgguardFutureAttribute2030", "SOMETHING_NEW")
HUGE_PAGE = 1000  # ListMembers' page size while the fault is on
MEMBERS_PAGE = 50  # ListMembers' default (and maximum) maxResults


def _query(environ) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def get_detector(environ, body: bytes) -> bytes | None:
    """status SOMETHING_NEW, findingPublishingFrequency TWO_HOURS, a feature
    FUTURE_PROTECTION_2030 ENABLED_SOMEHOW after the real ones, and UNKNOWN_KEYS."""
    answer = json.loads(body)
    answer["status"] = "SOMETHING_NEW"
    answer["findingPublishingFrequency"] = "TWO_HOURS"
    answer["features"] = [*answer.get("features", []), dict(ODD_FEATURE)]
    answer.update(UNKNOWN_KEYS)
    return json.dumps(answer).encode()


def list_detectors(environ, body: bytes) -> bytes | None:
    """Pages of one detector id, whatever maxResults says; nextToken is the next page's
    detector id (a token naming no detector: an empty page). One detector: one page, no
    token; none: an empty page, no token (both as moto answers them, so not counted)."""
    ids = json.loads(body).get("detectorIds", [])
    token = _query(environ).get("nextToken")
    if not token and len(ids) <= 1:
        return None
    start = ids.index(token) if token in ids else (len(ids) if token else 0)
    answer: dict = {"detectorIds": ids[start:start + 1]}
    if start + 1 < len(ids):
        answer["nextToken"] = ids[start + 1]
    return json.dumps(answer).encode()


def create_detector(environ, body: bytes) -> bytes | None:
    """The answer leaves detectorId out (the detector is created all the same)."""
    answer = json.loads(body)
    if "detectorId" not in answer:
        return None
    del answer["detectorId"]
    return json.dumps(answer).encode()


def list_members(environ, body: bytes) -> bytes | None:
    """guardduty_org already answered up to HUGE_PAGE members; counted when that is more
    than the request's maxResults (default 50)."""
    asked = _query(environ).get("maxResults", str(MEMBERS_PAGE))
    members = json.loads(body).get("members", [])
    return body if asked.isdigit() and len(members) > int(asked) else None


def list_accounts(environ, body: bytes) -> bytes | None:
    """The last page (the one without NextToken) ends with two accounts that exist nowhere
    else: 999999999901 Status PENDING_CLOSURE and 999999999902 Status SOMETHING_ELSE (State
    likewise), both JoinedMethod UNKNOWN_METHOD. The page may then hold more than MaxResults."""
    answer = json.loads(body)
    if answer.get("NextToken"):
        return None
    backend = organizations_backends[DEFAULT_ACCOUNT_ID]["aws"]
    organization = backend.org.id if backend.org else "o-orgguard"
    for account, status in ODD_ACCOUNTS:
        answer.setdefault("Accounts", []).append({
            "Id": account,
            "Arn": f"arn:aws:organizations::{DEFAULT_ACCOUNT_ID}:account/{organization}/{account}",
            "Email": f"odd-{account}@example.com",
            "Name": f"odd-{status.lower().replace('_', '-')}",
            "Status": status,
            "State": status,
            "JoinedMethod": ODD_JOINED_METHOD,
            "JoinedTimestamp": ODD_JOINED_TIMESTAMP,
        })
    return json.dumps(answer).encode()


def get_topic_attributes(environ, body: bytes) -> bytes | None:
    """One more Attributes entry: OrgguardFutureAttribute2030 = SOMETHING_NEW (query XML)."""
    key, value = ODD_TOPIC_ATTRIBUTE
    entry = f"<entry><key>{key}</key><value>{value}</value></entry></Attributes>".encode()
    if b"</Attributes>" in body:
        return body.replace(b"</Attributes>", entry, 1)
    if b"<Attributes/>" in body:
        return body.replace(b"<Attributes/>", b"<Attributes>" + entry, 1)
    return None


def describe_rule(environ, body: bytes) -> bytes | None:
    """UNKNOWN_KEYS_PASCAL added; every known key (State included) stays as it is."""
    answer = json.loads(body)
    answer.update(UNKNOWN_KEYS_PASCAL)
    return json.dumps(answer).encode()


Rewrite = Callable[[dict, bytes], "bytes | None"]
REWRITES: dict[tuple[str, str], Rewrite] = {
    ("guardduty", "GetDetector"): get_detector,
    ("guardduty", "ListDetectors"): list_detectors,
    ("guardduty", "CreateDetector"): create_detector,
    ("guardduty", "ListMembers"): list_members,
    ("organizations", "ListAccounts"): list_accounts,
    ("sns", "GetTopicAttributes"): get_topic_attributes,
    ("events", "DescribeRule"): describe_rule,
}


def rewrites(service: str, operation: str) -> Rewrite | None:
    return REWRITES.get((service, operation))


def content_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    """The headers with Content-Length set to the rewritten body's."""
    return [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(length))]

