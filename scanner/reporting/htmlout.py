"""``report.html``: one self-contained page for people.

Offline by construction and locked down: no CDN, fonts or remote images, and a strict
Content-Security-Policy (``default-src 'none'``) whose only allowances are the SHA-256
hashes of the page's one inline stylesheet and one inline script, computed here from the
exact bytes written (no ``'unsafe-inline'``, no inline handlers, no ``style=""``).

What the server renders (readable with scripts off): the verdict headline (public access
paths), the summary (pass rate by framework and requirement, counts by severity, account and
region, scan completeness naming every collector error), the charts as inline SVG, drift and
waivers.  The findings themselves are embedded once, as inert JSON in
``<script type="application/json" id="data">`` built by :func:`page_data`; the script renders
only what is visible (groups by rule, collapsed; 100 rows at a time), so 20,000 findings open
and filter without delay.  Every value from AWS reaches the page either autoescaped by Jinja2
or as JSON text turned into DOM with ``textContent``: never markup.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from scanner.engine.builtins.access_paths import IAM_INBOUND, KIND_LABELS
from scanner.model.finding import SEVERITY_RANK, Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.model.verdict import VERDICT_RULES
from scanner.reporting.atomic import write_text_atomic
from scanner.reporting.document import dedup_paths, run_document, share_target_lists

_STATUS_ORDER = {Status.ERROR: 0, Status.FAIL: 1, Status.PASS: 2, Status.NOT_APPLICABLE: 3}
STATUSES = ("ERROR", "FAIL", "PASS", "NOT_APPLICABLE")
SEVERITIES = tuple(s.value for s in sorted(Severity, key=lambda s: -SEVERITY_RANK[s]))
# Frameworks shown first, with short labels (the framework files give the full titles).
FRAMEWORK_LABELS = {"hipaa": "HIPAA", "pci-dss-v4": "PCI DSS v4.0"}
# Finding fields that are usually the same for every finding of a rule: the page stores them
# once per rule (``rules``) and a finding keeps its own only where it differs.
RULE_FIELDS = ("title", "frameworks", "remediation")
_STATIC = "static"


def sort_key(finding: Finding) -> tuple[int, int, str, str]:
    """ERROR first (we could not look), then FAIL by severity, then the rest."""
    return (
        _STATUS_ORDER[finding.status],
        -SEVERITY_RANK[finding.severity],
        finding.rule_id,
        finding.resource_id,
    )


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("scanner.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


# -- the embedded data ---------------------------------------------------------------------


# One row per finding, in this order; low-cardinality values are indexes into ``strings``.
COLUMNS = (
    "rule",  # index into ``rules``
    "status",  # index into STATUSES
    "severity",  # index into SEVERITIES
    "account_id",  # string index
    "region",  # string index
    "resource_type",  # string index
    "resource_id",
    "fingerprint",
    "message",  # string index, resource id as PLACEHOLDER (or the text itself)
    "resource_arn",  # string index, resource id as PLACEHOLDER (or the text itself); -1: none
    "evidence",  # dict (interned values: see ``evidence_refs``), or 0: empty
    "extra",  # dict of what is rare (waiver, overrides, evidence_refs), or 0
)
PLACEHOLDER = "\u0000"
"""Stands for the finding's resource id in templated strings (never in a real one: a string
that contains it is stored as is)."""
_INTERN_MIN = 24  # evidence values whose JSON is at least this long are stored once


def _template(text: str, resource_id: str) -> str | None:
    """``text`` with the resource id as :data:`PLACEHOLDER`, or None if it cannot be."""
    if not resource_id or PLACEHOLDER in text or PLACEHOLDER in resource_id:
        return None
    return text.replace(resource_id, PLACEHOLDER)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class _Packer:
    """Builds the page's tables: strings, evidence values and rules, each stored once."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._string_ids: dict[str, int] = {}
        self.values: list[Any] = []
        self._value_ids: dict[str, int] = {}
        self.rules: list[dict[str, Any]] = []
        self._rule_ids: dict[str, int] = {}
        self._repeated: set[str] = set()

    def string(self, text: str) -> int:
        sid = self._string_ids.get(text)
        if sid is None:
            sid = self._string_ids[text] = len(self.strings)
            self.strings.append(text)
        return sid

    def templated(self, text: str, resource_id: str) -> int | str:
        """A string index of ``text`` with the resource id templated, or ``text`` itself
        when it cannot be templated (the page reads a string cell as is)."""
        template = _template(text, resource_id)
        return text if template is None else self.string(template)

    def count_values(self, findings: Iterable[dict[str, Any]]) -> None:
        """First pass: which evidence values repeat (only those are worth a table entry)."""
        seen: set[str] = set()
        for item in findings:
            for value in (item.get("evidence") or {}).values():
                text = _canonical(value)
                if len(text) >= _INTERN_MIN:
                    (self._repeated if text in seen else seen).add(text)

    def evidence(self, evidence: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        out: dict[str, Any] = {}
        refs: list[str] = []
        for key, value in evidence.items():
            text = _canonical(value)
            if text in self._repeated:
                vid = self._value_ids.get(text)
                if vid is None:
                    vid = self._value_ids[text] = len(self.values)
                    self.values.append(value)
                out[key] = vid
                refs.append(key)
            else:
                out[key] = value
        return out, refs

    def rule(self, item: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The rule's index and its stored fields (from its first finding)."""
        rid = self._rule_ids.get(item["rule_id"])
        if rid is None:
            rid = self._rule_ids[item["rule_id"]] = len(self.rules)
            rule = {"id": item["rule_id"], **{k: item[k] for k in RULE_FIELDS}}
            remediation = dict(rule["remediation"] or {})
            cli = remediation.get("cli")
            if isinstance(cli, str):
                template = _template(cli, item["resource_id"])
                if template is not None:
                    remediation["cli"] = template
                    rule["cli_templated"] = True
            rule["remediation"] = remediation
            self.rules.append(rule)
        return rid, self.rules[rid]

    def row(self, item: dict[str, Any]) -> list[Any]:
        rid, rule = self.rule(item)
        resource_id = item["resource_id"]
        extra: dict[str, Any] = {}
        for key in ("title", "frameworks"):
            if item[key] != rule[key]:
                extra[key] = item[key]
        remediation = dict(item["remediation"] or {})
        base = rule["remediation"]
        cli = remediation.get("cli")
        templated = rule.get("cli_templated") and isinstance(cli, str)
        if templated and _template(str(cli), resource_id) == base.get("cli"):
            remediation["cli"] = base["cli"]
        if set(base) <= set(remediation):
            diff = {k: v for k, v in remediation.items() if base.get(k) != v}
            if "cli" in diff:
                diff["cli"] = cli  # a CLI of its own, as is
            if diff:
                extra["remediation_diff"] = diff
        else:
            extra["remediation"] = item["remediation"]
        if item.get("waiver") is not None:
            extra["waiver"] = item["waiver"]
        evidence: Any = 0
        if item.get("evidence"):
            evidence, refs = self.evidence(item["evidence"])
            if refs:
                extra["evidence_refs"] = refs
        arn = item.get("resource_arn")
        return [
            rid,
            STATUSES.index(item["status"]),
            SEVERITIES.index(item["severity"]),
            self.string(item["account_id"]),
            self.string(item["region"]),
            self.string(item["resource_type"]),
            resource_id,
            item["fingerprint"],
            self.templated(item["message"], resource_id),
            -1 if arn is None else self.templated(arn, resource_id),
            evidence,
            extra or 0,
        ]


def page_data(record: RunRecord) -> dict[str, Any]:
    """The JSON the page embeds (``<script type="application/json" id="data">``).

    Keys: ``run`` (:func:`run_document`), ``paths`` and ``target_sets`` (each public path
    and each shared notebook / user-profile list once, evidence path lists as ids: exactly
    as ``findings.json`` stores them, through ``document.dedup_paths`` and
    ``document.share_target_lists``), ``frameworks`` (id -> label), and the findings in
    report order (:func:`sort_key`) packed to stay small at 20,000 findings: ``columns``
    names the fields of each row of ``findings``; ``rules`` holds each rule's title,
    frameworks and remediation once (its CLI with the resource id as ``placeholder``);
    ``strings`` the accounts, regions, types, messages and ARNs (resource id as
    ``placeholder``); ``values`` each evidence value that repeats.  :func:`unpack_findings`
    (and the page's script) turn it back into :meth:`Finding.to_dict` dicts.
    """
    ordered = sorted(record.findings, key=sort_key)
    paths, dicts = dedup_paths(f.to_dict() for f in ordered)
    paths, target_sets = share_target_lists(paths)
    packer = _Packer()
    packer.count_values(dicts)
    rows = [packer.row(item) for item in dicts]
    return {
        "run": run_document(record),
        "paths": paths,
        "target_sets": target_sets,
        "frameworks": {fw: framework_label(fw) for fw in framework_ids(ordered)},
        "placeholder": PLACEHOLDER,
        "statuses": list(STATUSES),
        "severities": list(SEVERITIES),
        "columns": list(COLUMNS),
        "rules": packer.rules,
        "strings": packer.strings,
        "values": packer.values,
        "findings": rows,
    }


def _untemplate(strings: list[str], cell: int | str, ph: str, resource_id: str) -> str:
    return cell if isinstance(cell, str) else strings[cell].replace(ph, resource_id)


def unpack_findings(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of :func:`page_data` as :meth:`Finding.to_dict` dicts (evidence paths as
    ids, as in ``findings.json``): what the page's script reads, in Python, for tests."""
    strings, values, rules = data["strings"], data["values"], data["rules"]
    ph = data["placeholder"]
    out = []
    for row in data["findings"]:
        (r, status, sev, acct, region, rtype, rid, fp, msg, arn, evidence, extra) = row
        rule = rules[r]
        extra = extra or {}
        remediation = dict(rule["remediation"])
        if rule.get("cli_templated") and isinstance(remediation.get("cli"), str):
            remediation["cli"] = remediation["cli"].replace(ph, rid)
        remediation.update(extra.get("remediation_diff") or {})
        ev = dict(evidence or {})
        for key in extra.get("evidence_refs") or []:
            ev[key] = values[ev[key]]
        out.append(
            {
                "rule_id": rule["id"],
                "status": data["statuses"][status],
                "severity": data["severities"][sev],
                "account_id": strings[acct],
                "region": strings[region],
                "resource_type": strings[rtype],
                "resource_id": rid,
                "title": extra.get("title", rule["title"]),
                "message": _untemplate(strings, msg, ph, rid),
                "resource_arn": None if arn == -1 else _untemplate(strings, arn, ph, rid),
                "evidence": ev,
                "frameworks": extra.get("frameworks", rule["frameworks"]),
                "remediation": extra.get("remediation", remediation),
                "waiver": extra.get("waiver"),
                "fingerprint": fp,
                "waived": extra.get("waiver") is not None,
            }
        )
    return out


def embed_json(data: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` element: no ``<`` at all
    (so no ``</script>`` and no ``<!--``), nor ``>`` or ``&``; ``JSON.parse`` reads it back."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- the Content-Security-Policy -------------------------------------------------------------


def csp_source(text: str) -> str:
    """The CSP hash source of an inline element's exact content."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(script: str, style: str) -> str:
    """Nothing but the one inline script, the one inline stylesheet and ``data:`` images."""
    return (
        f"default-src 'none'; script-src {csp_source(script)}; style-src {csp_source(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


@cache
def asset(name: str) -> str:
    """A static asset's text (LF line ends: the browser hashes what it parses)."""
    text = (files("scanner.reporting") / _STATIC / name).read_text(encoding="utf-8")
    closing = "</script" if name.endswith(".js") else "</style"
    if closing in text.lower() or "\r" in text:
        raise ValueError(f"{name} cannot be inlined as is")
    return text


# -- frameworks --------------------------------------------------------------------------


@cache
def _framework_titles() -> dict[str, dict[str, Any]]:
    """``{framework id: {"title", "requirements": {id: title}}}`` from the shipped files."""
    out: dict[str, dict[str, Any]] = {}
    try:
        folder = files("scanner.rulepacks.frameworks")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".yaml"):
                continue
            doc = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            reqs = {str(r["id"]): str(r.get("title", "")) for r in doc.get("requirements", [])}
            out[str(doc["id"])] = {"title": str(doc.get("title", doc["id"])), "requirements": reqs}
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return {}
    return out


def framework_label(fw: str) -> str:
    return FRAMEWORK_LABELS.get(fw) or _framework_titles().get(fw, {}).get("title") or fw


def framework_ids(findings: Iterable[Finding]) -> list[str]:
    """Frameworks the findings map to: HIPAA and PCI DSS first, then the others by id."""
    seen = {fw for f in findings for fw in f.frameworks}
    known = [fw for fw in FRAMEWORK_LABELS if fw in seen]
    return known + sorted(seen - set(known))


def _natural(text: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


def _rate(counts: Mapping[str, int]) -> float | None:
    """PASS over everything judged (PASS + FAIL + ERROR): an ERROR is never compliant."""
    judged = counts.get("PASS", 0) + counts.get("FAIL", 0) + counts.get("ERROR", 0)
    return counts.get("PASS", 0) / judged if judged else None


def framework_stats(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """Per framework: status counts, pass rate, and the same per requirement."""
    titles = _framework_titles()
    stats = []
    for fw in framework_ids(findings):
        total: Counter[str] = Counter()
        waived = 0
        reqs: dict[str, Counter[str]] = defaultdict(Counter)
        for f in findings:
            if fw not in f.frameworks:
                continue
            total[str(f.status)] += 1
            waived += f.waived
            for req in f.frameworks[fw]:
                reqs[req][str(f.status)] += 1
        req_titles = titles.get(fw, {}).get("requirements", {})
        stats.append(
            {
                "id": fw,
                "label": framework_label(fw),
                "title": titles.get(fw, {}).get("title", fw),
                "counts": {s: total.get(s, 0) for s in STATUSES},
                "rate": _rate(total),
                "waived": waived,
                "requirements": [
                    {
                        "id": req,
                        "title": req_titles.get(req, ""),
                        "counts": {s: c.get(s, 0) for s in STATUSES},
                        "rate": _rate(c),
                    }
                    for req, c in sorted(reqs.items(), key=lambda kv: _natural(kv[0]))
                ],
            }
        )
    return stats


def tally(findings: Iterable[Finding], key: Callable[[Finding], str]) -> dict[str, dict[str, int]]:
    """``{key: {status: count}}`` with every status present."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        out[key(f)][str(f.status)] += 1
    return {k: {s: c.get(s, 0) for s in STATUSES} for k, c in out.items()}


# -- the verdict -------------------------------------------------------------------------


def verdict_summary(findings: Sequence[Finding]) -> dict[str, Any]:
    """The headline of the verdict rules: how many public paths, of which kinds, to what."""
    verdicts = [f for f in findings if f.rule_id in VERDICT_RULES]
    failing = [f for f in verdicts if f.status is Status.FAIL]
    by_kind = dict.fromkeys(KIND_LABELS, 0)
    total = listed = 0
    principals: set[str] = set()
    for f in failing:
        items = f.evidence.get("paths") or []
        listed += len(items)
        total += int(f.evidence.get("paths_total", len(items)))
        for kind, n in (f.evidence.get("paths_by_kind") or {}).items():
            by_kind[kind] = by_kind.get(kind, 0) + int(n)
        principals.update(
            str(p["principal"]) for p in items if isinstance(p, dict) and p.get("principal")
        )
    targets = Counter(VERDICT_RULES[f.rule_id] for f in failing)
    return {
        "total": total,
        "listed": listed,
        "by_kind": [
            {"kind": k, "label": KIND_LABELS.get(k, k), "n": n} for k, n in by_kind.items() if n
        ],
        "targets": [{"noun": noun, "n": targets.get(noun, 0)} for noun in VERDICT_RULES.values()],
        "failing": len(failing),
        "principals": len(principals),
        "iam": by_kind.get(IAM_INBOUND, 0),
        "checked": len(verdicts),
        "passed": sum(1 for f in verdicts if f.status is Status.PASS),
        "undecided": [
            {
                "rule_id": f.rule_id,
                "resource_id": f.resource_id,
                "account_id": f.account_id,
                "region": f.region,
                "message": f.message,
            }
            for f in verdicts
            if f.status is Status.ERROR
        ],
    }


def completeness(record: RunRecord) -> dict[str, Any]:
    """Collector outcomes by status, every failed one named, and the rules that said ERROR."""
    outcomes = [o.to_dict() for o in record.snapshot.collectors]
    by_status = Counter(str(o["status"]) for o in outcomes)
    errors_by_rule = Counter(f.rule_id for f in record.findings if f.status is Status.ERROR)
    return {
        "scopes": len(outcomes),
        "by_status": dict(sorted(by_status.items())),
        "errors": record.collector_errors,
        "unreachable_accounts": record.unreachable_accounts,
        "not_collected": [o for o in outcomes if o["status"] == "not_collected"],
        "disabled": [o for o in outcomes if o["status"] == "disabled"],
        "error_rules": sorted(errors_by_rule.items(), key=lambda kv: (-kv[1], kv[0])),
    }


# -- charts (inline SVG, no script) -----------------------------------------------------------


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: Any, cls: str = "t", anchor: str = "start") -> str:
    return (
        f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for label, cls in items:
        out.append(f'<rect class="{cls}" x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10"/>')
        out.append(_text(x + 14, y, label, "t small"))
        x += 14 + 7.2 * len(label) + 14
    return out


_STATUS_CLASS = {"PASS": "c-pass", "FAIL": "c-fail", "ERROR": "c-error", "NOT_APPLICABLE": "c-na"}


def chart_frameworks(stats: Sequence[Mapping[str, Any]]) -> Markup | None:
    """One 100% bar per framework: PASS, FAIL and ERROR shares, with the pass rate."""
    if not stats:
        return None
    width, left, bar_w, row = 360, 96, 190, 34
    height = 30 + row * len(stats) + 20
    body = _legend(left, 16, [("PASS", "c-pass"), ("FAIL", "c-fail"), ("ERROR", "c-error")])
    for i, fw in enumerate(stats):
        y = 30 + i * row
        counts = fw["counts"]
        judged = counts["PASS"] + counts["FAIL"] + counts["ERROR"]
        body.append(_text(left - 8, y + 15, fw["label"], "t", "end"))
        x = float(left)
        if not judged:
            body.append(f'<rect class="c-na" x="{x}" y="{y}" width="{bar_w}" height="20"/>')
        for status in ("PASS", "FAIL", "ERROR"):
            if not judged or not counts[status]:
                continue
            w = bar_w * counts[status] / judged
            body.append(
                f'<rect class="{_STATUS_CLASS[status]}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
                f'height="20"><title>{escape(fw["label"])}: {counts[status]} {status}</title></rect>'
            )
            x += w
        rate = "n/a" if fw["rate"] is None else f"{fw['rate'] * 100:.0f}%"
        body.append(_text(left + bar_w + 8, y + 15, f"{rate} pass", "t strong"))
    return _svg(width, height, "Compliance by framework (pass rate of judged findings)", body)


def chart_severity(by_severity: Mapping[str, Mapping[str, int]]) -> Markup:
    """One bar per severity, stacked by status (ERROR, FAIL, PASS, NOT_APPLICABLE)."""
    width, left, bar_w, row = 360, 70, 240, 26
    height = 30 + row * len(SEVERITIES) + 10
    peak = max((sum(c.values()) for c in by_severity.values()), default=0) or 1
    body = _legend(
        left,
        16,
        [("ERROR", "c-error"), ("FAIL", "c-fail"), ("PASS", "c-pass"), ("N/A", "c-na")],
    )
    for i, sev in enumerate(SEVERITIES):
        y = 30 + i * row
        counts = by_severity.get(sev, {})
        body.append(_text(left - 8, y + 13, sev, "t", "end"))
        x = float(left)
        for status in STATUSES:
            n = counts.get(status, 0)
            if not n:
                continue
            w = max(bar_w * n / peak, 1.0)
            body.append(
                f'<rect class="{_STATUS_CLASS[status]}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
                f'height="18"><title>{sev}: {n} {status}</title></rect>'
            )
            x += w
        body.append(_text(x + 6, y + 13, sum(counts.values()), "t small"))
    return _svg(width, height, "Findings by severity and status", body)


def chart_trend(trend: Sequence[Mapping[str, Any]]) -> Markup | None:
    """FAIL and ERROR counts over the last runs, oldest on the left."""
    if not trend:
        return None
    width, height, left, right, top, bottom = 360, 190, 44, 16, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(max(int(p["fail"]), int(p["error"])) for p in trend) or 1
    step = plot_w / (len(trend) - 1) if len(trend) > 1 else 0.0

    def xy(i: int, value: int) -> tuple[float, float]:
        x = left + (i * step if len(trend) > 1 else plot_w / 2)
        return x, top + plot_h - plot_h * value / peak

    body = _legend(left, 14, [("FAIL", "c-fail"), ("ERROR", "c-error")])
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h - plot_h * frac
        body.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
        )
        body.append(_text(left - 6, y + 4, round(peak * frac), "t small", "end"))
    for key, cls in (("fail", "l-fail"), ("error", "l-error")):
        points = [xy(i, int(p[key])) for i, p in enumerate(trend)]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline class="{cls}" points="{coords}"/>')
        for (x, y), p in zip(points, trend, strict=True):
            tip = f"{p['run_id']} ({p['started_at']}): {p['fail']} FAIL, {p['error']} ERROR"
            body.append(
                f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(tip)}</title></circle>'
            )
    first, last = str(trend[0]["started_at"])[:10], str(trend[-1]["started_at"])[:10]
    body.append(_text(left, height - 10, first, "t small"))
    if len(trend) > 1:
        body.append(_text(width - right, height - 10, last, "t small", "end"))
    label = f"FAIL and ERROR findings over the last {len(trend)} run(s)"
    return _svg(width, height, label, body)


# -- the page ----------------------------------------------------------------------------


def render_html(record: RunRecord, *, trend: Sequence[Mapping[str, Any]] | None = None) -> str:
    """Render the report page as a string (``trend``: see :func:`chart_trend`)."""
    css, js = asset("report.css"), asset("report.js")
    findings = record.findings
    fw_stats = framework_stats(findings)
    by_severity = tally(findings, lambda f: str(f.severity))
    context: dict[str, Any] = {
        "run": run_document(record),
        "summary": record.summary(),
        "collector_errors": record.collector_errors,
        "csp": Markup(content_security_policy(js, css)),  # our own text: quotes as is
        "css": Markup(css),
        "js": Markup(js),
        "data_json": Markup(embed_json(page_data(record))),
        "verdict": verdict_summary(findings),
        "frameworks": fw_stats,
        "by_severity": {s: by_severity.get(s, dict.fromkeys(STATUSES, 0)) for s in SEVERITIES},
        "by_account": dict(sorted(tally(findings, lambda f: f.account_id).items())),
        "by_region": dict(sorted(tally(findings, lambda f: f.region).items())),
        "completeness": completeness(record),
        "statuses": STATUSES,
        "severities": SEVERITIES,
        "accounts": sorted({f.account_id for f in findings}),
        "regions": sorted({f.region for f in findings}),
        "charts": {
            "frameworks": chart_frameworks(fw_stats),
            "severity": chart_severity(by_severity),
            "trend": chart_trend(trend) if trend else None,
        },
        "trend": list(trend or []),
    }
    return environment().get_template("report.html.j2").render(**context)


def write_html(
    record: RunRecord, path: Path, *, trend: Sequence[Mapping[str, Any]] | None = None
) -> Path:
    """Write ``report.html``."""
    return write_text_atomic(path, render_html(record, trend=trend))
