"""GuardDuty from the member account's side, which moto 5.2.5 lacks or answers too leniently:
its administrator, and the invitation-era ("legacy") relationships, per account and Region,
which predate Organizations (the state they keep: guardduty_org.py; the administrator's side,
CreateMembers and InviteMembers: guardduty_members.py).

- GetAdministratorAccount on a member names its administrator while associated, else {}.

An administrator (any account with a detector, designated or not) invites an account, which
accepts. Such relationships are made by the administrator's CreateMembers and InviteMembers,
or by the drift action legacy_administrator (make_legacy_member). Member-side APIs in the
invited account:
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
"""

import json
import os
from typing import Any

from moto.guardduty.models import guardduty_backends

from guardduty_org import MAX_ACCOUNTS, OrganizationRequest, _administrator_of, _email, _now, _require
from registry import DETECTOR

NO_INVITATION = "The request is rejected because there is no pending invitation from the given account ID."  # ours
BAD_INVITATION = (  # ours
    "The request is rejected because the given invitation ID is not a pending invitation from the given account ID."
)
ALREADY_ASSOCIATED = (  # ours
    "The request is rejected because the current account is already associated with an administrator account."
)
NO_ADMINISTRATOR = "The request is rejected because the current account has no administrator account."  # ours
ORGANIZATION_MEMBER = (  # ours
    "The request is rejected because the current account is a member through AWS Organizations: "
    "only the delegated administrator can disassociate it."
)
OPERATIONS = (
    ("GET", DETECTOR + "/administrator", "GetAdministratorAccount"),
    ("POST", DETECTOR + "/administrator", "AcceptAdministratorInvitation"),
    ("POST", DETECTOR + "/administrator/disassociate", "DisassociateFromAdministratorAccount"),
    ("GET", DETECTOR + "/master", "GetMasterAccount"),
    ("POST", DETECTOR + "/master", "AcceptInvitation"),
    ("POST", DETECTOR + "/master/disassociate", "DisassociateFromMasterAccount"),
    ("GET", "/invitation", "ListInvitations"),
    ("GET", "/invitation/count", "GetInvitationsCount"),
    ("POST", "/invitation/decline", "DeclineInvitations"),
    ("POST", "/invitation/delete", "DeleteInvitations"),
)


class InvitationHandlers(OrganizationRequest):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

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


def register(registry) -> None:
    registry.guardduty(OPERATIONS, InvitationHandlers)


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
