"""GuardDuty as AWS behaves where moto 5.2.5 is lenient.

- CreateDetector where the account-region already has a detector: BadRequestException,
  except for a retry of the request that created it (same clientToken, which the SDKs fill
  in and keep across retries): AWS answers that detector's id again (idempotency).
- Features are a per-detector map; UpdateDetector changes only the features it names
  (moto replaces the whole list); GetDetector returns every feature and the legacy
  DataSources block, consistent with each other.
"""

import json
import time
from typing import Any

from moto.guardduty import models
from moto.guardduty.exceptions import GuardDutyException
from moto.guardduty.responses import GuardDutyResponse

FOUNDATIONAL = ("CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS")
PROTECTION_PLANS = (
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "EKS_RUNTIME_MONITORING",
    "LAMBDA_NETWORK_LOGS",
    "RUNTIME_MONITORING",
)
# Legacy DataSources paths for the features that have one.
DATA_SOURCE_OF = {
    "S3_DATA_EVENTS": ("s3Logs",),
    "EKS_AUDIT_LOGS": ("kubernetes", "auditLogs"),
    "EBS_MALWARE_PROTECTION": ("malwareProtection", "scanEc2InstanceWithFindings", "ebsVolumes"),
}


class BadRequestException(GuardDutyException):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("BadRequestException", message)

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("X-Amzn-ErrorType", "BadRequestException")]


def _status(enabled: Any) -> str:
    return "ENABLED" if enabled in (True, "ENABLED") else "DISABLED"


def _features_from_data_sources(data_sources: dict | None) -> dict[str, str]:
    result = {}
    for feature, path in DATA_SOURCE_OF.items():
        node = data_sources or {}
        for key in path:
            node = (node or {}).get(key)
        if node is not None:
            result[feature] = _status(node.get("enable") if isinstance(node, dict) else node)
    return result


def _features_from_request(features: list | None) -> dict[str, str]:
    return {f["name"]: _status(f.get("status")) for f in features or []}


class Detector(models.Detector):
    __module__ = "moto.guardduty.models"  # moto's model registry keys on the module path

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.feature_status = {name: "ENABLED" for name in FOUNDATIONAL}
        self.feature_status.update({name: "DISABLED" for name in PROTECTION_PLANS})
        self.feature_status.update(_features_from_data_sources(self.datasources))
        self.feature_status.update(_features_from_request(self.features))
        self.feature_updated = time.time()

    def update(self, enable, finding_publishing_frequency, data_sources, features) -> None:
        if enable is not None:
            self.enabled = enable
        if finding_publishing_frequency is not None:
            self.finding_publish_freq = finding_publishing_frequency
        self.feature_status.update(_features_from_data_sources(data_sources))
        self.feature_status.update(_features_from_request(features))
        self.feature_updated = time.time()

    def data_sources_json(self) -> dict:
        enabled = lambda name: {"status": self.feature_status[name]}  # noqa: E731
        return {
            "cloudTrail": enabled("CLOUD_TRAIL"),
            "dnsLogs": enabled("DNS_LOGS"),
            "flowLogs": enabled("FLOW_LOGS"),
            "s3Logs": enabled("S3_DATA_EVENTS"),
            "kubernetes": {"auditLogs": enabled("EKS_AUDIT_LOGS")},
            "malwareProtection": {
                "scanEc2InstanceWithFindings": {"ebsVolumes": enabled("EBS_MALWARE_PROTECTION")},
                "serviceRole": self.service_role,
            },
        }

    def to_json(self) -> dict[str, Any]:
        result = super().to_json()
        result["dataSources"] = self.data_sources_json()
        result["features"] = [
            {"name": name, "status": status, "updatedAt": int(self.feature_updated)}
            for name, status in sorted(self.feature_status.items())
        ]
        return result

    def state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": "ENABLED" if self.enabled else "DISABLED",
            "finding_publishing_frequency": self.finding_publish_freq,
            "features": dict(sorted(self.feature_status.items())),
        }


_moto_create_detector = models.GuardDutyBackend.create_detector


def create_detector(self, *args: Any, **kwargs: Any) -> str:
    if self.detectors:
        raise BadRequestException(
            "The request is rejected because a detector already exists for the current account."
        )
    return _moto_create_detector(self, *args, **kwargs)


def create_detector_response(self) -> str:
    """moto's CreateDetector handler, idempotent on clientToken: a retried request (its
    answer was lost) gets the detector it created instead of BadRequestException."""
    backend, token = self.guardduty_backend, self._get_param("clientToken")
    tokens = backend.__dict__.setdefault("client_tokens", {})
    if token and tokens.get(token) in backend.detectors:
        return json.dumps({"detectorId": tokens[token]})
    detector_id = backend.create_detector(
        self._get_param("enable"), self._get_param("findingPublishingFrequency"),
        self._get_param("dataSources"), self._get_param("tags"), self._get_param("features"),
    )
    if token:
        tokens[token] = detector_id
    return json.dumps({"detectorId": detector_id})


def install() -> None:
    models.Detector = Detector
    models.GuardDutyBackend.create_detector = create_detector
    GuardDutyResponse.create_detector = create_detector_response
    __import__("guardduty_org").install()  # imported here: guardduty_org imports this module


def all_detectors() -> dict[str, dict[str, list[dict]]]:
    """account -> region -> detectors, straight from the backend."""
    result: dict[str, dict[str, list[dict]]] = {}
    for account_id, regions in list(models.guardduty_backends.items()):
        for region, backend in list(regions.items()):
            if backend.detectors:
                result.setdefault(account_id, {})[region] = [
                    d.state() for d in backend.detectors.values()
                ]
    return result


def put_detector(account: str, region: str, enable: bool = True, frequency: str = "SIX_HOURS",
                 features: dict[str, bool] | None = None) -> str:
    """Test setup: a detector made by someone else before orgguard runs."""
    backend = models.guardduty_backends[account][region]
    requested = [{"name": k, "status": _status(v)} for k, v in (features or {}).items()]
    return backend.create_detector(enable, frequency, None, {}, requested)
