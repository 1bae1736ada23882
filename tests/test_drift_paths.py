"""Field-level drift paths: readable, identity-matched, order-blind where order means nothing.

Every test starts from one compliant fixture and changes ONE thing, so the expected output
is exactly the change made.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from scanner.history.diffpaths import PathChange, diff_paths

ACCOUNT = "111122223333"
SID = "EnableNotebookAccess"
VPCE_PATH = f"PolicyDocument.Statement[Sid={SID}].Condition.StringEquals.aws:sourceVpce"


def notebook_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": SID,
                "Effect": "Allow",
                "Principal": "*",
                "Action": [
                    "sagemaker:CreatePresignedNotebookInstanceUrl",
                    "sagemaker:DescribeNotebookInstance",
                ],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:sourceVpce": ["vpce-0abc", "vpce-0def"]}},
            },
            {"Sid": "DenyDelete", "Effect": "Deny", "Principal": "*", "Action": "*"},
        ],
    }


def endpoint(policy: Any = None) -> dict[str, Any]:
    text = policy if isinstance(policy, str) else json.dumps(policy or notebook_policy())
    return {
        "arn": f"arn:aws:ec2:us-west-2:{ACCOUNT}:vpc-endpoint/vpce-0abc",
        "data": {
            "VpcEndpointId": "vpce-0abc",
            "State": "available",
            "SubnetIds": ["subnet-1", "subnet-2"],
            "Groups": [{"GroupId": "sg-1", "GroupName": "endpoints"}],
            "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "ml"}],
            "PolicyDocument": text,
        },
    }


def vpc() -> dict[str, Any]:
    return {
        "arn": f"arn:aws:ec2:us-west-2:{ACCOUNT}:vpc/vpc-1",
        "data": {"VpcId": "vpc-1", "EnableDnsSupport": True, "EnableDnsHostnames": True},
    }


def route_table() -> dict[str, Any]:
    return {
        "arn": f"arn:aws:ec2:us-west-2:{ACCOUNT}:route-table/rtb-1",
        "data": {
            "RouteTableId": "rtb-1",
            "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}],
            "Associations": [{"RouteTableAssociationId": "rtbassoc-1", "SubnetId": "subnet-1"}],
        },
    }


def group() -> dict[str, Any]:
    arn = f"arn:aws:iam::{ACCOUNT}:group/data-scientists"
    return {
        "arn": arn,
        "data": {
            "GroupName": "data-scientists",
            "Arn": arn,
            "GroupPolicyList": [{"PolicyName": "notebooks", "PolicyDocument": notebook_policy()}],
            "AttachedManagedPolicies": [
                {"PolicyName": "ReadOnly", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
            ],
        },
    }


def statements(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The endpoint fixture's statements, for edits that are then written back."""
    return json.loads(record["data"]["PolicyDocument"])["Statement"]  # type: ignore[no-any-return]


