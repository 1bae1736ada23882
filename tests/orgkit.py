"""An AWS Organization on moto's server, built over HTTP, for organization-scan tests.

Why: an organization scan discovers member accounts from the management account and reaches
each by assuming ``OrganizationAccountAccessRole``; its tests need a real tree (a root, OUs,
members in them, SCPs) and resources seeded *inside* member accounts, all through the same
HTTP API the scanner reads, never by reaching into moto's backends.  moto's
``CreateAccount`` creates the member and, in it, ``OrganizationAccountAccessRole`` trusting
the management account, as AWS does; with :mod:`scanner.demo.moto_sts` installed (it is, by
``start_moto``) a member whose role is gone is refused with AccessDenied, as in AWS.

The management account is moto's default account (123456789012, credentials
"testing"/"testing"); member ids are moto's random 12-digit ids.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3

MANAGEMENT_ID = "123456789012"
ACCESS_ROLE = "OrganizationAccountAccessRole"
BASE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
ORG_REGION = "us-east-1"
"""Organizations is a global service answered in us-east-1."""
PROD, SANDBOX = "prod", "sandbox"


@dataclass
class Org:
    """An organization built by :func:`build_org`, and clients into each of its accounts.

    ``members`` keeps creation order (the first two are in ``prod``, the rest in
    ``sandbox``).  Clients are cached per (service, account, region) and are thread-safe to
    use; creating them is serialised on one boto3 session (boto3 sessions are not
    thread-safe), so seeders may call :meth:`client` from a thread pool.
    """

    url: str
    management_id: str
    root_id: str
    ous: dict[str, str]
    members: list[str]
    region: str = ORG_REGION
    _session: boto3.Session = field(default_factory=boto3.Session, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _credentials: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)
    _clients: dict[tuple[str, str, str], Any] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def accounts(self) -> list[str]:
        """The management account, then the members."""
        return [self.management_id, *self.members]

    def role_arn(self, account_id: str) -> str:
        """The member's ``OrganizationAccountAccessRole``."""
        return f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE}"

    def client(self, service: str, account_id: str, region: str = ORG_REGION) -> Any:
        """A boto3 client in ``account_id``: the base credentials for the management
        account, else the member's ``OrganizationAccountAccessRole`` (assumed once per
        member from the management account; the session lasts moto's default hour)."""
        key = (service, account_id, region)
        with self._lock:
            if key not in self._clients:
                creds = self._credentials_for(account_id)
                self._clients[key] = self._session.client(
                    service, region_name=region, endpoint_url=self.url, **creds
                )
            return self._clients[key]

    def forget(self, account_id: str) -> None:
        """Drop the account's cached credentials and clients (the next client assumes again)."""
        with self._lock:
            self._credentials.pop(account_id, None)
            for key in [k for k in self._clients if k[1] == account_id]:
                del self._clients[key]

    def _credentials_for(self, account_id: str) -> dict[str, str]:
        """Called under ``_lock``."""
        if account_id == self.management_id:
            return dict(BASE_CREDENTIALS)
        if account_id not in self._credentials:
            sts = self._session.client(
                "sts", region_name=self.region, endpoint_url=self.url, **BASE_CREDENTIALS
            )
            answer = sts.assume_role(RoleArn=self.role_arn(account_id), RoleSessionName="orgkit")
            creds = answer["Credentials"]
            self._credentials[account_id] = {
                "aws_access_key_id": str(creds["AccessKeyId"]),
                "aws_secret_access_key": str(creds["SecretAccessKey"]),
                "aws_session_token": str(creds["SessionToken"]),
            }
        return self._credentials[account_id]


def _management_client(url: str, service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=url, **BASE_CREDENTIALS)


def _created_account(orgs: Any, request_id: str, *, timeout: float = 30.0) -> str:
    """Wait for CreateAccount (asynchronous in AWS; moto answers SUCCEEDED at once)."""
    deadline = time.monotonic() + timeout
    while True:
        status = orgs.describe_create_account_status(CreateAccountRequestId=request_id)[
            "CreateAccountStatus"
        ]
        if status["State"] == "SUCCEEDED":
            return str(status["AccountId"])
        if status["State"] == "FAILED" or time.monotonic() > deadline:
            raise RuntimeError(f"CreateAccount {request_id}: {status}")
        time.sleep(0.1)


