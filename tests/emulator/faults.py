"""Fault injection for the emulator: latency, throttling (random and per-key token buckets),
server errors, dropped connections, short sessions, mid-run suspensions, mid-run changes
of the organization (accounts leaving, accounts joining) and odd answers (odd_answers.py).

Configured by startup flags (cli.py) and by POST /_orgguard/faults (apply()); every
decision is made in the gate (gate.Gate) before moto sees the request, except
"drop" with "after_processing", which lets moto act and then loses the response.

Random decisions are reproducible: a request's draw is a hash of (seed, kind, account,
region, service, operation, n) where n is that key's request number, so the same calls
get the same faults whatever the thread interleaving. Token buckets depend on time and
are not reproducible by nature.
"""

import hashlib
import threading
import time
from collections import Counter
from typing import Any

# Throttling as each service answers it: (HTTP status, error code, message).
# GuardDuty's model has no throttling shape; restJson services fronted like it answer 429
# ThrottlingException. EventBridge and Organizations (awsJson1.1) and STS and IAM (query)
# answer 400, as their models and AWS's common-errors page say; SNS models Throttled, 429.
THROTTLE: dict[str, tuple[int, str, str]] = {
    "guardduty": (429, "ThrottlingException", "Rate exceeded"),
    "events": (400, "ThrottlingException", "Rate exceeded"),
    "sts": (400, "Throttling", "Rate exceeded"),
    "iam": (400, "Throttling", "Rate exceeded"),
    "organizations": (
        400, "TooManyRequestsException",
        "You have sent too many requests in too short a period of time. The quota helps protect against "
        "denial-of-service attacks. Try again later.",
    ),
    "sns": (429, "Throttled", "Rate exceeded"),
    # EC2 API reference, "Request throttling": RequestLimitExceeded, HTTP 503. CloudWatch
    # (awsQuery-compatible) answers the query protocol's Throttling; CloudWatch Logs
    # (awsJson1.1) ThrottlingException, 400.
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "monitoring": (400, "Throttling", "Rate exceeded"),
    "logs": (400, "ThrottlingException", "Rate exceeded"),
}
DEFAULT_THROTTLE = (400, "ThrottlingException", "Rate exceeded")

# 500s: each service's modeled internal error; 503: the common ServiceUnavailable.
INTERNAL: dict[str, str] = {
    "guardduty": "InternalServerErrorException",
    "events": "InternalException",
    "sts": "InternalFailure",
    "iam": "ServiceFailure",
    "organizations": "ServiceException",
    "sns": "InternalError",
    "ec2": "InternalError",  # EC2 API reference, "Error codes": InternalError, 500
    "monitoring": "InternalServiceError",  # CloudWatch's InternalServiceFault (awsQueryError code)
    "logs": "ServiceUnavailableException",  # CloudWatch Logs' modeled server fault
}
INTERNAL_MESSAGE = "The request processing has failed because of an unknown error, exception or failure."
UNAVAILABLE = (503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")

# Query-protocol services name errors without the Exception suffix (CloudWatch too: its
# awsQueryCompatible errors keep the query codes).
QUERY_SERVICES = {"sts", "iam", "sns", "monitoring"}
# What AWS answers where the other services' access-denied codes (denial, suspended_call) differ.
DENIED_CODES = {
    "sns": "AuthorizationError", "sts": "AccessDenied", "iam": "AccessDenied", "s3": "AccessDenied",
    "monitoring": "AccessDenied", "ec2": "UnauthorizedOperation",  # EC2 API reference, "Error codes"
}
JSON_400 = ("events", "organizations", "logs")  # awsJson1.1 models carry no status: 400
EXPIRED_MESSAGE = "The security token included in the request is expired"
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
SUSPENDED_MESSAGE = "The AWS account that owns these credentials is suspended (closed)."
ALIASES = {"eventbridge": "events", "cloudwatch": "monitoring", "cloudwatchlogs": "logs"}


def expired_token(service: str) -> tuple[int, str, str]:
    """Requests signed with an expired session: 403, ExpiredToken (query) or
    ExpiredTokenException (JSON), as AWS's common errors and its SDKs show them; EC2 answers
    RequestExpired (EC2 API reference, "Error codes")."""
    if service == "ec2":
        return 400, "RequestExpired", "Request has expired."
    return 403, "ExpiredToken" if service in QUERY_SERVICES else "ExpiredTokenException", EXPIRED_MESSAGE


def invalid_token(service: str) -> tuple[int, str, str]:
    """Credentials AWS does not recognise (a Region the account has not enabled): EC2 401
    AuthFailure, CloudWatch 403 InvalidClientTokenId (EC2 API reference, "Error codes"; AWS's
    common errors); the other services as the gate always answered them."""
    if service == "ec2":
        return 401, "AuthFailure", "AWS was not able to validate the provided access credentials"
    if service == "monitoring":
        return 403, "InvalidClientTokenId", INVALID_TOKEN_MESSAGE
    return 403, "UnrecognizedClientException", INVALID_TOKEN_MESSAGE


def suspended_call(service: str, mode: str) -> tuple[int, str, str]:
    """A call with a session of an account that has been suspended (closed) since.
    AWS documents that a closed account "can no longer be used for any AWS activity" but not
    the error; "access_denied" (default) answers each service's access-denied error,
    "invalid_token" answers as for credentials AWS no longer recognises."""
    if mode == "invalid_token":
        if service in QUERY_SERVICES:
            return 403, "InvalidClientTokenId", INVALID_TOKEN_MESSAGE
        return invalid_token(service)
    code = "AccessDeniedException" if service == "s3" else DENIED_CODES.get(service, "AccessDeniedException")
    return 400 if service in JSON_400 else 403, code, SUSPENDED_MESSAGE


def _service(name: str) -> str:
    name = name.lower()
    return ALIASES.get(name, name)


def _rate(value: Any, name: str) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name}: a rate is between 0 and 1, not {value!r}")
    return rate


