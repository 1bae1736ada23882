"""The CloudTrail collector seeing trails homed in a region that is not scanned.

A multi-region trail appears in every region as a shadow trail, so a scan of us-west-2 alone
must collect the account's us-east-1 multi-region trail (with its home region and logging
status) and cloudtrail-multi-region-enabled must PASS on it; a single-region trail of another
region stays invisible.  Over HTTP against moto's server.
"""

from __future__ import annotations

from typing import Any

from scanner.config import Config
from scanner.engine import evaluate, load_ruleset
from scanner.enrichment import enrich
from scanner.model.snapshot import OutcomeStatus
from tests.collectkit import REGION, collect_only, outcome

HOME = "us-east-1"  # the trail's home region, deliberately not scanned


def test_multi_region_trail_homed_in_an_unscanned_region_is_seen(aws: Any) -> None:
    """A multi-region trail appears in every region as a shadow trail (DescribeTrails'
    includeShadowTrails defaults to true; GetTrailStatus takes the ARN of a shadow trail).
    Scanning only us-west-2 must still see the account's us-east-1 multi-region trail, or
    cloudtrail-multi-region-enabled reports a false FAIL."""
    aws("s3", HOME).create_bucket(Bucket="trail-bucket")
    arn = aws("cloudtrail", HOME).create_trail(
        Name="org-trail", S3BucketName="trail-bucket", IsMultiRegionTrail=True
    )["TrailARN"]
    aws("cloudtrail", HOME).start_logging(Name="org-trail")

    snap = collect_only("cloudtrail")
    assert outcome(snap, "cloudtrail").status is OutcomeStatus.OK
    trails = list(snap.iter_resources("cloudtrail:trail"))
    assert [t.id for t in trails] == [arn]
    assert trails[0].data["HomeRegion"] == HOME
    assert trails[0].data["Status"]["IsLogging"] is True

    config = Config(regions=[REGION])
    findings = evaluate(load_ruleset(), enrich(snap, config), snap, config)
    trail_rule = [f for f in findings if f.rule_id == "cloudtrail-multi-region-enabled"]
    assert [str(f.status) for f in trail_rule] == ["PASS"]


def test_single_region_trail_of_another_region_is_not_seen(aws: Any) -> None:
    """Shadow trails exist only for multi-region trails: a single-region trail elsewhere
    stays invisible to a us-west-2 scan (and could not satisfy the rule anyway)."""
    aws("s3", HOME).create_bucket(Bucket="trail-bucket")
    aws("cloudtrail", HOME).create_trail(
        Name="local-trail", S3BucketName="trail-bucket", IsMultiRegionTrail=False
    )
    snap = collect_only("cloudtrail")
    assert list(snap.iter_resources("cloudtrail:trail")) == []
