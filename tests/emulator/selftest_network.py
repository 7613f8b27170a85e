"""Self-test of seed 004's network pieces (flowlogs_ext.py, alarms_ext.py, rpcv2_cbor.py), run by
selftest.py: seeded VPCs, CreateFlowLogs' per-resource answers, metric filters and alarms as
AWS keeps them, CloudWatch over Smithy RPC v2 CBOR (what the Rust SDK sends: boto3 made to
send it by a copy of CloudWatch's model that lists only that protocol), request attribution
and faults in the three services' protocols, and GET /_orgguard/network.
"""

import json
import os
import tempfile

import boto3
import botocore.session
from botocore.config import Config

M1, M2 = "100000000001", "100000000002"
ROLE = "arn:aws:iam::{}:role/orgguard-flow-logs"
FORMAT = " ".join(f"${{{f}}}" for f in (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
    "log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type "
    "sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
).split())
GROUP = "/orgguard/network-exfiltration"
TRANSFORM = [{"metricName": "RejectedBytes", "metricNamespace": "Orgguard", "metricValue": "$bytes", "defaultValue": 0.0}]
NO_RETRY = Config(retries={"total_max_attempts": 1})
_cbor_session: list = []


def cbor_cloudwatch(emulator, credentials, region: str):
    """A CloudWatch client that speaks Smithy RPC v2 CBOR, as aws-sdk-cloudwatch 1.x does."""
    if not _cbor_session:
        session = botocore.session.get_session()
        loader = session.get_component("data_loader")
        model = loader.load_service_model("cloudwatch", "service-2")
        model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
        directory = tempfile.mkdtemp(prefix="orgguard-cbor-")
        os.makedirs(f"{directory}/cloudwatch/{model['metadata']['apiVersion']}")
        with open(f"{directory}/cloudwatch/{model['metadata']['apiVersion']}/service-2.json", "w") as file:
            json.dump(model, file)
        loader.search_paths.insert(0, directory)
        _cbor_session.append(boto3.Session(botocore_session=session))
    keys = ({"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
             "aws_session_token": credentials["SessionToken"]} if credentials else
            {"aws_access_key_id": "test", "aws_secret_access_key": "test"})
    return _cbor_session[0].client("cloudwatch", endpoint_url=emulator.endpoint, region_name=region, config=NO_RETRY, **keys)


def vpcs(ec2) -> list[tuple[str, bool]]:
    return sorted((v["CidrBlock"], v["IsDefault"]) for v in ec2.describe_vpcs()["Vpcs"])


def seeding(t, emulator) -> None:
    """--vpcs-per-region 0,1,2 --vpc-regions us-east-1,eu-west-1."""
    m1, m2 = emulator.credentials(M1), emulator.credentials(M2)
    default, extra = ("172.31.0.0/16", True), ("10.1.0.0/16", False)
    t.check("member 1, us-east-1 (k 0): COUNTS[1] = 1, the default VPC", vpcs(emulator.client("ec2", m1)), [default])
    t.check("member 1, eu-west-1 (k 1): 2", vpcs(emulator.client("ec2", m1, "eu-west-1")), [extra, default])
    t.check("member 2, us-east-1: 2", vpcs(emulator.client("ec2", m2)), [extra, default])
    ec2 = emulator.client("ec2", m2, "eu-west-1")
    t.check("member 2, eu-west-1: none, nor subnets or security groups",
            (vpcs(ec2), ec2.describe_subnets()["Subnets"], ec2.describe_security_groups()["SecurityGroups"]), ([], [], []))
    t.check("the management account (index 0), us-east-1: none", vpcs(emulator.client("ec2")), [])
    t.check("a region not in --vpc-regions: moto's default VPC", vpcs(emulator.client("ec2", m1, "us-west-2")), [default])
    network = emulator.control("network")
    ids = sorted(v["VpcId"] for v in emulator.client("ec2", m1, "eu-west-1").describe_vpcs()["Vpcs"])
    t.check("network: the VPC ids", (network[M1]["eu-west-1"]["vpcs"], network[M2]["eu-west-1"]["vpcs"]), (ids, []))
    t.check("network: only account-regions with a backend", sorted(network[M1]), ["eu-west-1", "us-east-1", "us-west-2"])


