"""The Studio domain rules on offline, botocore-shaped snapshots, one field varied at a time.

The baseline is :func:`tests.snapshots.compliant_snapshot`: VpcOnly, IAM-mode domain
``d-compliant`` in the compliant VPC with a Studio endpoint, user profile ``alice`` and space
``shared``; every Studio rule PASSes there.  Field names are those of botocore's
DescribeDomain, DescribeUserProfile, DescribeSpace and ListAppImageConfigs output shapes
(moto's server lacks the last three; the demo server adds them, see the README).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scanner.config import Config, PublicPathsConfig
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import OutcomeStatus, Snapshot
from tests.snapshots import (
    ACCOUNT,
    DOMAIN,
    EP_API,
    EP_STUDIO,
    PROFILE,
    REGION,
    SG_DEFAULT,
    SPACE,
    VPC,
    add_kms_key,
    compliant_snapshot,
    data,
    explicit_route_table,
    finding,
    scan,
    set_outcome,
)

STUDIO_RULES = (
    "studio-domain-vpc-only",
    "studio-domain-subnet-no-internet-route",
    "studio-security-groups-restricted",
    "studio-domain-kms-encryption",
    "studio-root-access-disabled",
    "studio-domain-no-public-access-path",
)
VERDICT = "studio-domain-no-public-access-path"
USER = f"arn:aws:iam::{ACCOUNT}:user/studio-user"
PROFILE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/{DOMAIN}/{PROFILE}"
LOCAL = {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}
IGW = {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-0a1", "State": "active"}
NAT = {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0a1", "State": "active"}
OPEN_SG = "sg-open"


def domain(s: Snapshot) -> dict[str, Any]:
    return data(s, "sagemaker:domain", DOMAIN)


def profile(s: Snapshot) -> dict[str, Any]:
    return data(s, "sagemaker:user-profile", f"{DOMAIN}/{PROFILE}")


def space(s: Snapshot) -> dict[str, Any]:
    return data(s, "sagemaker:space", f"{DOMAIN}/{SPACE}")


def on(s: Snapshot, rule: str, config: Config | None = None) -> Finding:
    return finding(s, rule, DOMAIN, config)


def add_open_group(s: Snapshot) -> None:
    s.add(
        ACCOUNT,
        REGION,
        "ec2:security-group",
        OPEN_SG,
        {
            "GroupId": OPEN_SG,
            "GroupName": "studio-open",
            "VpcId": VPC,
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                }
            ],
            "IpPermissionsEgress": [],
        },
    )


def add_image_config(s: Snapshot, name: str, uid: int | None) -> None:
    fs: dict[str, Any] = {"MountPath": "/home/sagemaker-user", "DefaultGid": 100}
    if uid is not None:
        fs["DefaultUid"] = uid
    s.add(
        ACCOUNT,
        REGION,
        "sagemaker:app-image-config",
        name,
        {
            "AppImageConfigName": name,
            "AppImageConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app-image-config/{name}",
            "JupyterLabAppImageConfig": {"FileSystemConfig": fs},
        },
    )


def custom_image(settings: dict[str, Any], config: str) -> None:
    settings["JupyterLabAppSettings"] = {
        "CustomImages": [{"ImageName": "team-image", "AppImageConfigName": config}]
    }


def add_user(s: Snapshot, statement: dict[str, Any]) -> None:
    s.add(
        ACCOUNT,
        "global",
        "iam:user",
        USER,
        {
            "UserName": "studio-user",
            "Arn": USER,
            "UserId": "AIDASTUDIO",
            "GroupList": [],
            "UserPolicyList": [
                {
                    "PolicyName": "studio",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                }
            ],
            "AttachedManagedPolicies": [],
        },
        arn=USER,
    )


def presign(resource: str = "*", vpces: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Sid": "Studio",
        "Effect": "Allow",
        "Action": "sagemaker:CreatePresignedDomainUrl",
        "Resource": resource,
    }
    if vpces is not None:
        out["Condition"] = {"StringEquals": {"aws:sourceVpce": vpces}}
    return out


# -- the baseline -------------------------------------------------------------------------


def test_compliant_domain_passes_every_studio_rule() -> None:
    snap = compliant_snapshot()
    for rule in STUDIO_RULES:
        assert on(snap, rule).status is Status.PASS, rule
    assert finding(snap, "vpc-has-sagemaker-studio-endpoint", VPC).status is Status.PASS


# -- studio-domain-vpc-only ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("VpcOnly", Status.PASS), ("PublicInternetOnly", Status.FAIL), (None, Status.FAIL)],
)
def test_vpc_only(value: str | None, expected: Status) -> None:
    snap = compliant_snapshot()
    if value is None:
        del domain(snap)["AppNetworkAccessType"]
    else:
        domain(snap)["AppNetworkAccessType"] = value
    f = on(snap, "studio-domain-vpc-only")
    assert f.status is expected
    if value is None:
        assert "absent (AWS default: PublicInternetOnly)" in f.message


# -- vpc-has-sagemaker-studio-endpoint ----------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (
            lambda s: s.resources[ACCOUNT][REGION]["ec2:vpc-endpoint"].pop(EP_STUDIO),
            "no available Studio",
        ),
        (
            lambda s: s.resources[ACCOUNT][REGION]["ec2:vpc-endpoint"].pop(EP_API),
            "no available SageMaker API",
        ),
        (
            lambda s: data(s, "ec2:vpc-endpoint", EP_STUDIO).update(PrivateDnsEnabled=False),
            f"Studio hostname to {EP_STUDIO}",
        ),
        (
            lambda s: data(s, "ec2:vpc-endpoint", EP_STUDIO).update(State="rejected"),
            "no available Studio",
        ),
    ],
)
def test_studio_endpoint_missing_or_not_private_fails(
    mutate: Callable[[Snapshot], Any], named: str
) -> None:
    snap = compliant_snapshot()
    mutate(snap)
    f = finding(snap, "vpc-has-sagemaker-studio-endpoint", VPC)
    assert f.status is Status.FAIL
    assert named in f.message


def test_studio_endpoint_rule_only_for_vpcs_with_vpc_only_domains() -> None:
    snap = compliant_snapshot()
    domain(snap)["AppNetworkAccessType"] = "PublicInternetOnly"
    assert finding(snap, "vpc-has-sagemaker-studio-endpoint", VPC).status is Status.NOT_APPLICABLE


def test_studio_endpoint_dns_attributes_not_collected_is_error() -> None:
    snap = compliant_snapshot()
    del data(snap, "ec2:vpc", VPC)["EnableDnsHostnames"]
    assert finding(snap, "vpc-has-sagemaker-studio-endpoint", VPC).status is Status.ERROR


# -- studio-domain-subnet-no-internet-route -----------------------------------------------


def test_subnet_routes() -> None:
    snap = compliant_snapshot()
    explicit_route_table(snap, "rtb-private", LOCAL, NAT)
    f = on(snap, "studio-domain-subnet-no-internet-route")
    assert f.status is Status.PASS and "NAT via nat-0a1" in f.message
    explicit_route_table(snap, "rtb-private", LOCAL, IGW)
    f = on(snap, "studio-domain-subnet-no-internet-route")
    assert f.status is Status.FAIL and "igw-0a1" in f.message


def test_second_subnet_with_internet_route_fails_naming_it() -> None:
    snap = compliant_snapshot()
    snap.add(ACCOUNT, REGION, "ec2:subnet", "subnet-0b2", {"SubnetId": "subnet-0b2", "VpcId": VPC})
    snap.add(
        ACCOUNT,
        REGION,
        "ec2:route-table",
        "rtb-public",
        {
            "RouteTableId": "rtb-public",
            "VpcId": VPC,
            "Associations": [{"Main": False, "SubnetId": "subnet-0b2"}],
            "Routes": [LOCAL, IGW],
        },
    )
    domain(snap)["SubnetIds"].append("subnet-0b2")
    f = on(snap, "studio-domain-subnet-no-internet-route")
    assert f.status is Status.FAIL
    assert f.message.startswith("subnet-0b2:")


def test_subnet_rule_not_applicable_to_public_domain_and_error_when_subnet_unknown() -> None:
    snap = compliant_snapshot()
    domain(snap)["AppNetworkAccessType"] = "PublicInternetOnly"
    assert on(snap, "studio-domain-subnet-no-internet-route").status is Status.NOT_APPLICABLE
    snap = compliant_snapshot()
    domain(snap)["SubnetIds"] = ["subnet-unknown"]
    assert on(snap, "studio-domain-subnet-no-internet-route").status is Status.ERROR


# -- studio-security-groups-restricted ----------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (
            lambda s: domain(s)["DefaultUserSettings"].update(SecurityGroups=[SG_DEFAULT]),
            f"{SG_DEFAULT} (domain DefaultUserSettings) is the VPC's default",
        ),
        (
            lambda s: profile(s)["UserSettings"].update(SecurityGroups=[OPEN_SG]),
            f"{OPEN_SG} (user profile {PROFILE}) allows ingress from 0.0.0.0/0",
        ),
        (
            lambda s: domain(s).update(DefaultSpaceSettings={"SecurityGroups": [OPEN_SG]}),
            f"{OPEN_SG} (domain DefaultSpaceSettings) allows ingress",
        ),
        (
            lambda s: domain(s).update(DomainSettings={"SecurityGroupIds": [SG_DEFAULT]}),
            f"{SG_DEFAULT} (domain DomainSettings) is the VPC's default",
        ),
    ],
)
def test_security_group_problems_name_where_the_group_is_set(
    mutate: Callable[[Snapshot], Any], named: str
) -> None:
    snap = compliant_snapshot()
    add_open_group(snap)
    mutate(snap)
    f = on(snap, "studio-security-groups-restricted")
    assert f.status is Status.FAIL
    assert named in f.message


def test_security_groups_missing_or_absent() -> None:
    snap = compliant_snapshot()
    domain(snap)["DefaultUserSettings"]["SecurityGroups"] = ["sg-gone"]
    assert on(snap, "studio-security-groups-restricted").status is Status.ERROR
    snap = compliant_snapshot()
    domain(snap)["DefaultUserSettings"]["SecurityGroups"] = []
    assert on(snap, "studio-security-groups-restricted").status is Status.ERROR
    domain(snap)["AppNetworkAccessType"] = "PublicInternetOnly"
    assert on(snap, "studio-security-groups-restricted").status is Status.NOT_APPLICABLE


def test_user_profile_collection_failure_makes_group_rule_error() -> None:
    snap = compliant_snapshot()
    set_outcome(snap, "sagemaker.user-profiles", OutcomeStatus.ERROR)
    assert on(snap, "studio-security-groups-restricted").status is Status.ERROR
    assert on(snap, VERDICT).status is Status.ERROR


# -- studio-domain-kms-encryption ---------------------------------------------------------


OTHER_KEY = "arn:aws:kms:us-west-2:111122223333:key/9"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, Status.FAIL),
        ({"KmsKeyId": ""}, Status.FAIL),
        ({"HomeEfsFileSystemKmsKeyId": OTHER_KEY}, Status.PASS),
        ({"KmsKeyId": OTHER_KEY}, Status.PASS),
    ],
)
def test_kms_key(fields: dict[str, str], expected: Status) -> None:
    """The deprecated HomeEfsFileSystemKmsKeyId counts; the key's manager is DescribeKey's
    (the kms-key collector's record for that value)."""
    snap = compliant_snapshot()
    add_kms_key(snap, OTHER_KEY)
    del domain(snap)["KmsKeyId"]
    domain(snap).update(fields)
    assert on(snap, "studio-domain-kms-encryption").status is expected


def test_kms_key_aws_managed_fails() -> None:
    snap = compliant_snapshot()
    domain(snap)["KmsKeyId"] = "alias/aws/sagemaker"
    add_kms_key(snap, "alias/aws/sagemaker", manager="AWS")
    f = on(snap, "studio-domain-kms-encryption")
    assert f.status is Status.FAIL
    assert f.evidence["key_manager"] == "AWS"


# -- studio-root-access-disabled ----------------------------------------------------------


@pytest.mark.parametrize(
    ("docker", "expected"),
    [
        ({"EnableDockerAccess": "ENABLED"}, Status.FAIL),
        ({"EnableDockerAccess": "ENABLED", "RootlessDocker": "ENABLED"}, Status.PASS),
        ({"EnableDockerAccess": "DISABLED"}, Status.PASS),
        ({}, Status.PASS),
    ],
)
def test_docker_access_needs_rootless(docker: dict[str, str], expected: Status) -> None:
    snap = compliant_snapshot()
    domain(snap)["DomainSettings"] = {"DockerSettings": docker}
    assert on(snap, "studio-root-access-disabled").status is expected


@pytest.mark.parametrize(
    ("where", "uid", "expected"),
    [
        ("domain", 0, Status.FAIL),
        ("domain", 1000, Status.PASS),
        ("domain", None, Status.PASS),
        ("profile", 0, Status.FAIL),
        ("space", 0, Status.FAIL),
    ],
)
def test_custom_image_running_as_root(where: str, uid: int | None, expected: Status) -> None:
    snap = compliant_snapshot()
    add_image_config(snap, "team-config", uid)
    settings = {
        "domain": lambda: domain(snap)["DefaultUserSettings"],
        "profile": lambda: profile(snap)["UserSettings"],
        "space": lambda: space(snap)["SpaceSettings"],
    }[where]()
    custom_image(settings, "team-config")
    f = on(snap, "studio-root-access-disabled")
    assert f.status is expected
    if expected is Status.FAIL:
        assert "AppImageConfig team-config sets DefaultUid 0" in f.message


def test_custom_image_whose_config_is_unknown_is_error() -> None:
    snap = compliant_snapshot()
    custom_image(domain(snap)["DefaultUserSettings"], "not-collected")
    assert on(snap, "studio-root-access-disabled").status is Status.ERROR


# -- iam-presigned-domain-url-requires-vpc-endpoint and the verdict -----------------------


def test_unconditioned_presigned_domain_url_is_a_path_for_principal_and_domain() -> None:
    snap = compliant_snapshot()
    add_user(snap, presign())
    principal = finding(snap, "iam-presigned-domain-url-requires-vpc-endpoint", USER)
    assert principal.status is Status.FAIL
    assert principal.evidence["paths"][0]["user_profiles"] == [PROFILE_ARN]
    assert principal.evidence["paths"][0]["user_profile_count"] == 1
    v = on(snap, VERDICT)
    assert v.status is Status.FAIL
    assert v.evidence["paths_by_kind"]["iam_inbound"] == 1
    (path,) = v.evidence["paths"]
    assert path["principal"] == USER and path["user_profiles"] == [PROFILE_ARN]


def test_presigned_domain_url_through_approved_endpoints_is_no_path() -> None:
    snap = compliant_snapshot()
    add_user(snap, presign(vpces=[EP_STUDIO, EP_API]))
    assert (
        finding(snap, "iam-presigned-domain-url-requires-vpc-endpoint", USER).status is Status.PASS
    )
    assert on(snap, VERDICT).status is Status.PASS


def test_grant_on_another_domains_profile_leaves_this_domain_alone() -> None:
    snap = compliant_snapshot()
    other = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/d-other/bob"
    add_user(snap, presign(resource=other))
    assert (
        finding(snap, "iam-presigned-domain-url-requires-vpc-endpoint", USER).status is Status.PASS
    )
    assert on(snap, VERDICT).status is Status.PASS


def test_sso_domain_takes_no_part_in_iam_paths() -> None:
    snap = compliant_snapshot()
    add_user(snap, presign())
    domain(snap)["AuthMode"] = "SSO"
    principal = finding(snap, "iam-presigned-domain-url-requires-vpc-endpoint", USER)
    assert principal.status is Status.PASS
    assert principal.evidence["user_profiles_in_account"] == 0
    v = on(snap, VERDICT)
    assert v.status is Status.PASS
    assert "AuthMode is SSO" in v.message


def test_domain_action_is_analysed_without_being_in_iam_actions() -> None:
    snap = compliant_snapshot()
    add_user(snap, presign())
    cfg = Config(iam={"actions": ["sagemaker:CreatePresignedNotebookInstanceUrl"]})  # type: ignore[arg-type]
    assert (
        finding(snap, "iam-presigned-domain-url-requires-vpc-endpoint", USER, cfg).status
        is Status.FAIL
    )


@pytest.mark.parametrize(
    ("mutate", "kind", "named"),
    [
        (
            lambda s: domain(s).update(AppNetworkAccessType="PublicInternetOnly"),
            "internet_outbound",
            "AppNetworkAccessType is PublicInternetOnly",
        ),
        (
            lambda s: domain(s).pop("AppNetworkAccessType"),
            "internet_outbound",
            "(absent: AWS's default)",
        ),
        (
            lambda s: explicit_route_table(s, "rtb-private", LOCAL, IGW),
            "internet_outbound",
            "internet gateway",
        ),
        (lambda s: explicit_route_table(s, "rtb-private", LOCAL, NAT), "internet_outbound", "NAT"),
        (
            lambda s: data(s, "ec2:vpc-endpoint", EP_STUDIO).update(PrivateDnsEnabled=False),
            "public_internet",
            f"Studio hostname to {EP_STUDIO}",
        ),
    ],
)
def test_domain_verdict_fails_for_each_kind(
    mutate: Callable[[Snapshot], Any], kind: str, named: str
) -> None:
    snap = compliant_snapshot()
    mutate(snap)
    f = on(snap, VERDICT)
    assert f.status is Status.FAIL
    assert [k for k, n in f.evidence["paths_by_kind"].items() if n] == [kind]
    assert named in f.message


def test_domain_verdict_honours_the_nat_setting() -> None:
    snap = compliant_snapshot()
    explicit_route_table(snap, "rtb-private", LOCAL, NAT)
    assert (
        on(snap, VERDICT, Config(public_paths=PublicPathsConfig(nat_gateway=False))).status
        is Status.PASS
    )


def test_every_domain_and_only_domains_get_a_verdict() -> None:
    found = [f for f in scan(compliant_snapshot()) if f.rule_id == VERDICT]
    assert [(f.resource_type, f.resource_id) for f in found] == [("sagemaker:domain", DOMAIN)]
    assert found[0].frameworks["hipaa"] and found[0].frameworks["pci-dss-v4"]


# -- listings nobody looked at ------------------------------------------------------------


@pytest.mark.parametrize("status", [OutcomeStatus.DISABLED, OutcomeStatus.NOT_COLLECTED])
def test_user_profiles_not_looked_at_never_pass(status: OutcomeStatus) -> None:
    """A disabled or uncollected profile listing could hide an open override or a profile
    someone can open: the rules that read profiles say ERROR instead of PASS."""
    snap = compliant_snapshot()
    set_outcome(snap, "sagemaker.user-profiles", status)
    assert on(snap, "studio-security-groups-restricted").status is Status.ERROR
    assert on(snap, "studio-root-access-disabled").status is Status.ERROR
    verdict = on(snap, VERDICT)
    assert verdict.status is Status.ERROR
    assert "sagemaker:user-profile" in " ".join(verdict.evidence["undecided"])
    add_user(snap, presign(resource="arn:aws:sagemaker:us-west-2:111122223333:user-profile/d-x/*"))
    principal = finding(snap, "iam-presigned-domain-url-requires-vpc-endpoint", USER)
    assert principal.status is Status.ERROR and "not looked at" in principal.message
    # A principal with no grant of the action is still a PASS: no profile matters to it.
    alice = f"arn:aws:iam::{ACCOUNT}:user/notebook-user"
    assert finding(snap, "iam-presigned-domain-url-requires-vpc-endpoint", alice).status is (
        Status.PASS
    )


def test_a_fail_found_beats_a_listing_not_looked_at() -> None:
    snap = compliant_snapshot()
    set_outcome(snap, "sagemaker.spaces", OutcomeStatus.DISABLED)
    assert on(snap, "studio-root-access-disabled").status is Status.ERROR
    domain(snap)["DomainSettings"] = {"DockerSettings": {"EnableDockerAccess": "ENABLED"}}
    assert on(snap, "studio-root-access-disabled").status is Status.FAIL
    domain(snap)["AppNetworkAccessType"] = "PublicInternetOnly"
    set_outcome(snap, "sagemaker.user-profiles", OutcomeStatus.DISABLED)
    assert on(snap, VERDICT).status is Status.FAIL


def test_snapshot_from_before_the_studio_collectors_is_error_not_pass() -> None:
    snap = compliant_snapshot()
    snap.collectors = [o for o in snap.collectors if o.collector != "sagemaker.app-image-configs"]
    f = on(snap, "studio-root-access-disabled")
    assert f.status is Status.ERROR and "not in the snapshot" in f.message
