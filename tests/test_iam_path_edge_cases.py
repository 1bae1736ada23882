"""Edge cases of the IAM path analysis (issue #3): contexts the candidate search must try.

Each test is a policy shape where AWS allows a request from outside the approved endpoints and
the finite candidate search has to find the context that gets through, or it reports a false
PASS: NotIpAddress guards, ``?``/``*`` wildcards around an approved endpoint id, policy
variables, two patterns on one key, out-of-range dates and numbers, dates spelled as the
evaluator reads them.  Others are SCP shapes that must not look stricter than AWS applies
them: a principal exempted from the guard, SCPs disabled, a level missing from the snapshot,
SCPs attached but unreadable.  Each varies one thing from a closed baseline, so the closed
twin is asserted too.
"""

from __future__ import annotations

from typing import Any

from scanner.iam.candidates import joint_witnesses
from scanner.iam.glob import glob_match
from scanner.iam.inventory import build_inventory
from scanner.iam.paths import Approved, Notebook, PathAnalyzer
from scanner.model.finding import Status
from scanner.model.snapshot import Snapshot
from tests.snapshots import ACCOUNT, EP_API, EP_NOTEBOOK, ORG_OU, ORG_ROOT, data
from tests.test_iam_paths import APPROVED, PRESIGN, analyse, doc, snapshot, stmt
from tests.test_iam_rules_offline import (
    DENY_OUTSIDE,
    USER,
    add_org,
    base,
    one,
    results,
    statement,
)

OPEN = stmt(action="sagemaker:*", Sid="Open")


def _ip_guard(operator: str) -> dict[str, Any]:
    return stmt("Deny", cond={operator: {"aws:SourceIp": ["198.51.100.0/24"]}}, Sid="IpGuard")


def test_not_ip_address_guard_leaves_the_listed_range_open() -> None:
    """Deny NotIpAddress [corp range] lets a caller *from* the corp range in, over the
    internet: the search must try an address inside the range (it tried only a non-IP fresh
    value and absence, both of which the guard denies)."""
    result = analyse(snapshot(doc(OPEN, _ip_guard("NotIpAddress"))))
    assert result.has_path
    ip = dict(result.paths[0].context)["aws:sourceip"]
    assert ip is not None and ip[0].startswith("198.51.100.")


