"""VPC flow logs as AWS creates them, VPCs seeded per account-region, and the network state.

CreateFlowLogs where moto 5.2.5 differs from AWS (EC2 API reference, CreateFlowLogs):
- The answer is per resource: a resource that cannot get the flow log is an UnsuccessfulItem
  ({ResourceId, Error: {Code, Message}}) and the others' flow logs are made. moto fails the
  whole call instead, for
  - a VPC, subnet or network interface that does not exist: InvalidVpcID.NotFound "The vpc ID
    'ID' does not exist" (InvalidSubnetID.NotFound, InvalidNetworkInterfaceID.NotFound), EC2's
    messages for them (EC2 API reference, Error codes);
  - a flow log with the same configuration and log destination as one the resource has:
    FlowLogAlreadyExists "Error. There is an existing Flow Log with the same configuration and
    log destination." Same configuration: same traffic type and destination (type, log group
    or destination ARN); moto also refuses a second traffic type (ACCEPT next to ALL) to the
    same log group, which AWS makes (a resource can have flow logs of several configurations).
- LogFormat is ${field} items separated by single spaces (VPC user guide, "Flow log records",
  Custom format; AWS answers "1 validation error detected: Value 'FORMAT' at 'logFormat' has an
  invalid format" to a format with a trailing space, for example); moto takes any string. A
  field AWS does not have (the user guide's "Available fields", versions 2-8 and later) gets the
  same answer (its wording for that case is ours).
moto already requires DeliverLogsPermissionArn for cloud-watch-logs, checks
MaxAggregationInterval (60 or 600, default 600), and keeps LogFormat, MaxAggregationInterval
and the TagSpecifications (vpc-flow-log) tags, which DescribeFlowLogs returns. It does not
deliver logs; a flow log made before its log group says DeliverLogsStatus FAILED (AWS would
create the group on first delivery). No limit on ResourceIds is enforced (AWS documents 25
for transit gateway resource types only).

Seeded VPCs (--vpcs-per-region COUNTS [--vpc-regions REGIONS]): COUNTS is a comma-separated
cycle, e.g. "0,1,2". In the k-th (from 0) region of REGIONS (default us-east-1,eu-west-1), the
account with member index i (from 1; the management account is 0; accounts joining mid-run
keep the rule) has COUNTS[(i + k) % len(COUNTS)] VPCs: 0 is none (moto's default VPC, its
subnets, route table, network ACL and security group taken away), 1 the default VPC
(172.31.0.0/16), n the default VPC and n - 1 more (10.1.0.0/16, 10.2.0.0/16, ..., tagged
Name=seeded-N). Seeding happens when the account-region's EC2 backend is made, i.e. on its
first EC2 request (the flag costs nothing up front). Other regions and other accounts, and
every account-region without the flag: moto's (one default VPC, made lazily). moto's default
AMIs are not loaded (orgguard calls no AMI API; loading them costs 60 ms per account-region).

GET /_orgguard/network: {account: {region: {"vpcs": [ids], "flow_logs": [...], "log_groups":
{...}, "metric_filters": {...}, "alarms": {...}}}} for the account-regions whose EC2, CloudWatch
Logs or CloudWatch backend exists (reading never creates one); see network_state().
"""

import os
import re
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import EC2Backend, ec2_backends
from moto.ec2.models.flow_logs import FlowLogs, FlowLogsBackend
from moto.ec2.utils import random_flow_log_id
from moto.logs.models import logs_backends

import alarms_ext
from control_ext import _backends
from registry import Registry

