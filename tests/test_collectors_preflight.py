"""Malformed answers to the collectors' preflight calls, over HTTP against moto.

Before any collector runs, the scanner asks STS GetCallerIdentity for the account and, when no
regions are configured, EC2 DescribeRegions for the regions.  A well-formed HTTP 200 that lacks
the field read (``Account``, ``RegionName``) must not escape as a KeyError: every collector
gets an ERROR outcome naming the operation and ``MalformedResponse``, and nothing is
collected.  The answers are injected with :meth:`tests.faultproxy.FaultProxy.answer`, which
is checked to leave other operations forwarded to moto.
"""

from __future__ import annotations

from scanner.collectors import COLLECTORS
from scanner.model.snapshot import OutcomeStatus, Snapshot
from tests.collectkit import collect_only, outcome
from tests.faultproxy import EC2_API_VERSION, FaultProxy

STS_WITHOUT_ACCOUNT = (
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/x</Arn>"
    "<UserId>AIDAEXAMPLE</UserId></GetCallerIdentityResult>"
    "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
    "</GetCallerIdentityResponse>"
)
REGIONS_WITHOUT_NAME = (
    f'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/{EC2_API_VERSION}/">'
    "<requestId>r</requestId><regionInfo><item>"
    "<regionEndpoint>ec2.us-west-2.amazonaws.com</regionEndpoint>"
    "<optInStatus>opt-in-not-required</optInStatus>"
    "</item></regionInfo></DescribeRegionsResponse>"
)


def _preflight_failures(snap: Snapshot, operation: str) -> None:
    assert len(snap.collectors) == len(COLLECTORS)  # one region: one outcome per collector
    for o in snap.collectors:
        assert o.status is OutcomeStatus.ERROR, o.collector
        assert (o.operation, o.error_code) == (operation, "MalformedResponse"), o.collector
    assert snap.resources == {}


def test_identity_answer_without_account_is_a_preflight_failure(proxy: FaultProxy) -> None:
    proxy.answer("GetCallerIdentity", STS_WITHOUT_ACCOUNT)
    snap = collect_only(endpoint_url=proxy.url)  # no KeyError escapes
    _preflight_failures(snap, "GetCallerIdentity")
    assert snap.accounts == ["unknown"]
    assert proxy.counts["GetCallerIdentity"] == 1


def test_regions_answer_without_region_name_is_a_preflight_failure(proxy: FaultProxy) -> None:
    proxy.answer("DescribeRegions", REGIONS_WITHOUT_NAME)
    snap = collect_only(endpoint_url=proxy.url, regions=[])  # regions must be discovered
    _preflight_failures(snap, "DescribeRegions")
    assert snap.accounts == ["123456789012"]  # the identity call itself was fine
    assert {o.account_id for o in snap.collectors} == {"123456789012"}


def test_faultproxy_answer_leaves_other_operations_forwarded(proxy: FaultProxy) -> None:
    """The proxy's canned answer applies to the named operation only."""
    proxy.answer("DescribeRegions", REGIONS_WITHOUT_NAME)
    snap = collect_only("vpc", endpoint_url=proxy.url)  # regions given: no DescribeRegions
    assert outcome(snap, "vpc").status is OutcomeStatus.OK
    assert proxy.counts["DescribeVpcs"] == 1 and proxy.counts["DescribeRegions"] == 0
