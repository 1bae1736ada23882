"""Do a policy's ``aws:sourceVpce`` values name real endpoints, in notebook/API pairs?

A condition naming an endpoint that no longer exists (deleted, or never in these accounts)
silently locks users out or, worse, was copied from another account; and the AWS post says to
list *both* the notebook endpoint and the API endpoint of a VPC, since opening a notebook
needs ``CreatePresignedNotebookInstanceUrl`` through the API endpoint and the notebook traffic
through the notebook endpoint.  This module finds every such value in every policy of the
snapshot (managed policies: the default version only; inline policies of users, groups and
roles) and judges it against the endpoint inventory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.errors import InputError
from scanner.iam.conditions import Condition
from scanner.iam.estate import KnownEndpoint
from scanner.iam.evaluator import is_service_linked_role_arn
from scanner.iam.glob import glob_match
from scanner.iam.policy import Policy, Statement, parse_policy_any
from scanner.model.snapshot import Snapshot

VPCE_KEY = "aws:sourcevpce"
PAIRED = {"notebook": "api", "api": "notebook"}
_INLINE_KEYS = {
    "iam:user": "UserPolicyList",
    "iam:group": "GroupPolicyList",
    "iam:role": "RolePolicyList",
}


@dataclass(frozen=True)
class PolicyDocument:
    """One policy as a finding's subject: a managed policy or ``<owner ARN>/<inline name>``."""

    subject_id: str
    account_id: str
    kind: str  # managed | inline
    arn: str | None
    policy: Policy | None
    error: str | None = None


@dataclass(frozen=True)
class Reference:
    """A statement condition on ``aws:sourceVpce`` in a statement about notebook access."""

    statement: Statement
    condition: Condition

    @property
    def values(self) -> list[str]:
        return [v.raw.lower() for v in self.condition.values if "${" not in v.raw]

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": self.statement.label,
            "effect": str(self.statement.effect),
            "operator": self.condition.spelled,
            "key": self.condition.key_as_written,
            "values": [v.raw for v in self.condition.values],
        }


def policy_documents(
    snapshot: Snapshot, managed: Mapping[str, Policy], problems: Sequence[str]
) -> list[PolicyDocument]:
    """Every customer-visible policy of the snapshot (service-linked roles excluded)."""
    out: list[PolicyDocument] = []
    for res in snapshot.iter_resources("iam:policy"):
        error = next((p for p in problems if p.startswith(res.id + ":")), None)
        out.append(
            PolicyDocument(res.id, res.account_id, "managed", res.id, managed.get(res.id), error)
        )
    for rtype, key in _INLINE_KEYS.items():
        for res in snapshot.iter_resources(rtype):
            if rtype == "iam:role" and is_service_linked_role_arn(res.id):
                continue
            for inline in res.data.get(key) or []:
                sid = f"{res.id}/{inline.get('PolicyName', '?')}"
                try:
                    policy: Policy | None = parse_policy_any(
                        inline.get("PolicyDocument"), label=sid
                    )
                    error = None
                except InputError as exc:
                    policy, error = None, f"{sid}: {exc}"
                out.append(PolicyDocument(sid, res.account_id, "inline", None, policy, error))
    return out


def references(policy: Policy, actions: Iterable[str]) -> list[Reference]:
    """``aws:sourceVpce`` conditions of statements (Allow or guarding Deny) that match any of
    the notebook actions."""
    acts = list(actions)
    return [
        Reference(stmt, cond)
        for stmt in policy.statements
        if any(stmt.matches_action(a) for a in acts)
        for cond in stmt.conditions
        if cond.key == VPCE_KEY
    ]


def _named(value: str, endpoints: Mapping[str, KnownEndpoint]) -> list[KnownEndpoint]:
    if "*" in value or "?" in value:
        return [e for k, e in endpoints.items() if glob_match(value, k)]
    hit = endpoints.get(value)
    return [hit] if hit is not None else []


def judge(
    refs: Sequence[Reference], endpoints: Mapping[str, KnownEndpoint]
) -> tuple[list[str], list[str]]:
    """(stale values, pairing problems) of a policy's references."""
    stale: list[str] = []
    pairing: list[str] = []
    for ref in refs:
        named: list[KnownEndpoint] = []
        for value in ref.values:
            hits = _named(value, endpoints)
            usable = [e for e in hits if e.usable]
            if not hits:
                stale.append(
                    f"{value} ({ref.statement.label}) names no VPC endpoint in the scanned "
                    "accounts: deleted, or another account's"
                )
            elif not usable:
                states = ", ".join(sorted({str(e.state) for e in hits}))
                stale.append(f"{value} ({ref.statement.label}) names an endpoint that is {states}")
            named += usable
        pairing += _pairing(ref, named, endpoints)
    return list(dict.fromkeys(stale)), list(dict.fromkeys(pairing))


def _pairing(
    ref: Reference, named: list[KnownEndpoint], endpoints: Mapping[str, KnownEndpoint]
) -> list[str]:
    """A VPC's notebook endpoint named without its API endpoint (or the reverse)."""
    out = []
    ids = {e.id.lower() for e in named}
    for ep in named:
        if ep.kind not in PAIRED:
            continue
        want = PAIRED[ep.kind]
        partners = sorted(
            e.id
            for e in endpoints.values()
            if e.kind == want
            and e.usable
            and e.vpc_id == ep.vpc_id
            and e.account_id == ep.account_id
        )
        if partners and not ids & {p.lower() for p in partners}:
            out.append(
                f"{ref.statement.label} names the {ep.kind} endpoint {ep.id} of {ep.vpc_id} but "
                f"not its {want} endpoint ({', '.join(partners)}); the AWS post lists both"
            )
    return out
