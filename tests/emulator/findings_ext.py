"""GuardDuty findings, which moto 5.2.5 does not have, per GuardDuty's API reference and user guide:

- CreateSampleFindings (POST /detector/{id}/findings/create, findingTypes up to 50, none = every
  type the emulator knows): one finding per type, shaped as AWS's sample findings are: the
  title starts "[SAMPLE]", service.additionalInfo is {"value": "{\\"sample\\":true}", "type":
  "default"}, the resource's placeholders are "GeneratedFinding..." and its tags are given
  (user guide, "Sample findings"). Every finding type of TYPES below is one of AWS's
  (user guide, "GuardDuty finding types"), with its default severity there;
- ListFindings (POST /detector/{id}/findings): ids matching findingCriteria.criterion (dotted
  field names, conditions as filters take them), sortCriteria, maxResults 1-50 (default 50),
  nextToken. Archived findings are listed too unless the criteria say service.archived;
- GetFindings (POST .../findings/get): up to 50 ids; ids the caller cannot see are left out;
- GetFindingsStatistics (POST .../findings/statistics): groupBy ACCOUNT, DATE, FINDING_TYPE,
  RESOURCE or SEVERITY, orderBy ASC | DESC by count, maxResults 1-100; or the deprecated
  findingStatisticTypes COUNT_BY_SEVERITY;
- ArchiveFindings, UnarchiveFindings: only an administrator (not an associated member:
  "Member accounts don't have permission to archive findings from their accounts", API
  reference, ArchiveFindings); UpdateFindingsFeedback: USEFUL | NOT_USEFUL.

A detector sees its own account's findings and, at an administrator, its Enabled members'
(user guide, "Managing multiple accounts"). A new finding that an ARCHIVE suppression rule of
the account's administrator (or of the account itself, without one) matches is archived as it
is made, and is not sent on to EventBridge (user guide, "Suppression rules"): `suppressed`
says so. Every other new finding goes on to EventBridge (delivery_ext.py). POST /_orgguard/findings {"account", "region", "type", "severity"?} makes a real
(not sample) finding, for tests; GET /_orgguard/state's "findings" lists them all.
"""

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.guardduty.models import guardduty_backends
from moto.guardduty.responses import GuardDutyResponse

import delivery_ext
from filters_ext import _criteria
from guardduty_org import _administrator_of, _require
from registry import DETECTOR, Registry

