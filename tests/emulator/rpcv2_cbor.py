"""CloudWatch's Smithy RPC v2 CBOR protocol, which moto 5.2.5 does not speak.

CloudWatch's model lists the protocols smithy-rpc-v2-cbor, json (awsJson1_0) and query, with
the awsQueryCompatible trait. The AWS SDK for Rust (aws-sdk-cloudwatch 1.x, 1.140.0 here) sends
only rpcv2Cbor: POST /service/GraniteServiceVersion20100801/operation/OPERATION with
Content-Type and Accept application/cbor, smithy-protocol: rpc-v2-cbor, x-amzn-query-mode: true
and a CBOR body. moto 5.2.5 serves CloudWatch at "/" only, as query or awsJson1_0 (what boto3
1.44 sends: X-Amz-Target GraniteServiceVersion20100801.OPERATION, application/x-amz-json-1.0,
x-amzn-query-mode: true), so the Rust SDK's requests would get 404.

Adapter translates: the CBOR request becomes the awsJson1_0 request moto understands (same
member names; CBOR timestamps, tag 1, become epoch seconds; blobs base64), and moto's JSON answer
becomes CBOR by the operation's output shape in botocore's model (timestamps tag 1, doubles as
float64; members the model does not have are left out), with smithy-protocol: rpc-v2-cbor and
Content-Type application/cbor, as the Smithy RPC v2 CBOR specification requires of a server.
Errors: moto's {"__type", "message"} as a CBOR map, moto's x-amzn-query-error header
(CODE;Sender) kept, which the Rust SDK reads for the awsQuery-compatible code. error_body()
gives the emulator's own (injected) errors the same shape.
"""

import base64
import datetime
import io
import json
import re

import botocore.session
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

import wsgi

PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)")
SIGNING_NAME = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
CONTENT_TYPE = "application/cbor"
_models: dict[str, object] = {}


def is_cbor(environ) -> bool:
    return environ.get("HTTP_SMITHY_PROTOCOL", "").lower() == "rpc-v2-cbor" and bool(PATH.fullmatch(environ.get("PATH_INFO", "")))


def operation(environ) -> str | None:
    """The operation a Smithy RPC v2 request names in its path."""
    match = PATH.fullmatch(environ.get("PATH_INFO", ""))
    return match.group(2) if match else None


def _model(signing_name: str):
    service = {"monitoring": "cloudwatch"}.get(signing_name, signing_name)
    if service not in _models:
        _models[service] = botocore.session.get_session().get_service_model(service)
    return _models[service]


def warm_up() -> None:
    """Load CloudWatch's model before the first request (done lazily, the first concurrent
    requests would each load it)."""
    _model("monitoring")


def decode(body: bytes):
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body)) if body else {}


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return value


def _conform(value, shape):
    """The value with only the members the shape has (moto's answers carry a few more)."""
    if value is None or shape is None:
        return value
    if shape.type_name == "structure":
        return {k: _conform(v, shape.members[k]) for k, v in value.items() if k in shape.members and v is not None}
    if shape.type_name == "list":
        return [_conform(v, shape.member) for v in value]
    if shape.type_name == "map":
        return {k: _conform(v, shape.value) for k, v in value.items()}
    if shape.type_name in ("double", "float") and isinstance(value, int):
        return float(value)
    return value


def encode(value, shape=None) -> bytes:
    """CBOR of `value`: by `shape` (botocore's serializer), or of a map of strings."""
    serializer, out = RpcV2CBORSerializer(), bytearray()
    if shape is None:
        serializer._serialize_type_map(out, value, _StringMap, None)
    else:
        serializer._serialize_data_item(out, _conform(value, shape), shape)
    return bytes(out)


class _String:
    type_name = "string"


class _StringMap:
    type_name = "map"
    key = _String
    value = _String


def error_body(code: str, message: str) -> bytes:
    return encode({"__type": code, "message": message})


def error_headers(code: str, status: int) -> list[tuple[str, str]]:
    """An injected error's headers: the awsQuery-compatible code (x-amzn-query-error)."""
    return [
        ("Content-Type", CONTENT_TYPE), ("smithy-protocol", "rpc-v2-cbor"),
        ("x-amzn-query-error", f"{code};{'Receiver' if status >= 500 else 'Sender'}"),
    ]


class Adapter:
    """WSGI middleware in front of moto's dispatcher: rpcv2Cbor in, awsJson1_0 to moto, back."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if not is_cbor(environ):
            return self.app(environ, start_response)
        target, name = PATH.fullmatch(environ["PATH_INFO"]).groups()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = _jsonable(decode(environ["wsgi.input"].read(length) if length else b""))
        body = json.dumps(request).encode()
        environ.update({
            "PATH_INFO": "/", "CONTENT_TYPE": "application/x-amz-json-1.0", "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_AMZ_TARGET": f"{target}.{name}", "wsgi.input": io.BytesIO(body),
        })
        status, headers, raw = wsgi.call(self.app, environ)
        try:
            answer = json.loads(raw) if raw.strip() else {}
        except ValueError:  # moto's answer to what it does not serve (an HTML 404): not JSON
            answer = {"__type": "UnknownOperationException", "message": raw[:200].decode("utf-8", "replace")}
        if status.startswith("2"):
            signed = SIGNING_NAME.search(environ.get("HTTP_AUTHORIZATION", ""))
            shape = _model(signed.group(1) if signed else "monitoring").operation_model(name).output_shape
            encoded = encode(answer, shape) if shape is not None else encode({})
        else:
            encoded = error_body(answer.get("__type", "InternalFailure"), answer.get("message") or answer.get("Message") or "")
        kept = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length", "x-amzn-errortype")]
        start_response(status, kept + [
            ("Content-Type", CONTENT_TYPE), ("smithy-protocol", "rpc-v2-cbor"), ("Content-Length", str(len(encoded))),
        ])
        return [encoded]
