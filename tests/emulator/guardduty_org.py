"""GuardDuty's organization APIs, which moto 5.2.5 lacks or accepts too leniently.

orgguard designates a delegated admin per region from the management account; as that
admin it sets auto-enable, adds every account as a member and reads the organization's
GuardDuty state without assuming into each account. These handlers give those calls AWS's
rules and botocore's wire shapes (camelCase JSON):

- Enable/Disable/ListOrganizationAdminAccount(s): management account only; the admin is an
  ACTIVE organization account; one admin per region, designated once.
- CreateMembers (designated admin, 1-50 accounts): organization accounts become members
  with relationshipStatus "Enabled" and, as AWS documents, get GuardDuty enabled with the
  organization's auto-enable features (and agents, additionalConfiguration) that the Region
  offers; anything else goes to unprocessedAccounts: the admin itself, accounts outside the
  organization, members already Enabled, and accounts associated (Enabled) with another
  administrator by invitation (OTHER_ADMINISTRATOR, our wording).
- ListMembers pages by maxResults (1-50, default 50), or by huge_page (1000) while the fault
  odd_answers is on (odd_answers.py).
- ListMembers, GetMembers, GetMemberDetectors, DisassociateMembers, DeleteMembers: any account
  with a detector manages its own members (AWS's rule); auto-enable ALL refuses to
  disassociate or delete organization members, not invitation-based ones.
- Update/DescribeOrganizationConfiguration (designated admin only); features the Region does
  not offer (guardduty_ext.UNAVAILABLE) are left out of the description and refused in updates.
- GetAdministratorAccount on a member names its administrator while associated, else {}.
- UpdateMemberDetectors: an administrator sets its associated members' detector features,
  with Create/UpdateDetector's rules (both runtime features in one request refused).

Invitation-era ("legacy") relationships, per account and Region, which predate Organizations:
an administrator (any account with a detector, designated or not) invites an account, which
accepts. They are made by the drift action legacy_administrator (make_legacy_member); an
invitation-based member record carries "invited": True and its "invitationId" (internal keys,
not sent on the wire). Member-side APIs in the invited account:
- ListInvitations, GetInvitationsCount: its pending invitations (relationshipStatus Invited).
- AcceptAdministratorInvitation (and the deprecated AcceptInvitation): the inviter's record
  becomes Enabled; refused while the account is associated with an administrator.
- DeclineInvitations, DeleteInvitations: the pending invitations go; the inviter's record
  becomes "Removed" (our reading: AWS does not document what the inviter then sees).
- DisassociateFromAdministratorAccount (and the deprecated DisassociateFromMasterAccount): the
  administrator's record becomes "Removed" (as the brief for this emulator asks; AWS's console
  may call it "Resigned"). A member through Organizations cannot leave this way (our reading of
  AWS's rule that only the delegated admin disassociates organization members).
- GetAdministratorAccount / GetMasterAccount name an invitation-based administrator too.
- CreateMembers by the delegated admin for its own invitation-based member (Enabled or
  Invited) makes it an organization member (Enabled, invited flag cleared), as AWS does for
  existing members: our reading, AWS documents only that CreateMembers is the way back.

State lives in moto's backends (so moto's reset clears it and the control endpoint reads
it there): a region's admin is moto's own list guardduty_backends[management][region]
.admin_account_ids; an administrator's members (organization and invitation-based) and its
organization configuration are on guardduty_backends[admin][region]; an invited account keeps
its pending invitations (inviter -> invitation) and its invitation-based administrator's id on
guardduty_backends[account][region].
"""

import json
import os
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.guardduty import urls
from moto.guardduty.models import GuardDutyBackend, guardduty_backends
from moto.guardduty.responses import GuardDutyResponse

import scale
from guardduty_ext import (
    ADDITIONAL,
    DATA_SOURCE_OF,
    INVALID,
    PROTECTION_PLANS,
    UNAVAILABLE_MESSAGE,
    BadRequestException,
    available,
    check_features,
)

