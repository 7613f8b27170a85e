"""The orgguard emulator: moto in server mode, with an organization seeded and
AWS's behaviour added where moto is lenient.

It runs moto's WSGI dispatcher in-process behind a gate that
- attributes every request to (account, region, service, operation) and counts it (service:
  the signing name, so CloudWatch is "monitoring", CloudWatch Logs "logs"; region "global" for
  services outside REGIONAL_SERVICES: STS, IAM, Organizations, S3, Chatbot);
- refuses calls into regions an account has not enabled (UnrecognizedClientException, 403);
- refuses AssumeRole into accounts whose role cannot be assumed, or whose roles' trust
  requires an sts:ExternalId the call does not send (AccessDenied);
- serves a control API under /_orgguard/ for tests: request counts, backend state,
  and changes to the world (faults, hand-made drift);
- injects faults on demand (faults.py): latency, throttling at a rate or past per-key
  request rates, server errors, dropped connections, short sessions, mid-run suspensions,
  accounts leaving or joining the organization mid-run, odd answers (odd_answers.py);
- leaves GuardDuty features out of the Regions that do not offer them (features_unavailable);
- speaks CloudWatch's Smithy RPC v2 CBOR protocol, which the Rust SDK sends and moto does not
  (rpcv2_cbor.py), and keeps VPC flow logs, log groups, metric filters and alarms as AWS does,
  with VPCs seeded per account-region on request (flowlogs_ext.py, alarms_ext.py).

Run it through scripts/emulator, which installs the pinned virtualenv first.

Control API (JSON; the Rust tests' helper is tests/common/mod.rs):
  GET  /_orgguard/counts        requests per (account, region, service, operation), total,
                                mutating, and "faults": {kind: n} + "fault_requests" rows
  POST /_orgguard/counts/reset  clears request and fault counts
  GET  /_orgguard/network       VPCs, flow logs, log groups, metric filters and alarms (flowlogs_ext.py):
      {account: {region: {"vpcs": [vpc id, sorted], "flow_logs": [{id, resource_id, traffic_type,
      destination_type, log_group, destination, role_arn, format, max_aggregation_interval, tags:
      {key: value}}], "log_groups": {name: {retention_days}}, "metric_filters": {log group: [{name,
      pattern, transformations: [{metricName, metricNamespace, metricValue, defaultValue}]}]},
      "alarms": {name: {state, state_reason, metric, namespace, statistic, period,
      evaluation_periods, datapoints_to_alarm, threshold, comparison, treat_missing_data,
      actions}}}}}, for the account-regions whose EC2, CloudWatch Logs or CloudWatch backend exists
      (any request to one of them in the account-region makes it; reading never does). Every
      key is present; "vpcs" is [] also where only Logs or CloudWatch was called.
  GET  /_orgguard/faults        the faults in force
  POST /_orgguard/faults        changes them (keys below); answers the faults in force
  GET  /_orgguard/state, /_orgguard/guardduty-org, /_orgguard/wiring; POST /_orgguard/detector,
  /_orgguard/drift              backend state and hand-made drift (guardduty_*.py, control_ext.py)
      state: {"detectors": {account: {region: [{id, status, finding_publishing_frequency,
      features: {NAME: status}, additional_configuration: {FEATURE: {AGENT: status}}}]}},
      "features_unavailable": {region: [FEATURE]}, "suppression_rules": {account: {region: [{name,
      action, description, criterion, rank}]}} in rank order, "ip_lists": {account: {region: [{kind,
      id, name, format, location, status}]}}, "destinations": {account: {region: [{id,
      destinationArn, kmsKeyArn, status}]}}, "coverage": {account: {region: [{type, name, status,
      issue, updatedAt}]}}}; POST /_orgguard/coverage seeds an account-region's Runtime
      Monitoring resources (coverage_ext.py); "chatbot": {account: [Slack channel configuration]};
      POST /_orgguard/slack-workspace {account, team_id, team_name} authorises a Slack workspace
      for the account, the console's one-time step (chatbot_ext.py); guardduty-org: {region: {admins, members,
      configuration, invited_members: {member: {administrator, status}}, invitations:
      {account: [inviter]}}} (guardduty_org.organization_state); drift actions: control_ext.py;
      detector: {account, region, enable?, frequency?, features?, additional_configuration?,
      another?: true makes a second detector in the account-region (ours: AWS allows one)}

POST /_orgguard/faults keys (each optional; "reset": true first clears every injected fault,
then the other keys of the same body apply):
  disabled_regions {account: [region]}, role_missing [account], suspended [account]
      organization state: added to, never cleared by reset
  external_id "VALUE" | null, external_id_for {account: "VALUE" | null}   organization state
      too, not cleared by reset; null takes it away. The sts:ExternalId that AssumeRole into a
      role of an account requires, as a trust policy's Condition StringEquals sts:ExternalId
      would: the account's own (external_id_for), else, for every account but the management
      account, external_id. AssumeRole without ExternalId or with another one gets what AWS
      answers when a role's trust does not allow the call, the same as role_missing:
        403 AccessDenied "User: CALLER is not authorized to perform: sts:AssumeRole on resource: ROLE_ARN"
      CALLER being the caller's ARN (caller_arn: arn:aws:iam::123456789012:user/moto for the
      static test keys; arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION for a session) and
      ROLE_ARN the RoleArn asked for (fault kind "external_id"). An ExternalId where none is
      required is ignored, as AWS does. The member's OrganizationAccountAccessRole shows the
      condition in its trust policy (iam GetRole), on the statement trusting the management
      account. Values: 2-1224 letters, digits and _+=,.@:/- (AWS's ExternalId constraint).
      GET/POST /_orgguard/faults answer them as external_id and external_id_for.
  features_unavailable {region: [FEATURE]} or ["FEATURE@REGION", ...]   likewise never cleared:
      GuardDuty protection plans (S3_DATA_EVENTS ... RUNTIME_MONITORING) a Region does not offer;
      GetDetector, GetMemberDetectors and DescribeOrganizationConfiguration leave them out, and
      Create/UpdateDetector and UpdateOrganizationConfiguration naming them answer 400
      BadRequestException (guardduty_ext.py); GET /_orgguard/state shows them
  seed int                      random decisions are a function of the seed and the request
  latency_ms, latency_jitter_ms every request waits latency_ms + U[0, jitter)
  throttle rate | {rate, services?, operations?}           the service's throttling error
  per_key_rps {"guardduty": 50, "sns:Subscribe": 100}     token bucket per (account, region,
      service[, operation]); per_key_burst likewise (default: one second's worth)
  server_errors rate | {rate, services?, operations?, statuses?: [500, 503]}
  denied rate | {rate, services?, operations?}   the service's access-denied error (not retried),
      as for a caller whose policy lacks the action
  drop_rate rate, or drop {rate, services?, operations?, after_processing?: bool}
      the connection is closed without a response (after moto acted, with after_processing)
  session_seconds int | null    AssumeRole sessions last this long; expired tokens are refused
  suspend_after_requests {account: N}  after N more requests made in it, the account is SUSPENDED
  suspended_error "access_denied" | "invalid_token"       what a suspended account's calls get
  leave_after_requests {account: N}    after N more requests made in it, the account leaves the
      organization: ListAccounts no longer lists it (DescribeAccount: AccountNotFoundException),
      the delegated admin's organization member record of it goes in every Region (and its
      designation, if it was the delegated admin); its calls still work, as a standalone account's
  join_after_requests {"N": count}     after the management account has served N more requests,
      `count` new ACTIVE accounts join the organization: the next free member ids, named
      member-NNNNN with email member-N@example.com and OrganizationAccountAccessRole, joined
      now, so listed last by ListAccounts, after the management account (several entries count
      independently from the same request)
  (the request that spends a suspend/leave/join allowance succeeds; the change follows it;
  GET /_orgguard/faults shows what is pending, join_after_requests as {"N": count} from now)
  odd_answers bool             answers stay valid in their protocol (JSON or query XML) but
      carry what a newer or stranger AWS could send (odd_answers.py; the values are ours).
      Only successful answers are rewritten; each changed answer counts as fault kind
      "odd_answer" (an answer the rewrite leaves as it is does not count):
      - GuardDuty GetDetector: status "SOMETHING_NEW", findingPublishingFrequency "TWO_HOURS",
        features gets a last entry {"name": "FUTURE_PROTECTION_2030", "status":
        "ENABLED_SOMEHOW"}, and unknown top-level keys "orgguardFutureSettings2030" (an object
        holding a list of mixed values) and "orgguardFutureFlag2030" (true).
      - GuardDuty ListDetectors: pages of one detector id whatever maxResults asks; nextToken
        (when more remain) is the next page's detector id; a token naming no detector gets an
        empty page. One detector: one page, no token; none: {"detectorIds": []}, no token
        (both unchanged, not counted).
      - GuardDuty ListMembers: pages of up to 1000 members whatever maxResults (still checked,
        1-50) asks, nextToken as usual (guardduty_org.huge_page); counted when a page holds more
        members than maxResults (default 50).
      - GuardDuty CreateDetector: the answer is {} without detectorId; the detector is created
        (ListDetectors finds it). A retry with the same clientToken is answered {} likewise.
      - Organizations ListAccounts: the last page (no NextToken) ends with two more accounts,
        which exist nowhere else: 999999999901 Status and State "PENDING_CLOSURE" and
        999999999902 Status and State "SOMETHING_ELSE", both JoinedMethod "UNKNOWN_METHOD",
        named odd-pending-closure / odd-something-else, JoinedTimestamp 2024-01-01. That page
        may hold more accounts than MaxResults.
      - SNS GetTopicAttributes: one more Attributes entry, OrgguardFutureAttribute2030 =
        SOMETHING_NEW.
      - EventBridge DescribeRule: unknown keys "OrgguardFutureSettings2030" (an object) and
        "OrgguardFutureFlag2030" (true); State and every other key as they are.

Request counts: is_mutating() counts every operation but Get*, List*, Describe*, Head*,
AssumeRole and GetCallerIdentity as mutating (Create*/Put*/Delete*/Set* of EC2, CloudWatch
Logs and CloudWatch too). Faults answer in each service's protocol: EC2's XML errors
(RequestLimitExceeded 503, InternalError, UnauthorizedOperation, AuthFailure 401 for a region
not enabled), CloudWatch's awsQuery-compatible codes (Throttling, InternalServiceError,
AccessDenied, InvalidClientTokenId) in CBOR or JSON with x-amzn-query-error, CloudWatch Logs'
JSON (ThrottlingException, ServiceUnavailableException, AccessDeniedException 400). Fault
"services" may name CloudWatch "cloudwatch" or "monitoring".

VPC seeding: --vpcs-per-region COUNTS (e.g. 0,1,2) [--vpc-regions R1,R2 (default
us-east-1,eu-west-1)]: the account with member index i (management account: 0) in the k-th
region (from 0) has COUNTS[(i + k) % len(COUNTS)] VPCs, the default VPC (172.31.0.0/16) first
and then 10.1.0.0/16, 10.2.0.0/16, ...; 0: none, not even the default. Seeded when the
account-region's EC2 backend is made (its first EC2 request); 150 account-regions cost about
0.3 s. Without the flag, and outside the regions: moto's default VPC per account-region.

Startup flags mirror these keys (--seed, --latency-ms, --throttle-rate, --error-rate,
--drop-rate, --per-key-rps, --session-seconds, --suspend-after, --leave-after ACCOUNT=N,
--join-after N=COUNT, --feature-unavailable FEATURE@REGION[,...], --odd-answers, --external-id VALUE,
--external-id-for ACCOUNT=VALUE (ACCOUNT: 12-digit id or member index), --faults JSON, ...; --help).
fastpath.py and scale.py remove moto's per-request costs that grow with the number of accounts.
"""

