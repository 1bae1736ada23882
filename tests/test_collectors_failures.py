"""Collector failures over real HTTP: access denied, throttling, outages, unimplemented APIs.

Errors are injected by :mod:`tests.faultproxy` in front of moto's server, so botocore's own
retry and error parsing run exactly as against AWS.  No timing is asserted: retry bounds
are checked by counting the requests the proxy saw.
"""

from __future__ import annotations

from typing import Any

import pytest

from scanner.collectors import COLLECTORS, collect
from scanner.collectors.paging import PAGE_RETRIES
from scanner.config import CollectorsConfig
from scanner.demo.server import free_port
from scanner.errors import InputError
from scanner.model.snapshot import OutcomeStatus
from tests.collectkit import REGION, collect_only, make_config, outcome, resources
from tests.faultproxy import ACCESS_DENIED, EC2_API_VERSION, THROTTLING, Fault, FaultProxy

MAX_ATTEMPTS = 2  # collectkit's retries.max_attempts
ROLE = "arn:aws:iam::123456789012:role/r"


def seed_endpoint_and_notebook(aws: Any) -> None:
    ec2 = aws("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.sagemaker.api",
        VpcEndpointType="Interface", SubnetIds=[subnet],
    )  # fmt: skip
    aws("sagemaker").create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=ROLE
    )


def test_access_denied_fails_only_that_collector(proxy: FaultProxy, aws: Any) -> None:
    seed_endpoint_and_notebook(aws)
    proxy.fail("DescribeVpcEndpoints", ACCESS_DENIED)
    snap = collect_only(
        "vpc-endpoint", "vpc", "subnet", "notebook-instance", endpoint_url=proxy.url
    )
    failed = outcome(snap, "vpc-endpoint")
    assert failed.status is OutcomeStatus.ERROR
    assert (failed.error_code, failed.operation) == ("AccessDenied", "DescribeVpcEndpoints")
    assert failed.resource_types == ["ec2:vpc-endpoint"]
    assert resources(snap, "ec2:vpc-endpoint") == {}
    assert proxy.counts["DescribeVpcEndpoints"] == 1  # access denied is not retried
    for name in ("vpc", "subnet", "notebook-instance"):
        assert outcome(snap, name).status is OutcomeStatus.OK, name
    assert "nb" in resources(snap, "sagemaker:notebook-instance")
    assert snap.failed_outcomes() == [failed]


def test_throttling_past_retries_is_an_error_after_bounded_attempts(proxy: FaultProxy) -> None:
    proxy.fail("DescribeVpcs", THROTTLING)
    snap = collect_only("vpc", "subnet", endpoint_url=proxy.url)
    failed = outcome(snap, "vpc")
    assert (failed.status, failed.error_code) == (OutcomeStatus.ERROR, "Throttling")
    assert failed.operation == "DescribeVpcs"
    # botocore's attempts per call, times our page-level tries.
    assert proxy.counts["DescribeVpcs"] == MAX_ATTEMPTS * (PAGE_RETRIES + 1)
    assert outcome(snap, "subnet").status is OutcomeStatus.OK


def test_json_protocol_throttling_is_recognised(proxy: FaultProxy, aws: Any) -> None:
    """SageMaker speaks JSON: the fault arrives as ``__type``, not XML."""
    seed_endpoint_and_notebook(aws)
    proxy.fail("ListNotebookInstances", Fault("ThrottlingException", 400))
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    failed = outcome(snap, "notebook-instance")
    assert (failed.status, failed.error_code) == (OutcomeStatus.ERROR, "ThrottlingException")
    assert proxy.counts["ListNotebookInstances"] == MAX_ATTEMPTS * (PAGE_RETRIES + 1)


def test_failed_detail_call_fails_the_collector_and_drops_partial_results(
    proxy: FaultProxy, aws: Any
) -> None:
    seed_endpoint_and_notebook(aws)
    proxy.fail("DescribeNotebookInstance", ACCESS_DENIED)
    snap = collect_only("notebook-instance", endpoint_url=proxy.url)
    failed = outcome(snap, "notebook-instance")
    assert (failed.status, failed.operation) == (OutcomeStatus.ERROR, "DescribeNotebookInstance")
    assert proxy.counts["ListNotebookInstances"] == 1  # the list itself succeeded
    assert resources(snap, "sagemaker:notebook-instance") == {}


