"""Benchmark: a year of nightly runs of a 10,000-resource account in the history store.

The issue asks that such a year "must stay small".  The store keeps resources and findings
as versions valid over ranges of runs, with contents deduplicated by hash, so its growth
should follow what *changed*, not what was *scanned*.  This benchmark checks that claim
through the real write path of ``scanner scan`` (``Store.open`` -> ``writing()`` ->
``begin_run`` -> ``save_results`` -> ``finish_run``, once per night, in a fresh ``Store``
as each nightly process would open it).

The estate is synthetic but shaped like AWS's own describe outputs: 6,000 IAM roles
(trust policy, inline policies, attached policies, instance profiles, tags), 2,000
customer-managed policies with their version documents, 200 SageMaker notebooks
(DescribeNotebookInstance + ListTags), 40 VPCs, 400 subnets, 400 route tables, 200
security groups, 120 interface endpoints with their policy as JSON text, a trail with its
GetTrailStatus, and IAM users and groups to make up the total.  About 1.5 findings per
resource, mostly PASS.

Every night the volatile fields AWS changes by itself (``RoleLastUsed``,
``AvailableIpAddressCount``, notebook ``LastModifiedTime``/status, the trail's delivery
times, ``PasswordLastUsed``) change on *every* resource that has them: they are what would
make a naive store copy the estate nightly.  On top, 1% of resources (a fresh random pick
each night) get a real configuration change (a tag value, a policy condition value, a route,
a rule's CIDR, a new policy version) and the findings of those resources change message and,
sometimes, status.

Run::

    .venv/bin/python benchmarks/bench_store.py                 # SQLite in a temp dir
    .venv/bin/python benchmarks/bench_store.py --pg            # a fresh PostgreSQL schema
    .venv/bin/python benchmarks/bench_store.py --runs 30 --resources 2000

It prints a table of figures and, last, one JSON line to quote in the README.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import secrets
import statistics
import string
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from scanner.collectors import COLLECTORS
from scanner.history import schema as t
from scanner.history.canonical import canonical_bytes
from scanner.history.database import sqlite_path
from scanner.history.drift import Side, drift, summary
from scanner.history.store import Store
from scanner.history.verify import verify
from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import GLOBAL_REGION, CollectorOutcome, OutcomeStatus, Snapshot

ACCT = "111122223333"
REGION = "us-west-2"
AZS = ("us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d")
START = datetime(2025, 1, 1, 2, 0, tzinfo=UTC)  # the first night's scan
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
MB = 1_000_000
FAIL_PERCENT = 8  # share of FAIL findings: "mostly PASS with some FAIL"

# How a 10,000-resource account splits by type; other totals scale it (users fill the rest).
MIX: dict[str, int] = {
    "iam:role": 6000,
    "iam:policy": 2000,
    "sagemaker:notebook-instance": 200,
    "ec2:vpc": 40,
    "ec2:subnet": 400,
    "ec2:route-table": 400,
    "ec2:security-group": 200,
    "ec2:vpc-endpoint": 120,
    "cloudtrail:trail": 1,
    "iam:group": 100,
}

# Rules per resource type (the real rule ids), about 1.5 findings per resource.
RULES: dict[str, tuple[str, ...]] = {
    "iam:role": (
        "iam-presigned-url-requires-vpc-endpoint",
        "iam-notebook-api-requires-vpc-endpoint",
    ),
    "iam:user": ("iam-presigned-url-requires-vpc-endpoint",),
    "iam:group": ("iam-presigned-url-requires-vpc-endpoint",),
    "iam:policy": ("iam-vpce-condition-references-known-endpoints",),
    "sagemaker:notebook-instance": (
        "notebook-direct-internet-access-disabled",
        "notebook-in-vpc",
        "notebook-root-access-disabled",
        "notebook-kms-encryption",
        "notebook-imdsv2-required",
        "notebook-subnet-no-internet-route",
    ),
    "ec2:vpc": (
        "vpc-has-sagemaker-notebook-endpoint",
        "vpc-has-sagemaker-api-endpoint",
        "vpc-has-sagemaker-runtime-endpoint",
        "vpc-dns-support-enabled",
        "vpc-default-security-group-closed",
        "vpc-flow-logs-enabled",
    ),
    "ec2:vpc-endpoint": (
        "endpoint-available",
        "endpoint-private-dns-resolves",
        "endpoint-security-group-restricted",
        "endpoint-policy-restricted",
    ),
    "cloudtrail:trail": ("cloudtrail-multi-region-enabled",),
}
SEVERITY: dict[str, Severity] = {
    "iam-presigned-url-requires-vpc-endpoint": Severity.HIGH,
    "iam-notebook-api-requires-vpc-endpoint": Severity.MEDIUM,
    "notebook-direct-internet-access-disabled": Severity.CRITICAL,
    "notebook-root-access-disabled": Severity.MEDIUM,
    "cloudtrail-multi-region-enabled": Severity.HIGH,
}

ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:DeleteObject",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sns:Publish",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParametersByPath",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "cloudwatch:PutMetricData",
    "lambda:InvokeFunction",
    "sagemaker:DescribeNotebookInstance",
    "sagemaker:ListNotebookInstances",
    "sagemaker:CreatePresignedNotebookInstanceUrl",
    "sts:AssumeRole",
    "glue:GetTable",
    "athena:StartQueryExecution",
)
SERVICES = ("ec2", "lambda", "sagemaker", "ecs-tasks", "glue", "states", "events", "codebuild")


# -- random values shaped like AWS's ----------------------------------------------------


def _hex(rng: random.Random, n: int = 17) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.ascii_uppercase + string.digits, k=n))


def _iam_id(rng: random.Random, prefix: str) -> str:
    return prefix + _alnum(rng, 17)


def _past(rng: random.Random) -> str:
    """A creation date some time before the benchmark's year (jsonable's isoformat)."""
    return (START - timedelta(seconds=rng.randrange(30, 2000) * 86400)).isoformat()


def _at(when: datetime) -> str:
    return when.isoformat()


def _tags(rng: random.Random, n: int) -> list[dict[str, str]]:
    keys = ("Name", "Owner", "CostCenter", "Environment", "Project", "DataClassification")
    return [
        {"Key": k, "Value": f"{k.lower()}-{rng.randrange(1000)}"}
        for k in rng.sample(keys, min(n, len(keys)))
    ]


def _vpce(rng: random.Random) -> str:
    return f"vpce-{_hex(rng)}"


# Condition templates: (operator, key, fresh value).  A real change re-draws the value.
CONDITIONS: tuple[tuple[str, str, Callable[[random.Random], Any]], ...] = (
    ("StringEquals", "aws:SourceVpce", lambda rng: [_vpce(rng), _vpce(rng)]),
    ("StringEquals", "aws:PrincipalOrgID", lambda rng: f"o-{_alnum(rng, 10).lower()}"),
    ("IpAddress", "aws:SourceIp", lambda rng: [f"10.{rng.randrange(256)}.0.0/16"]),
    ("StringLike", "s3:prefix", lambda rng: [f"team-{rng.randrange(1000)}/*", "shared/*"]),
    ("StringEquals", "aws:RequestedRegion", lambda rng: rng.choice(["us-west-2", "us-east-1"])),
)


def _condition(rng: random.Random) -> dict[str, dict[str, Any]]:
    op, key, value = rng.choice(CONDITIONS)
    return {op: {key: value(rng)}}


def _resource_arns(rng: random.Random) -> list[str] | str:
    kind = rng.randrange(5)
    if kind == 0:
        return "*"
    if kind == 1:
        bucket = f"data-{_hex(rng, 8)}"
        return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    if kind == 2:
        return f"arn:aws:dynamodb:{REGION}:{ACCT}:table/t-{_hex(rng, 6)}"
    if kind == 3:
        return f"arn:aws:logs:{REGION}:{ACCT}:log-group:/aws/sagemaker/*"
    return f"arn:aws:kms:{REGION}:{ACCT}:key/{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 12)}"


def _statement(rng: random.Random, sid: int, *, conditioned: bool = False) -> dict[str, Any]:
    actions = rng.sample(ACTIONS, rng.randint(1, 6))
    stmt: dict[str, Any] = {
        "Sid": f"Stmt{sid}{rng.randrange(10**6)}",
        "Effect": "Allow" if conditioned or rng.random() < 0.9 else "Deny",
        "Action": actions if len(actions) > 1 else actions[0],
        "Resource": _resource_arns(rng),
    }
    if conditioned or rng.random() < 0.3:
        stmt["Condition"] = _condition(rng)
    return stmt


def _document(rng: random.Random, lo: int, hi: int) -> dict[str, Any]:
    """A policy document whose first statement always has a condition (what changes)."""
    n = rng.randint(lo, hi)
    return {
        "Version": "2012-10-17",
        "Statement": [_statement(rng, i, conditioned=i == 0) for i in range(n)],
    }


def _redraw_condition(doc: dict[str, Any], rng: random.Random) -> str:
    """Give the first statement's condition a new value; the new value, as text."""
    cond = doc["Statement"][0]["Condition"]
    op = next(iter(cond))
    key = next(iter(cond[op]))
    maker = next(m for o, k, m in CONDITIONS if (o, k) == (op, key))
    old = cond[op][key]
    new = maker(rng)
    while new == old:
        new = maker(rng)
    cond[op][key] = new
    return f"{key}={new}"