import argparse
import gc
import io
import json
import logging
import re
import socket
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends
from moto.sts.models import sts_backends
import werkzeug.serving
from werkzeug.serving import WSGIRequestHandler, make_server

import chatbot_ext
import control_ext
import coverage_ext
import fastpath
import events_ext
import export_ext
import faults as faults_module
import filters_ext
import flowlogs_ext
import guardduty_ext
import guardduty_org
import iam_ext
import lists_ext
import odd_answers
import rpcv2_cbor
import s3_ext
import scale
import sns_ext
import wsgi

MANAGEMENT_ACCOUNT = DEFAULT_ACCOUNT_ID
REGIONAL_SERVICES = {"guardduty", "sns", "events", "ec2", "logs", "monitoring"}
READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head")
NOT_MUTATING = {"AssumeRole", "GetCallerIdentity"}
MEMBER_ROLE = "OrganizationAccountAccessRole"  # the role moto's CreateAccount makes in each member
# AWS's constraint on AssumeRole's ExternalId (STS API reference): 2-1224 of [\w+=,.@:/-].
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")


def member_account_id(index: int) -> str:
    """Stable member ids: 100000000001, 100000000002, ..."""
    return f"{100000000000 + index:012d}"


class World:
    """What the emulator knows beyond moto: organization faults, injected faults, request counts."""

    def __init__(self, next_member: int = 1):
        self.lock = threading.Lock()
        self.organization_lock = threading.Lock()  # accounts leaving and joining
        self.next_member = next_member  # the member index the next joining account gets
        self.disabled_regions: dict[str, set[str]] = {}
        self.role_missing: set[str] = set()
        self.suspended: set[str] = set()
        self.external_id: str | None = None  # the sts:ExternalId every non-management account's trust requires
        self.external_id_for: dict[str, str] = {}  # per account, over external_id
        self.counts: Counter = Counter()
        self.faults = faults_module.Faults()

    @staticmethod
    def account_for_key(access_key: str) -> str:
        """The account an access key acts in: one map (fastpath.KEYS) serves moto and the gate."""
        return fastpath.account_for_key(access_key)

    def count(self, key: tuple) -> int:
        """Counts a request; returns its number among requests with the same key (from 1)."""
        with self.lock:
            self.counts[key] += 1
            return self.counts[key]

    def counts_json(self) -> dict:
        with self.lock:
            rows = [
                {"account": a, "region": r, "service": s, "operation": o, "count": n}
                for (a, r, s, o), n in sorted(self.counts.items())
            ]
        mutating = sum(row["count"] for row in rows if is_mutating(row["operation"]))
        return {
            "requests": rows, "total": sum(r["count"] for r in rows), "mutating": mutating,
            **self.faults.counts_json(),
        }

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
        self.faults.reset_counts()

    def suspend(self, accounts) -> None:
        """SUSPENDED in Organizations from now on; AssumeRole into them and their sessions' calls fail."""
        accounts = set(accounts)
        for account in organizations_backends[MANAGEMENT_ACCOUNT]["aws"].accounts:
            if account.id in accounts:
                account.status = account.state = "SUSPENDED"
        with self.lock:
            self.suspended |= accounts

    def leave(self, accounts) -> None:
        """The accounts leave the organization (moto's RemoveAccountFromOrganization) and the
        GuardDuty organization (guardduty_org.account_left); they keep working on their own."""
        backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
        with self.organization_lock:
            for account in accounts:
                if any(a.id == account for a in backend.accounts):
                    backend.remove_account_from_organization(AccountId=account)
                guardduty_org.account_left(account)
            fastpath.accounts_changed()

    def required_external_id(self, account: str) -> str | None:
        """The sts:ExternalId that trusting a role in `account` requires (None: no condition):
        the account's own (external_id_for), else, in any account but the management one, the
        default (external_id)."""
        if account in self.external_id_for:
            return self.external_id_for[account]
        return self.external_id if account != MANAGEMENT_ACCOUNT else None

    def sync_trust(self, accounts) -> None:
        """Writes each account's required external id into its OrganizationAccountAccessRole's
        trust policy (iam GetRole shows it), as a Condition StringEquals sts:ExternalId on the
        statements that trust an AWS principal, or takes that condition out when none is required.
        The gate enforces required_external_id; the document only shows it."""
        for account in accounts:
            if not dict.__contains__(iam_backends, account):  # never create a backend (an account that never was)
                continue
            try:
                role = iam_backends[account]["global"].get_role(MEMBER_ROLE)
            except Exception:  # noqa: BLE001 - no such role: nothing to show it on
                continue
            role.assume_role_policy_document = trust_with_external_id(
                role.assume_role_policy_document, self.required_external_id(account),
            )

    def join(self, count: int) -> list[str]:
        """`count` new ACTIVE members with the next free stable ids; returns their ids."""
        backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
        joined = []
        with self.organization_lock:
            taken = {a.id for a in backend.accounts}
            while len(joined) < count:
                index, self.next_member = self.next_member, self.next_member + 1
                if member_account_id(index) not in taken:
                    add_member(backend, index, seeded=False)
                    joined.append(member_account_id(index))
            fastpath.accounts_changed()
        if self.external_id is not None or self.external_id_for:
            self.sync_trust(joined)
        return joined


