"""Route 53, Resolver, SageMaker, IAM, Organizations and CloudTrail collectors over moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanner.collectors.normalize import zone_could_answer
from scanner.model.snapshot import OutcomeStatus
from tests.collectkit import REGION, collect_only, outcome, resources

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/notebook"


def default_vpc(aws: Any) -> str:
    return str(aws("ec2").describe_vpcs()["Vpcs"][0]["VpcId"])


# -- Route 53 --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "could"),
    [
        ("amazonaws.com.", True),
        ("sagemaker.us-west-2.amazonaws.com", True),
        ("api.sagemaker.us-west-2.amazonaws.com.", True),
        ("runtime.sagemaker.us-west-2.amazonaws.com", True),
        ("notebook.us-west-2.sagemaker.aws", True),
        ("nb1.notebook.us-west-2.sagemaker.aws", True),
        ("studio.us-west-2.sagemaker.aws", True),
        ("sagemaker.us-east-1.amazonaws.com", False),  # another region
        ("example.com", False),
        ("x.api.sagemaker.us-west-2.amazonaws.com", False),  # below the hostname
        ("a.b.notebook.us-west-2.sagemaker.aws", False),  # two labels under the wildcard
        ("ysagemaker.us-west-2.amazonaws.com", False),  # not label-aligned
    ],
)
def test_zone_could_answer_sagemaker_hostnames(zone: str, could: bool) -> None:
    assert zone_could_answer(zone, [REGION]) is could


def test_private_hosted_zones_with_vpcs_and_sagemaker_record_sets(aws: Any) -> None:
    r53, vpc = aws("route53"), default_vpc(aws)

    def zone(name: str, private: bool) -> str:
        kwargs: dict[str, Any] = {"VPC": {"VPCRegion": REGION, "VPCId": vpc}} if private else {}
        created = r53.create_hosted_zone(
            Name=name, CallerReference=name, HostedZoneConfig={"PrivateZone": private}, **kwargs
        )
        return str(created["HostedZone"]["Id"]).removeprefix("/hostedzone/")

    sm_zone = zone(f"api.sagemaker.{REGION}.amazonaws.com", True)
    other = zone("corp.example.com", True)
    public = zone("public.example.org", False)
    r53.change_resource_record_sets(
        HostedZoneId=sm_zone,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"api.sagemaker.{REGION}.amazonaws.com", "Type": "A",
            "AliasTarget": {"HostedZoneId": "Z1", "DNSName": "vpce-1.api.sagemaker.vpce.amazonaws.com",
                            "EvaluateTargetHealth": False}}}]},
    )  # fmt: skip

    snap = collect_only("route53-hosted-zone")
    zones = resources(snap, "route53:hosted-zone", region="global")
    assert set(zones) == {sm_zone, other}  # the public zone is not kept
    assert public not in zones
    assert zones[sm_zone].arn == f"arn:aws:route53:::hostedzone/{sm_zone}"
    assert zones[sm_zone].data["VPCs"] == [{"VPCRegion": REGION, "VPCId": vpc}]
    alias = [r for r in zones[sm_zone].data["ResourceRecordSets"] if r["Type"] == "A"]
    assert alias[0]["AliasTarget"]["DNSName"].startswith("vpce-1.api.sagemaker")
    assert zones[other].data["VPCs"] == [{"VPCRegion": REGION, "VPCId": vpc}]
    assert "ResourceRecordSets" not in zones[other].data  # cannot answer SageMaker names


def test_resolver_rules_and_associations(aws: Any) -> None:
    resolver, ec2 = aws("route53resolver"), aws("ec2")
    vpc = default_vpc(aws)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc][:2]
    sg = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    endpoint = resolver.create_resolver_endpoint(
        CreatorRequestId="ep", Direction="OUTBOUND", SecurityGroupIds=[sg],
        IpAddresses=[{"SubnetId": s} for s in subnets],
    )["ResolverEndpoint"]["Id"]  # fmt: skip
    rule = resolver.create_resolver_rule(
        CreatorRequestId="r", RuleType="FORWARD", DomainName="sagemaker.aws",
        TargetIps=[{"Ip": "10.0.0.2", "Port": 53}], ResolverEndpointId=endpoint,
    )["ResolverRule"]  # fmt: skip
    assoc = resolver.associate_resolver_rule(ResolverRuleId=rule["Id"], VPCId=vpc)
    assoc_id = assoc["ResolverRuleAssociation"]["Id"]

    snap = collect_only("resolver-rule", "resolver-rule-association")
    got = resources(snap, "route53resolver:rule")[rule["Id"]]
    assert (got.arn, got.data["RuleType"], got.data["DomainName"]) == (
        rule["Arn"], "FORWARD", "sagemaker.aws."
    )  # fmt: skip
    link = resources(snap, "route53resolver:rule-association")[assoc_id]
    assert (link.arn, link.data["ResolverRuleId"], link.data["VPCId"]) == (None, rule["Id"], vpc)


# -- SageMaker ---------------------------------------------------------------------------
BASE_NOTEBOOK: dict[str, Any] = {
    "InstanceType": "ml.t3.medium",
    "RoleArn": ROLE,
    "DirectInternetAccess": "Disabled",
    "RootAccess": "Disabled",
    "KmsKeyId": "arn:aws:kms:us-west-2:123456789012:key/base",
}


def seed_notebook(aws: Any, name: str, **fields: Any) -> None:
    subnet = aws("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
    aws("sagemaker").create_notebook_instance(
        NotebookInstanceName=name, SubnetId=subnet, SecurityGroupIds=["sg-12345678"],
        Tags=[{"Key": "team", "Value": "ml"}], **{**BASE_NOTEBOOK, **fields},
    )  # fmt: skip


def test_notebook_baseline_fields_tags_and_arn(aws: Any) -> None:
    """moto drops InstanceMetadataServiceConfiguration on create, so it is not asserted here;
    the collector keeps whatever DescribeNotebookInstance returns, unmodified."""
    seed_notebook(aws, "nb", LifecycleConfigName="lc")
    got = resources(collect_only("notebook-instance"), "sagemaker:notebook-instance")["nb"]
    assert got.arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/nb"
    data = got.data
    assert (data["DirectInternetAccess"], data["RootAccess"]) == ("Disabled", "Disabled")
    assert data["KmsKeyId"] == BASE_NOTEBOOK["KmsKeyId"]
    assert data["RoleArn"] == ROLE and data["SecurityGroups"] == ["sg-12345678"]
    assert data["SubnetId"].startswith("subnet-")
    assert data["NotebookInstanceStatus"] == "InService"
    assert data["NotebookInstanceLifecycleConfigName"] == "lc"
    assert data["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert isinstance(data["CreationTime"], str)  # datetimes are ISO strings


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("DirectInternetAccess", "Enabled"),
        ("RootAccess", "Enabled"),
        ("KmsKeyId", "arn:aws:kms:us-west-2:123456789012:key/other"),
    ],
)
def test_notebook_fields_vary_one_at_a_time(aws: Any, field: str, value: str) -> None:
    seed_notebook(aws, "nb", **{field: value})
    data = resources(collect_only("notebook-instance"), "sagemaker:notebook-instance")["nb"].data
    expected = {**BASE_NOTEBOOK, field: value}
    for key in ("DirectInternetAccess", "RootAccess", "KmsKeyId"):
        assert data[key] == expected[key], key


def test_notebook_without_kms_key_has_no_kms_field(aws: Any) -> None:
    """Absent stays absent: rules judge a missing field with AWS's default, not a guess."""
    fields = {k: v for k, v in BASE_NOTEBOOK.items() if k != "KmsKeyId"}
    aws("sagemaker").create_notebook_instance(NotebookInstanceName="plain", **fields)
    data = resources(collect_only("notebook-instance"), "sagemaker:notebook-instance")["plain"].data
    assert "KmsKeyId" not in data and "SubnetId" not in data


