"""Drift between two stored runs: what changed in the estate, and in the findings.

Resources are compared by content hash (only changed ones are loaded and diffed, with
readable paths from :mod:`.diffpaths`).  Findings are compared by fingerprint with a pandas
outer join.  Nothing is guessed: a scope (account, region, resource type) that either run
could not see completely is named in ``unknown_scopes``, and none of its resources is
reported added or removed, nor any of its findings resolved.

Document (``drift.json``)::

    {"from": {"run", "at", "status", "baseline"?}, "to": {"run", "at", "status"},
     "resources": [{"account_id", "region", "resource_type", "resource_id",
                    "change": "added|removed|modified", "paths": [{"path", "before", "after"}]}],
     "findings": {"new": [...], "resolved": [...], "regressed": [...], "still_failing": N,
                  "error_changes": [...], "not_seen": [...]},
     "waivers": {"added": [...], "removed": [...], "expired": [...]},
     "unknown_scopes": [{"account_id", "region", "resource_type", "run", "status", "reason"}]}

Transitions, by fingerprint: *new* a FAIL that was absent or NOT_APPLICABLE; *regressed*
PASS -> FAIL; *resolved* FAIL -> PASS or NOT_APPLICABLE, or FAIL whose resource is gone in a
scope the later run saw completely; *still_failing* FAIL -> FAIL (a count);
*error_changes* any change into or out of ERROR; *not_seen* a FAIL the later run could not
look at (unknown scope, or its rule was not evaluated), which is never "resolved".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from scanner.history.diffpaths import diff_paths
from scanner.history.store import ResourceKey, RunRow, Store
from scanner.model.finding import Finding
from scanner.model.record import RunStatus
from scanner.model.snapshot import GLOBAL_REGION, OutcomeStatus

Scope = tuple[str, str, str]  # account, region, resource type
_FINDING_COLUMNS = [
    "fingerprint",
    "rule_id",
    "status",
    "severity",
    "account_id",
    "region",
    "resource_type",
    "resource_id",
    "message",
    "waived",
]


@dataclass(frozen=True)
class Side:
    """One end of a comparison: the run, and the baseline name when it came from one."""

    run: RunRow
    baseline: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run": self.run.id,
            "at": self.run.started_at,
            "status": str(self.run.status),
        }
        if self.baseline:
            out["baseline"] = self.baseline
        return out


# -- scopes --------------------------------------------------------------------------


def seen_scopes(outcomes: list[dict[str, Any]]) -> dict[Scope, dict[str, Any]]:
    """Every (account, region, type) a run's collectors covered, with the worst outcome."""
    rank = {str(OutcomeStatus.OK): 0}
    out: dict[Scope, dict[str, Any]] = {}
    for o in outcomes:
        for rtype in o["resource_types"]:
            key = (o["account_id"], o["region"], rtype)
            if key not in out or rank.get(o["status"], 1) > rank.get(out[key]["status"], 1):
                out[key] = o
    return out


