"""The read-only guard and the shipped IAM policy.

Writes are refused before they are sent: the proxy in front of moto counts every request,
so "never reached moto" is checked on the wire, and the absence of the resource is checked
through an unguarded client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from scanner import cancel
from scanner.aws.guard import READ_ONLY_OPERATIONS, ReadOnlyViolation, iam_action
from scanner.aws.session import ClientFactory
from scanner.collectors import COLLECTORS, all_operations, collect
from scanner.collectors.registry import PREFLIGHT_OPERATIONS
from scanner.config import Config
from tests.collectkit import REGION, make_config
from tests.faultproxy import FaultProxy

POLICY = Path(__file__).resolve().parent.parent / "docs" / "scanner-readonly-policy.json"
READ_PREFIXES = ("Describe", "List", "Get")
WRITE_PREFIXES = (
    "Create", "Delete", "Put", "Update", "Modify", "Attach", "Detach", "Associate",
    "Disassociate", "Start", "Stop", "Tag", "Untag", "Set", "Add", "Remove", "Reset",
    "Enable", "Disable", "Replace", "Revoke", "Authorize", "Accept", "Reject", "Upload",
    "Change", "Move", "Invite", "Leave", "Register", "Deregister", "Terminate", "Run",
)  # fmt: skip
# Allowlisted calls whose names are not Describe/List/Get but that change nothing, each with
# why.  Kept to an explicit list so a new verb needs a reason here, not a looser prefix check.
READS_BY_ANOTHER_NAME = {
    "sts:AssumeRole": "returns temporary credentials for a role (organization scans)",
}


def policy_actions() -> set[str]:
    doc = json.loads(POLICY.read_text())
    actions: set[str] = set()
    for statement in doc["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "Condition" not in statement and "NotAction" not in statement
        actions.update(statement["Action"])
    return actions


def guarded(proxy: FaultProxy, service: str, region: str = REGION) -> Any:
    return ClientFactory(Config(endpoint_url=proxy.url)).client(service, region)


def test_create_vpc_is_refused_and_never_sent(proxy: FaultProxy, aws: Any) -> None:
    before = len(aws("ec2").describe_vpcs()["Vpcs"])
    with pytest.raises(ReadOnlyViolation, match="ec2:CreateVpc"):
        guarded(proxy, "ec2").create_vpc(CidrBlock="10.9.0.0/16")
    assert proxy.counts["CreateVpc"] == 0
    assert len(aws("ec2").describe_vpcs()["Vpcs"]) == before


def test_stop_notebook_is_refused_and_notebook_keeps_running(proxy: FaultProxy, aws: Any) -> None:
    sm = aws("sagemaker")
    sm.create_notebook_instance(
        NotebookInstanceName="nb",
        InstanceType="ml.t3.medium",
        RoleArn="arn:aws:iam::123456789012:role/r",
    )
    with pytest.raises(ReadOnlyViolation, match="sagemaker:StopNotebookInstance"):
        guarded(proxy, "sagemaker").stop_notebook_instance(NotebookInstanceName="nb")
    assert proxy.counts["StopNotebookInstance"] == 0
    status = sm.describe_notebook_instance(NotebookInstanceName="nb")["NotebookInstanceStatus"]
    assert status == "InService"


def test_create_user_is_refused_and_no_user_exists(proxy: FaultProxy, aws: Any) -> None:
    with pytest.raises(ReadOnlyViolation, match="iam:CreateUser"):
        guarded(proxy, "iam", "us-east-1").create_user(UserName="intruder")
    assert proxy.counts["CreateUser"] == 0
    assert aws("iam").list_users()["Users"] == []


def test_read_calls_pass_the_guard(proxy: FaultProxy, aws: Any) -> None:
    vpc_id = aws("ec2").create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    vpcs = guarded(proxy, "ec2").describe_vpcs()["Vpcs"]
    assert vpc_id in {v["VpcId"] for v in vpcs}
    assert proxy.counts["DescribeVpcs"] == 1


def test_after_a_stop_request_no_call_is_sent_even_a_read(proxy: FaultProxy) -> None:
    client = guarded(proxy, "ec2")
    client.describe_vpcs()
    cancel.request("SIGTERM received")
    try:
        with pytest.raises(cancel.Interrupted, match="SIGTERM"):
            client.describe_vpcs()
        # Interrupted is not an Exception: a collector's ``except Exception`` cannot eat it
        assert not issubclass(cancel.Interrupted, Exception)
    finally:
        cancel.reset()
    assert proxy.counts["DescribeVpcs"] == 1
    client.describe_vpcs()  # and calls go again once the request is withdrawn
    assert proxy.counts["DescribeVpcs"] == 2


def test_every_collector_operation_is_allowlisted_and_in_the_policy() -> None:
    spec_ops = set(all_operations())
    assert {op for spec in COLLECTORS.values() for op in spec.operations} <= spec_ops
    assert spec_ops - READ_ONLY_OPERATIONS == set()
    assert {iam_action(op) for op in spec_ops} - policy_actions() == set()


def test_policy_matches_the_allowlist_exactly() -> None:
    assert policy_actions() == {iam_action(op) for op in READ_ONLY_OPERATIONS}


def test_allowlist_is_exactly_what_the_scanner_may_call() -> None:
    """Nothing allowlisted that no collector or account preflight calls."""
    assert set(all_operations()) == READ_ONLY_OPERATIONS
    assert "sts:AssumeRole" in PREFLIGHT_OPERATIONS
    assert "organizations:ListAccountsForParent" in COLLECTORS["organizations"].operations


def test_policy_and_allowlist_contain_only_reads() -> None:
    ops = policy_actions() | READ_ONLY_OPERATIONS
    assert set(READS_BY_ANOTHER_NAME) <= policy_actions() & READ_ONLY_OPERATIONS
    names = [a.split(":", 1)[1] for a in ops - set(READS_BY_ANOTHER_NAME)]
    assert all(n.startswith(READ_PREFIXES) for n in names), names
    assert not [a for a in ops if a.split(":", 1)[1].startswith(WRITE_PREFIXES)]
    assert not [a for a in policy_actions() if "*" in a]


def test_tagging_api_is_allowed_under_its_iam_prefix() -> None:
    """botocore's ``resourcegroupstaggingapi`` is IAM's ``tag``: a policy naming the
    botocore service would grant nothing, and bulk tags would fall back to ListTags."""
    assert "resourcegroupstaggingapi:GetResources" in READ_ONLY_OPERATIONS
    assert iam_action("resourcegroupstaggingapi:GetResources") == "tag:GetResources"
    assert "tag:GetResources" in policy_actions()
    assert not [a for a in policy_actions() if a.startswith("resourcegroupstaggingapi:")]
    assert iam_action("sagemaker:ListTags") == "sagemaker:ListTags"  # others keep their name


def test_every_allowlisted_operation_exists_in_botocore() -> None:
    """A typo in the allowlist would silently refuse a real read (or allow nothing)."""
    session = botocore.session.get_session()
    for op in READ_ONLY_OPERATIONS:
        service, name = op.split(":")
        assert name in session.get_service_model(service).operation_names, op


class RecordingFactory(ClientFactory):
    """Notes every operation actually called, to check the specs declare what they call."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.called: set[str] = set()

    def client(self, service: str, region: str) -> Any:
        made = super().client(service, region)
        made.meta.events.register("provide-client-params", self._note, unique_id="recorder")
        return made

    def _note(self, model: Any, **_: Any) -> None:
        self.called.add(f"{model.service_model.service_name}:{model.name}")


def test_operations_called_in_a_real_collection_are_declared_by_the_specs(aws: Any) -> None:
    aws("iam").create_user(UserName="u")
    aws("route53").create_hosted_zone(
        Name="sagemaker.us-west-2.amazonaws.com",
        CallerReference="z",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": REGION, "VPCId": aws("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]},
    )
    aws("sagemaker").create_notebook_instance(
        NotebookInstanceName="nb",
        InstanceType="ml.t3.medium",
        RoleArn="arn:aws:iam::123456789012:role/r",
    )
    aws("organizations").create_organization(FeatureSet="ALL")
    config = make_config(*[n for n in COLLECTORS if not n.startswith("directconnect")], regions=[])
    factory = RecordingFactory(config)
    snap = collect(config, regions=[REGION], factory=factory)
    assert not snap.failed_outcomes()
    assert "sagemaker:DescribeNotebookInstance" in factory.called
    assert "resourcegroupstaggingapi:GetResources" in factory.called  # the notebook's tags
    assert "organizations:ListParents" in factory.called
    assert factory.called - set(all_operations()) == set()
