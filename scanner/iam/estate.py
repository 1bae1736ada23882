"""The IAM analysis of a whole snapshot, computed once per scan and shared by the issue-3 rules.

Everything the five IAM rules need is derived here from the snapshot alone (no engine
imports, so :mod:`scanner.iam` stays a standalone library):

- the **endpoint inventory** (every ``ec2:vpc-endpoint``, with its SageMaker kind and VPC);
- the **approved** endpoints and VPCs: ``approved_vpc_endpoints`` / ``approved_vpcs`` from
  config when either is set (then *only* the pinned values: a smaller approved set can only
  report more paths, never hide one), otherwise the usable SageMaker interface endpoints
  found in the scanned accounts and their VPCs;
- the **organization view** of each account: whether Organizations data was collected, the
  management account, and the SCP levels root → OUs → account, built from
  ``organizations:account`` ``ParentPath`` and ``organizations:policy`` ``Targets``;
- the **inventory** of principals (:mod:`scanner.iam.inventory`) and one
  :class:`~scanner.iam.paths.PrincipalAnalysis` per (principal, action).

When SCPs could not be read (member account, collector error, unparseable SCP) the path
analysis assumes *no* SCP.  SCPs can only remove paths, so that can over-report a path but
never hide one; the findings say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scanner.enrichment.endpoints import sagemaker_kind
from scanner.errors import InputError
from scanner.iam.inventory import AttachedPolicy, Inventory, Principal, build_inventory, tags_of
from scanner.iam.paths import (
    Approved,
    Notebook,
    PathAnalyzer,
    PrincipalAnalysis,
    PublicPath,
    analyze_inventory,
    paths_by_notebook,
)
from scanner.iam.policy import Policy, PolicyKind, parse_policy, parse_policy_any
from scanner.model.snapshot import GLOBAL_REGION, OutcomeStatus, Snapshot

PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
DOMAIN_PRESIGN = "sagemaker:CreatePresignedDomainUrl"
"""Opens a Studio app as a user profile; always analysed (it is not an ``iam.actions`` entry):
AWS checks its IAM policy on every HTTP request and WebSocket frame to the app."""
SSO_AUTH_MODE = "SSO"
UNUSABLE_STATES = frozenset({"deleted", "deleting", "failed", "rejected", "expired"})
ORG_TYPE = "organizations:organization"


@dataclass(frozen=True)
class KnownEndpoint:
    """One VPC endpoint of the scanned accounts, as the IAM rules need it."""

    id: str
    account_id: str
    region: str
    vpc_id: str | None
    kind: str | None  # notebook | api | runtime | studio | None (not SageMaker)
    state: str | None

    @property
    def usable(self) -> bool:
        """An endpoint that is deleted or failed carries no traffic: naming it is stale."""
        return (self.state or "").lower() not in UNUSABLE_STATES


@dataclass(frozen=True)
class OrgView:
    """What is known about the organization an account belongs to.

    ``status``: ``collected`` (data present), ``not_collected`` (member account, not in use,
    or disabled), ``error`` (the collector failed) or ``no_organization`` (collected but the
    account is in no organization).  ``levels`` is None when the SCP path is unknown.
    """

    account_id: str
    status: str
    org_id: str | None = None
    management_account: str | None = None
    levels: tuple[tuple[Policy, ...], ...] | None = None
    level_ids: tuple[str, ...] = ()
    level_policy_names: tuple[tuple[str, ...], ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def is_management(self) -> bool:
        return self.management_account == self.account_id

    def scp_note(self) -> str:
        """How SCPs entered the path analysis of this account (shown in evidence)."""
        if self.is_management:
            return "management account: SCPs never apply to it"
        if self.levels == ():
            return "; ".join(self.problems) + ": none applied"
        if self.levels is not None:
            return f"{len(self.levels)} SCP levels applied (root → account): " + " | ".join(
                f"{lid}: {', '.join(names) or 'no policy'}"
                for lid, names in zip(self.level_ids, self.level_policy_names, strict=True)
            )
        why = "; ".join(self.problems) or f"Organizations data {self.status.replace('_', ' ')}"
        return (
            f"SCPs not applied ({why}); the analysis assumed no SCP, which can only over-report "
            "paths, never hide one"
        )


@dataclass
class EstateAnalysis:
    """The shared result: inventory, approved set, org views and every principal's paths."""

    actions: tuple[str, ...]
    approved: Approved
    approved_source: str  # "config" | "discovered"
    endpoints: dict[str, KnownEndpoint]
    notebooks: list[Notebook]
    inventory: Inventory
    orgs: dict[str, OrgView]
    analyses: dict[tuple[str, str], PrincipalAnalysis] = field(default_factory=dict)
    profiles: list[Notebook] = field(default_factory=list)
    """Studio user profiles of IAM-mode domains, the targets of CreatePresignedDomainUrl."""

    def analysis(self, principal_arn: str, action: str) -> PrincipalAnalysis:
        return self.analyses[(principal_arn, action.lower())]

    def principals(self, account_id: str | None = None) -> list[Principal]:
        return [
            p for p in self.inventory.principals if account_id is None or p.account_id == account_id
        ]

    def presign_paths(self, action: str = PRESIGN) -> dict[str, list[PublicPath]]:
        """Every path for ``action`` (CreatePresignedNotebookInstanceUrl by default), by
        target ARN (notebook, or user profile for CreatePresignedDomainUrl); each list is
        in principal-ARN order (the analyses are walked sorted by principal)."""
        wanted = action.lower()
        return paths_by_notebook(
            self.analyses[key] for key in sorted(self.analyses) if key[1] == wanted
        )

    def problems_for(self, principal: Principal) -> list[str]:
        """Parse problems behind the principal's unresolved policies (with the error text)."""
        out = []
        for name in principal.unresolved:
            bare = name.removeprefix("permissions boundary ")
            hits = [p for p in self.inventory.problems if p.startswith(bare + ":")]
            out += hits or [f"{name}: not in the snapshot"]
        return out


