"""scripts/bench's body: run named scenarios against the emulator and print one table.

Per scenario: seed the emulator and measure its capacity (the most signed requests/s it serves
to 1, 2, 4 or 8 plain clients) before the scenario's faults are injected; time a fresh rollout
and a no-change rollout of orgguard, taking its CPU time from wait4, its peak RSS from its own
VmHWM (--summary-json), and the API calls by service (and the faults injected) from the
emulator's counters; then, faults off again, measure the AWS SDK's own CPU per call
(examples/sdk_floor.rs) for each service the runs called.

The lower bound of a run is the largest of calls / capacity (the emulator is saturated),
calls x injected latency / concurrency (every slot is waiting) and the busiest rate-limit
key's calls at the plan's rate (orgguard waits for it); efficiency = wall / bound.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import botocore.session

ROOT = Path(__file__).resolve().parent.parent
# ORGGUARD_BIN, SDK_FLOOR_BIN: other builds of the two (e.g. copies, while target/ is being rebuilt).
ORGGUARD = Path(os.environ.get("ORGGUARD_BIN") or ROOT / "target/release/orgguard")
# `threads` alternates this build's runs with those of another (an A/B of a change) when set.
BASELINE = os.environ.get("ORGGUARD_BASELINE_BIN")
SDK_FLOOR = Path(os.environ.get("SDK_FLOOR_BIN") or ROOT / "target/release/examples/sdk_floor")
# The emulator takes any signed request; every process the bench starts gets these.
ENV = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
PLAN = ROOT / "plans/example.toml"
DETECTORS_ONLY = ROOT / "plans/detectors-only.toml"
EXFILTRATION = ROOT / "plans/network-exfiltration.toml"
THREE = "us-east-1,eu-west-1,ap-northeast-1"
# The 17 Regions every account has enabled by default (the others are opt-in).
DEFAULT_17 = ("us-east-1,us-east-2,us-west-1,us-west-2,ca-central-1,sa-east-1,eu-west-1,eu-west-2,eu-west-3,"
              "eu-central-1,eu-north-1,ap-south-1,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-southeast-1,ap-southeast-2")

# name -> (accounts, regions or None for the plan's "all", faults (POST /_orgguard/faults), concurrency, plan,
# and optionally the emulator's startup flags)
SCENARIOS = {
    "quick": (500, THREE, {}, 64, PLAN),
    # The same with seed 004's exfiltration alarm: 0, 1 or 2 VPCs per account-region. `quick` runs it too.
    "quick-exfiltration": (500, THREE, {}, 64, EXFILTRATION, ("--vpcs-per-region", "0,1,2")),
    "5000x3": (5000, THREE, {}, 64, PLAN),
    "5000x17": (5000, DEFAULT_17, {"latency_ms": 50}, 256, PLAN),
    # Every Region the plan's "all" names (34), each one enabled in every account.
    "5000xall": (5000, None, {"latency_ms": 50}, 256, PLAN),
    "soak": (5000, THREE, {"throttle": {"rate": 0.2}, "server_errors": {"rate": 0.02}, "seed": 7}, 64, PLAN),
    # Beyond 5000: discovery, membership batches, the work queue and memory at 50,000 accounts.
    "50000x1": (50000, "us-east-1", {}, 256, DETECTORS_ONLY),
}


def start_emulator(accounts, *extra):
    started = time.monotonic()
    process = subprocess.Popen(
        [str(ROOT / "scripts/emulator"), "--port", "0", "--accounts", str(accounts), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    for line in process.stdout:
        if line.startswith("READY"):
            return process, line.split()[1], time.monotonic() - started
    raise SystemExit(f"the emulator did not start for {accounts} accounts")


def control(endpoint, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_orgguard/{path}", data=data)) as response:
        return json.load(response)


def capacity(endpoint, seconds=5.0, threads=8):
    """Signed GuardDuty ListDetectors calls per second the emulator serves to botocore."""
    done = Counter()
    deadline = time.monotonic() + seconds

    def worker(n):
        client = botocore.session.get_session().create_client(
            "guardduty", region_name="us-east-1", endpoint_url=endpoint,
            aws_access_key_id="bench", aws_secret_access_key="bench",
        )
        while time.monotonic() < deadline:
            try:
                client.list_detectors()
                done[n] += 1
            except Exception:  # an error answer is a request served too
                done[n] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done.values()) / seconds


# The services examples/sdk_floor.rs has a call of; orgguard's other calls (Organizations, EC2,
# Logs, CloudWatch) are left out of the floor of its mix.
FLOOR_SERVICES = ("guardduty", "sns", "events", "iam", "sts")


def sdk_floor(endpoint, service="guardduty", calls=3000, threads=1):
    """The AWS SDK's own CPU per call of one service (examples/sdk_floor.rs) on `threads`
    threads: the difference between a run of 2 x calls and one of calls, so that start-up
    does not count."""
    cpu = []
    for n in (calls, 2 * calls):
        process = subprocess.Popen([str(SDK_FLOOR), endpoint, str(n), service, str(threads)], stdout=subprocess.DEVNULL, env=ENV)
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return float("nan")  # a call failed: no floor to compare with
        cpu.append(usage.ru_utime + usage.ru_stime)
    return 1e6 * (cpu[1] - cpu[0]) / calls


def floors_of(endpoint, runs, threads=1):
    """The SDK's floor of each service the runs called, measured after them with the faults off."""
    control(endpoint, "faults", {"reset": True})
    called = {service for run in runs for service in run["calls_by_service"]}
    return {service: sdk_floor(endpoint, service, threads=threads) for service in FLOOR_SERVICES if service in called}