def test_studio_domain_is_described(aws: Any) -> None:
    vpc = default_vpc(aws)
    subnet = aws("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
    created = aws("sagemaker").create_domain(
        DomainName="studio", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=[subnet], VpcId=vpc, AppNetworkAccessType="VpcOnly",
    )  # fmt: skip
    domain_id = created["DomainArn"].rsplit("/", 1)[-1]
    got = resources(collect_only("studio-domain"), "sagemaker:domain")[domain_id]
    assert got.arn == created["DomainArn"]
    assert (got.data["VpcId"], got.data["AppNetworkAccessType"]) == (vpc, "VpcOnly")


# -- IAM ---------------------------------------------------------------------------------
def doc(action: str) -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}  # fmt: skip


def test_iam_principals_and_policies_with_every_version(aws: Any) -> None:
    iam = aws("iam", "us-east-1")
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps(doc("s3:*")))
    policy_arn = iam.create_policy(PolicyName="nb", PolicyDocument=json.dumps(doc("sagemaker:Describe*")))["Policy"]["Arn"]  # fmt: skip
    iam.create_policy_version(
        PolicyArn=policy_arn, PolicyDocument=json.dumps(doc("sagemaker:*")), SetAsDefault=True
    )
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=json.dumps(doc("ec2:Describe*")))  # fmt: skip
    iam.create_group(GroupName="ds")
    iam.add_user_to_group(GroupName="ds", UserName="alice")
    iam.attach_group_policy(GroupName="ds", PolicyArn=policy_arn)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "sagemaker.amazonaws.com"}}]}  # fmt: skip
    # moto keeps permission boundaries for roles only, so the boundary is tested on the role.
    iam.create_role(
        RoleName="notebook",
        AssumeRolePolicyDocument=json.dumps(trust),
        PermissionsBoundary=boundary["Policy"]["Arn"],
    )

    snap = collect_only("iam")
    user = resources(snap, "iam:user", "global")[f"arn:aws:iam::{ACCOUNT}:user/alice"]
    assert user.arn == user.id
    assert user.data["GroupList"] == ["ds"]
    assert user.data["UserPolicyList"][0]["PolicyDocument"] == doc("ec2:Describe*")
    group = resources(snap, "iam:group", "global")[f"arn:aws:iam::{ACCOUNT}:group/ds"]
    assert group.data["AttachedManagedPolicies"][0]["PolicyArn"] == policy_arn
    role = resources(snap, "iam:role", "global")[f"arn:aws:iam::{ACCOUNT}:role/notebook"]
    assert role.data["AssumeRolePolicyDocument"] == trust
    assert role.data["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary["Policy"]["Arn"]
    policy = resources(snap, "iam:policy", "global")[policy_arn]
    versions = {v["VersionId"]: v for v in policy.data["PolicyVersionList"]}
    assert set(versions) == {"v1", "v2"}
    assert versions["v1"]["Document"] == doc("sagemaker:Describe*")
    assert versions["v2"]["Document"] == doc("sagemaker:*") and versions["v2"]["IsDefaultVersion"]


# -- Organizations -------------------------------------------------------------------------
def test_organizations_not_in_use_is_not_collected(moto: Any) -> None:
    snap = collect_only("organizations")
    got = outcome(snap, "organizations")
    assert got.status is OutcomeStatus.NOT_COLLECTED
    assert got.error_code == "AWSOrganizationsNotInUseException"
    assert not snap.failed_outcomes()
    assert not list(snap.iter_resources("organizations:organization"))


def test_organizations_scps_targets_and_parent_path(aws: Any) -> None:
    org = aws("organizations", "us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="ml")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=ACCOUNT, SourceParentId=root, DestinationParentId=ou)
    content = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "sagemaker:CreatePresignedNotebookInstanceUrl",
         "Resource": "*"}]})  # fmt: skip
    scp = org.create_policy(
        Name="deny", Description="d", Type="SERVICE_CONTROL_POLICY", Content=content
    )["Policy"]["PolicySummary"]
    org.attach_policy(PolicyId=scp["Id"], TargetId=ou)

    snap = collect_only("organizations")
    assert outcome(snap, "organizations").status is OutcomeStatus.OK
    policies = resources(snap, "organizations:policy", "global")
    got = policies[scp["Id"]]
    assert got.arn == scp["Arn"]
    assert json.loads(got.data["Content"]) == json.loads(content)
    assert [t["TargetId"] for t in got.data["Targets"]] == [ou]
    account = resources(snap, "organizations:account", "global")[ACCOUNT]
    assert account.data["ParentPath"] == [root, ou]
    assert account.arn is not None and account.arn.endswith(f"/{ACCOUNT}")
    assert len(resources(snap, "organizations:organization", "global")) == 1


# -- CloudTrail ------------------------------------------------------------------------------
@pytest.mark.parametrize("logging", [True, False])
def test_cloudtrail_trail_with_status(aws: Any, logging: bool) -> None:
    aws("s3").create_bucket(
        Bucket="trail-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    trail = aws("cloudtrail").create_trail(
        Name="org-trail", S3BucketName="trail-bucket", IsMultiRegionTrail=True
    )["TrailARN"]
    if logging:
        aws("cloudtrail").start_logging(Name="org-trail")
    got = resources(collect_only("cloudtrail"), "cloudtrail:trail")[trail]
    assert got.arn == trail
    assert got.data["IsMultiRegionTrail"] is True
    assert got.data["Status"]["IsLogging"] is logging