# -- inventory pieces ------------------------------------------------------------------


def known_endpoints(snapshot: Snapshot) -> dict[str, KnownEndpoint]:
    """Every VPC endpoint of the snapshot by id (ids are lower case as AWS issues them)."""
    out: dict[str, KnownEndpoint] = {}
    for res in snapshot.iter_resources("ec2:vpc-endpoint"):
        d = res.data
        out[res.id.lower()] = KnownEndpoint(
            id=res.id,
            account_id=res.account_id,
            region=res.region,
            vpc_id=d.get("VpcId"),
            kind=sagemaker_kind(res.region, d.get("ServiceName")),
            state=d.get("State"),
        )
    return out


def approved_set(
    endpoints: Iterable[KnownEndpoint], pinned_vpces: Sequence[str], pinned_vpcs: Sequence[str]
) -> tuple[Approved, str]:
    """Pinned values from config when any is set, else the usable SageMaker endpoints."""
    if pinned_vpces or pinned_vpcs:
        return (
            Approved(
                frozenset(v.lower() for v in pinned_vpces),
                frozenset(v.lower() for v in pinned_vpcs),
            ),
            "config",
        )
    found = [e for e in endpoints if e.kind is not None and e.usable]
    return (
        Approved(
            frozenset(e.id.lower() for e in found),
            frozenset(e.vpc_id.lower() for e in found if e.vpc_id),
        ),
        "discovered",
    )


def notebooks_of(snapshot: Snapshot) -> list[Notebook]:
    """Notebook instances as the path analysis needs them (ARN as AWS returned it)."""
    out = []
    for res in snapshot.iter_resources("sagemaker:notebook-instance"):
        out.append(
            Notebook(
                notebook_arn(res.account_id, res.region, res.id, res.arn, res.data),
                res.account_id,
                tags_of(res.data),
            )
        )
    return out


def profile_arn(
    account_id: str, region: str, rid: str, arn: str | None, data: dict[str, Any]
) -> str:
    """A user profile's ARN: as described, else built as SageMaker spells it
    (``user-profile/<domain id>/<name>``; the resource id is ``<domain id>/<name>``)."""
    return (
        data.get("UserProfileArn")
        or arn
        or f"arn:aws:sagemaker:{region}:{account_id}:user-profile/{rid.lower()}"
    )


def sso_domains(snapshot: Snapshot) -> frozenset[tuple[str, str, str]]:
    """(account, region, domain id) of domains in SSO auth mode, where sign-in goes through
    IAM Identity Center and CreatePresignedDomainUrl does not apply."""
    return frozenset(
        (r.account_id, r.region, r.id)
        for r in snapshot.iter_resources("sagemaker:domain")
        if r.data.get("AuthMode") == SSO_AUTH_MODE
    )


def profiles_of(snapshot: Snapshot) -> list[Notebook]:
    """User profiles of every domain not in SSO mode (a domain whose AuthMode is absent is
    treated as IAM, the mode in which presigned URLs open it: the analysis can then only
    over-report)."""
    sso = sso_domains(snapshot)
    out = []
    for res in snapshot.iter_resources("sagemaker:user-profile"):
        if (res.account_id, res.region, str(res.data.get("DomainId"))) in sso:
            continue
        arn = profile_arn(res.account_id, res.region, res.id, res.arn, res.data)
        out.append(Notebook(arn, res.account_id, tags_of(res.data)))
    return out