def run_orgguard(endpoint, regions, concurrency, plan, threads=None, prefix=(), binary=ORGGUARD):
    """A rollout, run under `prefix` (a profiler) if given."""
    summary = ROOT / "target/bench/summary.json"
    args = [*prefix, str(binary), "rollout", "--plan", str(plan), "--concurrency", str(concurrency), "--endpoint-url", endpoint,
            "--summary-json", str(summary)]
    if regions:
        args += ["--regions", regions]
    if threads:
        args += ["--threads", str(threads)]
    control(endpoint, "counts/reset", {})
    started = time.monotonic()
    # In target/bench, where the rollout's journal goes too.
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV, text=True, cwd=ROOT / "target/bench")
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    counts = control(endpoint, "counts")
    by_service = Counter()
    for row in counts["requests"]:
        by_service[row["service"]] += row["count"]
    busiest_s, busiest = busiest_key(counts["requests"])
    statuses = dict(re.findall(r"^\s+(applied|unchanged|failed|skipped|planned)\s+(\d+)$", output, re.M))
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "wall_s": wall,
        "calls": counts["total"],
        "mutating": counts["mutating"],
        "calls_by_service": dict(sorted(by_service.items())),
        "busiest_key_s": busiest_s, "busiest_key": busiest,
        "faults": counts.get("faults", {}),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        # orgguard's own VmHWM: wait4's ru_maxrss would count this Python process, which the
        # child was a copy of until it ran orgguard.
        "peak_rss_mb": json.loads(summary.read_text()).get("peak_rss_mb", 0.0),
        "results": {k: int(v) for k, v in statuses.items()},
    }


# The plans' default rate limits (src/model/mod.rs Rates::default), calls per second per key:
# account and region; IAM per account; STS and Organizations one budget for the whole run.
RATES = {"guardduty": 10, "sns": 25, "events": 40, "iam": 10, "ec2": 20, "logs": 5, "monitoring": 3, "sts": 200,
         "organizations": 4}
# The real-AWS projection's assumptions: a call's latency, and the cores.
AWS_LATENCY_S = 0.050
PROJECTED_CORES = (2, 4, 8)


