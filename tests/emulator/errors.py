"""AWS-shaped errors for the emulator's own refusals (faults, the gate's checks, services it
answers itself), in the wire protocol of the request, so the SDK parses the code as it would
AWS's.
"""

import json
from xml.sax.saxutils import escape

import rpcv2_cbor


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
