"""The resource types a rule may target, as documented in docs/ARCHITECTURE.md.

Validation refuses a rule whose ``resource_type`` or ``requires`` names anything else: a typo
(``ec2:vpc-endpoints``) would otherwise select nothing and the rule would silently never run.
``aws:account`` is synthetic: enrichment creates one per account (region ``global``, id the
account id) so account-wide rules such as "a multi-region trail is logging" have a subject.
"""

from __future__ import annotations

ACCOUNT_TYPE = "aws:account"
VPC_TYPE = "ec2:vpc"

RESOURCE_TYPES: frozenset[str] = frozenset(
    {
        VPC_TYPE,
        "ec2:subnet",
        "ec2:route-table",
        "ec2:internet-gateway",
        "ec2:nat-gateway",
        "ec2:vpn-gateway",
        "ec2:vpn-connection",
        "ec2:transit-gateway-vpc-attachment",
        "ec2:security-group",
        "ec2:flow-log",
        "ec2:vpc-endpoint",
        "directconnect:gateway",
        "directconnect:virtual-interface",
        "route53:hosted-zone",
        "route53resolver:rule",
        "route53resolver:rule-association",
        "sagemaker:notebook-instance",
        "sagemaker:domain",
        "sagemaker:user-profile",
        "sagemaker:space",
        "sagemaker:app-image-config",
        "iam:user",
        "iam:group",
        "iam:role",
        "iam:policy",
        "organizations:organization",
        "organizations:policy",
        "organizations:account",
        "cloudtrail:trail",
        "kms:key",
        ACCOUNT_TYPE,
    }
)
