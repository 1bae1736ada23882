"""The history store: every run, its snapshot and findings, baselines and the digest chain.

How history is kept small: a resource (or finding) is stored as a *version*, a row valid for
the stored runs ``first_seq <= seq < until_seq`` pointing at its canonical content by hash
(``blobs``, zlib-compressed).  Storing a run touches only what changed since the previous
stored run: unchanged resources cost nothing, changed ones close their old version and open
a new one, vanished ones close.  The open versions (``until_seq`` NULL) are always exactly
the latest stored run.  Any stored run is rebuilt from the versions valid at its ``seq``.

How history stays whole:

- Writes happen in transactions under the one-writer lock (:mod:`.lock`).  A run row starts
  ``running``; its data is stored in one transaction; it reads ``complete`` or
  ``incomplete`` only after its reports are written (:meth:`Store.finish_run`).
- A run left ``running`` by a dead process is marked ``interrupted`` by the next command
  that finds the writer lock free (the lock proves nobody is writing).
- Each finished run is sealed with SHA-256 digests of its snapshot and findings, chained to
  the previous sealed run; :meth:`Store.verify` recomputes them from the stored rows.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from scanner import __version__
from scanner.history import schema as t
from scanner.history.canonical import canonical_bytes, canonical_record, content_hash
from scanner.history.database import (
    StoreError,
    begin_ddl,
    check_revision,
    connect_checked,
    create,
    describe_failure,
    describe_write_failure,
    mask,
    parse_url,
    sqlite_path,
    upgrade,
)
from scanner.history.lock import LockMode, WriterLock
from scanner.model.finding import Finding, Severity
from scanner.model.record import FINISHED, RunRecord, RunStatus
from scanner.model.snapshot import CollectorOutcome, Snapshot

log = logging.getLogger(__name__)

ResourceKey = tuple[str, str, str, str]  # account, region, type, id


class UnknownRun(StoreError):
    """No run has that id (or id prefix)."""


_CHUNK = 500


# -- timestamps ------------------------------------------------------------------------


def parse_ts(text: str) -> datetime:
    """A snapshot/record timestamp (``...Z``) as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """The one text form of a stored timestamp (SQLite hands back naive UTC values)."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- digests ---------------------------------------------------------------------------


def finding_hash(finding: Finding) -> str:
    """Content hash of a whole finding (status, message, evidence, waiver...)."""
    return content_hash(canonical_bytes(finding.to_dict()))


def snapshot_digest(meta: dict[str, Any], rows: Iterable[tuple[str, ...]]) -> str:
    """Digest of a snapshot: its metadata and every (key..., content hash), in key order."""
    return content_hash(canonical_bytes({"meta": meta, "resources": sorted(rows)}))


def findings_digest(rows: Iterable[tuple[str, str]]) -> str:
    """Digest of a run's findings: every (fingerprint, finding hash), sorted."""
    return content_hash(canonical_bytes(sorted(rows)))


CHAINED = (
    "id",
    "seq",
    "status",
    "tool_version",
    "rulepack_version",
    "config_hash",
    "source",
    "fail_on",
    "waivers",
    "accounts",
    "regions",
    "counts",
    "exit_code",
    "snapshot_digest",
    "findings_digest",
    "prev_run_id",
    "prev_digest",
)


def chain_digest(row: dict[str, Any]) -> str:
    """Digest sealing a run's row (the :data:`CHAINED` fields and both timestamps)."""
    doc = {k: row[k] for k in CHAINED}
    doc["started_at"] = iso(row["started_at"])
    doc["finished_at"] = iso(row["finished_at"])
    return content_hash(canonical_bytes(doc))


def _canonical(obj: Any) -> tuple[str, bytes]:
    """Content hash and canonical bytes (compressed only when the blob is new)."""
    body = canonical_bytes(obj)
    return content_hash(body), body


def unpack(body: bytes) -> Any:
    """A blob's content (the canonical JSON document)."""
    return json.loads(zlib.decompress(body))


