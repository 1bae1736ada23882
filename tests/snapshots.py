"""Offline snapshot builder for engine/enrichment tests.

:func:`compliant_snapshot` builds one account and region that passes every rule of the
shipped pack; a test changes exactly one field (via :func:`data`) and asserts the one
finding that changes.  Field names follow docs/ARCHITECTURE.md, i.e. what boto3 returns.
"""

from __future__ import annotations

import json
from typing import Any

from scanner.config import Config
from scanner.engine import RuleSet, evaluate, load_ruleset
from scanner.enrichment import enrich
from scanner.model.finding import Finding
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot

ACCOUNT = "111122223333"
REGION = "us-west-2"
VPC = "vpc-0a1"
SUBNET = "subnet-0a1"
MAIN_RTB = "rtb-main"
SG_DEFAULT = "sg-default"
SG_ENDPOINT = "sg-endpoint"
NOTEBOOK = "analytics"
EP_NOTEBOOK = "vpce-notebook"
EP_API = "vpce-api"
EP_RUNTIME = "vpce-runtime"
EP_STUDIO = "vpce-studio"
DOMAIN = "d-compliant"
PROFILE = "alice"
SPACE = "shared"
KMS_KEY = "arn:aws:kms:us-west-2:111122223333:key/1234"
VGW = "vgw-0a1"
TRAIL = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org"

SERVICES = {
    EP_NOTEBOOK: f"aws.sagemaker.{REGION}.notebook",
    EP_API: f"com.amazonaws.{REGION}.sagemaker.api",
    EP_RUNTIME: f"com.amazonaws.{REGION}.sagemaker.runtime",
    EP_STUDIO: f"aws.sagemaker.{REGION}.studio",
}

RESTRICTED_POLICY = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sagemaker:*",
                "Resource": "*",
            }
        ]
    }
)

# IAM and Organizations (issue #3): a user with the AWS post's policy, and a member account
# whose OU carries an SCP denying presigned notebook URLs outside the two endpoints.
NOTEBOOK_USER = f"arn:aws:iam::{ACCOUNT}:user/notebook-user"
ORG_ROOT, ORG_OU, ORG_MASTER = "r-root", "ou-root-data", "999988887777"
NOTEBOOK_ACTIONS = [
    "sagemaker:CreatePresignedNotebookInstanceUrl",
    "sagemaker:DescribeNotebookInstance",
]
POST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EnableNotebookAccess",
            "Effect": "Allow",
            "Action": NOTEBOOK_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:sourceVpce": [EP_NOTEBOOK, EP_API]}},
        }
    ],
}
DENY_OUTSIDE_SCP = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "RequireNotebookVpce",
            "Effect": "Deny",
            "Action": NOTEBOOK_ACTIONS[0],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:sourceVpce": [EP_NOTEBOOK, EP_API]}},
        }
    ],
}
FULL_ACCESS_SCP = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

# Collector name → the types it produces (one outcome per scope, all ok by default).
COLLECTORS: dict[str, tuple[str, list[str]]] = {
    "ec2.vpcs": (REGION, ["ec2:vpc"]),
    "ec2.subnets": (REGION, ["ec2:subnet"]),
    "ec2.route-tables": (REGION, ["ec2:route-table"]),
    "ec2.security-groups": (REGION, ["ec2:security-group"]),
    "ec2.flow-logs": (REGION, ["ec2:flow-log"]),
    "ec2.vpc-endpoints": (REGION, ["ec2:vpc-endpoint"]),
    "ec2.vpn": (REGION, ["ec2:vpn-gateway", "ec2:vpn-connection"]),
    "ec2.tgw-attachments": (REGION, ["ec2:transit-gateway-vpc-attachment"]),
    "directconnect.virtual-interfaces": (REGION, ["directconnect:virtual-interface"]),
    "directconnect.gateways": ("global", ["directconnect:gateway"]),
    "route53.hosted-zones": ("global", ["route53:hosted-zone"]),
    "route53resolver.rules": (REGION, ["route53resolver:rule"]),
    "route53resolver.rule-associations": (REGION, ["route53resolver:rule-association"]),
    "sagemaker.notebook-instances": (REGION, ["sagemaker:notebook-instance"]),
    "sagemaker.domains": (REGION, ["sagemaker:domain"]),
    "sagemaker.user-profiles": (REGION, ["sagemaker:user-profile"]),
    "sagemaker.spaces": (REGION, ["sagemaker:space"]),
    "sagemaker.app-image-configs": (REGION, ["sagemaker:app-image-config"]),
    "cloudtrail.trails": (REGION, ["cloudtrail:trail"]),
    "kms-key": (REGION, ["kms:key"]),
    "iam": ("global", ["iam:user", "iam:group", "iam:role", "iam:policy"]),
    "organizations": (
        "global",
        ["organizations:organization", "organizations:policy", "organizations:account"],
    ),
}