def _set_tag(tags: list[dict[str, str]], rng: random.Random) -> str:
    tag = rng.choice(tags)
    tag["Value"] = f"{tag['Key'].lower()}-{rng.randrange(10**6)}"
    return f"tag {tag['Key']}={tag['Value']}"


# -- the estate -------------------------------------------------------------------------


@dataclass
class Item:
    """One resource of the synthetic account, and what its findings quote."""

    region: str
    rtype: str
    rid: str
    arn: str | None
    data: dict[str, Any]
    rules: tuple[str, ...]
    rev: int = 0  # bumped by every real change: its findings follow it
    note: str = "as created"  # the last change, quoted in its findings' messages
    findings: list[dict[str, Any]] = field(default_factory=list)


class Estate:
    """The account: built once, then aged night by night (volatile fields, real changes)."""

    def __init__(self, total: int, rng: random.Random) -> None:
        self.rng = rng
        self.items: list[Item] = []
        self.by_type: dict[str, list[Item]] = {}
        # Ids the builders cross-reference (a subnet's VPC, a notebook's group...).
        self.vpcs: list[str] = []
        self.subnets: list[tuple[str, str]] = []  # (subnet, its VPC)
        self.groups: list[str] = []
        self.policies: list[tuple[str, str]] = []  # (name, ARN)
        self.group_names: list[str] = []
        scale = total / 10_000
        counts = {k: max(1, round(v * scale)) for k, v in MIX.items()}
        counts["cloudtrail:trail"] = 1
        counts["iam:user"] = max(1, total - sum(counts.values()))
        builders: tuple[tuple[str, Callable[[int], None]], ...] = (
            ("ec2:vpc", self._vpc),
            ("ec2:subnet", self._subnet),
            ("ec2:route-table", self._route_table),
            ("ec2:security-group", self._security_group),
            ("ec2:vpc-endpoint", self._endpoint),
            ("sagemaker:notebook-instance", self._notebook),
            ("cloudtrail:trail", self._trail),
            ("iam:policy", self._policy),
            ("iam:role", self._role),
            ("iam:group", self._group),
            ("iam:user", self._user),
        )
        for rtype, build in builders:
            for n in range(counts[rtype]):
                build(n)
        for item in self.items:
            self.by_type.setdefault(item.rtype, []).append(item)
            self._findings(item)

    def _add(
        self,
        rtype: str,
        rid: str,
        data: dict[str, Any],
        arn: str | None,
        rules: tuple[str, ...] | None = None,
    ) -> Item:
        region = GLOBAL_REGION if rtype.startswith("iam:") else REGION
        item = Item(region, rtype, rid, arn, data, RULES.get(rtype, ()) if rules is None else rules)
        self.items.append(item)
        return item

    # -- building ----------------------------------------------------------------------
    def _vpc(self, v: int) -> None:
        rng = self.rng
        vpc = f"vpc-{_hex(rng)}"
        self.vpcs.append(vpc)
        cidr = f"10.{v % 256}.0.0/16"
        self._add(
            "ec2:vpc",
            vpc,
            {
                "CidrBlock": cidr,
                "DhcpOptionsId": f"dopt-{_hex(rng)}",
                "State": "available",
                "VpcId": vpc,
                "OwnerId": ACCT,
                "InstanceTenancy": "default",
                "CidrBlockAssociationSet": [
                    {
                        "AssociationId": f"vpc-cidr-assoc-{_hex(rng)}",
                        "CidrBlock": cidr,
                        "CidrBlockState": {"State": "associated"},
                    }
                ],
                "IsDefault": False,
                "Tags": _tags(rng, 3),
                "EnableDnsSupport": True,
                "EnableDnsHostnames": True,
            },
            f"arn:aws:ec2:{REGION}:{ACCT}:vpc/{vpc}",
        )

    def _subnet(self, s: int) -> None:
        rng = self.rng
        subnet, vpc = f"subnet-{_hex(rng)}", self.vpcs[s % len(self.vpcs)]
        self.subnets.append((subnet, vpc))
        az = AZS[s % len(AZS)]
        arn = f"arn:aws:ec2:{REGION}:{ACCT}:subnet/{subnet}"
        self._add(
            "ec2:subnet",
            subnet,
            {
                "AvailabilityZone": az,
                "AvailabilityZoneId": f"usw2-az{AZS.index(az) + 1}",
                "AvailableIpAddressCount": rng.randrange(50, 250),
                "CidrBlock": f"10.{(s // 10) % 256}.{(s % 10) * 16}.0/20",
                "DefaultForAz": False,
                "MapPublicIpOnLaunch": False,
                "MapCustomerOwnedIpOnLaunch": False,
                "State": "available",
                "SubnetId": subnet,
                "VpcId": vpc,
                "OwnerId": ACCT,
                "AssignIpv6AddressOnCreation": False,
                "Ipv6CidrBlockAssociationSet": [],
                "Tags": _tags(rng, 3),
                "SubnetArn": arn,
                "EnableDns64": False,
                "Ipv6Native": False,
                "PrivateDnsNameOptionsOnLaunch": {
                    "HostnameType": "ip-name",
                    "EnableResourceNameDnsARecord": False,
                    "EnableResourceNameDnsAAAARecord": False,
                },
            },
            arn,
        )

    def _route_table(self, r: int) -> None:
        rng = self.rng
        rtb = f"rtb-{_hex(rng)}"
        subnet, vpc = self.subnets[r % len(self.subnets)]
        routes: list[dict[str, Any]] = [
            {
                "DestinationCidrBlock": "10.0.0.0/8",
                "GatewayId": "local",
                "Origin": "CreateRouteTable",
                "State": "active",
            }
        ]
        routes += [self.new_route(f"172.{16 + k}.0.0/16") for k in range(rng.randint(1, 5))]
        self._add(
            "ec2:route-table",
            rtb,
            {
                "Associations": [
                    {
                        "Main": False,
                        "RouteTableAssociationId": f"rtbassoc-{_hex(rng)}",
                        "RouteTableId": rtb,
                        "SubnetId": subnet,
                        "AssociationState": {"State": "associated"},
                    }
                ],
                "PropagatingVgws": [],
                "RouteTableId": rtb,
                "Routes": routes,
                "Tags": _tags(rng, 2),
                "VpcId": vpc,
                "OwnerId": ACCT,
            },
            f"arn:aws:ec2:{REGION}:{ACCT}:route-table/{rtb}",
        )

    def _security_group(self, g: int) -> None:
        rng = self.rng
        sg = f"sg-{_hex(rng)}"
        self.groups.append(sg)
        self._add(
            "ec2:security-group",
            sg,
            {
                "Description": f"security group {g}",
                "GroupName": f"sg-{g}",
                "IpPermissions": [self._rule(rng) for _ in range(rng.randint(1, 6))],
                "OwnerId": ACCT,
                "GroupId": sg,
                "IpPermissionsEgress": [
                    {
                        "IpProtocol": "-1",
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                        "Ipv6Ranges": [],
                        "PrefixListIds": [],
                        "UserIdGroupPairs": [],
                    }
                ],
                "Tags": _tags(rng, 2),
                "VpcId": self.vpcs[g % len(self.vpcs)],
            },
            f"arn:aws:ec2:{REGION}:{ACCT}:security-group/{sg}",
        )

    def _endpoint(self, e: int) -> None:
        """The notebook, API and runtime endpoints of one VPC after another."""
        rng = self.rng
        services = (
            f"aws.sagemaker.{REGION}.notebook",
            f"com.amazonaws.{REGION}.sagemaker.api",
            f"com.amazonaws.{REGION}.sagemaker.runtime",
        )
        vpc = self.vpcs[(e // 3) % len(self.vpcs)]
        vpce, service = _vpce(rng), services[e % 3]
        policy = {
            "Version": "2008-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "sagemaker:*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}},
                }
            ],
        }
        self._add(
            "ec2:vpc-endpoint",
            vpce,
            {
                "VpcEndpointId": vpce,
                "VpcEndpointType": "Interface",
                "VpcId": vpc,
                "ServiceName": service,
                "State": "available",
                # AWS returns it as pretty-printed JSON text.
                "PolicyDocument": json.dumps(policy, indent=2),
                "RouteTableIds": [],
                "SubnetIds": [s for s, v in self.subnets if v == vpc][:3],
                "Groups": [{"GroupId": self.groups[e % len(self.groups)], "GroupName": f"sg-{e}"}],
                "IpAddressType": "ipv4",
                "DnsOptions": {"DnsRecordIpType": "ipv4"},
                "PrivateDnsEnabled": True,
                "RequesterManaged": False,
                "NetworkInterfaceIds": [f"eni-{_hex(rng)}" for _ in range(3)],
                "DnsEntries": [
                    {
                        "DnsName": f"{vpce}-{_hex(rng, 8)}{suffix}.{service}.vpce.amazonaws.com",
                        "HostedZoneId": "Z1YSA3EXCYUU9Z",
                    }
                    for suffix in ("", "-us-west-2a", "-us-west-2b", "-us-west-2c")
                ],
                "CreationTimestamp": _past(rng),
                "Tags": _tags(rng, 2),
                "OwnerId": ACCT,
            },
            f"arn:aws:ec2:{REGION}:{ACCT}:vpc-endpoint/{vpce}",
        )

    def _notebook(self, n: int) -> None:
        """DescribeNotebookInstance's answer plus ListTags, as the collector stores it."""
        rng = self.rng
        name = f"nb-{n:04d}-{_hex(rng, 4)}"
        subnet, _vpc = self.subnets[n % len(self.subnets)]
        arn = f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance/{name}"
        self._add(
            "sagemaker:notebook-instance",
            name,
            {
                "NotebookInstanceArn": arn,
                "NotebookInstanceName": name,
                "NotebookInstanceStatus": "InService",
                "Url": f"{name}.notebook.{REGION}.sagemaker.aws",
                "InstanceType": rng.choice(["ml.t3.medium", "ml.m5.xlarge", "ml.g4dn.xlarge"]),
                "SubnetId": subnet,
                "SecurityGroups": [self.groups[n % len(self.groups)]],
                "RoleArn": f"arn:aws:iam::{ACCT}:role/sagemaker-exec-{n % 50}",
                "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCT}:key/{_hex(rng, 8)}",
                "NetworkInterfaceId": f"eni-{_hex(rng)}",
                "LastModifiedTime": _past(rng),
                "CreationTime": _past(rng),
                "NotebookInstanceLifecycleConfigName": "auto-stop-idle",
                "DirectInternetAccess": "Disabled",
                "VolumeSizeInGB": rng.choice([5, 20, 50]),
                "DefaultCodeRepository": f"https://github.com/example/repo-{n % 30}",
                "RootAccess": "Disabled",
                "PlatformIdentifier": "notebook-al2-v2",
                "InstanceMetadataServiceConfiguration": {
                    "MinimumInstanceMetadataServiceVersion": "2"
                },
                "Tags": _tags(rng, 4),
            },
            arn,
        )

    def _trail(self, n: int) -> None:
        """DescribeTrails' trail with GetTrailStatus under ``Status``."""
        rng = self.rng
        trail = f"arn:aws:cloudtrail:{REGION}:{ACCT}:trail/org-trail-{n}"
        self._add(
            "cloudtrail:trail",
            trail,
            {
                "Name": f"org-trail-{n}",
                "S3BucketName": f"cloudtrail-{ACCT}",
                "S3KeyPrefix": "org",
                "IncludeGlobalServiceEvents": True,
                "IsMultiRegionTrail": True,
                "HomeRegion": REGION,
                "TrailARN": trail,
                "LogFileValidationEnabled": True,
                "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{REGION}:{ACCT}:log-group:trail:*",
                "CloudWatchLogsRoleArn": f"arn:aws:iam::{ACCT}:role/trail-to-logs",
                "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCT}:key/{_hex(rng, 8)}",
                "HasCustomEventSelectors": False,
                "HasInsightSelectors": False,
                "IsOrganizationTrail": False,
                "Status": {
                    "IsLogging": True,
                    "StartLoggingTime": _past(rng),
                    "TimeLoggingStarted": _past(rng),
                    "LatestDeliveryAttemptSucceeded": "",
                    "LatestNotificationAttemptSucceeded": "",
                },
            },
            trail,
        )

    def new_route(self, cidr: str) -> dict[str, Any]:
        """A route to a transit gateway, NAT gateway or peering: what a route change edits."""
        rng = self.rng
        target = rng.choice(
            [
                ("TransitGatewayId", f"tgw-{_hex(rng)}"),
                ("NatGatewayId", f"nat-{_hex(rng)}"),
                ("VpcPeeringConnectionId", f"pcx-{_hex(rng)}"),
            ]
        )
        return {
            "DestinationCidrBlock": cidr,
            target[0]: target[1],
            "Origin": "CreateRoute",
            "State": "active",
        }

    @staticmethod
    def _rule(rng: random.Random) -> dict[str, Any]:
        port = rng.choice([22, 443, 8443, 5432, 3306, 2049, 8888])
        return {
            "FromPort": port,
            "IpProtocol": "tcp",
            "IpRanges": [
                {"CidrIp": f"10.{rng.randrange(256)}.0.0/16", "Description": f"from app {port}"}
            ],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
            "ToPort": port,
            "UserIdGroupPairs": [],
        }

    def _policy(self, p: int) -> None:
        """A customer-managed policy as GetAccountAuthorizationDetails lists it."""
        rng = self.rng
        name = f"policy-{p:04d}-{_alnum(rng, 4).lower()}"
        arn = f"arn:aws:iam::{ACCT}:policy/{name}"
        self.policies.append((name, arn))
        created = _past(rng)
        versions = [
            {
                "Document": _document(rng, 2, 8),
                "VersionId": f"v{v + 1}",
                "IsDefaultVersion": False,
                "CreateDate": created,
            }
            for v in range(rng.randint(1, 3))
        ]
        versions[-1]["IsDefaultVersion"] = True
        self._add(
            "iam:policy",
            arn,
            {
                "PolicyName": name,
                "PolicyId": _iam_id(rng, "ANPA"),
                "Arn": arn,
                "Path": "/",
                "DefaultVersionId": versions[-1]["VersionId"],
                "AttachmentCount": rng.randint(0, 12),
                "PermissionsBoundaryUsageCount": 0,
                "IsAttachable": True,
                "CreateDate": created,
                "UpdateDate": created,
                "PolicyVersionList": versions,
            },
            arn,
        )

    def _role(self, r: int) -> None:
        """A GetAccountAuthorizationDetails role (documents decoded, as the collector does)."""
        rng = self.rng
        name = f"role-{r:04d}-{_alnum(rng, 4).lower()}"
        arn = f"arn:aws:iam::{ACCT}:role/{name}"
        role_id = _iam_id(rng, "AROA")
        created = _past(rng)
        trust: dict[str, Any] = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{rng.choice(SERVICES)}.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        if rng.random() < 0.3:
            trust["Statement"].append(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{rng.randrange(10**12):012d}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": _hex(rng, 12)}},
                }
            )
        data: dict[str, Any] = {
            "Path": "/service-role/" if rng.random() < 0.4 else "/",
            "RoleName": name,
            "RoleId": role_id,
            "Arn": arn,
            "CreateDate": created,
            "AssumeRolePolicyDocument": trust,
            "InstanceProfileList": [],
            "RolePolicyList": [
                {"PolicyName": f"inline-{k}", "PolicyDocument": _document(rng, 1, 4)}
                for k in range(rng.randint(1, 3))
            ],
            "AttachedManagedPolicies": [
                {"PolicyName": n, "PolicyArn": a}
                for n, a in rng.sample(self.policies, min(len(self.policies), rng.randint(0, 4)))
            ],
            "Tags": _tags(rng, rng.randint(0, 4)),
            "RoleLastUsed": {},
        }
        if rng.random() < 0.25:  # EC2 roles come with their instance profile
            data["InstanceProfileList"] = [
                {
                    "Path": "/",
                    "InstanceProfileName": name,
                    "InstanceProfileId": _iam_id(rng, "AIPA"),
                    "Arn": f"arn:aws:iam::{ACCT}:instance-profile/{name}",
                    "CreateDate": created,
                    "Roles": [
                        {
                            "Path": "/",
                            "RoleName": name,
                            "RoleId": role_id,
                            "Arn": arn,
                            "CreateDate": created,
                            "AssumeRolePolicyDocument": copy.deepcopy(trust),
                        }
                    ],
                }
            ]
        rules = RULES["iam:role"] if r % 4 != 3 else RULES["iam:role"][:1]
        self._add("iam:role", arn, data, arn, rules)

    def _group(self, g: int) -> None:
        rng = self.rng
        name = f"group-{g:03d}"
        self.group_names.append(name)
        arn = f"arn:aws:iam::{ACCT}:group/{name}"
        self._add(
            "iam:group",
            arn,
            {
                "Path": "/",
                "GroupName": name,
                "GroupId": _iam_id(rng, "AGPA"),
                "Arn": arn,
                "CreateDate": _past(rng),
                "GroupPolicyList": [
                    {"PolicyName": "group-inline", "PolicyDocument": _document(rng, 1, 3)}
                ],
                "AttachedManagedPolicies": [
                    {"PolicyName": n, "PolicyArn": a}
                    for n, a in rng.sample(self.policies, min(len(self.policies), 2))
                ],
            },
            arn,
        )

    def _user(self, u: int) -> None:
        rng = self.rng
        name = f"user-{u:04d}"
        arn = f"arn:aws:iam::{ACCT}:user/{name}"
        data = {
            "Path": "/",
            "UserName": name,
            "UserId": _iam_id(rng, "AIDA"),
            "Arn": arn,
            "CreateDate": _past(rng),
            "UserPolicyList": [],
            "GroupList": rng.sample(self.group_names, min(len(self.group_names), 2)),
            "AttachedManagedPolicies": [],
            "Tags": _tags(rng, 2),
        }
        if u % 3 == 0:  # console users
            data["PasswordLastUsed"] = _past(rng)
        self._add("iam:user", arn, data, arn)

    # -- ageing ------------------------------------------------------------------------
    def volatile(self, when: datetime) -> None:
        """What AWS changes by itself overnight: on every resource that has such a field."""
        rng = self.rng
        for item in self.by_type.get("iam:role", []):
            used = when - timedelta(minutes=rng.randrange(1, 1440))
            item.data["RoleLastUsed"] = {"LastUsedDate": _at(used), "Region": REGION}
        for item in self.by_type.get("iam:user", []):
            if "PasswordLastUsed" in item.data:
                item.data["PasswordLastUsed"] = _at(when - timedelta(minutes=rng.randrange(1440)))
        for item in self.by_type.get("ec2:subnet", []):
            item.data["AvailableIpAddressCount"] = rng.randrange(50, 250)
        for item in self.by_type.get("sagemaker:notebook-instance", []):
            item.data["LastModifiedTime"] = _at(when - timedelta(hours=rng.randrange(1, 20)))
            item.data["NotebookInstanceStatus"] = rng.choice(["InService", "Stopped"])
        for item in self.by_type.get("cloudtrail:trail", []):
            status = item.data["Status"]
            for key in (
                "LatestDeliveryTime",
                "LatestDigestDeliveryTime",
                "LatestNotificationTime",
                "LatestCloudWatchLogsDeliveryTime",
                "LatestDeliveryAttemptTime",
                "LatestNotificationAttemptTime",
            ):
                status[key] = _at(when - timedelta(seconds=rng.randrange(900)))

    def change(self, share: float, when: datetime) -> list[Item]:
        """A real configuration change on ``share`` of the resources (a new random pick)."""
        picked = self.rng.sample(self.items, max(1, round(len(self.items) * share)))
        for item in picked:
            item.note = CHANGES[item.rtype](self, item, when)
            item.rev += 1
            self._findings(item)
        return picked

    def _findings(self, item: Item) -> None:
        """The finding fields of one resource: stable until the resource changes."""
        item.findings = []
        for rule in item.rules:
            roll = zlib.crc32(f"{rule}|{item.rid}|{item.rev}".encode()) % 100
            status = Status.FAIL if roll < FAIL_PERCENT else Status.PASS
            verdict = "violates" if status is Status.FAIL else "satisfies"
            item.findings.append(
                {
                    "rule_id": rule,
                    "status": status,
                    "severity": SEVERITY.get(rule, Severity.LOW),
                    "account_id": ACCT,
                    "region": item.region,
                    "resource_type": item.rtype,
                    "resource_id": item.rid,
                    "title": rule.replace("-", " ").capitalize(),
                    "message": f"{item.rtype} {item.rid} {verdict} {rule} ({item.note})",
                    "resource_arn": item.arn,
                    # Small, and the resource's own, as a rule's evidence is.
                    "evidence": {"resource": item.rid, "observed": item.note, "rev": item.rev},
                    "frameworks": {"nist-800-53": ["AC-4", "SC-7"], "iso-27001": ["A.13.1.3"]},
                    "remediation": {"summary": f"See the {rule} rule's documentation."},
                }
            )

    # -- one night's scan ----------------------------------------------------------------
    def record(self, run_id: str, when: datetime) -> RunRecord:
        """The night's :class:`RunRecord`, as ``scanner.run._scan`` hands it to the store."""
        rng = self.rng
        started, finished = _z(when), _z(when + timedelta(minutes=7))
        snap = Snapshot(accounts=[ACCT], regions=[REGION], started_at=started, finished_at=finished)
        for item in self.items:
            snap.add(ACCT, item.region, item.rtype, item.rid, item.data, item.arn)
        for spec in COLLECTORS.values():
            region = GLOBAL_REGION if spec.is_global else REGION
            count = sum(len(self.by_type.get(rt, [])) for rt in spec.resource_types)
            snap.record(
                CollectorOutcome(
                    spec.name,
                    ACCT,
                    region,
                    list(spec.resource_types),
                    OutcomeStatus.OK,
                    resource_count=count,
                    duration_s=round(rng.uniform(0.2, 30.0), 3),
                )
            )
        # Fresh Finding objects every night, as a scan builds them (fingerprints recomputed).
        findings = [Finding(**f) for item in self.items for f in item.findings]
        return RunRecord(
            run_id=run_id,
            snapshot=snap,
            findings=findings,
            started_at=started,
            finished_at=finished,
            fail_on=Severity.HIGH,
            rulepack_version="bench-1",
            config_hash="0" * 64,
        )


