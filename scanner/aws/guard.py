"""The read-only guard: refuse any AWS operation that is not a known read, before it is sent.

The scanner runs with whatever credentials the user has, often an administrator's.  A bug
(or a malicious rule pack, later) must not be able to change the estate it audits, so every
client made by :mod:`scanner.aws.session` carries a hook on botocore's
``provide-client-params`` event.  That event is the first one botocore emits for an API
call, before parameter validation, serialisation, signing or any network I/O, so a refused
call never leaves the process.

The allowlist is explicit and hand-written on purpose: deriving it from the collector specs
would make the guard agree with any call a collector happened to make.  The tests check the
specs against it (and against ``docs/scanner-readonly-policy.json``).
"""

from __future__ import annotations

from typing import Any

from scanner import cancel

# "service:OperationName", service as botocore names it (client.meta.service_model.service_name).
READ_ONLY_OPERATIONS: frozenset[str] = frozenset(
    {
        # identity and region discovery
        "sts:GetCallerIdentity",
        "ec2:DescribeRegions",
        # organization scans: the member accounts, and the scanner's role in each (AssumeRole
        # changes nothing in the account; it returns temporary credentials)
        "sts:AssumeRole",
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
        # EC2 networking
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeSubnets",
        "ec2:DescribeRouteTables",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNatGateways",
        "ec2:DescribeVpnGateways",
        "ec2:DescribeVpnConnections",
        "ec2:DescribeTransitGatewayVpcAttachments",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeFlowLogs",
        "ec2:DescribeVpcEndpoints",
        # Direct Connect
        "directconnect:DescribeDirectConnectGateways",
        "directconnect:DescribeDirectConnectGatewayAssociations",
        "directconnect:DescribeVirtualInterfaces",
        # Route 53 and Resolver
        "route53:ListHostedZones",
        "route53:GetHostedZone",
        "route53:ListResourceRecordSets",
        "route53resolver:ListResolverRules",
        "route53resolver:ListResolverRuleAssociations",
        # SageMaker
        "sagemaker:ListNotebookInstances",
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:ListTags",
        "sagemaker:ListDomains",
        "sagemaker:DescribeDomain",
        "sagemaker:ListUserProfiles",
        "sagemaker:DescribeUserProfile",
        "sagemaker:ListSpaces",
        "sagemaker:DescribeSpace",
        "sagemaker:ListAppImageConfigs",
        # Resource Groups Tagging API (tags of SageMaker resources in bulk)
        "resourcegroupstaggingapi:GetResources",
        # IAM
        "iam:GetAccountAuthorizationDetails",
        # Organizations
        "organizations:DescribeOrganization",
        "organizations:ListPolicies",
        "organizations:DescribePolicy",
        "organizations:ListTargetsForPolicy",
        "organizations:ListParents",
        # CloudTrail
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        # KMS: the keys notebooks and Studio domains name (who manages each)
        "kms:DescribeKey",
    }
)

# botocore service names whose IAM action prefix differs from the service name: the mapping
# is explicit, not assumed (``resourcegroupstaggingapi:GetResources`` is ``tag:GetResources``).
_IAM_PREFIX: dict[str, str] = {"resourcegroupstaggingapi": "tag"}


class ReadOnlyViolation(Exception):
    """An operation outside :data:`READ_ONLY_OPERATIONS` was attempted and refused."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(
            f"refused {operation}: the scanner is read-only and this operation is not in its "
            "allowlist of read calls"
        )


def iam_action(operation: str) -> str:
    """IAM action name for a ``service:OperationName`` (what the IAM policy must allow)."""
    service, _, name = operation.partition(":")
    return f"{_IAM_PREFIX.get(service, service)}:{name}"


def _refuse_writes(model: Any, **_: Any) -> None:
    """botocore ``provide-client-params`` handler: raise unless the operation is allowed."""
    operation = f"{model.service_model.service_name}:{model.name}"
    if operation not in READ_ONLY_OPERATIONS:
        raise ReadOnlyViolation(operation)


def _stop_if_cancelled(**_: Any) -> None:
    """botocore ``before-send`` handler: once a stop is requested (SIGTERM), no HTTP request
    leaves the process, retries included (see :mod:`scanner.cancel`)."""
    cancel.check()


def install_guard(client: Any) -> Any:
    """Attach the guard to ``client`` (and return it) so no write can be sent through it,
    and nothing at all once the scan has been asked to stop."""
    client.meta.events.register("provide-client-params", _refuse_writes)
    client.meta.events.register("before-send", _stop_if_cancelled)
    return client
