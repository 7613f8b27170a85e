"""GuardDuty as AWS behaves where moto 5.2.5 is lenient.

- CreateDetector where the account-region already has a detector: BadRequestException,
  except for a retry of the request that created it (same clientToken, which the SDKs fill
  in and keep across retries): AWS answers that detector's id again (idempotency).
- Features are a per-detector map; UpdateDetector changes only the features it names
  (moto replaces the whole list); GetDetector returns every feature and the legacy
  DataSources block, consistent with each other.
- Runtime monitoring's agents: EKS_RUNTIME_MONITORING and RUNTIME_MONITORING carry an
  additionalConfiguration (EKS_ADDON_MANAGEMENT; and ECS_FARGATE_AGENT_MANAGEMENT,
  EC2_AGENT_MANAGEMENT for RUNTIME_MONITORING), each ENABLED or DISABLED (DISABLED until
  set). Create/UpdateDetector accept features[].additionalConfiguration [{name, status}] and
  change only the agents named; another agent name, or an additionalConfiguration on any
  other feature, is BadRequestException. A feature entry without a status leaves the
  feature's status as it is (it may name agents only). GetDetector answers every agent of
  both features as additionalConfiguration [{name, status, updatedAt}].
- Features not offered in a Region (UNAVAILABLE, set by --feature-unavailable FEATURE@REGION
  or the control API): GetDetector leaves them out, features and their DataSources
  counterpart alike, and Create/UpdateDetector naming them (in features or dataSources, any
  status) fail with BadRequestException. AWS's wording for this is not known to us; ours is
  UNAVAILABLE_MESSAGE.
"""

import json
import time
from typing import Any

from moto.guardduty import models
from moto.guardduty.exceptions import GuardDutyException
from moto.guardduty.responses import GuardDutyResponse

from registry import DETECTOR, Registry

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
# Runtime-monitoring agents, the only features with an additionalConfiguration.
ADDITIONAL = {
    "EKS_RUNTIME_MONITORING": ("EKS_ADDON_MANAGEMENT",),
    "RUNTIME_MONITORING": ("EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT", "EC2_AGENT_MANAGEMENT"),
}
# AWS's generic input-validation message (as users report it).
INVALID = "The request is rejected because an invalid or out-of-range value is specified as an input parameter."
# Ours: AWS's wording for a feature a Region does not offer is not known to us.
UNAVAILABLE_MESSAGE = "The request is rejected because the feature {} is not available in this Region."
# region -> protection plans not offered there (control.apply_faults' "features_unavailable").
UNAVAILABLE: dict[str, set[str]] = {}


def available(region: str, feature: str) -> bool:
    return feature not in UNAVAILABLE.get(region, ())


def parse_unavailable(spec: Any) -> dict[str, set[str]]:
    """Parses {region: [FEATURE, ...]} or ["FEATURE@REGION", ...] (a string may hold a comma
    list); raises ValueError for anything else or a feature that is not a protection plan.
    Returns the parsed map; the caller merges it with merge_unavailable once everything is valid."""
    if isinstance(spec, str):
        spec = [spec]
    pairs: list[tuple[str, str]] = []
    if isinstance(spec, dict):
        for region, features in spec.items():
            if not isinstance(features, list):
                raise ValueError("features_unavailable: {region: [FEATURE, ...]} or [\"FEATURE@REGION\", ...]")
            pairs.extend((feature, region) for feature in features)
    elif isinstance(spec, list):
        for item in spec:
            for text in str(item).split(","):
                feature, at, region = text.strip().partition("@")
                if not at or not region:
                    raise ValueError(f"features_unavailable: {text!r} is not FEATURE@REGION")
                pairs.append((feature, region))
    else:
        raise ValueError("features_unavailable: {region: [FEATURE, ...]} or [\"FEATURE@REGION\", ...]")
    result: dict[str, set[str]] = {}
    for feature, region in pairs:
        if feature not in PROTECTION_PLANS:
            raise ValueError(f"features_unavailable: {feature!r} is not one of {list(PROTECTION_PLANS)}")
        result.setdefault(region, set()).add(feature)
    return result


def merge_unavailable(parsed: dict[str, set[str]]) -> None:
    """Added to, never cleared (like the organization's disabled regions)."""
    for region, features in parsed.items():
        UNAVAILABLE.setdefault(region, set()).update(features)


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
    """Only the entries that carry a status: an entry may name agents alone."""
    return {f["name"]: _status(f.get("status")) for f in features or [] if f.get("status") is not None}