def _z(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the real changes, by resource type ------------------------------------------------


def _change_role(estate: Estate, item: Item, when: datetime) -> str:
    return _redraw_condition(item.data["RolePolicyList"][0]["PolicyDocument"], estate.rng)


def _change_group(estate: Estate, item: Item, when: datetime) -> str:
    return _redraw_condition(item.data["GroupPolicyList"][0]["PolicyDocument"], estate.rng)


def _change_policy(estate: Estate, item: Item, when: datetime) -> str:
    """A new default version with a changed condition (IAM keeps at most five)."""
    data = item.data
    versions = data["PolicyVersionList"]
    default = next(v for v in versions if v["IsDefaultVersion"])
    doc = copy.deepcopy(default["Document"])
    note = _redraw_condition(doc, estate.rng)
    number = max(int(v["VersionId"][1:]) for v in versions) + 1
    for v in versions:
        v["IsDefaultVersion"] = False
    versions.append(
        {
            "Document": doc,
            "VersionId": f"v{number}",
            "IsDefaultVersion": True,
            "CreateDate": _at(when),
        }
    )
    if len(versions) > 5:
        versions.pop(0)
    data["DefaultVersionId"] = f"v{number}"
    data["UpdateDate"] = _at(when)
    return f"v{number}: {note}"


def _change_tags(estate: Estate, item: Item, when: datetime) -> str:
    tags = item.data.setdefault("Tags", [])
    if not tags:
        tags.extend(_tags(estate.rng, 1))
    return _set_tag(tags, estate.rng)


def _change_route(estate: Estate, item: Item, when: datetime) -> str:
    """Retarget a route, or add one (route tables stay at most eight routes long)."""
    routes = item.data["Routes"]
    if len(routes) < 8 and estate.rng.random() < 0.5:
        route = estate.new_route(f"192.168.{estate.rng.randrange(256)}.0/24")
        routes.append(route)
    else:
        i = estate.rng.randrange(1, len(routes)) if len(routes) > 1 else 0
        route = estate.new_route(routes[i]["DestinationCidrBlock"])
        routes[i] = route
    target = next(v for k, v in route.items() if k.endswith("Id"))
    return f"route {route['DestinationCidrBlock']} -> {target}"


def _change_security_group(estate: Estate, item: Item, when: datetime) -> str:
    rule = estate.rng.choice(item.data["IpPermissions"])
    cidr = f"10.{estate.rng.randrange(256)}.{estate.rng.randrange(256)}.0/24"
    rule["IpRanges"][0]["CidrIp"] = cidr
    return f"port {rule['FromPort']} from {cidr}"


def _change_endpoint(estate: Estate, item: Item, when: datetime) -> str:
    policy = json.loads(item.data["PolicyDocument"])
    org = f"o-{_alnum(estate.rng, 10).lower()}"
    policy["Statement"][0]["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": org}}
    item.data["PolicyDocument"] = json.dumps(policy, indent=2)
    return f"aws:PrincipalOrgID={org}"


