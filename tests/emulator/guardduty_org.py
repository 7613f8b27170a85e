"""GuardDuty's organization APIs, which moto 5.2.5 lacks or accepts too leniently: the state
they share, and what the other guardduty_*.py modules build on.

orgguard designates a delegated admin per region from the management account; as that
admin it sets auto-enable, adds every account as a member and reads the organization's
GuardDuty state without assuming into each account. The handlers give those calls AWS's
rules and botocore's wire shapes (camelCase JSON), by concern:
- guardduty_admin.py: the delegated admin's designation and the organization configuration;
- guardduty_members.py: members, as their administrator manages them (organization members
  and invitation-based ones alike);
- guardduty_invitations.py: the member account's side: its administrator, and the
  invitation-era relationships it accepts, declines or leaves.

Invitation-era ("legacy") relationships, per account and Region, predate Organizations: an
administrator (any account with a detector, designated or not) invites an account, which
accepts. An invitation-based member record carries "invited": True and its "invitationId"
(internal keys, not sent on the wire).

State lives in moto's backends (so moto's reset clears it and the control endpoint reads
it there): a region's admin is moto's own list guardduty_backends[management][region]
.admin_account_ids; an administrator's members (organization and invitation-based) and its
organization configuration are on guardduty_backends[admin][region]; an invited account keeps
its pending invitations (inviter -> invitation) and its invitation-based administrator's id on
guardduty_backends[account][region]. GET /_orgguard/guardduty-org reads it all
(organization_state).
"""

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.guardduty.models import GuardDutyBackend, guardduty_backends
from moto.guardduty.responses import GuardDutyResponse

import scale
from guardduty_ext import ADDITIONAL, INVALID, PROTECTION_PLANS, BadRequestException

MANAGEMENT = DEFAULT_ACCOUNT_ID  # where seeding.py seeds the organization
MAX_ACCOUNTS = 50  # per CreateMembers/GetMembers/... call and per ListMembers page
# Ours (AWS's words for it are not known to us).
NOT_IN_ORGANIZATION = (
    "The request is rejected because the given account ID is not an active account of the organization."
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


def _email(account: str) -> str:
    """The account's email in the organization, or "" for an account outside it."""
    found = scale.account(account)
    return found.email if found is not None else ""


def _administrator_of(account: str, region: str) -> tuple[str, dict[str, Any]] | None:
    """(administrator, its record of the account) while the account is associated (Enabled)
    with one: the designated admin (organization or invitation-based member), else the
    invitation-based administrator the account itself remembers. Both lookups are O(1)."""
    admin = _admin(region)
    if admin:
        member = guardduty_backends[admin][region].org_members.get(account)
        if member and member["relationshipStatus"] == "Enabled":
            return admin, member
    other = guardduty_backends[account][region].administrator_id
    if other:
        member = guardduty_backends[other][region].org_members.get(account)
        if member and member.get("invited") and member["relationshipStatus"] == "Enabled":
            return other, member
    return None


def _forget_invitation(administrator: str, account: str, region: str) -> None:
    """The member side of an invitation-based relationship that the administrator ended."""
    backend = guardduty_backends[account][region]
    backend.invitations.pop(administrator, None)
    if backend.administrator_id == administrator:
        backend.administrator_id = None


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
    self.org_members = scale.MemberRecords()  # account -> record; ListMembers pages it in id order
    self.org_configuration = _default_configuration()
    self.invitations: dict[str, dict[str, str]] = {}  # inviter -> pending invitation to this account
    self.administrator_id: str | None = None  # the invitation-based administrator, once accepted


class OrganizationRequest(GuardDutyResponse):
    """What every organization handler reads of its request; copied onto GuardDutyResponse
    (registry.guardduty), as the handler classes of the other guardduty_*.py modules are."""

    def _request(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}

    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.parsed_url.query).items()}

    def _own_detector(self) -> None:
        """Every /detector/{id}/... call first checks that the caller owns the detector."""
        self.guardduty_backend.get_detector(self.path.split("/")[2])

    def _account_ids(self) -> list[str]:
        ids = self._request().get("accountIds") or []
        _require(1 <= len(ids) <= MAX_ACCOUNTS)
        return ids


def register(registry) -> None:
    """Before the server builds its Flask app: the backends' added state, the shared request
    helpers, and GET /_orgguard/guardduty-org."""
    registry.patch(GuardDutyBackend, "__init__", _backend_init)
    registry.guardduty((), OrganizationRequest)
    registry.control("GET", "guardduty-org", lambda request: organization_state())


def _legacy_state() -> dict[str, dict[str, Any]]:
    """region -> invited_members {member: {administrator, status}} and invitations
    {member: [inviter, ...]} over every GuardDuty backend that exists."""
    result: dict[str, dict[str, Any]] = {}
    for account, regions in list(guardduty_backends.items()):
        for region, backend in list(regions.items()):
            for member, record in list(backend.org_members.items()):
                if record.get("invited"):
                    entry = result.setdefault(region, {"invited_members": {}, "invitations": {}})
                    entry["invited_members"][member] = {
                        "administrator": account, "status": record["relationshipStatus"],
                    }
            if backend.invitations:
                entry = result.setdefault(region, {"invited_members": {}, "invitations": {}})
                entry["invitations"][account] = sorted(backend.invitations)
    return result


def organization_state() -> dict[str, dict[str, Any]]:
    """region -> the delegated admin(s), their members' relationshipStatus (organization and
    invitation-based alike) and the organization configuration, straight from the backends
    (for the control endpoint); plus "invited_members" {member: {"administrator", "status"}}
    for every invitation-based relationship (any administrator) and "invitations"
    {account: [inviter, ...]} for pending ones. A Region with invitation-based state but no
    delegated admin has "admins": [], "members": {}, "configuration": null."""
    result: dict[str, dict[str, Any]] = {}
    legacy = _legacy_state()
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
                "invited_members": {},
                "invitations": {},
            }
    for region, entry in legacy.items():
        result.setdefault(region, {"admins": [], "members": {}, "configuration": None}).update(
            invited_members=dict(sorted(entry["invited_members"].items())),
            invitations=dict(sorted(entry["invitations"].items())),
        )
    return result
