"""Network joins: notebook → subnet → VPC → effective route table; VPC → its neighbours.

These are the facts the PrivateLink argument rests on: a notebook is private only if the
route table its subnet *actually* uses (its explicit association, else the VPC's main table)
sends nothing to an internet gateway, and users reach the VPC over VPN, Direct Connect or a
transit gateway instead of the internet.
"""

from __future__ import annotations

from typing import Any

from scanner.enrichment.index import SnapshotIndex


def _lower(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def route_target(route: dict[str, Any]) -> str | None:
    """The id a route sends traffic to (gateway, NAT, TGW, ...), whichever field holds it."""
    for key in (
        "GatewayId",
        "NatGatewayId",
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "NetworkInterfaceId",
        "InstanceId",
        "EgressOnlyInternetGatewayId",
        "LocalGatewayId",
        "CarrierGatewayId",
        "CoreNetworkArn",
    ):
        value = route.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _route_summary(route: dict[str, Any]) -> dict[str, Any]:
    return {
        "destination": route.get("DestinationCidrBlock")
        or route.get("DestinationIpv6CidrBlock")
        or route.get("DestinationPrefixListId"),
        "target": route_target(route),
        "state": route.get("State"),
    }


def effective_route_table(
    index: SnapshotIndex, account_id: str, region: str, subnet_id: str, vpc_id: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The table a subnet uses and why: ``explicit`` association, else the VPC's ``main``."""
    tables = index.in_scope(account_id, region, "ec2:route-table")
    for table in tables:
        for assoc in table.data.get("Associations") or []:
            if assoc.get("SubnetId") == subnet_id:
                return table.data, "explicit"
    if vpc_id is None:
        return None, None
    for table in tables:
        if table.data.get("VpcId") != vpc_id:
            continue
        if any(a.get("Main") is True for a in table.data.get("Associations") or []):
            return table.data, "main"
    return None, None


def _egress_only(route: dict[str, Any]) -> bool:
    """An egress-only internet gateway route (IPv6 out, nothing in); AWS returns the target
    as ``EgressOnlyInternetGatewayId``, some stand-ins as an ``eigw-`` ``GatewayId``."""
    if route.get("EgressOnlyInternetGatewayId"):
        return True
    return str(route.get("GatewayId", "")).startswith("eigw-")


def route_facts(table: dict[str, Any] | None) -> dict[str, Any]:
    """Internet-gateway, egress-only and NAT routes of a table (blackholed routes carry no
    traffic).  Only ``igw-`` routes decide the rule: an egress-only gateway and a NAT gateway
    let the notebook initiate outbound connections but admit nothing from the internet, so
    they are evidence a reviewer should see, not a failure.

    Every value is null when the table is unknown or its ``Routes`` were not collected:
    DescribeRouteTables always lists at least the local route, so a table without a route
    list is missing data, never a table with no internet route."""
    routes = table.get("Routes") if table is not None else None
    if not isinstance(routes, list):
        return {
            "internet_gateway_routes": None,
            "egress_only_routes": None,
            "nat_routes": None,
            "routes_to_internet": None,
        }
    live = [r for r in routes if _lower(r.get("State")) != "blackhole"]
    igw = [_route_summary(r) for r in live if str(r.get("GatewayId", "")).startswith("igw-")]
    eigw = [_route_summary(r) for r in live if _egress_only(r)]
    nat = [_route_summary(r) for r in live if r.get("NatGatewayId")]
    return {
        "internet_gateway_routes": igw,
        "egress_only_routes": eigw,
        "nat_routes": nat,
        "routes_to_internet": bool(igw),
    }


def subnet_route_facts(
    index: SnapshotIndex, account_id: str, region: str, subnet_id: str
) -> dict[str, Any]:
    """Where a subnet's traffic goes: whether it was found, its VPC, the effective route
    table and that table's routes (shared by notebooks and Studio domains)."""
    subnet = index.data(account_id, region, "ec2:subnet", subnet_id)
    vpc_id = subnet.get("VpcId") if subnet else None
    table, how = effective_route_table(index, account_id, region, subnet_id, vpc_id)
    return {
        "subnet_found": subnet is not None,
        "vpc_id": vpc_id,
        "route_table": None
        if table is None
        else {"id": table.get("RouteTableId"), "association": how},
        **route_facts(table),
    }


def notebook_facts(
    index: SnapshotIndex, account_id: str, region: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Where a notebook's traffic goes: subnet, VPC, effective route table and its routes."""
    subnet_id = data.get("SubnetId")
    if not isinstance(subnet_id, str) or not subnet_id:
        return {"in_vpc": False, "subnet_id": None, "vpc_id": None, "route_table": None}
    return {
        "in_vpc": True,
        "subnet_id": subnet_id,
        **subnet_route_facts(index, account_id, region, subnet_id),
    }


def notebooks_by_vpc(
    notebooks: dict[tuple[str, str, str], dict[str, Any]],
) -> dict[tuple[str, str, str], list[str]]:
    """(account, region, vpc) → names of the notebooks whose subnet is in that VPC."""
    out: dict[tuple[str, str, str], list[str]] = {}
    for (acct, region, name), facts in sorted(notebooks.items()):
        vpc_id = facts.get("vpc_id")
        if vpc_id:
            out.setdefault((acct, region, vpc_id), []).append(name)
    return out


def private_connectivity(
    index: SnapshotIndex, account_id: str, region: str, vpc_id: str
) -> dict[str, Any]:
    """The private ways into a VPC: VGW + VPN connections, Direct Connect, TGW attachments."""
    vgws = []
    for vgw in index.in_scope(account_id, region, "ec2:vpn-gateway"):
        for att in vgw.data.get("VpcAttachments") or []:
            if att.get("VpcId") == vpc_id:
                vgws.append({"id": vgw.id, "attachment_state": att.get("State")})
    attached = {g["id"] for g in vgws if _lower(g["attachment_state"]) == "attached"}
    vpns = [
        {"id": c.id, "state": c.data.get("State"), "vpn_gateway_id": c.data.get("VpnGatewayId")}
        for c in index.in_scope(account_id, region, "ec2:vpn-connection")
        if c.data.get("VpnGatewayId") in {g["id"] for g in vgws}
    ]
    tgw = [
        {
            "id": a.id,
            "state": a.data.get("State"),
            "transit_gateway_id": a.data.get("TransitGatewayId"),
        }
        for a in index.in_scope(account_id, region, "ec2:transit-gateway-vpc-attachment")
        if a.data.get("VpcId") == vpc_id
    ]
    vifs = [
        {
            "id": v.id,
            "state": v.data.get("virtualInterfaceState"),
            "virtual_gateway_id": v.data.get("virtualGatewayId"),
        }
        for v in index.in_scope(account_id, region, "directconnect:virtual-interface")
        if v.data.get("virtualGatewayId") in attached
    ]
    gateways = {g["transit_gateway_id"] for g in tgw if _lower(g["state"]) == "available"}
    dx_gateways = [
        _dx_gateway(g.id, g.data) for g in index.global_in(account_id, "directconnect:gateway")
    ]
    return {
        "vpn_gateways": vgws,
        "vpn_connections": vpns,
        "transit_gateway_attachments": tgw,
        "direct_connect_virtual_interfaces": vifs,
        "direct_connect_gateways": dx_gateways,
        "direct_connect_gateway_associations": [
            a
            for g in dx_gateways
            for a in g["associations"] or []
            if a["gateway_id"] in attached | gateways and a["gateway_region"] in (None, region)
        ],
    }


def _dx_gateway(gateway_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A Direct Connect gateway and what it is associated with (``associations`` null when
    they were not collected, which is not the same as none)."""
    raw = data.get("Associations")
    associations = None
    if isinstance(raw, list):
        associations = [_dx_association(gateway_id, a) for a in raw if isinstance(a, dict)]
    return {
        "id": gateway_id,
        "state": data.get("directConnectGatewayState"),
        "associations": associations,
    }


def _dx_association(gateway_id: str, assoc: dict[str, Any]) -> dict[str, Any]:
    """One association; ``associatedGateway`` (VGW or transit gateway), else the legacy
    ``virtualGatewayId`` / ``virtualGatewayRegion`` fields."""
    target = assoc.get("associatedGateway") or {}
    return {
        "direct_connect_gateway_id": gateway_id,
        "id": assoc.get("associationId"),
        "state": assoc.get("associationState"),
        "gateway_id": target.get("id") or assoc.get("virtualGatewayId"),
        "gateway_type": target.get("type"),
        "gateway_region": target.get("region") or assoc.get("virtualGatewayRegion"),
    }


def flow_logs(index: SnapshotIndex, account_id: str, region: str, vpc_id: str) -> list[Any]:
    """Flow logs whose ResourceId is the VPC itself."""
    return [
        {"id": f.id, "status": f.data.get("FlowLogStatus"), "traffic": f.data.get("TrafficType")}
        for f in index.in_scope(account_id, region, "ec2:flow-log")
        if f.data.get("ResourceId") == vpc_id
    ]