def _additional_from_request(features: list | None) -> dict[tuple[str, str], str]:
    """(feature, agent) -> status for the agents a request names."""
    return {
        (f["name"], c.get("name")): _status(c.get("status"))
        for f in features or [] for c in f.get("additionalConfiguration") or []
    }


BOTH_RUNTIME = "The request is rejected because EKS_RUNTIME_MONITORING and RUNTIME_MONITORING cannot both be specified."


def check_features(region: str, features: list | None, data_sources: dict | None) -> None:
    """Create/UpdateDetector's rules for the features a request names: agents only where
    ADDITIONAL lists them, and no feature the Region does not offer."""
    named = set(_features_from_data_sources(data_sources))
    for feature in features or []:
        if not isinstance(feature, dict):
            raise BadRequestException(INVALID)
        name = feature.get("name")
        named.add(name)
        for configuration in feature.get("additionalConfiguration") or []:
            if configuration.get("name") not in ADDITIONAL.get(name, ()):
                raise BadRequestException(INVALID)
    if {"EKS_RUNTIME_MONITORING", "RUNTIME_MONITORING"} <= named:
        # AWS: a request may name one of the two runtime features (CAPABILITIES.md section 4).
        raise BadRequestException(BOTH_RUNTIME)
    for name in sorted(n for n in named if isinstance(n, str)):
        if not available(region, name):
            raise BadRequestException(UNAVAILABLE_MESSAGE.format(name))


class Detector(models.Detector):
    __module__ = "moto.guardduty.models"  # moto's model registry keys on the module path

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = kwargs.get("region_name") or args[1]
        self.feature_status = {name: "ENABLED" for name in FOUNDATIONAL}
        self.feature_status.update({name: "DISABLED" for name in PROTECTION_PLANS})
        self.feature_status.update(_features_from_data_sources(self.datasources))
        self.feature_status.update(_features_from_request(self.features))
        self.feature_updated = time.time()
        # feature -> agent -> [status, updatedAt]
        self.additional = {
            feature: {agent: ["DISABLED", self.feature_updated] for agent in agents}
            for feature, agents in ADDITIONAL.items()
        }
        self._update_additional(self.features)

    def _update_additional(self, features: list | None) -> None:
        now = time.time()
        for (feature, agent), status in _additional_from_request(features).items():
            if agent in self.additional.get(feature, {}):
                self.additional[feature][agent] = [status, now]

    def update(self, enable, finding_publishing_frequency, data_sources, features) -> None:
        if enable is not None:
            self.enabled = enable
        if finding_publishing_frequency is not None:
            self.finding_publish_freq = finding_publishing_frequency
        self.feature_status.update(_features_from_data_sources(data_sources))
        self.feature_status.update(_features_from_request(features))
        self._update_additional(features)
        self.feature_updated = time.time()

    def offered(self, name: str) -> bool:
        """Whether the detector's Region offers the feature (UNAVAILABLE)."""
        return available(self.region, name)

    def data_sources_json(self) -> dict:
        """The legacy block; a counterpart of a feature the Region does not offer is left out."""
        enabled = lambda name: {"status": self.feature_status[name]}  # noqa: E731
        result: dict[str, Any] = {
            "cloudTrail": enabled("CLOUD_TRAIL"),
            "dnsLogs": enabled("DNS_LOGS"),
            "flowLogs": enabled("FLOW_LOGS"),
        }
        if self.offered("S3_DATA_EVENTS"):
            result["s3Logs"] = enabled("S3_DATA_EVENTS")
        if self.offered("EKS_AUDIT_LOGS"):
            result["kubernetes"] = {"auditLogs": enabled("EKS_AUDIT_LOGS")}
        if self.offered("EBS_MALWARE_PROTECTION"):
            result["malwareProtection"] = {
                "scanEc2InstanceWithFindings": {"ebsVolumes": enabled("EBS_MALWARE_PROTECTION")},
                "serviceRole": self.service_role,
            }
        return result

    def additional_json(self, feature: str) -> list[dict[str, Any]]:
        return [
            {"name": agent, "status": status, "updatedAt": int(updated)}
            for agent, (status, updated) in self.additional[feature].items()
        ]

    def features_json(self, names=None) -> list[dict[str, Any]]:
        """GetDetector's (and GetMemberDetectors') features: the offered ones, with the
        runtime-monitoring agents as additionalConfiguration."""
        result = []
        for name in names or sorted(self.feature_status):
            if not self.offered(name):
                continue
            entry: dict[str, Any] = {
                "name": name, "status": self.feature_status[name], "updatedAt": int(self.feature_updated),
            }
            if name in self.additional:
                entry["additionalConfiguration"] = self.additional_json(name)
            result.append(entry)
        return result

    def to_json(self) -> dict[str, Any]:
        result = super().to_json()
        result["dataSources"] = self.data_sources_json()
        result["features"] = self.features_json()
        return result

    def state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": "ENABLED" if self.enabled else "DISABLED",
            "finding_publishing_frequency": self.finding_publish_freq,
            "features": {name: s for name, s in sorted(self.feature_status.items()) if self.offered(name)},
            "additional_configuration": {
                feature: {agent: status for agent, (status, _) in agents.items()}
                for feature, agents in self.additional.items() if self.offered(feature)
            },
        }