def flow_logs(t, emulator) -> None:
    m1 = emulator.credentials(M1)
    ec2, logs = emulator.client("ec2", m1, "eu-west-1"), emulator.client("logs", m1, "eu-west-1")
    logs.create_log_group(logGroupName=GROUP)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=365)
    group = logs.describe_log_groups(logGroupNamePrefix="/orgguard/")["logGroups"]
    t.check("log group with its retention", [(g["logGroupName"], g["retentionInDays"]) for g in group], [(GROUP, 365)])
    t.check("a retention AWS does not offer", t.error_of(lambda: logs.put_retention_policy(
        logGroupName=GROUP, retentionInDays=2))[:2], (400, "InvalidParameterException"))
    t.check("a log group name outside AWS's pattern", t.error_of(lambda: logs.create_log_group(
        logGroupName="has space"))[:2], (400, "InvalidParameterException"))
    ids = sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"])
    request = dict(
        ResourceType="VPC", TrafficType="ALL", LogDestinationType="cloud-watch-logs", LogGroupName=GROUP,
        DeliverLogsPermissionArn=ROLE.format(M1), LogFormat=FORMAT, MaxAggregationInterval=600,
        TagSpecifications=[{"ResourceType": "vpc-flow-log", "Tags": [{"Key": "orgguard", "Value": "seed-004"}]}],
    )
    made = ec2.create_flow_logs(ResourceIds=[*ids, "vpc-0123456789abcdef0"], **request)
    t.check("CreateFlowLogs: made for each VPC, an unknown VPC unsuccessful",
            (len(made["FlowLogIds"]), [(u["ResourceId"], u["Error"]["Code"], u["Error"]["Message"]) for u in made["Unsuccessful"]]),
            (2, [("vpc-0123456789abcdef0", "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist")]))
    described = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [ids[0]]}])["FlowLogs"]
    t.check("DescribeFlowLogs: as asked", [(f["TrafficType"], f["LogDestinationType"], f["LogGroupName"], f["DeliverLogsPermissionArn"],
                                            f["LogFormat"], f["MaxAggregationInterval"], f["Tags"], f["DeliverLogsStatus"]) for f in described],
            [("ALL", "cloud-watch-logs", GROUP, ROLE.format(M1), FORMAT, 600, [{"Key": "orgguard", "Value": "seed-004"}], "SUCCESS")])
    again = ec2.create_flow_logs(ResourceIds=ids, **request)
    t.check("the same again: FlowLogAlreadyExists per VPC, nothing made",
            (again["FlowLogIds"], [(u["ResourceId"], u["Error"]["Code"]) for u in again["Unsuccessful"]]),
            ([], [(i, "FlowLogAlreadyExists") for i in ids]))
    rejected = ec2.create_flow_logs(ResourceIds=ids[:1], **dict(request, TrafficType="REJECT"))
    t.check("another traffic type to the same group is another configuration", (len(rejected["FlowLogIds"]), rejected["Unsuccessful"]), (1, []))
    ec2.delete_flow_logs(FlowLogIds=rejected["FlowLogIds"])
    t.check("DeleteFlowLogs", len(ec2.describe_flow_logs()["FlowLogs"]), 2)
    no_role = {k: v for k, v in request.items() if k != "DeliverLogsPermissionArn"}
    t.check("cloud-watch-logs without DeliverLogsPermissionArn", t.error_of(lambda: ec2.create_flow_logs(ResourceIds=ids, **no_role))[:2],
            (400, "InvalidParameter"))
    for label, log_format in [("a trailing space", FORMAT + " "), ("a field AWS does not have", "${version} ${nope}")]:
        t.check(f"LogFormat with {label}", t.error_of(lambda: ec2.create_flow_logs(ResourceIds=ids, **dict(request, LogFormat=log_format))),
                (400, "InvalidParameter", f"1 validation error detected: Value '{log_format}' at 'logFormat' has an invalid format"))
    t.check("MaxAggregationInterval 300", t.error_of(lambda: ec2.create_flow_logs(ResourceIds=ids, **dict(request, MaxAggregationInterval=300)))[0], 400)
    state = emulator.control("network")[M1]["eu-west-1"]
    t.check("network: flow logs", sorted((f["resource_id"], f["traffic_type"], f["destination_type"], f["log_group"], f["role_arn"],
                                          f["format"], f["max_aggregation_interval"], f["tags"]) for f in state["flow_logs"]),
            [(i, "ALL", "cloud-watch-logs", GROUP, ROLE.format(M1), FORMAT, 600, {"orgguard": "seed-004"}) for i in ids])
    t.check("network: log groups", state["log_groups"], {GROUP: {"retention_days": 365}})