def trust_with_external_id(document: str, external_id: str | None) -> str:
    """The trust policy with (or without, for None) Condition StringEquals sts:ExternalId on
    its statements that allow sts:AssumeRole to an AWS principal."""
    policy = json.loads(document)
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action")
        if "sts:AssumeRole" not in (actions if isinstance(actions, list) else [actions]):
            continue
        if "AWS" not in (statement.get("Principal") or {}):
            continue
        condition = statement.setdefault("Condition", {})
        equals = condition.setdefault("StringEquals", {})
        if external_id is None:
            equals.pop("sts:ExternalId", None)
        else:
            equals["sts:ExternalId"] = external_id
        if not equals:
            del condition["StringEquals"]
        if not condition:
            del statement["Condition"]
    return json.dumps(policy)


def caller_arn(access_key: str, account: str) -> str:
    """The caller as AWS names it in an AccessDenied message ("User: ARN is not authorized
    ..."): an AssumeRole session's arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, an IAM user's
    arn:aws:iam::ACCOUNT:user/NAME, and for keys moto does not know (the static test keys, which
    act in the management account) the IAM user moto, as moto's GetCallerIdentity names them
    (with the iam ARN AWS gives users; moto's says sts)."""
    role = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
    if role is not None:
        return role.arn
    user = iam_backends[account]["global"].get_user_from_access_key_id(access_key)
    if user is not None:
        return user.arn
    return f"arn:aws:iam::{account}:user/moto"


