"""CloudWatch Logs log groups and metric filters, and CloudWatch metric alarms, as AWS keeps them.

Where moto 5.2.5 differs from AWS (each fix below cites its source):
- PutMetricFilter "Creates or updates a metric filter": a filter named as one the log group has
  replaces it (moto adds a second filter of the same name). The log group must exist
  (ResourceNotFoundException; moto files the filter under any name) and holds at most 100 metric
  filters ("The maximum number of metric filters that can be associated with a log group is
  100": LimitExceededException). CloudWatch Logs API reference, PutMetricFilter. moto already
  checks filterName (1-512, no ':' or '*'), filterPattern (<= 1024) and exactly one
  metricTransformation (InvalidParameterException), as the API reference's constraints say.
- DescribeMetricFilters answers each filter's creationTime (epoch milliseconds; moto has none)
  and ResourceNotFoundException for a logGroupName that does not exist (API reference,
  DescribeMetricFilters: MetricFilter, Errors). Filters come in log group and filterName order
  (ours: AWS documents no order; moto's is creation order).
- DeleteMetricFilter of a filter or log group that does not exist: ResourceNotFoundException
  (API reference, DeleteMetricFilter, Errors; moto answers success). DeleteLogGroup deletes the
  group's metric filters with it ("Deletes the specified log group and permanently deletes all
  the archived log events associated with the log group"; its filters are its configuration);
  moto keeps them and a group made again under the name would have them.
- DescribeLogGroups' metricFilterCount is the group's number of metric filters (moto: 0).
- PutRetentionPolicy's retentionInDays is one of AWS's values (API reference,
  PutRetentionPolicy: "Valid values are: 1, 3, 5, 7, 14, 30, ..."); moto takes any number.
- CreateLogGroup's logGroupName matches [\\.\\-_/#A-Za-z0-9]+ (API reference, CreateLogGroup);
  moto checks only its length.
- PutMetricAlarm: "When this operation creates an alarm, the alarm state is immediately set to
  INSUFFICIENT_DATA ... When you update an existing alarm, its state is left unchanged, but the
  update completely overwrites the previous configuration of the alarm." (CloudWatch API
  reference, PutMetricAlarm). moto starts every alarm OK and an update resets the state;
  StateReason on creation is "Unchecked: Initial alarm creation", as both have it.
"""

import re
import time
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend
from moto.logs.exceptions import InvalidParameterException, LimitExceededException, ResourceNotFoundException
from moto.logs.models import LogGroup, LogsBackend

from registry import Registry

MAX_FILTERS_PER_GROUP = 100
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
LOG_GROUP_NAME = re.compile(r"[\.\-_/#A-Za-z0-9]+")
NO_FILTER = "The specified metric filter does not exist."

_moto_create_log_group = LogsBackend.create_log_group
_moto_delete_log_group = LogsBackend.delete_log_group
_moto_put_retention_policy = LogsBackend.put_retention_policy
_moto_describe_dict = LogGroup.to_describe_dict
_moto_put_metric_alarm = CloudWatchBackend.put_metric_alarm


def _group_filters(backend: LogsBackend, group: str) -> list[dict[str, Any]]:
    return [f for f in backend.filters.metric_filters if f["logGroupName"] == group]


def create_log_group(self: LogsBackend, log_group_name: str, tags: dict[str, str], **kwargs: Any):
    if log_group_name and len(log_group_name) <= 512 and not LOG_GROUP_NAME.fullmatch(log_group_name):
        raise InvalidParameterException(
            constraint=f"Member must satisfy regular expression pattern: {LOG_GROUP_NAME.pattern}",
            parameter="logGroupName", value=log_group_name,
        )
    return _moto_create_log_group(self, log_group_name, tags, **kwargs)


def delete_log_group(self: LogsBackend, log_group_name: str) -> None:
    _moto_delete_log_group(self, log_group_name)
    self.filters.metric_filters[:] = [f for f in self.filters.metric_filters if f["logGroupName"] != log_group_name]


def put_retention_policy(self: LogsBackend, log_group_name: str, retention_in_days: Any) -> None:
    if retention_in_days not in RETENTION_DAYS:
        raise InvalidParameterException(
            constraint=f"Member must satisfy enum value set: [{', '.join(map(str, RETENTION_DAYS))}]",
            parameter="retentionInDays", value=retention_in_days,
        )
    _moto_put_retention_policy(self, log_group_name, retention_in_days)