def test_ip_address_guard_on_everything_closes() -> None:
    """The closed twin: a Deny IpAddress on 0.0.0.0/0 and ::/0 plus Null guard denies every
    caller with an address; without an address the Null guard denies."""
    guard = stmt(
        "Deny",
        cond={"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}},
        Sid="AllIps",
    )
    null = stmt("Deny", cond={"Null": {"aws:SourceIp": "true"}}, Sid="NoIp")
    assert not analyse(snapshot(doc(OPEN, guard, null))).has_path


def test_single_char_wildcard_reaching_a_foreign_endpoint_is_open() -> None:
    """``vpce-111bbcc?`` matches the approved ``vpce-111bbcc0`` *and* ``vpce-111bbcc1``, an id
    another account can own; the pattern's witness (``?`` -> ``0``) is the approved id, so
    another matching value must be tried."""
    cond = {"StringLike": {"aws:sourceVpce": ["vpce-111bbcc?"]}}
    approved = Approved(frozenset({"vpce-111bbcc0"}), APPROVED.vpcs)
    snap = snapshot(doc(stmt(cond=cond)))
    (principal,) = build_inventory(snap).principals
    nbs = [Notebook(f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:notebook-instance/nb1", ACCOUNT)]
    result = PathAnalyzer(nbs, approved).analyze(principal, PRESIGN)
    assert result.has_path
    vpce = dict(result.paths[0].context)["aws:sourcevpce"]
    assert vpce is not None and vpce[0] != "vpce-111bbcc0"


def test_star_suffix_after_an_approved_id_is_open() -> None:
    cond = {"StringLike": {"aws:sourceVpce": ["vpce-111bbccc*"]}}
    assert analyse(snapshot(doc(stmt(cond=cond)))).has_path


def test_exact_approved_id_stays_closed() -> None:
    """The closed twin of the two wildcard tests."""
    cond = {"StringLike": {"aws:sourceVpce": ["vpce-111bbccc"]}}
    assert not analyse(snapshot(doc(stmt(cond=cond)))).has_path


def test_vpce_from_a_principal_tag_variable_is_resolved() -> None:
    """``aws:SourceVpce == ${aws:PrincipalTag/vpce}``: the tag fixes the endpoint; a tag naming
    an endpoint outside the approved set is a way in through that endpoint."""
    cond = {"StringEquals": {"aws:SourceVpce": "${aws:PrincipalTag/vpce}"}}
    open_ = analyse(snapshot(doc(stmt(cond=cond)), tags={"vpce": "vpce-foreign1"}))
    assert open_.has_path
    assert dict(open_.paths[0].context)["aws:sourcevpce"] == ("vpce-foreign1",)
    closed = analyse(snapshot(doc(stmt(cond=cond)), tags={"vpce": "vpce-111bbccc"}))
    assert not closed.has_path


def test_variable_value_of_a_caller_key_is_resolved() -> None:
    """``aws:UserAgent == ${aws:username}``: the caller can send that user agent; the search
    must try the substituted text, not the literal ``${aws:username}``."""
    cond = {"StringEquals": {"aws:UserAgent": "${aws:username}"}}
    result = analyse(snapshot(doc(stmt(cond=cond))))
    assert result.has_path
    assert dict(result.paths[0].context)["aws:useragent"] == ("alice",)


def test_two_patterns_on_one_key_are_satisfied_together() -> None:
    """Allow ``StringLike vpce-a*`` guarded by Deny ``StringNotLike *b``: ``vpce-a...b`` gets
    through, though neither pattern's own witness satisfies both."""
    allow = stmt(cond={"StringLike": {"aws:sourceVpce": "vpce-a*"}})
    guard = stmt("Deny", cond={"StringNotLike": {"aws:sourceVpce": "*b"}}, Sid="Guard")
    assert analyse(snapshot(doc(allow, guard))).has_path


def test_two_patterns_no_string_satisfies_together_stay_closed() -> None:
    """The twin: ``vpce-a*`` allowed, everything not ``vpce-b*`` denied: no id is both."""
    allow = stmt(cond={"StringLike": {"aws:sourceVpce": "vpce-a*"}})
    guard = stmt("Deny", cond={"StringNotLike": {"aws:sourceVpce": "vpce-b*"}}, Sid="Guard")
    assert not analyse(snapshot(doc(allow, guard))).has_path


def test_joint_witnesses_cover_every_realisable_combination() -> None:
    found = joint_witnesses(("a*", "*b", "ab"))
    matches = {tuple(glob_match(p, w) for p in ("a*", "*b", "ab")) for w in found}
    # Realisable: none, a* only, *b only, a* and *b but not ab ("a0b"), all three ("ab").
    assert matches == {
        (False, False, False),
        (True, False, False),
        (False, True, False),
        (True, True, False),
        (True, True, True),
    }


def test_scp_exemption_for_a_principal_is_a_way_around_the_scp() -> None:
    """An SCP guard that exempts ``role/BreakGlass`` does not enforce the endpoint for the
    account: the SCP probe must not stand for one arbitrary principal only."""
    exempt = doc(
        {
            **statement(
                action=PRESIGN,
                vpces=[EP_NOTEBOOK, EP_API],
                effect="Deny",
                operator="StringNotEquals",
            ),
            "Condition": {
                "StringNotEquals": {"aws:sourceVpce": [EP_NOTEBOOK, EP_API]},
                "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"},
            },
        }
    )
    snap = base()
    add_org(snap, [("Exempting", exempt, [ACCOUNT])])
    found = one(results(snap), "org-scp-enforces-vpc-endpoint", ACCOUNT)
    assert found.status is Status.FAIL
    assert "BreakGlass" in found.message


def test_scp_probe_without_exemption_still_passes() -> None:
    snap = base()
    add_org(snap, [("RequireVpce", DENY_OUTSIDE, [ACCOUNT])])
    assert one(results(snap), "org-scp-enforces-vpc-endpoint", ACCOUNT).status is Status.PASS


def test_scps_attached_nowhere_mean_scps_are_off_not_deny_all() -> None:
    """With the SCP policy type disabled, AWS detaches every SCP and none applies; every level
    of the snapshot's path is empty.  Reading that as "no level allows" would deny everything
    and PASS every principal."""
    snap = base(doc(statement()))
    _only_full_access(snap, [])
    f = results(snap)
    principal = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert principal.status is Status.FAIL
    assert "SCPs are not enabled" in principal.evidence["scps"]
    assert one(f, "org-scp-enforces-vpc-endpoint", ACCOUNT).status is Status.FAIL


def test_scp_level_missing_from_the_snapshot_is_not_a_deny() -> None:
    """AWS requires at least one SCP on every root, OU and account; a level without one in the
    snapshot is incomplete data, which must not close a path."""
    snap = base(doc(statement()))
    _only_full_access(snap, [ORG_ROOT, ORG_OU])
    f = results(snap)
    principal = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert principal.status is Status.FAIL
    assert one(f, "org-scp-enforces-vpc-endpoint", ACCOUNT).status is Status.ERROR


def test_scp_full_access_everywhere_leaves_the_path_open() -> None:
    """The twin with FullAWSAccess at every level: SCPs apply and allow; the path stays."""
    snap = base(doc(statement()))
    _only_full_access(snap, [ORG_ROOT, ORG_OU, ACCOUNT])
    f = results(snap)
    assert one(f, "iam-presigned-url-requires-vpc-endpoint", USER).status is Status.FAIL
    assert one(f, "org-scp-enforces-vpc-endpoint", ACCOUNT).status is Status.FAIL


def _only_full_access(snap: Snapshot, targets: list[str]) -> None:
    """The organization with FullAWSAccess (only) attached to ``targets``."""
    add_org(snap, [])
    policy = data(snap, "organizations:policy", "p-full", "global")
    policy["Targets"] = [{"TargetId": t} for t in targets]


def test_far_future_date_condition_is_decided_not_a_crash() -> None:
    """``DateLessThan aws:CurrentTime 9999-12-31T23:59:59Z`` ("never expires") is valid; the
    candidate one second later is past ``datetime``'s range and must not crash the scan."""
    cond = {"DateLessThan": {"aws:CurrentTime": "9999-12-31T23:59:59Z"}}
    assert analyse(snapshot(doc(stmt(cond=cond)))).has_path


def test_non_finite_number_condition_is_decided_not_a_crash() -> None:
    cond = {"NumericLessThan": {"aws:MultiFactorAuthAge": "1e400"}}
    assert analyse(snapshot(doc(stmt(cond=cond)))).has_path


def test_date_spelled_as_the_evaluator_reads_it_is_a_candidate() -> None:
    """The candidate search must read a policy date exactly as the evaluator does: with a
    lower-case ``z`` the evaluator compares with 2030, so the search must try a time after it
    (it tried only times around 1970, found nothing and reported no path)."""
    for spelled in ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00z"):
        cond = {"DateGreaterThan": {"aws:CurrentTime": spelled}}
        assert analyse(snapshot(doc(stmt(cond=cond)))).has_path, spelled


def test_scps_attached_but_unreadable_are_an_error_not_scps_off() -> None:
    """The path's only SCPs are attached but cannot be parsed: that is unreadable data (ERROR,
    problems named), not "SCPs are not enabled", which would FAIL the account as if read."""
    snap = base(doc(statement()))
    add_org(snap, [("Broken", '{"Statement": [', [ORG_ROOT, ORG_OU, ACCOUNT])])
    data(snap, "organizations:policy", "p-full", "global")["Targets"] = []
    f = results(snap)
    assert one(f, "org-scp-enforces-vpc-endpoint", ACCOUNT).status is Status.ERROR
    principal = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert principal.status is Status.FAIL
    assert "could not be parsed" in principal.evidence["scps"]
    assert "SCPs are not enabled" not in principal.evidence["scps"]
    assert "no SCP attached" not in principal.evidence["scps"]
