"""Notebook rules on moto-seeded accounts: one notebook field varied at a time.

Each test seeds the compliant baseline with one notebook field changed and asserts the
exact PASS/FAIL set of every issue-2 rule.  Where moto cannot produce a field as AWS
would (an absent DirectInternetAccess, any IMDS setting), the collected snapshot is
edited in that one field, which is what ``scanner scan --snapshot`` would read from AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scanner.demo.server import MotoServer
from scanner.model.finding import Status
from scanner.model.snapshot import Snapshot
from tests.scenariokit import (
    NB,
    NOTEBOOK_RULES,
    REGION,
    VPC_ENDPOINT_RULES,
    Baseline,
    add_notebook,
    assert_scan,
    build_baseline,
    scan,
)

NOTEBOOK_TYPE = "sagemaker:notebook-instance"


def _notebook_data(snapshot: Snapshot, name: str = NB) -> dict[str, Any]:
    account = snapshot.accounts[0]
    data: dict[str, Any] = snapshot.resources[account][REGION][NOTEBOOK_TYPE][name]["data"]
    return data


@pytest.mark.parametrize(
    ("notebook", "rule"),
    [
        ({"direct_internet": "Enabled"}, "notebook-direct-internet-access-disabled"),
        # Omitted on create: AWS (and moto) report its default, Enabled.
        ({"direct_internet": None}, "notebook-direct-internet-access-disabled"),
        ({"root_access": "Enabled"}, "notebook-root-access-disabled"),
        # Omitted on create: moto leaves RootAccess out of the description; absent = Enabled.
        ({"root_access": None}, "notebook-root-access-disabled"),
        ({"kms_key": None}, "notebook-kms-encryption"),
    ],
    ids=["direct-enabled", "direct-omitted", "root-enabled", "root-absent", "kms-absent"],
)
def test_one_notebook_field_fails_one_rule(
    aws: Any, moto: MotoServer, notebook: dict[str, Any], rule: str
) -> None:
    base = build_baseline(aws, notebook=notebook)
    expected = base.expected()
    expected[rule][NB] = Status.FAIL
    result = scan(moto.url)
    assert_scan(result, expected)


def test_root_access_absent_is_really_absent(aws: Any, moto: MotoServer) -> None:
    """Guards the test above: the FAIL must come from on_missing, not from a value."""
    build_baseline(aws, notebook={"root_access": None})
    result = scan(moto.url)
    assert "RootAccess" not in _notebook_data(result.snapshot)
    assert result.finding("notebook-root-access-disabled", NB).status is Status.FAIL


def _set(field: str, value: Any) -> Callable[[Snapshot], None]:
    def mutate(snapshot: Snapshot) -> None:
        _notebook_data(snapshot)[field] = value

    return mutate


def _drop(field: str) -> Callable[[Snapshot], None]:
    def mutate(snapshot: Snapshot) -> None:
        del _notebook_data(snapshot)[field]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "rule", "status"),
    [
        (_drop("DirectInternetAccess"), "notebook-direct-internet-access-disabled", Status.FAIL),
        (_drop("SubnetId"), "notebook-in-vpc", Status.FAIL),
        (_drop("KmsKeyId"), "notebook-kms-encryption", Status.FAIL),
        (
            _set(
                "InstanceMetadataServiceConfiguration",
                {"MinimumInstanceMetadataServiceVersion": "2"},
            ),
            "notebook-imdsv2-required",
            Status.PASS,
        ),
        (
            _set(
                "InstanceMetadataServiceConfiguration",
                {"MinimumInstanceMetadataServiceVersion": "1"},
            ),
            "notebook-imdsv2-required",
            Status.FAIL,
        ),
        (_set("InstanceMetadataServiceConfiguration", {}), "notebook-imdsv2-required", Status.FAIL),
    ],
    ids=["direct-absent", "subnet-absent", "kms-dropped", "imds-v2", "imds-v1", "imds-empty"],
)
def test_snapshot_field_as_aws_would_send_it(
    aws: Any,
    moto: MotoServer,
    mutate: Callable[[Snapshot], None],
    rule: str,
    status: Status,
) -> None:
    base = build_baseline(aws)
    expected = base.expected()
    expected[rule][NB] = status
    if rule == "notebook-in-vpc":
        # Without a subnet there is no route table to judge (not applicable, not PASS), and
        # the VPC no longer hosts a notebook, so the hosting-only VPC rules do not apply.
        expected["notebook-subnet-no-internet-route"].pop(NB)
        for hosting_rule in (*VPC_ENDPOINT_RULES.values(), "vpc-private-connectivity"):
            expected[hosting_rule].pop(base.vpc.vpc_id)
    result = scan(moto.url, mutate=mutate)
    assert_scan(result, expected)


def test_imdsv2_fails_for_every_moto_notebook(aws: Any, moto: MotoServer) -> None:
    """moto drops InstanceMetadataServiceConfiguration even when it is sent as "2"."""
    build_baseline(aws, notebook={"imds_v2": True})
    result = scan(moto.url)
    assert "InstanceMetadataServiceConfiguration" not in _notebook_data(result.snapshot)
    assert result.finding("notebook-imdsv2-required", NB).status is Status.FAIL


def test_notebook_outside_any_vpc(aws: Any, moto: MotoServer) -> None:
    """A second notebook identical to the baseline's but with no subnet (and so no groups)."""
    base: Baseline = build_baseline(aws)
    add_notebook(aws, base, "nb-novpc", subnet_id=None, sg_ids=None)
    expected = base.expected()
    expected["notebook-in-vpc"]["nb-novpc"] = Status.FAIL
    expected["notebook-subnet-no-internet-route"].pop("nb-novpc")
    result = scan(moto.url)
    assert_scan(result, expected)
    assert result.status()["notebook-subnet-no-internet-route"]["nb-novpc"] is Status.NOT_APPLICABLE


def test_direct_internet_finding_reads_the_right_field(aws: Any, moto: MotoServer) -> None:
    """RootAccess Enabled must not leak into the direct-internet verdict (Prowler's bug)."""
    build_baseline(aws, notebook={"root_access": "Enabled"})
    result = scan(moto.url)
    assert result.finding("notebook-direct-internet-access-disabled", NB).status is Status.PASS
    assert result.finding("notebook-root-access-disabled", NB).status is Status.FAIL
    for rule in NOTEBOOK_RULES:
        assert result.finding(rule, NB).resource_arn == (
            f"arn:aws:sagemaker:{REGION}:{result.snapshot.accounts[0]}:notebook-instance/{NB}"
        )