class Selector:
    """A fault that hits a fraction of requests, optionally only some services/operations."""

    __slots__ = ("rate", "services", "operations", "extra")

    def __init__(self, spec: Any, name: str) -> None:
        if isinstance(spec, (int, float)):
            spec = {"rate": spec}
        if not isinstance(spec, dict):
            raise ValueError(f"{name}: a rate or an object with rate, services, operations")
        unknown = set(spec) - {"rate", "services", "operations", "statuses", "after_processing"}
        if unknown:
            raise ValueError(f"{name}: unknown keys {sorted(unknown)}")
        self.rate = _rate(spec.get("rate", 0), name)
        services = spec.get("services")
        self.services = None if services in (None, "all", ["all"]) else {_service(s) for s in services}
        operations = spec.get("operations")
        self.operations = None if operations is None else set(operations)
        self.extra = {k: v for k, v in spec.items() if k in ("statuses", "after_processing")}

    def applies(self, service: str, operation: str) -> bool:
        return (
            self.rate > 0
            and (self.services is None or service in self.services)
            and (self.operations is None or operation in self.operations)
        )

    def describe(self) -> dict:
        result: dict[str, Any] = {"rate": self.rate}
        if self.services is not None:
            result["services"] = sorted(self.services)
        if self.operations is not None:
            result["operations"] = sorted(self.operations)
        result.update(self.extra)
        return result