def _change_trail(estate: Estate, item: Item, when: datetime) -> str:
    item.data["LogFileValidationEnabled"] = not item.data["LogFileValidationEnabled"]
    return f"LogFileValidationEnabled={item.data['LogFileValidationEnabled']}"


CHANGES: dict[str, Callable[[Estate, Item, datetime], str]] = {
    "iam:role": _change_role,
    "iam:group": _change_group,
    "iam:policy": _change_policy,
    "iam:user": _change_tags,
    "sagemaker:notebook-instance": _change_tags,
    "ec2:vpc": _change_tags,
    "ec2:subnet": _change_tags,
    "ec2:route-table": _change_route,
    "ec2:security-group": _change_security_group,
    "ec2:vpc-endpoint": _change_endpoint,
    "cloudtrail:trail": _change_trail,
}


# -- the store ---------------------------------------------------------------------------


def write_night(url: str, record: RunRecord) -> float:
    """One nightly scan's store writes, as ``scanner.run.run`` makes them; seconds taken.

    A fresh :class:`Store` each night: every nightly scan is a new process that opens
    (and checks the revision of) the store, takes the writer lock and reconciles.
    """
    started = time.perf_counter()
    with Store.open(url) as store, store.writing():
        store.begin_run(
            record.run_id,
            started_at=record.started_at,
            source="collect",
            fail_on=record.fail_on,
            config_hash=record.config_hash,
            rulepack_version=record.rulepack_version,
        )
        store.save_results(record)
        store.finish_run(record)
    return time.perf_counter() - started


