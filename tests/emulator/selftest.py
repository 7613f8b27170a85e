"""Self-test of the emulator's fault injection, with boto3 as the client (botocore parses each
protocol's errors as the Rust SDK does): `.venv/emulator/bin/python tests/emulator/selftest.py`.
Starts scripts/emulator's launcher on a free port, checks every fault kind, exits non-zero on
the first mismatch. About 10 seconds.
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

HERE = Path(__file__).resolve().parent
MEMBER = "100000000002"
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

    def control(self, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.endpoint}/_orgguard/{path}", method="GET" if body is None else "POST",
            data=None if body is None else json.dumps(body).encode(),
        )
        return json.load(urllib.request.urlopen(request))

    def client(self, service: str, credentials: dict | None = None):
        keys = (
            {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
             "aws_session_token": credentials["SessionToken"]}
            if credentials else {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        )
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", config=NO_RETRY, **keys)

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


def check(label: str, got, want) -> None:
    if got != want:
        raise SystemExit(f"FAIL {label}: got {got!r}, want {want!r}")
    print(f"ok   {label}: {got}")


def main() -> None:
    emulator = Emulator("--seed", "1")
    try:
        for service in CALLS:
            check(f"no fault {service}", outcome(emulator, service), ("ok", None))
        emulator.control("faults", {"throttle": 1.0})
        for service, want in THROTTLED.items():
            check(f"throttle {service}", outcome(emulator, service), want)
        emulator.control("faults", {"reset": True, "server_errors": {"rate": 1.0, "statuses": [500]}})
        for service, code in INTERNAL.items():
            check(f"500 {service}", outcome(emulator, service), (500, code))
        emulator.control("faults", {"reset": True, "server_errors": {"rate": 1.0, "statuses": [503]}})
        for service in CALLS:
            check(f"503 {service}", outcome(emulator, service), (503, "ServiceUnavailable"))
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
            "throttle", "server_error", "drop", "per_key_rps", "latency", "expired_token", "suspend", "suspended",
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
    print("selftest passed")


if __name__ == "__main__":
    main()
