"""Suppression rules (GuardDuty filters) as AWS has them, where moto 5.2.5 has no ListFilters,
keeps ranks as given and returns criteria as written (CAPABILITIES.md section 2):

- ranks are positions 1..N: CreateFilter inserts at its rank (default N + 1) and moves the
  rules from there one down, UpdateFilter with a rank moves the rule there, DeleteFilter
  closes the gap; a rank that would leave a gap is refused ("out-of-bounds");
- criteria come back in the current condition names (Eq -> Equals, Gte -> GreaterThanOrEqual,
  ...), the deprecated names dropped;
- 100 rules per account and region; names of 3-64 of [A-Za-z0-9._-]; at most 50 values for
  Equals and NotEquals, 5 patterns for Matches and NotMatches; descriptions up to 512;
- only an administrator (any account that is not an associated member) manages them.
"""

import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.guardduty.responses import GuardDutyResponse

from guardduty_org import _administrator_of, _require
from registry import DETECTOR, Registry

MAX_FILTERS = 100
NAME = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
CURRENT = {"eq": "equals", "neq": "notEquals", "gt": "greaterThan", "gte": "greaterThanOrEqual", "lt": "lessThan", "lte": "lessThanOrEqual"}
LISTS = {"equals": 50, "notEquals": 50, "matches": 5, "notMatches": 5}
NUMBERS = {"greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual"}
OUT_OF_BOUNDS = "The request is rejected because the parameter rank is out-of-bounds."
NO_FILTER = "The request is rejected because the specified filter does not exist."  # ours
EXISTS = "The request is rejected because a filter with this name already exists."  # ours
TOO_MANY = "The request is rejected because the number of filters exceeds the limit of 100."  # ours
MEMBER = "The request is rejected because the current account is a member account: only its administrator manages filters."  # ours
OPERATIONS = (  # moto routes these paths already
    ("POST", DETECTOR + "/filter", "CreateFilter"),
    ("GET", DETECTOR + "/filter", "ListFilters"),
    ("GET", DETECTOR + "/filter/(?P<filter_name>[^/]+)", "GetFilter"),
    ("POST", DETECTOR + "/filter/(?P<filter_name>[^/]+)", "UpdateFilter"),
    ("DELETE", DETECTOR + "/filter/(?P<filter_name>[^/]+)", "DeleteFilter"),
)


def _criteria(value: Any) -> dict[str, dict[str, Any]]:
    """The request's findingCriteria.criterion, validated, in the current condition names."""
    criterion = (value or {}).get("criterion")
    _require(isinstance(criterion, dict) and criterion)
    result = {}
    for field, condition in criterion.items():
        _require(isinstance(condition, dict) and condition)
        normalised: dict[str, Any] = {}
        for name, operand in condition.items():
            name = CURRENT.get(name, name)
            _require(name in LISTS or name in NUMBERS)
            if name in LISTS:
                _require(isinstance(operand, list) and 1 <= len(operand) <= LISTS[name])
            else:
                _require(isinstance(operand, int))
            normalised[name] = operand
        result[field] = normalised
    return result


class FilterHandlers(GuardDutyResponse):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

    def _rules(self) -> list[dict[str, Any]]:
        """The detector's rules, in rank order (after checking the caller owns it)."""
        detector_id = self.path.split("/")[2]
        self.guardduty_backend.get_detector(detector_id)
        return self.guardduty_backend.__dict__.setdefault("suppression_rules", {}).setdefault(detector_id, [])

    def _administrator_only(self) -> None:
        associated = _administrator_of(self.current_account, self.region)
        _require(associated is None, MEMBER)

    def _named(self, rules: list[dict[str, Any]]) -> dict[str, Any]:
        name = unquote(self.path.split("/")[-1])
        found = next((r for r in rules if r["name"] == name), None)
        _require(found, NO_FILTER)
        return found

    def _body(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}

    def create_filter(self) -> str:
        rules, request = self._rules(), self._body()
        self._administrator_only()
        name = request.get("name") or ""
        _require(NAME.match(name))
        _require(all(r["name"] != name for r in rules), EXISTS)
        _require(len(rules) < MAX_FILTERS, TOO_MANY)
        rank = request.get("rank", len(rules) + 1)
        _require(isinstance(rank, int) and 1 <= rank <= len(rules) + 1, OUT_OF_BOUNDS)
        action = request.get("action", "NOOP")
        description = request.get("description", "")
        _require(action in ("NOOP", "ARCHIVE") and len(description) <= 512)
        rule = {"name": name, "action": action, "description": description, "criterion": _criteria(request.get("findingCriteria"))}
        rules.insert(rank - 1, rule)
        return json.dumps({"name": name})

    def list_filters(self) -> str:
        """Names in rank order; pages of at most 50, nextToken the next page's first index."""
        rules = self._rules()
        query = {k: v[0] for k, v in parse_qs(self.parsed_url.query).items()}
        limit, token = query.get("maxResults", "50"), query.get("nextToken", "0")
        _require(limit.isdigit() and 1 <= int(limit) <= 50 and token.isdigit())
        start, size = int(token), int(limit)
        result: dict[str, Any] = {"filterNames": [r["name"] for r in rules[start:start + size]]}
        if start + size < len(rules):
            result["nextToken"] = str(start + size)
        return json.dumps(result)

    def get_filter(self) -> str:
        rules = self._rules()
        rule = self._named(rules)
        return json.dumps({
            "name": rule["name"], "action": rule["action"], "description": rule["description"],
            "rank": rules.index(rule) + 1, "findingCriteria": {"criterion": rule["criterion"]}, "tags": {},
        })

    def update_filter(self) -> str:
        rules, request = self._rules(), self._body()
        self._administrator_only()
        rule = self._named(rules)
        if "action" in request:
            _require(request["action"] in ("NOOP", "ARCHIVE"))
            rule["action"] = request["action"]
        if "description" in request:
            _require(len(request["description"]) <= 512)
            rule["description"] = request["description"]
        if "findingCriteria" in request:
            rule["criterion"] = _criteria(request["findingCriteria"])
        if "rank" in request:
            rank = request["rank"]
            _require(isinstance(rank, int) and 1 <= rank <= len(rules), OUT_OF_BOUNDS)
            rules.remove(rule)
            rules.insert(rank - 1, rule)
        return json.dumps({"name": rule["name"]})

    def delete_filter(self) -> str:
        rules = self._rules()
        self._administrator_only()
        rules.remove(self._named(rules))
        return "{}"


def state() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """account -> region -> the rules of its detector, in rank order (for the control endpoint)."""
    from moto.guardduty.models import guardduty_backends

    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for account, regions in list(guardduty_backends.items()):
        for region, backend in list(regions.items()):
            for rules in backend.__dict__.get("suppression_rules", {}).values():
                if rules:
                    result.setdefault(account, {})[region] = [dict(r, rank=i + 1) for i, r in enumerate(rules)]
    return result


def register(registry: Registry) -> None:
    registry.guardduty(OPERATIONS, FilterHandlers)
    registry.state("suppression_rules", state)

