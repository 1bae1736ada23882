"""The FAIL / ERROR trend over the last stored runs (the HTML report's trend chart).

Each stored run keeps its summary counts (``runs.counts``, :meth:`RunRecord.summary`), so the
trend is read from the run rows alone: no snapshot or finding is loaded.
"""

from __future__ import annotations

from typing import Any

from scanner.history.store import Store


def trend_for(
    store: Store, limit: int = 14, *, current: str | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """The last ``limit`` runs with counts, oldest first: ``{run_id, started_at, fail, error}``.

    Only finished runs (complete or incomplete) count; failed and interrupted ones have no
    whole set of findings.  ``current`` names the run being reported, which still reads
    ``running`` while its reports are written but already has its counts stored.  ``until``
    (a run id) ends the trend at that run, for a report regenerated later (``scanner
    report``): runs after it are left out.
    """
    points: list[dict[str, Any]] = []
    if limit <= 0:
        return points
    rows = store.runs()
    if until is not None:
        ids = [row.id for row in rows]
        rows = rows[ids.index(until) :] if until in ids else []
    for row in rows:
        if row.counts is None or not (row.finished or row.id == current):
            continue
        by_status = row.counts.get("by_status") or {}
        points.append(
            {
                "run_id": row.id,
                "started_at": row.started_at,
                "fail": int(by_status.get("FAIL", 0)),
                "error": int(by_status.get("ERROR", 0)),
            }
        )
        if len(points) >= limit:
            break
    points.reverse()
    return points
