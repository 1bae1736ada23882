"""``scanner runs verify``: prove that stored history is what the scans wrote.

Every check recomputes from the stored rows, never trusting a stored digest on its own:

1. each blob's content hash;
2. each finding version's hash from its columns and its detail blob (an edited status or
   message shows here);
3. for every stored run, the digests of its snapshot and findings, rebuilt from the
   versions valid at its ``seq`` (one sweep over the versions, in ``seq`` order);
4. for every sealed run, its chain digest over its own row, and the link to the previous
   sealed run (a pruned run's tombstone keeps the link; a deleted run breaks it);
5. the head recorded in ``store_info``: deleting the newest run is caught there.

The result names the first run altered or missing, in run order.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from scanner.history import schema as t
from scanner.history.canonical import content_hash
from scanner.history.store import (
    Store,
    chain_digest,
    finding_hash,
    findings_digest,
    snapshot_digest,
)
from scanner.model.finding import Finding


@dataclass
class Verification:
    """What ``runs verify`` found: ``ok`` and, when not, the first problem first."""

    runs_checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_run: str | None = None
    head_run_id: str | None = None
    head_digest: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, run_id: str | None, problem: str) -> None:
        if self.first_bad_run is None and run_id is not None:
            self.first_bad_run = run_id
        self.problems.append(problem)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "runs_checked": self.runs_checked,
            "first_bad_run": self.first_bad_run,
            "problems": self.problems,
            "head_run_id": self.head_run_id,
            "head_digest": self.head_digest,
        }


def _sweep(
    rows: list[dict[str, Any]], seqs: list[int]
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """For each ``seq`` ascending, the version rows valid there (one pass over ``rows``)."""
    starts = sorted(rows, key=lambda r: r["first_seq"])
    live: dict[int, dict[str, Any]] = {}
    i = 0
    for seq in seqs:
        while i < len(starts) and starts[i]["first_seq"] <= seq:
            live[starts[i]["id"]] = starts[i]
            i += 1
        for vid in [
            v for v, r in live.items() if r["until_seq"] is not None and r["until_seq"] <= seq
        ]:
            del live[vid]
        yield seq, list(live.values())


def _bad_blobs(store: Store) -> set[str]:
    """Blobs whose content no longer hashes to their key (or no longer decompresses)."""
    bad: set[str] = set()
    with store.engine.connect() as conn:
        for h, body in conn.execute(sa.select(t.blobs.c.hash, t.blobs.c.body)):
            try:
                ok = content_hash(zlib.decompress(body)) == h
            except zlib.error:
                ok = False
            if not ok:
                bad.add(h)
    return bad


def _finding_rows_ok(rows: Iterable[dict[str, Any]], details: dict[str, Any]) -> dict[int, bool]:
    out: dict[int, bool] = {}
    for r in rows:
        detail = details.get(r["detail_hash"])
        if detail is None:
            out[r["id"]] = False
            continue
        try:
            rebuilt = Finding.from_dict({**r, **detail})
            out[r["id"]] = finding_hash(rebuilt) == r["finding_hash"]
        except (KeyError, ValueError, TypeError):
            out[r["id"]] = False
    return out


def verify(store: Store) -> Verification:
    """Check the whole store; see the module docstring for what is checked."""
    result = Verification()
    bad_blobs = _bad_blobs(store)
    with store.engine.connect() as conn:
        runs = [dict(m) for m in conn.execute(sa.select(t.runs).order_by(t.runs.c.seq)).mappings()]
        rversions = [dict(m) for m in conn.execute(sa.select(t.resource_versions)).mappings()]
        fversions = [dict(m) for m in conn.execute(sa.select(t.finding_versions)).mappings()]
    details = store.blobs(r["detail_hash"] for r in fversions if r["detail_hash"] not in bad_blobs)
    finding_ok = _finding_rows_ok(fversions, details)
    stored = [r for r in runs if r["seq"] is not None]
    seqs = [r["seq"] for r in stored]
    res_at = dict(_sweep(rversions, seqs))
    find_at = dict(_sweep(fversions, seqs))
    tombstones = store.tombstones()
    by_id = {r["id"]: r for r in runs}
    last_sealed: dict[str, Any] | None = None
    for run in stored:
        result.runs_checked += 1
        rid, seq = run["id"], run["seq"]
        resources = res_at.get(seq, [])
        findings = find_at.get(seq, [])
        broken = [r for r in resources if r["content_hash"] in bad_blobs]
        broken += [f for f in findings if not finding_ok.get(f["id"], False)]
        if broken:
            what = broken[0]
            result.fail(
                rid,
                f"run {rid} altered: stored {what['resource_type']} {what['resource_id']} "
                "no longer matches its content hash",
            )
        meta = {
            **(run["snapshot_meta"] or {}),
            "accounts": run["accounts"],
            "regions": run["regions"],
            "collectors": run["collectors"],
        }
        rows = [
            (r["account_id"], r["region"], r["resource_type"], r["resource_id"], r["content_hash"])
            for r in resources
        ]
        if snapshot_digest(meta, rows) != run["snapshot_digest"]:
            result.fail(rid, f"run {rid} altered: its snapshot differs from its digest")
        if (
            findings_digest((f["fingerprint"], f["finding_hash"]) for f in findings)
            != run["findings_digest"]
        ):
            result.fail(rid, f"run {rid} altered: its findings differ from their digest")
        if run["chain_digest"] is None:
            continue
        if chain_digest(run) != run["chain_digest"]:
            result.fail(rid, f"run {rid} altered: its record differs from its chain digest")
        _check_link(result, run, last_sealed, by_id, tombstones)
        last_sealed = run
    _check_head(store, result, by_id, last_sealed)
    return result


def _check_link(
    result: Verification,
    run: dict[str, Any],
    last: dict[str, Any] | None,
    by_id: dict[str, dict[str, Any]],
    tombstones: dict[str, str | None],
) -> None:
    rid, prev_id, prev_digest = run["id"], run["prev_run_id"], run["prev_digest"]
    if prev_id is None:
        if last is not None:
            result.fail(
                rid, f"run {rid} altered: it claims no predecessor but follows {last['id']}"
            )
        return
    if last is not None and last["id"] == prev_id:
        if last["chain_digest"] != prev_digest:
            result.fail(prev_id, f"run {prev_id} altered: run {rid} chained a different digest")
        return
    if prev_id in tombstones:
        if tombstones[prev_id] != prev_digest:
            result.fail(rid, f"run {rid}: its predecessor {prev_id} was pruned with another digest")
        return
    if prev_id in by_id:
        result.fail(prev_id, f"run {prev_id} altered: it is no longer sealed before run {rid}")
        return
    result.fail(prev_id, f"run {prev_id} is missing (deleted; it preceded run {rid})")


def _check_head(
    store: Store,
    result: Verification,
    by_id: dict[str, dict[str, Any]],
    last: dict[str, Any] | None,
) -> None:
    info = store.info()
    head, digest = info.get("head_run_id"), info.get("head_digest")
    result.head_run_id, result.head_digest = head, digest
    if head is None:
        if last is not None:
            result.fail(last["id"], "the store's head record is missing")
        return
    if head not in by_id:
        result.fail(head, f"run {head} is missing (deleted; it was the newest sealed run)")
    elif last is None or last["id"] != head or last["chain_digest"] != digest:
        result.fail(head, f"run {head} altered: it no longer matches the store's head record")
