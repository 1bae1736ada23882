"""The seeded demo account, scanned end to end: exactly the manifest's FAILs, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.demo.seed import IAM_RULES, ISSUE2_RULES, DemoManifest, seed_demo_account
from scanner.demo.server import MotoServer
from scanner.model.finding import Status
from tests.scenariokit import REGION, Scan, scan


@pytest.fixture
def demo_scan(aws: Any, moto: MotoServer) -> tuple[DemoManifest, Scan]:
    manifest = seed_demo_account(aws, REGION)
    return manifest, scan(moto.url)


def test_demo_scan_fails_exactly_the_manifest(demo_scan: tuple[DemoManifest, Scan]) -> None:
    manifest, result = demo_scan
    assert result.errors() == []
    actual = {
        rule: {rid for rid, s in found.items() if s is Status.FAIL}
        for rule, found in result.status().items()
    }
    assert actual == {r: manifest.expected_fail[r] for r in ISSUE2_RULES}
    # DescribeKey decides the KMS rule: the customer managed key PASSes; research-nb names
    # alias/aws/sagemaker, for which moto has no key (NotFoundException, where AWS would
    # answer KeyManager AWS), and FAILs either way.
    ok = result.finding("notebook-kms-encryption", "clinical-nlp")
    assert ok.status is Status.PASS and ok.evidence["key_manager"] == "CUSTOMER"
    assert result.finding("notebook-kms-encryption", "research-nb").evidence["ref"] == (
        "alias/aws/sagemaker"
    )


def test_demo_iam_fails_exactly_the_manifest(demo_scan: tuple[DemoManifest, Scan]) -> None:
    """The IAM analysis finds the seeded mistakes and nothing else; no ERROR."""
    manifest, result = demo_scan
    actual: dict[str, set[str]] = {rule: set() for rule in IAM_RULES}
    for f in result.findings:
        if f.rule_id in actual and f.status is Status.FAIL:
            actual[f.rule_id].add(f.resource_id)
    assert actual == {r: manifest.expected_fail[r] for r in IAM_RULES}
    # Organizations is not in use in the demo account: the SCP rule cannot judge.
    [scp] = [f for f in result.findings if f.rule_id == "org-scp-enforces-vpc-endpoint"]
    assert scp.status is Status.NOT_APPLICABLE
    # Compliant principals (the post's policy through a group and on a role) PASS.
    presign = {
        f.resource_id: f.status
        for f in result.findings
        if f.rule_id == "iam-presigned-url-requires-vpc-endpoint"
    }
    assert presign[manifest.iam["user:alice"]] is Status.PASS
    assert presign[manifest.iam["role:DataScientist"]] is Status.PASS


def test_demo_has_passes_for_every_rule_it_can(demo_scan: tuple[DemoManifest, Scan]) -> None:
    """Each rule also PASSes somewhere, so the demo shows both sides (imdsv2: moto)."""
    _, result = demo_scan
    no_pass = {rule for rule, found in result.status().items() if Status.PASS not in found.values()}
    assert no_pass == {"notebook-imdsv2-required"}
    assert set(result.status()) == set(ISSUE2_RULES)


def test_demo_hosted_zone_makes_research_runtime_resolve(
    demo_scan: tuple[DemoManifest, Scan],
) -> None:
    manifest, result = demo_scan
    research = manifest.vpcs["ml-research"]
    dns = result.status()["endpoint-private-dns-resolves"]
    assert dns[research.endpoints["runtime"]] is Status.PASS
    assert dns[research.endpoints["api"]] is Status.FAIL