# -- rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    """One run as listed: what ``scanner runs list`` shows."""

    id: str
    seq: int | None
    status: RunStatus
    started_at: str
    finished_at: str | None
    accounts: list[str]
    regions: list[str]
    counts: dict[str, Any] | None
    exit_code: int | None
    source: str
    tool_version: str
    rulepack_version: str
    config_hash: str
    error: str | None
    output_dir: str | None
    reports: dict[str, str]
    waivers: list[dict[str, Any]]
    collectors: list[dict[str, Any]]
    snapshot_digest: str | None
    findings_digest: str | None
    chain_digest: str | None

    @property
    def finished(self) -> bool:
        """Its snapshot and findings are whole (drift and baselines may use it)."""
        return self.status in FINISHED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": str(self.status),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "accounts": self.accounts,
            "regions": self.regions,
            "counts": self.counts,
            "exit_code": self.exit_code,
            "source": self.source,
            "tool_version": self.tool_version,
            "rulepack_version": self.rulepack_version,
            "error": self.error,
            "reports": self.reports,
            "snapshot_digest": self.snapshot_digest,
            "findings_digest": self.findings_digest,
            "chain_digest": self.chain_digest,
        }


def _run_row(m: sa.RowMapping) -> RunRow:
    return RunRow(
        id=m["id"],
        seq=m["seq"],
        status=RunStatus(m["status"]),
        started_at=iso(m["started_at"]) or "",
        finished_at=iso(m["finished_at"]),
        accounts=list(m["accounts"] or []),
        regions=list(m["regions"] or []),
        counts=m["counts"],
        exit_code=m["exit_code"],
        source=m["source"],
        tool_version=m["tool_version"],
        rulepack_version=m["rulepack_version"],
        config_hash=m["config_hash"],
        error=m["error"],
        output_dir=m["output_dir"],
        reports=dict(m["reports"] or {}),
        waivers=list(m["waivers"] or []),
        collectors=list(m["collectors"] or []),
        snapshot_digest=m["snapshot_digest"],
        findings_digest=m["findings_digest"],
        chain_digest=m["chain_digest"],
    )


@dataclass(frozen=True)
class Baseline:
    """A named, pinned run: "the state we showed the auditor"."""

    name: str
    run_id: str
    note: str | None
    created_at: str


@dataclass
class StoredSnapshot:
    """A stored run's resources by key, with content hashes (blobs loaded on demand)."""

    run: RunRow
    hashes: dict[ResourceKey, str] = field(default_factory=dict)


# -- the store -------------------------------------------------------------------------


