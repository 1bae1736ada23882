"""Shared harness for the scenario tests: seed a compliant baseline, vary one field, scan.

A scenario seeds moto's server through boto3 over HTTP (``scanner.demo.builders``), runs
the real collectors, enrichment and rules, and compares the *exact* PASS/FAIL set of every
issue-2 rule with the baseline's expectation plus the changes the one varied field must
cause.  NOT_APPLICABLE findings are left out of the comparison (they are asserted where a
test means them); an ERROR anywhere fails every scenario.

The baseline is the AWS post's setup with nothing wrong that the seeding can control:
one VPC with the three SageMaker interface endpoints, a closed default security group, a
VPN, flow logs, a notebook ``nb`` in its private subnet, and a multi-region trail that is
logging.  moto's default VPC gets its default group closed too, so it contributes a PASS.
Its only FAIL is ``notebook-imdsv2-required`` (moto drops the IMDS setting; see
``scanner.demo.builders``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pprint import pformat
from typing import Any

from scanner.collectors import collect
from scanner.config import CollectorsConfig, Config, RetryConfig
from scanner.demo.builders import (
    CachedClients,
    VpcHandles,
    account_id,
    build_kms_key,
    build_notebook,
    build_private_vpc,
    build_trail,
    default_security_group,
    set_default_sg_rules,
)
from scanner.demo.seed import ISSUE2_RULES
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import Snapshot

REGION = "us-west-2"
NB = "nb"
# moto's server does not implement Direct Connect (HTTP 500): these collectors are off.
DX_COLLECTORS = ["directconnect-gateway", "directconnect-virtual-interface"]

NOTEBOOK_RULES = (
    "notebook-direct-internet-access-disabled",
    "notebook-in-vpc",
    "notebook-root-access-disabled",
    "notebook-kms-encryption",
    "notebook-imdsv2-required",
    "notebook-subnet-no-internet-route",
)
VPC_ENDPOINT_RULES = {
    "notebook": "vpc-has-sagemaker-notebook-endpoint",
    "api": "vpc-has-sagemaker-api-endpoint",
    "runtime": "vpc-has-sagemaker-runtime-endpoint",
}
PER_ENDPOINT_RULES = (
    "endpoint-available",
    "endpoint-private-dns-resolves",
    "endpoint-security-group-restricted",
    "endpoint-policy-restricted",
)
PER_VPC_RULES = ("vpc-dns-support-enabled", "vpc-private-connectivity", "vpc-flow-logs-enabled")

Expected = dict[str, dict[str, Status]]
"""rule id -> resource id -> PASS or FAIL."""


def scan_config(url: str, **overrides: Any) -> Config:
    """The Config of every scenario: one region, moto's URL, Direct Connect off."""
    settings: dict[str, Any] = {
        "regions": [REGION],
        "endpoint_url": url,
        "collectors": CollectorsConfig(disabled=DX_COLLECTORS),
        # moto's server can answer a rare transient 500 when concurrent calls race inside it;
        # botocore retries 5xx as it would AWS's.
        "retries": RetryConfig(max_attempts=4),
    }
    settings.update(overrides)
    return Config(**settings)


def evaluate(snapshot: Snapshot, config: Config) -> list[Finding]:
    """Rules over a snapshot: the lead's ``evaluate_snapshot`` (load, enrich, evaluate)."""
    from scanner.run import evaluate_snapshot

    return evaluate_snapshot(snapshot, config)


@dataclass
class Scan:
    """A scan's findings, indexed for assertions."""

    snapshot: Snapshot
    findings: list[Finding]

    def status(self) -> dict[str, dict[str, Status]]:
        """Every issue-2 rule's finding statuses by resource id (all statuses)."""
        out: dict[str, dict[str, Status]] = {r: {} for r in ISSUE2_RULES}
        for f in self.findings:
            if f.rule_id in out:
                assert f.resource_id not in out[f.rule_id], (
                    f"two findings for {f.rule_id} {f.resource_id}"
                )
                out[f.rule_id][f.resource_id] = f.status
        return out

    def pass_fail(self) -> Expected:
        """Only the PASS and FAIL findings of the issue-2 rules."""
        return {
            rule: {rid: s for rid, s in found.items() if s in (Status.PASS, Status.FAIL)}
            for rule, found in self.status().items()
        }

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.ERROR]

    def finding(self, rule_id: str, resource_id: str) -> Finding:
        matches = [f for f in self.findings if (f.rule_id, f.resource_id) == (rule_id, resource_id)]
        assert len(matches) == 1, f"{rule_id} on {resource_id}: {len(matches)} findings"
        return matches[0]