def busiest_key(rows):
    """The rate-limit key whose calls take longest at the plan's rates: (seconds, key)."""
    calls = Counter()
    for row in rows:
        service = row["service"]
        account = None if service in ("sts", "organizations") else row["account"]
        region = None if service in ("sts", "organizations", "iam") else row["region"]
        calls[(service, account, region)] += row["count"]
    return max(((n / RATES.get(key[0], 10), key) for key, n in calls.items()), default=(0.0, None))


def projection(run, concurrency, cores):
    """The run's wall time on AWS, where each account-region has its own quotas, by
    src/estimate.rs's model: the largest of every call at AWS_LATENCY_S with `concurrency` in
    flight, orgguard's CPU per call (as measured here) over `cores`, and the busiest key's
    calls at its rate."""
    return max(run["calls"] * AWS_LATENCY_S / concurrency, run["calls"] * run["cpu_us_per_call"] / 1e6 / cores,
               run["busiest_key_s"])


def mix_floor(floors, calls_by_service):
    """The SDK's own CPU per call for a run's mix of services: each service's floor weighted
    by the run's calls of it."""
    mix = {s: n for s, n in calls_by_service.items() if s in floors}
    return sum(floors[s] * n for s, n in mix.items()) / max(1, sum(mix.values()))


def progress(name, label, run):
    """A line per finished run, for the scenarios that take an hour."""
    print(f'bench: {name} {label}: exit {run["exit"]}, {run["calls"]} calls in {run["wall_s"]:.0f} s, '
          f'{run["cpu_s"]:.0f} s CPU, peak {run["peak_rss_mb"]:.0f} MB, {run["results"]}', file=sys.stderr, flush=True)


def scenario(name):
    accounts, regions, faults, concurrency, plan, *extra = SCENARIOS[name]
    emulator, endpoint, seeding = start_emulator(accounts, *(extra[0] if extra else ()))
    try:
        # The emulator's best: its threads share one interpreter, so more clients can mean less.
        served = max(capacity(endpoint, seconds=3.0, threads=n) for n in (1, 2, 4, 8))
        control(endpoint, "faults", faults)
        fresh = run_orgguard(endpoint, regions, concurrency, plan)
        progress(name, "fresh", fresh)
        again = run_orgguard(endpoint, regions, concurrency, plan)
        progress(name, "no change", again)
        floors = floors_of(endpoint, (fresh, again))
    finally:
        emulator.terminate()
        emulator.wait()
    latency = faults.get("latency_ms", 0) / 1000
    for run in (fresh, again):
        run["lower_bound_s"] = max(run["calls"] / served, run["calls"] * latency / concurrency, run["busiest_key_s"])
        run["efficiency"] = run["wall_s"] / run["lower_bound_s"]
        run["calls_per_s"] = run["calls"] / run["wall_s"]
        run["cpu_us_per_call"] = 1e6 * run["cpu_s"] / run["calls"]
        run["sdk_floor_mix_us"] = mix_floor(floors, run["calls_by_service"])
        run["projected_aws_s"] = {cores: projection(run, concurrency, cores) for cores in PROJECTED_CORES}
    return {
        "scenario": name, "accounts": accounts, "regions": regions or "all", "concurrency": concurrency,
        "faults": faults, "seeding_s": seeding, "emulator_capacity_rps": served,
        "sdk_floor_us_by_service": floors,
        "fresh": fresh, "no_change": again,
    }


def floors_text(floors):
    return "us CPU per call: " + ", ".join(f"{service} {us:.0f}" for service, us in floors.items())


def floor(accounts=500):
    """The SDK's own CPU per call of each service, and against it the CPU per call of the
    scenarios in target/bench/*.json (runs kept from earlier, with their own calls by service)."""
    emulator, endpoint, _ = start_emulator(accounts)
    try:
        floors = {service: sdk_floor(endpoint, service) for service in FLOOR_SERVICES}
    finally:
        emulator.terminate()
        emulator.wait()
    out = [f"floor ({accounts} accounts): {floors_text(floors)}"]
    for path in sorted((ROOT / "target/bench").glob("*.json")):
        row = json.loads(path.read_text())
        for label in ("fresh", "no_change"):
            run = row.get(label)
            if run and "cpu_us_per_call" in run:
                mix = mix_floor(floors, run["calls_by_service"])
                out.append(f'{row["scenario"]} {label}: {run["cpu_us_per_call"]:.0f} us per call, the SDK alone {mix:.0f} '
                           f'for its mix: {run["cpu_us_per_call"] / mix:.2f}x')
    return "\n".join(out)


