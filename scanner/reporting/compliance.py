"""``compliance-<framework>.csv``: one row per framework requirement-by-resource.

An auditor asks "is HIPAA 164.312(e)(1) met, and where not?", not "which rule failed on
which notebook".  Each row answers that for one resource: the worst status of the rules
the framework file maps to the requirement (ERROR > FAIL > PASS; NOT_APPLICABLE only when
every one of them is), which rules did not pass, whether every FAIL there is waived, and
the messages behind the status.

Rows come from each finding's own ``frameworks`` field, i.e. the mapping the run used (it is
stored with the run), so a regenerated report of an old run keeps that run's mapping;
framework and requirement titles come from the shipped framework files.  A file is written
for every shipped framework (header only when no finding maps to it) and for any other
framework a finding names.  Cells get the formula guard of ``findings.csv``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from scanner.model.finding import Finding, Status
from scanner.model.record import RunRecord
from scanner.reporting.atomic import write_text_atomic
from scanner.reporting.csvout import sanitize_cell

COLUMNS = [
    "framework",
    "requirement_id",
    "requirement_title",
    "account_id",
    "region",
    "resource_type",
    "resource_id",
    "status",
    "rules",
    "failing_rules",
    "waived",
    "message",
]

# Worst first: a requirement is only as good as its weakest rule, and "could not look"
# (ERROR) is worse than a known FAIL.
STATUS_RANK = {Status.ERROR: 3, Status.FAIL: 2, Status.PASS: 1, Status.NOT_APPLICABLE: 0}


@dataclass(frozen=True)
class FrameworkInfo:
    """What a report needs of a framework: its title and its requirements' titles, in the
    framework file's order."""

    id: str
    title: str
    requirements: dict[str, str]


@cache
def shipped_frameworks() -> dict[str, FrameworkInfo]:
    """The shipped frameworks by id (loaded once per process)."""
    from scanner.engine import load_ruleset

    return {
        fw.id: FrameworkInfo(fw.id, fw.title, {r.id: r.title for r in fw.requirements})
        for fw in load_ruleset().frameworks
    }


@dataclass(frozen=True)
class RequirementRow:
    """One requirement on one resource, with the findings behind it."""

    framework: str
    requirement_id: str
    requirement_title: str
    account_id: str
    region: str
    resource_type: str
    resource_id: str
    findings: tuple[Finding, ...]

    @property
    def status(self) -> Status:
        return max((f.status for f in self.findings), key=STATUS_RANK.__getitem__)

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule_id for f in self.findings})

    @property
    def failing_rules(self) -> list[str]:
        """Rules that FAIL or ERROR here (the ones keeping the requirement from PASS)."""
        return sorted({f.rule_id for f in self.findings if f.status in (Status.FAIL, Status.ERROR)})

    @property
    def waived(self) -> bool:
        """True when the row FAILs only through waived findings (accepted risk)."""
        return self.status is Status.FAIL and all(
            f.waived for f in self.findings if f.status is Status.FAIL
        )

    @property
    def message(self) -> str:
        """The messages of the findings that decide the status, ``rule: message``."""
        status = self.status
        deciding = sorted((f for f in self.findings if f.status is status), key=lambda f: f.rule_id)
        return " | ".join(f"{f.rule_id}: {f.message}" for f in deciding)

    def values(self) -> list[str]:
        """The row in :data:`COLUMNS` order, unsanitised (the xlsx guards its own cells)."""
        return [
            self.framework,
            self.requirement_id,
            self.requirement_title,
            self.account_id,
            self.region,
            self.resource_type,
            self.resource_id,
            str(self.status),
            ";".join(self.rules),
            ";".join(self.failing_rules),
            "true" if self.waived else "false",
            self.message,
        ]


def framework_ids(findings: Iterable[Finding]) -> list[str]:
    """Shipped frameworks first (file order), then any other a finding names, sorted."""
    shipped = list(shipped_frameworks())
    others = sorted({fw for f in findings for fw in f.frameworks} - set(shipped))
    return shipped + others


def compliance_rows(findings: Sequence[Finding]) -> dict[str, list[RequirementRow]]:
    """Framework id → its rows, by requirement (framework file order) then resource."""
    catalog = shipped_frameworks()
    groups: dict[tuple[str, str, str, str, str, str], list[Finding]] = {}
    for f in findings:
        for fw, reqs in f.frameworks.items():
            for req in dict.fromkeys(reqs):
                key = (fw, req, f.account_id, f.region, f.resource_type, f.resource_id)
                groups.setdefault(key, []).append(f)
    out: dict[str, list[RequirementRow]] = {fw: [] for fw in framework_ids(findings)}
    for (fw, req, acct, region, rtype, rid), group in groups.items():
        info = catalog.get(fw)
        title = info.requirements.get(req, "") if info else ""
        out[fw].append(RequirementRow(fw, req, title, acct, region, rtype, rid, tuple(group)))
    for fw, rows in out.items():
        order = {r: i for i, r in enumerate(catalog[fw].requirements)} if fw in catalog else {}
        rows.sort(
            key=lambda r: (
                order.get(r.requirement_id, len(order)),
                r.requirement_id,
                r.account_id,
                r.region,
                r.resource_type,
                r.resource_id,
            )
        )
    return out


def pass_rate(rows: Iterable[RequirementRow]) -> tuple[int, int]:
    """(rows that PASS, rows evaluated): NOT_APPLICABLE rows count in neither."""
    statuses = [r.status for r in rows]
    evaluated = [s for s in statuses if s is not Status.NOT_APPLICABLE]
    return sum(1 for s in evaluated if s is Status.PASS), len(evaluated)


def file_name(pattern: str, framework: str) -> str:
    """``compliance-*.csv`` → ``compliance-hipaa.csv`` (a framework id made file-safe)."""
    return pattern.replace("*", re.sub(r"[^A-Za-z0-9._-]", "_", framework))


def write_compliance(record: RunRecord, path: Path) -> Path:
    """Write one ``compliance-<framework>.csv`` per framework beside ``path``.

    ``path`` is ``<dir>/compliance-*.csv`` (this format's entry in ``WRITERS``): one format,
    several files, so the writer returns the directory it wrote them into.
    """
    for fw, rows in compliance_rows(record.findings).items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([sanitize_cell(v) for v in row.values()])
        write_text_atomic(path.parent / file_name(path.name, fw), buf.getvalue())
    return path.parent
