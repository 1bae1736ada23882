"""Public access paths: the network and DNS ways in or out of a notebook or Studio domain.

The two verdict rules (``notebook-no-public-access-path``, ``studio-domain-no-public-access-
path``) list every path by kind; this module finds the network and DNS ones, the IAM ones
come from :mod:`scanner.engine.builtins.iam`.  Nothing here re-derives a fact: routes come
from the enrichment's effective-route-table facts (the same the subnet route rules read),
and whether clients resolve an endpoint privately is decided by calling the
``endpoint-private-dns-resolves`` check itself on each endpoint.

Kinds of path:

``iam_inbound``
    a principal can open the notebook or Studio app from outside the approved endpoints;
``internet_outbound``
    code in it reaches the internet: direct internet access, SageMaker's public network
    (Studio ``PublicInternetOnly``), or a subnet route to an internet gateway (and, per
    config ``public_paths``, to a NAT gateway or an egress-only internet gateway);
``public_internet``
    the post's design cannot be used from the VPC: it has no available interface endpoint
    for the service (so clients use the public one), or clients in it resolve the public
    hostname (no private DNS, no private zone answering, a Resolver rule forwarding it).

A path whose evidence is missing (subnet or route table not collected, an endpoint whose
DNS check says ERROR) is *undecided*: the verdict is ERROR unless another path already
makes it FAIL, and never PASS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.config import PublicPathsConfig
from scanner.engine.builtins.endpoints import endpoint_private_dns_resolves
from scanner.engine.checks import CheckContext, CheckResult
from scanner.enrichment.estate import EstateResource
from scanner.model.finding import Status

IAM_INBOUND = "iam_inbound"
INTERNET_OUTBOUND = "internet_outbound"
PUBLIC_INTERNET = "public_internet"
KIND_LABELS = {
    IAM_INBOUND: "inbound through IAM",
    INTERNET_OUTBOUND: "outbound to the internet",
    PUBLIC_INTERNET: "over the public internet",
}
_ENDPOINTS_MEMO = "access_paths.endpoints_by_vpc"


@dataclass(frozen=True)
class AccessPath:
    """One way in or out: its kind, what it is, what closes it, and the facts behind it."""

    kind: str
    summary: str
    close: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kind_label": KIND_LABELS[self.kind],
            "summary": self.summary,
            "close": self.close,
            **self.evidence,
        }


@dataclass
class Paths:
    """What a search found: paths, reasons it could not decide, and what it found closed."""

    found: list[AccessPath] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def add(self, other: Paths) -> None:
        self.found += other.found
        self.undecided += other.undecided
        self.closed += other.closed


# -- routes -------------------------------------------------------------------------------


def _route_list(routes: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['destination']} -> {r['target']}" for r in routes)


def route_paths(facts: dict[str, Any], owner: str, cfg: PublicPathsConfig) -> Paths:
    """Outbound paths of one subnet from its enrichment facts (``subnet_id``,
    ``subnet_found``, ``route_table``, ``internet_gateway_routes``, ``nat_routes``,
    ``egress_only_routes``).  ``owner`` names whose subnet it is, for the messages."""
    out = Paths()
    subnet = facts.get("subnet_id")
    if not facts.get("subnet_found"):
        out.undecided.append(f"subnet {subnet} of {owner} is not in the snapshot")
        return out
    table = facts.get("route_table")
    if table is None:
        out.undecided.append(f"no route table found for subnet {subnet} of {owner}")
        return out
    igw = facts.get("internet_gateway_routes")
    if igw is None:
        out.undecided.append(f"route table {table['id']} of subnet {subnet} has no route list")
        return out
    where = f"subnet {subnet} ({table['association']} route table {table['id']})"
    kinds = [
        ("internet gateway", igw, True, "remove the igw- route or associate a private table"),
        (
            "NAT gateway",
            facts.get("nat_routes") or [],
            cfg.nat_gateway,
            "remove the NAT route (reach AWS services through VPC endpoints) or route it "
            "through an inspecting firewall and set public_paths.nat_gateway: false",
        ),
        (
            "egress-only internet gateway",
            facts.get("egress_only_routes") or [],
            cfg.egress_only_internet_gateway,
            "remove the eigw- route, or set public_paths.egress_only_internet_gateway: false "
            "if IPv6 egress is sanctioned",
        ),
    ]
    for label, routes, counts, close in kinds:
        if routes and counts:
            out.found.append(
                AccessPath(
                    INTERNET_OUTBOUND,
                    f"{where} routes to an {label}: {_route_list(routes)}",
                    close,
                    {"subnet_id": subnet, "route_table": table, "routes": routes},
                )
            )
        elif routes:
            out.closed.append(
                f"{where} routes to an {label} ({_route_list(routes)}), not counted "
                "(config public_paths)"
            )
    if not out.found:
        out.closed.append(f"{where}: no route to the internet")
    return out


# -- endpoints and DNS --------------------------------------------------------------------


def _endpoints_by_vpc(ctx: CheckContext) -> dict[tuple[str, str, str, str], list[EstateResource]]:
    """SageMaker endpoints by (account, region, VPC, kind), built once per evaluation."""
    cached = ctx.memo.get(_ENDPOINTS_MEMO)
    if isinstance(cached, dict):
        return cached
    out: dict[tuple[str, str, str, str], list[EstateResource]] = {}
    for ep in ctx.estate.resources("ec2:vpc-endpoint"):
        kind = ep.enriched.get("sagemaker_kind")
        if kind is not None:
            key = (ep.account_id, ep.region, str(ep.doc.get("VpcId")), str(kind))
            out.setdefault(key, []).append(ep)
    ctx.memo[_ENDPOINTS_MEMO] = out
    return out


def _dns_result(ep: EstateResource, ctx: CheckContext) -> CheckResult:
    """endpoint-private-dns-resolves on one endpoint, once per evaluation (every notebook
    and domain of a VPC asks about the same endpoints)."""
    key = f"access_paths.dns:{ep.account_id}:{ep.region}:{ep.id}"
    cached = ctx.memo.get(key)
    if isinstance(cached, CheckResult):
        return cached
    result = endpoint_private_dns_resolves(ep, ctx)
    ctx.memo[key] = result
    return result


SERVICE_LABELS = {
    "notebook": ("notebook", "aws.sagemaker.{region}.notebook"),
    "api": ("SageMaker API", "com.amazonaws.{region}.sagemaker.api"),
    "studio": ("Studio", "aws.sagemaker.{region}.studio"),
}


def endpoint_paths(
    ctx: CheckContext, account: str, region: str, vpc_id: str, kind: str, why: str
) -> Paths:
    """Can clients in the VPC use an interface endpoint of ``kind``?  An available one must
    exist and its hostname must resolve to it (``endpoint-private-dns-resolves`` PASS on at
    least one).  ``why`` says what the traffic is (for the path's summary)."""
    out = Paths()
    label, service = SERVICE_LABELS[kind]
    service = service.format(region=region)
    candidates = _endpoints_by_vpc(ctx).get((account, region, vpc_id, kind), [])
    usable = [
        ep
        for ep in candidates
        if ep.doc.get("VpcEndpointType") == "Interface"
        and str(ep.doc.get("State", "")).lower() == "available"
    ]
    if not usable:
        seen = [
            f"{ep.id} ({ep.doc.get('VpcEndpointType')}, {ep.doc.get('State')})" for ep in candidates
        ]
        out.found.append(
            AccessPath(
                PUBLIC_INTERNET,
                f"{vpc_id} has no available {label} interface endpoint ({service}): {why} "
                "goes to the public endpoint" + (f"; seen: {', '.join(seen)}" if seen else ""),
                f"create an interface endpoint for {service} in {vpc_id} with private DNS on",
                {
                    "vpc_id": vpc_id,
                    "service": service,
                    "endpoints_seen": [ep.id for ep in candidates],
                },
            )
        )
        return out
    results = [(ep, _dns_result(ep, ctx)) for ep in usable]
    good = [ep.id for ep, r in results if r.status is Status.PASS]
    if good:
        out.closed.append(f"{label} traffic from {vpc_id} resolves to {', '.join(good)}")
        return out
    unsure = [(ep, r) for ep, r in results if r.status is Status.ERROR]
    if unsure:
        out.undecided += [f"{ep.id}: {r.message}" for ep, r in unsure]
        return out
    for ep, r in results:
        out.found.append(
            AccessPath(
                PUBLIC_INTERNET,
                f"clients in {vpc_id} do not resolve the {label} hostname to {ep.id}: {r.message}",
                "enable private DNS on the endpoint (with both VPC DNS attributes) or answer the "
                "hostname from a private hosted zone; see endpoint-private-dns-resolves",
                {"vpc_id": vpc_id, "endpoint": ep.id, "dns": r.evidence},
            )
        )
    return out


# -- the verdict --------------------------------------------------------------------------


@dataclass(frozen=True)
class IamPaths:
    """The IAM paths of one subject, summarised: there can be thousands, so the evidence
    lists at most a capped number and every one is in its principal's own finding."""

    total: int
    headline: str
    listed: list[dict[str, Any]]
    not_listed: str | None = None


def verdict(
    subject: str, paths: Paths, evidence: dict[str, Any], iam: IamPaths | None = None
) -> CheckResult:
    """FAIL naming every kind of path found, else ERROR when anything is undecided, else PASS.

    The evidence lists the network paths, then the IAM ones (each with ``kind``), with
    ``paths_total`` and ``paths_by_kind`` counting all of them."""
    counts = dict.fromkeys(KIND_LABELS, 0)
    for p in paths.found:
        counts[p.kind] += 1
    iam_total = iam.total if iam is not None else 0
    counts[IAM_INBOUND] += iam_total
    listed = [p.to_dict() for p in paths.found]
    if iam is not None:
        listed += iam.listed
    evidence = {
        **evidence,
        "paths": listed,
        "paths_total": len(paths.found) + iam_total,
        "paths_by_kind": counts,
        "closed": paths.closed,
    }
    if iam is not None and iam.not_listed:
        evidence["paths_not_listed"] = iam.not_listed
    if paths.undecided:
        evidence["undecided"] = paths.undecided
    heads = {kind: [p for p in paths.found if p.kind == kind] for kind in KIND_LABELS}
    parts = []
    for kind, label in KIND_LABELS.items():
        if kind == IAM_INBOUND and iam_total and iam is not None:
            parts.append(f"{label}: {iam.headline}")
        elif heads[kind]:
            more = f" (+{len(heads[kind]) - 1} more)" if len(heads[kind]) > 1 else ""
            parts.append(f"{label}: {heads[kind][0].summary}{more}")
    if parts:
        total = evidence["paths_total"]
        return CheckResult.failed(
            f"{total} public access path(s) to {subject}. " + "; ".join(parts), **evidence
        )
    if paths.undecided:
        return CheckResult.error(
            f"no public access path to {subject} found, but some could not be judged: "
            + "; ".join(paths.undecided),
            **evidence,
        )
    return CheckResult.passed(
        f"no public access path to {subject}: " + "; ".join(paths.closed), **evidence
    )
