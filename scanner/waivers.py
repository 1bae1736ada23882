"""Waivers: accepted risk, written down with an owner, a reason and an end date.

A waiver names a rule and a resource (its id, or a glob over ids), optionally an account and
a region.  It covers matching FAIL findings until it expires.  A waived finding keeps its
real status (FAIL stays FAIL) and carries the waiver, so every report shows both; only the
exit status ignores it (``--fail-on``).  Waivers never touch ERROR findings: a scan that
could not look stays incomplete, whatever anyone accepted.

Each waiver ends up in one state per run:

- ``active``: in force and covering at least one FAIL finding;
- ``unused``: in force but matching no FAIL finding (fixed, renamed, or a typo: remove it);
- ``expired``: past its ``expires`` date, so it no longer applies (the scan warns).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scanner.model.finding import Finding, Status
from scanner.yamldoc import load_yaml, pydantic_error

RULE_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class Waiver(BaseModel):
    """One waiver as written in config (``waivers:``) or in a waivers file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str = Field(pattern=RULE_ID_PATTERN, description="The rule waived")
    resource: str = Field(
        min_length=1, description="Resource id, or a glob over ids such as `research-*`"
    )
    account: str | None = Field(
        default=None,
        pattern=r"^\d{12}$",
        description="12-digit account id; unset: any account",
    )
    region: str | None = Field(default=None, description="Region; unset: any region")
    reason: str = Field(min_length=1, description="Why the risk is accepted")
    owner: str = Field(min_length=1, description="Who accepted it (a person or a team)")
    ticket: str | None = Field(default=None, description="Change or risk ticket id")
    expires: date = Field(
        description="Last day the waiver applies; after it the waiver is "
        "`expired` and the scan warns"
    )

    @property
    def id(self) -> str:
        """Stable identity (rule, resource, account, region): reports, drift and the store
        refer to a waiver by it, and it survives edits to reason, owner or dates."""
        key = "\x1f".join((self.rule_id, self.resource, self.account or "", self.region or ""))
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    def covers(self, finding: Finding) -> bool:
        """True when this waiver's rule, resource, account and region match the finding."""
        return (
            finding.rule_id == self.rule_id
            and fnmatchcase(finding.resource_id, self.resource)
            and (self.account is None or finding.account_id == self.account)
            and (self.region is None or finding.region == self.region)
        )

    def expired(self, today: date) -> bool:
        """A waiver applies through its ``expires`` day and stops the day after."""
        return today > self.expires

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        out["id"] = self.id
        return out


class WaiversFile(BaseModel):
    """A file named by config ``waivers_file``: ``waivers: [...]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver] = Field(default_factory=list)


def load_waivers_file(path: Path) -> list[Waiver]:
    """Read and validate a waivers file; problems name the file and line (exit 2)."""
    doc = load_yaml(path)
    if doc.value is None:
        return []
    if not isinstance(doc.value, dict):
        raise doc.error("a waivers file must be a mapping with a `waivers:` list")
    try:
        return WaiversFile(**doc.value).waivers
    except ValidationError as exc:
        raise pydantic_error(doc, exc) from None


@dataclass(frozen=True)
class WaiverState:
    """A waiver and what it did in one run."""

    waiver: Waiver
    state: str  # active | unused | expired
    matched: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.waiver.to_dict(), "state": self.state, "matched": self.matched}


def apply_waivers(
    findings: list[Finding], waivers: list[Waiver], today: date
) -> tuple[list[Finding], list[WaiverState]]:
    """Attach the first matching waiver in force to each FAIL finding.

    Returns the findings (waived ones carry the waiver) and every waiver's state.
    """
    in_force = [w for w in waivers if not w.expired(today)]
    matched = {w.id: 0 for w in waivers}
    out: list[Finding] = []
    for finding in findings:
        waiver = (
            next((w for w in in_force if w.covers(finding)), None)
            if finding.status is Status.FAIL
            else None
        )
        if waiver is None:
            out.append(finding)
            continue
        matched[waiver.id] += 1
        out.append(dataclasses.replace(finding, waiver=waiver.to_dict()))
    states = [
        WaiverState(
            w,
            "expired" if w.expired(today) else ("active" if matched[w.id] else "unused"),
            matched[w.id],
        )
        for w in waivers
    ]
    return out, states