OPERATIONS = (
    ("POST", DETECTOR + "/findings/create", "CreateSampleFindings"),
    ("POST", DETECTOR + "/findings/get", "GetFindings"),
    ("POST", DETECTOR + "/findings/statistics", "GetFindingsStatistics"),
    ("POST", DETECTOR + "/findings/archive", "ArchiveFindings"),
    ("POST", DETECTOR + "/findings/unarchive", "UnarchiveFindings"),
    ("POST", DETECTOR + "/findings/feedback", "UpdateFindingsFeedback"),
    ("POST", DETECTOR + "/findings", "ListFindings"),
)
# type -> (default severity, resource type, title), from the user guide's finding types.
TYPES: dict[str, tuple[float, str, str]] = {
    "Recon:EC2/PortProbeUnprotectedPort": (2.0, "Instance", "Unprotected port on EC2 instance i-99999999 is being probed."),
    "UnauthorizedAccess:EC2/SSHBruteForce": (2.0, "Instance", "SSH brute force attacks against i-99999999."),
    "CryptoCurrency:EC2/BitcoinTool.B!DNS": (8.0, "Instance", "Bitcoin-related domain name queried by EC2 instance i-99999999."),
    "Backdoor:EC2/C&CActivity.B!DNS": (8.0, "Instance", "Command and Control server domain name queried by EC2 instance i-99999999."),
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS": (8.0, "AccessKey", "Credentials for instance role used from external IP address."),
    "Recon:IAMUser/MaliciousIPCaller": (5.0, "AccessKey", "Reconnaissance API GeneratedFindingAPIName was invoked from a known malicious IP address."),
    "Policy:S3/BucketBlockPublicAccessDisabled": (2.0, "S3Bucket", "Amazon S3 Block Public Access was disabled for S3 bucket bucketName."),
    "Exfiltration:S3/AnomalousBehavior": (8.0, "S3Bucket", "Anomalous API requests made to S3 bucket bucketName."),
    "Policy:Kubernetes/AnonymousAccessGranted": (8.0, "EKSCluster", "The anonymous user was granted API access on EKS cluster GeneratedFindingEKSClusterName."),
    "Execution:Runtime/NewBinaryExecuted": (5.0, "Instance", "A newly created or recently modified binary file was executed in a container."),
    "Execution:EC2/MaliciousFile": (8.0, "Instance", "A malicious file was detected on EC2 instance i-99999999."),
}
TAGS = [{"key": "GeneratedFindingInstanceTag1", "value": "GeneratedFindingInstanceValue1"}]
UNKNOWN_TYPE = "The request is rejected because an invalid or out-of-range value is specified as an input parameter."
MEMBER = "The request is rejected because the current account is a member account: only its administrator archives findings."  # ours
# (account, region) -> the findings made there, oldest first.
FINDINGS: dict[tuple[str, str], list[dict[str, Any]]] = {}
TIMES = ("createdAt", "updatedAt", "service.eventFirstSeen", "service.eventLastSeen")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _resource(resource_type: str, account: str, region: str) -> dict[str, Any]:
    if resource_type == "AccessKey":
        details = {"accessKeyId": "GeneratedFindingAccessKeyId", "principalId": "GeneratedFindingPrincipalId", "userName": "GeneratedFindingUserName", "userType": "IAMUser"}
        return {"resourceType": "AccessKey", "accessKeyDetails": details}
    if resource_type == "S3Bucket":
        bucket = {"arn": "arn:aws:s3:::bucketName", "name": "bucketName", "type": "Destination", "tags": TAGS, "createdAt": 1514764800}
        return {"resourceType": "S3Bucket", "s3BucketDetails": [bucket]}
    if resource_type == "EKSCluster":
        arn = f"arn:aws:eks:{region}:{account}:cluster/GeneratedFindingEKSClusterName"
        return {"resourceType": "EKSCluster", "eksClusterDetails": {"name": "GeneratedFindingEKSClusterName", "arn": arn, "tags": TAGS, "status": "ACTIVE"}}
    details = {"instanceId": "i-99999999", "instanceType": "m3.xlarge", "instanceState": "running", "availabilityZone": f"{region}a", "tags": TAGS}
    return {"resourceType": "Instance", "instanceDetails": details}


def _resource_id(finding: dict[str, Any]) -> str:
    resource = finding["resource"]
    return {
        "AccessKey": lambda: resource["accessKeyDetails"]["accessKeyId"],
        "S3Bucket": lambda: resource["s3BucketDetails"][0]["arn"],
        "EKSCluster": lambda: resource["eksClusterDetails"]["name"],
    }.get(resource["resourceType"], lambda: resource["instanceDetails"]["instanceId"])()


def _suppressed_by(account: str, region: str, finding: dict[str, Any]) -> str | None:
    """The ARCHIVE suppression rule of the account's administrator (or its own) matching it."""
    associated = _administrator_of(account, region)
    owner = associated[0] if associated else account
    backend = guardduty_backends[owner][region]
    rules = getattr(backend, "suppression_rules", {})
    for detector_id in backend.detectors:
        for rule in rules.get(detector_id, []):
            if rule["action"] == "ARCHIVE" and matches(finding, rule["criterion"]):
                return rule["name"]
    return None


