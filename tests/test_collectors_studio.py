"""SageMaker Studio collectors (domain tags, user profiles, spaces, app image configs) over
moto's server, and the moto extension that serves them (scanner/demo/moto_studio.py).

moto 5.2.5 lacks the user-profile, space and app-image-config operations; the extension adds
them to moto's own response class, so these tests still go over real HTTP through moto's
botocore-model serializer.  The shape test reads the raw bytes on the wire, before
botocore's parser (which would silently drop any member outside the shape).
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from scanner.demo import moto_studio
from scanner.model.snapshot import OutcomeStatus
from tests.collectkit import REGION, collect_only, outcome, resources
from tests.faultproxy import ACCESS_DENIED, FaultProxy

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/studio"
STUDIO = ("studio-domain", "studio-user-profile", "studio-space", "app-image-config")
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"


def make_domain(aws: Any, name: str, **fields: Any) -> str:
    """A domain in the default VPC; returns its id (moto's ``d-<name>``)."""
    subnet = aws("ec2").describe_subnets()["Subnets"][0]
    created = aws("sagemaker").create_domain(
        DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=[subnet["SubnetId"]], VpcId=subnet["VpcId"], **fields,
    )  # fmt: skip
    return str(created["DomainArn"]).rsplit("/", 1)[-1]


def kernel_config(uid: int | None) -> dict[str, Any]:
    config: dict[str, Any] = {"KernelSpecs": [{"Name": "python3"}]}
    if uid is not None:
        config["FileSystemConfig"] = {"DefaultUid": uid, "DefaultGid": 100}
    return config


# -- collection ----------------------------------------------------------------------------


def test_domain_tags_are_collected_and_a_domain_without_tags_has_an_empty_list(aws: Any) -> None:
    """moto keeps ``None`` for a domain created without Tags (its ListTags fails on it);
    the extension makes that ``[]``, what AWS answers."""
    tagged = make_domain(aws, "tagged", Tags=[{"Key": "project", "Value": "demo"}])
    plain = make_domain(aws, "plain")
    snap = collect_only("studio-domain")
    domains = resources(snap, "sagemaker:domain")
    assert domains[tagged].data["Tags"] == [{"Key": "project", "Value": "demo"}]
    assert domains[plain].data["Tags"] == []
    assert domains[tagged].data["DomainName"] == "tagged"  # the describe output is kept
    got = outcome(snap, "studio-domain")
    assert (got.status, got.resource_count) == (OutcomeStatus.OK, 2)


def seed_two_domains(aws: Any) -> tuple[str, str]:
    """Domain one: alice (her own security group, tags) and bob (the baseline: no
    UserSettings override, no tags); a private space owned by alice.  Domain two: carol
    (baseline) and a shared space.  Two app image configs, one running as root."""
    sm = aws("sagemaker")
    one, two = make_domain(aws, "one"), make_domain(aws, "two")
    sm.create_user_profile(
        DomainId=one, UserProfileName="alice",
        UserSettings={"ExecutionRole": ROLE, "SecurityGroups": ["sg-0alice"]},
        Tags=[{"Key": "team", "Value": "research"}],
    )  # fmt: skip
    sm.create_user_profile(
        DomainId=one, UserProfileName="bob", UserSettings={"ExecutionRole": ROLE}
    )
    sm.create_user_profile(
        DomainId=two, UserProfileName="carol", UserSettings={"ExecutionRole": ROLE}
    )
    sm.create_space(
        DomainId=one, SpaceName="alice-private", SpaceSettings={"AppType": "JupyterLab"},
        OwnershipSettings={"OwnerUserProfileName": "alice"},
        SpaceSharingSettings={"SharingType": "Private"},
        Tags=[{"Key": "owner", "Value": "alice"}],
    )  # fmt: skip
    sm.create_space(
        DomainId=two, SpaceName="shared", SpaceSettings={"AppType": "JupyterLab"},
        SpaceSharingSettings={"SharingType": "Shared"},
    )  # fmt: skip
    sm.create_app_image_config(
        AppImageConfigName="as-user", KernelGatewayImageConfig=kernel_config(1000)
    )
    sm.create_app_image_config(
        AppImageConfigName="as-root", KernelGatewayImageConfig=kernel_config(0)
    )
    return one, two


def test_user_profiles_are_described_tagged_and_named_by_domain(aws: Any) -> None:
    one, two = seed_two_domains(aws)
    snap = collect_only(*STUDIO)
    profiles = resources(snap, "sagemaker:user-profile")
    assert set(profiles) == {f"{one}/alice", f"{one}/bob", f"{two}/carol"}
    alice, bob, carol = (profiles[i] for i in (f"{one}/alice", f"{one}/bob", f"{two}/carol"))
    assert alice.arn == f"{ARN}:user-profile/{one}/alice"
    assert alice.arn == alice.data["UserProfileArn"]  # the built ARN is AWS's
    assert carol.arn == f"{ARN}:user-profile/{two}/carol"
    # The override is what DescribeUserProfile adds over the list item.
    assert alice.data["UserSettings"]["SecurityGroups"] == ["sg-0alice"]
    assert "SecurityGroups" not in bob.data["UserSettings"]
    assert alice.data["Tags"] == [{"Key": "team", "Value": "research"}]
    assert bob.data["Tags"] == [] and carol.data["Tags"] == []
    assert (bob.data["DomainId"], carol.data["DomainId"]) == (one, two)
    assert alice.data["Status"] == "InService"
    assert isinstance(alice.data["CreationTime"], str)  # datetimes are ISO strings
    for name in STUDIO:
        assert outcome(snap, name).status is OutcomeStatus.OK, name
    assert outcome(snap, "studio-user-profile").resource_count == 3


def test_spaces_are_described_with_ownership_and_sharing(aws: Any) -> None:
    one, two = seed_two_domains(aws)
    snap = collect_only("studio-space")
    spaces = resources(snap, "sagemaker:space")
    assert set(spaces) == {f"{one}/alice-private", f"{two}/shared"}
    private, shared = spaces[f"{one}/alice-private"], spaces[f"{two}/shared"]
    assert private.arn == f"{ARN}:space/{one}/alice-private" == private.data["SpaceArn"]
    assert private.data["OwnershipSettings"] == {"OwnerUserProfileName": "alice"}
    assert "OwnershipSettings" not in shared.data
    assert private.data["SpaceSharingSettings"] == {"SharingType": "Private"}
    assert shared.data["SpaceSharingSettings"] == {"SharingType": "Shared"}
    assert private.data["SpaceSettings"] == {"AppType": "JupyterLab"}
    assert private.data["Tags"] == [{"Key": "owner", "Value": "alice"}]
    assert shared.data["Tags"] == []
    got = outcome(snap, "studio-space")
    assert (got.status, got.resource_count) == (OutcomeStatus.OK, 2)


def test_app_image_configs_keep_the_file_system_uid(aws: Any) -> None:
    seed_two_domains(aws)
    snap = collect_only("app-image-config")
    configs = resources(snap, "sagemaker:app-image-config")
    assert set(configs) == {"as-user", "as-root"}
    root = configs["as-root"]
    assert root.arn == f"{ARN}:app-image-config/as-root" == root.data["AppImageConfigArn"]
    assert root.data["KernelGatewayImageConfig"]["FileSystemConfig"]["DefaultUid"] == 0
    user_fs = configs["as-user"].data["KernelGatewayImageConfig"]["FileSystemConfig"]
    assert user_fs == {"DefaultUid": 1000, "DefaultGid": 100}
    assert "JupyterLabAppImageConfig" not in root.data
    got = outcome(snap, "app-image-config")
    assert (got.status, got.resource_count) == (OutcomeStatus.OK, 2)


def test_an_image_config_without_file_system_config_has_none(aws: Any) -> None:
    aws("sagemaker").create_app_image_config(
        AppImageConfigName="plain", KernelGatewayImageConfig=kernel_config(None)
    )
    data = resources(collect_only("app-image-config"), "sagemaker:app-image-config")["plain"].data
    assert data["KernelGatewayImageConfig"] == {"KernelSpecs": [{"Name": "python3"}]}


# -- pagination ----------------------------------------------------------------------------

# AWS's (and the extension's) default page for all three list calls is 10 items.
MEMBERS = 12


def create_members(aws: Any, collector: str, domain: str) -> set[str]:
    sm = aws("sagemaker")
    names = [f"m-{i:02d}" for i in range(MEMBERS)]
    for name in names:
        if collector == "studio-user-profile":
            sm.create_user_profile(DomainId=domain, UserProfileName=name)
        elif collector == "studio-space":
            sm.create_space(DomainId=domain, SpaceName=name)
        else:
            sm.create_app_image_config(
                AppImageConfigName=name, KernelGatewayImageConfig=kernel_config(1000)
            )
    if collector == "app-image-config":
        return set(names)
    return {f"{domain}/{n}" for n in names}


@pytest.mark.parametrize(
    ("collector", "rtype", "operation"),
    [
        ("studio-user-profile", "sagemaker:user-profile", "ListUserProfiles"),
        ("studio-space", "sagemaker:space", "ListSpaces"),
        ("app-image-config", "sagemaker:app-image-config", "ListAppImageConfigs"),
    ],
)
def test_every_member_of_a_multi_page_listing_is_collected(
    proxy: FaultProxy, aws: Any, collector: str, rtype: str, operation: str
) -> None:
    expected = create_members(aws, collector, make_domain(aws, "paged"))
    snap = collect_only(collector, endpoint_url=proxy.url)
    assert proxy.counts[operation] == 2  # it really took two pages
    assert set(resources(snap, rtype)) == expected
    got = outcome(snap, collector)
    assert (got.status, got.resource_count) == (OutcomeStatus.OK, MEMBERS)


def test_list_pages_follow_max_results_and_the_domain_filter(aws: Any) -> None:
    sm = aws("sagemaker")
    one, two = make_domain(aws, "one"), make_domain(aws, "two")
    for name in ("a", "b", "c"):
        sm.create_user_profile(DomainId=one, UserProfileName=name)
    sm.create_user_profile(DomainId=two, UserProfileName="z")
    first = sm.list_user_profiles(DomainIdEquals=one, MaxResults=2)
    second = sm.list_user_profiles(DomainIdEquals=one, MaxResults=2, NextToken=first["NextToken"])
    names = [p["UserProfileName"] for p in first["UserProfiles"] + second["UserProfiles"]]
    assert names == ["a", "b", "c"]  # creation order, AWS's default sort
    assert "NextToken" not in second
    everyone = sm.list_user_profiles(SortOrder="Descending")["UserProfiles"]
    assert [p["UserProfileName"] for p in everyone] == ["z", "c", "b", "a"]


# -- the extension against botocore's model -------------------------------------------------

SERVICE = botocore.session.get_session().get_service_model("sagemaker")


def output_members(operation: str) -> set[str]:
    shape = SERVICE.operation_model(operation).output_shape
    return set(shape.members) if shape is not None else set()


def wire_bodies(client: Any) -> dict[str, Any]:
    """Operation -> the last raw JSON body moto sent for it, captured before parsing."""
    bodies: dict[str, Any] = {}

    def capture(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        raw = response_dict["body"]
        bodies[operation_model.name] = json.loads(raw) if raw else {}

    client.meta.events.register("before-parse.sagemaker.*", capture)
    return bodies


EXPECTED_KEYS = {
    "CreateUserProfile": {"UserProfileArn"},
    "DescribeUserProfile": {
        "DomainId", "UserProfileArn", "UserProfileName", "HomeEfsFileSystemUid", "Status",
        "LastModifiedTime", "CreationTime", "SingleSignOnUserIdentifier",
        "SingleSignOnUserValue", "UserSettings",
    },
    "ListUserProfiles": {"UserProfiles", "NextToken"},
    "CreateSpace": {"SpaceArn"},
    "DescribeSpace": {
        "DomainId", "SpaceArn", "SpaceName", "HomeEfsFileSystemUid", "Status",
        "LastModifiedTime", "CreationTime", "SpaceSettings", "OwnershipSettings",
        "SpaceSharingSettings", "SpaceDisplayName", "Url",
    },
    "ListSpaces": {"Spaces", "NextToken"},
    "CreateAppImageConfig": {"AppImageConfigArn"},
    "DescribeAppImageConfig": {
        "AppImageConfigArn", "AppImageConfigName", "CreationTime", "LastModifiedTime",
        "KernelGatewayImageConfig", "JupyterLabAppImageConfig", "CodeEditorAppImageConfig",
    },
    "ListAppImageConfigs": {"AppImageConfigs", "NextToken"},
    "ListTags": {"Tags"},
    "DeleteUserProfile": set(),
    "DeleteSpace": set(),
    "DeleteAppImageConfig": set(),
}  # fmt: skip

LIST_ITEMS = {
    "ListUserProfiles": ("UserProfiles", {"DomainId", "UserProfileName", "Status",
                                          "CreationTime", "LastModifiedTime"}),
    "ListSpaces": ("Spaces", {"DomainId", "SpaceName", "Status", "CreationTime",
                              "LastModifiedTime", "SpaceSettingsSummary",
                              "SpaceSharingSettingsSummary", "OwnershipSettingsSummary",
                              "SpaceDisplayName"}),
    "ListAppImageConfigs": ("AppImageConfigs", EXPECTED_KEYS["DescribeAppImageConfig"]),
}  # fmt: skip


def test_every_answer_of_the_extension_is_inside_botocores_output_shape(aws: Any) -> None:
    """Top-level keys on the wire are output-shape members; every member the extension
    fills in really arrives (a misspelt one would be dropped by moto's serializer, so the
    expected key sets also catch a typo); list items are members of the item shape."""
    sm = aws("sagemaker")
    bodies = wire_bodies(sm)
    domain = make_domain(aws, "shapes")
    sm.create_user_profile(
        DomainId=domain, UserProfileName="p", SingleSignOnUserIdentifier="UserName",
        SingleSignOnUserValue="p@example.com", UserSettings={"ExecutionRole": ROLE},
        Tags=[{"Key": "k", "Value": "v"}],
    )  # fmt: skip
    sm.describe_user_profile(DomainId=domain, UserProfileName="p")
    sm.create_user_profile(DomainId=domain, UserProfileName="q")
    sm.list_user_profiles(MaxResults=1)
    sm.create_space(
        DomainId=domain, SpaceName="s", SpaceDisplayName="S",
        SpaceSettings={"AppType": "JupyterLab", "RemoteAccess": "DISABLED",
                       "SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": 5}}},
        OwnershipSettings={"OwnerUserProfileName": "p"},
        SpaceSharingSettings={"SharingType": "Private"},
    )  # fmt: skip
    sm.describe_space(DomainId=domain, SpaceName="s")
    sm.create_space(DomainId=domain, SpaceName="t")
    sm.list_spaces(MaxResults=1)
    sm.create_app_image_config(
        AppImageConfigName="c", KernelGatewayImageConfig=kernel_config(0),
        JupyterLabAppImageConfig={"FileSystemConfig": {"DefaultUid": 0}},
        CodeEditorAppImageConfig={"FileSystemConfig": {"DefaultUid": 1000}},
    )  # fmt: skip
    sm.describe_app_image_config(AppImageConfigName="c")
    sm.create_app_image_config(AppImageConfigName="d")
    sm.list_app_image_configs(MaxResults=1, SortOrder="Ascending")  # AWS: newest first
    sm.list_tags(ResourceArn=f"{ARN}:user-profile/{domain}/p")
    sm.delete_space(DomainId=domain, SpaceName="t")
    sm.delete_user_profile(DomainId=domain, UserProfileName="q")
    sm.delete_app_image_config(AppImageConfigName="d")

    assert set(bodies) == set(EXPECTED_KEYS)
    for operation, body in bodies.items():
        assert set(body) <= output_members(operation), operation
        assert set(body) == EXPECTED_KEYS[operation], operation
    for operation, (key, expected) in LIST_ITEMS.items():
        list_shape = SERVICE.operation_model(operation).output_shape.members[key]
        (item,) = bodies[operation][key]
        assert set(item) <= set(list_shape.member.members), operation
        assert set(item) == expected, operation
    space = bodies["ListSpaces"]["Spaces"][0]
    assert space["SpaceSettingsSummary"]["SpaceStorageSettings"] == {
        "EbsStorageSettings": {"EbsVolumeSizeInGb": 5}
    }
    assert bodies["DescribeUserProfile"]["UserProfileArn"] == f"{ARN}:user-profile/{domain}/p"
    assert isinstance(bodies["DescribeSpace"]["CreationTime"], int | float)  # epoch, JSON


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda sm: sm.describe_user_profile(DomainId="d-x", UserProfileName="nobody"),
         "ResourceNotFound"),
        (lambda sm: sm.describe_space(DomainId="d-x", SpaceName="nothing"), "ResourceNotFound"),
        (lambda sm: sm.describe_app_image_config(AppImageConfigName="none"), "ResourceNotFound"),
        (lambda sm: sm.delete_user_profile(DomainId="d-x", UserProfileName="nobody"),
         "ResourceNotFound"),
        (lambda sm: sm.create_user_profile(DomainId="d-missing", UserProfileName="p"),
         "ValidationException"),  # moto's own unknown-domain error, as DescribeDomain says
        (lambda sm: sm.create_space(DomainId="d-missing", SpaceName="s"), "ValidationException"),
        (lambda sm: sm.create_user_profile(DomainId="d-x", UserProfileName="taken"),
         "ResourceInUse"),
        (lambda sm: sm.create_space(DomainId="d-x", SpaceName="s",
                                    OwnershipSettings={"OwnerUserProfileName": "nobody"}),
         "ResourceNotFound"),
        (lambda sm: sm.list_tags(ResourceArn=f"{ARN}:user-profile/d-x/nobody"),
         "ValidationException"),
        (lambda sm: sm.list_user_profiles(NextToken="not-a-token"), "InvalidToken"),
    ],
)  # fmt: skip
def test_unknown_and_duplicate_names_are_errors_like_aws(aws: Any, call: Any, code: str) -> None:
    sm = aws("sagemaker")
    make_domain(aws, "x")
    sm.create_user_profile(DomainId="d-x", UserProfileName="taken")
    with pytest.raises(ClientError) as raised:
        call(sm)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_reset_forgets_the_extensions_resources(aws: Any, moto: Any) -> None:
    sm = aws("sagemaker")
    sm.create_user_profile(DomainId=make_domain(aws, "x"), UserProfileName="p")
    sm.create_app_image_config(AppImageConfigName="c")
    assert sm.list_user_profiles()["UserProfiles"]
    moto.reset()
    assert sm.list_user_profiles()["UserProfiles"] == []
    assert sm.list_app_image_configs()["AppImageConfigs"] == []