def to_describe_dict(self: LogGroup) -> dict[str, Any]:
    described = _moto_describe_dict(self)
    from moto.logs.models import logs_backends

    backend = logs_backends[self.account_id][self.region]
    described["metricFilterCount"] = len(_group_filters(backend, self.name))
    return described


def put_metric_filter(self: LogsBackend, filter_name: str, filter_pattern: str, log_group_name: str,
                      metric_transformations: Any) -> None:
    if log_group_name not in self.groups:
        raise ResourceNotFoundException()
    filters = _group_filters(self, log_group_name)
    known = next((f for f in filters if f["filterName"] == filter_name), None)
    if known is not None:
        known.update(filterPattern=filter_pattern, metricTransformations=metric_transformations)
        return
    if len(filters) >= MAX_FILTERS_PER_GROUP:
        raise LimitExceededException()
    self.filters.metric_filters.append({
        "filterName": filter_name, "filterPattern": filter_pattern, "logGroupName": log_group_name,
        "metricTransformations": metric_transformations, "creationTime": int(time.time() * 1000),
    })


def describe_metric_filters(self: LogsBackend, prefix: str | None = None, log_group_name: str | None = None,
                            metric_name: str | None = None, metric_namespace: str | None = None) -> list[dict[str, Any]]:
    if log_group_name is not None and log_group_name not in self.groups:
        raise ResourceNotFoundException()
    found = self.filters.get_matching_filters(prefix, log_group_name, metric_name, metric_namespace)
    return sorted(found, key=lambda f: (f["logGroupName"], f["filterName"]))


def delete_metric_filter(self: LogsBackend, filter_name: str | None = None, log_group_name: str | None = None) -> None:
    if log_group_name not in self.groups:
        raise ResourceNotFoundException()
    if not any(f["filterName"] == filter_name for f in _group_filters(self, log_group_name)):
        raise ResourceNotFoundException(NO_FILTER)
    self.filters.metric_filters[:] = [
        f for f in self.filters.metric_filters if (f["logGroupName"], f["filterName"]) != (log_group_name, filter_name)
    ]


STATE = ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp", "history")


def put_metric_alarm(self: CloudWatchBackend, name: str, *args: Any, **kwargs: Any):
    known = self.alarms.get(name)
    alarm = _moto_put_metric_alarm(self, name, *args, **kwargs)
    if known is None:
        alarm.state_value = "INSUFFICIENT_DATA"
    else:
        for attribute in STATE:
            setattr(alarm, attribute, getattr(known, attribute))
    return alarm


def log_groups(backend: LogsBackend) -> dict[str, Any]:
    return {name: {"retention_days": group.retention_in_days} for name, group in sorted(list(backend.groups.items()))}


def metric_filters(backend: LogsBackend) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    for f in sorted(list(backend.filters.metric_filters), key=lambda f: (f["logGroupName"], f["filterName"])):
        result.setdefault(f["logGroupName"], []).append({
            "name": f["filterName"], "pattern": f["filterPattern"],
            "transformations": [
                {k: t.get(k) for k in ("metricName", "metricNamespace", "metricValue", "defaultValue")}
                for t in f["metricTransformations"]
            ],
        })
    return result


def alarms(backend: CloudWatchBackend) -> dict[str, Any]:
    return {
        name: {
            "state": a.state_value, "state_reason": a.state_reason, "metric": a.metric_name, "namespace": a.namespace,
            "statistic": a.statistic, "period": a.period, "evaluation_periods": a.evaluation_periods,
            "datapoints_to_alarm": a.datapoints_to_alarm, "threshold": a.threshold,
            "comparison": a.comparison_operator, "treat_missing_data": a.treat_missing_data,
            "actions": list(a.alarm_actions or []),
        }
        for name, a in sorted(list(backend.alarms.items()))
    }


def register(registry: Registry) -> None:
    """The state readers (log_groups, metric_filters, alarms) serve flowlogs_ext's GET /_orgguard/network."""
    registry.patch(LogsBackend, "create_log_group", create_log_group)
    registry.patch(LogsBackend, "delete_log_group", delete_log_group)
    registry.patch(LogsBackend, "put_retention_policy", put_retention_policy)
    registry.patch(LogsBackend, "put_metric_filter", put_metric_filter)
    registry.patch(LogsBackend, "describe_metric_filters", describe_metric_filters)
    registry.patch(LogsBackend, "delete_metric_filter", delete_metric_filter)
    registry.patch(LogGroup, "to_describe_dict", to_describe_dict)
    registry.patch(CloudWatchBackend, "put_metric_alarm", put_metric_alarm)
