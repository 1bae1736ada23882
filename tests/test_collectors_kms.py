"""The kms-key collector over HTTP: one DescribeKey per distinct KmsKeyId, after the notebooks.

Nothing lists the keys notebooks use, so the collector is a lookup
(:class:`scanner.collectors.specs.Lookup`): it runs once the notebook and Studio domain
collectors of the same region finished and describes each distinct ``KmsKeyId`` value they
name, exactly as written (key ARN, alias name), never one call per notebook.

moto limitations, said here rather than bent around: moto answers ``KeyManager`` CUSTOMER for
every key it creates and creates no AWS managed key, so ``alias/aws/sagemaker`` (which AWS
creates on first use) is NotFoundException on moto's server.  The AWS-managed FAIL is tested
offline (tests/test_rules_kms.py) with DescribeKey's documented ``KeyManager: AWS``.
"""

from __future__ import annotations

from typing import Any

from scanner.config import Config
from scanner.engine import evaluate, load_ruleset
from scanner.enrichment import enrich
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import OutcomeStatus, Snapshot
from tests.collectkit import REGION, collect_only, outcome, resources
from tests.faultproxy import ACCESS_DENIED, FaultProxy

ROLE = "arn:aws:iam::123456789012:role/r"
ALIAS = "alias/nb-volumes"
AWS_MANAGED = "alias/aws/sagemaker"


def _seed(aws: Any) -> str:
    """Five notebooks naming three distinct key values (two by ARN, one by alias, one
    AWS-managed alias) and one naming none; returns the key's ARN."""
    meta = aws("kms").create_key(Description="notebook volumes")["KeyMetadata"]
    aws("kms").create_alias(AliasName=ALIAS, TargetKeyId=meta["KeyId"])
    sm = aws("sagemaker")
    refs = {"a": meta["Arn"], "b": meta["Arn"], "c": ALIAS, "d": AWS_MANAGED, "e": None}
    for name, ref in refs.items():
        extra = {"KmsKeyId": ref} if ref else {}
        sm.create_notebook_instance(
            NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=ROLE, **extra
        )
    return str(meta["Arn"])


def _kms_findings(snap: Snapshot) -> dict[str, Finding]:
    config = Config(regions=[REGION])
    found = evaluate(load_ruleset(), enrich(snap, config), snap, config)
    return {f.resource_id: f for f in found if f.rule_id == "notebook-kms-encryption"}


def test_one_describe_key_per_distinct_reference(aws: Any, proxy: FaultProxy) -> None:
    arn = _seed(aws)
    snap = collect_only("notebook-instance", "kms-key", endpoint_url=proxy.url)
    assert outcome(snap, "kms-key").status is OutcomeStatus.OK
    assert proxy.counts["DescribeKey"] == 3  # five notebooks, three distinct values
    keys = resources(snap, "kms:key")
    assert set(keys) == {arn, ALIAS, AWS_MANAGED}
    # The alias resolves to its key, KeyManager included.
    assert keys[ALIAS].data["Arn"] == arn and keys[ALIAS].data["KeyManager"] == "CUSTOMER"
    assert keys[AWS_MANAGED].data["Missing"]["Code"] == "NotFoundException"  # moto: none
    status = {name: f.status for name, f in _kms_findings(snap).items()}
    assert status == {
        "a": Status.PASS,
        "b": Status.PASS,
        "c": Status.PASS,
        "d": Status.FAIL,  # names no key (on moto; on AWS an AWS managed key: FAIL too)
        "e": Status.FAIL,  # no KmsKeyId: SageMaker's AWS managed key
    }


def test_no_reference_costs_no_call(aws: Any, proxy: FaultProxy) -> None:
    aws("sagemaker").create_notebook_instance(
        NotebookInstanceName="plain", InstanceType="ml.t3.medium", RoleArn=ROLE
    )
    snap = collect_only("notebook-instance", "kms-key", endpoint_url=proxy.url)
    assert outcome(snap, "kms-key").status is OutcomeStatus.OK
    assert proxy.counts["DescribeKey"] == 0
    assert resources(snap, "kms:key") == {}


def test_describe_key_denied_fails_the_kms_collector_only(aws: Any, proxy: FaultProxy) -> None:
    """A key policy (or the scanner's policy) denying DescribeKey: the KMS rule is ERROR
    naming the call, the notebooks are still collected and judged by every other rule."""
    _seed(aws)
    proxy.fail("DescribeKey", ACCESS_DENIED)
    snap = collect_only("notebook-instance", "kms-key", endpoint_url=proxy.url)
    failed = outcome(snap, "kms-key")
    assert failed.status is OutcomeStatus.ERROR
    assert (failed.error_code, failed.operation) == ("AccessDenied", "DescribeKey")
    assert outcome(snap, "notebook-instance").status is OutcomeStatus.OK
    assert len(resources(snap, "sagemaker:notebook-instance")) == 5
    findings = _kms_findings(snap)
    assert {f.status for f in findings.values()} == {Status.ERROR}
    assert "DescribeKey" in findings["a"].message
