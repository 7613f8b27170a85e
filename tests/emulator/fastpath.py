"""moto 5.2.5's per-request costs that grow with the number of accounts, removed.

Measured with 5000 seeded accounts (see README of the emulator in emulator.py's docstring):
- BaseResponse.current_account calls iam.models.get_account_id_from, which scans every
  account's IAM backend, in every partition (creating the missing partition backends as
  it goes), for the request's access key: O(accounts) per request, and the management
  account's static key is never found, so its requests always pay the full scan.
  Replaced by KEYS, one dict access key -> (account, expiry) kept up to date where moto
  creates and deletes access keys (IAM users' keys and STS AssumeRole's temporary keys).
- BackendDict.__getitem__ (guardduty_backends[account], ...) tests membership with
  `account_id not in list(self.keys())` under a global lock: O(accounts) per lookup, and
  handlers do several. Replaced by a dict lookup, taking the lock only to create.
- AccountSpecificBackend asks botocore for the service's regions in every partition each
  time a new account first touches a service (its lru_cache is keyed on the instance).
  Cached per service.
- DomainDispatcherApplication matches the Host it derives against ~300 URL regexes on
  every request, under a lock. Cached per host.
- mark_account_as_visited (AccessKeyLastUsed, RoleLastUsed) does an IAM lookup per
  request; orgguard never reads either. Skipped.
"""

import threading
import time

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core import base_backend
from moto.core.base_backend import AccountSpecificBackend, BackendDict
from moto.iam import models as iam_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sts import models as sts_models


class Key:
    """What the emulator knows about an access key: its account and, for an assumed-role
    session, when it expires (epoch seconds)."""

    __slots__ = ("account", "expires")

    def __init__(self, account: str, expires: float | None = None) -> None:
        self.account = account
        self.expires = expires


KEYS: dict[str, Key] = {}
_keys_lock = threading.Lock()
# Seconds an AssumeRole session lasts when set (fault "session_seconds"); None: as asked.
session_seconds: int | None = None


def account_for_key(access_key: str) -> str:
    """As moto's get_account_id_from: unknown keys (the static test keys) act in the default
    (management) account."""
    key = KEYS.get(access_key)
    return key.account if key is not None else DEFAULT_ACCOUNT_ID


def key_expired(access_key: str, now: float | None = None) -> bool:
    key = KEYS.get(access_key)
    return key is not None and key.expires is not None and (now or time.time()) >= key.expires


_moto_access_key_init = iam_models.AccessKey.__init__


def _access_key_init(self, user_name, prefix, account_id, status="Active"):
    _moto_access_key_init(self, user_name, prefix, account_id, status)
    with _keys_lock:
        KEYS[self.access_key_id] = Key(account_id)


_moto_delete_access_key_by_name = iam_models.IAMBackend.delete_access_key_by_name


def _delete_access_key_by_name(self, name):
    _moto_delete_access_key_by_name(self, name)
    with _keys_lock:
        KEYS.pop(name, None)


_moto_assume_role = sts_models.STSBackend.assume_role


def _assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id):
    """AssumeRole with the session length the emulator imposes (if any), and the session's
    expiry recorded against its access key so that the gate can refuse expired tokens."""
    if session_seconds is not None:
        duration = session_seconds
    role = _moto_assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id)
    key = KEYS.get(role.access_key_id)
    if key is not None:
        key.expires = time.time() + int(duration)
    return role


def _create_account_specific_backend(self, account_id: str) -> None:
    if dict.__contains__(self, account_id):
        return
    with base_backend.backend_lock:
        if not dict.__contains__(self, account_id):
            dict.__setitem__(
                self,
                account_id,
                AccountSpecificBackend(
                    service_name=self.service_name,
                    account_id=account_id,
                    backend=self.backend,
                    use_boto3_regions=self._use_boto3_regions,
                    additional_regions=self._additional_regions,
                ),
            )
        if not any(instance is self for instance in BackendDict._instances):
            BackendDict._instances.append(self)


_regions_by_service: dict[str, list[str]] = {}
_moto_generate_regions = AccountSpecificBackend._generate_regions


def _generate_regions(self, service_name: str) -> list[str]:
    regions = _regions_by_service.get(service_name)
    if regions is None:
        regions = _regions_by_service[service_name] = list(_moto_generate_regions(self, service_name))
    return regions


_backend_for_host: dict[str | None, object] = {}
_moto_get_backend_for_host = DomainDispatcherApplication.get_backend_for_host


def _get_backend_for_host(self, host):
    try:
        return _backend_for_host[host]
    except KeyError:
        backend = _moto_get_backend_for_host(self, host)
        if backend:  # a miss may be retried with another host; do not cache None
            _backend_for_host[host] = backend
        return backend


def install() -> None:
    iam_models.get_account_id_from = account_for_key
    iam_models.mark_account_as_visited = lambda *args, **kwargs: None
    iam_models.AccessKey.__init__ = _access_key_init
    iam_models.IAMBackend.delete_access_key_by_name = _delete_access_key_by_name
    sts_models.STSBackend.assume_role = _assume_role
    BackendDict._create_account_specific_backend = _create_account_specific_backend
    AccountSpecificBackend._generate_regions = _generate_regions
    DomainDispatcherApplication.get_backend_for_host = _get_backend_for_host
