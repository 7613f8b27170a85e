"""Self-test of the emulator's fault injection, with boto3 as the client (botocore parses each
protocol's errors as the Rust SDK does): `.venv/emulator/bin/python tests/emulator/selftest.py`.
Starts scripts/emulator's launcher on a free port, checks every fault kind, then (organization())
features a Region does not offer, runtime-monitoring agents, invitation-era GuardDuty
relationships and accounts leaving and joining the organization mid-run, (external())
external ids and odd answers, and (selftest_network.py) seeded VPCs, flow logs, metric filters
and alarms, CloudWatch over Smithy RPC v2 CBOR; exits non-zero on the first mismatch. About 25
seconds.
"""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import botocore
from botocore.config import Config

import selftest_findings
import selftest_network

HERE = Path(__file__).resolve().parent
MEMBER = "100000000002"
MANAGEMENT = "123456789012"
M1, M2, M3, M4, M5 = (f"10000000000{i}" for i in range(1, 6))
ROLE = f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole"
NO_RETRY = Config(retries={"total_max_attempts": 1})
CALLS = {
    "guardduty": lambda c: c.list_detectors(),
    "events": lambda c: c.list_rules(),
    "sts": lambda c: c.get_caller_identity(),
    "iam": lambda c: c.list_roles(),
    "organizations": lambda c: c.describe_organization(),
    "sns": lambda c: c.list_topics(),
}
THROTTLED = {
    "guardduty": (429, "ThrottlingException"),
    "events": (400, "ThrottlingException"),
    "sts": (400, "Throttling"),
    "iam": (400, "Throttling"),
    "organizations": (400, "TooManyRequestsException"),
    "sns": (429, "Throttled"),
}
INTERNAL = {
    "guardduty": "InternalServerErrorException", "events": "InternalException", "sts": "InternalFailure",
    "iam": "ServiceFailure", "organizations": "ServiceException", "sns": "InternalError",
}


class Emulator:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(HERE / "emulator.py"), "--port", "0", "--accounts", "5", *args],
            stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        assert line.startswith("READY"), line
        self.endpoint = line.split()[1]
        self.external_ids: dict[str, str] = {}  # account (or "*": any member) -> the ExternalId credentials() sends

    def control(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.endpoint}/_orgguard/{path}", method="GET" if body is None else "POST",
            data=None if body is None else json.dumps(body).encode(),
        )
        return json.load(urllib.request.urlopen(request))

    def client(self, service: str, credentials: dict | None = None, region: str = "us-east-1"):
        keys = (
            {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
             "aws_session_token": credentials["SessionToken"]}
            if credentials else {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        )
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region, config=NO_RETRY, **keys)

    def credentials(self, account: str) -> dict | None:
        """A session in the account (None: the management account's static keys)."""
        if account == MANAGEMENT:
            return None
        role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        external_id = self.external_ids.get(account, self.external_ids.get("*"))
        return self.client("sts").assume_role(
            RoleArn=role, RoleSessionName="selftest", **({"ExternalId": external_id} if external_id else {}),
        )["Credentials"]

    def guardduty(self, account: str, region: str = "us-east-1"):
        return self.client("guardduty", self.credentials(account), region)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def outcome(emulator: Emulator, service: str, credentials: dict | None = None):
    """(status, code) of one call, ("ok", None), or ("io", exception name)."""
    try:
        CALLS[service](emulator.client(service, credentials))
        return "ok", None
    except botocore.exceptions.ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]
    except botocore.exceptions.HTTPClientError as error:
        return "io", type(error).__name__


CHECKS = [0]


def check(label: str, got, want) -> None:
    if got != want:
        raise SystemExit(f"FAIL {label}: got {got!r}, want {want!r}")
    CHECKS[0] += 1
    print(f"ok   {label}: {got}")


def error_of(call) -> tuple:
    """(status, code, message) of a call that must fail."""
    try:
        call()
    except botocore.exceptions.ClientError as error:
        return (
            error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"],
            error.response["Error"]["Message"],
        )
    raise SystemExit("FAIL a call that must fail succeeded")


def control_error(emulator: Emulator, path: str, body: dict) -> int:
    try:
        emulator.control(path, body)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def feature_names(detector: dict) -> list[str]:
    return sorted(f["Name"] for f in detector["Features"])


def agents(features: list[dict], name: str) -> dict[str, str]:
    feature = next(f for f in features if f["Name"] == name)
    return {c["Name"]: c["Status"] for c in feature.get("AdditionalConfiguration", [])}


def detector_id(client) -> str:
    return client.list_detectors()["DetectorIds"][0]


def unavailable_features(emulator: Emulator) -> None:
    """--feature-unavailable: eu-west-1 offers neither RUNTIME_MONITORING nor EKS_AUDIT_LOGS."""
    check("state lists unavailable features", emulator.control("state")["features_unavailable"],
          {"eu-west-1": ["EKS_AUDIT_LOGS", "LAMBDA_NETWORK_LOGS", "RUNTIME_MONITORING"]})
    eu = emulator.guardduty(M1, "eu-west-1")
    status, code, message = error_of(lambda: eu.create_detector(
        Enable=True, Features=[{"Name": "RUNTIME_MONITORING", "Status": "ENABLED"}]))
    check("CreateDetector naming an unavailable feature", (status, code), (400, "BadRequestException"))
    check("its message", message, "The request is rejected because the feature RUNTIME_MONITORING is not available in this Region.")
    _, _, message = error_of(lambda: eu.create_detector(
        Enable=True, DataSources={"Kubernetes": {"AuditLogs": {"Enable": False}}}))
    check("CreateDetector naming an unavailable DataSource", "EKS_AUDIT_LOGS is not available" in message, True)
    eu.create_detector(Enable=True, Features=[{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}])
    detector = eu.get_detector(DetectorId=detector_id(eu))
    check("GetDetector leaves unavailable features out", feature_names(detector), [
        "CLOUD_TRAIL", "DNS_LOGS", "EBS_MALWARE_PROTECTION", "EKS_RUNTIME_MONITORING", "FLOW_LOGS",
        "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS",
    ])
    check("and their DataSources", ("Kubernetes" in detector["DataSources"], "S3Logs" in detector["DataSources"]), (False, True))
    status, code, _ = error_of(lambda: eu.update_detector(
        DetectorId=detector_id(eu), Features=[{"Name": "RUNTIME_MONITORING", "Status": "DISABLED"}]))
    check("UpdateDetector naming an unavailable feature", (status, code), (400, "BadRequestException"))
    us = emulator.guardduty(M1)
    us.create_detector(Enable=True)
    check("us-east-1 offers RUNTIME_MONITORING", "RUNTIME_MONITORING" in feature_names(us.get_detector(DetectorId=detector_id(us))), True)
    check("features_unavailable: bad feature refused", control_error(emulator, "faults", {"features_unavailable": ["NOPE@eu-west-1"]}), 400)
    check("features_unavailable: not FEATURE@REGION refused", control_error(emulator, "faults", {"features_unavailable": ["S3_DATA_EVENTS"]}), 400)