def build_org(url: str, *, members: int = 3, region: str = ORG_REGION) -> Org:
    """An organization (all features) whose management account is moto's default account.

    Under the root: OUs ``prod`` and ``sandbox``; ``members`` accounts (``member-<n>``,
    ``member-<n>@example.com``) created with CreateAccount, the first two moved to ``prod``
    and the rest to ``sandbox``.  SCPs are enabled on the root as in AWS, where a new
    organization has the policy type disabled (moto would attach SCPs without it, AWS
    would not).  ``region`` is where the Organizations client is made (us-east-1).
    """
    orgs = _management_client(url, "organizations", region)
    management = str(orgs.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"])
    root = orgs.list_roots()["Roots"][0]
    root_id = str(root["Id"])
    enabled = {p["Type"] for p in root.get("PolicyTypes", []) if p["Status"] == "ENABLED"}
    if "SERVICE_CONTROL_POLICY" not in enabled:
        orgs.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    ous = {
        name: str(
            orgs.create_organizational_unit(ParentId=root_id, Name=name)["OrganizationalUnit"]["Id"]
        )
        for name in (PROD, SANDBOX)
    }
    ids: list[str] = []
    for n in range(members):
        request = orgs.create_account(Email=f"member-{n}@example.com", AccountName=f"member-{n}")
        account = _created_account(orgs, str(request["CreateAccountStatus"]["Id"]))
        target = ous[PROD] if n < 2 else ous[SANDBOX]
        orgs.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=target)
        ids.append(account)
    return Org(
        url=url, management_id=management, root_id=root_id, ous=ous, members=ids, region=region
    )


def attach_scp(org: Org, target_id: str, document: Mapping[str, Any], name: str) -> str:
    """A service control policy ``name`` with ``document``, attached to ``target_id`` (the
    root, an OU or an account); returns the policy id."""
    orgs = org.client("organizations", org.management_id, org.region)
    policy = orgs.create_policy(
        Name=name,
        Description=f"{name} (orgkit)",
        Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps(document),
    )["Policy"]["PolicySummary"]
    policy_id = str(policy["Id"])
    orgs.attach_policy(PolicyId=policy_id, TargetId=target_id)
    return policy_id


def _names(pages: Sequence[Mapping[str, Any]], key: str, field_name: str) -> list[str]:
    return [str(item[field_name]) for page in pages for item in page[key]]


def break_role(org: Org, account_id: str) -> None:
    """Delete the member's ``OrganizationAccountAccessRole`` (its policies and instance
    profiles first, as IAM requires), so it can no longer be assumed: AssumeRole answers
    AccessDenied.  The org's cached credentials for the account are dropped too, so
    :meth:`Org.client` assumes again (and fails) instead of reusing the old session."""
    if account_id == org.management_id:
        raise ValueError("the management account has no OrganizationAccountAccessRole")
    iam = org.client("iam", account_id)
    attached = list(iam.get_paginator("list_attached_role_policies").paginate(RoleName=ACCESS_ROLE))
    for arn in _names(attached, "AttachedPolicies", "PolicyArn"):
        iam.detach_role_policy(RoleName=ACCESS_ROLE, PolicyArn=arn)
    inline = list(iam.get_paginator("list_role_policies").paginate(RoleName=ACCESS_ROLE))
    for name in [n for page in inline for n in page["PolicyNames"]]:
        iam.delete_role_policy(RoleName=ACCESS_ROLE, PolicyName=name)
    profiles = iam.list_instance_profiles_for_role(RoleName=ACCESS_ROLE)["InstanceProfiles"]
    for profile in profiles:
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=ACCESS_ROLE
        )
    iam.delete_role(RoleName=ACCESS_ROLE)
    org.forget(account_id)