class Bucket:
    __slots__ = ("tokens", "stamp")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class Faults:
    """The injected faults, their counters, and the per-key token buckets."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seed = 0
        self.counts: Counter = Counter()  # kind -> n
        self.rows: Counter = Counter()  # (kind, account, region, service, operation) -> n
        self.clear()

    def clear(self) -> None:
        """"reset": no latency, throttling, errors, drops, session limit, pending suspension,
        leave or join, no odd answers.
        Organization state (disabled regions, missing roles, suspended accounts) stays."""
        self.latency_ms = 0.0
        self.latency_jitter_ms = 0.0
        self.throttle: Selector | None = None
        self.server_errors: Selector | None = None
        self.denied: Selector | None = None
        self.drop: Selector | None = None
        self.per_key_rps: dict[str, float] = {}
        self.per_key_burst: dict[str, float] = {}
        self.buckets: dict[tuple, Bucket] = {}
        self.suspend_after: dict[str, int] = {}
        self.leave_after: dict[str, int] = {}
        self.join_after: list[list[int]] = []  # [management requests left, accounts to join]
        self.suspended_mode = "access_denied"
        self.session_seconds: int | None = None
        self.odd_answers = False  # the gate rewrites answers (odd_answers.py); not part of `active`
        self.active = False

    # ---- configuration -------------------------------------------------------------

    def apply(self, request: dict) -> None:
        """Applies the fault keys of a POST /_orgguard/faults body (the organization keys
        disabled_regions, role_missing and suspended are control.apply_faults')."""
        with self.lock:
            saved = dict(self.__dict__)
            try:
                self._apply(request)
            except Exception:
                self.__dict__.update(saved)  # all or nothing: a refused body changes nothing
                raise
            self._update_active()

    def _apply(self, request: dict) -> None:
        if request.get("reset"):
            self.clear()
        if "seed" in request:
            self.seed = int(request["seed"])
        if "latency_ms" in request:
            self.latency_ms = max(0.0, float(request["latency_ms"]))
        if "latency_jitter_ms" in request:
            self.latency_jitter_ms = max(0.0, float(request["latency_jitter_ms"]))
        if "throttle" in request:
            self.throttle = Selector(request["throttle"], "throttle")
        if "server_errors" in request:
            self.server_errors = Selector(request["server_errors"], "server_errors")
            statuses = self.server_errors.extra.get("statuses", [500, 503])
            if not statuses or not set(statuses) <= {500, 503}:
                raise ValueError("server_errors.statuses: a non-empty subset of [500, 503]")
        if "denied" in request:
            self.denied = Selector(request["denied"], "denied")
        if "drop_rate" in request:
            self.drop = Selector(request["drop_rate"], "drop_rate")
        if "drop" in request:
            self.drop = Selector(request["drop"], "drop")
        if "per_key_rps" in request:
            self.per_key_rps = _limits(request["per_key_rps"], "per_key_rps")
            self.buckets = {}
        if "per_key_burst" in request:
            self.per_key_burst = _limits(request["per_key_burst"], "per_key_burst")
            self.buckets = {}
        if "session_seconds" in request:
            value = request["session_seconds"]
            self.session_seconds = None if value in (None, 0) else int(value)
            if self.session_seconds is not None and self.session_seconds < 1:
                raise ValueError("session_seconds: a positive number of seconds, or null")
        if "suspend_after_requests" in request:
            pending = dict(self.suspend_after)
            for account, n in request["suspend_after_requests"].items():
                if int(n) < 1:
                    raise ValueError("suspend_after_requests: counts are >= 1")
                pending[str(account)] = int(n)
            self.suspend_after = pending
        if "leave_after_requests" in request:
            pending = dict(self.leave_after)
            for account, n in _object(request["leave_after_requests"], "leave_after_requests").items():
                if int(n) < 1:
                    raise ValueError("leave_after_requests: counts are >= 1")
                pending[str(account)] = int(n)
            self.leave_after = pending
        if "join_after_requests" in request:
            joins = [list(j) for j in self.join_after]
            for n, count in _object(request["join_after_requests"], "join_after_requests").items():
                if int(n) < 1 or int(count) < 1:
                    raise ValueError("join_after_requests: {\"N\": count} with N >= 1 and count >= 1")
                joins.append([int(n), int(count)])
            self.join_after = joins
        if "odd_answers" in request:
            if not isinstance(request["odd_answers"], bool):
                raise ValueError("odd_answers: true or false")
            self.odd_answers = request["odd_answers"]
        if "suspended_error" in request:
            if request["suspended_error"] not in ("access_denied", "invalid_token"):
                raise ValueError("suspended_error: access_denied or invalid_token")
            self.suspended_mode = request["suspended_error"]

    def _update_active(self) -> None:
        self.active = bool(
            self.latency_ms or self.latency_jitter_ms or self.throttle or self.server_errors
            or self.denied or self.drop or self.per_key_rps or self.suspend_after or self.leave_after or self.join_after
        )

    def describe(self) -> dict:
        with self.lock:
            return {
                "seed": self.seed,
                "latency_ms": self.latency_ms,
                "latency_jitter_ms": self.latency_jitter_ms,
                "throttle": self.throttle.describe() if self.throttle else None,
                "server_errors": self.server_errors.describe() if self.server_errors else None,
                "denied": self.denied.describe() if self.denied else None,
                "drop": self.drop.describe() if self.drop else None,
                "per_key_rps": dict(self.per_key_rps),
                "per_key_burst": dict(self.per_key_burst),
                "session_seconds": self.session_seconds,
                "suspend_after_requests": dict(self.suspend_after),
                "leave_after_requests": dict(self.leave_after),
                "join_after_requests": _joins(self.join_after),
                "suspended_error": self.suspended_mode,
                "odd_answers": self.odd_answers,
            }

    # ---- decisions ----------------------------------------------------------------

    def draw(self, kind: str, key: tuple, n: int) -> float:
        """A uniform number in [0, 1) fixed by the seed, the fault kind, the request's
        (account, region, service, operation) and its number n for that key."""
        text = f"{self.seed}|{kind}|{'|'.join(key)}|{n}".encode()
        return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2.0**64

    def hits(self, selector: Selector | None, kind: str, key: tuple, n: int) -> bool:
        return (
            selector is not None
            and selector.applies(key[2], key[3])
            and self.draw(kind, key, n) < selector.rate
        )

    def delay(self, key: tuple, n: int) -> float:
        """Seconds to wait before answering."""
        if not (self.latency_ms or self.latency_jitter_ms):
            return 0.0
        jitter = self.latency_jitter_ms * self.draw("latency", key, n) if self.latency_jitter_ms else 0.0
        return (self.latency_ms + jitter) / 1000.0

    def server_error(self, key: tuple, n: int) -> tuple[int, str, str] | None:
        if not self.hits(self.server_errors, "server_error", key, n):
            return None
        statuses = sorted(self.server_errors.extra.get("statuses", [500, 503]))
        status = statuses[int(self.draw("server_error_status", key, n) * len(statuses))]
        if status == 503:
            return UNAVAILABLE
        return 500, INTERNAL.get(key[2], "InternalFailure"), INTERNAL_MESSAGE

    def denial(self, key: tuple, n: int, caller: str) -> tuple[int, str, str] | None:
        """What AWS answers a caller whose policy does not allow the operation (an older
        policy without an action added since, for example)."""
        if not self.hits(self.denied, "denied", key, n):
            return None
        service, operation = key[2], key[3]
        code = DENIED_CODES.get(service, "AccessDeniedException")
        status = 400 if service in JSON_400 else 403
        return status, code, f"User: {caller} is not authorized to perform: {service}:{operation}"

    def rate_limited(self, key: tuple) -> bool:
        """True when the (account, region, service) bucket - or the (..., operation) bucket
        when per_key_rps names "service:Operation" - has no token left."""
        if not self.per_key_rps:
            return False
        account, region, service, operation = key
        name = f"{service}:{operation}"
        if name in self.per_key_rps:
            bucket_key = (account, region, service, operation)
        elif service in self.per_key_rps:
            name, bucket_key = service, (account, region, service)
        else:
            return False
        rate = self.per_key_rps[name]
        burst = self.per_key_burst.get(name, max(1.0, rate))
        now = time.monotonic()
        with self.lock:
            bucket = self.buckets.get(bucket_key)
            if bucket is None:
                bucket = self.buckets[bucket_key] = Bucket(burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return False
            return True

    def suspension_due(self, account: str) -> bool:
        """Counts a request made in a watched account; True once its allowance is spent
        (the request that spends it still succeeds; the account is suspended after it)."""
        return self._countdown(self.suspend_after, account)

    def leave_due(self, account: str) -> bool:
        """As suspension_due, for leave_after_requests: the account leaves the organization
        after the request that spends its allowance."""
        return self._countdown(self.leave_after, account)

    def _countdown(self, table: dict[str, int], account: str) -> bool:
        if account not in table:
            return False
        with self.lock:
            left = table.get(account)
            if left is None:
                return False
            if left <= 1:
                del table[account]
                self._update_active()
                return True
            table[account] = left - 1
            return False

    def joins_due(self) -> int:
        """Counts a request served in the management account; returns how many accounts join
        the organization after it (the sum of the join_after_requests entries it completes)."""
        if not self.join_after:
            return 0
        with self.lock:
            due, left = 0, []
            for n, count in self.join_after:
                if n <= 1:
                    due += count
                else:
                    left.append([n - 1, count])
            self.join_after = left
            self._update_active()
            return due

    # ---- accounting ---------------------------------------------------------------

    def record(self, kind: str, key: tuple) -> None:
        with self.lock:
            self.counts[kind] += 1
            self.rows[(kind, *key)] += 1

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.rows.clear()

    def counts_json(self) -> dict:
        with self.lock:
            return {
                "faults": dict(sorted(self.counts.items())),
                "fault_requests": [
                    {"kind": k, "account": a, "region": r, "service": s, "operation": o, "count": n}
                    for (k, a, r, s, o), n in sorted(self.rows.items())
                ],
            }


def _object(spec: Any, name: str) -> dict:
    if not isinstance(spec, dict):
        raise ValueError(f"{name}: a JSON object")
    return spec


def _joins(joins: list[list[int]]) -> dict[str, int]:
    """The pending joins as join_after_requests reads them: {"N": count}, N from now."""
    result: dict[str, int] = {}
    for n, count in joins:
        result[str(n)] = result.get(str(n), 0) + count
    return result


def _limits(spec: Any, name: str) -> dict[str, float]:
    """{"guardduty": 50, "sns:Subscribe": 100} or "guardduty=50,sns:Subscribe=100"."""
    if isinstance(spec, str):
        spec = dict(item.split("=", 1) for item in spec.split(",") if item)
    if not isinstance(spec, dict):
        raise ValueError(f"{name}: an object service[:Operation] -> requests per second")
    result = {}
    for key, value in spec.items():
        service, _, operation = key.partition(":")
        rate = float(value)
        if rate <= 0:
            raise ValueError(f"{name}.{key}: a positive rate")
        result[_service(service) + (f":{operation}" if operation else "")] = rate
    return result