def is_mutating(operation: str) -> bool:
    return operation not in NOT_MUTATING and not operation.startswith(READ_ONLY_PREFIXES)


def seed_organization(accounts: int, suspended: set[int], names_prefix: str = "member") -> list[str]:
    """Create the organization in the management account and `accounts` members with stable ids.
    moto's CreateAccount also creates each member's IAM backend and OrganizationAccountAccessRole
    (about 0.4 ms an account: 2 s for 5000), which AssumeRole's AssumedRoleId reads; kept."""
    # AWS pages ListAccounts by 20; moto's default page key (JoinedTimestamp) is not unique.
    # (fastpath replaces ListAccounts' paging; the model still serves the other listings.)
    from moto.organizations.utils import PAGINATION_MODEL

    PAGINATION_MODEL["list_accounts"].update(unique_attribute="Id", limit_default=20)
    backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
    backend.create_organization(region="us-east-1", FeatureSet="ALL")
    for i in range(1, accounts + 1):
        account = add_member(backend, i, names_prefix)
        if i in suspended:
            account.status = account.state = "SUSPENDED"
    return [member_account_id(i) for i in range(1, accounts + 1)]


def add_member(backend, index: int, names_prefix: str = "member", seeded: bool = True):
    """One ACTIVE member with the stable id of `index`; returns moto's account. Seeded members
    joined `index` minutes after 2024-01-01 (so ListAccounts lists them in index order, before
    the management account); a member joining mid-run joins now (listed last)."""
    original = org_utils.make_random_account_id
    try:
        org_utils.make_random_account_id = lambda: member_account_id(index)
        backend.create_account(AccountName=f"{names_prefix}-{index:05d}", Email=f"{names_prefix}-{index}@example.com")
    finally:
        org_utils.make_random_account_id = original
    account = backend.accounts[-1]
    if seeded:
        account.create_time = datetime(2024, 1, 1) + timedelta(minutes=index)  # naive, as moto keeps its times
    return account


CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")


class Gate:
    """WSGI middleware in front of moto: attribution, counting, faults, control API."""

    def __init__(self, app, world: World):
        self.app = app
        self.world = world

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_orgguard/"):
            return control(self.world, environ, start_response)
        body = read_body(environ)
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope:
            return self.app(environ, start_response)
        access_key, region, service = scope.groups()
        world, faults = self.world, self.world.faults
        account = world.account_for_key(access_key)
        form = parse_form(environ, body)
        operation = operation_name(service, environ, form)
        key = (account, region if service in REGIONAL_SERVICES else "global", service, operation)
        n = world.count(key)

        def refuse(kind: str, error: tuple[int, str, str]):
            faults.record(kind, key)
            return aws_error(environ, start_response, service, *error)

        expired = fastpath.key_expired(access_key)  # on arrival: latency below is the answer's
        drop_after = False
        if faults.active:
            if faults.hits(faults.drop, "drop", key, n):
                if not faults.drop.extra.get("after_processing"):
                    faults.record("drop", key)
                    drop_connection(environ)
                drop_after = True
            delay = faults.delay(key, n)
            if delay:
                faults.record("latency", key)
                time.sleep(delay)
        # Authentication first, as AWS: expired sessions, closed accounts, regions not enabled.
        if expired:
            return refuse("expired_token", faults_module.expired_token(service))
        if account in world.suspended:
            return refuse("suspended", faults_module.suspended_call(service, faults.suspended_mode))
        if service in REGIONAL_SERVICES and region in world.disabled_regions.get(account, ()):
            return refuse("region_not_enabled", faults_module.invalid_token(service))
        if faults.active:
            if faults.hits(faults.throttle, "throttle", key, n):
                return refuse("throttle", faults_module.THROTTLE.get(service, faults_module.DEFAULT_THROTTLE))
            if faults.rate_limited(key):
                return refuse("per_key_rps", faults_module.THROTTLE.get(service, faults_module.DEFAULT_THROTTLE))
            error = faults.server_error(key, n)
            if error:
                return refuse("server_error", error)
            error = faults.denial(key, n, caller_arn(access_key, account))
            if error:
                return refuse("denied", error)
        if service == "sts" and operation == "AssumeRole":
            arn = (form.get("RoleArn") or [""])[0]
            target = arn.split(":")
            target = target[4] if len(target) > 4 else ""
            denied = lambda: (  # noqa: E731 - AWS's answer when the role's trust does not allow the caller
                403, "AccessDenied",
                f"User: {caller_arn(access_key, account)} is not authorized to perform: sts:AssumeRole on resource: {arn}",
            )
            if target in world.role_missing or target in world.suspended:
                return refuse("role_denied" if target in world.role_missing else "suspended", denied())
            required = world.required_external_id(target)
            if required is not None and (form.get("ExternalId") or [None])[0] != required:
                return refuse("external_id", denied())
        suspend_now = faults.active and faults.suspension_due(account)
        leave_now = faults.active and faults.leave_due(account)
        joins = faults.joins_due() if faults.active and account == MANAGEMENT_ACCOUNT else 0
        rewrite = odd_answers.rewrites(service, operation) if faults.odd_answers else None
        if service == "chatbot":  # moto has no Chatbot: the emulator's own (chatbot_ext.py)
            status, answer, code = chatbot_ext.answer(account, region, path, body)
            if code is not None:
                return aws_error(environ, start_response, service, status, code, answer["Message"])
            encoded = json.dumps(answer).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(encoded)))])
            response = [encoded]
        elif not drop_after:
            if rewrite is None:
                response = self.app(environ, start_response)
            else:
                response = self.odd_answer(environ, start_response, rewrite, key)
        else:
            chunks = self.app(environ, lambda *args, **kwargs: None)
            for _ in chunks:  # let moto finish (and act), then lose the answer
                pass
            if hasattr(chunks, "close"):
                chunks.close()
        if suspend_now:
            world.suspend([account])
            faults.record("suspend", key)
        if leave_now:
            world.leave([account])
            faults.record("leave", key)
        if joins:
            world.join(joins)
            faults.record("join", key)
        if drop_after:
            faults.record("drop_after_processing", key)
            drop_connection(environ)
        return response

    def odd_answer(self, environ, start_response, rewrite, key: tuple):
        """The fault odd_answers: moto's answer, through its rewrite (odd_answers.py) when it
        is a success; counted as "odd_answer" when the rewrite changed it."""
        status, headers, body = wsgi.call(self.app, environ)
        if status.startswith("2"):
            odd = rewrite(environ, body)
            if odd is not None:
                self.world.faults.record("odd_answer", key)
                body, headers = odd, odd_answers.content_length(headers, len(odd))
        start_response(status, headers)
        return [body]