def endpoint(vid: str, service: str, **overrides: Any) -> dict[str, Any]:
    """A healthy interface endpoint in the VPC (private DNS on, dedicated group)."""
    body: dict[str, Any] = {
        "VpcEndpointId": vid,
        "VpcEndpointType": "Interface",
        "VpcId": VPC,
        "ServiceName": service,
        "State": "available",
        "PrivateDnsEnabled": True,
        "Groups": [{"GroupId": SG_ENDPOINT, "GroupName": "sagemaker-endpoints"}],
        "SubnetIds": [SUBNET],
        "PolicyDocument": RESTRICTED_POLICY,
        "DnsEntries": [
            {"DnsName": f"{vid}-abc.{service}.vpce.amazonaws.com", "HostedZoneId": "Z1"}
        ],
    }
    body.update(overrides)
    return body


def compliant_snapshot() -> Snapshot:
    """One account/region where every shipped rule passes."""
    s = Snapshot(accounts=[ACCOUNT], regions=[REGION])
    s.add(
        ACCOUNT,
        REGION,
        "ec2:vpc",
        VPC,
        {
            "VpcId": VPC,
            "CidrBlock": "10.0.0.0/16",
            "IsDefault": False,
            "EnableDnsSupport": True,
            "EnableDnsHostnames": True,
        },
    )
    s.add(ACCOUNT, REGION, "ec2:subnet", SUBNET, {"SubnetId": SUBNET, "VpcId": VPC})
    s.add(
        ACCOUNT,
        REGION,
        "ec2:route-table",
        MAIN_RTB,
        {
            "RouteTableId": MAIN_RTB,
            "VpcId": VPC,
            "Associations": [{"Main": True, "RouteTableAssociationId": "rtbassoc-main"}],
            "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}
            ],
        },
    )
    s.add(
        ACCOUNT,
        REGION,
        "ec2:security-group",
        SG_DEFAULT,
        {
            "GroupId": SG_DEFAULT,
            "GroupName": "default",
            "VpcId": VPC,
            "IpPermissions": [],
            "IpPermissionsEgress": [],
        },
    )
    s.add(
        ACCOUNT,
        REGION,
        "ec2:security-group",
        SG_ENDPOINT,
        {
            "GroupId": SG_ENDPOINT,
            "GroupName": "sagemaker-endpoints",
            "VpcId": VPC,
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpRanges": [{"CidrIp": "10.0.0.0/16"}],
                    "Ipv6Ranges": [],
                }
            ],
            "IpPermissionsEgress": [],
        },
    )
    for vid, service in SERVICES.items():
        s.add(ACCOUNT, REGION, "ec2:vpc-endpoint", vid, endpoint(vid, service))
    s.add(
        ACCOUNT,
        REGION,
        "ec2:flow-log",
        "fl-0a1",
        {
            "FlowLogId": "fl-0a1",
            "ResourceId": VPC,
            "FlowLogStatus": "ACTIVE",
            "TrafficType": "ALL",
        },
    )
    s.add(
        ACCOUNT,
        REGION,
        "ec2:vpn-gateway",
        VGW,
        {
            "VpnGatewayId": VGW,
            "State": "available",
            "VpcAttachments": [{"VpcId": VPC, "State": "attached"}],
        },
    )
    s.add(
        ACCOUNT,
        REGION,
        "ec2:vpn-connection",
        "vpn-0a1",
        {
            "VpnConnectionId": "vpn-0a1",
            "VpnGatewayId": VGW,
            "State": "available",
        },
    )
    s.add(
        ACCOUNT,
        REGION,
        "sagemaker:notebook-instance",
        NOTEBOOK,
        {
            "NotebookInstanceName": NOTEBOOK,
            "NotebookInstanceStatus": "InService",
            "SubnetId": SUBNET,
            "SecurityGroups": [SG_ENDPOINT],
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "KmsKeyId": KMS_KEY,
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
        },
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{NOTEBOOK}",
    )
    s.add(
        ACCOUNT,
        REGION,
        "cloudtrail:trail",
        TRAIL,
        {
            "TrailARN": TRAIL,
            "Name": "org",
            "HomeRegion": REGION,
            "IsMultiRegionTrail": True,
            "Status": {"IsLogging": True},
        },
        arn=TRAIL,
    )
    add_kms_key(s, KMS_KEY)
    add_studio(s)
    add_iam_and_organization(s)
    for name, (region, types) in COLLECTORS.items():
        s.record(CollectorOutcome(name, ACCOUNT, region, types, OutcomeStatus.OK))
    return s


