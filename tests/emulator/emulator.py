"""The orgguard emulator: moto in server mode, with an organization seeded and
AWS's behaviour added where moto is lenient.

It runs moto's WSGI dispatcher in-process behind a gate (gate.py) that
- attributes every request to (account, region, service, operation) and counts it (service:
  the signing name, so CloudWatch is "monitoring", CloudWatch Logs "logs"; region "global" for
  services outside REGIONAL_SERVICES: STS, IAM, Organizations, S3, Chatbot);
- refuses calls into regions an account has not enabled (UnrecognizedClientException, 403);
- refuses AssumeRole into accounts whose role cannot be assumed, or whose roles' trust
  requires an sts:ExternalId the call does not send (AccessDenied);
- serves a control API under /_orgguard/ for tests: request counts, backend state,
  and changes to the world (faults, hand-made drift) (control.py);
- injects faults on demand (faults.py): latency, throttling at a rate or past per-key
  request rates, server errors, dropped connections, short sessions, mid-run suspensions,
  accounts leaving or joining the organization mid-run, odd answers (odd_answers.py);
- leaves GuardDuty features out of the Regions that do not offer them (features_unavailable);
- speaks CloudWatch's Smithy RPC v2 CBOR protocol, which the Rust SDK sends and moto does not
  (rpcv2_cbor.py), and keeps VPC flow logs, log groups, metric filters and alarms as AWS does,
  with VPCs seeded per account-region on request (flowlogs_ext.py, alarms_ext.py).

Run it through scripts/emulator, which installs the pinned virtualenv first.

This module assembles the server: the command line (cli.py), moto's cost fixes (fastpath.py,
scale.py), the extensions (EXTENSIONS below, each registering itself through registry.py),
the seeded organization (seeding.py) and what the emulator knows beyond moto (world.py).
The control API and the keys of POST /_orgguard/faults, which the fault flags mirror, are
described in control.py; the flags in cli.py (--help). README.md is the map of the files.
"""

import gc
import logging
import sys
import time

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

import alarms_ext
import chatbot_ext
import cli
import control_ext
import coverage_ext
import delivery_ext
import events_ext
import export_ext
import fastpath
import filters_ext
import findings_ext
import flowlogs_ext
import guardduty_admin
import guardduty_ext
import guardduty_invitations
import guardduty_members
import guardduty_org
import iam_ext
import keepalive
import lists_ext
import rpcv2_cbor
import s3_ext
import scale
import sns_ext
from control import apply_faults
from gate import Gate
from registry import Registry
from seeding import MANAGEMENT_ACCOUNT, member_account_id, seed_organization
from world import World

# Every extension module: its register(registry) is called once, in this order, before the
# organization is seeded (registry.py). GET /_orgguard/state's sections come in this order.
EXTENSIONS = (
    flowlogs_ext,  # VPC flow logs and seeded VPCs (EC2)
    alarms_ext,  # log groups, metric filters (CloudWatch Logs) and alarms (CloudWatch)
    guardduty_ext,  # GuardDuty detectors and their features
    guardduty_org,  # GuardDuty organization: the state it keeps, GET /_orgguard/guardduty-org
    guardduty_admin,  # GuardDuty delegated admin and organization configuration
    guardduty_members,  # GuardDuty members, as their administrator manages them
    guardduty_invitations,  # GuardDuty invitations, as the invited account sees them
    filters_ext,  # GuardDuty suppression rules (filters)
    findings_ext,  # GuardDuty findings: samples, lists, statistics, archiving
    delivery_ext,  # a finding's way: EventBridge rules, SNS targets and fan-out, metrics
    lists_ext,  # GuardDuty trusted IP lists and threat intel sets
    export_ext,  # GuardDuty findings export (publishing destinations)
    coverage_ext,  # GuardDuty Runtime Monitoring coverage
    iam_ext,  # IAM
    sns_ext,  # SNS
    s3_ext,  # S3 bucket policies
    events_ext,  # EventBridge
    chatbot_ext,  # AWS Chatbot (moto has none)
    control_ext,  # GET /_orgguard/wiring, POST /_orgguard/drift
)


def main() -> None:
    parser = cli.parser(__doc__.splitlines()[0])
    args = parser.parse_args()

    fastpath.install()
    scale.install()
    registry = Registry()
    registry.install(EXTENSIONS)  # before any backend exists: flowlogs_ext seeds VPCs as each EC2 backend is made
    if args.vpcs_per_region:
        try:
            flowlogs_ext.configure_seeding(args.vpcs_per_region, args.vpc_regions)
        except ValueError as error:
            parser.error(str(error))
    indexes = lambda text: {int(x) for x in text.split(",") if x}  # noqa: E731
    started = time.monotonic()
    members = seed_organization(args.accounts, indexes(args.suspended))
    seeded = time.monotonic() - started
    world = World(next_member=args.accounts + 1)
    world.suspended = {member_account_id(i) for i in indexes(args.suspended)}
    world.role_missing = {member_account_id(i) for i in indexes(args.role_missing)}
    for index, regions in cli.parse_account_regions(args.region_disabled).items():
        world.disabled_regions[member_account_id(int(index))] = regions
    try:
        apply_faults(world, cli.startup_faults(args))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        parser.error(f"faults: {error}")
    if args.coverage_every > 0:
        coverage_ext.seed(members, args.coverage_regions.split(","), args.coverage_every)
    fastpath.warm_up(fastpath.WARM_SERVICES + ("ec2", "logs", "cloudwatch"))
    rpcv2_cbor.warm_up()
    gc.freeze()  # the seeded organization and loaded models stay: keep them out of GC passes
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    app = Gate(rpcv2_cbor.Adapter(DomainDispatcherApplication(create_backend_app)), world, registry)
    server = keepalive.serve(args.host, args.port, app)
    endpoint = f"http://{args.host}:{server.server_port}"
    print(
        f"READY {endpoint} management={MANAGEMENT_ACCOUNT} members={len(members)} seeded_in={seeded:.1f}s",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