def drop_connection(environ):
    """Close the client's connection without an answer. werkzeug treats the ConnectionError
    as a client that went away: it writes nothing, and the shut-down socket ends the
    keep-alive loop, so the client reads EOF where it expected a status line."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionAbortedError("orgguard emulator: connection dropped (injected fault)")


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler with HTTP/1.1 keep-alive, as AWS's endpoints have it.
    werkzeug closes every connection because http.server cannot skip a request body the
    application left unread, and after each response it reads whatever the client sends
    within 10 ms (which would swallow the next request of a kept-alive connection). Gate
    reads every body whole (read_body), so after a response the stream stands at the next
    request line: that read is switched off (_NoDrain) and the connection stays open. A
    request whose body is chunked (no Content-Length for read_body) still closes it."""

    def setup(self) -> None:
        """No Nagle delay: on a kept-alive connection the response's small writes would
        otherwise wait for the client's delayed ACK (about 40 ms a request)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_header(self, keyword: str, value: str) -> None:
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if keyword.lower() == "connection" and value.lower() == "close" and not chunked:
            return
        super().send_header(keyword, value)


class _NoDrain:
    """Stands in for the selectors module in werkzeug.serving, whose only use is the read
    after a response described in KeepAliveHandler: the selector never reports data."""

    EVENT_READ = 1

    class DefaultSelector:
        def register(self, *_args) -> None:
            pass

        def select(self, timeout=None) -> list:
            return []

        def close(self) -> None:
            pass


def read_body(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def parse_form(environ, body: bytes) -> dict:
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        return parse_qs(body.decode("utf-8", "replace"))
    return {}


GUARDDUTY_OPERATIONS = [
    ("POST", r"/detector", "CreateDetector"),
    ("GET", r"/detector", "ListDetectors"),
    ("GET", r"/detector/[^/]+", "GetDetector"),
    ("POST", r"/detector/[^/]+", "UpdateDetector"),
    ("DELETE", r"/detector/[^/]+", "DeleteDetector"),
    ("GET", r"/detector/[^/]+/administrator", "GetAdministratorAccount"),
    ("POST", r"/detector/[^/]+/administrator", "AcceptAdministratorInvitation"),
    ("POST", r"/detector/[^/]+/administrator/disassociate", "DisassociateFromAdministratorAccount"),
    ("GET", r"/detector/[^/]+/master", "GetMasterAccount"),
    ("POST", r"/detector/[^/]+/master", "AcceptInvitation"),
    ("POST", r"/detector/[^/]+/master/disassociate", "DisassociateFromMasterAccount"),
    ("GET", r"/invitation", "ListInvitations"),
    ("GET", r"/invitation/count", "GetInvitationsCount"),
    ("POST", r"/invitation/decline", "DeclineInvitations"),
    ("POST", r"/invitation/delete", "DeleteInvitations"),
    ("POST", r"/detector/[^/]+/member", "CreateMembers"),
    ("POST", r"/detector/[^/]+/member/get", "GetMembers"),
    ("POST", r"/detector/[^/]+/member/detector/get", "GetMemberDetectors"),
    ("POST", r"/detector/[^/]+/member/detector/update", "UpdateMemberDetectors"),
    ("GET", r"/detector/[^/]+/member", "ListMembers"),
    ("POST", r"/detector/[^/]+/member/disassociate", "DisassociateMembers"),
    ("POST", r"/detector/[^/]+/member/delete", "DeleteMembers"),
    ("POST", r"/detector/[^/]+/member/invite", "InviteMembers"),
    ("POST", r"/detector/[^/]+/filter", "CreateFilter"),
    ("GET", r"/detector/[^/]+/filter", "ListFilters"),
    ("GET", r"/detector/[^/]+/filter/[^/]+", "GetFilter"),
    ("POST", r"/detector/[^/]+/filter/[^/]+", "UpdateFilter"),
    ("DELETE", r"/detector/[^/]+/filter/[^/]+", "DeleteFilter"),
    ("POST", r"/detector/[^/]+/publishingDestination", "CreatePublishingDestination"),
    ("GET", r"/detector/[^/]+/publishingDestination", "ListPublishingDestinations"),
    ("GET", r"/detector/[^/]+/publishingDestination/[^/]+", "DescribePublishingDestination"),
    ("POST", r"/detector/[^/]+/publishingDestination/[^/]+", "UpdatePublishingDestination"),
    ("DELETE", r"/detector/[^/]+/publishingDestination/[^/]+", "DeletePublishingDestination"),
    ("POST", r"/detector/[^/]+/coverage", "ListCoverage"),
    ("POST", r"/detector/[^/]+/coverage/statistics", "GetCoverageStatistics"),
    ("POST", r"/detector/[^/]+/ipset", "CreateIPSet"),
    ("GET", r"/detector/[^/]+/ipset", "ListIPSets"),
    ("GET", r"/detector/[^/]+/ipset/[^/]+", "GetIPSet"),
    ("POST", r"/detector/[^/]+/ipset/[^/]+", "UpdateIPSet"),
    ("DELETE", r"/detector/[^/]+/ipset/[^/]+", "DeleteIPSet"),
    ("POST", r"/detector/[^/]+/threatintelset", "CreateThreatIntelSet"),
    ("GET", r"/detector/[^/]+/threatintelset", "ListThreatIntelSets"),
    ("GET", r"/detector/[^/]+/threatintelset/[^/]+", "GetThreatIntelSet"),
    ("POST", r"/detector/[^/]+/threatintelset/[^/]+", "UpdateThreatIntelSet"),
    ("DELETE", r"/detector/[^/]+/threatintelset/[^/]+", "DeleteThreatIntelSet"),
    ("POST", r"/detector/[^/]+/admin", "UpdateOrganizationConfiguration"),
    ("GET", r"/detector/[^/]+/admin", "DescribeOrganizationConfiguration"),
    ("POST", r"/admin/enable", "EnableOrganizationAdminAccount"),
    ("POST", r"/admin/disable", "DisableOrganizationAdminAccount"),
    ("GET", r"/admin", "ListOrganizationAdminAccounts"),
]


def operation_name(service: str, environ, form: dict) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    if "Action" in form:
        return form["Action"][0]
    if rpcv2_cbor.is_cbor(environ):  # CloudWatch's Smithy RPC v2 CBOR: /service/S/operation/OP
        return rpcv2_cbor.operation(environ)
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    if service == "guardduty":
        for m, pattern, name in GUARDDUTY_OPERATIONS:
            if m == method and re.fullmatch(pattern, path):
                return name
    if service == "s3":
        return s3_operation(method, path, environ.get("QUERY_STRING", ""))
    if service == "chatbot":
        return chatbot_ext.operation(path)
    return f"{method} {path}"


def s3_operation(method: str, path: str, query: str) -> str:
    """S3's REST calls (path style) by AWS's operation names, as far as orgguard and its tests
    use them: GetBucketPolicy, PutBucketPolicy, GetObject, PutObject, CreateBucket, ..."""
    verb = {"GET": "Get", "HEAD": "Head", "PUT": "Put", "DELETE": "Delete", "POST": "Post"}.get(method, method)
    keys = parse_qs(query, keep_blank_values=True)
    for sub in ("policy", "lifecycle", "encryption", "publicAccessBlock", "location"):
        if sub in keys:
            return f"{verb}Bucket{sub[0].upper()}{sub[1:]}"
    if path.strip("/").count("/") >= 1:
        return f"{verb}Object"
    return "CreateBucket" if verb == "Put" else f"{verb}Bucket"


def aws_error(environ, start_response, service: str, status: int, code: str, message: str):
    """An error in the wire protocol the caller used, so the SDK parses its code: EC2's XML
    (Response/Errors/Error) for EC2, query XML for other form-encoded requests (STS, IAM, SNS),
    CBOR for Smithy RPC v2 CBOR (CloudWatch from the Rust SDK; rpcv2_cbor.py), else JSON with
    __type and X-Amzn-ErrorType (awsJson1.1: EventBridge, Organizations, CloudWatch Logs;
    restJson1: GuardDuty; awsJson1.0: CloudWatch from boto3). CloudWatch's answers carry
    x-amzn-query-error CODE;Sender|Receiver, its awsQuery-compatible code."""
    content_type = environ.get("CONTENT_TYPE", "")
    if rpcv2_cbor.is_cbor(environ):
        encoded = rpcv2_cbor.error_body(code, message)
        headers = rpcv2_cbor.error_headers(code, status)
        headers += [("Content-Length", str(len(encoded))), ("x-amzn-RequestId", "orgguard-emulator")]
        start_response(f"{status} {REASONS.get(status, 'Error')}", headers)
        return [encoded]
    if service == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error></Errors><RequestID>orgguard-emulator</RequestID></Response>"
        )
        headers = [("Content-Type", "text/xml")]
    elif "x-www-form-urlencoded" in content_type:
        fault = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{fault}</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>orgguard-emulator</RequestId></ErrorResponse>"
        )
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps({"__type": code, "message": message, "Message": message})
        headers = [("Content-Type", "application/json"), ("X-Amzn-ErrorType", code)]
        if service == "monitoring":
            headers.append(("x-amzn-query-error", f"{code};{'Receiver' if status >= 500 else 'Sender'}"))
    encoded = body.encode()
    headers.append(("Content-Length", str(len(encoded))))
    headers.append(("x-amzn-RequestId", "orgguard-emulator"))
    start_response(f"{status} {REASONS.get(status, 'Error')}", headers)
    return [encoded]


REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable"}


def control(world: World, environ, start_response):
    """The test API: GET counts, state, guardduty-org, wiring, network; POST counts/reset, faults, detector, drift."""
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    body = read_body(environ)
    request = json.loads(body) if body else {}
    try:
        if method == "GET" and path == "/_orgguard/counts":
            result = world.counts_json()
        elif method == "POST" and path == "/_orgguard/counts/reset":
            world.reset_counts()
            result = {}
        elif method == "GET" and path == "/_orgguard/state":
            result = {
                "detectors": guardduty_ext.all_detectors(),
                "features_unavailable": {r: sorted(f) for r, f in sorted(guardduty_ext.UNAVAILABLE.items())},
                "suppression_rules": filters_ext.state(),
                "ip_lists": lists_ext.state(),
                "destinations": export_ext.state(),
                "coverage": coverage_ext.state(),
                "chatbot": chatbot_ext.state(),
            }
        elif method == "GET" and path == "/_orgguard/network":
            result = flowlogs_ext.network_state()
        elif method == "GET" and path == "/_orgguard/guardduty-org":
            result = guardduty_org.organization_state()
        elif method == "POST" and path == "/_orgguard/faults":
            apply_faults(world, request)
            result = faults_json(world)
        elif method == "GET" and path == "/_orgguard/faults":
            result = faults_json(world)
        elif method == "POST" and path == "/_orgguard/detector":
            result = {"detectorId": guardduty_ext.put_detector(**request)}
        elif method == "GET" and path == "/_orgguard/wiring":
            result = control_ext.wiring_state()
        elif method == "POST" and path == "/_orgguard/slack-workspace":
            chatbot_ext.authorise(request["account"], request["team_id"], request.get("team_name", "workspace"))
            result = {}
        elif method == "POST" and path == "/_orgguard/coverage":
            coverage_ext.put(request["account"], request["region"], request["resources"])
            result = {}
        elif method == "POST" and path == "/_orgguard/drift":
            result = control_ext.drift(request)
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error":"no such control endpoint"}']
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        start_response("400 Bad Request", [("Content-Type", "application/json")])
        return [json.dumps({"error": repr(error)}).encode()]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(result).encode()]


ORGANIZATION_KEYS = {
    "disabled_regions", "role_missing", "suspended", "features_unavailable", "external_id", "external_id_for",
}
FAULT_KEYS = {
    "reset", "seed", "latency_ms", "latency_jitter_ms", "throttle", "server_errors", "denied", "drop_rate", "drop",
    "per_key_rps", "per_key_burst", "session_seconds", "suspend_after_requests", "suspended_error",
    "leave_after_requests", "join_after_requests", "odd_answers",
}


def faults_json(world: World) -> dict:
    """GET/POST /_orgguard/faults' answer: the faults in force and the external ids required."""
    return {
        **world.faults.describe(),
        "external_id": world.external_id,
        "external_id_for": dict(sorted(world.external_id_for.items())),
    }