def unknown_scopes(
    before: Side, after: Side, b_out: list[dict[str, Any]], a_out: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Scopes that either run did not see completely (never guessed about)."""
    b_seen, a_seen = seen_scopes(b_out), seen_scopes(a_out)
    found: list[dict[str, Any]] = []
    for key in sorted(set(b_seen) | set(a_seen)):
        for side, seen in ((before, b_seen), (after, a_seen)):
            o = seen.get(key)
            if o is not None and o["status"] == str(OutcomeStatus.OK):
                continue
            reason = (
                "not scanned in this run"
                if o is None
                else (
                    f"collector {o['collector']} {o['status']}"
                    + (f": {o['error_code']}" if o.get("error_code") else "")
                    + (f" on {o['operation']}" if o.get("operation") else "")
                )
            )
            found.append(
                {
                    "account_id": key[0],
                    "region": key[1],
                    "resource_type": key[2],
                    "run": side.run.id,
                    "status": o["status"] if o else "not_scanned",
                    "reason": reason,
                }
            )
    return found


@dataclass(frozen=True)
class Coverage:
    """Where a run looked: what decides whether a FAIL that is absent from it was fixed
    (or its resource deleted) or merely not looked at (then nothing may be concluded)."""

    unknown: set[Scope]
    accounts: set[str]
    regions: set[str]
    rules: set[str]
    resources: set[ResourceKey]

    @classmethod
    def of_run(cls, store: Store, row: RunRow, findings: list[Finding]) -> Coverage:
        """A stored run's coverage on its own (its scopes that were not seen completely)."""
        unknown = {
            key
            for key, outcome in seen_scopes(row.collectors).items()
            if outcome["status"] != str(OutcomeStatus.OK)
        }
        return cls(
            unknown,
            set(row.accounts),
            set(row.regions),
            {f.rule_id for f in findings},
            set(store.resource_hashes(row)),
        )

    def looked_at(
        self, rule_id: str, account_id: str, region: str, resource_type: str, resource_id: str
    ) -> bool:
        """The run looked where this FAIL was: its scope was seen, and either its rule ran or
        its resource is gone (a rule with no resources left yields no findings)."""
        scope = (account_id, region, resource_type)
        region_ok = region in self.regions or region in (GLOBAL_REGION, "unknown")
        return (
            scope not in self.unknown
            and account_id in self.accounts
            and region_ok
            and (rule_id in self.rules or (*scope, resource_id) not in self.resources)
        )


# -- resources ------------------------------------------------------------------------


def resource_changes(
    store: Store,
    b_hashes: dict[ResourceKey, str],
    a_hashes: dict[ResourceKey, str],
    unknown: set[Scope],
) -> list[dict[str, Any]]:
    """Added, removed and modified resources (unknown scopes excluded from added/removed)."""
    changed = [k for k in b_hashes.keys() & a_hashes.keys() if b_hashes[k] != a_hashes[k]]
    blobs = store.blobs([b_hashes[k] for k in changed] + [a_hashes[k] for k in changed])
    out: list[dict[str, Any]] = []
    for key in sorted(changed):
        paths = diff_paths(key[2], blobs[b_hashes[key]], blobs[a_hashes[key]])
        if paths:  # a change only in volatile or formatting detail is no drift
            out.append(_resource(key, "modified", [p.to_dict() for p in paths]))
    for key in sorted(a_hashes.keys() - b_hashes.keys()):
        if key[:3] not in unknown:
            out.append(_resource(key, "added", []))
    for key in sorted(b_hashes.keys() - a_hashes.keys()):
        if key[:3] not in unknown:
            out.append(_resource(key, "removed", []))
    out.sort(key=lambda r: (r["account_id"], r["region"], r["resource_type"], r["resource_id"]))
    return out


def _resource(key: ResourceKey, change: str, paths: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "account_id": key[0],
        "region": key[1],
        "resource_type": key[2],
        "resource_id": key[3],
        "change": change,
        "paths": paths,
    }


# -- findings -------------------------------------------------------------------------


def _frame(findings: list[Finding]) -> pd.DataFrame:
    rows = [f.flat() for f in findings]
    return pd.DataFrame(rows, columns=_FINDING_COLUMNS).drop_duplicates("fingerprint")


def finding_transitions(
    before: list[Finding],
    after: list[Finding],
    *,
    after_resources: set[ResourceKey],
    unknown: set[Scope],
    after_accounts: set[str],
    after_regions: set[str],
) -> dict[str, Any]:
    """The finding transitions between two runs (module docstring)."""
    merged = _frame(before).merge(
        _frame(after), on="fingerprint", how="outer", suffixes=("_from", "_to"), indicator=True
    )
    evaluated_rules = {f.rule_id for f in after}
    s_from = merged["status_from"].fillna("")
    s_to = merged["status_to"].fillna("")
    was_fail = s_from == "FAIL"
    now_fail = s_to == "FAIL"
    gone = merged["_merge"] == "left_only"

    def pick(column: str) -> pd.Series:
        return merged[f"{column}_to"].where(
            merged[f"{column}_to"].notna(), merged[f"{column}_from"]
        )

    ident = pd.DataFrame({c: pick(c) for c in _FINDING_COLUMNS if c != "fingerprint"})
    ident["fingerprint"] = merged["fingerprint"]
    ident["from"] = merged["status_from"]
    ident["to"] = merged["status_to"]

    coverage = Coverage(unknown, after_accounts, after_regions, evaluated_rules, after_resources)

    def visible(row: pd.Series) -> bool:
        return coverage.looked_at(
            row["rule_id"],
            row["account_id"],
            row["region"],
            row["resource_type"],
            row["resource_id"],
        )

    # Only FAILs that vanished need the row-wise visibility test (a handful per night).
    candidates = gone & was_fail
    seen_gone = candidates.copy()
    if candidates.any():
        seen_gone[candidates] = ident[candidates].apply(visible, axis=1).astype(bool)
    resolved = (was_fail & s_to.isin(["PASS", "NOT_APPLICABLE"])) | seen_gone
    not_seen = gone & was_fail & ~seen_gone
    new = now_fail & s_from.isin(["", "NOT_APPLICABLE"])
    regressed = now_fail & (s_from == "PASS")
    error_change = (s_from != s_to) & ((s_from == "ERROR") | (s_to == "ERROR")) & ~gone

    def records(mask: pd.Series, **extra: Any) -> list[dict[str, Any]]:
        picked = ident[mask].sort_values(["rule_id", "account_id", "region", "resource_id"])
        out = []
        for row in picked.to_dict("records"):
            item = {k: (None if pd.isna(v) else v) for k, v in row.items()}
            item["waived"] = bool(item.get("waived"))
            out.append({**item, **extra})
        return out

    resolved_rows = records(resolved)
    for item in resolved_rows:
        key = (item["account_id"], item["region"], item["resource_type"], item["resource_id"])
        if item["to"] is None:
            item["reason"] = "resource gone" if key not in after_resources else "no longer found"
    return {
        "new": records(new),
        "resolved": resolved_rows,
        "regressed": records(regressed),
        "still_failing": int((was_fail & now_fail).sum()),
        "error_changes": records(error_change),
        "not_seen": records(not_seen, reason="the later run could not look at it"),
    }


def waiver_changes(before: RunRow, after: RunRow) -> dict[str, list[dict[str, Any]]]:
    """Waivers added, removed or newly expired between two runs."""
    b = {w["id"]: w for w in before.waivers}
    a = {w["id"]: w for w in after.waivers}
    return {
        "added": [a[k] for k in sorted(a.keys() - b.keys())],
        "removed": [b[k] for k in sorted(b.keys() - a.keys())],
        "expired": [
            a[k]
            for k in sorted(a.keys() & b.keys())
            if a[k]["state"] == "expired" and b[k]["state"] != "expired"
        ],
    }


# -- the whole comparison -------------------------------------------------------------


def drift(store: Store, before: Side, after: Side) -> dict[str, Any]:
    """The drift document between two stored runs (module docstring)."""
    b_out, a_out = before.run.collectors, after.run.collectors
    unknown_list = unknown_scopes(before, after, b_out, a_out)
    unknown = {(u["account_id"], u["region"], u["resource_type"]) for u in unknown_list}
    b_hashes, a_hashes = store.resource_hashes(before.run), store.resource_hashes(after.run)
    return {
        "from": before.to_dict(),
        "to": after.to_dict(),
        "resources": resource_changes(store, b_hashes, a_hashes, unknown),
        "findings": finding_transitions(
            store.findings(before.run),
            store.findings(after.run),
            after_resources=set(a_hashes),
            unknown=unknown,
            after_accounts=set(after.run.accounts),
            after_regions=set(after.run.regions),
        ),
        "waivers": waiver_changes(before.run, after.run),
        "unknown_scopes": unknown_list,
    }


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The counts of a drift document (the scan's closing summary and findings.json), with
    the new, regressed, resolved and ERROR-changed findings in short (fingerprint, rule,
    resource, from/to status): the OCSF and ASFF reports derive each finding's lifecycle
    (created, still open, closed) from them."""
    changes = {"added": 0, "removed": 0, "modified": 0}
    for r in doc["resources"]:
        changes[r["change"]] += 1
    f = doc["findings"]
    return {
        "from": doc["from"],
        "to": doc["to"],
        "resources": changes,
        "findings": {
            "new": len(f["new"]),
            "resolved": len(f["resolved"]),
            "regressed": len(f["regressed"]),
            "still_failing": f["still_failing"],
            "error_changes": len(f["error_changes"]),
            "not_seen": len(f["not_seen"]),
        },
        "new": [_short(x) for x in f["new"]],
        "regressed": [_short(x) for x in f["regressed"]],
        "resolved": [_short(x) for x in f["resolved"]],
        "error_changes": [_short(x) for x in f["error_changes"]],
        "waivers": {k: len(v) for k, v in doc["waivers"].items()},
        "unknown_scopes": doc["unknown_scopes"],
    }


def _short(item: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "fingerprint",
        "rule_id",
        "severity",
        "account_id",
        "region",
        "resource_type",
        "resource_id",
        "from",
        "to",
    )
    return {k: item.get(k) for k in keys}


def drift_for_run(
    store: Store, run_id: str, status: RunStatus, baseline_name: str | None
) -> dict[str, Any]:
    """A just-stored run against the previous finished run and against the baseline.

    ``baseline_name`` is config ``store.baseline``; without it the newest baseline is used.
    A missing side reads ``None`` (the first run has no previous run).
    """
    row = dataclasses.replace(store.run(run_id), status=status)
    after = Side(row)
    prev = store.latest(before=row)
    out: dict[str, Any] = {
        "previous": summary(drift(store, Side(prev), after)) if prev else None,
        "baseline": None,
    }
    baselines = store.baselines()
    chosen = (
        next((b for b in baselines if b.name == baseline_name), None)
        if baseline_name
        else (baselines[0] if baselines else None)
    )
    if baseline_name and chosen is None:
        out["baseline_error"] = f"store.baseline {baseline_name!r} is not a baseline in the store"
    if chosen is not None and chosen.run_id != run_id:
        base = Side(store.run(chosen.run_id), chosen.name)
        out["baseline"] = summary(drift(store, base, after))
    return out
