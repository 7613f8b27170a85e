"""The emulator's command line: its flags, and the fault flags as a POST /_orgguard/faults body.

VPC seeding: --vpcs-per-region COUNTS (e.g. 0,1,2) [--vpc-regions R1,R2 (default
us-east-1,eu-west-1)]: the account with member index i (management account: 0) in the k-th
region (from 0) has COUNTS[(i + k) % len(COUNTS)] VPCs, the default VPC (172.31.0.0/16) first
and then 10.1.0.0/16, 10.2.0.0/16, ...; 0: none, not even the default. Seeded when the
account-region's EC2 backend is made (its first EC2 request); 150 account-regions cost about
0.3 s. Without the flag, and outside the regions: moto's default VPC per account-region.

Startup flags mirror the keys of POST /_orgguard/faults (control.py): --seed, --latency-ms,
--throttle-rate, --error-rate, --drop-rate, --per-key-rps, --session-seconds, --suspend-after,
--leave-after ACCOUNT=N, --join-after N=COUNT, --feature-unavailable FEATURE@REGION[,...],
--odd-answers, --external-id VALUE, --external-id-for ACCOUNT=VALUE (ACCOUNT: 12-digit id or
member index), --faults JSON, ...; --help. The organization flags (--suspended, --role-missing,
--region-disabled) name members by index; the main module (emulator.py) applies them.
"""

import argparse
import json

from seeding import member_account_id


def parser(description: str) -> argparse.ArgumentParser:
    """emulator.py's flags (--help lists them)."""
    parser = argparse.ArgumentParser(description=description)
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
    return parser


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
