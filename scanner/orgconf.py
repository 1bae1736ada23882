"""Which accounts one scan covers, and where the work runs (README, "Organizations").

Three ways to say which accounts:

- nothing: the account of the scanner's own credentials (the default, as before);
- ``accounts:``, an explicit list, each reached by ``sts:AssumeRole`` into its ``role_arn``
  (an entry without one is the account of the credentials themselves);
- ``organization: {discover: true, ...}``: every active account of the AWS Organization,
  listed from the management or a delegated-administrator account, each reached through
  ``role_name`` (``OrganizationAccountAccessRole`` by default), narrowed by
  ``include_ous`` / ``exclude_accounts``.

``executor:`` says where collection runs: threads in this process (``local``), or the
workers of a Dask cluster (``dask``).  Either way evaluation runs here, over the whole
merged snapshot.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from scanner.configbase import Strict

ACCOUNT_ID = r"^\d{12}$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
OU_ID = r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"
"""A root (``r-``) or organizational unit (``ou-``) id, as Organizations writes them."""
SESSION_NAME = r"^[\w+=,.@-]{2,64}$"
EXTERNAL_ID = r"^[\w+=,.@:/-]+$"
DEFAULT_SESSION_NAME = "privatelink-scanner"
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"


def check_regions(value: list[str]) -> list[str]:
    """Region names shaped like ``us-west-2`` (a typo must not scan nothing quietly)."""
    for region in value:
        parts = region.split("-")
        if len(parts) < 3 or not parts[-1].isdigit():
            raise ValueError(f"{region!r} is not an AWS region name such as us-west-2")
    return value


class _Assume(Strict):
    """How a role is assumed: the keys an ``accounts:`` entry and ``organization:`` share."""

    external_id: str | None = Field(
        default=None,
        pattern=EXTERNAL_ID,
        min_length=2,
        max_length=1224,
        description="`sts:ExternalId` sent with AssumeRole, when the role's trust policy "
        "requires one (an external id is not a secret)",
    )
    session_name: str = Field(
        default=DEFAULT_SESSION_NAME,
        pattern=SESSION_NAME,
        description="Role session name, shown in the account's CloudTrail as who read it",
    )
    duration_seconds: int = Field(
        default=3600,
        ge=900,
        le=43200,
        description="Lifetime of each assumed session; credentials refresh by themselves "
        "before they expire, so a long scan never fails half-way",
    )


class AccountEntry(_Assume):
    """One account of an explicit ``accounts:`` list."""

    id: str = Field(pattern=ACCOUNT_ID, description="The 12-digit account id")
    role_arn: str | None = Field(
        default=None,
        pattern=ROLE_ARN,
        description="Role assumed to read the account; unset: the account of the scanner's "
        "own credentials (any other account is then an error)",
    )
    regions: list[str] = Field(
        default_factory=list,
        description="Regions scanned in this account; empty: `regions` (or `--region`), else "
        "every region enabled in the account",
    )

    _regions_shape = field_validator("regions")(check_regions)

    @model_validator(mode="after")
    def _role_in_account(self) -> AccountEntry:
        if self.role_arn is not None and self.role_arn.split(":")[4] != self.id:
            raise ValueError(f"role_arn {self.role_arn} is not a role in account {self.id}")
        return self


class OrganizationConfig(_Assume):
    """Discover the accounts of the AWS Organization (README, "Organizations")."""

    discover: bool = Field(
        default=False,
        description="Scan every active account of the organization, listed from the "
        "management or a delegated-administrator account (the scanner's credentials)",
    )
    role_name: str = Field(
        default=DEFAULT_ROLE_NAME,
        pattern=r"^[\w+=,.@-]{1,64}$",
        description="Role assumed in each member account (the management account is read "
        "with the scanner's own credentials)",
    )
    include_ous: list[str] = Field(
        default_factory=list,
        description="Root or OU ids (`r-…`, `ou-…`): only accounts under one of them, at any "
        "depth; empty: the whole organization",
    )
    exclude_accounts: list[str] = Field(
        default_factory=list, description="Account ids never scanned (checked before any call)"
    )

    @field_validator("include_ous")
    @classmethod
    def _ou_ids(cls, value: list[str]) -> list[str]:
        for ou in value:
            if not re.fullmatch(OU_ID, ou):
                raise ValueError(f"{ou!r} is not a root (r-…) or OU (ou-…-…) id")
        return value

    @field_validator("exclude_accounts")
    @classmethod
    def _account_ids(cls, value: list[str]) -> list[str]:
        for account in value:
            if not (len(account) == 12 and account.isdigit()):
                raise ValueError(f"{account!r} is not a 12-digit account id")
        return value


class ExecutorConfig(Strict):
    """Where collection runs (README, "Running on Dask")."""

    kind: Literal["local", "dask"] = Field(
        default="local",
        description="`local`: a bounded thread pool here; `dask`: the workers of a Dask "
        "cluster, one task per (account, region), each writing its shard to the store",
    )
    address: str | None = Field(
        default=None,
        description="Dask scheduler address (`tcp://scheduler:8786`); unset with `kind: dask`: "
        "a `distributed.LocalCluster` on this machine",
    )
    workers: int = Field(
        default=2, ge=1, le=256, description="LocalCluster worker processes (no `address`)"
    )
    threads_per_worker: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Threads each task uses for its boto3 calls (LocalCluster workers get as many)",
    )

    @model_validator(mode="after")
    def _address_for_dask(self) -> ExecutorConfig:
        if self.address is not None and self.kind != "dask":
            raise ValueError("address is only read with kind: dask")
        return self
