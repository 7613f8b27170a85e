"""The control API, under /_orgguard/ on the emulator's port: for tests, what the emulator
counted and holds, and changes to the world (faults, hand-made drift). The gate (gate.py)
hands it every request under /_orgguard/. Request counts and faults are served here; the
other endpoints, and the sections of GET /_orgguard/state, are registered by the extension
modules that keep that state (registry.control, registry.state).

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
      Monitoring resources (coverage_ext.py); "findings": {"account/region": [finding, as
      GetFindings answers it]}; POST /_orgguard/findings {account, region, type, severity?} makes
      a real (not sample) finding, answering {id, suppressed: the matching suppression rule or
      null} (findings_ext.py); GET /_orgguard/deliveries: {"deliveries": [{topic, protocol,
      endpoint, finding, outcome: delivered | filtered out | pending confirmation, message}],
      "invocations": [{account, region, rule, target, finding, failed: why or null}]}
      (delivery_ext.py); "chatbot": {account: [Slack channel configuration]};
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
        1-50) asks, nextToken as usual (guardduty_members.huge_page); counted when a page holds more
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
AssumeRole, GetCallerIdentity and TestEventPattern (it matches, and changes nothing) as mutating (Create*/Put*/Delete*/Set* of EC2, CloudWatch
Logs and CloudWatch too). Faults answer in each service's protocol: EC2's XML errors
(RequestLimitExceeded 503, InternalError, UnauthorizedOperation, AuthFailure 401 for a region
not enabled), CloudWatch's awsQuery-compatible codes (Throttling, InternalServiceError,
AccessDenied, InvalidClientTokenId) in CBOR or JSON with x-amzn-query-error, CloudWatch Logs'
JSON (ThrottlingException, ServiceUnavailableException, AccessDeniedException 400). Fault
"services" may name CloudWatch "cloudwatch" or "monitoring".
"""

import json
import re

from moto.iam.models import iam_backends

import fastpath
import guardduty_ext
import guardduty_members
import odd_answers
from protocols import read_body
from registry import Registry
from seeding import MANAGEMENT_ACCOUNT
from world import World

# AWS's constraint on AssumeRole's ExternalId (STS API reference): 2-1224 of [\w+=,.@:/-].
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")


def control(world: World, registry: Registry, environ, start_response):
    """The test API: GET counts, faults and state (whose sections the extensions registered);
    POST counts/reset and faults; and the endpoints the extensions registered (registry.control)."""
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
            result = {key: reader() for key, reader in registry.state_sections.items()}
        elif method == "POST" and path == "/_orgguard/faults":
            apply_faults(world, request)
            result = faults_json(world)
        elif method == "GET" and path == "/_orgguard/faults":
            result = faults_json(world)
        elif (method, path) in registry.controls:
            result = registry.controls[(method, path)](request)
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
    guardduty_members.huge_page = odd_answers.HUGE_PAGE if world.faults.odd_answers else None
    apply_external_ids(world, request)
    for account, regions in request.get("disabled_regions", {}).items():
        world.disabled_regions.setdefault(account, set()).update(regions)
    world.role_missing.update(request.get("role_missing", []))
    if request.get("suspended"):
        world.suspend(request["suspended"])
