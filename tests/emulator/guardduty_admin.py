"""GuardDuty's delegated admin and organization configuration, which moto 5.2.5 lacks or
accepts too leniently (the state they keep: guardduty_org.py):

- Enable/Disable/ListOrganizationAdminAccount(s): management account only; the admin is an
  ACTIVE organization account; one admin per region, designated once.
- Update/DescribeOrganizationConfiguration (designated admin only); features the Region does
  not offer (guardduty_ext.UNAVAILABLE) are left out of the description and refused in updates.
- An account leaving the organization mid-run (faults' leave_after_requests) stops being an
  organization member, and the delegated admin if it was (account_left).
"""

import json
from typing import Any

from moto.guardduty.models import guardduty_backends

import scale
from guardduty_ext import ADDITIONAL, DATA_SOURCE_OF, PROTECTION_PLANS, UNAVAILABLE_MESSAGE, available
from guardduty_org import (
    MANAGEMENT,
    NOT_IN_ORGANIZATION,
    OrganizationRequest,
    _admin,
    _default_configuration,
    _require,
)
from registry import DETECTOR

AUTO_ENABLE = ("NEW", "ALL", "NONE")
# Ours (AWS's words for them are not known to us).
NOT_MANAGEMENT = (
    "The request is rejected because the current account is not the management account of the organization."
)
NOT_ADMIN = (
    "The request is rejected because the current account is not the GuardDuty delegated administrator in this Region."
)
OPERATIONS = (
    ("POST", "/admin/enable", "EnableOrganizationAdminAccount"),
    ("POST", "/admin/disable", "DisableOrganizationAdminAccount"),
    ("GET", "/admin", "ListOrganizationAdminAccounts"),
    ("POST", DETECTOR + "/admin", "UpdateOrganizationConfiguration"),
    ("GET", DETECTOR + "/admin", "DescribeOrganizationConfiguration"),
)


def _unavailable_refused(region: str, names) -> None:
    for name in sorted(n for n in names if isinstance(n, str)):
        _require(available(region, name), UNAVAILABLE_MESSAGE.format(name))


class AdminHandlers(OrganizationRequest):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

    def _require_management(self) -> None:
        _require(self.current_account == MANAGEMENT, NOT_MANAGEMENT)

    def _require_admin(self) -> None:
        _require(_admin(self.region) == self.current_account, NOT_ADMIN)

    def enable_organization_admin_account(self) -> str:
        account = self._request().get("adminAccountId")
        self._require_management()
        _require(scale.is_active(account), NOT_IN_ORGANIZATION)
        admins = guardduty_backends[MANAGEMENT][self.region].admin_account_ids
        _require(account not in admins, "The request failed because the account is already an administrator.")
        _require(not admins, "The request failed because another account is already the delegated administrator.")
        admins.append(account)
        return "{}"

    def disable_organization_admin_account(self) -> str:
        """Removing the admin drops its organization members and configuration; member
        detectors and its invitation-based members stay."""
        account = self._request().get("adminAccountId")
        self._require_management()
        admins = guardduty_backends[MANAGEMENT][self.region].admin_account_ids
        _require(account in admins, "The request is rejected because the account is not the delegated administrator.")
        _undesignate(account, self.region)
        return "{}"

    def list_organization_admin_accounts(self) -> str:
        self._require_management()
        admins = guardduty_backends[MANAGEMENT][self.region].admin_account_ids
        return json.dumps({"adminAccounts": [{"adminAccountId": a, "adminStatus": "ENABLED"} for a in admins]})

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
        _unavailable_refused(self.region, updates)
        configuration = self.guardduty_backend.org_configuration
        configuration["autoEnableOrganizationMembers"] = members_mode or ("NEW" if legacy else "NONE")
        for name, (auto, extra) in updates.items():
            if auto:
                configuration["features"][name]["autoEnable"] = auto
            configuration["features"][name]["additionalConfiguration"].update(extra)
        return "{}"

    def describe_organization_configuration(self) -> str:
        """Features plus the legacy booleans (autoEnable, dataSources) derived from them;
        features the Region does not offer, and their dataSources counterparts, are left out."""
        self._own_detector()
        self._require_admin()
        configuration = self.guardduty_backend.org_configuration
        features = {n: f for n, f in configuration["features"].items() if available(self.region, n)}
        data_sources: dict[str, Any] = {}
        for feature, path in DATA_SOURCE_OF.items():
            if feature not in features:
                continue
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


def register(registry) -> None:
    registry.guardduty(OPERATIONS, AdminHandlers)


def _undesignate(account: str, region: str) -> None:
    """The account stops being the Region's delegated admin: its organization members and
    configuration go; its invitation-based members stay (they never depended on Organizations)."""
    admins = guardduty_backends[MANAGEMENT][region].admin_account_ids
    if account in admins:
        admins.remove(account)
    backend = guardduty_backends[account][region]
    backend.org_members = scale.MemberRecords((a, m) for a, m in backend.org_members.items() if m.get("invited"))
    backend.org_configuration = _default_configuration()


def account_left(account: str) -> None:
    """The account left the organization (faults' leave_after_requests): in every Region its
    organization membership record goes from the delegated admin, and if it was the delegated
    admin itself, its designation goes too. Invitation-based relationships stay."""
    for region, backend in list(guardduty_backends[MANAGEMENT].items()):
        if account in backend.admin_account_ids:
            _undesignate(account, region)
        for admin in list(backend.admin_account_ids):
            members = guardduty_backends[admin][region].org_members
            if account in members and not members[account].get("invited"):
                del members[account]
