"""Where a call's CPU goes: sorts the samples of a `perf record -e cpu-clock --call-graph dwarf`
(of orgguard or of examples/sdk_floor) into areas by the frames of each sample's stack.
scripts/bench profile's body.

A sample under the building or dropping of an SDK client counts there, wherever it ended;
any other sample counts in the area of its innermost frame that names one (so memcpy, the
allocator and the kernel count for whoever called them), or in "other" when none does."""

import re
import subprocess
from collections import Counter

# Building an account-region's clients (config layers, runtime plugins) and dropping them.
CLIENTS = re.compile(
    r"::Client::from_conf|::config::Builder::build|::config::Builder as core::convert::From|SdkConfig::to_builder"
    r"|sdk_config::Builder::build|drop_in_place<aws_sdk_\w+::client::Client>|drop_in_place<aws_sdk_\w+::config::Config>"
    r"|orgguard::aws::AccountSession::(guardduty|sns|events|iam|network|regional)\b")

# Innermost frame first: the first of these a frame matches is its area.
AREAS = (
    ("XML and JSON (requests, answers, policies)",
     r"aws_smithy_json|aws_smithy_xml|aws_smithy_query|xmlparser|serde_json|::protocol_serde::|aws_smithy_types::date_time"),
    ("signing, endpoints, identity, SDK interceptors",
     r"aws_sigv4|aws_runtime::|aws_credential_types|aws_smithy_runtime::client::(identity|auth|orchestrator::(auth|endpoints)|interceptors)"
     r"|aws_smithy_runtime_api::client::(identity|auth|endpoint)|::config::endpoint|aws_endpoint|endpoint_lib|orgguard::aws::credentials"),
    ("rate limiter, throttle budget", r"governor|orgguard::aws::(limits|retry)|quanta::"),
    ("HTTP and sockets", r"hyper|http_body|h2::|aws_smithy_http_client|tokio::net::|mio::|httparse|aws_smithy_runtime::client::http"
                         r"|aws_smithy_runtime_api::http|aws_smithy_types::body|aws_smithy_http::"),
    ("tokio's scheduler and timers", r"tokio::|futures_util::|futures_core::|futures_channel::|parking_lot"),
    ("SDK orchestrator, per-call config and retries",
     r"aws_smithy_runtime|aws_smithy_types|aws_smithy_async|aws_types|aws_sdk_\w+::|tracing"),
    ("orgguard's own code", r"orgguard::|sdk_floor::"),
)
COMPILED = [(name, re.compile(pattern)) for name, pattern in AREAS]
CLIENT_AREA = "building and dropping clients"
NAMES = [CLIENT_AREA, *(name for name, _ in AREAS), "other (start-up, std, unattributed)"]


def samples(perf_data):
    """Each sample's stack (innermost first) as (symbol, dso) pairs, from `perf script`."""
    text = subprocess.run(["perf", "script", "-i", str(perf_data), "-F", "ip,sym,dso", "--no-inline"],
                          capture_output=True, text=True, check=True).stdout
    for block in text.split("\n\n"):
        frames = []
        for line in block.splitlines():
            # "    7f12ab34cd56 symbol+0x1f (/path/dso)"
            parts = line.strip().split(" ", 1)
            if len(parts) == 2:
                symbol, _, dso = parts[1].rpartition(" (")
                frames.append((symbol, dso.rstrip(")")))
        if frames:
            yield frames


def area(frames):
    if any(CLIENTS.search(symbol) for symbol, _ in frames):
        return CLIENT_AREA
    for symbol, _ in frames:
        for name, pattern in COMPILED:
            if pattern.search(symbol):
                return name
    return NAMES[-1]


def profile(perf_data):
    """Samples by area, and how many ended in the kernel and in the allocator."""
    by_area, kernel, allocator, total = Counter(), 0, 0, 0
    for frames in samples(perf_data):
        total += 1
        by_area[area(frames)] += 1
        leaf_symbol, leaf_dso = frames[0]
        kernel += "kernel" in leaf_dso
        allocator += leaf_symbol.startswith(("mi_", "_mi_"))
    return {"areas": dict(by_area), "kernel": kernel, "allocator": allocator, "samples": total}


def difference(smaller, larger):
    """The samples of one run less another's: what calls added, without start-up."""
    return {"areas": {name: larger["areas"].get(name, 0) - smaller["areas"].get(name, 0) for name in NAMES},
            **{key: larger[key] - smaller[key] for key in ("kernel", "allocator", "samples")}}


def per_call(prof, frequency, calls):
    """A profile in us of CPU per call: samples x (1 / frequency) / calls."""
    us = 1e6 / frequency / calls
    return {"areas": {name: prof["areas"].get(name, 0) * us for name in NAMES},
            "kernel": prof["kernel"] * us, "allocator": prof["allocator"] * us, "total": prof["samples"] * us}