def scan(
    url: str,
    *,
    mutate: Callable[[Snapshot], None] | None = None,
    **config_overrides: Any,
) -> Scan:
    """Collect from moto over HTTP, optionally edit the snapshot, evaluate."""
    config = scan_config(url, **config_overrides)
    snapshot = collect(config)
    if mutate is not None:
        mutate(snapshot)
    return Scan(snapshot, evaluate(snapshot, config))


@dataclass
class Baseline:
    """Ids of the seeded baseline, to name resources in expectations."""

    account: str
    vpc: VpcHandles
    default_vpc_sg: str
    kms_key: str
    notebooks: list[str] = field(default_factory=list)

    def expected(self) -> Expected:
        """The baseline's PASS/FAIL set (only imdsv2 FAILs, because of moto)."""
        exp: Expected = {r: {} for r in ISSUE2_RULES}
        for name in self.notebooks:
            for rule in NOTEBOOK_RULES:
                exp[rule][name] = Status.PASS
            exp["notebook-imdsv2-required"][name] = Status.FAIL
        hosts_notebooks = bool(self.notebooks)
        for kind, rule in VPC_ENDPOINT_RULES.items():
            if hosts_notebooks:
                exp[rule][self.vpc.vpc_id] = Status.PASS
            if kind in self.vpc.endpoints:
                for erule in PER_ENDPOINT_RULES:
                    exp[erule][self.vpc.endpoints[kind]] = Status.PASS
        for rule in PER_VPC_RULES:
            if hosts_notebooks or self.vpc.endpoints:
                exp[rule][self.vpc.vpc_id] = Status.PASS
        if not hosts_notebooks:
            exp["vpc-private-connectivity"].pop(self.vpc.vpc_id, None)
        exp["vpc-default-security-group-closed"][self.vpc.default_sg_id] = Status.PASS
        exp["vpc-default-security-group-closed"][self.default_vpc_sg] = Status.PASS
        exp["cloudtrail-multi-region-enabled"][self.account] = Status.PASS
        return exp


def default_vpc_group(make: Any, *, close: bool) -> str:
    """The default group of moto's default VPC (in every moto region), closed if asked."""
    vpcs = make("ec2", REGION).describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])
    vpc_id = vpcs["Vpcs"][0]["VpcId"]
    if close:
        return set_default_sg_rules(make, REGION, vpc_id, "none")
    return default_security_group(make, REGION, vpc_id)


def build_baseline(
    make: Any,
    *,
    vpc: Mapping[str, Any] | None = None,
    notebook: Mapping[str, Any] | None = None,
    trail: Mapping[str, Any] | None = None,
    with_notebook: bool = True,
    with_trail: bool = True,
    close_default_vpc: bool = True,
) -> Baseline:
    """The compliant baseline, with keyword overrides for the VPC, the notebook and the trail."""
    make = CachedClients(make)
    handles = build_private_vpc(make, REGION, **dict(vpc or {}))
    base = Baseline(
        account=account_id(make, REGION),
        vpc=handles,
        default_vpc_sg=default_vpc_group(make, close=close_default_vpc),
        kms_key=build_kms_key(make, REGION),
    )
    if with_notebook:
        add_notebook(make, base, NB, **dict(notebook or {}))
    if with_trail:
        build_trail(make, REGION, **dict(trail or {}))
    return base


def add_notebook(make: Any, base: Baseline, name: str, **overrides: Any) -> None:
    """A compliant notebook in the baseline's private subnet, with one field overridden."""
    kwargs: dict[str, Any] = {
        "subnet_id": base.vpc.subnet_id,
        "sg_ids": [base.vpc.notebook_sg_id],
        "kms_key": base.kms_key,
    }
    kwargs.update(overrides)
    subnet = kwargs.pop("subnet_id")
    groups = kwargs.pop("sg_ids")
    build_notebook(make, REGION, name, subnet, groups, **kwargs)
    base.notebooks.append(name)


def assert_scan(result: Scan, expected: Expected) -> None:
    """No ERROR, and exactly the expected PASS/FAIL set for every issue-2 rule."""
    errors = [(f.rule_id, f.resource_id, f.message) for f in result.errors()]
    assert errors == [], pformat(errors)
    actual = result.pass_fail()
    diffs = {
        rule: {"expected": expected.get(rule, {}), "actual": actual[rule]}
        for rule in ISSUE2_RULES
        if actual[rule] != expected.get(rule, {})
    }
    assert diffs == {}, pformat(diffs)