def store_bytes(store: Store) -> int:
    """Bytes the store occupies now.

    SQLite: the database file plus its WAL after ``PRAGMA wal_checkpoint(TRUNCATE)`` (the
    WAL alone would otherwise count pages twice, or hide them).  PostgreSQL: the sum of
    ``pg_total_relation_size`` (heap, TOAST and indexes) over the tables in the store's
    schema.
    """
    path = sqlite_path(store.url)
    with store.engine.connect() as conn:
        if store.url.get_backend_name() == "postgresql":
            return int(
                conn.execute(
                    sa.text(
                        "SELECT COALESCE(SUM(pg_total_relation_size("
                        "format('%I.%I', schemaname, tablename)::regclass)), 0) "
                        "FROM pg_tables WHERE schemaname = current_schema()"
                    )
                ).scalar_one()
            )
        busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
        if busy:
            print("warning: WAL checkpoint was blocked by a reader", file=sys.stderr)
        if path is None:  # in-memory SQLite
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            return int(pages) * int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def measure(url: str) -> int:
    with Store.open(url) as store:
        return store_bytes(store)


def row_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        counts = {
            table.name: int(
                conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            )
            for table in (t.resource_versions, t.finding_versions, t.blobs)
        }
        packed, raw = conn.execute(
            sa.select(sa.func.sum(sa.func.length(t.blobs.c.body)), sa.func.sum(t.blobs.c.size))
        ).one()
    counts["blob_bytes_zlib"] = int(packed or 0)
    counts["blob_bytes_raw"] = int(raw or 0)
    return counts


