"""The orgguard emulator: moto in server mode, with an organization seeded and
AWS's behaviour added where moto is lenient.

It runs moto's WSGI dispatcher in-process behind a gate that
- attributes every request to (account, region, service, operation) and counts it;
- refuses calls into regions an account has not enabled (UnrecognizedClientException, 403);
- refuses AssumeRole into accounts whose role cannot be assumed (AccessDenied);
- serves a control API under /_orgguard/ for tests: request counts, backend state,
  and changes to the world (faults, hand-made drift).

Run it through scripts/emulator, which installs the pinned virtualenv first.
"""

import argparse
import io
import json
import logging
import re
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends
from werkzeug.serving import make_server

import control_ext
import guardduty_ext
import guardduty_org

MANAGEMENT_ACCOUNT = DEFAULT_ACCOUNT_ID
REGIONAL_SERVICES = {"guardduty", "sns", "events"}
READ_ONLY_PREFIXES = ("Get", "List", "Describe")
NOT_MUTATING = {"AssumeRole", "GetCallerIdentity"}


def member_account_id(index: int) -> str:
    """Stable member ids: 100000000001, 100000000002, ..."""
    return f"{100000000000 + index:012d}"


class World:
    """What the emulator knows beyond moto: faults per account and request counts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.disabled_regions: dict[str, set[str]] = {}
        self.role_missing: set[str] = set()
        self.counts: Counter = Counter()
        self.key_accounts: dict[str, str] = {}

    def account_for_key(self, access_key: str) -> str:
        account = self.key_accounts.get(access_key)
        if account is None:
            account = get_account_id_from(access_key)
            self.key_accounts[access_key] = account
        return account

    def count(self, key: tuple) -> None:
        with self.lock:
            self.counts[key] += 1

    def counts_json(self) -> dict:
        with self.lock:
            rows = [
                {"account": a, "region": r, "service": s, "operation": o, "count": n}
                for (a, r, s, o), n in sorted(self.counts.items())
            ]
        mutating = sum(row["count"] for row in rows if is_mutating(row["operation"]))
        return {"requests": rows, "total": sum(r["count"] for r in rows), "mutating": mutating}


def is_mutating(operation: str) -> bool:
    return operation not in NOT_MUTATING and not operation.startswith(READ_ONLY_PREFIXES)


def seed_organization(accounts: int, suspended: set[int], names_prefix: str = "member") -> list[str]:
    """Create the organization in the management account and `accounts` members with stable ids."""
    # AWS pages ListAccounts by 20; moto's default page key (JoinedTimestamp) is not unique.
    from moto.organizations.utils import PAGINATION_MODEL

    PAGINATION_MODEL["list_accounts"].update(unique_attribute="Id", limit_default=20)
    backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
    backend.create_organization(region="us-east-1", FeatureSet="ALL")
    original = org_utils.make_random_account_id
    base = datetime(2024, 1, 1)  # naive, as moto keeps its times
    try:
        for i in range(1, accounts + 1):
            org_utils.make_random_account_id = lambda: member_account_id(i)
            backend.create_account(AccountName=f"{names_prefix}-{i:05d}", Email=f"{names_prefix}-{i}@example.com")
            account = backend.accounts[-1]
            account.create_time = base + timedelta(minutes=i)
            if i in suspended:
                account.status = account.state = "SUSPENDED"
    finally:
        org_utils.make_random_account_id = original
    return [member_account_id(i) for i in range(1, accounts + 1)]


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
        account = self.world.account_for_key(access_key)
        form = parse_form(environ, body)
        operation = operation_name(service, environ, form)
        self.world.count((account, region if service in REGIONAL_SERVICES else "global", service, operation))

        if service in REGIONAL_SERVICES and region in self.world.disabled_regions.get(account, ()):
            return aws_error(
                environ, start_response, service, 403, "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        if service == "sts" and operation == "AssumeRole":
            target = (form.get("RoleArn") or [""])[0].split(":")
            if len(target) > 4 and target[4] in self.world.role_missing:
                return aws_error(
                    environ, start_response, service, 403, "AccessDenied",
                    f"User: arn:aws:iam::{account}:root is not authorized to perform: "
                    f"sts:AssumeRole on resource: {':'.join(target)}",
                )
        return self.app(environ, start_response)


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
    ("POST", r"/detector/[^/]+/member", "CreateMembers"),
    ("POST", r"/detector/[^/]+/member/get", "GetMembers"),
    ("POST", r"/detector/[^/]+/member/detector/get", "GetMemberDetectors"),
    ("GET", r"/detector/[^/]+/member", "ListMembers"),
    ("POST", r"/detector/[^/]+/member/disassociate", "DisassociateMembers"),
    ("POST", r"/detector/[^/]+/member/delete", "DeleteMembers"),
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
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    if service == "guardduty":
        for m, pattern, name in GUARDDUTY_OPERATIONS:
            if m == method and re.fullmatch(pattern, path):
                return name
    return f"{method} {path}"


def aws_error(environ, start_response, service: str, status: int, code: str, message: str):
    """An error in the wire protocol the caller used, so the SDK parses its code."""
    content_type = environ.get("CONTENT_TYPE", "")
    if "x-www-form-urlencoded" in content_type:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>orgguard-emulator</RequestId></ErrorResponse>"
        )
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps({"__type": code, "message": message, "Message": message})
        headers = [("Content-Type", "application/json"), ("X-Amzn-ErrorType", code)]
    start_response(f"{status} Error", headers)
    return [body.encode()]


def control(world: World, environ, start_response):
    """The test API: GET counts, state, guardduty-org, wiring; POST counts/reset, faults, detector, drift."""
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    body = read_body(environ)
    request = json.loads(body) if body else {}
    try:
        if method == "GET" and path == "/_orgguard/counts":
            result = world.counts_json()
        elif method == "POST" and path == "/_orgguard/counts/reset":
            with world.lock:
                world.counts.clear()
            result = {}
        elif method == "GET" and path == "/_orgguard/state":
            result = {"detectors": guardduty_ext.all_detectors()}
        elif method == "GET" and path == "/_orgguard/guardduty-org":
            result = guardduty_org.organization_state()
        elif method == "POST" and path == "/_orgguard/faults":
            apply_faults(world, request)
            result = {}
        elif method == "POST" and path == "/_orgguard/detector":
            result = {"detectorId": guardduty_ext.put_detector(**request)}
        elif method == "GET" and path == "/_orgguard/wiring":
            result = control_ext.wiring_state()
        elif method == "POST" and path == "/_orgguard/drift":
            result = control_ext.drift(request)
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error":"no such control endpoint"}']
    except (KeyError, TypeError, ValueError) as error:
        start_response("400 Bad Request", [("Content-Type", "application/json")])
        return [json.dumps({"error": repr(error)}).encode()]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(result).encode()]


def apply_faults(world: World, request: dict) -> None:
    for account, regions in request.get("disabled_regions", {}).items():
        world.disabled_regions.setdefault(account, set()).update(regions)
    world.role_missing.update(request.get("role_missing", []))
    backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
    suspended = set(request.get("suspended", []))
    for account in backend.accounts:
        if account.id in suspended:
            account.status = account.state = "SUSPENDED"


def parse_account_regions(values: list[str]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for value in values:
        account, _, regions = value.partition(":")
        result.setdefault(account, set()).update(r for r in regions.split(",") if r)
    return result


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
    args = parser.parse_args()

    indexes = lambda text: {int(x) for x in text.split(",") if x}  # noqa: E731
    members = seed_organization(args.accounts, indexes(args.suspended))
    world = World()
    world.role_missing = {member_account_id(i) for i in indexes(args.role_missing)}
    for index, regions in parse_account_regions(args.region_disabled).items():
        world.disabled_regions[member_account_id(int(index))] = regions
    guardduty_ext.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    app = Gate(DomainDispatcherApplication(create_backend_app), world)
    server = make_server(args.host, args.port, app, threaded=True)
    endpoint = f"http://{args.host}:{server.server_port}"
    print(
        f"READY {endpoint} management={MANAGEMENT_ACCOUNT} members={len(members)}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
