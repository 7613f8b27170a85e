"""Runtime Monitoring coverage as AWS reports it; moto 5.2.5 has no coverage API.

ListCoverage (POST /detector/{id}/coverage) and GetCoverageStatistics (POST
/detector/{id}/coverage/statistics), per GuardDuty's API reference: a detector's owner sees its
own resources and those of its Enabled members; maxResults 1-50 (default 50) with a nextToken;
filterCriteria.filterCriterion of {criterionKey, filterCondition: {equals | notEquals}} on
ACCOUNT_ID, CLUSTER_NAME, RESOURCE_TYPE, COVERAGE_STATUS, ADDON_VERSION, MANAGEMENT_TYPE,
EKS_CLUSTER_NAME, ECS_CLUSTER_NAME, AGENT_VERSION, INSTANCE_ID, CLUSTER_ARN; sortCriteria
{attributeName, orderBy ASC | DESC}; statistics COUNT_BY_RESOURCE_TYPE and
COUNT_BY_COVERAGE_STATUS. A resource is reported while its account's detector has Runtime
Monitoring on (EKS clusters also under EKS Runtime Monitoring), as the user guide's coverage
pages say.

The resources themselves (clusters and instances running the agent) have no GuardDuty API to
make them: they are seeded, with --coverage-every N at startup or POST /_orgguard/coverage
{"account", "region", "resources": [{"type": "EKS" | "ECS" | "EC2", "name", "status":
"HEALTHY" | "UNHEALTHY", "issue"}]} (replaces the account-region's resources).
"""

import json
import time
from typing import Any

from moto.guardduty.models import guardduty_backends
from moto.guardduty.responses import GuardDutyResponse

from guardduty_org import _require
from registry import DETECTOR, Registry

OPERATIONS = (
    ("POST", DETECTOR + "/coverage", "ListCoverage"),
    ("POST", DETECTOR + "/coverage/statistics", "GetCoverageStatistics"),
)
TYPES = ("EKS", "ECS", "EC2")
# (account, region) -> resources, each {"type", "name", "status", "issue", "updatedAt"}.
RESOURCES: dict[tuple[str, str], list[dict[str, Any]]] = {}
SEEDED_ISSUE = "No agent reporting: the agent pod is not running on some nodes"  # ours
KEYS = {
    "ACCOUNT_ID": lambda r: r["account"],
    "CLUSTER_NAME": lambda r: r["name"] if r["type"] != "EC2" else None,
    "RESOURCE_TYPE": lambda r: r["type"],
    "COVERAGE_STATUS": lambda r: r["status"],
    "ADDON_VERSION": lambda r: "v1.6.0-eksbuild.1" if r["type"] == "EKS" else None,
    "MANAGEMENT_TYPE": lambda r: "AUTO_MANAGED",
    "EKS_CLUSTER_NAME": lambda r: r["name"] if r["type"] == "EKS" else None,
    "ECS_CLUSTER_NAME": lambda r: r["name"] if r["type"] == "ECS" else None,
    "AGENT_VERSION": lambda r: "1.6.0" if r["type"] == "EC2" else None,
    "INSTANCE_ID": lambda r: r["name"] if r["type"] == "EC2" else None,
    "CLUSTER_ARN": lambda r: None,
}
SORT_KEYS = {"ACCOUNT_ID", "CLUSTER_NAME", "COVERAGE_STATUS", "ISSUE", "ADDON_VERSION", "UPDATED_AT", "EKS_CLUSTER_NAME", "ECS_CLUSTER_NAME", "INSTANCE_ID"}


def put(account: str, region: str, resources: list[dict[str, Any]]) -> None:
    checked = []
    for r in resources:
        if r.get("type") not in TYPES or r.get("status") not in ("HEALTHY", "UNHEALTHY") or not r.get("name"):
            raise ValueError(f"a coverage resource needs type {TYPES}, name and status HEALTHY|UNHEALTHY: {r}")
        issue = r.get("issue") or (SEEDED_ISSUE if r["status"] == "UNHEALTHY" else None)
        checked.append({"type": r["type"], "name": r["name"], "status": r["status"], "issue": issue, "updatedAt": time.time()})
    RESOURCES[(account, region)] = checked