def with_statements(record: dict[str, Any], stmts: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out["data"]["PolicyDocument"] = json.dumps({"Version": "2012-10-17", "Statement": stmts})
    return out


# ------------------------------------------------------------------------ no drift


def test_identical_records_have_no_drift() -> None:
    assert diff_paths("ec2:vpc-endpoint", endpoint(), endpoint()) == []


def test_reordered_statements_are_no_drift() -> None:
    before = endpoint()
    after = with_statements(before, list(reversed(statements(before))))
    assert diff_paths("ec2:vpc-endpoint", before, after) == []


def test_reordered_scalar_lists_and_tags_are_no_drift() -> None:
    after = endpoint()
    after["data"]["SubnetIds"].reverse()
    after["data"]["Tags"].reverse()
    assert diff_paths("ec2:vpc-endpoint", endpoint(), after) == []


def test_whitespace_only_policy_rewrite_is_no_drift() -> None:
    after = endpoint(json.dumps(notebook_policy(), indent=4, sort_keys=True))
    assert after["data"]["PolicyDocument"] != endpoint()["data"]["PolicyDocument"]
    assert diff_paths("ec2:vpc-endpoint", endpoint(), after) == []


def test_volatile_only_change_is_no_drift() -> None:
    before = {
        "arn": "arn:nb",
        "data": {"RootAccess": "Disabled", "NotebookInstanceStatus": "Stopped"},
    }
    after = copy.deepcopy(before)
    after["data"]["NotebookInstanceStatus"] = "InService"
    assert diff_paths("sagemaker:notebook-instance", before, after) == []


def test_volatile_field_of_each_list_element_is_no_drift() -> None:
    tunnels = [{"OutsideIpAddress": "203.0.113.1", "Status": "UP", "AcceptedRouteCount": 2}]
    before = {"arn": "arn:vpn", "data": {"State": "available", "VgwTelemetry": tunnels}}
    after = copy.deepcopy(before)
    after["data"]["VgwTelemetry"][0]["AcceptedRouteCount"] = 5
    assert diff_paths("ec2:vpn-connection", before, after) == []


# ------------------------------------------------------------------------ readable paths


def test_vpc_attribute_change_reads_the_attribute() -> None:
    after = vpc()
    after["data"]["EnableDnsHostnames"] = False
    assert diff_paths("ec2:vpc", vpc(), after) == [PathChange("EnableDnsHostnames", True, False)]


def test_arn_change_reads_arn() -> None:
    after = vpc()
    after["arn"] = "arn:aws:ec2:us-west-2:111122223333:vpc/vpc-2"
    assert [c.path for c in diff_paths("ec2:vpc", vpc(), after)] == ["arn"]


def test_endpoint_removed_from_source_vpce_condition_is_named() -> None:
    stmts = statements(endpoint())
    stmts[0]["Condition"]["StringEquals"]["aws:sourceVpce"] = ["vpce-0def"]
    after = with_statements(endpoint(), stmts)
    assert diff_paths("ec2:vpc-endpoint", endpoint(), after) == [
        PathChange(VPCE_PATH, ["vpce-0abc", "vpce-0def"], ["vpce-0def"], (), ("vpce-0abc",))
    ]


def test_condition_scalar_becoming_a_list_is_one_change() -> None:
    before_stmts = statements(endpoint())
    before_stmts[0]["Condition"]["StringEquals"]["aws:sourceVpce"] = "vpce-0abc"
    before = with_statements(endpoint(), before_stmts)
    after = with_statements(endpoint(), statements(endpoint()))
    assert diff_paths("ec2:vpc-endpoint", before, after) == [
        PathChange(VPCE_PATH, "vpce-0abc", ["vpce-0abc", "vpce-0def"], ("vpce-0def",), ())
    ]
    assert diff_paths("ec2:vpc-endpoint", after, before) == [
        PathChange(VPCE_PATH, ["vpce-0abc", "vpce-0def"], "vpce-0abc", (), ("vpce-0def",))
    ]


def test_repeated_scalar_members_count() -> None:
    after = endpoint()
    after["data"]["SubnetIds"].append("subnet-1")
    (change,) = diff_paths("ec2:vpc-endpoint", endpoint(), after)
    assert (change.path, change.added, change.removed) == ("SubnetIds", ("subnet-1",), ())


def test_sidless_statements_fall_back_to_the_index() -> None:
    stmts = [{k: v for k, v in s.items() if k != "Sid"} for s in statements(endpoint())]
    before = with_statements(endpoint(), stmts)
    stmts[1]["Effect"] = "Allow"
    after = with_statements(endpoint(), stmts)
    assert diff_paths("ec2:vpc-endpoint", before, after) == [
        PathChange("PolicyDocument.Statement[1].Effect", "Deny", "Allow")
    ]


def test_a_sidless_statement_added_to_sids_compares_both_sides_by_index() -> None:
    stmts = statements(endpoint())
    extra = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    after = with_statements(endpoint(), [*stmts, extra])
    assert diff_paths("ec2:vpc-endpoint", endpoint(), after) == [
        PathChange("PolicyDocument.Statement[2]", None, extra)
    ]


def test_tag_value_change_reads_the_tag_key() -> None:
    after = endpoint()
    after["data"]["Tags"][0]["Value"] = "dev"
    assert diff_paths("ec2:vpc-endpoint", endpoint(), after) == [
        PathChange("Tags[Key=env].Value", "prod", "dev")
    ]


def test_removed_tag_holds_the_whole_element() -> None:
    after = endpoint()
    del after["data"]["Tags"][1]
    assert diff_paths("ec2:vpc-endpoint", endpoint(), after) == [
        PathChange("Tags[Key=team]", {"Key": "team", "Value": "ml"}, None)
    ]


def test_route_added_reads_its_destination() -> None:
    after = route_table()
    route = {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}
    after["data"]["Routes"].append(route)
    assert diff_paths("ec2:route-table", route_table(), after) == [
        PathChange("Routes[DestinationCidrBlock=0.0.0.0/0]", None, route)
    ]


def test_group_inline_policy_added_reads_its_name() -> None:
    after = group()
    inline = {"PolicyName": "extra", "PolicyDocument": {"Statement": []}}
    after["data"]["GroupPolicyList"].append(inline)
    assert diff_paths("iam:group", group(), after) == [
        PathChange("GroupPolicyList[PolicyName=extra]", None, inline)
    ]


def test_group_inline_policy_statement_change_reads_policy_and_sid() -> None:
    after = group()
    after["data"]["GroupPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"].append(
        "sagemaker:StopNotebookInstance"
    )
    (change,) = diff_paths("iam:group", group(), after)
    assert change.path == (
        f"GroupPolicyList[PolicyName=notebooks].PolicyDocument.Statement[Sid={SID}].Action"
    )
    assert (change.added, change.removed) == (("sagemaker:StopNotebookInstance",), ())


def test_managed_policy_attachments_are_matched_by_policy_name_first() -> None:
    after = group()
    after["data"]["AttachedManagedPolicies"][0]["PolicyArn"] = "arn:aws:iam::aws:policy/Other"
    assert [c.path for c in diff_paths("iam:group", group(), after)] == [
        "AttachedManagedPolicies[PolicyName=ReadOnly].PolicyArn"
    ]


def test_a_key_with_duplicate_values_does_not_identify() -> None:
    before = endpoint()
    before["data"]["Tags"] = [{"Key": "env", "Value": "a"}, {"Key": "env", "Value": "b"}]
    after = copy.deepcopy(before)
    after["data"]["Tags"][1]["Value"] = "c"
    assert [c.path for c in diff_paths("ec2:vpc-endpoint", before, after)] == ["Tags[1].Value"]


def test_condition_operator_swap_is_reported_per_key() -> None:
    stmts = statements(endpoint())
    condition = stmts[0]["Condition"]
    condition["StringLike"] = condition.pop("StringEquals")
    after = with_statements(endpoint(), stmts)
    prefix = f"PolicyDocument.Statement[Sid={SID}].Condition"
    assert [c.path for c in diff_paths("ec2:vpc-endpoint", endpoint(), after)] == [
        f"{prefix}.StringEquals",
        f"{prefix}.StringLike",
    ]


def test_invalid_policy_text_change_reads_the_field() -> None:
    after = endpoint("{broken")
    (change,) = diff_paths("ec2:vpc-endpoint", endpoint("{broke"), after)
    assert change == PathChange("PolicyDocument", "{broke", "{broken")


def test_dunder_keys_are_data_too() -> None:
    before = {"arn": None, "data": {"__meta": 1}}
    after = {"arn": None, "data": {"__meta": 2}}
    assert diff_paths("ec2:vpc", before, after) == [PathChange("__meta", 1, 2)]


# ------------------------------------------------------------------------ output contract


def test_output_is_sorted_and_deterministic() -> None:
    after = endpoint()
    after["data"]["Tags"][0]["Value"] = "dev"
    after["data"]["State"] = "pending"
    after["data"]["SubnetIds"] = ["subnet-1"]
    paths = [c.path for c in diff_paths("ec2:vpc-endpoint", endpoint(), after)]
    assert paths == ["State", "SubnetIds", "Tags[Key=env].Value"]
    assert diff_paths("ec2:vpc-endpoint", endpoint(), after) == diff_paths(
        "ec2:vpc-endpoint", endpoint(), after
    )


def test_diff_paths_never_mutates_its_inputs() -> None:
    before, after = group(), group()
    after["data"]["GroupPolicyList"].clear()
    snapshot = copy.deepcopy((before, after))
    diff_paths("iam:group", before, after)
    assert (before, after) == snapshot


def test_to_dict_omits_empty_member_lists() -> None:
    assert PathChange("State", "a", "b").to_dict() == {"path": "State", "before": "a", "after": "b"}
    assert PathChange("Ids", ["x"], ["y"], ("y",), ("x",)).to_dict() == {
        "path": "Ids",
        "before": ["x"],
        "after": ["y"],
        "added": ["y"],
        "removed": ["x"],
    }