def add_kms_key(s: Snapshot, ref: str, manager: str = "CUSTOMER") -> None:
    """The kms-key collector's record for the KmsKeyId value ``ref`` (DescribeKey's
    KeyMetadata, stored under the value as written)."""
    key_id = ref.rsplit("/", 1)[-1]
    s.add(
        ACCOUNT,
        REGION,
        "kms:key",
        ref,
        {
            "KeyId": key_id,
            "Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}",
            "KeyManager": manager,
            "KeyState": "Enabled",
        },
        arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}",
    )


def add_studio(s: Snapshot) -> None:
    """A VpcOnly, IAM-mode Studio domain done right in the compliant VPC: its subnet is the
    notebook's (no internet route), the dedicated group, a customer managed key, one user
    profile and one space; the Studio endpoint is in :data:`SERVICES`."""
    domain_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{DOMAIN}"
    s.add(
        ACCOUNT,
        REGION,
        "sagemaker:domain",
        DOMAIN,
        {
            "DomainId": DOMAIN,
            "DomainArn": domain_arn,
            "DomainName": "compliant",
            "Status": "InService",
            "AuthMode": "IAM",
            "AppNetworkAccessType": "VpcOnly",
            "VpcId": VPC,
            "SubnetIds": [SUBNET],
            "KmsKeyId": KMS_KEY,
            "DefaultUserSettings": {
                "ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/studio-execution",
                "SecurityGroups": [SG_ENDPOINT],
            },
            "Tags": [],
        },
        arn=domain_arn,
    )
    profile_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/{DOMAIN}/{PROFILE}"
    s.add(
        ACCOUNT,
        REGION,
        "sagemaker:user-profile",
        f"{DOMAIN}/{PROFILE}",
        {
            "DomainId": DOMAIN,
            "UserProfileName": PROFILE,
            "UserProfileArn": profile_arn,
            "Status": "InService",
            "UserSettings": {},
            "Tags": [{"Key": "team", "Value": "research"}],
        },
        arn=profile_arn,
    )
    space_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:space/{DOMAIN}/{SPACE}"
    s.add(
        ACCOUNT,
        REGION,
        "sagemaker:space",
        f"{DOMAIN}/{SPACE}",
        {
            "DomainId": DOMAIN,
            "SpaceName": SPACE,
            "SpaceArn": space_arn,
            "Status": "InService",
            "SpaceSettings": {"AppType": "JupyterLab"},
            "Tags": [],
        },
        arn=space_arn,
    )


def add_iam_and_organization(s: Snapshot) -> None:
    """The IAM user and Organizations data of :func:`compliant_snapshot` (see constants)."""
    s.add(
        ACCOUNT,
        "global",
        "iam:user",
        NOTEBOOK_USER,
        {
            "UserName": "notebook-user",
            "Arn": NOTEBOOK_USER,
            "UserId": "AIDANOTEBOOKUSER",
            "GroupList": [],
            "UserPolicyList": [{"PolicyName": "notebook-via-vpce", "PolicyDocument": POST_POLICY}],
            "AttachedManagedPolicies": [],
        },
        arn=NOTEBOOK_USER,
    )
    s.add(
        ACCOUNT,
        "global",
        "organizations:organization",
        "o-example",
        {"Id": "o-example", "MasterAccountId": ORG_MASTER},
    )
    s.add(
        ACCOUNT,
        "global",
        "organizations:account",
        ACCOUNT,
        {"Id": ACCOUNT, "ParentPath": [ORG_ROOT, ORG_OU]},
    )
    for pid, name, content, targets in (
        ("p-full", "FullAWSAccess", FULL_ACCESS_SCP, [ORG_ROOT, ORG_OU, ACCOUNT]),
        ("p-vpce", "RequireNotebookVpce", DENY_OUTSIDE_SCP, [ORG_OU]),
    ):
        s.add(
            ACCOUNT,
            "global",
            "organizations:policy",
            pid,
            {
                "Id": pid,
                "Name": name,
                "Content": json.dumps(content),
                "Targets": [{"TargetId": t} for t in targets],
            },
        )


