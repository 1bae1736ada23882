"""A finding's lifecycle across runs, for the formats other tools ingest (OCSF, ASFF).

A SIEM or Security Hub keeps one record per finding id (our fingerprint) and wants to know
whether this run *created* it, *updated* it (still open) or *closed* it.  That is drift
against the previous run, which the run record already carries (``record.drift
["previous"]``, :func:`scanner.history.drift.summary`), so no format needs the store:

- **created**: a FAIL that is new or regressed since the previous run, or an ERROR that was
  absent, PASS or NOT_APPLICABLE before;
- **updated**: any other FAIL or ERROR (it was FAIL or ERROR in the previous run);
- **closed**: a previous FAIL that is now PASS, NOT_APPLICABLE or gone with its resource
  (drift's *resolved*, which never includes what the later run could not look at), and a
  previous ERROR that is now PASS or NOT_APPLICABLE.

Without a previous run (``--no-store``, the first run in a store) everything open is
created and nothing is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.model.finding import Finding, Status
from scanner.model.record import RunRecord

OPEN = (Status.FAIL, Status.ERROR)
_SETTLED = ("PASS", "NOT_APPLICABLE")


@dataclass(frozen=True)
class Lifecycle:
    """Which open findings are new, and which earlier ones this run closes."""

    previous_run: str | None
    created: frozenset[str]
    closed: tuple[dict[str, Any], ...]

    def is_created(self, finding: Finding) -> bool:
        """True when this run opens ``finding`` (always, without a previous run)."""
        return self.previous_run is None or finding.fingerprint in self.created


def lifecycle(record: RunRecord) -> Lifecycle:
    """The lifecycle of ``record``'s findings against its previous run."""
    prev = (record.drift or {}).get("previous")
    if not prev:
        return Lifecycle(None, frozenset(), ())
    errors = prev.get("error_changes", [])
    created = {x["fingerprint"] for x in [*prev["new"], *prev["regressed"]]}
    created |= {
        x["fingerprint"]
        for x in errors
        if x["to"] == "ERROR" and (x["from"] is None or x["from"] in _SETTLED)
    }
    closed = [*prev["resolved"]]
    closed += [x for x in errors if x["from"] == "ERROR" and x["to"] in _SETTLED]
    return Lifecycle(prev["from"]["run"], frozenset(created), tuple(closed))


def open_findings(record: RunRecord) -> list[Finding]:
    """The FAIL and ERROR findings, in a stable order."""
    found = [f for f in record.findings if f.status in OPEN]
    return sorted(found, key=lambda f: (f.rule_id, f.account_id, f.region, f.resource_id))