def metric_filters(t, emulator) -> None:
    logs = emulator.client("logs", emulator.credentials(M1), "eu-west-1")
    def put(name="exfiltration", pattern="[version, account, eni, source, destination, port, protocol, packets, bytes > 1000000]",
            group=GROUP, transform=TRANSFORM):
        logs.put_metric_filter(logGroupName=group, filterName=name, filterPattern=pattern, metricTransformations=transform)

    t.check("PutMetricFilter on a log group that does not exist", t.error_of(lambda: put(group="/nope"))[:2],
            (400, "ResourceNotFoundException"))
    put()
    put(pattern="[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes > 5]")
    found = logs.describe_metric_filters(logGroupName=GROUP, filterNamePrefix="exfil")["metricFilters"]
    t.check("the same name again replaces the filter", [(f["filterName"], f["filterPattern"].endswith("> 5]"), "creationTime" in f,
                                                         f["metricTransformations"]) for f in found], [("exfiltration", True, True, TRANSFORM)])
    for label, call in [
        ("a filterName with ':'", lambda: put(name="a:b")), ("a filterPattern over 1024", lambda: put(pattern="x" * 1025)),
        ("two metricTransformations", lambda: put(transform=TRANSFORM * 2)),
    ]:
        t.check(f"PutMetricFilter: {label}", t.error_of(call)[:2], (400, "InvalidParameterException"))
    for n in range(99):
        put(name=f"filler-{n:02d}")
    t.check("a 101st metric filter", t.error_of(lambda: put(name="one-too-many"))[:2], (400, "LimitExceededException"))
    put(name="filler-00", pattern="")
    t.check("replacing one at the limit; metricFilterCount", logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]["metricFilterCount"], 100)
    t.check("DescribeMetricFilters of a log group that does not exist", t.error_of(lambda: logs.describe_metric_filters(logGroupName="/nope"))[:2],
            (400, "ResourceNotFoundException"))
    t.check("DeleteMetricFilter of a filter that does not exist", t.error_of(lambda: logs.delete_metric_filter(
        logGroupName=GROUP, filterName="nope")), (400, "ResourceNotFoundException", "The specified metric filter does not exist."))
    logs.delete_metric_filter(logGroupName=GROUP, filterName="filler-00")
    t.check("DeleteMetricFilter", len(logs.describe_metric_filters(logGroupName=GROUP, filterNamePrefix="filler-")["metricFilters"]), 98)
    state = emulator.control("network")[M1]["eu-west-1"]["metric_filters"][GROUP]
    t.check("network: metric filters", (len(state), state[0]["name"], state[0]["transformations"]), (99, "exfiltration", TRANSFORM))
    logs.create_log_group(logGroupName="/orgguard/spare")
    put(group="/orgguard/spare")
    logs.delete_log_group(logGroupName="/orgguard/spare")
    logs.create_log_group(logGroupName="/orgguard/spare")
    t.check("DeleteLogGroup takes its metric filters", logs.describe_metric_filters(logGroupName="/orgguard/spare")["metricFilters"], [])


def alarms(t, emulator) -> None:
    m1 = emulator.credentials(M1)
    topic = f"arn:aws:sns:eu-west-1:{M1}:orgguard-alerts"
    alarm = dict(AlarmName="orgguard-network-exfiltration", MetricName="RejectedBytes", Namespace="Orgguard", Statistic="Sum",
                 Period=300, EvaluationPeriods=1, DatapointsToAlarm=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
                 TreatMissingData="notBreaching", AlarmActions=[topic])
    for protocol, cloudwatch in [("awsJson1_0", emulator.client("cloudwatch", m1, "eu-west-1")),
                                 ("rpcv2Cbor", cbor_cloudwatch(emulator, m1, "eu-west-1"))]:
        name = f"{alarm['AlarmName']}-{protocol}"
        cloudwatch.put_metric_alarm(**dict(alarm, AlarmName=name))
        got = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        t.check(f"{protocol}: a new alarm is INSUFFICIENT_DATA", [(a["StateValue"], a["StateReason"], a["Threshold"], a["AlarmActions"],
                                                                   a["TreatMissingData"], a["DatapointsToAlarm"]) for a in got],
                [("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation", 1.0, [topic], "notBreaching", 1)])
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="selftest")
        cloudwatch.put_metric_alarm(**dict(alarm, AlarmName=name, Threshold=5.0, Period=60))
        got = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        t.check(f"{protocol}: an update keeps the state, replaces the configuration", (got["StateValue"], got["Threshold"], got["Period"]),
                ("ALARM", 5.0, 60))
        t.check(f"{protocol}: an error's code", t.error_of(lambda: cloudwatch.set_alarm_state(
            AlarmName="nope", StateValue="OK", StateReason="x"))[:2], (404, "ResourceNotFound"))
    cbor = cbor_cloudwatch(emulator, m1, "eu-west-1")
    cbor.delete_alarms(AlarmNames=[f"{alarm['AlarmName']}-rpcv2Cbor"])
    t.check("rpcv2Cbor: DeleteAlarms", [a["AlarmName"] for a in cbor.describe_alarms()["MetricAlarms"]], [f"{alarm['AlarmName']}-awsJson1_0"])
    state = emulator.control("network")[M1]["eu-west-1"]["alarms"]
    t.check("network: alarms", state, {f"{alarm['AlarmName']}-awsJson1_0": {
        "state": "ALARM", "state_reason": "selftest", "metric": "RejectedBytes", "namespace": "Orgguard", "statistic": "Sum",
        "period": 60, "evaluation_periods": 1, "datapoints_to_alarm": 1, "threshold": 5.0, "comparison": "GreaterThanOrEqualToThreshold",
        "treat_missing_data": "notBreaching", "actions": [topic]}})


