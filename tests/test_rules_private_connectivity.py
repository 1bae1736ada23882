"""vpc-private-connectivity: what counts as a private way into the VPC.

An attached virtual private gateway is a way in only with something behind it: an available
VPN connection, or a Direct Connect gateway *associated* with it.  A DX gateway that merely
exists in the account proves nothing about this VPC; one associated with another VGW, with a
VGW in another region, or not yet ``associated``, fails; one whose associations were not
collected (an old snapshot) stays ERROR.  A DX gateway associated with a transit gateway the
VPC is attached to is a path, named in the message.  Direct Connect is not implemented by
moto, so the rule is tested on offline snapshots (from
:func:`tests.snapshots.compliant_snapshot`) and the ``directconnect-gateway`` collector spec
is checked against botocore's service model instead of over HTTP.
"""

from __future__ import annotations

from typing import Any

import botocore.session

from scanner.aws.guard import READ_ONLY_OPERATIONS
from scanner.collectors import COLLECTORS
from scanner.model.snapshot import Snapshot
from tests.snapshots import ACCOUNT, REGION, VGW, VPC, compliant_snapshot, finding

DXGW = "dxgw-0a1"
DX = "directconnect:gateway"
CONNECTIVITY = "vpc-private-connectivity"


def _vgw_without_vpn() -> Snapshot:
    """The VGW stays attached, but its only VPN connection is gone."""
    s = compliant_snapshot()
    del s.resources[ACCOUNT][REGION]["ec2:vpn-connection"]
    return s


def test_attached_vgw_alone_is_no_private_way_in() -> None:
    assert finding(_vgw_without_vpn(), "vpc-private-connectivity", VPC).status == "FAIL"


def test_unrelated_direct_connect_gateway_is_not_a_private_way_in() -> None:
    """A Direct Connect gateway somewhere in the account proves nothing about this VPC:
    only an association with the VPC's VGW (DescribeDirectConnectGatewayAssociations)
    connects them.  A DX gateway with no association to VGW must not PASS."""
    s = _vgw_without_vpn()
    s.add(
        ACCOUNT,
        "global",
        "directconnect:gateway",
        "dxgw-1",
        {"directConnectGatewayId": "dxgw-1", "directConnectGatewayState": "available"},
    )
    f = finding(s, "vpc-private-connectivity", VPC)
    assert f.status != "PASS", f.message
    assert VGW in str(f.evidence)


def _only_dx_gateway(associations: list[dict[str, Any]] | None) -> Snapshot:
    """The compliant snapshot with its VPN connection replaced by a DX gateway (VGW still
    attached), whose ``Associations`` are as given (None: not collected, an old snapshot)."""
    s = compliant_snapshot()
    del s.resources[ACCOUNT][REGION]["ec2:vpn-connection"]["vpn-0a1"]
    body: dict[str, Any] = {
        "directConnectGatewayId": DXGW,
        "directConnectGatewayState": "available",
    }
    if associations is not None:
        body["Associations"] = associations
    s.add(ACCOUNT, "global", DX, DXGW, body)
    return s


def _association(
    gateway_id: str, state: str = "associated", kind: str = "virtualPrivateGateway"
) -> dict[str, Any]:
    return {
        "directConnectGatewayId": DXGW,
        "associationId": f"assoc-{gateway_id}",
        "associationState": state,
        "associatedGateway": {"id": gateway_id, "type": kind, "region": REGION},
    }


def test_dx_gateway_associated_with_the_attached_vgw_passes() -> None:
    """Direct Connect is not implemented by moto, so the rule is tested on Snapshot data."""
    f = finding(_only_dx_gateway([_association(VGW)]), CONNECTIVITY, VPC)
    assert f.status == "PASS"
    assert DXGW in f.message and VGW in f.message


def test_dx_gateway_associated_with_another_vgw_fails() -> None:
    f = finding(_only_dx_gateway([_association("vgw-other")]), CONNECTIVITY, VPC)
    assert f.status == "FAIL"


def test_dx_gateway_association_not_yet_associated_fails() -> None:
    f = finding(_only_dx_gateway([_association(VGW, "associating")]), CONNECTIVITY, VPC)
    assert f.status == "FAIL"


def test_dx_gateway_without_associations_fails() -> None:
    assert finding(_only_dx_gateway([]), CONNECTIVITY, VPC).status == "FAIL"


def test_dx_gateway_with_associations_not_collected_stays_error() -> None:
    f = finding(_only_dx_gateway(None), CONNECTIVITY, VPC)
    assert f.status == "ERROR"
    assert DXGW in f.message


def _tgw_attachment(s: Snapshot, state: str) -> None:
    s.add(
        ACCOUNT,
        REGION,
        "ec2:transit-gateway-vpc-attachment",
        "tgw-attach-0a1",
        {
            "TransitGatewayAttachmentId": "tgw-attach-0a1",
            "TransitGatewayId": "tgw-0a1",
            "VpcId": VPC,
            "State": state,
        },
    )


def test_dx_gateway_associated_with_the_vpcs_transit_gateway_is_named_as_a_path() -> None:
    s = _only_dx_gateway([_association("tgw-0a1", kind="transitGateway")])
    _tgw_attachment(s, "available")
    f = finding(s, CONNECTIVITY, VPC)
    assert f.status == "PASS"
    assert f"{DXGW} -> tgw-0a1" in f.message
    assert [a["gateway_id"] for a in f.evidence["direct_connect_gateway_associations"]] == [
        "tgw-0a1"
    ]


def test_dx_gateway_on_a_transit_gateway_the_vpc_is_not_attached_to_fails() -> None:
    s = _only_dx_gateway([_association("tgw-0a1", kind="transitGateway")])
    _tgw_attachment(s, "pendingAcceptance")
    assert finding(s, CONNECTIVITY, VPC).status == "FAIL"


def test_dx_gateway_associated_with_a_vgw_in_another_region_fails() -> None:
    assoc = _association(VGW)
    assoc["associatedGateway"]["region"] = "eu-west-1"
    assert finding(_only_dx_gateway([assoc]), CONNECTIVITY, VPC).status == "FAIL"


def test_dx_gateway_collector_lists_associations_per_gateway_paginated() -> None:
    """The spec's shape (moto has no Direct Connect, so this is a unit test of the spec):
    one paginated DescribeDirectConnectGatewayAssociations per gateway, by its id, stored
    under ``Associations``; the operation is allowlisted and in the IAM policy."""
    spec = COLLECTORS["directconnect-gateway"]
    (detail,) = spec.sources[0].outputs[0].details
    assert detail.operation == "DescribeDirectConnectGatewayAssociations"
    assert dict(detail.params) == {"directConnectGatewayId": "directConnectGatewayId"}
    assert (detail.key, detail.result, detail.paginate) == (
        "Associations",
        "directConnectGatewayAssociations",
        True,
    )
    op = "directconnect:DescribeDirectConnectGatewayAssociations"
    assert op in spec.operations and op in READ_ONLY_OPERATIONS
    model = botocore.session.get_session().get_service_model("directconnect")
    shape = model.operation_model(detail.operation)
    assert set(detail.params) <= set(shape.input_shape.members)
    assert detail.result in shape.output_shape.members
    assert "nextToken" in shape.input_shape.members  # paginated by nextToken
