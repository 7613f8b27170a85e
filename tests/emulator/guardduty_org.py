"""GuardDuty's organization APIs, which moto 5.2.5 lacks or accepts too leniently.

orgguard designates a delegated admin per region from the management account; as that
admin it sets auto-enable, adds every account as a member and reads the organization's
GuardDuty state without assuming into each account. These handlers give those calls AWS's
rules and botocore's wire shapes (camelCase JSON):

- Enable/Disable/ListOrganizationAdminAccount(s): management account only; the admin is an
  ACTIVE organization account; one admin per region, designated once.
- CreateMembers (designated admin, 1-50 accounts): organization accounts become members
  with relationshipStatus "Enabled" and, as AWS documents, get GuardDuty enabled with the
  organization's auto-enable features; anything else goes to unprocessedAccounts.
- ListMembers, GetMembers, GetMemberDetectors, DisassociateMembers, DeleteMembers.
- Update/DescribeOrganizationConfiguration (designated admin only).
- GetAdministratorAccount on a member names its admin while associated, else {}.

State lives in moto's backends (so moto's reset clears it and the control endpoint reads
it there): a region's admin is moto's own list guardduty_backends[management][region]
.admin_account_ids; the admin's members and configuration are on guardduty_backends[admin][region].
"""

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.guardduty import urls
from moto.guardduty.models import GuardDutyBackend, guardduty_backends
from moto.guardduty.responses import GuardDutyResponse
from moto.organizations.models import organizations_backends

from guardduty_ext import DATA_SOURCE_OF, PROTECTION_PLANS, BadRequestException

MANAGEMENT = DEFAULT_ACCOUNT_ID  # where emulator.py seeds the organization
MAX_ACCOUNTS = 50  # per CreateMembers/GetMembers/... call and per ListMembers page
AUTO_ENABLE = ("NEW", "ALL", "NONE")
ASSOCIATED = ("Enabled", "Disabled")  # what ListMembers' onlyAssociated (default true) keeps
# Runtime-monitoring agents, the only features with an additionalConfiguration.
ADDITIONAL = {
    "EKS_RUNTIME_MONITORING": ("EKS_ADDON_MANAGEMENT",),
    "RUNTIME_MONITORING": ("EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT", "EC2_AGENT_MANAGEMENT"),
}
ROUTES = (
    "/detector/(?P<detector_id>[^/]+)/member",
    "/detector/(?P<detector_id>[^/]+)/member/get",
    "/detector/(?P<detector_id>[^/]+)/member/detector/get",
    "/detector/(?P<detector_id>[^/]+)/member/disassociate",
    "/detector/(?P<detector_id>[^/]+)/member/delete",
    "/detector/(?P<detector_id>[^/]+)/admin",
    "/admin/disable",
)

# ALREADY_MEMBER, NOT_ASSOCIATED and INVALID are AWS's words as users report them; the rest are ours.
INVALID = "The request is rejected because an invalid or out-of-range value is specified as an input parameter."
NOT_MANAGEMENT = (
    "The request is rejected because the current account is not the management account of the organization."
)
NOT_ADMIN = (
    "The request is rejected because the current account is not the GuardDuty delegated administrator in this Region."
)
NOT_IN_ORGANIZATION = (
    "The request is rejected because the given account ID is not an active account of the organization."
)
ALREADY_MEMBER = (
    "The request is rejected because the given account ID is already a member or associated member "
    "of the current account."
)
SELF_MEMBER = "The request is rejected because the current account cannot be a member of itself."
NOT_MEMBER = "The request is rejected because the given account ID is not a member of the current account."
NOT_ASSOCIATED = (  # sic, as AWS words it
    "The request is rejected because the given account ID is not an associated member of account the current account."
)
NO_DETECTOR = "The request is rejected because the given account ID has no detector in this Region."
AUTO_ENABLE_ALL = (
    "The request is rejected because autoEnableOrganizationMembers is ALL: "
    "remove the account from the organization first."
)


def _require(condition: Any, message: str = INVALID) -> None:
    if not condition:
        raise BadRequestException(message)