def test_failed_trail_status_fails_cloudtrail(proxy: FaultProxy, aws: Any) -> None:
    aws("s3").create_bucket(
        Bucket="trail-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    aws("cloudtrail").create_trail(Name="main-trail", S3BucketName="trail-bucket")
    proxy.fail("GetTrailStatus", ACCESS_DENIED)
    snap = collect_only("cloudtrail", endpoint_url=proxy.url)
    failed = outcome(snap, "cloudtrail")
    assert (failed.status, failed.error_code) == (OutcomeStatus.ERROR, "AccessDenied")
    assert resources(snap, "cloudtrail:trail") == {}


def test_organizations_access_denied_is_not_collected(proxy: FaultProxy, aws: Any) -> None:
    aws("organizations", "us-east-1").create_organization(FeatureSet="ALL")
    proxy.fail("ListPolicies", Fault("AccessDeniedException", 400))
    snap = collect_only("organizations", endpoint_url=proxy.url)
    got = outcome(snap, "organizations")
    assert (got.status, got.error_code) == (OutcomeStatus.NOT_COLLECTED, "AccessDeniedException")
    assert got.operation == "ListPolicies"
    assert not snap.failed_outcomes()
    assert not list(snap.iter_resources("organizations:organization"))


def test_endpoint_down_is_an_error_for_every_collector() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    snap = collect(make_config(endpoint_url=closed))  # no exception escapes
    expected = {(name, "global" if s.is_global else REGION) for name, s in COLLECTORS.items()}
    assert {(o.collector, o.region) for o in snap.collectors} == expected
    assert len(snap.collectors) == len(expected)
    assert {o.status for o in snap.collectors} == {OutcomeStatus.ERROR}
    assert {o.error_code for o in snap.collectors} == {"EndpointConnectionError"}
    assert snap.resources == {}
    assert snap.finished_at is not None


def test_direct_connect_not_implemented_by_moto_is_an_error(moto: Any) -> None:
    """moto's server answers Direct Connect with HTTP 500: a failure, never an empty list."""
    snap = collect_only("directconnect-gateway", "directconnect-virtual-interface")
    for name, operation in (
        ("directconnect-gateway", "DescribeDirectConnectGateways"),
        ("directconnect-virtual-interface", "DescribeVirtualInterfaces"),
    ):
        got = outcome(snap, name)
        assert (got.status, got.operation) == (OutcomeStatus.ERROR, operation)
        assert got.error_code


def test_one_outcome_per_collector_and_scope_with_disabled_recorded(moto: Any) -> None:
    regions = [REGION, "eu-west-1"]
    disabled = [n for n in COLLECTORS if n.startswith("directconnect")] + ["vpc"]
    config = make_config(collectors=CollectorsConfig(disabled=disabled))
    snap = collect(config, regions=regions)
    assert snap.regions == regions and snap.accounts == ["123456789012"]
    keys = [(o.collector, o.region) for o in snap.collectors]
    assert len(keys) == len(set(keys))
    regional = [n for n, s in COLLECTORS.items() if not s.is_global]
    assert len(keys) == len(regional) * 2 + len(COLLECTORS) - len(regional)
    by_key = {(o.collector, o.region): o for o in snap.collectors}
    assert by_key[("vpc", "eu-west-1")].status is OutcomeStatus.DISABLED
    assert by_key[("directconnect-gateway", "global")].status is OutcomeStatus.DISABLED
    assert by_key[("subnet", "eu-west-1")].status is OutcomeStatus.OK
    assert not snap.failed_outcomes()
    assert list(snap.iter_resources("ec2:subnet", region="eu-west-1"))
    assert not list(snap.iter_resources("ec2:vpc"))


def test_unknown_disabled_collector_is_an_input_error() -> None:
    config = make_config(collectors=CollectorsConfig(disabled=["vpcs"]))
    with pytest.raises(InputError, match="'vpcs'"):
        collect(config)


def test_regions_default_to_all_enabled_regions(aws: Any) -> None:
    enabled = sorted(r["RegionName"] for r in aws("ec2").describe_regions()["Regions"])
    snap = collect(make_config("vpc", regions=[]))
    assert snap.regions == enabled
    assert {o.region for o in snap.collectors if o.collector == "vpc"} == set(enabled)


JSON = "application/x-amz-json-1.1"
VPC_ATTRIBUTE_WITHOUT_VALUE = (
    f'<DescribeVpcAttributeResponse xmlns="http://ec2.amazonaws.com/doc/{EC2_API_VERSION}/">'
    "<requestId>r</requestId><vpcId>vpc-1</vpcId></DescribeVpcAttributeResponse>"
)


@pytest.mark.parametrize(
    ("collector", "operation", "body", "content_type"),
    [
        # A list answer without its list: not "no notebooks".
        ("notebook-instance", "ListNotebookInstances", "{}", JSON),
        # A page of tags in bulk without its list: not "no tags".
        ("notebook-instance", "GetResources", "{}", JSON),
        # A keyed detail without its field: not "attribute unknown, VPC kept".
        ("vpc", "DescribeVpcAttribute", VPC_ATTRIBUTE_WITHOUT_VALUE, "text/xml"),
    ],
)
def test_answer_missing_the_field_a_spec_reads_is_an_error(
    proxy: FaultProxy,
    aws: Any,
    collector: str,
    operation: str,
    body: str,
    content_type: str,
) -> None:
    """A well-formed 200 that lacks what the spec reads is MalformedResponse, never an empty
    (complete-looking) listing: absent notebooks would yield no findings at all."""
    seed_endpoint_and_notebook(aws)
    proxy.answer(operation, body, content_type)
    snap = collect_only(collector, endpoint_url=proxy.url)
    failed = outcome(snap, collector)
    assert failed.status is OutcomeStatus.ERROR
    assert (failed.error_code, failed.operation) == ("MalformedResponse", operation)
    assert snap.resources == {}
    assert proxy.counts[operation] >= 1


@pytest.mark.parametrize("region_info", ["<regionInfo/>", ""])
def test_region_discovery_answer_without_regions_is_a_preflight_failure(
    proxy: FaultProxy, region_info: str
) -> None:
    """No region listed (an empty or missing list) is not "scan the default region only":
    the other regions would go unscanned while the report looked complete."""
    proxy.answer(
        "DescribeRegions",
        f'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/{EC2_API_VERSION}/">'
        f"<requestId>r</requestId>{region_info}</DescribeRegionsResponse>",
    )
    snap = collect_only("vpc", endpoint_url=proxy.url, regions=[])
    assert proxy.counts["DescribeRegions"] == 1
    assert {(o.status, o.error_code, o.operation) for o in snap.collectors} == {
        (OutcomeStatus.ERROR, "MalformedResponse", "DescribeRegions")
    }
    assert proxy.counts["DescribeVpcs"] == 0 and snap.resources == {}