def make(account: str, region: str, finding_type: str, sample: bool, severity: float | None = None) -> dict[str, Any]:
    """A new finding of `finding_type` in the account-region's detector (which must exist)."""
    detectors = guardduty_backends[account][region].detectors
    _require(detectors, f"The request is rejected because no detector exists in {account} {region}.")  # ours
    _require(finding_type in TYPES, UNKNOWN_TYPE)
    detector_id = next(iter(detectors))
    default, resource_type, title = TYPES[finding_type]
    finding_id = uuid.uuid4().hex
    now = _now()
    service = {
        "serviceName": "guardduty", "detectorId": detector_id, "archived": False, "count": 1, "eventFirstSeen": now,
        "eventLastSeen": now, "resourceRole": "TARGET",
    }
    if sample:
        service["additionalInfo"] = {"value": json.dumps({"sample": True}, separators=(",", ":")), "type": "default"}
    finding = {
        "accountId": account, "arn": f"arn:aws:guardduty:{region}:{account}:detector/{detector_id}/finding/{finding_id}",
        "createdAt": now, "description": title, "id": finding_id, "partition": "aws", "region": region,
        "resource": _resource(resource_type, account, region), "schemaVersion": "2.0", "service": service,
        "confidence": 5.0, "severity": default if severity is None else float(severity), "title": ("[SAMPLE] " if sample else "") + title,
        "type": finding_type, "updatedAt": now,
    }
    rule = _suppressed_by(account, region, finding)
    finding["service"]["archived"] = rule is not None
    FINDINGS.setdefault((account, region), []).append(finding)
    if rule is None:
        delivery_ext.publish_finding(account, region, finding)
    return {"id": finding_id, "suppressed": rule}


def _values(finding: Any, path: list[str]) -> list[Any]:
    """The values at a dotted path, through lists."""
    if not path:
        return finding if isinstance(finding, list) else [finding]
    if isinstance(finding, list):
        return [v for item in finding for v in _values(item, path)]
    if not isinstance(finding, dict) or path[0] not in finding:
        return []
    return _values(finding[path[0]], path[1:])


def _millis(value: Any) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000


def matches(finding: dict[str, Any], criterion: dict[str, dict[str, Any]]) -> bool:
    """Every field's conditions hold (a filter's criterion, in the current condition names)."""
    for field, condition in criterion.items():
        values = _values(finding, field.split("."))
        texts = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        numbers = [_millis(v) if field in TIMES else float(v) for v in values if isinstance(v, (int, float)) or field in TIMES]
        for name, operand in condition.items():
            ok = {
                "equals": lambda: any(t in [str(o) for o in operand] for t in texts),
                "notEquals": lambda: not any(t in [str(o) for o in operand] for t in texts),
                "greaterThan": lambda: any(n > operand for n in numbers),
                "greaterThanOrEqual": lambda: any(n >= operand for n in numbers),
                "lessThan": lambda: any(n < operand for n in numbers),
                "lessThanOrEqual": lambda: any(n <= operand for n in numbers),
            }.get(name, lambda: True)()
            if not ok:
                return False
    return True