def _now() -> str:
    """Member timestamps are strings on the wire, e.g. 2024-01-01T00:00:00.000Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _admin(region: str) -> str | None:
    admins = guardduty_backends[MANAGEMENT][region].admin_account_ids
    return admins[0] if admins else None


def _active_accounts() -> set[str]:
    accounts = organizations_backends[MANAGEMENT]["aws"].accounts
    return {a.id for a in accounts if a.status == "ACTIVE"}


def _default_configuration() -> dict[str, Any]:
    """A new admin's organization configuration: nothing auto-enabled."""
    return {
        "autoEnableOrganizationMembers": "NONE",
        "features": {
            name: {"autoEnable": "NONE", "additionalConfiguration": dict.fromkeys(ADDITIONAL.get(name, ()), "NONE")}
            for name in PROTECTION_PLANS
        },
    }


_moto_backend_init = GuardDutyBackend.__init__


def _backend_init(self: GuardDutyBackend, region_name: str, account_id: str) -> None:
    """moto's backend plus what an admin keeps per region: members and org configuration."""
    _moto_backend_init(self, region_name, account_id)
    self.org_members: dict[str, dict[str, str]] = {}
    self.org_configuration = _default_configuration()


def _enable_guardduty(backend: GuardDutyBackend, configuration: dict[str, Any]) -> None:
    """AWS: CreateMembers as delegated admin enables GuardDuty in the member and applies the
    organization's auto-enable features (NEW or ALL) to new and existing members alike."""
    features = [
        {"name": name, "status": "ENABLED"}
        for name, feature in configuration["features"].items()
        if feature["autoEnable"] != "NONE"
    ]
    if backend.detectors:
        for detector in backend.detectors.values():
            detector.update(True, None, None, features)
    else:
        backend.create_detector(True, "SIX_HOURS", None, {}, features)