def notebook_arn(
    account_id: str, region: str, name: str, arn: str | None, data: dict[str, Any]
) -> str:
    """The notebook's ARN: as collected, else built the way SageMaker spells it."""
    return (
        arn
        or data.get("NotebookInstanceArn")
        or f"arn:aws:sagemaker:{region}:{account_id}:notebook-instance/{name.lower()}"
    )


# -- organizations ---------------------------------------------------------------------


def _org_outcomes(snapshot: Snapshot) -> dict[str, tuple[str, str]]:
    """Per account, (status, source account) of its Organizations data, in one pass over the
    outcomes (an organization's snapshot holds tens of thousands of them).

    The status is ``error`` if any Organizations outcome failed, ``collected`` if one is
    ok, else ``not_collected``; the source is ``source_account`` for a member of an
    organization scan (its data was read in the management account), else the account."""
    statuses: dict[str, set[OutcomeStatus]] = {}
    sources: dict[str, str] = {}
    for o in snapshot.collectors:
        if ORG_TYPE in o.resource_types:
            statuses.setdefault(o.account_id, set()).add(o.status)
            if o.source_account:
                sources[o.account_id] = o.source_account
    out: dict[str, tuple[str, str]] = {}
    for account, found in statuses.items():
        status = "not_collected"
        if OutcomeStatus.ERROR in found:
            status = "error"
        elif OutcomeStatus.OK in found:
            status = "collected"
        out[account] = (status, sources.get(account, account))
    return out


@dataclass(frozen=True)
class _Scp:
    """One SCP, parsed once for every account whose path it is attached on."""

    name: str
    policy: Policy | None
    problem: str | None = None


def _scps_by_target(snapshot: Snapshot) -> dict[str, list[_Scp]]:
    """Every SCP of the snapshot (each parsed once), under each root, OU or account it
    targets, in policy-id order."""
    documents: dict[str, dict[str, Any]] = {}
    for res in snapshot.iter_resources("organizations:policy"):
        documents.setdefault(res.id, res.data)
    out: dict[str, list[_Scp]] = {}
    for pid, data in sorted(documents.items()):
        name = str(data.get("Name") or pid)
        label = f"SCP {name} ({pid})"
        try:
            scp = _Scp(
                name, parse_policy_any(data.get("Content"), label=label, kind=PolicyKind.SCP)
            )
        except InputError as exc:
            scp = _Scp(name, None, f"{label} could not be parsed: {exc}")
        targets = dict.fromkeys(
            str(t["TargetId"]) for t in data.get("Targets") or [] if "TargetId" in t
        )
        for target in targets:
            out.setdefault(target, []).append(scp)
    return out


def org_views(snapshot: Snapshot) -> dict[str, OrgView]:
    """One :class:`OrgView` per scanned account."""
    scps = _scps_by_target(snapshot)
    accounts = sorted({*snapshot.accounts, *snapshot.resources})  # keys, not every record
    out: dict[str, OrgView] = {}
    outcomes = _org_outcomes(snapshot)
    for acct in accounts:
        status, source = outcomes.get(acct, ("not_collected", acct))
        orgs = list(snapshot.iter_resources(ORG_TYPE, account_id=source))
        if status != "collected":
            out[acct] = OrgView(acct, status)
            continue
        if not orgs:
            out[acct] = OrgView(acct, "no_organization")
            continue
        org = orgs[0].data
        base = OrgView(
            acct, "collected", org_id=org.get("Id"), management_account=org.get("MasterAccountId")
        )
        out[acct] = _with_levels(base, snapshot, scps, source)
    return out


