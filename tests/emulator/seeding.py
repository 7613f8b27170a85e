"""The organization the emulator seeds: the management account's organization and its
members, with stable ids, as moto's Organizations keeps them.

Members are 100000000001, 100000000002, ... (member_account_id); each has the
OrganizationAccountAccessRole moto's CreateAccount makes. Accounts joining mid-run
(world.World.join) are made the same way, with the next free ids.
"""

from datetime import datetime, timedelta

from moto.core import DEFAULT_ACCOUNT_ID
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends

MANAGEMENT_ACCOUNT = DEFAULT_ACCOUNT_ID
MEMBER_ROLE = "OrganizationAccountAccessRole"  # the role moto's CreateAccount makes in each member


def member_account_id(index: int) -> str:
    """Stable member ids: 100000000001, 100000000002, ..."""
    return f"{100000000000 + index:012d}"


def seed_organization(accounts: int, suspended: set[int], names_prefix: str = "member") -> list[str]:
    """Create the organization in the management account and `accounts` members with stable ids.
    moto's CreateAccount also creates each member's IAM backend and OrganizationAccountAccessRole
    (about 0.4 ms an account: 2 s for 5000), which AssumeRole's AssumedRoleId reads; kept."""
    # AWS pages ListAccounts by 20; moto's default page key (JoinedTimestamp) is not unique.
    # (fastpath replaces ListAccounts' paging; the model still serves the other listings.)
    from moto.organizations.utils import PAGINATION_MODEL

    PAGINATION_MODEL["list_accounts"].update(unique_attribute="Id", limit_default=20)
    backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
    backend.create_organization(region="us-east-1", FeatureSet="ALL")
    for i in range(1, accounts + 1):
        account = add_member(backend, i, names_prefix)
        if i in suspended:
            account.status = account.state = "SUSPENDED"
    return [member_account_id(i) for i in range(1, accounts + 1)]


def add_member(backend, index: int, names_prefix: str = "member", seeded: bool = True):
    """One ACTIVE member with the stable id of `index`; returns moto's account. Seeded members
    joined `index` minutes after 2024-01-01 (so ListAccounts lists them in index order, before
    the management account); a member joining mid-run joins now (listed last)."""
    original = org_utils.make_random_account_id
    try:
        org_utils.make_random_account_id = lambda: member_account_id(index)
        backend.create_account(AccountName=f"{names_prefix}-{index:05d}", Email=f"{names_prefix}-{index}@example.com")
    finally:
        org_utils.make_random_account_id = original
    account = backend.accounts[-1]
    if seeded:
        account.create_time = datetime(2024, 1, 1) + timedelta(minutes=index)  # naive, as moto keeps its times
    return account
