"""moto 5.2.5's and the emulator's own costs that grow with the number of accounts, left
after fastpath.py: found by profiling `scripts/bench 50000x1` (seeding, then orgguard's
fresh and no-change rollouts of plans/detectors-only.toml) with py-spy, and measured in-process
at 50,000 accounts (figures: before -> after).

Seeding (start until READY; 548 s at 50,000 in the README's last 50000x1 run, 5.1 s now):
- CreateAccount attaches the two default policies (FullAWSAccess, RCPFullAWSAccess) with
  AttachPolicy, which finds the target account by walking the organization's accounts from
  the first; the new account is the last, so seeding N accounts walks N^2 of them
  (seed_organization: 8000 accounts 6.7 s, 4.7 s of it in that walk; 20,000: 27.7 s -> 1.5 s;
  50,000: 4.0 s after). The new account's policies are attached directly, as moto's
  AttachPolicy would attach them (the same lists, the same order).

Per request:
- Organizations' account lookups walked the organization's accounts or built a set of all
  of them: moto's get_account_by_id (DescribeAccount and others; 4.7 ms for an account near
  the end), and guardduty_org asking whether an account is an ACTIVE member (a set of every
  account per CreateMembers call: 11.5 ms, 1,001 calls in a fresh rollout) or for its email.
  Served from an index by id (ACCOUNTS; about 1 us), kept where moto adds and removes
  accounts; an account's status is read from moto's object, so suspensions need no
  bookkeeping.
- GuardDuty ListMembers sorted all the administrator's member records for every page of 50:
  21.4 ms a page at 50,000 members, 1,001 pages a listing (a no-change rollout lists twice).
  The records are a MemberRecords dict whose sorted keys are kept until a member is added or
  removed; a page bisects to its token and reads only what it returns (0.01 ms a page).
"""

import bisect
import threading
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.organizations import utils as organizations_utils
from moto.organizations.exceptions import AccountNotFoundException, AWSOrganizationsNotInUseException
from moto.organizations.models import FakeAccount, OrganizationsBackend, organizations_backends


class MemberRecords(dict):
    """An administrator's GuardDuty member records (account -> record), whose sorted account
    ids are cached until an account is added or removed (ListMembers pages in that order).
    The cache is tagged with the generation it was sorted at; every change of the keys bumps
    the generation after the change, so a page sorted while another thread adds a member is
    sorted again next time rather than kept."""

    __slots__ = ("_generation", "_sorted")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._generation = 0
        self._sorted: tuple[list[str], int] | None = None

    def __setitem__(self, key: str, value: Any) -> None:
        new = key not in self
        super().__setitem__(key, value)
        if new:
            self._generation += 1

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._generation += 1

    def pop(self, *args: Any) -> Any:
        try:
            return super().pop(*args)
        finally:
            self._generation += 1

    def popitem(self) -> Any:
        try:
            return super().popitem()
        finally:
            self._generation += 1

    def clear(self) -> None:
        super().clear()
        self._generation += 1

    def setdefault(self, key: str, default: Any = None) -> Any:
        try:
            return super().setdefault(key, default)
        finally:
            self._generation += 1

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._generation += 1

    def page(self, start: str, accept, size: int) -> list[Any]:
        """Up to size + 1 records, in account-id order from the first id >= start, that
        `accept` keeps (the one past `size` names the next page)."""
        cached = self._sorted
        if cached is None or cached[1] != self._generation:
            generation = self._generation
            cached = self._sorted = (sorted(self), generation)
        keys, rows = cached[0], []
        for i in range(bisect.bisect_left(keys, start), len(keys)):
            record = self.get(keys[i])
            if record is not None and accept(record):
                rows.append(record)
                if len(rows) > size:
                    break
        return rows


# Organizations backend (by id()) -> {account id: moto's FakeAccount}; built from the backend's
# accounts on first use and whenever its size differs from theirs (a safety net: the patched
# methods below keep it in step).
ACCOUNTS: dict[int, dict[str, FakeAccount]] = {}
_accounts_lock = threading.Lock()


def _index(backend: OrganizationsBackend) -> dict[str, FakeAccount]:
    index = ACCOUNTS.get(id(backend))
    if index is None or len(index) != len(backend.accounts):
        with _accounts_lock:
            index = ACCOUNTS[id(backend)] = {a.id: a for a in backend.accounts}
    return index


def account(account_id: str, backend: OrganizationsBackend | None = None) -> FakeAccount | None:
    """The organization's account (moto's object), or None for an account outside it."""
    if backend is None:
        backend = organizations_backends[DEFAULT_ACCOUNT_ID]["aws"]
    return _index(backend).get(account_id)


def is_active(account_id: str) -> bool:
    """An ACTIVE account of the (management account's) organization."""
    found = account(account_id)
    return found is not None and found.status == "ACTIVE"


def _create_account(self: OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
    """moto's create_account, with AttachPolicy's account scan left out: the default policies
    are attached to the new account as AttachPolicy would attach them."""
    if self.org is None:
        raise AWSOrganizationsNotInUseException
    new_account = FakeAccount(self.org, **kwargs)
    self.accounts.append(new_account)
    for policy_id in (organizations_utils.DEFAULT_SCP_POLICY_ID, organizations_utils.DEFAULT_RCP_POLICY_ID):
        policy = self.get_policy_by_id(policy_id)
        if policy not in new_account.attached_policies:
            new_account.attached_policies.append(policy)
            policy.attachments.append(new_account)
    organizations_backends.master_accounts[new_account.id] = (self.account_id, self.partition)
    index = ACCOUNTS.get(id(self))
    if index is not None:
        with _accounts_lock:
            index[new_account.id] = new_account
    return new_account.create_account_status


_moto_remove_account = OrganizationsBackend.remove_account_from_organization


def _remove_account_from_organization(self: OrganizationsBackend, **kwargs: str) -> None:
    _moto_remove_account(self, **kwargs)
    with _accounts_lock:
        ACCOUNTS.pop(id(self), None)


def _get_account_by_id(self: OrganizationsBackend, account_id: str) -> FakeAccount:
    found = account(account_id, self)
    if found is None:
        raise AccountNotFoundException
    return found


def install() -> None:
    OrganizationsBackend.create_account = _create_account
    OrganizationsBackend.remove_account_from_organization = _remove_account_from_organization
    OrganizationsBackend.get_account_by_id = _get_account_by_id