def check_external_ids(request: dict) -> None:
    """external_id: an ExternalId (AWS's constraint) or null; external_id_for: {12-digit
    account: ExternalId or null}."""
    values = []
    if "external_id" in request:
        values.append(request["external_id"])
    if "external_id_for" in request:
        if not isinstance(request["external_id_for"], dict):
            raise ValueError("external_id_for: {account: external id or null}")
        for account, value in request["external_id_for"].items():
            if not re.fullmatch(r"\d{12}", str(account)):
                raise ValueError(f"external_id_for: {account!r} is not a 12-digit account id")
            values.append(value)
    for value in values:
        if value is not None and not (isinstance(value, str) and EXTERNAL_ID.fullmatch(value)):
            raise ValueError(f"external id {value!r}: 2-1224 characters of letters, digits and +=,.@:/-_, or null")


def apply_external_ids(world: World, request: dict) -> None:
    changed: set[str] = set()
    if "external_id" in request:
        world.external_id = request["external_id"]
        changed.update(a for a in list(iam_backends.keys()) if a != MANAGEMENT_ACCOUNT)
    for account, value in request.get("external_id_for", {}).items():
        if value is None:
            world.external_id_for.pop(account, None)
        else:
            world.external_id_for[account] = value
        changed.add(account)
    world.sync_trust(sorted(changed))


