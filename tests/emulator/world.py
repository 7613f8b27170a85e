"""What the emulator knows beyond moto: organization faults (suspended accounts, roles that
cannot be assumed, regions not enabled, the sts:ExternalId each account's roles require),
the injected faults (faults.Faults) and the request counts; and the changes to the
organization it makes mid-run (accounts suspended, leaving, joining).

The gate (gate.py) reads it on every request; the control API (control.py) and the command
line (cli.py, emulator.py) change it.
"""

import json
import threading
from collections import Counter

from moto.iam.models import iam_backends
from moto.organizations.models import organizations_backends

import fastpath
import faults as faults_module
import guardduty_admin
from seeding import MANAGEMENT_ACCOUNT, MEMBER_ROLE, add_member, member_account_id

READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head")
NOT_MUTATING = {"AssumeRole", "GetCallerIdentity", "TestEventPattern"}


class World:
    """What the emulator knows beyond moto: organization faults, injected faults, request counts."""

    def __init__(self, next_member: int = 1):
        self.lock = threading.Lock()
        self.organization_lock = threading.Lock()  # accounts leaving and joining
        self.next_member = next_member  # the member index the next joining account gets
        self.disabled_regions: dict[str, set[str]] = {}
        self.role_missing: set[str] = set()
        self.suspended: set[str] = set()
        self.external_id: str | None = None  # the sts:ExternalId every non-management account's trust requires
        self.external_id_for: dict[str, str] = {}  # per account, over external_id
        self.counts: Counter = Counter()
        self.faults = faults_module.Faults()

    @staticmethod
    def account_for_key(access_key: str) -> str:
        """The account an access key acts in: one map (fastpath.KEYS) serves moto and the gate."""
        return fastpath.account_for_key(access_key)

    def count(self, key: tuple) -> int:
        """Counts a request; returns its number among requests with the same key (from 1)."""
        with self.lock:
            self.counts[key] += 1
            return self.counts[key]

    def counts_json(self) -> dict:
        with self.lock:
            rows = [
                {"account": a, "region": r, "service": s, "operation": o, "count": n}
                for (a, r, s, o), n in sorted(self.counts.items())
            ]
        mutating = sum(row["count"] for row in rows if is_mutating(row["operation"]))
        return {
            "requests": rows, "total": sum(r["count"] for r in rows), "mutating": mutating,
            **self.faults.counts_json(),
        }

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
        self.faults.reset_counts()

    def suspend(self, accounts) -> None:
        """SUSPENDED in Organizations from now on; AssumeRole into them and their sessions' calls fail."""
        accounts = set(accounts)
        for account in organizations_backends[MANAGEMENT_ACCOUNT]["aws"].accounts:
            if account.id in accounts:
                account.status = account.state = "SUSPENDED"
        with self.lock:
            self.suspended |= accounts

    def leave(self, accounts) -> None:
        """The accounts leave the organization (moto's RemoveAccountFromOrganization) and the
        GuardDuty organization (guardduty_admin.account_left); they keep working on their own."""
        backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
        with self.organization_lock:
            for account in accounts:
                if any(a.id == account for a in backend.accounts):
                    backend.remove_account_from_organization(AccountId=account)
                guardduty_admin.account_left(account)
            fastpath.accounts_changed()

    def required_external_id(self, account: str) -> str | None:
        """The sts:ExternalId that trusting a role in `account` requires (None: no condition):
        the account's own (external_id_for), else, in any account but the management one, the
        default (external_id)."""
        if account in self.external_id_for:
            return self.external_id_for[account]
        return self.external_id if account != MANAGEMENT_ACCOUNT else None

    def sync_trust(self, accounts) -> None:
        """Writes each account's required external id into its OrganizationAccountAccessRole's
        trust policy (iam GetRole shows it), as a Condition StringEquals sts:ExternalId on the
        statements that trust an AWS principal, or takes that condition out when none is required.
        The gate enforces required_external_id; the document only shows it."""
        for account in accounts:
            if not dict.__contains__(iam_backends, account):  # never create a backend (an account that never was)
                continue
            try:
                role = iam_backends[account]["global"].get_role(MEMBER_ROLE)
            except Exception:  # noqa: BLE001 - no such role: nothing to show it on
                continue
            role.assume_role_policy_document = trust_with_external_id(
                role.assume_role_policy_document, self.required_external_id(account),
            )

    def join(self, count: int) -> list[str]:
        """`count` new ACTIVE members with the next free stable ids; returns their ids."""
        backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
        joined = []
        with self.organization_lock:
            taken = {a.id for a in backend.accounts}
            while len(joined) < count:
                index, self.next_member = self.next_member, self.next_member + 1
                if member_account_id(index) not in taken:
                    add_member(backend, index, seeded=False)
                    joined.append(member_account_id(index))
            fastpath.accounts_changed()
        if self.external_id is not None or self.external_id_for:
            self.sync_trust(joined)
        return joined


def trust_with_external_id(document: str, external_id: str | None) -> str:
    """The trust policy with (or without, for None) Condition StringEquals sts:ExternalId on
    its statements that allow sts:AssumeRole to an AWS principal."""
    policy = json.loads(document)
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action")
        if "sts:AssumeRole" not in (actions if isinstance(actions, list) else [actions]):
            continue
        if "AWS" not in (statement.get("Principal") or {}):
            continue
        condition = statement.setdefault("Condition", {})
        equals = condition.setdefault("StringEquals", {})
        if external_id is None:
            equals.pop("sts:ExternalId", None)
        else:
            equals["sts:ExternalId"] = external_id
        if not equals:
            del condition["StringEquals"]
        if not condition:
            del statement["Condition"]
    return json.dumps(policy)


def is_mutating(operation: str) -> bool:
    return operation not in NOT_MUTATING and not operation.startswith(READ_ONLY_PREFIXES)