DEFAULT_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
)
FIELDS = set(DEFAULT_FORMAT.replace("${", "").replace("}", "").split()) | {
    "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",  # v3
    "region", "az-id", "sublocation-type", "sublocation-id",  # v4
    "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path",  # v5
    "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",  # v7
    "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
    "ecs-task-arn", "ecs-task-id",
    "reject-reason", "resource-id", "encryption-status",  # v8 and later
}
FORMAT = re.compile(r"\$\{([a-z0-9-]+)\}(?: \$\{([a-z0-9-]+)\})*")
NOT_FOUND = {
    "VPC": ("InvalidVpcID.NotFound", "The vpc ID '{}' does not exist"),
    "Subnet": ("InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist"),
    "NetworkInterface": ("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '{}' does not exist"),
}
ALREADY_EXISTS = ("FlowLogAlreadyExists", "Error. There is an existing Flow Log with the same configuration and log destination.")

SEEDING: dict[str, Any] = {"counts": [], "regions": []}
MANAGEMENT = DEFAULT_ACCOUNT_ID


class InvalidLogFormat(EC2ClientError):
    def __init__(self, log_format: str) -> None:
        super().__init__("InvalidParameter", f"1 validation error detected: Value '{log_format}' at 'logFormat' has an invalid format")


def _check_format(log_format: str) -> None:
    if not FORMAT.fullmatch(log_format) or any(f not in FIELDS for f in re.findall(r"\$\{([^}]*)\}", log_format)):
        raise InvalidLogFormat(log_format)


def _exists(backend, resource_type: str, resource_id: str) -> bool:
    lookups = {"VPC": backend.get_vpc, "Subnet": backend.get_subnet, "NetworkInterface": backend.get_network_interface}
    if resource_type not in lookups:
        return True
    try:
        lookups[resource_type](resource_id)
        return True
    except EC2ClientError:
        return False


def create_flow_logs(self, resource_type: str, resource_ids: list[str], traffic_type: str,
                     deliver_logs_permission_arn: str, log_destination_type: str, log_destination: str,
                     log_group_name: str, log_format: str, max_aggregation_interval: int):
    max_aggregation_interval = 600 if max_aggregation_interval is None else max_aggregation_interval
    log_destination_type = log_destination_type or "cloud-watch-logs"
    if log_format is None:
        log_format = DEFAULT_FORMAT
    else:
        _check_format(log_format)
    self._validate_request(log_group_name, log_destination, log_destination_type, max_aggregation_interval,
                           deliver_logs_permission_arn)
    made, unsuccessful = [], []
    for resource_id in resource_ids:
        if not _exists(self, resource_type, resource_id):
            code, message = NOT_FOUND[resource_type]
            unsuccessful.append((resource_id, code, message.format(resource_id)))
            continue
        same = (resource_id, traffic_type, log_destination_type, log_group_name, log_destination)
        if any((f.resource_id, f.traffic_type, f.log_destination_type, f.log_group_name, f.log_destination) == same
               for f in list(self.flow_logs.values())):
            unsuccessful.append((resource_id, *ALREADY_EXISTS))
            continue
        status, error = "SUCCESS", None
        if log_destination_type == "s3":
            from moto.s3.exceptions import MissingBucket
            from moto.s3.models import s3_backends

            bucket = (log_destination or "").split(":", 5)[-1].split("/")[0]
            try:
                s3_backends[self.account_id][self.partition].get_bucket(bucket)
            except MissingBucket:
                unsuccessful.append((resource_id, "400", f"LogDestination: {bucket} does not exist."))
                continue
        elif log_destination_type == "cloud-watch-logs":
            logs = logs_backends[self.account_id][self.region_name]
            if log_group_name not in logs.groups:
                status, error = "FAILED", "Access error"  # moto's: the group is not there (yet)
        flow_log = FlowLogs(self, random_flow_log_id(), resource_id, traffic_type, log_destination, log_group_name,
                            deliver_logs_permission_arn, max_aggregation_interval, log_destination_type, log_format,
                            status, error)
        self.flow_logs[flow_log.id] = flow_log
        made.append(flow_log)
    return made, unsuccessful


