"""notebook-kms-encryption: a customer managed key, as DescribeKey's KeyManager says (offline).

The compliant snapshot's notebook names a key whose kms-key record says ``KeyManager``
CUSTOMER; each test changes one thing.  ``KeyManager: AWS`` is DescribeKey's documented
answer for an AWS managed key such as ``alias/aws/sagemaker``, which moto cannot produce
(see tests/test_collectors_kms.py), hence offline.
"""

from __future__ import annotations

import pytest

from scanner.model.finding import Status
from scanner.model.snapshot import MISSING_KEY, OutcomeStatus
from tests.snapshots import (
    ACCOUNT,
    KMS_KEY,
    NOTEBOOK,
    REGION,
    add_kms_key,
    compliant_snapshot,
    data,
    finding,
    set_outcome,
)

RULE = "notebook-kms-encryption"
AWS_ALIAS = "alias/aws/sagemaker"


def test_customer_managed_key_passes() -> None:
    f = finding(compliant_snapshot(), RULE, NOTEBOOK)
    assert f.status is Status.PASS
    assert f.evidence["key_manager"] == "CUSTOMER"


def test_aws_managed_key_by_alias_fails() -> None:
    s = compliant_snapshot()
    data(s, "sagemaker:notebook-instance", NOTEBOOK)["KmsKeyId"] = AWS_ALIAS
    add_kms_key(s, AWS_ALIAS, manager="AWS")
    f = finding(s, RULE, NOTEBOOK)
    assert f.status is Status.FAIL
    assert "AWS managed" in f.message and f.evidence["ref"] == AWS_ALIAS


def test_no_kms_key_id_fails() -> None:
    s = compliant_snapshot()
    del data(s, "sagemaker:notebook-instance", NOTEBOOK)["KmsKeyId"]
    assert finding(s, RULE, NOTEBOOK).status is Status.FAIL


def test_key_that_does_not_exist_fails() -> None:
    """DescribeKey's NotFoundException: the value names no key, so SageMaker cannot use it
    and no customer managed key protects the volume."""
    s = compliant_snapshot()
    s.resources[ACCOUNT][REGION]["kms:key"][KMS_KEY]["data"] = {
        MISSING_KEY: {"Code": "NotFoundException", "Message": "Key does not exist"}
    }
    f = finding(s, RULE, NOTEBOOK)
    assert f.status is Status.FAIL
    assert "NotFoundException" in f.message


@pytest.mark.parametrize("change", ["no record", "no KeyManager"])
def test_unknown_manager_is_error(change: str) -> None:
    """A snapshot older than the kms-key collector has no record; a record without
    KeyManager is malformed: neither is guessed."""
    s = compliant_snapshot()
    if change == "no record":
        del s.resources[ACCOUNT][REGION]["kms:key"]
    else:
        del data(s, "kms:key", KMS_KEY)["KeyManager"]
    assert finding(s, RULE, NOTEBOOK).status is Status.ERROR


def test_describe_key_failed_is_error_for_the_kms_rules_only() -> None:
    s = compliant_snapshot()
    set_outcome(s, "kms-key", OutcomeStatus.ERROR)
    f = finding(s, RULE, NOTEBOOK)
    assert f.status is Status.ERROR and "kms-key" in f.message
    assert finding(s, "notebook-root-access-disabled", NOTEBOOK).status is Status.PASS
