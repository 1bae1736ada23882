"""Which accounts a scan covers, how each is reached, and each account's preflight.

The plan is made once, on the machine that runs the scan, before any collector:

1. Who the credentials are (STS ``GetCallerIdentity``: account id and partition).
2. The accounts: the credentials' own (default), the ``accounts:`` list, or the
   organization's (``organization.discover``).  For an organization, and for a list that
   holds the credentials' own account, the ``organizations`` collector runs first in that
   account with :attr:`Scope.org_wide`: one read of the organization, its SCPs and every
   account's OU path.  Discovery picks the accounts from it, and each member covered by
   it gets its Organizations data from there instead of a read of its own ("read once
   from the management account").
3. Per account, the preflight (:func:`preflight`): assume the role (credentials that
   refresh themselves, :mod:`scanner.aws.assume`), check who that makes us, and find the
   account's enabled regions when none were named.  A preflight that fails makes every
   collector of that account an ERROR naming the operation and AWS's reason; the other
   accounts go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.aws.assume import RoleTarget, account_factory, ensure_credentials
from scanner.aws.errors import ErrorInfo, ErrorKind, classify
from scanner.aws.session import ClientFactory, global_region_for
from scanner.collectors.engine import run_collector
from scanner.collectors.normalize import MalformedResponse
from scanner.collectors.paging import call, pages
from scanner.collectors.registry import COLLECTORS
from scanner.collectors.shards import Shard
from scanner.collectors.specs import Record, Scope
from scanner.config import Config
from scanner.model.snapshot import GLOBAL_REGION, OutcomeStatus

UNKNOWN_ACCOUNT = "unknown"
ORGANIZATIONS = "organizations"


class PreflightFailed(Exception):
    """A call the whole account depends on failed (identity, AssumeRole, regions)."""

    def __init__(self, operation: str, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.operation = operation
        self.info = info


@dataclass(frozen=True)
class AccountTarget:
    """One account to scan and how to reach it (``role`` None: the credentials' own)."""

    account_id: str
    role: RoleTarget | None
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountScan:
    """An account after its preflight: where its collectors run, or why none can."""

    target: AccountTarget
    partition: str
    regions: tuple[str, ...]
    failure: PreflightFailed | None = None

    @property
    def account_id(self) -> str:
        return self.target.account_id


@dataclass
class ScanPlan:
    """Everything decided before collection (module docstring)."""

    caller: str
    partition: str
    targets: list[AccountTarget]
    caller_failure: PreflightFailed | None = None
    organization: Shard | None = None
    """The Organizations read made once, org-wide, in the credentials' account (their own
    ``organizations`` outcome), if it was made."""
    covered: frozenset[str] = frozenset()
    """Accounts whose Organizations data comes from :attr:`organization`."""
    skipped: list[dict[str, Any]] = field(default_factory=list)
    """Organization accounts not scanned, and why (excluded, suspended, outside the OUs)."""

    @property
    def multi_account(self) -> bool:
        return any(t.role is not None for t in self.targets) or len(self.targets) > 1


def _text(value: Any, what: str) -> str:
    """A non-empty string from an answer, else :class:`MalformedResponse` naming the field."""
    if not isinstance(value, str) or not value:
        raise MalformedResponse(f"answer has no {what}")
    return value


def identity(factory: ClientFactory) -> tuple[str, str]:
    """(account id, partition) of the factory's credentials.

    The answer is read inside the ``try``: a malformed one (no ``Account``, an ``Arn``
    without a partition) must become a recorded preflight failure, not a crash of the scan.
    """
    try:
        answer = call(factory.client("sts", factory.default_region), "GetCallerIdentity", {})
        account = _text(answer.get("Account"), "Account")
        arn = _text(answer.get("Arn"), "Arn").split(":")
        return account, _text(arn[1] if len(arn) > 1 else None, "partition in Arn")
    except Exception as exc:  # recorded on every collector of the account by the caller
        raise PreflightFailed("GetCallerIdentity", classify(exc)) from exc


def enabled_regions(factory: ClientFactory) -> list[str]:
    """Regions enabled for the account; a malformed answer is a preflight failure.

    An account always has enabled regions, so an answer listing none is malformed too:
    falling back to one region would leave the others unscanned behind a complete report.
    """
    try:
        client = factory.client("ec2", factory.default_region)
        answer = pages(client, "DescribeRegions", {"AllRegions": False})
        regions = sorted(
            {
                _text(r.get("RegionName") if isinstance(r, dict) else None, "RegionName")
                for page in answer
                for r in page.get("Regions") or []
            }
        )
        if not regions:
            raise MalformedResponse("answer lists no Regions")
        return regions
    except Exception as exc:  # recorded on every collector of the account by the caller
        raise PreflightFailed("DescribeRegions", classify(exc)) from exc


def _listed_targets(config: Config, caller: str) -> list[AccountTarget]:
    """The ``accounts:`` list; an entry without ``role_arn`` must be the caller's account."""
    out: list[AccountTarget] = []
    for index, entry in enumerate(config.accounts):
        role = None
        if entry.role_arn is not None:
            role = RoleTarget(
                entry.role_arn, entry.session_name, entry.external_id, entry.duration_seconds
            )
        elif entry.id != caller and caller != UNKNOWN_ACCOUNT:
            raise config.error_at(
                f"account {entry.id} is not the account of the scanner's credentials "
                f"({caller}), so it needs a role_arn to be reached",
                "accounts",
                index,
            )
        out.append(AccountTarget(entry.id, role, tuple(entry.regions)))
    return out


def _read_organization(base: ClientFactory, caller: str, partition: str) -> Shard:
    """The ``organizations`` collector once, org-wide, in the credentials' account."""
    spec = COLLECTORS[ORGANIZATIONS]
    region = base.default_region
    scope = Scope(
        caller, GLOBAL_REGION, global_region_for(region), partition, (region,), org_wide=True
    )
    outcome, records = run_collector(spec, base, scope)
    return Shard(outcome, tuple(records))


def _org_accounts(shard: Shard) -> list[Record]:
    return [r for r in shard.records if r.type == "organizations:account"]


def _usable_source(shard: Shard | None, caller: str) -> bool:
    """The org-wide read holds the organization (management or delegated admin)."""
    if shard is None or shard.outcome.status is not OutcomeStatus.OK:
        return False
    orgs = [r for r in shard.records if r.type == "organizations:organization"]
    return bool(orgs) and any(r.id == caller for r in _org_accounts(shard))


def _discovered_targets(
    config: Config, shard: Shard, caller: str, partition: str
) -> tuple[list[AccountTarget], list[dict[str, Any]]]:
    """The organization's accounts that ``organization:`` selects, and the others with why."""
    org = config.organization
    include = set(org.include_ous)
    exclude = set(org.exclude_accounts)
    targets: list[AccountTarget] = []
    skipped: list[dict[str, Any]] = []
    for rec in _org_accounts(shard):
        path = [str(p) for p in rec.data.get("ParentPath") or []]
        # ``State`` replaces the deprecated ``Status``; an answer with neither is malformed
        # for this purpose and the account is scanned (never silently left out).
        status = str(rec.data.get("State") or rec.data.get("Status") or "ACTIVE").upper()
        why = None
        if rec.id in exclude:
            why = "in organization.exclude_accounts"
        elif include and not include & set(path):
            why = "under none of organization.include_ous"
        elif status != "ACTIVE":
            why = f"account status {status}"
        if why is not None:
            skipped.append({"account_id": rec.id, "name": rec.data.get("Name"), "reason": why})
            continue
        role = None
        if rec.id != caller:
            arn = f"arn:{partition}:iam::{rec.id}:role/{org.role_name}"
            role = RoleTarget(arn, org.session_name, org.external_id, org.duration_seconds)
        targets.append(AccountTarget(rec.id, role))
    return targets, skipped


def plan_scan(config: Config, base: ClientFactory) -> ScanPlan:
    """The :class:`ScanPlan` (module docstring).  Raises :class:`InputError` for a listed
    account that cannot be reached (no ``role_arn``, not the credentials' own)."""
    try:
        caller, partition = identity(base)
    except PreflightFailed as failed:
        caller, partition = UNKNOWN_ACCOUNT, "aws"
        targets = _listed_targets(config, caller) if config.accounts else []
        plan = ScanPlan(caller, partition, targets, caller_failure=failed)
        if not targets:
            plan.targets = [AccountTarget(caller, None)]
        return plan
    if config.organization.discover:
        shard = _read_organization(base, caller, partition)
        if not _usable_source(shard, caller):
            # Nothing can be scanned: the caller's every collector says why (never "an
            # organization without accounts", which would read as a clean scan).
            return ScanPlan(caller, partition, [AccountTarget(caller, None)], _not_a_source(shard))
        targets, skipped = _discovered_targets(config, shard, caller, partition)
        covered = frozenset(t.account_id for t in targets)
        return ScanPlan(caller, partition, targets, None, shard, covered, skipped)
    if config.accounts:
        targets = _listed_targets(config, caller)
        plan = ScanPlan(caller, partition, targets)
        if len(targets) > 1 and any(t.account_id == caller for t in targets):
            # The read is the caller's own Organizations outcome whatever it found (not
            # collected from a member account, say), so it is never made twice.
            plan.organization = _read_organization(base, caller, partition)
            if _usable_source(plan.organization, caller):
                members = {r.id for r in _org_accounts(plan.organization)}
                plan.covered = frozenset(t.account_id for t in targets if t.account_id in members)
        return plan
    return ScanPlan(caller, partition, [AccountTarget(caller, None, tuple(config.regions))])


def _not_a_source(shard: Shard) -> PreflightFailed:
    """Discovery needs the organization: a read that gave none fails the scan's one account."""
    o = shard.outcome
    why = f" ({o.error_code}: {o.error_message})" if o.error_code else ""
    return PreflightFailed(
        o.operation or "DescribeOrganization",
        ErrorInfo(
            ErrorKind.ACCESS_DENIED if o.status is not OutcomeStatus.ERROR else ErrorKind.SERVICE,
            o.error_code or "NotOrganizationSource",
            "organization.discover needs the management account or a delegated administrator "
            f"for Organizations; these credentials could not list the organization{why}",
        ),
    )


def preflight(
    base: ClientFactory, target: AccountTarget, wanted: tuple[str, ...], partition: str
) -> tuple[AccountScan, ClientFactory | None]:
    """Reach one account: (the scan, its client factory) or (the failure, None)."""
    regions = target.regions or wanted
    try:
        factory = account_factory(base, target.role)
        if target.role is not None:
            try:
                ensure_credentials(factory.session)
            except Exception as exc:
                raise PreflightFailed("AssumeRole", _assume_info(target, classify(exc))) from exc
            account, partition = identity(factory)
            if account != target.account_id:
                raise PreflightFailed(
                    "GetCallerIdentity",
                    ErrorInfo(
                        ErrorKind.UNEXPECTED,
                        "WrongAccount",
                        f"role {target.role.role_arn} gave credentials of account {account}, "
                        f"not {target.account_id}",
                    ),
                )
        if not regions:
            regions = tuple(enabled_regions(factory))
    except PreflightFailed as failed:
        return AccountScan(target, partition, regions or (base.default_region,), failed), None
    return AccountScan(target, partition, regions), factory


def _assume_info(target: AccountTarget, info: ErrorInfo) -> ErrorInfo:
    arn = target.role.role_arn if target.role is not None else "?"
    return ErrorInfo(info.kind, info.code, f"could not assume {arn}: {info.message}")