_moto_create_detector = models.GuardDutyBackend.create_detector


def create_detector(self, *args: Any, **kwargs: Any) -> str:
    if self.detectors:
        raise BadRequestException(
            "The request is rejected because a detector already exists for the current account."
        )
    return _moto_create_detector(self, *args, **kwargs)


class DetectorHandlers(GuardDutyResponse):
    """Methods copied onto GuardDutyResponse (registry.guardduty); moto's dispatch calls them
    by snake_case name."""

    def create_detector(self) -> str:
        """moto's CreateDetector handler, idempotent on clientToken: a retried request (its
        answer was lost) gets the detector it created instead of BadRequestException."""
        backend, token = self.guardduty_backend, self._get_param("clientToken")
        tokens = backend.__dict__.setdefault("client_tokens", {})
        if token and tokens.get(token) in backend.detectors:
            return json.dumps({"detectorId": tokens[token]})
        check_features(self.region, self._get_param("features"), self._get_param("dataSources"))
        detector_id = backend.create_detector(
            self._get_param("enable"), self._get_param("findingPublishingFrequency"),
            self._get_param("dataSources"), self._get_param("tags"), self._get_param("features"),
        )
        if token:
            tokens[token] = detector_id
        return json.dumps({"detectorId": detector_id})

    def update_detector(self) -> str:
        """moto's UpdateDetector handler, with check_features' rules first."""
        detector_id = self.path.split("/")[-1]
        self.guardduty_backend.get_detector(detector_id)
        features, data_sources = self._get_param("features"), self._get_param("dataSources")
        check_features(self.region, features, data_sources)
        self.guardduty_backend.update_detector(
            detector_id, self._get_param("enable"), self._get_param("findingPublishingFrequency"), data_sources, features,
        )
        return "{}"


OPERATIONS = (
    ("POST", "/detector", "CreateDetector"),
    ("GET", "/detector", "ListDetectors"),
    ("GET", DETECTOR, "GetDetector"),
    ("POST", DETECTOR, "UpdateDetector"),
)


def register(registry: Registry) -> None:
    """The detector model, its handlers, and the control API's detectors: GET
    /_orgguard/state's "detectors" and "features_unavailable", POST /_orgguard/detector."""
    registry.patch(models, "Detector", Detector)
    registry.patch(models.GuardDutyBackend, "create_detector", create_detector)
    registry.guardduty(OPERATIONS, DetectorHandlers)
    registry.state("detectors", all_detectors)
    registry.state("features_unavailable", unavailable_state)
    registry.control("POST", "detector", lambda request: {"detectorId": put_detector(**request)})


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


def unavailable_state() -> dict[str, list[str]]:
    """region -> the protection plans it does not offer (UNAVAILABLE), sorted."""
    return {r: sorted(f) for r, f in sorted(UNAVAILABLE.items())}


def put_detector(account: str, region: str, enable: bool = True, frequency: str = "SIX_HOURS",
                 features: dict[str, bool] | None = None,
                 additional_configuration: dict[str, dict[str, bool]] | None = None,
                 another: bool = False) -> str:
    """Test setup: a detector made by someone else before orgguard runs. Region availability
    is not checked (the detector may predate it); agents: {feature: {agent: bool}}.
    another: true makes one even where the account-region has a detector (ours: AWS keeps one
    per account and Region), so that ListDetectors has several ids to page through."""
    backend = models.guardduty_backends[account][region]
    requested = [{"name": k, "status": _status(v)} for k, v in (features or {}).items()]
    for feature, agents in (additional_configuration or {}).items():
        if not set(agents) <= set(ADDITIONAL.get(feature, ())):
            raise ValueError(f"additional_configuration: {feature} has agents {list(ADDITIONAL.get(feature, ()))}")
        requested.append({
            "name": feature, "additionalConfiguration": [{"name": a, "status": _status(v)} for a, v in agents.items()],
        })
    create = _moto_create_detector.__get__(backend) if another else backend.create_detector
    return create(enable, frequency, None, {}, requested)