def table(rows):
    header = ("scenario", "run", "exit", "calls", "mutating", "wall s", "calls/s", "cpu s", "cpu us/call", "x floor",
              "peak MB", "faults", "bound s", "wall/bound", "results")
    lines = [header]
    for r in rows:
        for label in ("fresh", "no_change"):
            run = r[label]
            faults = sum(run["faults"].values()) if run["faults"] else 0
            results = " ".join(f"{k}={v}" for k, v in sorted(run["results"].items()))
            lines.append((
                f'{r["scenario"]} ({r["accounts"]}x{r["regions"] if r["regions"] == "all" else len(r["regions"].split(","))})',
                label, str(run["exit"]), str(run["calls"]), str(run["mutating"]), f'{run["wall_s"]:.1f}',
                f'{run["calls_per_s"]:.0f}', f'{run["cpu_s"]:.1f}', f'{run["cpu_us_per_call"]:.0f}',
                f'{run["cpu_us_per_call"] / run["sdk_floor_mix_us"]:.2f}',                f'{run["peak_rss_mb"]:.0f}', str(faults), f'{run["lower_bound_s"]:.1f}', f'{run["efficiency"]:.2f}', results,
            ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    for r in rows:
        by_service = ", ".join(f"{s} {n}" for s, n in r["fresh"]["calls_by_service"].items())
        out.append(
            f'{r["scenario"]}: seeding {r["seeding_s"]:.1f}s, emulator capacity {r["emulator_capacity_rps"]:.0f} req/s, '
            f'the AWS SDK alone (examples/sdk_floor.rs) {floors_text(r["sdk_floor_us_by_service"])}; '
            "x floor = orgguard's CPU per call over their mix by its calls; "
            f'fresh calls by service: {by_service}'
        )
        projected = "; ".join(
            f'{label.replace("_", " ")} ' + ", ".join(f'{r[label]["projected_aws_s"][c]:.0f} s on {c} cores' for c in PROJECTED_CORES)
            for label in ("fresh", "no_change"))
        out.append(f'{r["scenario"]}: projected on AWS ({AWS_LATENCY_S * 1000:.0f} ms a call, concurrency {r["concurrency"]}, '
                   f'the CPU per call measured here, the busiest key at the plan\'s rate: '
                   f'{r["fresh"]["busiest_key"]} {r["fresh"]["busiest_key_s"]:.0f} s fresh): {projected}')
    by_name = {r["scenario"]: r for r in rows}
    if "quick" in by_name and "quick-exfiltration" in by_name:
        base, with_alarm = by_name["quick"], by_name["quick-exfiltration"]
        # example.toml includes the management account.
        places = (base["accounts"] + 1) * len(base["regions"].split(","))
        added = {label: (with_alarm[label]["calls"] - base[label]["calls"]) / places for label in ("fresh", "no_change")}
        out.append(f'[exfiltration] adds {added["fresh"]:.2f} calls per account-region fresh and {added["no_change"]:.2f} '
                   f'with no change ({places} account-regions, 0 to 2 VPCs each)')
    return "\n".join(out)


def coverage(accounts=5000, every=10):
    """Runtime Monitoring coverage at scale: every `every`-th member has an EKS and an ECS
    cluster and an EC2 instance in us-east-1; the audit's coverage calls, after a rollout."""
    (ROOT / "target/bench").mkdir(parents=True, exist_ok=True)
    emulator, endpoint, _ = start_emulator(accounts, "--coverage-every", str(every), "--coverage-regions", "us-east-1")
    base = ["--plan", str(ROOT / "plans/runtime-monitoring.toml"), "--regions", "us-east-1", "--endpoint-url", endpoint]
    try:
        subprocess.run([str(ORGGUARD), "rollout", *base, "--concurrency", "64"], env=ENV, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT / "target/bench")
        control(endpoint, "counts/reset", {})
        started = time.monotonic()
        audit = subprocess.run([str(ORGGUARD), "audit", *base, "--format", "json"], env=ENV, capture_output=True, text=True)
        wall = time.monotonic() - started
        counts = control(endpoint, "counts")
    finally:
        emulator.terminate()
        emulator.wait()
    report = json.loads(audit.stdout)
    calls = Counter()
    for row in counts["requests"]:
        calls[row["operation"]] += row["count"]
    resources = sum(r["healthy"] + r["unhealthy"] for r in report.get("coverage", []))
    failing = {r["account"] for r in report["results"] if r["control"] == "OG.Runtime.Coverage" and r["verdict"] == "FAIL"}
    return (f"coverage ({accounts}x1): audit exit {audit.returncode} in {wall:.1f} s, {counts['total']} calls; "
            f"{resources} resources read with {calls['GetCoverageStatistics']} GetCoverageStatistics and "
            f"{calls['ListCoverage']} ListCoverage; {len(failing)} accounts FAIL OG.Runtime.Coverage")


def model(accounts=100, latency_ms=100, concurrency=8):
    """The dry run's forecast (src/estimate.rs) against the rollout it forecasts, where the model
    can be checked: an emulator with injected latency and headroom (concurrency / latency well
    under its capacity), the forecast told the injected latency plus the emulator's own time
    per call (one plain client's)."""
    (ROOT / "target/bench").mkdir(parents=True, exist_ok=True)
    emulator, endpoint, _ = start_emulator(accounts)
    summary = ROOT / "target/bench/forecast.json"
    try:
        own_ms = 1000 / capacity(endpoint, seconds=2.0, threads=1)
        control(endpoint, "faults", {"latency_ms": latency_ms})
        forecast_ms = round(latency_ms + own_ms)
        subprocess.run([str(ORGGUARD), "rollout", "--plan", str(PLAN), "--regions", THREE, "--concurrency", str(concurrency),
                        "--endpoint-url", endpoint, "--dry-run", "--forecast-latency-ms", str(forecast_ms),
                        "--summary-json", str(summary)], env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       cwd=ROOT / "target/bench")
        estimate = json.loads(summary.read_text())["estimate"]
        fresh = run_orgguard(endpoint, THREE, concurrency, PLAN)
    finally:
        emulator.terminate()
        emulator.wait()
    predicted, measured = estimate["seconds"], fresh["wall_s"]
    return (f"model ({accounts}x3, {latency_ms} ms injected + {own_ms:.1f} ms the emulator's own, concurrency {concurrency}): "
            f"forecast {predicted:.1f} s for {estimate['reads'] + estimate['writes']} calls (latency term {estimate['latency_seconds']:.1f} s, "
            f"CPU term {estimate['cpu_seconds']:.1f} s, busiest key {estimate['busiest'][4]:.1f} s); the rollout made {fresh['calls']} calls "
            f"in {measured:.1f} s: {100 * (measured - predicted) / predicted:+.1f}%")


def threads(accounts=250, concurrency=256):
    """orgguard's CPU per call, wall and peak RSS on one thread (a current-thread runtime)
    against every core (the multi-threaded one): no-change rollouts of 250 accounts in the 17
    default Regions, alternating (with ORGGUARD_BASELINE_BIN's runs between, if set); each
    against the SDK's floor measured after the runs on as many threads."""
    (ROOT / "target/bench").mkdir(parents=True, exist_ok=True)
    emulator, endpoint, _ = start_emulator(accounts)
    cores = os.cpu_count()
    try:
        run_orgguard(endpoint, DEFAULT_17, concurrency, PLAN)
        binaries = [Path(BASELINE), ORGGUARD] if BASELINE else [ORGGUARD]
        runs = [(n, b, run_orgguard(endpoint, DEFAULT_17, concurrency, PLAN, threads=n, binary=b))
                for n in (1, cores, 1, cores) for b in binaries]
        floors = {n: floors_of(endpoint, [r for _, _, r in runs], threads=n) for n in (1, cores)}
    finally:
        emulator.terminate()
        emulator.wait()
    lines = [f"threads: the SDK alone (examples/sdk_floor.rs) on {n} thread(s): {floors_text(f)}" for n, f in floors.items()]
    for n, binary, r in runs:
        us = 1e6 * r["cpu_s"] / r["calls"]
        build = f"{binary} " if BASELINE else ""
        lines.append(f'threads ({accounts}x17 no change): {build}--threads {n}: {r["calls"]} calls in {r["wall_s"]:.1f} s, '
                     f'{us:.0f} us CPU per call ({us / mix_floor(floors[n], r["calls_by_service"]):.2f}x the SDK alone on as many threads '
                     f'for its mix), peak {r["peak_rss_mb"]:.0f} MB, exit {r["exit"]}')
    return "\n".join(lines)


def profile(accounts=250, concurrency=256, frequency=499, floor_calls=4000):
    """Where the CPU per call goes (scripts/perf_areas.py), orgguard's against the SDK alone's:
    a no-change rollout of 250 accounts x 17 Regions and examples/sdk_floor for each service it
    called (the difference of two call counts, as in sdk_floor above), each under `perf record`,
    on one thread and on every core; the SDK's areas weighted by the rollout's calls of each
    service."""
    import perf_areas

    out_dir = ROOT / "target/bench"
    out_dir.mkdir(parents=True, exist_ok=True)

    def record(data):
        return ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(frequency), "--call-graph", "dwarf,16384", "-o", str(data), "--"]

    emulator, endpoint, _ = start_emulator(accounts)
    recorded = []  # (column, perf data, calls, the SDK's mix or None)
    try:
        run_orgguard(endpoint, DEFAULT_17, concurrency, PLAN)
        for n in (1, os.cpu_count()):
            data = out_dir / f"profile-orgguard-{n}.data"
            run = run_orgguard(endpoint, DEFAULT_17, concurrency, PLAN, threads=n, prefix=record(data))
            recorded.append((f"orgguard, {n} thread(s)", data, run["calls"], None))
            mix = {s: c for s, c in run["calls_by_service"].items() if s in FLOOR_SERVICES}
            for service in mix:
                # Two call counts, their difference: the SDK's calls without its start-up.
                pair = [out_dir / f"profile-sdk-{service}-{n}-{calls}.data" for calls in (floor_calls, 2 * floor_calls)]
                for data, calls in zip(pair, (floor_calls, 2 * floor_calls)):
                    subprocess.run([*record(data), str(SDK_FLOOR), endpoint, str(calls), service, str(n)],
                                   env=ENV, check=True, stdout=subprocess.DEVNULL)
                recorded.append((f"SDK alone, {n} thread(s)", pair, floor_calls, (service, mix)))
    finally:
        emulator.terminate()
        emulator.wait()
    columns = {}
    for column, data, calls, sdk in recorded:
        samples = perf_areas.profile(data) if sdk is None else perf_areas.difference(*map(perf_areas.profile, data))
        us = perf_areas.per_call(samples, frequency, calls)
        weight = 1.0 if sdk is None else sdk[1][sdk[0]] / sum(sdk[1].values())
        into = columns.setdefault(column, {"areas": Counter(), "kernel": 0.0, "allocator": 0.0, "total": 0.0})
        for name, value in us["areas"].items():
            into["areas"][name] += weight * value
        for key in ("kernel", "allocator", "total"):
            into[key] += weight * us[key]
    rows = [("us of CPU per call", *columns)]
    rows += [(name, *(f'{c["areas"][name]:.1f}' for c in columns.values())) for name in perf_areas.NAMES]
    rows += [(label, *(f"{c[key]:.1f}" for c in columns.values()))
             for label, key in (("total", "total"), ("  of it ending in the kernel", "kernel"), ("  of it ending in mimalloc", "allocator"))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
                     for row in rows)


def as_account(endpoint, account, service, region="us-east-1"):
    """A botocore client acting in `account` through its member role, as a user's script would."""
    session = botocore.session.get_session()
    keys = dict(aws_access_key_id="bench", aws_secret_access_key="bench")
    sts = session.create_client("sts", endpoint_url=endpoint, region_name=region, **keys)
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    assumed = sts.assume_role(RoleArn=role, RoleSessionName="bench")["Credentials"]
    return session.create_client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=assumed["AccessKeyId"],
                                 aws_secret_access_key=assumed["SecretAccessKey"], aws_session_token=assumed["SessionToken"])