def apply_faults(world: World, request: dict) -> None:
    """POST /_orgguard/faults. Unknown keys are refused (400) before anything changes."""
    if not isinstance(request, dict):
        raise ValueError("a JSON object")
    unknown = set(request) - ORGANIZATION_KEYS - FAULT_KEYS
    if unknown:
        raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {sorted(ORGANIZATION_KEYS | FAULT_KEYS)}")
    if not all(isinstance(v, list) for v in request.get("disabled_regions", {}).values()):
        raise ValueError("disabled_regions: {account: [region, ...]}")
    if not isinstance(request.get("role_missing", []), list) or not isinstance(request.get("suspended", []), list):
        raise ValueError("role_missing and suspended: lists of account ids")
    if MANAGEMENT_ACCOUNT in (request.get("leave_after_requests") or {}):
        raise ValueError("leave_after_requests: the management account cannot leave its organization")
    unavailable = guardduty_ext.parse_unavailable(request.get("features_unavailable", {}))
    check_external_ids(request)
    world.faults.apply(request)
    guardduty_ext.merge_unavailable(unavailable)
    fastpath.session_seconds = world.faults.session_seconds
    guardduty_org.huge_page = odd_answers.HUGE_PAGE if world.faults.odd_answers else None
    apply_external_ids(world, request)
    for account, regions in request.get("disabled_regions", {}).items():
        world.disabled_regions.setdefault(account, set()).update(regions)
    world.role_missing.update(request.get("role_missing", []))
    if request.get("suspended"):
        world.suspend(request["suspended"])