def _with_levels(
    view: OrgView, snapshot: Snapshot, scps: dict[str, list[_Scp]], source: str
) -> OrgView:
    record = snapshot.get(source, GLOBAL_REGION, "organizations:account", view.account_id)
    path = record.data.get("ParentPath") if record is not None else None
    if not isinstance(path, list):
        return replace(view, problems=("the account's organization path was not collected",))
    level_ids = (*(str(x) for x in path), view.account_id)
    levels: list[tuple[Policy, ...]] = []
    names: list[tuple[str, ...]] = []
    problems: list[str] = []
    for lid in level_ids:
        here = scps.get(lid, [])
        levels.append(tuple(scp.policy for scp in here if scp.policy is not None))
        names.append(tuple(scp.name for scp in here))
        problems += [scp.problem for scp in here if scp.problem]
    if not any(names):
        # AWS detaches every SCP when the policy type is disabled, and then none applies;
        # read as "no level allows", the empty path would deny everything (and hide paths).
        # (Attached but unparseable SCPs are not this: they are problems, reported below.)
        return replace(
            view,
            levels=(),
            problems=("no SCP is attached on the account's path: SCPs are not enabled",),
        )
    empty = [lid for lid, attached in zip(level_ids, names, strict=True) if not attached]
    if empty:
        # Every root, OU and account carries at least one SCP while SCPs are enabled, so an
        # empty level means the snapshot is incomplete, not that the level denies.
        problems.append(
            f"no SCP attached to {', '.join(empty)} in the snapshot, though AWS requires one "
            "at every level: the SCP data is incomplete"
        )
    if problems:
        return replace(view, level_ids=level_ids, problems=tuple(problems))
    return replace(view, levels=tuple(levels), level_ids=level_ids, level_policy_names=tuple(names))


# -- the analysis ----------------------------------------------------------------------


def analysis_actions(configured: Sequence[str]) -> tuple[str, ...]:
    """CreatePresignedNotebookInstanceUrl first, then the other configured actions."""
    rest = [a for a in configured if a.lower() != PRESIGN.lower()]
    return (PRESIGN, *dict.fromkeys(rest))


def analyze_estate(
    snapshot: Snapshot,
    *,
    actions: Sequence[str],
    approved_vpc_endpoints: Sequence[str] = (),
    approved_vpcs: Sequence[str] = (),
) -> EstateAnalysis:
    """Run the public-access-path analysis for every principal and action, once."""
    endpoints = known_endpoints(snapshot)
    approved, source = approved_set(endpoints.values(), approved_vpc_endpoints, approved_vpcs)
    notebooks = notebooks_of(snapshot)
    orgs = org_views(snapshot)
    result = EstateAnalysis(
        actions=analysis_actions(actions),
        approved=approved,
        approved_source=source,
        endpoints=endpoints,
        notebooks=notebooks,
        inventory=build_inventory(snapshot),
        orgs=orgs,
    )

    def run(actions: Sequence[str], targets: Sequence[Notebook]) -> list[PrincipalAnalysis]:
        return analyze_inventory(
            result.inventory,
            actions,
            targets,
            approved,
            scp_paths={acct: view.levels for acct, view in orgs.items() if view.levels},
            management_accounts=[acct for acct, view in orgs.items() if view.is_management],
            org_ids={acct: view.org_id for acct, view in orgs.items() if view.org_id},
        )

    analyses = run(result.actions, notebooks)
    # Studio: the user profiles of IAM-mode domains, for CreatePresignedDomainUrl (always,
    # whatever iam.actions says), through the same evaluator and path search.
    result.profiles = profiles_of(snapshot)
    analyses += run((DOMAIN_PRESIGN,), result.profiles)
    result.analyses = {(a.principal.arn, a.action.lower()): a for a in analyses}
    return result


def scp_probe(
    view: OrgView, notebooks: Sequence[Notebook], approved: Approved, regions: Sequence[str]
) -> PrincipalAnalysis:
    """Do the account's SCPs deny CreatePresignedNotebookInstanceUrl outside the approved
    endpoints?  A probe role allowed the action on ``*`` with no condition is analysed under
    the SCP path against the account's notebooks plus one hypothetical notebook in each
    scanned region (so the answer also holds for notebooks created tomorrow, wherever, and an
    SCP whose Deny names one region's ARNs does not pass for the others): no path means the
    SCPs close it."""
    acct = view.account_id
    probe = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ProbeAllow", "Effect": "Allow", "Action": PRESIGN, "Resource": "*"}
            ],
        },
        label="scanner probe",
    )
    principal = Principal(
        arn=f"arn:aws:iam::{acct}:role/privatelink-scanner-scp-probe",
        account_id=acct,
        kind="role",
        name="privatelink-scanner-scp-probe",
        unique_id=None,
        tags={},
        policies=(AttachedPolicy(probe, "role", "inline", "scanner-probe"),),
    )
    hypothetical = [
        Notebook(
            f"arn:aws:sagemaker:{region}:{acct}:notebook-instance/privatelink-scanner-probe", acct
        )
        for region in regions
    ]
    mine = [nb for nb in notebooks if nb.account_id == acct]
    analyzer = PathAnalyzer([*mine, *hypothetical], approved)
    return analyzer.analyze(
        principal, PRESIGN, view.levels or (), org_id=view.org_id, any_principal=True
    )