def seed(accounts: list[str], regions: list[str], every: int) -> None:
    """Every `every`-th account has in each region an EKS cluster, an ECS cluster and an EC2
    instance; every third of those accounts has its EKS cluster UNHEALTHY."""
    for n, account in enumerate(accounts, 1):
        if n % every:
            continue
        for region in regions:
            unhealthy = (n // every) % 3 == 0
            put(account, region, [
                {"type": "EKS", "name": f"eks-{account}", "status": "UNHEALTHY" if unhealthy else "HEALTHY"},
                {"type": "ECS", "name": f"ecs-{account}", "status": "HEALTHY"},
                {"type": "EC2", "name": f"i-{int(account):017x}", "status": "HEALTHY"},
            ])


def _runtime(account: str, region: str) -> tuple[str, ...]:
    """The resource types the account's detector reports coverage for."""
    detectors = guardduty_backends[account][region].detectors
    if not detectors:
        return ()
    status = next(iter(detectors.values())).feature_status
    if status.get("RUNTIME_MONITORING") == "ENABLED":
        return TYPES
    return ("EKS",) if status.get("EKS_RUNTIME_MONITORING") == "ENABLED" else ()


def _details(r: dict[str, Any]) -> dict[str, Any]:
    if r["type"] == "EKS":
        return {"resourceType": "EKS", "eksClusterDetails": {
            "clusterName": r["name"], "coveredNodes": 2 if r["status"] == "HEALTHY" else 1, "compatibleNodes": 2,
            "addonDetails": {"addonVersion": "v1.6.0-eksbuild.1", "addonStatus": "ACTIVE"}, "managementType": "AUTO_MANAGED"}}
    if r["type"] == "ECS":
        return {"resourceType": "ECS", "ecsClusterDetails": {
            "clusterName": r["name"], "fargateDetails": {"issues": [r["issue"]] if r["issue"] else [], "managementType": "AUTO_MANAGED"},
            "containerInstanceDetails": {"coveredContainerInstances": 1, "compatibleContainerInstances": 1}}}
    return {"resourceType": "EC2", "ec2InstanceDetails": {
        "instanceId": r["name"], "instanceType": "m5.large", "agentDetails": {"version": "1.6.0"}, "managementType": "AUTO_MANAGED"}}


class CoverageHandlers(GuardDutyResponse):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

    def _covered(self) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        """(detector id, the resources the caller sees matching the filter, the request)."""
        detector_id = self.path.split("/")[2]
        self.guardduty_backend.get_detector(detector_id)
        request = json.loads(self.body) if self.body else {}
        criteria = (request.get("filterCriteria") or {}).get("filterCriterion") or []
        _require(isinstance(criteria, list))
        for criterion in criteria:
            condition = criterion.get("filterCondition") or {}
            _require(criterion.get("criterionKey") in KEYS and set(condition) <= {"equals", "notEquals"} and condition)
        members = self.guardduty_backend.org_members
        accounts = [self.current_account] + [a for a, m in members.items() if m["relationshipStatus"] == "Enabled"]
        found = []
        for account in accounts:
            types = _runtime(account, self.region)
            for r in RESOURCES.get((account, self.region), ()):
                if r["type"] not in types:
                    continue
                r = dict(r, account=account)
                if all(_matches(c, r) for c in criteria):
                    found.append(r)
        return detector_id, found, request

    def list_coverage(self) -> str:
        detector_id, found, request = self._covered()
        limit, token = request.get("maxResults", 50), request.get("nextToken") or "0"
        _require(isinstance(limit, int) and 1 <= limit <= 50 and str(token).isdigit())
        sort = request.get("sortCriteria")
        if sort:
            key = sort.get("attributeName")
            _require(key in SORT_KEYS and sort.get("orderBy", "ASC") in ("ASC", "DESC"))
            value = {"ISSUE": lambda r: r["issue"] or "", "UPDATED_AT": lambda r: r["updatedAt"]}.get(key) or (lambda r: KEYS[key](r) or "")
            found.sort(key=value, reverse=sort.get("orderBy") == "DESC")
        start = int(token)
        page = found[start:start + limit]
        result: dict[str, Any] = {"resources": [{
            "resourceId": r["name"], "detectorId": detector_id, "accountId": r["account"], "resourceDetails": _details(r),
            "coverageStatus": r["status"], **({"issue": r["issue"]} if r["issue"] else {}), "updatedAt": r["updatedAt"],
        } for r in page]}
        if start + limit < len(found):
            result["nextToken"] = str(start + limit)
        return json.dumps(result)

    def get_coverage_statistics(self) -> str:
        _, found, request = self._covered()
        kinds = request.get("statisticsType") or []
        _require(kinds and set(kinds) <= {"COUNT_BY_RESOURCE_TYPE", "COUNT_BY_COVERAGE_STATUS"})
        statistics: dict[str, dict[str, int]] = {}
        for kind, field, key in [("COUNT_BY_RESOURCE_TYPE", "countByResourceType", "type"), ("COUNT_BY_COVERAGE_STATUS", "countByCoverageStatus", "status")]:
            if kind in kinds:
                counts: dict[str, int] = {}
                for r in found:
                    counts[r[key]] = counts.get(r[key], 0) + 1
                statistics[field] = counts
        return json.dumps({"coverageStatistics": statistics})


def _matches(criterion: dict[str, Any], resource: dict[str, Any]) -> bool:
    value, condition = KEYS[criterion["criterionKey"]](resource), criterion["filterCondition"]
    if "equals" in condition and value not in condition["equals"]:
        return False
    return not ("notEquals" in condition and value in condition["notEquals"])


def state() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """account -> region -> the seeded resources (for the control endpoint)."""
    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (account, region), resources in sorted(RESOURCES.items()):
        if resources:
            result.setdefault(account, {})[region] = [dict(r) for r in resources]
    return result


def _put(request: dict) -> dict:
    """POST /_orgguard/coverage."""
    put(request["account"], request["region"], request["resources"])
    return {}


def register(registry: Registry) -> None:
    registry.guardduty(OPERATIONS, CoverageHandlers)
    registry.state("coverage", state)
    registry.control("POST", "coverage", _put)