def runtime_agents(emulator: Emulator) -> None:
    """features[].additionalConfiguration on M2's us-east-1 detector."""
    gd = emulator.guardduty(M2)
    status, code, _ = error_of(lambda: gd.create_detector(Enable=True, Features=[{
        "Name": "EKS_RUNTIME_MONITORING", "Status": "ENABLED",
        "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}]}]))
    check("an agent EKS_RUNTIME_MONITORING does not have", (status, code), (400, "BadRequestException"))
    status, code, _ = error_of(lambda: gd.create_detector(Enable=True, Features=[{
        "Name": "S3_DATA_EVENTS", "Status": "ENABLED",
        "AdditionalConfiguration": [{"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"}]}]))
    check("additionalConfiguration on S3_DATA_EVENTS", (status, code), (400, "BadRequestException"))
    gd.create_detector(Enable=True, Features=[{
        "Name": "RUNTIME_MONITORING", "Status": "ENABLED",
        "AdditionalConfiguration": [{"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"}]}])
    did = detector_id(gd)
    features = gd.get_detector(DetectorId=did)["Features"]
    check("GetDetector: every RUNTIME_MONITORING agent", agents(features, "RUNTIME_MONITORING"), {
        "EKS_ADDON_MANAGEMENT": "ENABLED", "ECS_FARGATE_AGENT_MANAGEMENT": "DISABLED", "EC2_AGENT_MANAGEMENT": "DISABLED"})
    check("GetDetector: EKS_RUNTIME_MONITORING's agent", agents(features, "EKS_RUNTIME_MONITORING"), {"EKS_ADDON_MANAGEMENT": "DISABLED"})
    check("agents carry updatedAt", all("UpdatedAt" in c for c in next(
        f for f in features if f["Name"] == "RUNTIME_MONITORING")["AdditionalConfiguration"]), True)
    check("no agents on other features", "AdditionalConfiguration" in next(f for f in features if f["Name"] == "S3_DATA_EVENTS"), False)
    gd.update_detector(DetectorId=did, Features=[{
        "Name": "RUNTIME_MONITORING", "AdditionalConfiguration": [{"Name": "EC2_AGENT_MANAGEMENT", "Status": "ENABLED"}]}])
    features = gd.get_detector(DetectorId=did)["Features"]
    check("UpdateDetector changes only the agents named", agents(features, "RUNTIME_MONITORING"), {
        "EKS_ADDON_MANAGEMENT": "ENABLED", "ECS_FARGATE_AGENT_MANAGEMENT": "DISABLED", "EC2_AGENT_MANAGEMENT": "ENABLED"})
    check("a feature entry without status keeps the feature's",
          next(f["Status"] for f in features if f["Name"] == "RUNTIME_MONITORING"), "ENABLED")
    emulator.control("drift", {"action": "agent_off", "account": M2, "region": "us-east-1",
                               "feature": "RUNTIME_MONITORING", "agent": "EC2_AGENT_MANAGEMENT"})
    check("drift agent_off", agents(gd.get_detector(DetectorId=did)["Features"], "RUNTIME_MONITORING")["EC2_AGENT_MANAGEMENT"], "DISABLED")
    check("state shows agents", emulator.control("state")["detectors"][M2]["us-east-1"][0]["additional_configuration"]["RUNTIME_MONITORING"],
          {"EKS_ADDON_MANAGEMENT": "ENABLED", "ECS_FARGATE_AGENT_MANAGEMENT": "DISABLED", "EC2_AGENT_MANAGEMENT": "DISABLED"})
    check("agent_off: unknown agent refused", control_error(emulator, "drift", {
        "action": "agent_off", "account": M2, "region": "us-east-1", "feature": "S3_DATA_EVENTS", "agent": "X"}), 400)


def organization_auto_enable(emulator: Emulator) -> None:
    """M1 is the delegated admin in us-east-1, eu-west-1 and ap-southeast-2; CreateMembers
    applies the organization's features and agents that the Region offers."""
    management = emulator.client("guardduty")
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        emulator.client("guardduty", region=region).enable_organization_admin_account(AdminAccountId=M1)
    admin = emulator.guardduty(M1)
    aid = detector_id(admin)
    admin.update_organization_configuration(DetectorId=aid, AutoEnableOrganizationMembers="ALL", Features=[{
        "Name": "RUNTIME_MONITORING", "AutoEnable": "ALL",
        "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "AutoEnable": "ALL"}]}])
    check("CreateMembers", admin.create_members(DetectorId=aid, AccountDetails=[
        {"AccountId": M3, "Email": "m3@example.com"}])["UnprocessedAccounts"], [])
    m3 = emulator.guardduty(M3)
    features = m3.get_detector(DetectorId=detector_id(m3))["Features"]
    check("auto-enable: the feature", next(f["Status"] for f in features if f["Name"] == "RUNTIME_MONITORING"), "ENABLED")
    check("auto-enable: the agents", agents(features, "RUNTIME_MONITORING"), {
        "EKS_ADDON_MANAGEMENT": "DISABLED", "ECS_FARGATE_AGENT_MANAGEMENT": "ENABLED", "EC2_AGENT_MANAGEMENT": "DISABLED"})
    members = admin.get_member_detectors(DetectorId=aid, AccountIds=[M3])["MemberDataSourceConfigurations"]
    check("GetMemberDetectors: agents", agents(members[0]["Features"], "RUNTIME_MONITORING")["ECS_FARGATE_AGENT_MANAGEMENT"], "ENABLED")
    del management

    eu = emulator.guardduty(M1, "eu-west-1")
    eid = detector_id(eu)
    status, code, message = error_of(lambda: eu.update_organization_configuration(
        DetectorId=eid, AutoEnableOrganizationMembers="NEW", Features=[{"Name": "RUNTIME_MONITORING", "AutoEnable": "NEW"}]))
    check("UpdateOrganizationConfiguration naming an unavailable feature", (status, code), (400, "BadRequestException"))
    check("its message", message, "The request is rejected because the feature RUNTIME_MONITORING is not available in this Region.")
    eu.update_organization_configuration(DetectorId=eid, AutoEnableOrganizationMembers="NEW", Features=[
        {"Name": "S3_DATA_EVENTS", "AutoEnable": "NEW"}])
    described = eu.describe_organization_configuration(DetectorId=eid)
    check("DescribeOrganizationConfiguration leaves unavailable features out",
          sorted(f["Name"] for f in described["Features"]),
          ["EBS_MALWARE_PROTECTION", "EKS_RUNTIME_MONITORING", "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS"])
    check("and their DataSources", sorted(described["DataSources"]), ["MalwareProtection", "S3Logs"])
    eu.create_members(DetectorId=eid, AccountDetails=[{"AccountId": M3, "Email": "m3@example.com"}])
    members = eu.get_member_detectors(DetectorId=eid, AccountIds=[M3])["MemberDataSourceConfigurations"]
    check("GetMemberDetectors leaves unavailable features out", sorted(f["Name"] for f in members[0]["Features"]),
          ["EBS_MALWARE_PROTECTION", "EKS_RUNTIME_MONITORING", "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS"])

    # Configured while the Region offered it; then it stops: members' new detectors do not get it.
    ap = emulator.guardduty(M1, "ap-southeast-2")
    ap.create_detector(Enable=True)
    pid = detector_id(ap)
    ap.update_organization_configuration(DetectorId=pid, AutoEnableOrganizationMembers="ALL", Features=[
        {"Name": "RUNTIME_MONITORING", "AutoEnable": "ALL"}, {"Name": "S3_DATA_EVENTS", "AutoEnable": "ALL"}])
    emulator.control("faults", {"features_unavailable": {"ap-southeast-2": ["RUNTIME_MONITORING"]}})
    ap.create_members(DetectorId=pid, AccountDetails=[{"AccountId": M3, "Email": "m3@example.com"}])
    detector = emulator.control("state")["detectors"][M3]["ap-southeast-2"][0]
    check("auto-enable skips an unavailable feature", ("RUNTIME_MONITORING" in detector["features"], detector["features"]["S3_DATA_EVENTS"]),
          (False, "ENABLED"))


def legacy_relationships(emulator: Emulator) -> None:
    """Invitation-era relationships in us-east-1, where M1 is the delegated admin (ALL) and M3 its member."""
    region = "us-east-1"
    drift = lambda account, administrator, status: emulator.control("drift", {  # noqa: E731
        "action": "legacy_administrator", "account": account, "region": region, "administrator": administrator, "status": status})
    admin, aid = emulator.guardduty(M1), None
    aid = detector_id(admin)

    drift(M4, M5, "Enabled")
    m4, m5 = emulator.guardduty(M4), emulator.guardduty(M5)
    m4d, m5d = detector_id(m4), detector_id(m5)
    administrator = m4.get_administrator_account(DetectorId=m4d)["Administrator"]
    check("legacy Enabled: GetAdministratorAccount", (administrator["AccountId"], administrator["RelationshipStatus"],
                                                      bool(administrator.get("InvitationId"))), (M5, "Enabled", True))
    check("GetMasterAccount", m4.get_master_account(DetectorId=m4d)["Master"]["AccountId"], M5)
    check("the administrator's ListMembers", [(m["AccountId"], m["RelationshipStatus"]) for m in m5.list_members(DetectorId=m5d)["Members"]],
          [(M4, "Enabled")])
    result = admin.create_members(DetectorId=aid, AccountDetails=[{"AccountId": M4, "Email": "m4@example.com"}])["UnprocessedAccounts"]
    check("CreateMembers of another administrator's member", [(u["AccountId"], "another administrator" in u["Result"]) for u in result],
          [(M4, True)])
    org = emulator.control("guardduty-org")[region]
    check("guardduty-org: invited_members", org["invited_members"][M4], {"administrator": M5, "status": "Enabled"})
    check("guardduty-org: not the admin's member", M4 in org["members"], False)
    check("drift Enabled while associated elsewhere refused", control_error(emulator, "drift", {
        "action": "legacy_administrator", "account": M4, "region": region, "administrator": MANAGEMENT, "status": "Enabled"}), 400)

    m4.disassociate_from_administrator_account(DetectorId=m4d)
    check("DisassociateFromAdministratorAccount: the administrator's record",
          m5.get_members(DetectorId=m5d, AccountIds=[M4])["Members"][0]["RelationshipStatus"], "Removed")
    check("then GetAdministratorAccount", "Administrator" in m4.get_administrator_account(DetectorId=m4d), False)
    check("and the default ListMembers", m5.list_members(DetectorId=m5d)["Members"], [])
    check("CreateMembers once it left", admin.create_members(DetectorId=aid, AccountDetails=[
        {"AccountId": M4, "Email": "m4@example.com"}])["UnprocessedAccounts"], [])
    check("now the admin's member", m4.get_administrator_account(DetectorId=m4d)["Administrator"]["AccountId"], M1)
    status, code, _ = error_of(lambda: m4.disassociate_from_administrator_account(DetectorId=m4d))
    check("an organization member cannot leave by itself", (status, code), (400, "BadRequestException"))

    # A pending invitation from the management account to M2 (which has a detector).
    drift(M2, MANAGEMENT, "Invited")
    m2 = emulator.guardduty(M2)
    m2d = detector_id(m2)
    invitations = m2.list_invitations()["Invitations"]
    check("ListInvitations", [(i["AccountId"], i["RelationshipStatus"], bool(i["InvitationId"]), bool(i["InvitedAt"]))
                              for i in invitations], [(MANAGEMENT, "Invited", True, True)])
    check("GetInvitationsCount", m2.get_invitations_count()["InvitationsCount"], 1)
    check("a pending invitation is no administrator", "Administrator" in m2.get_administrator_account(DetectorId=m2d), False)
    management = emulator.client("guardduty")
    md = detector_id(management)
    check("the inviter's ListMembers (all)", [(m["AccountId"], m["RelationshipStatus"]) for m in management.list_members(
        DetectorId=md, OnlyAssociated="false")["Members"]], [(M2, "Invited")])
    check("guardduty-org: invitations", emulator.control("guardduty-org")[region]["invitations"], {M2: [MANAGEMENT]})
    status, code, _ = error_of(lambda: m2.accept_administrator_invitation(DetectorId=m2d, AdministratorId=MANAGEMENT, InvitationId="nope"))
    check("AcceptAdministratorInvitation with a wrong id", (status, code), (400, "BadRequestException"))
    m2.accept_administrator_invitation(DetectorId=m2d, AdministratorId=MANAGEMENT, InvitationId=invitations[0]["InvitationId"])
    check("accepted: GetAdministratorAccount", m2.get_administrator_account(DetectorId=m2d)["Administrator"]["AccountId"], MANAGEMENT)
    check("accepted: no pending invitation", m2.get_invitations_count()["InvitationsCount"], 0)
    check("a non-designated administrator deletes its member", management.delete_members(
        DetectorId=md, AccountIds=[M2])["UnprocessedAccounts"], [])
    check("deleted: GetAdministratorAccount", "Administrator" in m2.get_administrator_account(DetectorId=m2d), False)

    drift(M2, M5, "Invited")
    check("DeclineInvitations", m2.decline_invitations(AccountIds=[M5])["UnprocessedAccounts"], [])
    check("declined: count", m2.get_invitations_count()["InvitationsCount"], 0)
    check("declined: the inviter's record", m5.get_members(DetectorId=m5d, AccountIds=[M2])["Members"][0]["RelationshipStatus"], "Removed")
    check("DeclineInvitations without an invitation", [u["AccountId"] for u in m2.decline_invitations(AccountIds=[M5])["UnprocessedAccounts"]], [M5])
    drift(M2, M3, "Invited")
    check("DeleteInvitations", m2.delete_invitations(AccountIds=[M3])["UnprocessedAccounts"], [])
    check("deleted invitations", m2.list_invitations()["Invitations"], [])

    # The delegated admin's own invitation-based members.
    drift(M5, M1, "Invited")
    check("admin's invitation-based member", [(m["AccountId"], m["RelationshipStatus"]) for m in admin.get_members(
        DetectorId=aid, AccountIds=[M5])["Members"]], [(M5, "Invited")])
    check("guardduty-org: invited_members of the admin", emulator.control("guardduty-org")[region]["invited_members"][M5],
          {"administrator": M1, "status": "Invited"})
    check("CreateMembers makes it an organization member", admin.create_members(DetectorId=aid, AccountDetails=[
        {"AccountId": M5, "Email": "m5@example.com"}])["UnprocessedAccounts"], [])
    org = emulator.control("guardduty-org")[region]
    check("organization member now", (org["members"][M5], M5 in org["invited_members"], M5 in org["invitations"]), ("Enabled", False, False))
    check("its administrator", m5.get_administrator_account(DetectorId=m5d)["Administrator"]["AccountId"], M1)

    drift(MANAGEMENT, M1, "Enabled")
    check("admin's invitation-based member, Enabled", admin.get_members(DetectorId=aid, AccountIds=[MANAGEMENT])["Members"][0]["RelationshipStatus"], "Enabled")
    check("DisassociateMembers of it under auto-enable ALL", admin.disassociate_members(
        DetectorId=aid, AccountIds=[MANAGEMENT])["UnprocessedAccounts"], [])
    check("its record", admin.get_members(DetectorId=aid, AccountIds=[MANAGEMENT])["Members"][0]["RelationshipStatus"], "Removed")
    status, code, _ = error_of(lambda: admin.disassociate_members(DetectorId=aid, AccountIds=[M3]))
    check("an organization member under ALL still refused", (status, code), (400, "BadRequestException"))
    operations = {r["operation"] for r in emulator.control("counts")["requests"] if r["service"] == "guardduty"}
    check("member-side operations counted by name", sorted({
        "ListInvitations", "GetInvitationsCount", "DeclineInvitations", "DeleteInvitations", "GetMasterAccount",
        "AcceptAdministratorInvitation", "DisassociateFromAdministratorAccount", "GetAdministratorAccount",
    } - operations), [])
    check("bad status refused", control_error(emulator, "drift", {
        "action": "legacy_administrator", "account": M2, "region": region, "administrator": M5, "status": "Removed"}), 400)


def membership_api(emulator: Emulator) -> None:
    """The invitation era through the public API alone (CreateMembers by any detector owner,
    InviteMembers, accepting), its refusals, and the refusals a teardown meets."""
    region = "eu-central-1"
    inviter, invitee, other = M3, M4, M1
    gi, ge, go = (emulator.guardduty(a, region) for a in (inviter, invitee, other))
    gid, ged, god = (c.create_detector(Enable=True)["DetectorId"] for c in (gi, ge, go))
    details = [{"AccountId": invitee, "Email": "m4@example.com"}]
    check("CreateMembers by any detector owner", gi.create_members(DetectorId=gid, AccountDetails=details)["UnprocessedAccounts"], [])
    status = lambda c, d: [m["RelationshipStatus"] for m in c.get_members(DetectorId=d, AccountIds=[invitee])["Members"]]  # noqa: E731
    check("created, not invited", (status(gi, gid), ge.get_invitations_count()["InvitationsCount"]), (["Created"], 0))
    check("InviteMembers", gi.invite_members(DetectorId=gid, AccountIds=[invitee])["UnprocessedAccounts"], [])
    check("invited", status(gi, gid), ["Invited"])
    go.create_members(DetectorId=god, AccountDetails=details)
    check("a second inviter", go.invite_members(DetectorId=god, AccountIds=[invitee])["UnprocessedAccounts"], [])
    pending = {i["AccountId"]: i["InvitationId"] for i in ge.list_invitations()["Invitations"]}
    check("ListInvitations in the invited account", sorted(pending), sorted([inviter, other]))
    gi.invite_members(DetectorId=gid, AccountIds=[invitee])
    stale = error_of(lambda: ge.accept_administrator_invitation(DetectorId=ged, AdministratorId=inviter, InvitationId=pending[inviter]))
    check("a stale invitation is refused", stale[:2], (400, "BadRequestException"))
    fresh = {i["AccountId"]: i["InvitationId"] for i in ge.list_invitations()["Invitations"]}[inviter]
    ge.accept_administrator_invitation(DetectorId=ged, AdministratorId=inviter, InvitationId=fresh)
    check("accepted", (status(gi, gid), ge.get_administrator_account(DetectorId=ged)["Administrator"]["AccountId"]), (["Enabled"], inviter))
    check("the other invitation still pending", ge.get_invitations_count()["InvitationsCount"], 1)
    refused = go.invite_members(DetectorId=god, AccountIds=[invitee])["UnprocessedAccounts"]
    check("inviting a member of another administrator", [u["AccountId"] for u in refused], [invitee])
    check("CreateMembers of itself", [u["AccountId"] for u in gi.create_members(
        DetectorId=gid, AccountDetails=[{"AccountId": inviter, "Email": "x@example.com"}])["UnprocessedAccounts"]], [inviter])
    check("an administrator with members keeps its detector", error_of(lambda: gi.delete_detector(DetectorId=gid))[:2],
          (400, "BadRequestException"))
    gi.disassociate_members(DetectorId=gid, AccountIds=[invitee])
    gi.delete_members(DetectorId=gid, AccountIds=[invitee])
    gi.delete_detector(DetectorId=gid)
    check("deleted once it has none", gi.list_detectors()["DetectorIds"], [])
    iam = emulator.client("iam")
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="selftest", PolicyDocument=document)["Policy"]["Arn"]
    iam.create_role(RoleName="selftest", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.attach_role_policy(RoleName="selftest", PolicyArn=arn)
    check("DeletePolicy of an attached policy", error_of(lambda: iam.delete_policy(PolicyArn=arn))[1], "DeleteConflict")
    iam.detach_role_policy(RoleName="selftest", PolicyArn=arn)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
    check("DeletePolicy with older versions", error_of(lambda: iam.delete_policy(PolicyArn=arn))[1], "DeleteConflict")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    check("DeletePolicy once alone", [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]], [])


def suppression_rules(emulator: Emulator) -> None:
    """Filters as AWS keeps them: ranks are positions, deprecated condition names come back
    current, ListFilters pages, and only an administrator manages them."""
    region = "eu-north-1"
    gd = emulator.guardduty(M2, region)
    d = gd.create_detector(Enable=True)["DetectorId"]
    low = {"Criterion": {"severity": {"Lt": 4}}}
    gd.create_filter(DetectorId=d, Name="low", Action="ARCHIVE", Rank=1, FindingCriteria=low)
    gd.create_filter(DetectorId=d, Name="last", FindingCriteria={"Criterion": {"type": {"Equals": ["Recon:EC2/Portscan"]}}})
    gd.create_filter(DetectorId=d, Name="middle", Rank=2, FindingCriteria=low)
    names = lambda **page: gd.list_filters(DetectorId=d, **page)["FilterNames"]  # noqa: E731
    check("an insertion at a rank moves the rest down", names(), ["low", "middle", "last"])
    got = gd.get_filter(DetectorId=d, FilterName="low")
    check("deprecated condition names come back current", (got["Rank"], got["Action"], got["FindingCriteria"]["Criterion"]["severity"]),
          (1, "ARCHIVE", {"LessThan": 4}))
    check("a rank that leaves a gap", error_of(lambda: gd.create_filter(DetectorId=d, Name="gap", Rank=5, FindingCriteria=low))[1:],
          ("BadRequestException", "The request is rejected because the parameter rank is out-of-bounds."))
    first = gd.list_filters(DetectorId=d, MaxResults=2)
    check("ListFilters pages", (first["FilterNames"], names(NextToken=first["NextToken"])), (["low", "middle"], ["last"]))
    gd.update_filter(DetectorId=d, FilterName="last", Rank=1)
    check("UpdateFilter moves a rule", names(), ["last", "low", "middle"])
    gd.delete_filter(DetectorId=d, FilterName="low")
    check("DeleteFilter closes the gap", (names(), gd.get_filter(DetectorId=d, FilterName="middle")["Rank"]), (["last", "middle"], 2))
    gd.create_members(DetectorId=d, AccountDetails=[{"AccountId": M5, "Email": "m5@example.com"}])
    gd.invite_members(DetectorId=d, AccountIds=[M5])
    member = emulator.guardduty(M5, region)
    md = member.create_detector(Enable=True)["DetectorId"]
    invitation = member.list_invitations()["Invitations"][0]
    member.accept_administrator_invitation(DetectorId=md, AdministratorId=M2, InvitationId=invitation["InvitationId"])
    check("a member manages no filters", error_of(lambda: member.create_filter(DetectorId=md, Name="mine", FindingCriteria=low))[1],
          "BadRequestException")


def ip_lists(emulator: Emulator) -> None:
    """IP sets and threat intel sets: ACTIVATING, then ACTIVE if the file is in S3 or ERROR,
    the quotas of 1 and 6, pages, reactivation on update."""
    region = "ap-southeast-2"
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="orgguard-lists")
    s3.put_object(Bucket="orgguard-lists", Key="trusted.txt", Body=b"198.51.100.0/24\n")
    gd = emulator.guardduty(M2, region)
    d = gd.create_detector(Enable=True)["DetectorId"]
    trusted = gd.create_ip_set(DetectorId=d, Name="egress", Format="TXT", Location="s3://orgguard-lists/trusted.txt", Activate=True)["IpSetId"]
    status = lambda get: [get()["Status"] for _ in range(2)]  # noqa: E731
    check("an IP set activates once its file is read", status(lambda: gd.get_ip_set(DetectorId=d, IpSetId=trusted)), ["ACTIVATING", "ACTIVE"])
    second = lambda: gd.create_ip_set(DetectorId=d, Name="more", Format="TXT", Location="s3://orgguard-lists/trusted.txt", Activate=True)  # noqa: E731
    check("one IP set per account and region", error_of(second)[1], "BadRequestException")
    missing = gd.create_threat_intel_set(DetectorId=d, Name="bad", Format="STIX", Location="s3://orgguard-lists/missing.xml", Activate=True)
    threat = missing["ThreatIntelSetId"]
    check("a file GuardDuty cannot read ends in ERROR", status(lambda: gd.get_threat_intel_set(DetectorId=d, ThreatIntelSetId=threat)), ["ACTIVATING", "ERROR"])
    for n in range(5):
        gd.create_threat_intel_set(DetectorId=d, Name=f"t{n}", Format="TXT", Location="s3://orgguard-lists/trusted.txt", Activate=False)
    seventh = lambda: gd.create_threat_intel_set(DetectorId=d, Name="t7", Format="TXT", Location="s3://orgguard-lists/trusted.txt", Activate=True)  # noqa: E731
    check("six threat intel sets per account and region", error_of(seventh)[1], "BadRequestException")
    page = gd.list_threat_intel_sets(DetectorId=d, MaxResults=4)
    rest = gd.list_threat_intel_sets(DetectorId=d, NextToken=page["NextToken"])["ThreatIntelSetIds"]
    check("ListThreatIntelSets pages", (len(page["ThreatIntelSetIds"]), len(rest)), (4, 2))
    gd.update_threat_intel_set(DetectorId=d, ThreatIntelSetId=threat, Location="s3://orgguard-lists/trusted.txt", Activate=True)
    check("an update activates again", status(lambda: gd.get_threat_intel_set(DetectorId=d, ThreatIntelSetId=threat)), ["ACTIVATING", "ACTIVE"])
    gd.delete_ip_set(DetectorId=d, IpSetId=trusted)
    check("DeleteIPSet", gd.list_ip_sets(DetectorId=d)["IpSetIds"], [])


def publishing_destinations(emulator: Emulator) -> None:
    """Findings export: the bucket (and prefix object) must exist; PUBLISHING only when the
    bucket and key policies let GuardDuty write for the admin's detector."""
    region = "ca-central-1"
    gd = emulator.guardduty(M3, region)
    d = gd.create_detector(Enable=True)["DetectorId"]
    detector_arn = f"arn:aws:guardduty:{region}:{M3}:detector/{d}"
    s3, kms = emulator.client("s3"), emulator.client("kms", region=region)
    s3.create_bucket(Bucket="orgguard-findings")
    key_policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"},
                  "Action": "kms:GenerateDataKey", "Resource": "*",
                  "Condition": {"StringEquals": {"aws:SourceAccount": M3, "aws:SourceArn": detector_arn}}}]}
    key = kms.create_key(Policy=json.dumps(key_policy))["KeyMetadata"]["Arn"]
    properties = {"DestinationArn": "arn:aws:s3:::orgguard-findings/guardduty", "KmsKeyArn": key}
    create = lambda: gd.create_publishing_destination(DetectorId=d, DestinationType="S3", DestinationProperties=properties)  # noqa: E731
    check("a prefix needs its prefix/ object", error_of(create)[1], "BadRequestException")
    s3.put_object(Bucket="orgguard-findings", Key="guardduty/", Body=b"")
    destination = create()["DestinationId"]
    described = lambda: gd.describe_publishing_destination(DetectorId=d, DestinationId=destination)  # noqa: E731
    check("no bucket policy: unable to publish", described()["Status"], "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY")
    statements = [
        {"Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": "s3:GetBucketLocation",
         "Resource": "arn:aws:s3:::orgguard-findings", "Condition": {"StringEquals": {"aws:SourceAccount": M3}}},
        {"Effect": "Allow", "Principal": {"Service": "guardduty.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::orgguard-findings/guardduty/*", "Condition": {"ArnLike": {"aws:SourceArn": detector_arn}}},
    ]
    s3.put_bucket_policy(Bucket="orgguard-findings", Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    check("both policies allow the admin's detector: publishing", described()["Status"], "PUBLISHING")
    statements[1]["Condition"] = {"ArnLike": {"aws:SourceArn": f"arn:aws:guardduty:{region}:{M4}:detector/*"}}
    s3.put_bucket_policy(Bucket="orgguard-findings", Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    check("another account's detector only: unable to publish", described()["Status"], "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY")
    check("ListPublishingDestinations", [x["DestinationId"] for x in gd.list_publishing_destinations(DetectorId=d)["Destinations"]], [destination])
    gd.delete_publishing_destination(DetectorId=d, DestinationId=destination)
    check("DeletePublishingDestination", gd.list_publishing_destinations(DetectorId=d)["Destinations"], [])
    deny = lambda condition: {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::orgguard-findings/*", **condition}  # noqa: E731
    tls_only = {"Version": "2012-10-17", "Statement": [deny({"Condition": {"Bool": {"aws:SecureTransport": "false"}}})]}
    s3.put_bucket_policy(Bucket="orgguard-findings", Policy=json.dumps(tls_only))
    s3.put_object(Bucket="orgguard-findings", Key="guardduty/tls", Body=b"x")
    check("a TLS-only deny lets a request over TLS write", s3.head_object(Bucket="orgguard-findings", Key="guardduty/tls")["ContentLength"], 1)
    s3.put_bucket_policy(Bucket="orgguard-findings", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny({})]}))
    check("a deny without condition still refuses", error_of(lambda: s3.put_object(Bucket="orgguard-findings", Key="guardduty/no", Body=b"x"))[1], "403")


def coverage(emulator: Emulator) -> None:
    """Runtime Monitoring coverage: the administrator sees its members' resources, pages of
    at most 50, filters and sort as AWS has them; EKS only under EKS Runtime Monitoring."""
    region = "ap-south-1"
    gd = emulator.guardduty(M3, region)
    d = gd.create_detector(Enable=True, Features=[{"Name": "RUNTIME_MONITORING", "Status": "ENABLED"}])["DetectorId"]
    gd.create_members(DetectorId=d, AccountDetails=[{"AccountId": M4, "Email": "m4@example.com"}])
    gd.invite_members(DetectorId=d, AccountIds=[M4])
    member = emulator.guardduty(M4, region)
    md = member.create_detector(Enable=True, Features=[{"Name": "EKS_RUNTIME_MONITORING", "Status": "ENABLED"}])["DetectorId"]
    invitation = member.list_invitations()["Invitations"][0]
    member.accept_administrator_invitation(DetectorId=md, AdministratorId=M3, InvitationId=invitation["InvitationId"])
    emulator.control("coverage", {"account": M3, "region": region, "resources": [
        {"type": "EC2", "name": f"i-{n:04d}", "status": "HEALTHY"} for n in range(60)]})
    emulator.control("coverage", {"account": M4, "region": region, "resources": [
        {"type": "EKS", "name": "prod", "status": "UNHEALTHY", "issue": "Addon not installed"},
        {"type": "ECS", "name": "batch", "status": "HEALTHY"}]})
    first = gd.list_coverage(DetectorId=d)
    rest = gd.list_coverage(DetectorId=d, NextToken=first["NextToken"])
    check("ListCoverage pages of 50", (len(first["Resources"]), len(rest["Resources"]), "NextToken" in rest), (50, 11, False))
    unhealthy = gd.list_coverage(DetectorId=d, FilterCriteria={"FilterCriterion": [
        {"CriterionKey": "COVERAGE_STATUS", "FilterCondition": {"Equals": ["UNHEALTHY"]}}]})["Resources"]
    check("a member's unhealthy EKS cluster, with its issue (its ECS cluster is not under EKS Runtime Monitoring)",
          [(r["AccountId"], r["ResourceDetails"]["ResourceType"], r["ResourceId"], r["Issue"]) for r in unhealthy],
          [(M4, "EKS", "prod", "Addon not installed")])
    ordered = gd.list_coverage(DetectorId=d, SortCriteria={"AttributeName": "ACCOUNT_ID", "OrderBy": "DESC"}, MaxResults=1)
    check("sorted by account, descending", ordered["Resources"][0]["AccountId"], M4)
    statistics = gd.get_coverage_statistics(DetectorId=d, StatisticsType=["COUNT_BY_RESOURCE_TYPE", "COUNT_BY_COVERAGE_STATUS"])
    check("GetCoverageStatistics", statistics["CoverageStatistics"],
          {"CountByResourceType": {"EC2": 60, "EKS": 1}, "CountByCoverageStatus": {"HEALTHY": 60, "UNHEALTHY": 1}})
    check("the member sees only its own", [r["ResourceId"] for r in member.list_coverage(DetectorId=md)["Resources"]], ["prod"])
    check("an unknown criterion", error_of(lambda: gd.list_coverage(DetectorId=d, FilterCriteria={"FilterCriterion": [
        {"CriterionKey": "NOPE", "FilterCondition": {"Equals": ["x"]}}]}))[1], "BadRequestException")
    runtime = {"Name": "RUNTIME_MONITORING", "Status": "ENABLED"}
    both = [runtime, {"Name": "EKS_RUNTIME_MONITORING", "Status": "DISABLED"}]
    check("UpdateMemberDetectors refuses both runtime features",
          error_of(lambda: gd.update_member_detectors(DetectorId=d, AccountIds=[M4], Features=both))[1], "BadRequestException")
    check("UpdateMemberDetectors", gd.update_member_detectors(DetectorId=d, AccountIds=[M4], Features=[runtime])["UnprocessedAccounts"], [])
    features = {f["Name"]: f["Status"] for f in member.get_detector(DetectorId=md)["Features"]}
    check("the member's detector as the administrator set it", features["RUNTIME_MONITORING"], "ENABLED")


def chatbot(emulator: Emulator) -> None:
    """Slack channel configurations: an unauthorised workspace refused, one per channel, the
    default guardrail AdministratorAccess, served in Chatbot's four regions only."""
    bot = emulator.client("chatbot", emulator.credentials(M2), region="us-east-2")
    role, topic = f"arn:aws:iam::{M2}:role/chatbot", f"arn:aws:sns:eu-west-1:{M2}:alerts"
    create = lambda name, channel, **extra: bot.create_slack_channel_configuration(  # noqa: E731
        ConfigurationName=name, IamRoleArn=role, SlackTeamId="T0SELF", SlackChannelId=channel, SnsTopicArns=[topic], **extra)
    check("a workspace never authorised", error_of(lambda: create("alerts", "C1"))[1], "InvalidRequestException")
    emulator.control("slack-workspace", {"account": M2, "team_id": "T0SELF", "team_name": "selftest"})
    made = create("alerts", "C1")["ChannelConfiguration"]
    check("created, without a guardrail: AdministratorAccess", (made["ChatConfigurationArn"], made["GuardrailPolicyArns"]),
          (f"arn:aws:chatbot::{M2}:chat-configuration/slack-channel/alerts", ["arn:aws:iam::aws:policy/AdministratorAccess"]))
    check("one configuration per channel", error_of(lambda: create("other", "C1"))[1], "InvalidRequestException")
    check("a name outside the pattern", error_of(lambda: create("no spaces", "C2"))[1], "InvalidParameterException")
    bot.update_slack_channel_configuration(ChatConfigurationArn=made["ChatConfigurationArn"], SlackChannelId="C1", GuardrailPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    listed = bot.describe_slack_channel_configurations()["SlackChannelConfigurations"]
    check("described with the update", [(c["ConfigurationName"], c["GuardrailPolicyArns"]) for c in listed], [("alerts", ["arn:aws:iam::aws:policy/ReadOnlyAccess"])])
    elsewhere = emulator.client("chatbot", emulator.credentials(M2), region="eu-central-1")
    check("not served in eu-central-1", error_of(lambda: elsewhere.describe_slack_channel_configurations())[1], "InvalidRequestException")


def list_account_ids(emulator: Emulator, page: int = 20) -> list[str]:
    client, ids, token = emulator.client("organizations"), [], None
    while True:
        answer = client.list_accounts(MaxResults=page, **({"NextToken": token} if token else {}))
        ids += [a["Id"] for a in answer["Accounts"]]
        token = answer.get("NextToken")
        if not token:
            return ids


def leave_and_join(emulator: Emulator) -> None:
    """leave_after_requests and join_after_requests (after the others: M3 leaves)."""
    m3 = emulator.credentials(M3)
    emulator.control("faults", {"leave_after_requests": {M3: 2}})
    gd = emulator.client("guardduty", m3)
    gd.list_detectors()
    check("before the allowance is spent", M3 in list_account_ids(emulator), True)
    gd.list_detectors()
    check("left: ListAccounts", M3 in list_account_ids(emulator), False)
    status, code, _ = error_of(lambda: emulator.client("organizations").describe_account(AccountId=M3))
    check("left: DescribeAccount", code, "AccountNotFoundException")
    check("left: its GuardDuty membership", [M3 in emulator.control("guardduty-org")[r]["members"]
                                             for r in ("us-east-1", "eu-west-1")], [False, False])
    check("left: its calls still work", outcome(emulator, "guardduty", m3), ("ok", None))

    emulator.control("faults", {"join_after_requests": {"1": 2}})
    check("join pending", emulator.control("faults")["join_after_requests"], {"1": 2})
    client = emulator.client("organizations")
    first = client.list_accounts(MaxResults=2)  # the management request after which two accounts join
    ids = [a["Id"] for a in first["Accounts"]]
    token = first["NextToken"]
    accounts = []
    while token:
        answer = client.list_accounts(MaxResults=2, NextToken=token)
        accounts += answer["Accounts"]
        token = answer.get("NextToken")
    ids += [a["Id"] for a in accounts]
    check("joined: later pages list them", ids[-2:], ["100000000006", "100000000007"])
    joined = [a for a in accounts if a["Id"] == "100000000006"][0]
    check("joined: ACTIVE with an email", (joined["Status"], joined["Email"]), ("ACTIVE", "member-6@example.com"))
    credentials = emulator.credentials("100000000007")
    check("joined: role assumable", emulator.client("sts", credentials).get_caller_identity()["Account"], "100000000007")
    check("leave and join counted", {k: v for k, v in emulator.control("counts")["faults"].items() if k in ("leave", "join")},
          {"leave": 1, "join": 1})
    check("bad join refused", control_error(emulator, "faults", {"join_after_requests": {"0": 1}}), 400)
    check("the management account cannot leave", control_error(emulator, "faults", {"leave_after_requests": {MANAGEMENT: 1}}), 400)


def organization() -> None:
    emulator = Emulator(
        "--feature-unavailable", "RUNTIME_MONITORING@eu-west-1",
        "--feature-unavailable", "EKS_AUDIT_LOGS@eu-west-1,LAMBDA_NETWORK_LOGS@eu-west-1",
        "--leave-after", "5=1000", "--join-after", "1000=1",
    )
    try:
        pending = emulator.control("faults")
        check("--leave-after and --join-after pending", (pending["leave_after_requests"], pending["join_after_requests"]),
              ({M5: 1000}, {"1000": 1}))
        emulator.control("faults", {"reset": True})
        unavailable_features(emulator)
        runtime_agents(emulator)
        organization_auto_enable(emulator)
        legacy_relationships(emulator)
        membership_api(emulator)
        suppression_rules(emulator)
        ip_lists(emulator)
        publishing_destinations(emulator)
        coverage(emulator)
        selftest_findings.findings(emulator, sys.modules[__name__])
        selftest_findings.delivery(emulator, sys.modules[__name__])
        chatbot(emulator)
        leave_and_join(emulator)
    finally:
        emulator.stop()


def raw_answers(client) -> list[bytes]:
    """The raw bodies of the client's answers from now on, newest last."""
    bodies: list[bytes] = []
    client.meta.events.register("after-call", lambda http_response, **_: bodies.append(http_response.content))
    return bodies


def denied_message(caller: str, account: str) -> tuple:
    return (403, "AccessDenied", f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: "
                                 f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole")


def trust_condition(emulator: Emulator, account: str):
    iam = emulator.client("iam", emulator.credentials(account))
    statement = iam.get_role(RoleName="OrganizationAccountAccessRole")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    return statement.get("Condition")


def external_ids(emulator: Emulator) -> None:
    """--external-id abc-123 --external-id-for 2=other-id --role-missing 4."""
    sts = emulator.client("sts")
    user = f"arn:aws:iam::{MANAGEMENT}:user/moto"
    role = lambda account: f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"  # noqa: E731
    assume = lambda account, **extra: sts.assume_role(RoleArn=role(account), RoleSessionName="selftest", **extra)  # noqa: E731
    faults = emulator.control("faults")
    check("external ids in force; --odd-answers", (faults["external_id"], faults["external_id_for"], faults["odd_answers"]),
          ("abc-123", {M2: "other-id"}, True))
    check("AssumeRole without ExternalId", error_of(lambda: assume(M1)), denied_message(user, M1))
    check("AssumeRole with another ExternalId", error_of(lambda: assume(M1, ExternalId="abc-124")), denied_message(user, M1))
    credentials = assume(M1, ExternalId="abc-123")["Credentials"]
    check("AssumeRole with the ExternalId", emulator.client("sts", credentials).get_caller_identity()["Account"], M1)
    check("--external-id-for: the default is refused", error_of(lambda: assume(M2, ExternalId="abc-123")), denied_message(user, M2))
    check("--external-id-for: its own", assume(M2, ExternalId="other-id")["AssumedRoleUser"]["Arn"].split(":")[4], M2)
    check("the management account requires none", bool(assume(MANAGEMENT)["Credentials"]), True)
    session = f"arn:aws:sts::{M1}:assumed-role/OrganizationAccountAccessRole/selftest"
    check("denied caller named as its session", error_of(lambda: emulator.client("sts", credentials).assume_role(
        RoleArn=role(M3), RoleSessionName="selftest")), denied_message(session, M3))
    check("role_missing answers alike", error_of(lambda: assume(M4, ExternalId="abc-123")), denied_message(user, M4))
    emulator.external_ids = {"*": "abc-123", M2: "other-id"}
    check("trust policy shows it", trust_condition(emulator, M1), {"StringEquals": {"sts:ExternalId": "abc-123"}})
    check("trust policy shows the account's own", trust_condition(emulator, M2), {"StringEquals": {"sts:ExternalId": "other-id"}})

    emulator.control("faults", {"reset": True, "external_id_for": {M2: None}})
    emulator.external_ids = {"*": "abc-123"}
    check("reset keeps it; null takes the account's own away", (emulator.control("faults")["external_id"],
          trust_condition(emulator, M2)), ("abc-123", {"StringEquals": {"sts:ExternalId": "abc-123"}}))
    check("then the default applies", error_of(lambda: assume(M2, ExternalId="other-id"))[:2], (403, "AccessDenied"))
    emulator.control("faults", {"join_after_requests": {"1": 1}})
    emulator.client("organizations").describe_organization()
    check("a joining account requires it", (error_of(lambda: assume("100000000061"))[:2], trust_condition(emulator, "100000000061")),
          ((403, "AccessDenied"), {"StringEquals": {"sts:ExternalId": "abc-123"}}))
    emulator.control("faults", {"external_id": None})
    emulator.external_ids = {}
    check("external_id null: none required", bool(assume(M1)["Credentials"]), True)
    check("and the trust policy has no condition", trust_condition(emulator, M1), None)
    check("an ExternalId where none is required is ignored", bool(assume(M1, ExternalId="whatever")["Credentials"]), True)
    check("bad external id refused", control_error(emulator, "faults", {"external_id": "x"}), 400)
    check("external_id_for: bad account refused", control_error(emulator, "faults", {"external_id_for": {"12": "abc-123"}}), 400)
    counted = emulator.control("counts")["faults"]
    check("external id denials counted", (counted["external_id"], counted["role_denied"]), (6, 1))


def odd_answers(emulator: Emulator) -> None:
    """--odd-answers on the same emulator (60 members): each rewrite, as boto3 and raw bodies show it."""
    check("odd_answers on", emulator.control("faults", {"odd_answers": True})["odd_answers"], True)
    emulator.control("counts/reset", {})
    gd = emulator.guardduty(M5)
    check("ListDetectors, no detector", gd.list_detectors()["DetectorIds"], [])
    bodies = raw_answers(gd)
    created = gd.create_detector(Enable=True)
    check("CreateDetector answers without detectorId", ("DetectorId" in created, json.loads(bodies[-1])), (False, {}))
    listed = gd.list_detectors()
    check("the detector exists; one detector, one page", (len(listed["DetectorIds"]), "NextToken" in listed), (1, False))
    did = listed["DetectorIds"][0]
    detector = gd.get_detector(DetectorId=did)
    check("GetDetector: status and frequency", (detector["Status"], detector["FindingPublishingFrequency"]),
          ("SOMETHING_NEW", "TWO_HOURS"))
    check("GetDetector: a feature from the future", detector["Features"][-1], {"Name": "FUTURE_PROTECTION_2030", "Status": "ENABLED_SOMEHOW"})
    body = json.loads(bodies[-1])
    check("GetDetector: unknown keys", (body["orgguardFutureFlag2030"], sorted(body["orgguardFutureSettings2030"])),
          (True, ["levels", "mode"]))
    check("state keeps the truth", emulator.control("state")["detectors"][M5]["us-east-1"][0]["status"], "ENABLED")

    second = emulator.control("detector", {"account": M5, "region": "us-east-1", "another": True})["detectorId"]
    first = gd.list_detectors(MaxResults=50)
    then = gd.list_detectors(MaxResults=50, NextToken=first["NextToken"])
    check("ListDetectors: pages of one", (first["DetectorIds"], then["DetectorIds"], "NextToken" in then), ([did], [second], False))

    admin = emulator.guardduty(M1)
    emulator.client("guardduty").enable_organization_admin_account(AdminAccountId=M1)
    admin.create_detector(Enable=True)
    aid = detector_id(admin)
    accounts = [f"{100000000000 + i:012d}" for i in range(2, 61)]
    for chunk in (accounts[:50], accounts[50:]):
        admin.create_members(DetectorId=aid, AccountDetails=[{"AccountId": a, "Email": f"{a}@example.com"} for a in chunk])
    page = admin.list_members(DetectorId=aid)
    check("ListMembers: 59 members in one page (default maxResults 50)", (len(page["Members"]), "NextToken" in page), (59, False))
    page = admin.list_members(DetectorId=aid, MaxResults=2)
    check("ListMembers: MaxResults 2", len(page["Members"]), 59)
    status, code, _ = error_of(lambda: admin.list_members(DetectorId=aid, MaxResults=51))
    check("ListMembers: maxResults still checked", (status, code), (400, "BadRequestException"))

    organizations = emulator.client("organizations")
    bodies = raw_answers(organizations)
    accounts, token = [], None
    while True:
        answer = organizations.list_accounts(**({"NextToken": token} if token else {}))
        accounts += answer["Accounts"]
        token = answer.get("NextToken")
        if not token:
            break
    check("ListAccounts: the last page ends with odd accounts", [(a["Id"], a["Status"], a["JoinedMethod"]) for a in accounts[-2:]],
          [("999999999901", "PENDING_CLOSURE", "UNKNOWN_METHOD"), ("999999999902", "SOMETHING_ELSE", "UNKNOWN_METHOD")])
    check("ListAccounts: only there", [a["Id"] for a in accounts].count("999999999901"), 1)
    check("ListAccounts: State likewise", json.loads(bodies[-1])["Accounts"][-1]["State"], "SOMETHING_ELSE")

    sns = emulator.client("sns")
    topic = sns.create_topic(Name="odd")["TopicArn"]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    check("GetTopicAttributes: an unknown attribute", (attributes["OrgguardFutureAttribute2030"], attributes["TopicArn"]),
          ("SOMETHING_NEW", topic))
    events = emulator.client("events")
    bodies = raw_answers(events)
    events.put_rule(Name="odd", EventPattern='{"source": ["aws.guardduty"]}')
    rule = events.describe_rule(Name="odd")
    body = json.loads(bodies[-1])
    check("DescribeRule: valid, with unknown keys", (rule["State"], rule["Name"], body["OrgguardFutureFlag2030"],
                                                     "OrgguardFutureSettings2030" in body), ("ENABLED", "odd", True, True))

    rows = emulator.control("counts")["fault_requests"]
    odd: dict = {}
    for r in rows:
        if r["kind"] == "odd_answer":
            odd[(r["service"], r["operation"])] = odd.get((r["service"], r["operation"]), 0) + r["count"]
    check("odd answers counted", odd, {
        ("guardduty", "CreateDetector"): 2, ("guardduty", "GetDetector"): 1, ("guardduty", "ListDetectors"): 2,
        ("guardduty", "ListMembers"): 2, ("organizations", "ListAccounts"): 1, ("sns", "GetTopicAttributes"): 1,
        ("events", "DescribeRule"): 1,
    })
    check("bad odd_answers refused", control_error(emulator, "faults", {"odd_answers": "yes"}), 400)
    check("reset clears it", emulator.control("faults", {"reset": True})["odd_answers"], False)
    check("GetDetector as it is", gd.get_detector(DetectorId=did)["Status"], "ENABLED")
    check("ListMembers pages by maxResults again", len(admin.list_members(DetectorId=aid, MaxResults=2)["Members"]), 2)
    check("ListAccounts without odd accounts", "999999999901" in list_account_ids(emulator), False)


def external() -> None:
    emulator = Emulator("--accounts", "60", "--external-id", "abc-123", "--external-id-for", "2=other-id",
                        "--role-missing", "4", "--odd-answers")
    try:
        external_ids(emulator)
        odd_answers(emulator)
    finally:
        emulator.stop()


def main() -> None:
    emulator = Emulator("--seed", "1")
    try:
        for service in CALLS:
            check(f"no fault {service}", outcome(emulator, service), ("ok", None))
        events = emulator.client("events")
        finding = lambda severity: json.dumps({"id": "1", "account": MEMBER, "source": "aws.guardduty", "time": "2026-11-30T00:00:00Z",  # noqa: E731
                                               "region": "us-east-1", "resources": [], "detail-type": "GuardDuty Finding",
                                               "detail": {"accountId": MEMBER, "severity": severity}})
        high = json.dumps({"source": ["aws.guardduty"], "detail": {"severity": [{"numeric": [">=", 7]}]}})
        check("TestEventPattern: severity 8 and 2 against >= 7",
              [events.test_event_pattern(EventPattern=high, Event=finding(s))["Result"] for s in (8, 2)], [True, False])
        check("TestEventPattern: an event without its envelope", error_of(lambda: events.test_event_pattern(EventPattern=high, Event="{}"))[1],
              "ValidationException")
        emulator.control("faults", {"throttle": 1.0})
        for service, want in THROTTLED.items():
            check(f"throttle {service}", outcome(emulator, service), want)
        emulator.control("faults", {"reset": True, "server_errors": {"rate": 1.0, "statuses": [500]}})
        for service, code in INTERNAL.items():
            check(f"500 {service}", outcome(emulator, service), (500, code))
        emulator.control("faults", {"reset": True, "server_errors": {"rate": 1.0, "statuses": [503]}})
        for service in CALLS:
            check(f"503 {service}", outcome(emulator, service), (503, "ServiceUnavailable"))
        emulator.control("faults", {"reset": True, "denied": {"rate": 1.0, "services": ["guardduty", "sns"]}})
        check("denied guardduty, sns", [outcome(emulator, s) for s in ("guardduty", "sns")],
              [(403, "AccessDeniedException"), (403, "AuthorizationError")])
        emulator.control("faults", {"reset": True, "drop_rate": 1.0})
        check("drop", outcome(emulator, "sns"), ("io", "ConnectionClosedError"))
        emulator.control("faults", {"reset": True, "per_key_rps": {"sns": 2}, "per_key_burst": {"sns": 2}})
        results = [outcome(emulator, "sns") for _ in range(3)]
        check("per_key_rps burst 2", results, [("ok", None), ("ok", None), (429, "Throttled")])
        emulator.control("faults", {"reset": True, "latency_ms": 200})
        started = time.monotonic()
        outcome(emulator, "sts")
        check("latency >= 200 ms", time.monotonic() - started >= 0.2, True)

        emulator.control("faults", {"reset": True, "session_seconds": 1})
        sts = emulator.client("sts")
        credentials = sts.assume_role(RoleArn=ROLE, RoleSessionName="selftest")["Credentials"]
        check("session issued for 1 s", round(credentials["Expiration"].timestamp() - time.time()), 1)
        check("fresh session", outcome(emulator, "guardduty", credentials), ("ok", None))
        time.sleep(1.2)
        check("expired session, JSON", outcome(emulator, "guardduty", credentials), (403, "ExpiredTokenException"))
        check("expired session, query", outcome(emulator, "sns", credentials), (403, "ExpiredToken"))

        emulator.control("faults", {"reset": True, "suspend_after_requests": {MEMBER: 1}})
        credentials = sts.assume_role(RoleArn=ROLE, RoleSessionName="selftest")["Credentials"]
        check("last call before suspension", outcome(emulator, "guardduty", credentials), ("ok", None))
        check("suspended account's session", outcome(emulator, "guardduty", credentials), (403, "AccessDeniedException"))
        try:
            sts.assume_role(RoleArn=ROLE, RoleSessionName="selftest")
            raise SystemExit("FAIL AssumeRole into a suspended account succeeded")
        except botocore.exceptions.ClientError as error:
            check("AssumeRole into a suspended account", error.response["Error"]["Code"], "AccessDenied")
        status = emulator.client("organizations").describe_account(AccountId=MEMBER)["Account"]["Status"]
        check("Organizations status", status, "SUSPENDED")

        counts = emulator.control("counts")
        check("faults counted", sorted(counts["faults"]), sorted([
            "throttle", "server_error", "denied", "drop", "per_key_rps", "latency", "expired_token", "suspend", "suspended",
        ]))
        check("faulted requests counted", counts["total"] >= sum(counts["faults"].values()) - counts["faults"]["latency"], True)
        try:
            emulator.control("faults", {"throttle": 2})
            raise SystemExit("FAIL a rate of 2 was accepted")
        except urllib.error.HTTPError as error:
            check("bad fault refused", error.code, 400)
    finally:
        emulator.stop()

    # Reproducible: the same seed throttles the same requests.
    patterns = []
    for _ in range(2):
        emulator = Emulator("--seed", "7", "--throttle-rate", "0.5")
        try:
            patterns.append([outcome(emulator, "events")[0] for _ in range(12)])
        finally:
            emulator.stop()
    check("same seed, same faults", patterns[0] == patterns[1] and "ok" in patterns[0] and 400 in patterns[0], True)
    organization()
    external()
    selftest_network.network(sys.modules[__name__])
    print(f"selftest passed: {CHECKS[0]} checks")


if __name__ == "__main__":
    main()
