"""GuardDuty's members, as their administrator manages them, which moto 5.2.5 lacks or accepts
too leniently (the state they keep: guardduty_org.py):

- CreateMembers (designated admin, 1-50 accounts): organization accounts become members
  with relationshipStatus "Enabled" and, as AWS documents, get GuardDuty enabled with the
  organization's auto-enable features (and agents, additionalConfiguration) that the Region
  offers; anything else goes to unprocessedAccounts: the admin itself, accounts outside the
  organization, members already Enabled, and accounts associated (Enabled) with another
  administrator by invitation (OTHER_ADMINISTRATOR, our wording).
- CreateMembers by the delegated admin for its own invitation-based member (Enabled or
  Invited) makes it an organization member (Enabled, invited flag cleared), as AWS does for
  existing members: our reading, AWS documents only that CreateMembers is the way back.
  CreateMembers by any other account with a detector, and InviteMembers, are the invitation
  era's (guardduty_invitations.py is the invited account's side).
- ListMembers pages by maxResults (1-50, default 50), or by huge_page (1000) while the fault
  odd_answers is on (odd_answers.py).
- ListMembers, GetMembers, GetMemberDetectors, DisassociateMembers, DeleteMembers: any account
  with a detector manages its own members (AWS's rule); auto-enable ALL refuses to
  disassociate or delete organization members, not invitation-based ones.
- UpdateMemberDetectors: an administrator sets its associated members' detector features,
  with Create/UpdateDetector's rules (both runtime features in one request refused).
- DeleteDetector: refused to an administrator with members, and to an organization member
  its delegated admin has not deleted.
"""

import json
import os
from typing import Any

from moto.guardduty.models import GuardDutyBackend, guardduty_backends

import scale
from guardduty_ext import PROTECTION_PLANS, available, check_features
from guardduty_org import (
    MAX_ACCOUNTS,
    NOT_IN_ORGANIZATION,
    OrganizationRequest,
    _admin,
    _administrator_of,
    _forget_invitation,
    _now,
    _require,
)
from registry import DETECTOR

# While the fault odd_answers is on (control.apply_faults sets it): ListMembers' page size,
# whatever maxResults (still validated, 1-50) asks for; None: maxResults.
huge_page: int | None = None
ASSOCIATED = ("Enabled", "Disabled")  # what ListMembers' onlyAssociated (default true) keeps
INTERNAL_KEYS = ("invited", "invitationId")  # member-record keys that are ours, not the wire's
OPERATIONS = (
    ("DELETE", DETECTOR, "DeleteDetector"),
    ("POST", DETECTOR + "/member", "CreateMembers"),
    ("POST", DETECTOR + "/member/get", "GetMembers"),
    ("POST", DETECTOR + "/member/detector/get", "GetMemberDetectors"),
    ("POST", DETECTOR + "/member/detector/update", "UpdateMemberDetectors"),
    ("GET", DETECTOR + "/member", "ListMembers"),
    ("POST", DETECTOR + "/member/disassociate", "DisassociateMembers"),
    ("POST", DETECTOR + "/member/delete", "DeleteMembers"),
    ("POST", DETECTOR + "/member/invite", "InviteMembers"),
)

# ALREADY_MEMBER and NOT_ASSOCIATED are AWS's words as users report them; the rest are ours.
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


class MemberHandlers(OrganizationRequest):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

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


def register(registry) -> None:
    registry.guardduty(OPERATIONS, MemberHandlers)