def parse_account_regions(values: list[str]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for value in values:
        account, _, regions = value.partition(":")
        result.setdefault(account, set()).update(r for r in regions.split(",") if r)
    return result


def startup_faults(args) -> dict:
    """The fault flags as a POST /_orgguard/faults body (--faults JSON first, flags over it)."""
    request = json.loads(args.faults) if args.faults else {}
    if args.seed is not None:
        request["seed"] = args.seed
    if args.latency_ms:
        request["latency_ms"] = args.latency_ms
    if args.latency_jitter_ms:
        request["latency_jitter_ms"] = args.latency_jitter_ms
    services = [s for s in args.throttle_services.split(",") if s] or None
    if args.throttle_rate:
        request["throttle"] = {"rate": args.throttle_rate, "services": services}
    if args.error_rate:
        request["server_errors"] = {"rate": args.error_rate}
    if args.drop_rate:
        request["drop_rate"] = args.drop_rate
    if args.per_key_rps:
        request["per_key_rps"] = args.per_key_rps
    if args.per_key_burst:
        request["per_key_burst"] = args.per_key_burst
    if args.session_seconds:
        request["session_seconds"] = args.session_seconds
    if args.suspend_after:
        request.setdefault("suspend_after_requests", {}).update(
            {account_id(a): int(n) for a, _, n in (item.partition("=") for item in args.suspend_after)}
        )
    if args.suspended_error:
        request["suspended_error"] = args.suspended_error
    if args.leave_after:
        request.setdefault("leave_after_requests", {}).update(
            {account_id(a): int(n) for a, _, n in (item.partition("=") for item in args.leave_after)}
        )
    if args.join_after:
        joins = request.setdefault("join_after_requests", {})
        for n, _, count in (item.partition("=") for item in args.join_after):
            joins[str(int(n))] = joins.get(str(int(n)), 0) + int(count)
    if args.external_id is not None:
        request["external_id"] = args.external_id
    if args.external_id_for:
        request.setdefault("external_id_for", {}).update(
            {account_id(a): value for a, _, value in (item.partition("=") for item in args.external_id_for)}
        )
    if args.odd_answers:
        request["odd_answers"] = True
    if args.feature_unavailable:
        unavailable = request.get("features_unavailable", [])
        if isinstance(unavailable, dict):
            unavailable = [f"{f}@{r}" for r, features in unavailable.items() for f in features]
        request["features_unavailable"] = [*unavailable, *args.feature_unavailable]
    return request


def account_id(text: str) -> str:
    """A member index (1-based) or a 12-digit account id."""
    return text if len(text) == 12 else member_account_id(int(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--accounts", type=int, default=20, help="member accounts to seed")
    parser.add_argument("--suspended", default="", help="comma-separated member indexes (1-based) to seed SUSPENDED")
    parser.add_argument("--role-missing", default="", help="comma-separated member indexes whose role cannot be assumed")
    parser.add_argument(
        "--region-disabled", action="append", default=[],
        help="INDEX:REGION[,REGION] a region not enabled for member INDEX (repeatable)",
    )
    faults = parser.add_argument_group("faults (the same as POST /_orgguard/faults; see the module docstring)")
    faults.add_argument("--seed", type=int, help="seed of the random fault decisions (default 0)")
    faults.add_argument("--latency-ms", type=float, default=0, help="added to every request")
    faults.add_argument("--latency-jitter-ms", type=float, default=0, help="plus U[0, jitter) per request")
    faults.add_argument("--throttle-rate", type=float, default=0, help="fraction of requests throttled")
    faults.add_argument("--throttle-services", default="", help="comma-separated services throttled (default all)")
    faults.add_argument("--error-rate", type=float, default=0, help="fraction of requests answered 500/503")
    faults.add_argument("--drop-rate", type=float, default=0, help="fraction of requests whose connection is closed")
    faults.add_argument("--per-key-rps", default="", help="SERVICE[:Operation]=RPS,... token bucket per account-region")
    faults.add_argument("--per-key-burst", default="", help="SERVICE[:Operation]=N,... bucket sizes (default: RPS)")
    faults.add_argument("--session-seconds", type=int, default=0, help="AssumeRole sessions expire after this")
    faults.add_argument(
        "--suspend-after", action="append", default=[],
        help="ACCOUNT=N: the account (12-digit id or member index) is suspended after N requests (repeatable)",
    )
    faults.add_argument("--suspended-error", choices=["access_denied", "invalid_token"])
    faults.add_argument(
        "--leave-after", action="append", default=[],
        help="ACCOUNT=N: the account (12-digit id or member index) leaves the organization after N requests (repeatable)",
    )
    faults.add_argument(
        "--join-after", action="append", default=[],
        help="N=COUNT: COUNT new accounts join after the management account has served N requests (repeatable)",
    )
    parser.add_argument(
        "--feature-unavailable", action="append", default=[],
        help="FEATURE@REGION[,FEATURE@REGION]: a GuardDuty protection plan the region does not offer (repeatable)",
    )
    parser.add_argument(
        "--external-id", help="every member role's trust requires this sts:ExternalId (AssumeRole without it: AccessDenied)",
    )
    parser.add_argument(
        "--external-id-for", action="append", default=[],
        help="ACCOUNT=VALUE: the external id one account's roles require (12-digit id or member index; repeatable)",
    )
    parser.add_argument(
        "--coverage-every", type=int, default=0,
        help="every N-th member has an EKS and an ECS cluster and an EC2 instance under Runtime Monitoring "
             "in each --coverage-regions region, every third such member's EKS cluster UNHEALTHY (coverage_ext.py)",
    )
    parser.add_argument("--coverage-regions", default="us-east-1,eu-west-1", help="the regions --coverage-every seeds")
    parser.add_argument(
        "--vpcs-per-region", default="",
        help="COUNTS, e.g. 0,1,2: member i (management: 0) in the k-th --vpc-regions region (from 0) has "
             "COUNTS[(i + k) %% len] VPCs, the default VPC first (flowlogs_ext.py); default: moto's default VPC",
    )
    parser.add_argument("--vpc-regions", default="us-east-1,eu-west-1", help="the regions --vpcs-per-region seeds")
    faults.add_argument("--odd-answers", action="store_true", help="valid but unusual answers (odd_answers.py)")
    faults.add_argument("--faults", default="", help="a JSON object of fault keys, applied first")
    args = parser.parse_args()

    fastpath.install()
    scale.install()
    flowlogs_ext.install()  # before any EC2 backend exists: seeding happens as each is made
    if args.vpcs_per_region:
        try:
            flowlogs_ext.configure_seeding(args.vpcs_per_region, args.vpc_regions)
        except ValueError as error:
            parser.error(str(error))
    indexes = lambda text: {int(x) for x in text.split(",") if x}  # noqa: E731
    started = time.monotonic()
    members = seed_organization(args.accounts, indexes(args.suspended))
    seeded = time.monotonic() - started
    world = World(next_member=args.accounts + 1)
    world.suspended = {member_account_id(i) for i in indexes(args.suspended)}
    world.role_missing = {member_account_id(i) for i in indexes(args.role_missing)}
    for index, regions in parse_account_regions(args.region_disabled).items():
        world.disabled_regions[member_account_id(int(index))] = regions
    try:
        apply_faults(world, startup_faults(args))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        parser.error(f"faults: {error}")
    guardduty_ext.install()
    filters_ext.install()
    export_ext.install()
    lists_ext.install()
    iam_ext.install()
    sns_ext.install()
    s3_ext.install()
    events_ext.install()
    coverage_ext.install()
    if args.coverage_every > 0:
        coverage_ext.seed(members, args.coverage_regions.split(","), args.coverage_every)
    fastpath.warm_up(fastpath.WARM_SERVICES + ("ec2", "logs", "cloudwatch"))
    rpcv2_cbor.warm_up()
    gc.freeze()  # the seeded organization and loaded models stay: keep them out of GC passes
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    app = Gate(rpcv2_cbor.Adapter(DomainDispatcherApplication(create_backend_app)), world)
    werkzeug.serving.selectors = _NoDrain
    server = make_server(args.host, args.port, app, threaded=True, request_handler=KeepAliveHandler)
    endpoint = f"http://{args.host}:{server.server_port}"
    print(
        f"READY {endpoint} management={MANAGEMENT_ACCOUNT} members={len(members)} seeded_in={seeded:.1f}s",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
