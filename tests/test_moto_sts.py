"""AssumeRole as AWS judges it (scanner/demo/moto_sts.py), over moto's real HTTP server.

Stock moto 5.2.5 hands out credentials for any role ARN; every denial below would be a
success without the module, and every allowed call checks the credentials really reach the
role's account.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from scanner.demo import moto_sts
from scanner.demo.moto_sts import Caller, Request, trust_allows
from scanner.demo.server import MotoServer
from tests.conftest import ACCOUNT, REGION

OTHER = "111111111111"
MOTO_CALLER = f"arn:aws:sts::{ACCOUNT}:user/moto"  # moto's identity for unknown keys


def _trust(principal: Any, **extra: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _role(aws: Any, name: str, trust: dict[str, Any]) -> str:
    iam = aws("iam")
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


def _with(moto: MotoServer, creds: dict[str, Any], service: str = "sts") -> Any:
    """A client over the given credentials (an AssumeRole answer's, or a user's keys)."""
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=moto.url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
    )


def _denied(call: Any, caller: str, role_arn: str) -> None:
    """``call()`` fails exactly as AWS refuses an AssumeRole."""
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["Error"]["Type"] == "Sender"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Message"] == (
        f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )


# -- allowed -------------------------------------------------------------------------------


def test_a_trusted_role_is_assumed_and_its_credentials_are_the_role(aws: Any, moto: Any) -> None:
    arn = _role(aws, "reader", _trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    creds = aws("sts").assume_role(RoleArn=arn, RoleSessionName="sess")["Credentials"]
    me = _with(moto, creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/sess"


def test_an_organization_member_role_is_assumed_from_the_management_account(
    aws: Any, moto: Any
) -> None:
    org = aws("organizations", "us-east-1")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"][
        "AccountId"
    ]
    arn = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    creds = aws("sts").assume_role(RoleArn=arn, RoleSessionName="scan")["Credentials"]
    assert _with(moto, creds).get_caller_identity()["Account"] == member


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": ACCOUNT}, {"AWS": [f"arn:aws:iam::{OTHER}:root", ACCOUNT]}],
)
def test_principal_shapes_that_name_the_caller_allow(aws: Any, principal: Any) -> None:
    arn = _role(aws, "r", _trust(principal))
    assert aws("sts").assume_role(RoleArn=arn, RoleSessionName="sess")["Credentials"]


# -- denied --------------------------------------------------------------------------------


def test_a_role_that_does_not_exist_is_access_denied(aws: Any, moto: Any) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:role/nobody"
    caller = aws("sts").get_caller_identity()["Arn"]
    assert caller == MOTO_CALLER
    _denied(lambda: aws("sts").assume_role(RoleArn=arn, RoleSessionName="sess"), caller, arn)


def test_a_role_is_found_by_its_whole_arn_path_included(aws: Any) -> None:
    iam = aws("iam")
    trust = json.dumps(_trust({"AWS": ACCOUNT}))
    iam.create_role(RoleName="pathed", Path="/team/", AssumeRolePolicyDocument=trust)
    sts = aws("sts")
    assert sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/team/pathed", RoleSessionName="sess"
    )["Credentials"]
    bare = f"arn:aws:iam::{ACCOUNT}:role/pathed"
    _denied(lambda: sts.assume_role(RoleArn=bare, RoleSessionName="sess"), MOTO_CALLER, bare)


def test_a_member_role_of_another_account_that_does_not_exist_is_denied(aws: Any) -> None:
    org = aws("organizations", "us-east-1")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"][
        "AccountId"
    ]
    arn = f"arn:aws:iam::{member}:role/NoSuchRole"
    _denied(lambda: aws("sts").assume_role(RoleArn=arn, RoleSessionName="sess"), MOTO_CALLER, arn)


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": f"arn:aws:iam::{OTHER}:root"},
        {"AWS": OTHER},
        {"AWS": f"arn:aws:iam::{OTHER}:user/moto"},
        {"Service": "sagemaker.amazonaws.com"},
    ],
)
def test_a_trust_policy_naming_another_principal_is_access_denied(aws: Any, principal: Any) -> None:
    arn = _role(aws, "theirs", _trust(principal))
    _denied(lambda: aws("sts").assume_role(RoleArn=arn, RoleSessionName="sess"), MOTO_CALLER, arn)


def test_an_explicit_deny_in_the_trust_policy_wins(aws: Any) -> None:
    trust = _trust({"AWS": ACCOUNT})
    trust["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "sts:*"})
    arn = _role(aws, "closed", trust)
    _denied(lambda: aws("sts").assume_role(RoleArn=arn, RoleSessionName="sess"), MOTO_CALLER, arn)


def test_a_trust_policy_for_another_action_is_access_denied(aws: Any) -> None:
    trust = _trust({"AWS": ACCOUNT})
    trust["Statement"][0]["Action"] = "sts:AssumeRoleWithWebIdentity"
    arn = _role(aws, "web", trust)
    _denied(lambda: aws("sts").assume_role(RoleArn=arn, RoleSessionName="sess"), MOTO_CALLER, arn)


# -- ExternalId ----------------------------------------------------------------------------


def test_external_id_required_by_the_trust_policy(aws: Any, moto: Any) -> None:
    condition = {"StringEquals": {"sts:ExternalId": "s3cr3t-id"}}
    arn = _role(aws, "vendor", _trust({"AWS": ACCOUNT}, Condition=condition))
    sts = aws("sts")
    _denied(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="sess"), MOTO_CALLER, arn)
    _denied(
        lambda: sts.assume_role(RoleArn=arn, RoleSessionName="sess", ExternalId="wrong-id"),
        MOTO_CALLER,
        arn,
    )
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="sess", ExternalId="s3cr3t-id")
    me = _with(moto, creds["Credentials"]).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/vendor/sess"


def test_external_id_condition_key_is_case_insensitive_and_accepts_a_list(aws: Any) -> None:
    condition = {"StringEquals": {"STS:externalid": ["first-id", "second-id"]}}
    arn = _role(aws, "vendor", _trust({"AWS": ACCOUNT}, Condition=condition))
    sts = aws("sts")
    assert sts.assume_role(RoleArn=arn, RoleSessionName="sess", ExternalId="second-id")
    _denied(
        lambda: sts.assume_role(RoleArn=arn, RoleSessionName="sess", ExternalId="third-id"),
        MOTO_CALLER,
        arn,
    )


# -- principals that are users and roles ---------------------------------------------------


def test_a_trust_policy_naming_a_user_admits_that_user_only(aws: Any, moto: Any) -> None:
    iam = aws("iam")
    users = {}
    for name in ("alice", "bob"):
        iam.create_user(UserName=name)
        users[name] = iam.create_access_key(UserName=name)["AccessKey"]
    arn = _role(aws, "alices", _trust({"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}))
    assert _with(moto, users["alice"]).assume_role(RoleArn=arn, RoleSessionName="sess")
    bob = _with(moto, users["bob"])
    _denied(
        lambda: bob.assume_role(RoleArn=arn, RoleSessionName="sess"),
        f"arn:aws:iam::{ACCOUNT}:user/bob",
        arn,
    )


def test_a_trust_policy_naming_a_role_admits_its_sessions_only(aws: Any, moto: Any) -> None:
    """Role chaining: a session of ``hop`` may assume ``target``; a session of ``other``
    may not, and the message names the refused session."""
    sts = aws("sts")
    hop = _role(aws, "hop", _trust({"AWS": ACCOUNT}))
    other = _role(aws, "other", _trust({"AWS": ACCOUNT}))
    target = _role(aws, "target", _trust({"AWS": hop}))
    via_hop = _with(moto, sts.assume_role(RoleArn=hop, RoleSessionName="aa")["Credentials"])
    chained = via_hop.assume_role(RoleArn=target, RoleSessionName="bb")["Credentials"]
    assert _with(moto, chained).get_caller_identity()["Arn"].endswith(":assumed-role/target/bb")
    via_other = _with(moto, sts.assume_role(RoleArn=other, RoleSessionName="cc")["Credentials"])
    _denied(
        lambda: via_other.assume_role(RoleArn=target, RoleSessionName="dd"),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/other/cc",
        target,
    )


# -- the judgement itself, without a server -------------------------------------------------

_ME = Request(Caller(account=ACCOUNT, arn=MOTO_CALLER))


def test_not_action_and_action_wildcards() -> None:
    assert trust_allows(_trust("*", Action="sts:Assume*"), _ME)
    assert trust_allows(_trust("*", Action=["s3:*", "STS:ASSUMEROLE"]), _ME)
    assert not trust_allows(_trust("*", Action="sts:AssumeRole?"), _ME)
    statement = {"Effect": "Allow", "Principal": "*", "NotAction": "sts:TagSession"}
    assert trust_allows({"Statement": statement}, _ME)  # Statement as a single object
    statement["NotAction"] = "sts:*"
    assert not trust_allows({"Statement": statement}, _ME)


def test_external_id_string_like_wildcards() -> None:
    trust = _trust("*", Condition={"StringLike": {"sts:ExternalId": "tenant-*"}})
    assert trust_allows(trust, Request(_ME.caller, external_id="tenant-42"))
    assert not trust_allows(trust, Request(_ME.caller, external_id="other-42"))
    assert not trust_allows(trust, _ME)


def test_conditions_not_understood_fail_closed() -> None:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert not trust_allows(_trust("*", Condition=mfa), _ME)  # an Allow grants nothing
    trust = _trust("*")
    trust["Statement"].append(
        {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Condition": mfa}
    )
    assert not trust_allows(trust, _ME)  # a Deny denies
    trust["Statement"][1]["Condition"] = {"StringEquals": {"sts:ExternalId": "x"}}
    assert trust_allows(trust, _ME)  # an understood Deny condition that fails: no deny


def test_install_is_idempotent(moto: Any) -> None:
    from moto.sts.responses import TokenResponse

    handler: Any = TokenResponse.assume_role
    original = handler.__wrapped__
    moto_sts.install()
    assert TokenResponse.assume_role is handler
    assert not hasattr(original, "__wrapped__")  # moto's own, wrapped once
