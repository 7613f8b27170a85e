"""The gate: WSGI middleware in front of moto that every AWS request passes through.

For each signed request it
- attributes it to (account, region, service, operation) and counts it (service: the signing
  name, so CloudWatch is "monitoring", CloudWatch Logs "logs"; region "global" for services
  outside REGIONAL_SERVICES and those the extensions made regional: STS, IAM, Organizations,
  S3, Chatbot); the account is the one the access key acts in (fastpath.KEYS), the operation
  is named by protocols.operation_name;
- injects the faults in force (faults.py): latency and dropped connections first, then, after
  authentication as AWS does it (expired sessions, suspended accounts, regions not enabled),
  throttling, per-key rate limits, server errors and denials;
- refuses AssumeRole into accounts whose role cannot be assumed, or whose roles' trust
  requires an sts:ExternalId the call does not send (AccessDenied);
- hands the request to moto, or to the emulator's own service (registry.service: Chatbot),
  or, under the fault odd_answers, to moto and then the answer's rewrite (odd_answers.py);
- makes the organization changes that fell due (suspend, leave, join after N requests).
Requests under /_orgguard/ go to the control API (control.py); unsigned ones straight to moto.
Every refusal is an AWS-shaped error in the caller's protocol (errors.aws_error).
"""

import json
import re
import socket
import time

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

import fastpath
import faults as faults_module
import odd_answers
import wsgi
from control import control
from errors import aws_error
from protocols import operation_name, parse_form, read_body
from registry import Registry
from seeding import MANAGEMENT_ACCOUNT
from world import World

# Signing names of the regional services the emulator serves (extensions add theirs: registry.regional).
REGIONAL_SERVICES = {"guardduty", "sns", "events", "ec2", "logs", "monitoring"}
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")


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


class Gate:
    """WSGI middleware in front of moto: attribution, counting, faults, control API."""

    def __init__(self, app, world: World, registry: Registry):
        self.app = app
        self.world = world
        self.registry = registry
        self.regional = REGIONAL_SERVICES | registry.regional_services

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_orgguard/"):
            return control(self.world, self.registry, environ, start_response)
        body = read_body(environ)
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope:
            return self.app(environ, start_response)
        access_key, region, service = scope.groups()
        world, faults = self.world, self.world.faults
        account = world.account_for_key(access_key)
        form = parse_form(environ, body)
        operation = operation_name(service, environ, form, self.registry)
        key = (account, region if service in self.regional else "global", service, operation)
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
        if service in self.regional and region in world.disabled_regions.get(account, ()):
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
        own = self.registry.services.get(service)
        if own is not None:  # a service moto does not have: the emulator's own (registry.service)
            status, answer, code = own.answer(account, region, path, body)
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