# Fixture pieces the DNS and route tests add to the compliant snapshot, one thing at a time.
API_HOST = f"api.sagemaker.{REGION}.amazonaws.com"


def endpoint_dns(s: Snapshot, vid: str = EP_API) -> str:
    """The endpoint's own DNS name: what a private zone record must point at."""
    return str(data(s, "ec2:vpc-endpoint", vid)["DnsEntries"][0]["DnsName"])


def alias(name: str, target: str) -> dict[str, Any]:
    """An alias A record from ``name`` to ``target``."""
    return {"Name": name, "Type": "A", "AliasTarget": {"DNSName": target, "HostedZoneId": "Z1"}}


def private_zone(
    s: Snapshot, zone_id: str, name: str, *records: dict[str, Any], vpc: str = VPC
) -> None:
    """A private hosted zone ``name`` associated with ``vpc``, holding ``records``."""
    s.add(
        ACCOUNT,
        "global",
        "route53:hosted-zone",
        zone_id,
        {
            "Id": f"/hostedzone/{zone_id}",
            "Name": name,
            "Config": {"PrivateZone": True},
            "VPCs": [{"VPCRegion": REGION, "VPCId": vpc}],
            "ResourceRecordSets": list(records),
        },
    )


def explicit_route_table(s: Snapshot, table_id: str, *routes: dict[str, Any]) -> None:
    """A route table explicitly associated with the notebook's subnet (so it, not the VPC's
    main table, is the one the subnet uses), with ``routes``."""
    s.add(
        ACCOUNT,
        REGION,
        "ec2:route-table",
        table_id,
        {
            "RouteTableId": table_id,
            "VpcId": VPC,
            "Associations": [{"Main": False, "SubnetId": SUBNET}],
            "Routes": list(routes),
        },
    )


def data(snapshot: Snapshot, rtype: str, rid: str, region: str = REGION) -> dict[str, Any]:
    """The mutable ``data`` of one resource (tests edit exactly one field)."""
    value: dict[str, Any] = snapshot.resources[ACCOUNT][region][rtype][rid]["data"]
    return value


def set_outcome(
    snapshot: Snapshot, collector: str, status: OutcomeStatus, error_code: str | None = None
) -> None:
    """Change one collector's outcome (error code and operation filled in for errors)."""
    for o in snapshot.collectors:
        if o.collector == collector:
            o.status = status
            if status is OutcomeStatus.ERROR:
                o.error_code = error_code or "AccessDenied"
                o.error_message = "User is not authorized"
                o.operation = "Describe"
            return
    raise KeyError(collector)


_RULESET: RuleSet | None = None


def shipped_ruleset() -> RuleSet:
    """The shipped rule set, loaded once per test process."""
    global _RULESET
    if _RULESET is None:
        _RULESET = load_ruleset()
    return _RULESET


def scan(snapshot: Snapshot, config: Config | None = None) -> list[Finding]:
    """Enrich and evaluate with the shipped rules."""
    cfg = config or Config()
    return evaluate(shipped_ruleset(), enrich(snapshot, cfg), snapshot, cfg)


def finding(
    snapshot: Snapshot, rule_id: str, resource_id: str, config: Config | None = None
) -> Finding:
    """The single finding of one rule on one resource."""
    found = [
        f for f in scan(snapshot, config) if f.rule_id == rule_id and f.resource_id == resource_id
    ]
    assert len(found) == 1, f"expected one finding for {rule_id}/{resource_id}, got {found}"
    return found[0]


def statuses(snapshot: Snapshot, rule_id: str, config: Config | None = None) -> dict[str, str]:
    """resource_id → status for one rule."""
    return {f.resource_id: str(f.status) for f in scan(snapshot, config) if f.rule_id == rule_id}
