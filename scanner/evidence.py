"""``scanner evidence export``: one zip an auditor can read offline and check.

Everything is rebuilt from the history store, not copied from a reports directory that
may have been edited or deleted since:

- ``snapshot.json.gz``: the run's snapshot;
- ``findings.json``, ``findings.csv``, ``report.html``: the run's reports, regenerated
  the way ``scanner report`` regenerates any format (:func:`stored_record`);
- ``drift-baseline.json`` (or ``drift-previous.json`` when no baseline exists): the full
  drift document against the baseline;
- ``rulepacks.json``: the rule-pack version the run used, and the rule catalog of the
  exporting scanner (marked as matching or not);
- ``verification.json``: ``scanner runs verify`` over the whole store at export time;
- ``manifest.json``: the run, the store, every file with its SHA-256 and size, and the
  run's own snapshot, findings and chain digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.config import Config
from scanner.engine import load_config_ruleset
from scanner.history.drift import Side, drift, drift_for_run
from scanner.history.store import RunRow, Store
from scanner.history.trend import trend_for
from scanner.history.verify import verify
from scanner.model.record import RunRecord
from scanner.reporting import WRITERS, write_reports

MANIFEST_FORMAT = "privatelink-scanner evidence pack 1"
# The reports an evidence pack carries (``scanner report`` writes any other format).
EVIDENCE_FORMATS = ("json", "csv", "html")


def stored_record(store: Store, row: RunRow, baseline: str | None) -> RunRecord:
    """A stored run as its scan returned it, drift included: its findings and snapshot from
    the store, drift recomputed against the run before it and the baseline (``baseline``
    is config ``store.baseline``).  No AWS call."""
    record = store.record(row)
    record.drift = drift_for_run(store, row.id, row.status, baseline)
    return record


def regenerate_reports(
    store: Store, row: RunRow, out_dir: Path, formats: Sequence[str], baseline: str | None
) -> dict[str, Path]:
    """``scanner report``: write ``formats`` of a stored run into ``out_dir``, its HTML with
    the FAIL / ERROR trend up to that run, as the scan itself wrote it."""
    context = {"trend": trend_for(store, until=row.id)}
    return write_reports(stored_record(store, row, baseline), out_dir, formats, context=context)


def _json(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n").encode()


def _drift_file(store: Store, row: RunRow) -> tuple[str, bytes] | None:
    baselines = [b for b in store.baselines() if b.run_id != row.id]
    if baselines:
        base = baselines[0]
        before = Side(store.run(base.run_id), base.name)
        return "drift-baseline.json", _json(drift(store, before, Side(row)))
    prev = store.latest(before=row)
    if prev is None:
        return None
    return "drift-previous.json", _json(drift(store, Side(prev), Side(row)))


def _rulepacks(config: Config, row: RunRow) -> dict[str, Any]:
    ruleset = load_config_ruleset(config)
    return {
        "run_rulepack_version": row.rulepack_version,
        "exporter_rulepack_version": ruleset.version,
        "matches": ruleset.version == row.rulepack_version,
        "rules": [
            {
                "id": r.id,
                "title": r.title,
                "severity": str(r.severity),
                "check": r.check_kind,
                "frameworks": r.frameworks,
                "source": Path(r.source).name,
            }
            for r in ruleset.rules
        ],
    }


def evidence_files(store: Store, row: RunRow, config: Config) -> dict[str, bytes]:
    """Every file of the pack but the manifest, by name."""
    record = stored_record(store, row, config.store.baseline)
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in EVIDENCE_FORMATS:
            name, writer = WRITERS[fmt]
            files[name] = writer(record, Path(tmp) / name).read_bytes()
        files["snapshot.json.gz"] = record.snapshot.save(Path(tmp) / "snap.json.gz").read_bytes()
    extra = _drift_file(store, row)
    if extra is not None:
        files[extra[0]] = extra[1]
    files["rulepacks.json"] = _json(_rulepacks(config, row))
    files["verification.json"] = _json(verify(store).to_dict())
    return files


def export_evidence(store: Store, row: RunRow, output: Path, config: Config) -> dict[str, Any]:
    """Write the pack to ``output`` atomically; returns the manifest."""
    files = evidence_files(store, row, config)
    manifest = {
        "format": MANIFEST_FORMAT,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "exported_by": f"privatelink-scanner {__version__}",
        "store": {"url": store.display_url, **store.info()},
        "run": row.to_dict(),
        "files": [
            {"name": name, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
            for name, body in sorted(files.items())
        ],
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", _json(manifest))
            for name, body in sorted(files.items()):
                zf.writestr(name, body)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return manifest