def counting_and_faults(t, emulator) -> None:
    m2 = emulator.credentials(M2)
    ec2, logs = emulator.client("ec2", m2), emulator.client("logs", m2)
    cbor = cbor_cloudwatch(emulator, m2, "us-east-1")
    emulator.control("counts/reset", {})
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    logs.create_log_group(logGroupName=GROUP)
    logs.describe_log_groups(logGroupNamePrefix=GROUP)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=30)
    ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType="ALL", LogGroupName=GROUP, DeliverLogsPermissionArn=ROLE.format(M2))
    ec2.describe_flow_logs()
    logs.put_metric_filter(logGroupName=GROUP, filterName="f", filterPattern="", metricTransformations=TRANSFORM)
    logs.describe_metric_filters(logGroupName=GROUP, filterNamePrefix="f")
    cbor.put_metric_alarm(AlarmName="a", MetricName="m", Namespace="n", Statistic="Sum", Period=300, EvaluationPeriods=1,
                          Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    cbor.describe_alarms(AlarmNames=["a"])
    cbor.delete_alarms(AlarmNames=["a"])
    logs.delete_metric_filter(logGroupName=GROUP, filterName="f")
    counts = emulator.control("counts")
    t.check("attributed to account, region, service and operation", sorted((r["region"], r["service"], r["operation"], r["count"])
                                                                             for r in counts["requests"] if r["account"] == M2), sorted([
        ("us-east-1", "ec2", "DescribeVpcs", 1), ("us-east-1", "ec2", "CreateFlowLogs", 1), ("us-east-1", "ec2", "DescribeFlowLogs", 1),
        ("us-east-1", "logs", "CreateLogGroup", 1), ("us-east-1", "logs", "DescribeLogGroups", 1), ("us-east-1", "logs", "PutRetentionPolicy", 1),
        ("us-east-1", "logs", "PutMetricFilter", 1), ("us-east-1", "logs", "DescribeMetricFilters", 1), ("us-east-1", "logs", "DeleteMetricFilter", 1),
        ("us-east-1", "monitoring", "PutMetricAlarm", 1), ("us-east-1", "monitoring", "DescribeAlarms", 1), ("us-east-1", "monitoring", "DeleteAlarms", 1),
    ]))
    t.check("Create/Put/Delete mutating, Describe not", (counts["total"], counts["mutating"]), (12, 7))

    emulator.control("faults", {"throttle": {"rate": 1.0, "services": ["ec2", "logs", "cloudwatch"]}})
    t.check("throttled: EC2, CloudWatch Logs, CloudWatch (CBOR)", [t.error_of(call)[:2] for call in (
        ec2.describe_vpcs, lambda: logs.describe_log_groups(), lambda: cbor.describe_alarms())],
        [(503, "RequestLimitExceeded"), (400, "ThrottlingException"), (400, "Throttling")])
    emulator.control("faults", {"reset": True, "server_errors": {"rate": 1.0, "statuses": [500], "services": ["ec2", "monitoring"]}})
    t.check("500: EC2, CloudWatch (CBOR)", [t.error_of(call)[:2] for call in (ec2.describe_vpcs, lambda: cbor.describe_alarms())],
            [(500, "InternalError"), (500, "InternalServiceError")])
    emulator.control("faults", {"reset": True, "disabled_regions": {M2: ["eu-west-1"]}})
    t.check("a region not enabled: EC2, CloudWatch (CBOR), CloudWatch Logs", [t.error_of(call)[:2] for call in (
        emulator.client("ec2", m2, "eu-west-1").describe_vpcs, cbor_cloudwatch(emulator, m2, "eu-west-1").describe_alarms,
        emulator.client("logs", m2, "eu-west-1").describe_log_groups)],
        [(401, "AuthFailure"), (403, "InvalidClientTokenId"), (403, "UnrecognizedClientException")])


def network(t) -> None:
    """t: the selftest module (Emulator, check, error_of)."""
    emulator = t.Emulator("--vpcs-per-region", "0,1,2", "--vpc-regions", "us-east-1,eu-west-1")
    try:
        seeding(t, emulator)
        flow_logs(t, emulator)
        metric_filters(t, emulator)
        alarms(t, emulator)
        counting_and_faults(t, emulator)
    finally:
        emulator.stop()