MANAGEMENT = DEFAULT_ACCOUNT_ID  # where emulator.py seeds the organization
MAX_ACCOUNTS = 50  # per CreateMembers/GetMembers/... call and per ListMembers page
# While the fault odd_answers is on (emulator.apply_faults sets it): ListMembers' page size,
# whatever maxResults (still validated, 1-50) asks for; None: maxResults.
huge_page: int | None = None
AUTO_ENABLE = ("NEW", "ALL", "NONE")
ASSOCIATED = ("Enabled", "Disabled")  # what ListMembers' onlyAssociated (default true) keeps
INTERNAL_KEYS = ("invited", "invitationId")  # member-record keys that are ours, not the wire's
ROUTES = (
    "/detector/(?P<detector_id>[^/]+)/member",
    "/detector/(?P<detector_id>[^/]+)/member/get",
    "/detector/(?P<detector_id>[^/]+)/member/detector/get",
    "/detector/(?P<detector_id>[^/]+)/member/detector/update",
    "/detector/(?P<detector_id>[^/]+)/member/disassociate",
    "/detector/(?P<detector_id>[^/]+)/member/delete",
    "/detector/(?P<detector_id>[^/]+)/member/invite",
    "/detector/(?P<detector_id>[^/]+)/admin",
    "/detector/(?P<detector_id>[^/]+)/administrator/disassociate",
    "/detector/(?P<detector_id>[^/]+)/master",
    "/detector/(?P<detector_id>[^/]+)/master/disassociate",
    "/invitation",
    "/invitation/count",
    "/invitation/decline",
    "/invitation/delete",
    "/admin/disable",
)

