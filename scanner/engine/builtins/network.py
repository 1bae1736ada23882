"""Builtins for the network path: routes, VPC DNS attributes and private connectivity.

These need more than one field, or must tell "not found" (ERROR) apart from "found and
wrong" (FAIL), which a single jmespath expression cannot do.
"""

from __future__ import annotations

from typing import Any

from scanner.engine.checks import CheckContext, CheckResult
from scanner.enrichment.estate import EstateResource
from scanner.model.snapshot import OutcomeStatus


def notebook_subnet_no_internet_route(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """The effective route table of the notebook's subnet has no internet-gateway route.

    Egress-only (``eigw-``) and NAT routes do not fail it (they admit no inbound connection
    from the internet) but are named in the evidence and the PASS message, so a reviewer
    sees every way out of the subnet.

    A notebook without a SubnetId is NOT_APPLICABLE here: it runs on SageMaker's own network
    with AWS-managed internet access, which ``notebook-in-vpc`` already reports as FAIL, so
    failing it here too would double-count one misconfiguration.
    """
    e = res.enriched
    if not e.get("in_vpc"):
        return CheckResult.not_applicable(
            "notebook has no SubnetId, so it has no VPC route table; it uses SageMaker's "
            "service network with internet access (see notebook-in-vpc)"
        )
    return subnet_route_result(e, "the notebook")


def subnet_route_result(e: dict[str, Any], owner: str) -> CheckResult:
    """The route judgement for one subnet's enrichment facts (``subnet_id``,
    ``subnet_found``, ``vpc_id``, ``route_table`` and the route lists), shared by the
    notebook and Studio domain subnet rules: FAIL on an ``igw-`` route, ERROR when the
    table or its routes are unknown, else PASS naming any NAT or egress-only route."""
    subnet_id = e.get("subnet_id")
    if not e.get("subnet_found"):
        return CheckResult.error(
            f"subnet {subnet_id} of {owner} is not in the snapshot", subnet_id=subnet_id
        )
    evidence = {
        "subnet_id": subnet_id,
        "vpc_id": e.get("vpc_id"),
        "route_table": e.get("route_table"),
        "internet_gateway_routes": e.get("internet_gateway_routes"),
        "egress_only_routes": e.get("egress_only_routes"),
        "nat_routes": e.get("nat_routes"),
    }
    table = e.get("route_table")
    if table is None:
        return CheckResult.error(
            f"no route table found for subnet {subnet_id}: neither an explicit association nor "
            f"a main table of {e.get('vpc_id')}",
            **evidence,
        )
    where = f"route table {table['id']} ({table['association']} association of {subnet_id})"
    igw = e.get("internet_gateway_routes")
    if igw is None:
        return CheckResult.error(
            f"{where} has no route list in the snapshot (DescribeRouteTables always lists the "
            "local route), so its routes cannot be judged",
            **evidence,
        )
    if igw:
        routes = ", ".join(f"{r['destination']} -> {r['target']}" for r in igw)
        return CheckResult.failed(
            f"{where} routes to an internet gateway ({routes}); expected no igw- route",
            **evidence,
        )
    egress = [
        f"{label} via {', '.join(sorted({r['target'] for r in routes}))}"
        for label, routes in (
            ("IPv6 egress", e.get("egress_only_routes") or []),
            ("NAT", e.get("nat_routes") or []),
        )
        if routes
    ]
    suffix = f"; {' and '.join(egress)}" if egress else ""
    return CheckResult.passed(f"{where}: no igw- route{suffix}", **evidence)


def vpc_dns_attributes(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """Both enableDnsSupport and enableDnsHostnames are true.

    An absent attribute is ERROR, not an assumed default: AWS's defaults differ between the
    default VPC (both true) and other VPCs (enableDnsHostnames false), so it cannot be guessed.
    """
    support = res.doc.get("EnableDnsSupport")
    hostnames = res.doc.get("EnableDnsHostnames")
    evidence = {"EnableDnsSupport": support, "EnableDnsHostnames": hostnames}
    missing = [k for k, v in evidence.items() if not isinstance(v, bool)]
    if missing:
        return CheckResult.error(
            f"{', '.join(missing)} not collected (DescribeVpcAttribute); AWS's default depends "
            "on whether this is the default VPC, so it cannot be assumed",
            **evidence,
        )
    off = [k for k, v in evidence.items() if v is not True]
    if off:
        return CheckResult.failed(
            f"{' and '.join(off)} is false; private DNS for the SageMaker endpoints needs both "
            "EnableDnsSupport and EnableDnsHostnames true",
            **evidence,
        )
    return CheckResult.passed("EnableDnsSupport and EnableDnsHostnames are both true", **evidence)


def _lower(value: object) -> str:
    return value.lower() if isinstance(value, str) else ""


def vpc_private_connectivity(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """A private way into the VPC: VPN (attached VGW + available connection), Direct Connect
    (an available virtual interface on the attached VGW, or a Direct Connect gateway
    ``associated`` with the attached VGW or with a transit gateway the VPC is attached to)
    or an available transit gateway attachment.

    A Direct Connect gateway in the account proves nothing about this VPC: only its
    association connects them.  A gateway whose associations were not collected (an older
    snapshot) leaves the question open: with no other way in that is ERROR, never a PASS the
    data does not support; with associations collected and none fitting, FAIL.

    Every proof here is something present in the snapshot, never an absence, which is what
    lets the rule list its sources under ``requires_for_fail``: the engine keeps a PASS found
    while another source failed (naming it) and turns a FAIL into ERROR then."""
    e = res.enriched
    attached = {
        g["id"] for g in e.get("vpn_gateways", []) if _lower(g["attachment_state"]) == "attached"
    }
    vpn = [
        c["id"]
        for c in e.get("vpn_connections", [])
        if c["vpn_gateway_id"] in attached and _lower(c["state"]) == "available"
    ]
    tgw = [
        a["id"]
        for a in e.get("transit_gateway_attachments", [])
        if _lower(a["state"]) == "available"
    ]
    vifs = [
        v["id"]
        for v in e.get("direct_connect_virtual_interfaces", [])
        if _lower(v["state"]) == "available"
    ]
    dx_links = e.get("direct_connect_gateway_associations", [])
    dx_paths = [
        f"{a['direct_connect_gateway_id']} -> {a['gateway_id']}"
        for a in dx_links
        if _lower(a["state"]) == "associated"
    ]
    gateways = e.get("direct_connect_gateways", [])
    undecided = [g["id"] for g in gateways if g["associations"] is None] if attached else []
    evidence = {
        "attached_vpn_gateways": sorted(attached),
        "available_vpn_connections": vpn,
        "available_transit_gateway_attachments": tgw,
        "direct_connect_virtual_interfaces": vifs,
        "direct_connect_gateways": [g["id"] for g in gateways],
        "direct_connect_gateway_associations": dx_links,
    }
    paths = []
    if vpn:
        paths.append(f"VPN connection(s) {', '.join(vpn)} on {', '.join(sorted(attached))}")
    if vifs:
        paths.append(f"Direct Connect virtual interface(s) {', '.join(vifs)}")
    if dx_paths:
        paths.append(f"Direct Connect gateway association(s) {', '.join(dx_paths)}")
    if tgw:
        paths.append(f"transit gateway attachment(s) {', '.join(tgw)}")
    if paths:
        return CheckResult.passed(f"private connectivity via {'; '.join(paths)}", **evidence)
    if undecided:
        return CheckResult.error(
            f"no VPN, virtual interface or transit gateway attachment; Direct Connect gateway(s) "
            f"{', '.join(undecided)} exist and VGW(s) {', '.join(sorted(attached))} are "
            "attached, but the gateways' associations were not collected, so whether Direct "
            "Connect reaches this VPC cannot be decided",
            **evidence,
        )
    unseen = sorted(
        {
            f"{o.collector} ({o.status})"
            for rtype in ("directconnect:virtual-interface", "directconnect:gateway")
            for o in ctx.snapshot.outcomes_for(rtype, res.account_id, res.region)
            if o.status in (OutcomeStatus.DISABLED, OutcomeStatus.NOT_COLLECTED)
        }
    )
    note = f"; Direct Connect was not checked: {', '.join(unseen)}" if unseen else ""
    return CheckResult.failed(
        "no private way in: expected an attached VPN gateway with an available VPN connection, "
        f"Direct Connect, or an available transit gateway attachment{note}",
        **evidence,
    )
