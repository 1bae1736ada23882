"""Benchmark: offline evaluation of a large estate — enrichment, every rule, IAM analysis.

The estate: bench_paths's 5,000 roles x 3 policies, plus 500 notebooks spread over 10 VPCs
(each with 5 subnets, a route table per subnet, notebook/API/runtime/Studio endpoints, a
default security group and flow logs), one VpcOnly Studio domain per VPC with 20 user
profiles and 5 spaces, one multi-region trail, and an ok outcome for every collector.
This is what ``scanner scan --snapshot`` does after loading the file.  Run::

    .venv/bin/python benchmarks/bench_scan.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_paths import ACCT, NOTEBOOKS, build_snapshot

from scanner.collectors import COLLECTORS
from scanner.config import Config
from scanner.model.snapshot import GLOBAL_REGION, CollectorOutcome, OutcomeStatus, Snapshot
from scanner.run import evaluate_snapshot

REGION = "us-west-2"
VPCS = 10
SUBNETS_PER_VPC = 5
PROFILES_PER_DOMAIN = 20
SPACES_PER_DOMAIN = 5


def add_network(snap: Snapshot) -> None:
    """VPCs, subnets, route tables, endpoints, groups, flow logs and the notebooks."""

    def add(rtype: str, rid: str, data: dict[str, object]) -> None:
        snap.add(ACCT, REGION, rtype, rid, data)

    for v in range(VPCS):
        vpc = f"vpc-{v:04d}"
        add("ec2:vpc", vpc, {"VpcId": vpc, "EnableDnsSupport": True, "EnableDnsHostnames": True})
        sg = f"sg-default-{v}"
        add(
            "ec2:security-group",
            sg,
            {
                "GroupId": sg,
                "GroupName": "default",
                "VpcId": vpc,
                "IpPermissions": [],
                "IpPermissionsEgress": [],
            },
        )
        add("ec2:flow-log", f"fl-{v}", {"FlowLogId": f"fl-{v}", "ResourceId": vpc})
        for kind, service in (
            ("nb", f"aws.sagemaker.{REGION}.notebook"),
            ("api", f"com.amazonaws.{REGION}.sagemaker.api"),
            ("rt", f"com.amazonaws.{REGION}.sagemaker.runtime"),
            ("st", f"aws.sagemaker.{REGION}.studio"),
        ):
            vpce = f"vpce-{kind}{v:04d}"
            add(
                "ec2:vpc-endpoint",
                vpce,
                {
                    "VpcEndpointId": vpce,
                    "VpcId": vpc,
                    "ServiceName": service,
                    "VpcEndpointType": "Interface",
                    "State": "available",
                    "PrivateDnsEnabled": True,
                    "Groups": [{"GroupId": f"sg-ep-{v}"}],
                    "DnsEntries": [],
                    "PolicyDocument": '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::'
                    + ACCT
                    + ':root"},"Action":"sagemaker:*","Resource":"*"}]}',
                },
            )
        add(
            "ec2:security-group",
            f"sg-ep-{v}",
            {
                "GroupId": f"sg-ep-{v}",
                "GroupName": "ep",
                "VpcId": vpc,
                "IpPermissions": [],
                "IpPermissionsEgress": [],
            },
        )
        for s in range(SUBNETS_PER_VPC):
            subnet = f"subnet-{v:02d}{s:02d}"
            add("ec2:subnet", subnet, {"SubnetId": subnet, "VpcId": vpc})
            add(
                "ec2:route-table",
                f"rtb-{v:02d}{s:02d}",
                {
                    "RouteTableId": f"rtb-{v:02d}{s:02d}",
                    "VpcId": vpc,
                    "Associations": [{"Main": False, "SubnetId": subnet}],
                    "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}],
                },
            )
    for i in range(NOTEBOOKS):
        v, s = i % VPCS, (i // VPCS) % SUBNETS_PER_VPC
        name = f"nb-{i}"
        snap.add(
            ACCT,
            REGION,
            "sagemaker:notebook-instance",
            name,
            {
                "NotebookInstanceName": name,
                "SubnetId": f"subnet-{v:02d}{s:02d}",
                "SecurityGroups": [f"sg-ep-{v}"],
                "DirectInternetAccess": "Disabled",
                "RootAccess": "Disabled",
                "KmsKeyId": "key",
                "Tags": [],
                "NotebookInstanceArn": f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance/{name}",
            },
            arn=f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance/{name}",
        )
    for v in range(VPCS):
        add_domain(snap, v)
    trail = f"arn:aws:cloudtrail:{REGION}:{ACCT}:trail/org"
    snap.add(
        ACCT,
        REGION,
        "cloudtrail:trail",
        trail,
        {"TrailARN": trail, "IsMultiRegionTrail": True, "Status": {"IsLogging": True}},
    )


def add_domain(snap: Snapshot, v: int) -> None:
    """A VpcOnly domain in VPC ``v``'s first subnet, with its user profiles and spaces."""
    domain = f"d-bench{v:04d}"
    arn = f"arn:aws:sagemaker:{REGION}:{ACCT}:domain/{domain}"
    snap.add(
        ACCT,
        REGION,
        "sagemaker:domain",
        domain,
        {
            "DomainId": domain,
            "DomainArn": arn,
            "AuthMode": "IAM",
            "AppNetworkAccessType": "VpcOnly",
            "VpcId": f"vpc-{v:04d}",
            "SubnetIds": [f"subnet-{v:02d}00"],
            "KmsKeyId": "key",
            "DefaultUserSettings": {"SecurityGroups": [f"sg-ep-{v}"]},
            "Tags": [],
        },
        arn=arn,
    )
    for kind, count, name_key in (
        ("user-profile", PROFILES_PER_DOMAIN, "UserProfileName"),
        ("space", SPACES_PER_DOMAIN, "SpaceName"),
    ):
        for i in range(count):
            rid = f"{domain}/{kind}-{i}"
            member_arn = f"arn:aws:sagemaker:{REGION}:{ACCT}:{kind}/{rid}"
            snap.add(
                ACCT,
                REGION,
                f"sagemaker:{kind}",
                rid,
                {"DomainId": domain, name_key: f"{kind}-{i}", "Tags": []},
                arn=member_arn,
            )


def main() -> None:
    started = time.perf_counter()
    snap = build_snapshot()
    snap.regions = [REGION]
    add_network(snap)
    for spec in COLLECTORS.values():
        region = GLOBAL_REGION if spec.is_global else REGION
        snap.record(
            CollectorOutcome(spec.name, ACCT, region, list(spec.resource_types), OutcomeStatus.OK)
        )
    built = time.perf_counter()
    findings = evaluate_snapshot(snap, Config(regions=[REGION]))
    done = time.perf_counter()
    counts = Counter(str(f.status) for f in findings)
    print(
        f"resources: {sum(1 for _ in snap.iter_resources())}, findings: {len(findings)} "
        f"{dict(sorted(counts.items()))}"
    )
    print(f"snapshot build:  {built - started:.2f} s")
    rules = len({f.rule_id for f in findings})
    print(f"evaluation:      {done - built:.2f} s  (enrich + {rules} rules + IAM analysis)")


if __name__ == "__main__":
    main()