# ALREADY_MEMBER, NOT_ASSOCIATED and INVALID are AWS's words as users report them; the rest are ours.
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
OTHER_ADMINISTRATOR = (  # ours
    "The request is rejected because the given account ID is already associated with another "
    "administrator account: it must disassociate from that administrator first."
)
NO_INVITATION = "The request is rejected because there is no pending invitation from the given account ID."  # ours
BAD_INVITATION = (  # ours
    "The request is rejected because the given invitation ID is not a pending invitation from the given account ID."
)
ALREADY_ASSOCIATED = (  # ours
    "The request is rejected because the current account is already associated with an administrator account."
)
NO_ADMINISTRATOR = "The request is rejected because the current account has no administrator account."  # ours
HAS_MEMBERS = (  # ours
    "The request is rejected because the current account has member accounts: "
    "disassociate and delete them before deleting its detector."
)
MANAGED_MEMBER = (  # ours
    "The request is rejected because the current account is a member through AWS Organizations: "
    "its delegated administrator must disassociate and delete it before it can delete its detector."
)
STILL_ASSOCIATED = (  # ours
    "The request is rejected because the given account ID is still associated: disassociate it first."
)
NOT_INVITABLE = (  # ours
    "The request is rejected because the given account ID is a member through AWS Organizations: "
    "organization members are not invited."
)
ORGANIZATION_MEMBER = (  # ours
    "The request is rejected because the current account is a member through AWS Organizations: "
    "only the delegated administrator can disassociate it."
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


def _unavailable_refused(region: str, names) -> None:
    for name in sorted(n for n in names if isinstance(n, str)):
        _require(available(region, name), UNAVAILABLE_MESSAGE.format(name))


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


def _enable_guardduty(backend: GuardDutyBackend, configuration: dict[str, Any]) -> None:
    """AWS: CreateMembers as delegated admin enables GuardDuty in the member and applies the
    organization's auto-enable features and agents (NEW or ALL -> ENABLED; NONE leaves them as
    they are) to new and existing members alike; features the Region does not offer are skipped."""
    features = []
    for name, feature in configuration["features"].items():
        if not available(backend.region_name, name):
            continue
        entry: dict[str, Any] = {"name": name}
        if feature["autoEnable"] != "NONE":
            entry["status"] = "ENABLED"
        agents = [
            {"name": a, "status": "ENABLED"} for a, auto in feature["additionalConfiguration"].items() if auto != "NONE"
        ]
        if agents:
            entry["additionalConfiguration"] = agents
        if len(entry) > 1:
            features.append(entry)
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

    def _member_json(self, member: dict[str, Any]) -> dict[str, str]:
        detectors = guardduty_backends[member["accountId"]][self.region].detectors
        result = {k: v for k, v in member.items() if k not in INTERNAL_KEYS}
        result.update(masterId=self.current_account, administratorId=self.current_account)
        if detectors:
            result["detectorId"] = next(iter(detectors))
        return result

    def _refuse_when_auto_enable_all(self, accounts: list[str]) -> None:
        """AWS refuses to disassociate or delete organization members while auto-enable is ALL;
        invitation-based members are not the organization's (a request naming only those passes)."""
        backend = self.guardduty_backend
        if backend.org_configuration["autoEnableOrganizationMembers"] != "ALL":
            return
        invited = lambda a: backend.org_members.get(a, {}).get("invited")  # noqa: E731
        _require(all(invited(a) for a in accounts), AUTO_ENABLE_ALL)

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

    def delete_detector(self) -> str:
        """An administrator can delete its detector only once it has no members (any
        relationship status): CAPABILITIES.md section 5, "The admin can disable its own
        detector only once it has no members". An organization member only once its delegated
        admin has deleted its member record: the user guide's "Deleting member accounts"
        (a deleted member is standalone and "can disable GuardDuty" itself; before that the
        administrator manages it). moto deletes regardless."""
        self._own_detector()
        _require(not self.guardduty_backend.org_members, HAS_MEMBERS)
        admin = _admin(self.region)
        record = admin and guardduty_backends[admin][self.region].org_members.get(self.current_account)
        _require(not record or record.get("invited"), MANAGED_MEMBER)
        self.guardduty_backend.delete_detector(self.path.split("/")[-1])
        return "{}"

    def create_members(self) -> str:
        self._own_detector()
        if _admin(self.region) != self.current_account:
            return self._create_invited_members()
        details = self._request().get("accountDetails") or []
        _require(1 <= len(details) <= MAX_ACCOUNTS)
        members, unprocessed = self.guardduty_backend.org_members, []
        for detail in details:
            account = detail.get("accountId")
            current, active = members.get(account, {}), scale.is_active(account)
            associated = _administrator_of(account, self.region) if active else None
            if account == self.current_account:
                unprocessed.append({"accountId": account, "result": SELF_MEMBER})
            elif not active:
                unprocessed.append({"accountId": account, "result": NOT_IN_ORGANIZATION})
            elif associated and associated[0] != self.current_account:
                unprocessed.append({"accountId": account, "result": OTHER_ADMINISTRATOR})
            elif current.get("relationshipStatus") == "Enabled" and not current.get("invited"):
                unprocessed.append({"accountId": account, "result": ALREADY_MEMBER})
            else:
                now = _now()
                if current.get("invited"):  # its own invitation-based member joins through the organization
                    _forget_invitation(self.current_account, account, self.region)
                members[account] = {
                    "accountId": account, "email": detail.get("email", ""), "relationshipStatus": "Enabled",
                    "invitedAt": current["invitedAt"] if current.get("invited") else now, "updatedAt": now,
                }
                _enable_guardduty(guardduty_backends[account][self.region], self.guardduty_backend.org_configuration)
        return json.dumps({"unprocessedAccounts": unprocessed})

    def _create_invited_members(self) -> str:
        """The invitation era: any account with a detector records other accounts as its
        members (relationship Created), each with its email (AccountDetail's Email is required
        there), except accounts a delegated admin manages through the organization and itself.
        Nothing reaches the account until InviteMembers."""
        details = self._request().get("accountDetails") or []
        _require(1 <= len(details) <= MAX_ACCOUNTS and all(d.get("accountId") and d.get("email") for d in details))
        members, admin, unprocessed = self.guardduty_backend.org_members, _admin(self.region), []
        for detail in details:
            account = detail["accountId"]
            managed = admin and guardduty_backends[admin][self.region].org_members.get(account)
            if account == self.current_account:
                unprocessed.append({"accountId": account, "result": SELF_MEMBER})
            elif managed and not managed.get("invited"):
                unprocessed.append({"accountId": account, "result": OTHER_ADMINISTRATOR})
            elif members.get(account, {}).get("relationshipStatus") == "Enabled":
                unprocessed.append({"accountId": account, "result": ALREADY_MEMBER})
            else:
                now = _now()
                members[account] = {
                    "accountId": account, "email": detail["email"], "relationshipStatus": "Created",
                    "invitedAt": now, "updatedAt": now, "invited": True, "invitationId": "",
                }
        return json.dumps({"unprocessedAccounts": unprocessed})

    def invite_members(self) -> str:
        """The invitation era: each account recorded by CreateMembers gets a pending invitation
        (relationship Invited; ListInvitations in the account shows it). Refused per account:
        one that is not the caller's member, an organization member, and one already associated
        with an administrator (this one or another: it must disassociate first)."""
        self._own_detector()
        members, unprocessed = self.guardduty_backend.org_members, []
        for account in self._account_ids():
            member = members.get(account)
            associated = _administrator_of(account, self.region)
            if member is None:
                unprocessed.append({"accountId": account, "result": NOT_MEMBER})
            elif not member.get("invited"):
                unprocessed.append({"accountId": account, "result": NOT_INVITABLE})
            elif associated and associated[0] == self.current_account:
                unprocessed.append({"accountId": account, "result": ALREADY_MEMBER})
            elif associated:
                unprocessed.append({"accountId": account, "result": OTHER_ADMINISTRATOR})
            else:
                now, invitation_id = _now(), os.urandom(16).hex()
                member.update(relationshipStatus="Invited", updatedAt=now, invitationId=invitation_id)
                guardduty_backends[account][self.region].invitations[self.current_account] = {
                    "accountId": self.current_account, "invitationId": invitation_id,
                    "relationshipStatus": "Invited", "invitedAt": now,
                }
        return json.dumps({"unprocessedAccounts": unprocessed})

    def list_members(self) -> str:
        """Pages of at most 50 in account-id order; nextToken is the next page's first account."""
        self._own_detector()
        query = self._query()
        limit = query.get("maxResults", str(MAX_ACCOUNTS))
        _require(limit.isdigit() and 1 <= int(limit) <= MAX_ACCOUNTS)
        only_associated = query.get("onlyAssociated", "true").lower() != "false"
        size = huge_page or int(limit)  # the fault odd_answers: pages larger than asked for
        rows = self.guardduty_backend.org_members.page(
            query.get("nextToken", ""), lambda m: m["relationshipStatus"] in ASSOCIATED or not only_associated, size,
        )
        result: dict[str, Any] = {"members": [self._member_json(m) for m in rows[:size]]}
        if len(rows) > size:
            result["nextToken"] = rows[size]["accountId"]
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
                "features": detector.features_json(PROTECTION_PLANS),
            })
        return json.dumps({"members": configurations, "unprocessedAccounts": unprocessed})

    def update_member_detectors(self) -> str:
        """The administrator sets its associated members' detector features, with
        Create/UpdateDetector's rules (both runtime features in one request refused)."""
        self._own_detector()
        request = self._request()
        features, data_sources = request.get("features"), request.get("dataSources")
        check_features(self.region, features, data_sources)
        unprocessed = []
        for account in self._account_ids():
            member = self.guardduty_backend.org_members.get(account)
            backend = guardduty_backends[account][self.region]
            if not member or member["relationshipStatus"] not in ASSOCIATED or not backend.detectors:
                unprocessed.append({"accountId": account, "result": NOT_ASSOCIATED if backend.detectors else NO_DETECTOR})
                continue
            backend.update_detector(next(iter(backend.detectors)), None, None, data_sources, features)
        return json.dumps({"unprocessedAccounts": unprocessed})

    def disassociate_members(self) -> str:
        """Any administrator, of its own members. An invitation-based member's pending
        invitation from this administrator is withdrawn too (our reading)."""
        self._own_detector()
        accounts = self._account_ids()
        self._refuse_when_auto_enable_all(accounts)
        members, unprocessed = self.guardduty_backend.org_members, []
        for account in accounts:
            if account in members:
                members[account].update(relationshipStatus="Removed", updatedAt=_now())
                if members[account].get("invited"):
                    _forget_invitation(self.current_account, account, self.region)
            else:
                unprocessed.append({"accountId": account, "result": NOT_MEMBER})
        return json.dumps({"unprocessedAccounts": unprocessed})

    def delete_members(self) -> str:
        """Any administrator, of its own members; as disassociate_members, and the record goes.
        An organization member still Enabled is refused (unprocessed): the user guide's
        "Deleting member accounts" deletes only disassociated members (our reading)."""
        self._own_detector()
        accounts = self._account_ids()
        self._refuse_when_auto_enable_all(accounts)
        members, unprocessed = self.guardduty_backend.org_members, []
        for account in accounts:
            current = members.get(account)
            if current and not current.get("invited") and current["relationshipStatus"] == "Enabled":
                unprocessed.append({"accountId": account, "result": STILL_ASSOCIATED})
                continue
            member = members.pop(account, None)
            if member is None:
                unprocessed.append({"accountId": account, "result": NOT_MEMBER})
            elif member.get("invited"):
                _forget_invitation(self.current_account, account, self.region)
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

    def _administrator(self) -> dict[str, str] | None:
        associated = _administrator_of(self.current_account, self.region)
        if associated is None:
            return None
        administrator, member = associated
        result = {"accountId": administrator, "relationshipStatus": "Enabled", "invitedAt": member["invitedAt"]}
        if member.get("invitationId"):
            result["invitationId"] = member["invitationId"]
        return result

    def get_administrator_account(self) -> str:
        """moto answers with PascalCase keys and any designated admin; AWS names the administrator
        (the organization's, or an invitation-based one) only to an associated member, and answers
        {} to the admin itself, to an account with a pending invitation only, and to anyone else."""
        self._own_detector()
        administrator = self._administrator()
        return json.dumps({"administrator": administrator}) if administrator else "{}"

    def get_master_account(self) -> str:
        """The deprecated name of GetAdministratorAccount, answering {"master": ...}."""
        self._own_detector()
        administrator = self._administrator()
        return json.dumps({"master": administrator}) if administrator else "{}"

    # ---- the invited account's side ---------------------------------------------------

    def list_invitations(self) -> str:
        """Pending invitations to the current account, in inviter order; pages of at most 50,
        nextToken naming the next page's first inviter. No detector is needed."""
        query = self._query()
        limit = query.get("maxResults", str(MAX_ACCOUNTS))
        _require(limit.isdigit() and 1 <= int(limit) <= MAX_ACCOUNTS)
        token = query.get("nextToken", "")
        rows = [i for a, i in sorted(self.guardduty_backend.invitations.items()) if a >= token]
        result: dict[str, Any] = {"invitations": [dict(i) for i in rows[: int(limit)]]}
        if len(rows) > int(limit):
            result["nextToken"] = rows[int(limit)]["accountId"]
        return json.dumps(result)

    def get_invitations_count(self) -> str:
        """AWS: every invitation to the account except the accepted one, i.e. the pending ones."""
        return json.dumps({"invitationsCount": len(self.guardduty_backend.invitations)})

    def _end_invitations(self) -> str:
        invitations, unprocessed = self.guardduty_backend.invitations, []
        for inviter in self._account_ids():
            if invitations.pop(inviter, None) is None:
                unprocessed.append({"accountId": inviter, "result": NO_INVITATION})
                continue
            member = guardduty_backends[inviter][self.region].org_members.get(self.current_account)
            if member and member.get("invited") and member["relationshipStatus"] == "Invited":
                member.update(relationshipStatus="Removed", updatedAt=_now())
        return json.dumps({"unprocessedAccounts": unprocessed})

    def decline_invitations(self) -> str:
        """accountIds: the inviters whose pending invitations the account declines."""
        return self._end_invitations()

    def delete_invitations(self) -> str:
        """As DeclineInvitations here: the pending invitations go."""
        return self._end_invitations()

    def _accept(self, administrator: str | None, invitation_id: str | None) -> str:
        self._own_detector()
        invitation = self.guardduty_backend.invitations.get(administrator or "")
        member = None
        if invitation:
            member = guardduty_backends[administrator][self.region].org_members.get(self.current_account)
        _require(
            invitation and invitation["invitationId"] == invitation_id and member and member.get("invited"),
            BAD_INVITATION,
        )
        _require(_administrator_of(self.current_account, self.region) is None, ALREADY_ASSOCIATED)
        del self.guardduty_backend.invitations[administrator]
        member.update(relationshipStatus="Enabled", updatedAt=_now())
        self.guardduty_backend.administrator_id = administrator
        return "{}"

    def accept_administrator_invitation(self) -> str:
        request = self._request()
        return self._accept(request.get("administratorId"), request.get("invitationId"))

    def accept_invitation(self) -> str:
        """The deprecated name of AcceptAdministratorInvitation (masterId for administratorId)."""
        request = self._request()
        return self._accept(request.get("masterId"), request.get("invitationId"))

    def disassociate_from_administrator_account(self) -> str:
        """The account leaves its invitation-based administrator, whose record of it becomes
        "Removed"; GetAdministratorAccount then answers {}."""
        self._own_detector()
        associated = _administrator_of(self.current_account, self.region)
        _require(associated, NO_ADMINISTRATOR)
        administrator, member = associated
        _require(member.get("invited"), ORGANIZATION_MEMBER)
        member.update(relationshipStatus="Removed", updatedAt=_now())
        self.guardduty_backend.administrator_id = None
        return "{}"

    def disassociate_from_master_account(self) -> str:
        """The deprecated name of DisassociateFromAdministratorAccount."""
        return self.disassociate_from_administrator_account()