def configure_seeding(counts: str, regions: str) -> None:
    """--vpcs-per-region and --vpc-regions."""
    parsed = [int(c) for c in counts.split(",") if c.strip()]
    if not parsed or any(c < 0 or c > 5 for c in parsed):
        raise ValueError("--vpcs-per-region: comma-separated counts of 0-5 (5: the default VPCs-per-Region quota)")
    SEEDING["counts"] = parsed
    SEEDING["regions"] = [r for r in regions.split(",") if r]


def seeded_count(account: str, region: str) -> int | None:
    """The VPCs the account-region is seeded with; None: as moto has it."""
    counts, regions = SEEDING["counts"], SEEDING["regions"]
    if not counts or region not in regions:
        return None
    index = 0 if account == MANAGEMENT else int(account) - 100000000000 if account.isdigit() else -1
    if not 0 <= index < 100000000000:
        return None
    return counts[(index + regions.index(region)) % len(counts)]


def _remove_vpc(backend: EC2Backend, vpc_id: str) -> None:
    for subnet in [s for subnets in backend.subnets.values() for s in subnets.values() if s.vpc_id == vpc_id]:
        backend.delete_subnet(subnet.id)
    for acl in [a for a in backend.network_acls.values() if a.vpc_id == vpc_id]:
        backend.network_acls.pop(acl.id, None)
    backend.delete_vpc(vpc_id)


def _seed(backend: EC2Backend) -> None:
    count = seeded_count(backend.account_id, backend.region_name)
    if count is None:
        return
    if count == 0:
        for vpc_id in list(backend.vpcs):
            _remove_vpc(backend, vpc_id)
        return
    for n in range(1, count):
        backend.create_vpc(f"10.{n}.0.0/16", tags=[{"Key": "Name", "Value": f"seeded-{n}"}])


_moto_ec2_init = EC2Backend.__init__


def _ec2_init(self: EC2Backend, region_name: str, account_id: str) -> None:
    _moto_ec2_init(self, region_name, account_id)
    _seed(self)


def _tags(flow_log: FlowLogs) -> dict[str, str]:
    return {t["key"]: t["value"] for t in flow_log.get_tags()}


def network_state() -> dict[str, Any]:
    """GET /_orgguard/network: per account and region, VPCs, flow logs, log groups, metric
    filters and alarms, from the backends that exist."""
    result: dict[str, dict[str, dict[str, Any]]] = {}

    def entry(account: str, region: str) -> dict[str, Any]:
        return result.setdefault(account, {}).setdefault(region, {
            "vpcs": [], "flow_logs": [], "log_groups": {}, "metric_filters": {}, "alarms": {},
        })

    for account, region, backend in _backends(ec2_backends):
        here = entry(account, region)
        here["vpcs"] = sorted(list(backend.vpcs))
        here["flow_logs"] = [{
            "id": f.id, "resource_id": f.resource_id, "traffic_type": f.traffic_type,
            "destination_type": f.log_destination_type, "log_group": f.log_group_name,
            "destination": f.log_destination, "role_arn": f.deliver_logs_permission_arn, "format": f.log_format,
            "max_aggregation_interval": f.max_aggregation_interval, "tags": _tags(f),
        } for f in sorted(list(backend.flow_logs.values()), key=lambda f: (f.resource_id, f.id))]
    for account, region, backend in _backends(logs_backends):
        here = entry(account, region)
        here["log_groups"] = alarms_ext.log_groups(backend)
        here["metric_filters"] = alarms_ext.metric_filters(backend)
    for account, region, backend in _backends(cloudwatch_backends):
        entry(account, region)["alarms"] = alarms_ext.alarms(backend)
    return {a: dict(sorted(regions.items())) for a, regions in sorted(result.items())}


def register(registry: Registry) -> None:
    """Before any EC2 backend exists: seeding happens as each is made."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    registry.patch(FlowLogsBackend, "create_flow_logs", create_flow_logs)
    registry.patch(EC2Backend, "__init__", _ec2_init)
    registry.control("GET", "network", lambda request: network_state())
