"""Benchmark: public-access-path analysis for 5,000 roles x 3 policies against 500 notebooks.

Issue #3 §4 asks for under 5 s on one core.  The inventory is synthetic but shaped like a real
estate: every role has one shared managed policy (S3/CloudWatch), one inline policy of its own
granting notebook access in one of several styles (the AWS post's endpoint condition, a guard
Deny, ``StringEqualsIfExists``, a grant on a few notebook ARNs, a wildcard, an unrelated
service), and one inline policy with other services.  Run::

    .venv/bin/python benchmarks/bench_paths.py

It prints the time to build the inventory from the snapshot and the time of the analysis.
"""

from __future__ import annotations

import time
from typing import Any

from scanner.iam.inventory import build_inventory
from scanner.iam.paths import Approved, Notebook, analyze_inventory
from scanner.model.snapshot import Snapshot

ACCT = "111122223333"
ROLES = 5000
NOTEBOOKS = 500
PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
APPROVED = ["vpce-111bbccc", "vpce-111bbddd"]


def nb_arn(i: int) -> str:
    return f"arn:aws:sagemaker:us-west-2:{ACCT}:notebook-instance/nb-{i}"


def notebook_policy(i: int) -> dict[str, Any]:
    """One of six grant styles, varied by role number."""
    style = i % 6
    actions = [PRESIGN, "sagemaker:DescribeNotebookInstance"]
    vpce = {"StringEquals": {"aws:sourceVpce": APPROVED}}
    if style == 0:
        stmts = [{"Effect": "Allow", "Action": actions, "Resource": "*", "Condition": vpce}]
    elif style == 1:
        stmts = [
            {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": actions,
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": APPROVED}},
            },
        ]
    elif style == 2:
        stmts = [
            {
                "Effect": "Allow",
                "Action": actions,
                "Resource": "*",
                "Condition": {"StringEqualsIfExists": {"aws:sourceVpce": APPROVED}},
            }
        ]
    elif style == 3:
        stmts = [
            {
                "Effect": "Allow",
                "Action": actions,
                "Resource": [nb_arn(i % NOTEBOOKS), nb_arn((i + 7) % NOTEBOOKS)],
            }
        ]
    elif style == 4:
        stmts = [
            {
                "Effect": "Allow",
                "Action": "sagemaker:Describe*",
                "Resource": f"arn:aws:sagemaker:*:{ACCT}:notebook-instance/nb-{i % 10}*",
            }
        ]
    else:
        stmts = [{"Effect": "Allow", "Action": ["ec2:Describe*", "logs:*"], "Resource": "*"}]
    return {"Version": "2012-10-17", "Statement": stmts}


def build_snapshot() -> Snapshot:
    snap = Snapshot(accounts=[ACCT])
    shared = f"arn:aws:iam::{ACCT}:policy/SharedData"
    snap.add(
        ACCT,
        "global",
        "iam:policy",
        shared,
        {
            "Arn": shared,
            "PolicyVersionList": [
                {
                    "VersionId": "v1",
                    "IsDefaultVersion": True,
                    "Document": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:GetObject", "s3:ListBucket"],
                                "Resource": "*",
                            },
                            {"Effect": "Allow", "Action": "cloudwatch:*", "Resource": "*"},
                        ],
                    },
                }
            ],
        },
    )
    for i in range(ROLES):
        arn = f"arn:aws:iam::{ACCT}:role/role-{i}"
        snap.add(
            ACCT,
            "global",
            "iam:role",
            arn,
            {
                "RoleName": f"role-{i}",
                "Arn": arn,
                "Path": "/",
                "RoleId": f"AROA{i:012d}",
                "RolePolicyList": [
                    {"PolicyName": "notebooks", "PolicyDocument": notebook_policy(i)},
                    {
                        "PolicyName": "other",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["dynamodb:GetItem", "kms:Decrypt"],
                                    "Resource": f"arn:aws:dynamodb:us-west-2:{ACCT}:table/t{i}",
                                }
                            ],
                        },
                    },
                ],
                "AttachedManagedPolicies": [{"PolicyName": "SharedData", "PolicyArn": shared}],
            },
        )
    return snap


def main() -> None:
    snap = build_snapshot()
    notebooks = [Notebook(nb_arn(i), ACCT) for i in range(NOTEBOOKS)]
    t0 = time.perf_counter()
    inventory = build_inventory(snap)
    t1 = time.perf_counter()
    results = analyze_inventory(
        inventory, [PRESIGN], notebooks, Approved(frozenset(APPROVED), frozenset())
    )
    t2 = time.perf_counter()
    open_principals = sum(1 for r in results if r.has_path)
    paths = sum(len(r.paths) for r in results)
    print(f"roles={ROLES} policies/role=3 notebooks={NOTEBOOKS}")
    print(f"inventory build: {t1 - t0:.2f} s")
    print(
        f"path analysis:   {t2 - t1:.2f} s  ({open_principals} principals with a public path, "
        f"{paths} paths)"
    )


if __name__ == "__main__":
    main()
