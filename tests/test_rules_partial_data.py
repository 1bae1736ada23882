"""``requires_for_fail``: verdicts on partial data, never guessed (offline snapshots).

Existence rules PASS on any proof collected while another source failed (the PASS names the
unread source), FAIL only with every source read, and are ERROR with no proof and a source
unread.  The IAM rules judged against the *discovered* approved endpoints turn a FAIL into
ERROR when the endpoint collector failed anywhere, unless config pins the set.  Each test
varies one thing of :func:`tests.snapshots.compliant_snapshot`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import Config
from scanner.engine import load_ruleset
from scanner.model.finding import Status
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from tests.snapshots import (
    ACCOUNT,
    EP_API,
    EP_NOTEBOOK,
    NOTEBOOK,
    REGION,
    VPC,
    compliant_snapshot,
    finding,
    set_outcome,
)
from tests.test_engine_validation import GOOD, error_for, write
from tests.test_iam_rules_offline import USER, base, doc, one, results, statement

CONNECTIVITY = "vpc-private-connectivity"
PRESIGN_RULE = "iam-presigned-url-requires-vpc-endpoint"
ELSEWHERE = "eu-west-1"
FOREIGN = "vpce-0eu"  # an endpoint of the region whose endpoint listing failed


def _without_vpn(s: Snapshot) -> Snapshot:
    del s.resources[ACCOUNT][REGION]["ec2:vpn-connection"]
    return s


# -- an existence rule: vpc-private-connectivity -----------------------------------------------


def test_vpn_proves_a_way_in_although_direct_connect_failed() -> None:
    s = compliant_snapshot()
    set_outcome(s, "directconnect.virtual-interfaces", OutcomeStatus.ERROR)
    f = finding(s, CONNECTIVITY, VPC)
    assert f.status is Status.PASS
    assert "vpn-0a1" in f.message and "directconnect.virtual-interfaces" in f.message
    assert [u["collector"] for u in f.evidence["unread_sources"]] == [
        "directconnect.virtual-interfaces"
    ]


def test_transit_gateway_attachment_proves_it_although_the_vpn_listing_failed() -> None:
    s = _without_vpn(compliant_snapshot())
    set_outcome(s, "ec2.vpn", OutcomeStatus.ERROR)
    s.add(
        ACCOUNT,
        REGION,
        "ec2:transit-gateway-vpc-attachment",
        "tgw-attach-1",
        {"TransitGatewayAttachmentId": "tgw-attach-1", "VpcId": VPC, "State": "available"},
    )
    f = finding(s, CONNECTIVITY, VPC)
    assert f.status is Status.PASS and "tgw-attach-1" in f.message


def test_no_proof_with_a_source_unread_is_error_naming_it() -> None:
    s = _without_vpn(compliant_snapshot())
    set_outcome(s, "directconnect.virtual-interfaces", OutcomeStatus.ERROR)
    f = finding(s, CONNECTIVITY, VPC)
    assert f.status is Status.ERROR
    assert "directconnect.virtual-interfaces" in f.message and "AccessDenied" in f.message
    assert f.evidence["failed_collectors"][0]["collector"] == "directconnect.virtual-interfaces"


def test_no_proof_with_every_source_read_fails() -> None:
    assert finding(_without_vpn(compliant_snapshot()), CONNECTIVITY, VPC).status is Status.FAIL


def test_a_failed_hard_requirement_stays_error_whatever_the_proof() -> None:
    """Whether the VPC hosts notebooks (applies_to) rests on the notebook listing, which
    stays in ``requires``: no proof of a way in makes up for it."""
    s = compliant_snapshot()
    set_outcome(s, "sagemaker.notebook-instances", OutcomeStatus.ERROR)
    assert finding(s, CONNECTIVITY, VPC).status is Status.ERROR


# -- the discovered approved endpoints ----------------------------------------------------------


def _endpoints_failed_elsewhere(s: Snapshot) -> Snapshot:
    """The endpoint listing failed in another scanned region (the compliant one was read)."""
    s.regions = [REGION, ELSEWHERE]
    s.record(
        CollectorOutcome(
            "ec2.vpc-endpoints",
            ACCOUNT,
            ELSEWHERE,
            ["ec2:vpc-endpoint"],
            OutcomeStatus.ERROR,
            error_code="AccessDenied",
            operation="DescribeVpcEndpoints",
        )
    )
    return s


def _through_foreign() -> Snapshot:
    """Alice may presign through the two known endpoints and ``FOREIGN``, unseen."""
    return base(doc(statement(vpces=[EP_NOTEBOOK, EP_API, FOREIGN])))


def test_unseen_endpoint_fails_when_every_listing_was_read() -> None:
    found = one(results(_through_foreign()), PRESIGN_RULE, USER)
    assert found.status is Status.FAIL and FOREIGN in found.message


def test_failed_listing_elsewhere_turns_the_fail_into_error() -> None:
    """``FOREIGN`` may be the approved endpoint of the region whose listing failed."""
    f = results(_endpoints_failed_elsewhere(_through_foreign()))
    found = one(f, PRESIGN_RULE, USER)
    assert found.status is Status.ERROR
    assert ELSEWHERE in found.message and "DescribeVpcEndpoints" in found.message
    assert "config pins no approved endpoints" in found.message  # the rule's `because`
    assert FOREIGN in found.message  # what the partial data showed is kept
    assert one(f, "notebook-no-public-access-path", NOTEBOOK).status is Status.ERROR


def test_a_pass_stands_on_the_discovered_set_with_a_listing_failed_elsewhere() -> None:
    """More endpoints can only remove a path, so a PASS found on fewer is sound."""
    found = one(results(_endpoints_failed_elsewhere(base())), PRESIGN_RULE, USER)
    assert found.status is Status.PASS
    assert [u["region"] for u in found.evidence["unread_sources"]] == [ELSEWHERE]


@pytest.mark.parametrize(
    ("pinned", "expected"),
    [([EP_NOTEBOOK, EP_API, FOREIGN], Status.PASS), ([EP_NOTEBOOK, EP_API], Status.FAIL)],
)
def test_pinned_approved_endpoints_ignore_the_endpoint_listing(
    pinned: list[str], expected: Status
) -> None:
    config = Config(approved_vpc_endpoints=pinned)
    found = one(
        results(_endpoints_failed_elsewhere(_through_foreign()), config), PRESIGN_RULE, USER
    )
    assert found.status is expected
    assert "unread_sources" not in found.evidence and "failed_collectors" not in found.evidence


# -- the format -------------------------------------------------------------------------------

_FIELD = "    resource_type: sagemaker:notebook-instance\n"


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("[ec2:subnets]", "unknown resource type 'ec2:subnets'"),
        ("[sagemaker:notebook-instance]", "also in requires"),
        ("[{type: ec2:subnet, unless_config: [approved_vpce]}]", "'approved_vpce'"),
        ("[{type: ec2:subnet, scope: region}]", "scope"),
    ],
)
def test_bad_requires_for_fail_names_the_line(tmp_path: Path, entry: str, words: str) -> None:
    text = GOOD.replace(_FIELD, f"{_FIELD}    requires_for_fail: {entry}\n")
    err = error_for(tmp_path, text)
    assert words in str(err) and ":7" in str(err), str(err)


def test_dotted_unless_config_field_is_accepted(tmp_path: Path) -> None:
    entry = "[{type: ec2:subnet, unless_config: [iam.actions]}]"
    text = GOOD.replace(_FIELD, f"{_FIELD}    requires_for_fail: {entry}\n")
    rs = load_ruleset([write(tmp_path, text)])
    rule = rs.get("my-rule")
    assert rule is not None and rule.requires_for_fail[0].unless_config == ("iam.actions",)