def install() -> None:
    """Before the server builds its Flask app: routes into moto's url map, handlers onto the response."""
    GuardDutyBackend.__init__ = _backend_init
    for route in ROUTES:
        urls.url_paths["{0}" + route + "$"] = GuardDutyResponse.dispatch
    for name, function in vars(OrganizationHandlers).items():
        if not name.startswith("__"):
            setattr(GuardDutyResponse, name, function)


def _undesignate(account: str, region: str) -> None:
    """The account stops being the Region's delegated admin: its organization members and
    configuration go; its invitation-based members stay (they never depended on Organizations)."""
    admins = guardduty_backends[MANAGEMENT][region].admin_account_ids
    if account in admins:
        admins.remove(account)
    backend = guardduty_backends[account][region]
    backend.org_members = scale.MemberRecords((a, m) for a, m in backend.org_members.items() if m.get("invited"))
    backend.org_configuration = _default_configuration()


def make_legacy_member(account: str, region: str, administrator: str, status: str) -> None:
    """Drift "legacy_administrator": the account becomes an invitation-based member of the
    administrator in the Region (any account; a designated admin's invitation-based members are
    marked the same way). The administrator gets a detector if it has none (SIX_HOURS, enabled).
    "Enabled": the invitation was accepted; the account gets a detector too if it has none, and
    must not be associated with another administrator (ValueError). "Invited": a pending
    invitation, listed by ListInvitations in the account; it may be associated elsewhere."""
    if status not in ("Enabled", "Invited"):
        raise ValueError('status: "Enabled" or "Invited"')
    if account == administrator or not (len(account) == len(administrator) == 12):
        raise ValueError("account and administrator: two different 12-digit account ids")
    admin_backend, member_backend = guardduty_backends[administrator][region], guardduty_backends[account][region]
    associated = _administrator_of(account, region)
    if status == "Enabled" and associated and associated[0] != administrator:
        raise ValueError(
            f"{account} is associated with administrator {associated[0]} in {region}; disassociate it first"
        )
    for backend in (admin_backend, member_backend) if status == "Enabled" else (admin_backend,):
        if not backend.detectors:
            backend.create_detector(True, "SIX_HOURS", None, {}, [])
    now, invitation_id = _now(), os.urandom(16).hex()
    admin_backend.org_members[account] = {
        "accountId": account, "email": _email(account), "relationshipStatus": status,
        "invitedAt": now, "updatedAt": now, "invited": True, "invitationId": invitation_id,
    }
    if status == "Invited":
        member_backend.invitations[administrator] = {
            "accountId": administrator, "invitationId": invitation_id,
            "relationshipStatus": "Invited", "invitedAt": now,
        }
        if member_backend.administrator_id == administrator:
            member_backend.administrator_id = None
    else:
        member_backend.invitations.pop(administrator, None)
        member_backend.administrator_id = administrator


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