class Store:
    """A history store at one URL.  Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, engine: sa.Engine, url: URL) -> None:
        self.engine = engine
        self.url = url
        self.lock = WriterLock(engine, url)

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, url_text: str, *, create_missing: bool = True) -> Store:
        """Open (and migrate) the store at ``url_text``.

        ``create_missing=False`` is for read-only commands: a SQLite file that does not
        exist yet is an error naming it, not a new empty store.
        """
        url = parse_url(url_text)
        path = sqlite_path(url)
        if path is not None and not create_missing and not path.exists():
            raise StoreError(
                f"no history store at {path} (run `scanner scan` first, or pass --store URL)"
            )
        engine = create(url)
        revision = connect_checked(engine, url)
        check_revision(url, revision)
        store = cls(engine, url)
        if revision != t.HEAD_REVISION:
            store._migrate()
        store.reconcile()
        return store

    def _migrate(self) -> None:
        """Upgrade under the writer lock (two processes must not both run a migration)."""
        self.lock.acquire("wait", 600.0, holder="a scan or migration")
        try:
            with self.engine.begin() as conn:
                begin_ddl(conn)
                upgrade(conn)
                self._info(conn, "last_migrated_by", __version__)
                if self._get_info(conn, "created_by") is None:
                    self._info(conn, "created_by", __version__)
                    self._info(conn, "created_at", iso(datetime.now(UTC)) or "")
        except DBAPIError as exc:
            raise describe_failure(self.url, exc) from None
        finally:
            self.lock.release()

    def close(self) -> None:
        self.lock.release()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        return mask(self.url)

    # -- store_info ------------------------------------------------------------------
    @staticmethod
    def _get_info(conn: sa.Connection, key: str) -> str | None:
        value = conn.execute(
            sa.select(t.store_info.c.value).where(t.store_info.c.key == key)
        ).scalar_one_or_none()
        return value

    @staticmethod
    def _info(conn: sa.Connection, key: str, value: str) -> None:
        conn.execute(sa.delete(t.store_info).where(t.store_info.c.key == key))
        conn.execute(sa.insert(t.store_info).values(key=key, value=value))

    def info(self) -> dict[str, str]:
        """Everything in ``store_info`` (versions, head of the chain)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.store_info)).all()
        return {r.key: r.value for r in rows}

    # -- the writer --------------------------------------------------------------------
    @contextmanager
    def writing(self, mode: LockMode = "wait", timeout: float = 600.0) -> Iterator[Store]:
        """Hold the one-writer lock for the block (a whole scan)."""
        self.lock.acquire(mode, timeout, holder=self._holder())
        try:
            self.reconcile()
            yield self
        finally:
            self.lock.release()

    def _holder(self) -> str:
        with self.engine.connect() as conn:
            m = (
                conn.execute(
                    sa.select(t.runs.c.id, t.runs.c.pid, t.runs.c.host, t.runs.c.started_at)
                    .where(t.runs.c.status == str(RunStatus.RUNNING))
                    .order_by(t.runs.c.started_at.desc())
                )
                .mappings()
                .first()
            )
        if m is None:
            return "another scan"
        return f"run {m['id']} (pid {m['pid']} on {m['host']}, started {iso(m['started_at'])})"

    def reconcile(self) -> list[str]:
        """Mark runs left ``running`` by dead processes ``interrupted``; returns their ids.

        Only when the writer lock is free: then no process is writing, so a ``running`` row
        can only be a leftover.  While a scan holds the lock its row stays ``running``.
        """
        had = self.lock.held
        if not had and not self.lock.try_acquire():
            return []
        try:
            with self._writes(), self.engine.begin() as conn:
                ids = list(
                    conn.execute(
                        sa.select(t.runs.c.id).where(t.runs.c.status == str(RunStatus.RUNNING))
                    ).scalars()
                )
                if ids:
                    conn.execute(
                        sa.update(t.runs)
                        .where(t.runs.c.id.in_(ids))
                        .values(
                            status=str(RunStatus.INTERRUPTED),
                            error="the scan stopped before it finished (killed or crashed)",
                        )
                    )
        finally:
            if not had:
                self.lock.release()
        for run_id in ids:
            log.warning("run %s was interrupted before it finished", run_id)
        return ids

    def begin_run(
        self,
        run_id: str,
        *,
        started_at: str,
        source: str,
        fail_on: Severity,
        config_hash: str,
        rulepack_version: str,
    ) -> None:
        """Record a new ``running`` run (the caller holds the writer lock)."""
        self._require_lock()
        with self._writes(), self.engine.begin() as conn:
            conn.execute(
                sa.insert(t.runs).values(
                    id=run_id,
                    status=str(RunStatus.RUNNING),
                    started_at=parse_ts(started_at),
                    tool_version=__version__,
                    schema_revision=t.HEAD_REVISION,
                    rulepack_version=rulepack_version,
                    config_hash=config_hash,
                    source=source,
                    fail_on=str(fail_on),
                    accounts=[],
                    regions=[],
                    collectors=[],
                    pid=os.getpid(),
                    host=socket.gethostname(),
                )
            )

    @contextmanager
    def _writes(self) -> Iterator[None]:
        """A write before the run exists (or none at all): a store that cannot take it (a
        full disk) is a one-line :class:`StoreError`, and nothing of a run is recorded."""
        try:
            yield
        except DBAPIError as exc:
            raise StoreError(describe_write_failure(self.url, exc)) from None

    def _require_lock(self) -> None:
        if not self.lock.held:
            raise RuntimeError("write to the history store without holding its writer lock")

    def end_run(self, run_id: str, status: RunStatus, error: str) -> None:
        """Record a run that stopped early: ``failed`` or ``interrupted``, with why."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t.runs)
                .where(t.runs.c.id == run_id, t.runs.c.status == str(RunStatus.RUNNING))
                .values(status=str(status), error=error[:2000], finished_at=datetime.now(UTC))
            )

    def save_results(self, record: RunRecord) -> int:
        """Store a run's snapshot and findings (one transaction); returns its ``seq``.

        The run still reads ``running`` afterwards: :meth:`finish_run` seals it once its
        reports exist.
        """
        self._require_lock()
        snap = record.snapshot
        with self.engine.begin() as conn:
            seq = (conn.execute(sa.select(sa.func.max(t.runs.c.seq))).scalar() or 0) + 1
            meta = snapshot_meta(snap)
            rows = self._store_resources(conn, snap, seq)
            frows = self._store_findings(conn, record.findings, seq)
            conn.execute(
                sa.update(t.runs)
                .where(t.runs.c.id == record.run_id)
                .values(
                    seq=seq,
                    accounts=list(snap.accounts),
                    regions=list(snap.regions),
                    collectors=[o.to_dict() for o in snap.collectors],
                    snapshot_meta=meta,
                    waivers=record.waivers,
                    counts=record.summary(),
                    exit_code=int(record.exit_code),
                    snapshot_digest=snapshot_digest(_digest_meta(meta, snap), rows),
                    findings_digest=findings_digest(frows),
                )
            )
        return seq

    def _existing_blobs(self, conn: sa.Connection, hashes: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(hashes), _CHUNK):
            chunk = hashes[i : i + _CHUNK]
            found.update(
                conn.execute(sa.select(t.blobs.c.hash).where(t.blobs.c.hash.in_(chunk))).scalars()
            )
        return found

    def _put_blobs(self, conn: sa.Connection, packed: dict[str, bytes]) -> None:
        """Store the contents not stored yet (hash -> canonical bytes), zlib-compressed."""
        have = self._existing_blobs(conn, list(packed))
        new = [
            {"hash": h, "body": zlib.compress(b, 6), "size": len(b)}
            for h, b in packed.items()
            if h not in have
        ]
        if new:
            conn.execute(sa.insert(t.blobs), new)

    def _open_versions(
        self, conn: sa.Connection, table: sa.Table, key_cols: Sequence[str], hash_col: str
    ) -> dict[tuple[str, ...], list[int]]:
        """The open versions (the latest stored run): (key..., hash) -> version ids.  A list,
        so two identical items in one run stay two items in every later run."""
        cols = [table.c[c] for c in key_cols] + [table.c[hash_col], table.c.id]
        result: dict[tuple[str, ...], list[int]] = {}
        for row in conn.execute(sa.select(*cols).where(table.c.until_seq.is_(None))):
            result.setdefault(tuple(row[:-1]), []).append(row[-1])
        return result

    @staticmethod
    def _still_open(current: dict[tuple[str, ...], list[int]], key: tuple[str, ...]) -> bool:
        """Consume one open version equal to ``key``; False when none is left (insert)."""
        ids = current.get(key)
        if not ids:
            return False
        ids.pop()
        return True

    @staticmethod
    def _leftover(current: dict[tuple[str, ...], list[int]]) -> list[int]:
        return [i for ids in current.values() for i in ids]

    def _close(self, conn: sa.Connection, table: sa.Table, ids: list[int], seq: int) -> None:
        for i in range(0, len(ids), _CHUNK):
            conn.execute(
                sa.update(table).where(table.c.id.in_(ids[i : i + _CHUNK])).values(until_seq=seq)
            )

    def _store_resources(
        self, conn: sa.Connection, snap: Snapshot, seq: int
    ) -> list[tuple[str, ...]]:
        keys = ("account_id", "region", "resource_type", "resource_id")
        current = self._open_versions(conn, t.resource_versions, keys, "content_hash")
        rows: list[tuple[str, ...]] = []
        packed: dict[str, bytes] = {}
        inserts: list[dict[str, Any]] = []
        for res in snap.iter_resources():
            body = canonical_record(res.type, {"arn": res.arn, "data": res.data})
            digest, raw = _canonical(body)
            row = (res.account_id, res.region, res.type, res.id, digest)
            rows.append(row)
            if not self._still_open(current, row):
                packed[digest] = raw
                inserts.append(dict(zip((*keys, "content_hash"), row, strict=True)))
        self._put_blobs(conn, packed)
        self._close(conn, t.resource_versions, self._leftover(current), seq)
        if inserts:
            conn.execute(sa.insert(t.resource_versions), [{**r, "first_seq": seq} for r in inserts])
        return rows

    def _store_findings(
        self, conn: sa.Connection, findings: Sequence[Finding], seq: int
    ) -> list[tuple[str, str]]:
        current = self._open_versions(conn, t.finding_versions, ("fingerprint",), "finding_hash")
        rows: list[tuple[str, str]] = []
        packed: dict[str, bytes] = {}
        inserts: list[dict[str, Any]] = []
        for f in findings:
            fh = finding_hash(f)
            rows.append((f.fingerprint, fh))
            if self._still_open(current, (f.fingerprint, fh)):
                continue
            detail = {
                "evidence": f.evidence,
                "frameworks": f.frameworks,
                "remediation": f.remediation,
                "waiver": f.waiver,
            }
            digest, raw = _canonical(detail)
            packed[digest] = raw
            inserts.append(
                {
                    **f.flat(),
                    "finding_hash": fh,
                    "waiver_id": (f.waiver or {}).get("id"),
                    "detail_hash": digest,
                    "first_seq": seq,
                }
            )
        self._put_blobs(conn, packed)
        self._close(conn, t.finding_versions, self._leftover(current), seq)
        for i in range(0, len(inserts), _CHUNK):
            conn.execute(sa.insert(t.finding_versions), inserts[i : i + _CHUNK])
        return rows

    def finish_run(self, record: RunRecord) -> None:
        """Seal a stored run: reports recorded, status ``complete``/``incomplete``, digest
        chained to the previous sealed run."""
        self._require_lock()
        with self.engine.begin() as conn:
            prev = (
                conn.execute(
                    sa.select(t.runs.c.id, t.runs.c.chain_digest)
                    .where(t.runs.c.chain_digest.is_not(None))
                    .order_by(t.runs.c.seq.desc())
                )
                .mappings()
                .first()
            )
            values: dict[str, Any] = {
                "status": str(record.status),
                "finished_at": parse_ts(record.finished_at),
                "output_dir": str(record.output_dir) if record.output_dir else None,
                "reports": {k: str(v) for k, v in record.reports.items()},
                "prev_run_id": prev["id"] if prev else None,
                "prev_digest": prev["chain_digest"] if prev else None,
            }
            conn.execute(sa.update(t.runs).where(t.runs.c.id == record.run_id).values(**values))
            row = dict(
                conn.execute(sa.select(t.runs).where(t.runs.c.id == record.run_id)).mappings().one()
            )
            digest = chain_digest(row)
            conn.execute(
                sa.update(t.runs).where(t.runs.c.id == record.run_id).values(chain_digest=digest)
            )
            self._info(conn, "head_run_id", record.run_id)
            self._info(conn, "head_digest", digest)
            self._info(conn, "last_written_by", __version__)

    # -- reading ---------------------------------------------------------------------
    def runs(self, *, finished_only: bool = False) -> list[RunRow]:
        """Every run, newest first."""
        query = sa.select(t.runs).order_by(t.runs.c.started_at.desc(), t.runs.c.id.desc())
        if finished_only:
            query = query.where(t.runs.c.status.in_([str(s) for s in FINISHED]))
        with self.engine.connect() as conn:
            return [_run_row(m) for m in conn.execute(query).mappings()]

    def run(self, run_id: str) -> RunRow:
        """One run by id (a unique prefix is enough), or :class:`StoreError`."""
        with self.engine.connect() as conn:
            found = list(
                conn.execute(
                    sa.select(t.runs).where(t.runs.c.id.startswith(run_id, autoescape=True))
                ).mappings()
            )
        exact = [m for m in found if m["id"] == run_id]
        if exact or len(found) == 1:
            return _run_row((exact or found)[0])
        if not found:
            raise UnknownRun(f"no run {run_id!r} in the store {self.display_url}")
        raise StoreError(
            f"run id prefix {run_id!r} is ambiguous ({len(found)} runs: "
            f"{', '.join(sorted(m['id'] for m in found)[:5])}); give more of the id"
        )

    def latest(self, *, before: RunRow | None = None) -> RunRow | None:
        """The newest finished run (complete or incomplete), optionally older than
        ``before``; failed and interrupted runs are skipped."""
        for row in self.runs(finished_only=True):
            if before is None or (row.seq or 0) < (before.seq or 0):
                return row
        return None

    def _ensure_data(self, row: RunRow) -> int:
        if row.seq is None:
            raise StoreError(f"run {row.id} is {row.status} and stored no snapshot or findings")
        return row.seq

    def resource_hashes(self, row: RunRow) -> dict[ResourceKey, str]:
        """Every resource of a stored run: key -> content hash."""
        seq = self._ensure_data(row)
        v = t.resource_versions
        query = sa.select(
            v.c.account_id, v.c.region, v.c.resource_type, v.c.resource_id, v.c.content_hash
        ).where(_valid_at(v, seq))
        with self.engine.connect() as conn:
            return {(a, r, ty, i): h for a, r, ty, i, h in conn.execute(query)}

    def blobs(self, hashes: Iterable[str]) -> dict[str, Any]:
        """Blob contents by hash."""
        wanted = sorted(set(hashes))
        out: dict[str, Any] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                for h, body in conn.execute(
                    sa.select(t.blobs.c.hash, t.blobs.c.body).where(t.blobs.c.hash.in_(chunk))
                ):
                    out[h] = unpack(body)
        return out

    def snapshot(self, row: RunRow) -> Snapshot:
        """A stored run's snapshot, rebuilt from its resource versions."""
        hashes = self.resource_hashes(row)
        contents = self.blobs(hashes.values())
        with self.engine.connect() as conn:
            m = conn.execute(sa.select(t.runs).where(t.runs.c.id == row.id)).mappings().one()
        meta = dict(m["snapshot_meta"] or {})
        snap = Snapshot(
            accounts=list(m["accounts"]),
            regions=list(m["regions"]),
            partition=meta.get("partition", "aws"),
            started_at=meta.get("started_at", row.started_at),
            finished_at=meta.get("finished_at"),
            tool_version=meta.get("tool_version", "unknown"),
            schema_version=meta.get("schema_version", 1),
            collectors=[CollectorOutcome.from_dict(o) for o in m["collectors"]],
            account_regions=dict(meta.get("account_regions") or {}),
        )
        for (acct, region, rtype, rid), h in sorted(hashes.items()):
            body = contents[h]
            snap.add(acct, region, rtype, rid, body["data"], body.get("arn"))
        return snap

    def findings(self, row: RunRow) -> list[Finding]:
        """A stored run's findings, rebuilt from its finding versions."""
        seq = self._ensure_data(row)
        v = t.finding_versions
        with self.engine.connect() as conn:
            rows = list(conn.execute(sa.select(v).where(_valid_at(v, seq))).mappings())
        details = self.blobs(r["detail_hash"] for r in rows)
        out = []
        for r in rows:
            d = details[r["detail_hash"]]
            out.append(Finding.from_dict({**r, **d}))
        out.sort(key=lambda f: (f.rule_id, f.account_id, f.region, f.resource_type, f.resource_id))
        return out

    def record(self, row: RunRow) -> RunRecord:
        """A stored run as the :class:`RunRecord` its scan returned (minus drift)."""
        with self.engine.connect() as conn:
            fail_on = conn.execute(
                sa.select(t.runs.c.fail_on).where(t.runs.c.id == row.id)
            ).scalar_one()
        return RunRecord(
            run_id=row.id,
            snapshot=self.snapshot(row),
            findings=self.findings(row),
            started_at=row.started_at,
            finished_at=row.finished_at or row.started_at,
            fail_on=Severity(fail_on),
            tool_version=row.tool_version,
            rulepack_version=row.rulepack_version,
            config_hash=row.config_hash,
            output_dir=Path(row.output_dir) if row.output_dir else None,
            reports={k: Path(v) for k, v in row.reports.items()},
            waivers=row.waivers,
        )

    # -- baselines -------------------------------------------------------------------
    def set_baseline(self, name: str, run: RunRow, note: str | None) -> Baseline:
        """Pin ``run`` under ``name`` (replacing an earlier baseline of that name)."""
        if not run.finished:
            raise StoreError(
                f"run {run.id} is {run.status}; only a complete or incomplete run can be a baseline"
            )
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t.baselines).where(t.baselines.c.name == name))
            conn.execute(
                sa.insert(t.baselines).values(name=name, run_id=run.id, note=note, created_at=now)
            )
        return Baseline(name, run.id, note, iso(now) or "")

    def baselines(self) -> list[Baseline]:
        """Every baseline, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.baselines).order_by(t.baselines.c.created_at.desc())
            ).mappings()
            return [
                Baseline(m["name"], m["run_id"], m["note"], iso(m["created_at"]) or "")
                for m in rows
            ]

    def baseline(self, name: str) -> Baseline | None:
        return next((b for b in self.baselines() if b.name == name), None)

    def resolve(self, ref: str) -> tuple[RunRow, Baseline | None]:
        """A run id (or unique prefix), a baseline name, or ``latest`` (the newest finished
        run; a baseline of that name comes first) -> the run (and the baseline).  Every
        command that takes a RUN resolves it here, so all accept the same words."""
        base = self.baseline(ref)
        if base is not None:
            return self.run(base.run_id), base
        if ref == "latest":
            newest = self.latest()
            if newest is None:
                raise StoreError(f"the store {self.display_url} has no finished run yet")
            return newest, None
        try:
            return self.run(ref), None
        except UnknownRun:
            raise StoreError(
                f"{ref!r} is neither a run id nor a baseline name in the store "
                f"{self.display_url} (see `scanner runs list`, `scanner baseline list`)"
            ) from None

    # -- retention -------------------------------------------------------------------
    def prune(self, retention_days: int, now: datetime | None = None) -> list[str]:
        """Delete runs older than ``retention_days``, never a baseline's run nor the newest
        finished run; versions and blobs no remaining run needs go with them.  Each pruned
        run leaves a tombstone with its chain digest, so ``runs verify`` still holds."""
        self._require_lock()
        cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
        pinned = {b.run_id for b in self.baselines()}
        newest = self.latest()
        keep = pinned | ({newest.id} if newest else set())
        victims = [
            r
            for r in self.runs()
            if r.id not in keep
            and r.status is not RunStatus.RUNNING
            and parse_ts(r.started_at) < cutoff
        ]
        if not victims:
            return []
        ids = [r.id for r in victims]
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(t.pruned_runs),
                [
                    {
                        "id": r.id,
                        "seq": r.seq,
                        "started_at": parse_ts(r.started_at),
                        "chain_digest": r.chain_digest,
                        "pruned_at": datetime.now(UTC),
                    }
                    for r in victims
                ],
            )
            for i in range(0, len(ids), _CHUNK):
                conn.execute(sa.delete(t.runs).where(t.runs.c.id.in_(ids[i : i + _CHUNK])))
            for table in (t.resource_versions, t.finding_versions):
                conn.execute(sa.delete(table).where(~_needed(table)))
            used = sa.union(
                sa.select(t.resource_versions.c.content_hash),
                sa.select(t.finding_versions.c.detail_hash),
            )
            conn.execute(sa.delete(t.blobs).where(t.blobs.c.hash.not_in(used)))
        log.info("pruned %d run(s) older than %d days", len(ids), retention_days)
        return ids

    def tombstones(self) -> dict[str, str | None]:
        """Pruned run id -> its chain digest."""
        with self.engine.connect() as conn:
            return {
                r.id: r.chain_digest
                for r in conn.execute(sa.select(t.pruned_runs.c.id, t.pruned_runs.c.chain_digest))
            }


def _valid_at(table: sa.Table, seq: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.first_seq <= seq, sa.or_(table.c.until_seq.is_(None), table.c.until_seq > seq)
    )


def _needed(table: sa.Table) -> sa.ColumnElement[bool]:
    """A version some remaining stored run still reads (open versions always are)."""
    r = t.runs.alias("r")
    covering = (
        sa.select(sa.literal(1))
        .where(
            r.c.seq.is_not(None),
            r.c.seq >= table.c.first_seq,
            sa.or_(table.c.until_seq.is_(None), r.c.seq < table.c.until_seq),
        )
        .exists()
    )
    return sa.or_(table.c.until_seq.is_(None), covering)


def snapshot_meta(snap: Snapshot) -> dict[str, Any]:
    """The snapshot's own header fields (what rebuilding it needs besides resources)."""
    return {
        "schema_version": snap.schema_version,
        "tool_version": snap.tool_version,
        "started_at": snap.started_at,
        "finished_at": snap.finished_at,
        "partition": snap.partition,
        **({"account_regions": snap.account_regions} if snap.account_regions else {}),
    }


def _digest_meta(meta: dict[str, Any], snap: Snapshot) -> dict[str, Any]:
    return {
        **meta,
        "accounts": list(snap.accounts),
        "regions": list(snap.regions),
        "collectors": [o.to_dict() for o in snap.collectors],
    }