class FindingHandlers(GuardDutyResponse):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

    def _findings_request(self) -> dict[str, Any]:
        self.guardduty_backend.get_detector(self.path.split("/")[2])
        return json.loads(self.body) if self.body else {}

    def _findings_visible(self) -> list[dict[str, Any]]:
        """The caller's findings, then its Enabled members'."""
        region, members = self.region, self.guardduty_backend.org_members
        accounts = [self.current_account] + [a for a, m in members.items() if m["relationshipStatus"] == "Enabled"]
        return [f for account in accounts for f in FINDINGS.get((account, region), [])]

    def _findings_chosen(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        ids = request.get("findingIds")
        _require(isinstance(ids, list) and 1 <= len(ids) <= 50)
        return [f for f in self._findings_visible() if f["id"] in ids]

    def _findings_matching(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        criteria = request.get("findingCriteria")
        criterion = _criteria(criteria) if criteria and criteria.get("criterion") else {}
        return [f for f in self._findings_visible() if matches(f, criterion)]

    def create_sample_findings(self) -> str:
        request = self._findings_request()
        types = request.get("findingTypes") or list(TYPES)
        _require(isinstance(types, list) and len(types) <= 50 and all(t in TYPES for t in types), UNKNOWN_TYPE)
        for finding_type in types:
            make(self.current_account, self.region, finding_type, sample=True)
        return "{}"

    def list_findings(self) -> str:
        request = self._findings_request()
        found = _sorted(self._findings_matching(request), request.get("sortCriteria"))
        size = request.get("maxResults", 50)
        _require(isinstance(size, int) and 1 <= size <= 50)
        start = int(request.get("nextToken") or 0)
        page = found[start:start + size]
        answer: dict[str, Any] = {"findingIds": [f["id"] for f in page]}
        if start + size < len(found):
            answer["nextToken"] = str(start + size)
        return json.dumps(answer)

    def get_findings(self) -> str:
        request = self._findings_request()
        return json.dumps({"findings": _sorted(self._findings_chosen(request), request.get("sortCriteria"))})

    def get_findings_statistics(self) -> str:
        request = self._findings_request()
        found = self._findings_matching(request)
        group_by = request.get("groupBy")
        if group_by is None:
            _require(request.get("findingStatisticTypes") == ["COUNT_BY_SEVERITY"])
            counts: dict[str, int] = {}
            for f in found:
                counts[str(f["severity"])] = counts.get(str(f["severity"]), 0) + 1
            return json.dumps({"findingStatistics": {"countBySeverity": counts}})
        _require(group_by in GROUPS and request.get("orderBy", "DESC") in ("ASC", "DESC"))
        size = request.get("maxResults", 25)
        _require(isinstance(size, int) and 1 <= size <= 100)
        key, field, shape = GROUPS[group_by]
        groups: dict[Any, list[dict[str, Any]]] = {}
        for f in found:
            groups.setdefault(key(f), []).append(f)
        rows = [shape(k, group) | {"totalFindings": len(group), "lastGeneratedAt": max(_millis(f["updatedAt"]) for f in group) / 1000} for k, group in groups.items()]
        rows.sort(key=lambda r: r["totalFindings"], reverse=request.get("orderBy", "DESC") == "DESC")
        return json.dumps({"findingStatistics": {field: rows[:size]}})

    def _findings_administrator_only(self) -> None:
        _require(_administrator_of(self.current_account, self.region) is None, MEMBER)

    def archive_findings(self) -> str:
        request = self._findings_request()
        self._findings_administrator_only()
        for f in self._findings_chosen(request):
            f["service"]["archived"], f["updatedAt"] = True, _now()
        return "{}"

    def unarchive_findings(self) -> str:
        request = self._findings_request()
        self._findings_administrator_only()
        for f in self._findings_chosen(request):
            f["service"]["archived"], f["updatedAt"] = False, _now()
        return "{}"

    def update_findings_feedback(self) -> str:
        request = self._findings_request()
        _require(request.get("feedback") in ("USEFUL", "NOT_USEFUL"))
        for f in self._findings_chosen(request):
            f["service"]["userFeedback"] = request["feedback"]
        return "{}"


def _sorted(found: list[dict[str, Any]], sort: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not sort or not sort.get("attributeName"):
        return found
    path = sort["attributeName"].split(".")
    _require(sort.get("orderBy", "ASC") in ("ASC", "DESC"))
    return sorted(found, key=lambda f: [str(v) for v in _values(f, path)], reverse=sort.get("orderBy") == "DESC")


# groupBy -> (the group's key, the statistics field, the row without its counts)
GROUPS = {
    "ACCOUNT": (lambda f: f["accountId"], "groupedByAccount", lambda k, g: {"accountId": k}),
    "DATE": (lambda f: f["updatedAt"][:10], "groupedByDate", lambda k, g: {"date": _millis(k + "T00:00:00.000Z") / 1000, "severity": max(f["severity"] for f in g)}),
    "FINDING_TYPE": (lambda f: f["type"], "groupedByFindingType", lambda k, g: {"findingType": k}),
    "RESOURCE": (lambda f: (f["accountId"], _resource_id(f), f["resource"]["resourceType"]), "groupedByResource",
                 lambda k, g: {"accountId": k[0], "resourceId": k[1], "resourceType": k[2]}),
    "SEVERITY": (lambda f: f["severity"], "groupedBySeverity", lambda k, g: {"severity": k}),
}


def _inject(request: dict) -> dict:
    """POST /_orgguard/findings: a real finding, as GuardDuty would make one."""
    if request["type"] not in TYPES or not guardduty_backends[request["account"]][request["region"]].detectors:
        raise ValueError(f"a finding needs one of the types {sorted(TYPES)} and a detector in the account-region")
    return make(request["account"], request["region"], request["type"], sample=False, severity=request.get("severity"))


def state() -> dict[str, list[dict[str, Any]]]:
    return {f"{account}/{region}": found for (account, region), found in FINDINGS.items()}


def register(registry: Registry) -> None:
    registry.guardduty(OPERATIONS, FindingHandlers)
    registry.state("findings", state)
    registry.control("POST", "findings", _inject)