def test_install_is_idempotent(moto: Any) -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    lookup = SageMakerModelBackend._get_resource_from_arn
    moto_studio.install()
    assert SageMakerModelBackend._get_resource_from_arn is lookup  # not wrapped twice
    for name, handler in moto_studio.HANDLERS.items():
        assert getattr(SageMakerResponse, name) is handler, name


# -- failures ------------------------------------------------------------------------------


def test_failed_describe_user_profile_fails_only_that_collector(
    proxy: FaultProxy, aws: Any
) -> None:
    seed_two_domains(aws)
    proxy.fail("DescribeUserProfile", ACCESS_DENIED)
    snap = collect_only(*STUDIO, endpoint_url=proxy.url)
    failed = outcome(snap, "studio-user-profile")
    assert failed.status is OutcomeStatus.ERROR
    assert (failed.error_code, failed.operation) == ("AccessDenied", "DescribeUserProfile")
    assert failed.resource_types == ["sagemaker:user-profile"]
    assert resources(snap, "sagemaker:user-profile") == {}
    assert proxy.counts["ListUserProfiles"] == 1  # the listing itself succeeded
    assert proxy.counts["GetResources"] >= 1  # other collectors still tagged their resources
    for name in ("studio-domain", "studio-space", "app-image-config"):
        assert outcome(snap, name).status is OutcomeStatus.OK, name
    assert len(resources(snap, "sagemaker:space")) == 2
    assert snap.failed_outcomes() == [failed]