def table_mb(store: Store) -> dict[str, float]:
    """MB per table, indexes included: where the bytes go (SQLite ``dbstat``, PostgreSQL
    ``pg_total_relation_size``)."""
    if store.url.get_backend_name() == "postgresql":
        query = (
            "SELECT tablename, pg_total_relation_size(format('%I.%I', schemaname, tablename)"
            "::regclass) FROM pg_tables WHERE schemaname = current_schema()"
        )
    else:
        query = (
            "SELECT COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d "
            "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
        )
    with store.engine.connect() as conn:
        sizes = {str(name): int(size) / MB for name, size in conn.execute(sa.text(query))}
    return {k: round(v, 2) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1]) if v >= 0.01}


@contextmanager
def pg_schema(admin: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for the run, dropped afterwards; yields the store URL."""
    schema = f"bench_store_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(admin).set(
        drivername="postgresql+psycopg", query={"options": f"-csearch_path={schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def target(args: argparse.Namespace) -> Iterator[str]:
    """The store URL to write: ``--url``, a fresh PostgreSQL schema (``--pg``), or a new
    SQLite file in a temporary directory removed afterwards."""
    if args.url:
        yield args.url
    elif args.pg:
        with pg_schema(args.pg_admin) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            yield f"sqlite:///{tmp}/history.db"


# -- the benchmark -------------------------------------------------------------------------


def _canonical_mb(estate: Estate) -> float:
    return sum(len(canonical_bytes({"arn": i.arn, "data": i.data})) for i in estate.items) / MB


def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    rng = random.Random(args.seed)
    wall = time.perf_counter()
    estate = Estate(args.resources, rng)
    types = Counter(i.rtype for i in estate.items)
    print(
        f"estate: {len(estate.items)} resources ({', '.join(f'{k} {v}' for k, v in types.most_common())}), "
        f"{sum(len(i.findings) for i in estate.items)} findings, "
        f"{_canonical_mb(estate):.1f} MB as canonical JSON",
        file=sys.stderr,
    )
    times: list[float] = []
    changed: list[int] = []
    sizes: dict[int, float] = {}
    checkpoints = {1, 7, 30, 90, 180, 365, args.runs}
    last_changed: list[Item] = []
    for night in range(args.runs):
        when = START + timedelta(days=night)
        estate.volatile(when)
        if night:
            last_changed = estate.change(args.change, when)
        changed.append(len(last_changed))
        run_id = f"{when.strftime('%Y%m%dT%H%M%SZ')}-{rng.getrandbits(24):06x}"
        times.append(write_night(url, estate.record(run_id, when)))
        if night + 1 in checkpoints:
            sizes[night + 1] = measure(url) / MB
            print(
                f"night {night + 1}/{args.runs}: write {times[-1]:.2f} s, "
                f"store {sizes[night + 1]:.1f} MB",
                file=sys.stderr,
            )
        elif (night + 1) % 25 == 0:
            print(f"night {night + 1}/{args.runs}: write {times[-1]:.2f} s", file=sys.stderr)
    with Store.open(url, create_missing=False) as store:
        total = store_bytes(store) / MB
        rows = row_counts(store)
        tables = table_mb(store)
        t0 = time.perf_counter()
        checked = verify(store)
        verify_s = time.perf_counter() - t0
        newest = store.runs(finished_only=True)[:2]
        drift_s = 0.0
        drift_counts: dict[str, Any] = {}
        if len(newest) == 2:
            t0 = time.perf_counter()
            doc = drift(store, Side(newest[1]), Side(newest[0]))
            drift_s = time.perf_counter() - t0
            drift_counts = summary(doc)
    first = sizes[1]
    per_run = (total - first) / (args.runs - 1) if args.runs > 1 else 0.0
    out: dict[str, Any] = {
        "backend": make_url(url).get_backend_name(),
        "resources": len(estate.items),
        "findings_per_run": sum(len(i.findings) for i in estate.items),
        "runs": args.runs,
        "changed_per_night": changed[-1],
        "first_run_mb": round(first, 2),
        "total_mb": round(total, 2),
        "mb_per_run": round(per_run, 3),
        "resource_versions": rows["resource_versions"],
        "finding_versions": rows["finding_versions"],
        "blobs": rows["blobs"],
        "blob_mb_zlib": round(rows["blob_bytes_zlib"] / MB, 2),
        "blob_mb_raw": round(rows["blob_bytes_raw"] / MB, 2),
        "tables_mb": tables,
        "write_s_median": round(statistics.median(times), 3),
        "write_s_first_night": round(times[0], 3),
        "write_s_median_last_10": round(statistics.median(times[-10:]), 3),
        "verify_s": round(verify_s, 2),
        "verify_ok": checked.ok,
        "drift_s": round(drift_s, 2),
        "drift_modified": drift_counts.get("resources", {}).get("modified"),
        "sizes_mb": {str(k): round(v, 2) for k, v in sorted(sizes.items())},
        "seed": args.seed,
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    if args.runs < 365:
        out["extrapolated_365_mb"] = round(first + 364 * per_run, 1)
    if not checked.ok:
        out["verify_problems"] = checked.problems[:5]
    return out


def report(out: dict[str, Any]) -> None:
    rows = [
        ("store", out["backend"]),
        ("resources / findings per run", f"{out['resources']} / {out['findings_per_run']}"),
        ("nights written", f"{out['runs']} ({out['changed_per_night']} resources changed/night)"),
        ("MB after the first run", f"{out['first_run_mb']:.2f}"),
        (f"MB after {out['runs']} runs", f"{out['total_mb']:.2f}"),
        ("MB per run after the first", f"{out['mb_per_run']:.3f}"),
        (
            "rows: resource_versions / finding_versions / blobs",
            f"{out['resource_versions']} / {out['finding_versions']} / {out['blobs']}",
        ),
        ("blob bytes, zlib / raw (MB)", f"{out['blob_mb_zlib']} / {out['blob_mb_raw']}"),
        (
            "MB by table (with its indexes)",
            ", ".join(f"{k} {v}" for k, v in out["tables_mb"].items()),
        ),
        ("nightly write, median s", f"{out['write_s_median']:.2f}"),
        (
            "nightly write, first night / median of last 10 (s)",
            f"{out['write_s_first_night']:.2f} / {out['write_s_median_last_10']:.2f}",
        ),
        (
            "verify() over the whole store, s",
            f"{out['verify_s']:.2f} ({'ok' if out['verify_ok'] else 'FAILED'})",
        ),
        (
            "drift() between the last two runs, s",
            f"{out['drift_s']:.2f} ({out['drift_modified']} resources modified)",
        ),
        ("store size by night (MB)", ", ".join(f"{k}: {v}" for k, v in out["sizes_mb"].items())),
        ("wall time, s", f"{out['wall_s']}"),
    ]
    if "extrapolated_365_mb" in out:
        rows.append(("extrapolated to 365 runs, MB", f"{out['extrapolated_365_mb']}"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(json.dumps(out, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=365, help="nightly runs to write (365)")
    parser.add_argument("--resources", type=int, default=10_000, help="account size (10,000)")
    parser.add_argument(
        "--change", type=float, default=0.01, help="share of resources changed per night (0.01)"
    )
    parser.add_argument("--seed", type=int, default=20250101, help="random seed (fixed)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--url", help="store URL to write (default: a new SQLite file in a temp dir)"
    )
    where.add_argument(
        "--pg", action="store_true", help="a fresh schema in --pg-admin's database, dropped after"
    )
    parser.add_argument(
        "--pg-admin", default=PG_ADMIN, help=f"PostgreSQL to use (--pg; {PG_ADMIN})"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.resources < 20:
        parser.error("--runs must be at least 1 and --resources at least 20")
    with target(args) as url:
        out = run(args, url)
    report(out)
    return 0 if out["verify_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