class OrganizationHandlers(GuardDutyResponse):
    """Methods copied onto GuardDutyResponse; moto's dispatch calls them by snake_case name."""

    def _request(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}

    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.parsed_url.query).items()}

    def _own_detector(self) -> None:
        """Every /detector/{id}/... call first checks that the caller owns the detector."""
        self.guardduty_backend.get_detector(self.path.split("/")[2])

    def _require_management(self) -> None:
        _require(self.current_account == MANAGEMENT, NOT_MANAGEMENT)

    def _require_admin(self) -> None:
        _require(_admin(self.region) == self.current_account, NOT_ADMIN)

    def _account_ids(self) -> list[str]:
        ids = self._request().get("accountIds") or []
        _require(1 <= len(ids) <= MAX_ACCOUNTS)
        return ids

    def _member_json(self, member: dict[str, str]) -> dict[str, str]:
        detectors = guardduty_backends[member["accountId"]][self.region].detectors
        result = {**member, "masterId": self.current_account, "administratorId": self.current_account}
        if detectors:
            result["detectorId"] = next(iter(detectors))
        return result

    def _refuse_when_auto_enable_all(self) -> None:
        """AWS refuses to disassociate or delete organization members while auto-enable is ALL."""
        mode = self.guardduty_backend.org_configuration["autoEnableOrganizationMembers"]
        _require(mode != "ALL", AUTO_ENABLE_ALL)

    def enable_organization_admin_account(self) -> str:
        account = self._request().get("adminAccountId")
        self._require_management()
        _require(account in _active_accounts(), NOT_IN_ORGANIZATION)
        admins = guardduty_backends[MANAGEMENT][self.region].admin_account_ids
        _require(account not in admins, "The request failed because the account is already an administrator.")
        _require(not admins, "The request failed because another account is already the delegated administrator.")
        admins.append(account)
        return "{}"

    def disable_organization_admin_account(self) -> str:
        """Removing the admin drops its members and configuration; member detectors stay."""
        account = self._request().get("adminAccountId")
        self._require_management()
        admins = guardduty_backends[MANAGEMENT][self.region].admin_account_ids
        _require(account in admins, "The request is rejected because the account is not the delegated administrator.")
        admins.remove(account)
        guardduty_backends[account][self.region].org_members.clear()
        guardduty_backends[account][self.region].org_configuration = _default_configuration()
        return "{}"

    def list_organization_admin_accounts(self) -> str:
        self._require_management()
        admins = guardduty_backends[MANAGEMENT][self.region].admin_account_ids
        return json.dumps({"adminAccounts": [{"adminAccountId": a, "adminStatus": "ENABLED"} for a in admins]})

    def create_members(self) -> str:
        self._own_detector()
        self._require_admin()
        details = self._request().get("accountDetails") or []
        _require(1 <= len(details) <= MAX_ACCOUNTS)
        members, active, unprocessed = self.guardduty_backend.org_members, _active_accounts(), []
        for detail in details:
            account = detail.get("accountId")
            if account == self.current_account:
                unprocessed.append({"accountId": account, "result": SELF_MEMBER})
            elif account not in active:
                unprocessed.append({"accountId": account, "result": NOT_IN_ORGANIZATION})
            elif members.get(account, {}).get("relationshipStatus") == "Enabled":
                unprocessed.append({"accountId": account, "result": ALREADY_MEMBER})
            else:
                now = _now()
                members[account] = {
                    "accountId": account, "email": detail.get("email", ""),
                    "relationshipStatus": "Enabled", "invitedAt": now, "updatedAt": now,
                }
                _enable_guardduty(guardduty_backends[account][self.region], self.guardduty_backend.org_configuration)
        return json.dumps({"unprocessedAccounts": unprocessed})

    def list_members(self) -> str:
        """Pages of at most 50 in account-id order; nextToken is the next page's first account."""
        self._own_detector()
        query = self._query()
        limit = query.get("maxResults", str(MAX_ACCOUNTS))
        _require(limit.isdigit() and 1 <= int(limit) <= MAX_ACCOUNTS)
        only_associated = query.get("onlyAssociated", "true").lower() != "false"
        token = query.get("nextToken", "")
        rows = [
            member for account, member in sorted(self.guardduty_backend.org_members.items())
            if account >= token and (member["relationshipStatus"] in ASSOCIATED or not only_associated)
        ]
        result: dict[str, Any] = {"members": [self._member_json(m) for m in rows[: int(limit)]]}
        if len(rows) > int(limit):
            result["nextToken"] = rows[int(limit)]["accountId"]
        return json.dumps(result)

    def get_members(self) -> str:
        self._own_detector()
        members, ids = self.guardduty_backend.org_members, self._account_ids()
        return json.dumps({
            "members": [self._member_json(members[a]) for a in ids if a in members],
            "unprocessedAccounts": [{"accountId": a, "result": NOT_MEMBER} for a in ids if a not in members],
        })

    def get_member_detectors(self) -> str:
        """Read straight from each member's detector in this region (no assume-role needed)."""
        self._own_detector()
        configurations, unprocessed = [], []
        for account in self._account_ids():
            member = self.guardduty_backend.org_members.get(account)
            if not member or member["relationshipStatus"] not in ASSOCIATED:
                unprocessed.append({"accountId": account, "result": NOT_ASSOCIATED})
                continue
            detectors = guardduty_backends[account][self.region].detectors
            if not detectors:
                unprocessed.append({"accountId": account, "result": NO_DETECTOR})
                continue
            detector = next(iter(detectors.values()))
            configurations.append({
                "accountId": account,
                "dataSources": detector.data_sources_json(),
                "features": [
                    {"name": name, "status": detector.feature_status[name], "updatedAt": int(detector.feature_updated)}
                    for name in PROTECTION_PLANS
                ],
            })
        return json.dumps({"members": configurations, "unprocessedAccounts": unprocessed})

    def disassociate_members(self) -> str:
        self._own_detector()
        self._refuse_when_auto_enable_all()
        members, unprocessed = self.guardduty_backend.org_members, []
        for account in self._account_ids():
            if account in members:
                members[account].update(relationshipStatus="Removed", updatedAt=_now())
            else:
                unprocessed.append({"accountId": account, "result": NOT_MEMBER})
        return json.dumps({"unprocessedAccounts": unprocessed})

    def delete_members(self) -> str:
        self._own_detector()
        self._refuse_when_auto_enable_all()
        members = self.guardduty_backend.org_members
        unprocessed = [
            {"accountId": a, "result": NOT_MEMBER} for a in self._account_ids() if members.pop(a, None) is None
        ]
        return json.dumps({"unprocessedAccounts": unprocessed})

    def update_organization_configuration(self) -> str:
        """Validates the whole request, then changes only the features it names (as AWS does).
        The legacy autoEnable/dataSources booleans map to NEW (true) or NONE (false)."""
        self._own_detector()
        self._require_admin()
        request = self._request()
        members_mode, legacy = request.get("autoEnableOrganizationMembers"), request.get("autoEnable")
        _require(
            (members_mode is None) != (legacy is None),
            "You must provide a value for either autoEnableOrganizationMembers or autoEnable, but not both.",
        )
        _require(members_mode in AUTO_ENABLE + (None,))
        updates: dict[str, tuple[str | None, dict[str, str]]] = {}
        for feature, path in DATA_SOURCE_OF.items():
            node = request.get("dataSources")
            for key in path:
                node = (node or {}).get(key)
            if node is not None:
                updates[feature] = ("NEW" if node.get("autoEnable") else "NONE", {})
        for feature in request.get("features") or []:
            name, auto = feature.get("name"), feature.get("autoEnable")
            extra = {c.get("name"): c.get("autoEnable") for c in feature.get("additionalConfiguration") or []}
            _require(name in PROTECTION_PLANS and auto in AUTO_ENABLE + (None,))
            _require(set(extra) <= set(ADDITIONAL.get(name, ())) and set(extra.values()) <= set(AUTO_ENABLE))
            updates[name] = (auto, extra)
        _require(
            not {"EKS_RUNTIME_MONITORING", "RUNTIME_MONITORING"} <= set(updates),
            "The request is rejected because EKS_RUNTIME_MONITORING and RUNTIME_MONITORING cannot both be specified.",
        )
        configuration = self.guardduty_backend.org_configuration
        configuration["autoEnableOrganizationMembers"] = members_mode or ("NEW" if legacy else "NONE")
        for name, (auto, extra) in updates.items():
            if auto:
                configuration["features"][name]["autoEnable"] = auto
            configuration["features"][name]["additionalConfiguration"].update(extra)
        return "{}"

    def describe_organization_configuration(self) -> str:
        """Features plus the legacy booleans (autoEnable, dataSources) derived from them."""
        self._own_detector()
        self._require_admin()
        configuration = self.guardduty_backend.org_configuration
        features = configuration["features"]
        data_sources: dict[str, Any] = {}
        for feature, path in DATA_SOURCE_OF.items():
            node = data_sources
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = {"autoEnable": features[feature]["autoEnable"] != "NONE"}
        return json.dumps({
            "autoEnable": configuration["autoEnableOrganizationMembers"] != "NONE",
            "autoEnableOrganizationMembers": configuration["autoEnableOrganizationMembers"],
            "memberAccountLimitReached": False,
            "dataSources": data_sources,
            "features": [
                {
                    "name": name,
                    "autoEnable": feature["autoEnable"],
                    **({"additionalConfiguration": [
                        {"name": k, "autoEnable": v} for k, v in feature["additionalConfiguration"].items()
                    ]} if feature["additionalConfiguration"] else {}),
                }
                for name, feature in features.items()
            ],
        })

    def get_administrator_account(self) -> str:
        """moto answers with PascalCase keys and any designated admin; AWS names the admin only
        to an associated member, and answers {} to the admin itself and to anyone else."""
        self._own_detector()
        admin = _admin(self.region)
        member = guardduty_backends[admin][self.region].org_members.get(self.current_account) if admin else None
        if not member or member["relationshipStatus"] != "Enabled":
            return "{}"
        return json.dumps({
            "administrator": {"accountId": admin, "relationshipStatus": "Enabled", "invitedAt": member["invitedAt"]}
        })


def install() -> None:
    """Before the server builds its Flask app: routes into moto's url map, handlers onto the response."""
    GuardDutyBackend.__init__ = _backend_init
    for route in ROUTES:
        urls.url_paths["{0}" + route + "$"] = GuardDutyResponse.dispatch
    for name, function in vars(OrganizationHandlers).items():
        if not name.startswith("__"):
            setattr(GuardDutyResponse, name, function)


def organization_state() -> dict[str, dict[str, Any]]:
    """region -> the delegated admin(s), their members' relationshipStatus and the
    organization configuration, straight from the backends (for the control endpoint)."""
    result = {}
    for region, backend in list(guardduty_backends[MANAGEMENT].items()):
        if backend.admin_account_ids:
            admin_backends = [guardduty_backends[a][region] for a in backend.admin_account_ids]
            result[region] = {
                "admins": list(backend.admin_account_ids),
                "members": {
                    account: member["relationshipStatus"]
                    for b in admin_backends for account, member in sorted(b.org_members.items())
                },
                "configuration": admin_backends[0].org_configuration,
            }
    return result
