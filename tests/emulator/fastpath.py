"""moto 5.2.5's per-request costs that grow with the number of accounts, removed.

Found by profiling orgguard rollouts against 5000 seeded accounts (before: 37 requests/s;
after: 530-650/s, 1.4-1.6 ms of emulator CPU per request, flat from 500 to 5000 accounts):
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
- Organizations ListAccounts describes and sorts every account, then walks the list to
  the page token, for each page of 20: O(accounts) per page, O(accounts^2) per listing.
  Served from a sorted index with a bisect on the token; only the page is described.

And costs that do not grow with accounts but are paid on every request or, lazily, by
every one of the first concurrent requests (each then builds the same thing):
- BaseResponse.call_action lists the response class's methods with inspect.getmembers
  on every request (about 15% of a request's CPU): cached per class.
- The request id is 52 random.choice calls (about 7%): os.urandom instead.
- botocore models, GuardDuty's REST router and moto's package -> service lookup (which
  builds a botocore Session) are built before READY (warm_up).
"""

import base64
import bisect
import os
import threading
import time
from datetime import datetime

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core import base_backend
from moto.core import responses as core_responses
from moto.core.base_backend import AccountSpecificBackend, BackendDict
from moto.iam import models as iam_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.organizations import models as organizations_models
from moto.organizations.exceptions import InvalidInputException
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


LIST_ACCOUNTS_PAGE = 20  # AWS's default and maximum MaxResults for ListAccounts
_account_index: dict[int, tuple[int, list[tuple], list]] = {}


def _list_accounts(self, max_results=None, next_token=None):
    """moto's ListAccounts order (JoinedTimestamp; then Id, so that pages are stable), paged
    with an opaque token naming the next page's first account."""
    accounts = self.accounts
    cached = _account_index.get(id(self))
    if cached is None or cached[0] != len(accounts):
        ordered = sorted(accounts, key=lambda a: (a.create_time, a.id))
        cached = _account_index[id(self)] = (len(accounts), [(a.create_time, a.id) for a in ordered], ordered)
    _, keys, ordered = cached
    start = 0
    if next_token:
        try:
            stamp, _, account_id = base64.urlsafe_b64decode(next_token.encode()).decode().partition("|")
            start = bisect.bisect_left(keys, (datetime.fromisoformat(stamp), account_id))
        except (ValueError, UnicodeDecodeError, IndexError) as error:
            raise InvalidInputException("You specified an invalid value for nextToken.") from error
    size = int(max_results or LIST_ACCOUNTS_PAGE)
    page = ordered[start:start + size]
    token = None
    if start + size < len(ordered):
        stamp, account_id = keys[start + size]
        token = base64.urlsafe_b64encode(f"{stamp.isoformat()}|{account_id}".encode()).decode()
    return [account.describe() for account in page], token


def accounts_changed() -> None:
    """The organization's accounts changed (an account left, accounts joined): the ListAccounts
    index is rebuilt on the next page (its length check alone misses a leave plus a join)."""
    _account_index.clear()


_method_names: dict[type, frozenset[str]] = {}
_moto_method_names_from_class = core_responses.method_names_from_class


def _method_names_from_class(clazz: type) -> frozenset[str]:
    """Per class, on first use (after guardduty_org has added its handlers)."""
    names = _method_names.get(clazz)
    if names is None:
        names = _method_names[clazz] = frozenset(_moto_method_names_from_class(clazz))
    return names


def _request_id(headerdict: dict | None = None) -> str:
    request_id = os.urandom(26).hex().upper()
    if isinstance(headerdict, dict):
        headerdict["x-amzn-requestid"] = request_id
    return request_id


WARM_SERVICES = ("sts", "organizations", "iam", "guardduty", "sns", "events")


def warm_up(services=WARM_SERVICES) -> None:
    """Load the botocore models and build GuardDuty's REST router before the first request:
    done lazily, 64 first requests at once each build them (a second or more of CPU each)."""
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model, service_name_from_moto_package_name

    for service in services:
        service_name_from_moto_package_name(service)
        model = get_service_model(service)
        if model.metadata["protocol"].startswith("rest"):
            get_service_router(service)._get_router(model.metadata["protocol"])


def install() -> None:
    iam_models.get_account_id_from = account_for_key
    iam_models.mark_account_as_visited = lambda *args, **kwargs: None
    iam_models.AccessKey.__init__ = _access_key_init
    iam_models.IAMBackend.delete_access_key_by_name = _delete_access_key_by_name
    sts_models.STSBackend.assume_role = _assume_role
    BackendDict._create_account_specific_backend = _create_account_specific_backend
    AccountSpecificBackend._generate_regions = _generate_regions
    DomainDispatcherApplication.get_backend_for_host = _get_backend_for_host
    organizations_models.OrganizationsBackend.list_accounts = _list_accounts
    core_responses.method_names_from_class = _method_names_from_class
    core_responses.gen_amzn_requestid_long = _request_id
