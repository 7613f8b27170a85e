"""Reading a request as AWS's four protocols (and S3's REST) send it: its body, its form
(query protocol), and the name of its operation, by which the gate counts it and faults
select it.

The protocols: awsJson (X-Amz-Target: EventBridge, Organizations, CloudWatch Logs; CloudWatch
from boto3), query (form-encoded Action: STS, IAM, SNS, EC2), restJson1 (method and path:
GuardDuty, Chatbot; S3's REST) and Smithy RPC v2 CBOR (CloudWatch from the Rust SDK;
rpcv2_cbor.py).
"""

import io
from urllib.parse import parse_qs

import rpcv2_cbor
from registry import Registry


def read_body(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def parse_form(environ, body: bytes) -> dict:
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        return parse_qs(body.decode("utf-8", "replace"))
    return {}


def operation_name(service: str, environ, form: dict, registry: Registry) -> str:
    """AWS's name of the request's operation: from X-Amz-Target (awsJson), the form's Action
    (query), the path (Smithy RPC v2 CBOR), or method and path: the REST operations the
    extensions registered (registry.operations, registry.guardduty), S3's (s3_operation), a
    service the emulator answers itself (registry.service); else "METHOD path"."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    if "Action" in form:
        return form["Action"][0]
    if rpcv2_cbor.is_cbor(environ):  # CloudWatch's Smithy RPC v2 CBOR: /service/S/operation/OP
        return rpcv2_cbor.operation(environ)
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    for m, pattern, name in registry.rest.get(service, ()):
        if m == method and pattern.fullmatch(path):
            return name
    if service == "s3":
        return s3_operation(method, path, environ.get("QUERY_STRING", ""))
    own = registry.services.get(service)
    if own is not None:
        return own.operation(path)
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