def calls(accounts=100):
    """The API calls each command makes of plans/central-findings.toml at ACCOUNTS x 3 (every
    section but the exfiltration alarm): a dry run, a fresh rollout, a no-change rollout, an
    audit and a teardown with --delete-detectors (the IAM roles stay: three regions are not all
    the plan's), as the emulator counts them."""
    plan = ROOT / "plans/central-findings.toml"
    (ROOT / "target/bench").mkdir(parents=True, exist_ok=True)
    emulator, endpoint, _ = start_emulator(accounts)
    try:
        # The plan's Slack workspace, authorised once in the console on AWS.
        team = re.search(r'team_id\s*=\s*"([^"]+)"', plan.read_text()).group(1)
        control(endpoint, "slack-workspace", {"account": "100000000001", "team_id": team, "team_name": "bench"})
        # The lists' files, in the bucket of the account the plan names as its owner.
        s3 = as_account(endpoint, "100000000002", "s3")
        s3.create_bucket(Bucket="example-security-lists")
        for key in ("trusted-ips.txt", "threat-ips.txt"):
            s3.put_object(Bucket="example-security-lists", Key=key, Body=b"203.0.113.0/24\n")
        commands = [
            ("dry run", ["rollout", "--dry-run"]),
            ("rollout", ["rollout"]),
            ("no change", ["rollout"]),
            ("audit", ["audit"]),
            ("teardown", ["teardown", "--delete-detectors", "--yes"]),
        ]
        lines = [f"calls of plans/central-findings.toml at {accounts} x 3 ({THREE}):", f"{'command':<10} {'exit':>4} {'calls':>7} {'mutating':>8}"]
        for name, args in commands:
            control(endpoint, "counts/reset", {})
            ran = subprocess.run([str(ORGGUARD), *args, "--plan", str(plan), "--regions", THREE, "--endpoint-url", endpoint],
                                 env=ENV, cwd=ROOT / "target/bench", capture_output=True, text=True)
            counts = control(endpoint, "counts")
            lines.append(f"{name:<10} {ran.returncode:>4} {counts['total']:>7} {counts['mutating']:>8}")
            if os.environ.get("BENCH_VERBOSE"):
                print(ran.stdout, ran.stderr, file=sys.stderr)
        return "\n".join(lines)
    finally:
        emulator.terminate()
        emulator.wait()


# Modes that are not scenarios: each runs alone and prints its own lines.
MODES = {"coverage": coverage, "model": model, "floor": floor, "threads": threads, "profile": profile, "calls": calls}


def main(names):
    if len(names) == 1 and names[0] in MODES:
        print(MODES[names[0]]())
        return
    if names == ["all"]:
        names = list(SCENARIOS)
    if "quick" in names and "quick-exfiltration" not in names:
        names.append("quick-exfiltration")
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario {unknown}; known: {', '.join(SCENARIOS)}, all")
    out_dir = ROOT / "target/bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        row = scenario(name)
        (out_dir / f"{name}.json").write_text(json.dumps(row, indent=2) + "\n")
        rows.append(row)
    print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
