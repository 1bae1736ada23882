"""A fake ServiceNow instance: the Table API over a few tables, with encoded queries,
offset paging, journal fields and the incident data policy on resolve/close.

The behaviours kept are those a sync client trips over on a real instance: every value
comes back as a string (``"state": "1"``, not 1), ``work_notes`` and ``comments`` are
journals that read back empty, a list is cut into pages announced by ``Link`` and
``X-Total-Count``, and resolving an incident without its resolution code and notes is
refused with a 403 data policy exception.
"""

from __future__ import annotations

import json
import operator
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.ticketfakes.base import FakeService, Recorded, Rejected, Reply, Route, utcnow

JOURNAL_FIELDS = ("work_notes", "comments")
# Incident states that the out-of-box "Resolution fields mandatory" data policy guards.
RESOLVED_STATES = ("6", "7")
_PREFIXES = {"incident": "INC", "problem": "PRB", "change_request": "CHG", "sn_si_incident": "SIR"}
_SYSTEM = ("sys_id", "sys_created_on", "sys_updated_on", "sys_created_by", "sys_mod_count")
_NOT_FOUND = Reply(
    404,
    {
        "error": {
            "message": "No Record found",
            "detail": "Record doesn't exist or ACL restricts the record retrieval",
        },
        "status": "failure",
    },
)
_DATA_POLICY = Reply(
    403,
    {
        "error": {
            "message": "Operation Failed",
            "detail": "Data Policy Exception: \n The following fields are mandatory: "
            "Resolution code, Resolution notes",
        },
        "status": "failure",
    },
)


# -- encoded queries ------------------------------------------------------------------------

_TERM = re.compile(
    r"(?P<field>[a-z0-9_.]+)(?P<op>!=|=|NOT IN|IN|ISNOTEMPTY|ISEMPTY|STARTSWITH|LIKE)(?P<value>.*)",
    re.S,
)


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    field: str
    op: str
    value: str

    def holds(self, record: dict[str, str]) -> bool:
        have = record.get(self.field, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        if self.op in ("IN", "NOT IN"):
            return (have in self.value.split(",")) == (self.op == "IN")
        if self.op == "ISEMPTY":
            return have == ""
        if self.op == "ISNOTEMPTY":
            return have != ""
        if self.op == "STARTSWITH":
            return have.startswith(self.value)
        return self.value.lower() in have.lower()  # LIKE: contains


@dataclass(frozen=True)
class EncodedQuery:
    groups: tuple[tuple[Term, ...], ...]  # AND of ORs
    order: tuple[tuple[str, bool], ...]  # (field, descending)

    def holds(self, record: dict[str, str]) -> bool:
        return all(any(t.holds(record) for t in group) for group in self.groups)


def _split_terms(text: str) -> list[str]:
    """Split on ``^``; ``^^`` is a literal caret in a value, as in ServiceNow."""
    parts, current, i = [], [], 0
    while i < len(text):
        if text[i] == "^" and text[i + 1 : i + 2] == "^":
            current.append("^")
            i += 2
        elif text[i] == "^":
            parts.append("".join(current))
            current, i = [], i + 1
        else:
            current.append(text[i])
            i += 1
    parts.append("".join(current))
    return parts


def parse_query(text: str) -> EncodedQuery:
    """``sysparm_query``: ``field=v``, ``field!=v``, ``fieldINa,b``, ``^`` (AND), ``^OR``
    (binding tighter than AND, as ServiceNow reads it), ``^ORDERBY[DESC]field``.

    An instance ignores a term it cannot read (and so may return every record); the fake
    refuses it instead, so that a client's malformed query fails its test."""
    groups: list[list[Term]] = []
    order: list[tuple[str, bool]] = []
    for raw in _split_terms(text):
        if raw in ("", "EQ"):
            continue
        if raw.startswith("ORDERBYDESC"):
            order.append((raw[len("ORDERBYDESC") :], True))
            continue
        if raw.startswith("ORDERBY"):
            order.append((raw[len("ORDERBY") :], False))
            continue
        if raw.startswith("NQ"):
            raise QueryError("^NQ (a second query) is not supported by the fake")
        alternative = raw.startswith("OR")
        m = _TERM.fullmatch(raw[2:] if alternative else raw)
        if m is None:
            raise QueryError(f"cannot read the term {raw!r}")
        term = Term(m["field"], m["op"], m["value"])
        if alternative:
            if not groups:
                raise QueryError(f"^OR with nothing before it: {raw!r}")
            groups[-1].append(term)
        else:
            groups.append([term])
    return EncodedQuery(tuple(tuple(g) for g in groups), tuple(order))


def _text(value: Any) -> str:
    """A value as ServiceNow stores and returns it: a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict) and "value" in value:
        return _text(value["value"])
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _stamp() -> str:
    return utcnow().strftime("%Y-%m-%d %H:%M:%S")


class FakeServiceNow(FakeService):
    """The ServiceNow Table API at ``/api/now/table/{table}`` (and ``/api/now/v1/...``,
    ``/api/now/v2/...``): create, list, get, update (PATCH and PUT) and delete.

    Follows https://developer.servicenow.com/dev.do#!/reference/api/latest/rest/c_TableAPI
    (``sysparm_query``/``sysparm_fields``/``sysparm_limit``/``sysparm_offset``, the ``Link``
    header with first/prev/next/last and ``X-Total-Count``; ``{"result": ...}`` bodies and
    ``{"error": {"message", "detail"}, "status": "failure"}`` errors), with the journal
    fields and the incident resolution data policy of an out-of-box instance.

    There is no schema: any field a client sends is stored (an instance would drop a field
    the table lacks).  ``records`` is table -> sys_id -> record (all values strings).
    """

    def __init__(
        self,
        tables: Iterable[str] = ("incident",),
        basic: tuple[str, str] | None = ("scanner", "sn-password"),
        bearer: str | None = None,
    ) -> None:
        self.records: dict[str, dict[str, dict[str, str]]] = {t: {} for t in tables}
        self._journal: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._numbers: dict[str, int] = dict.fromkeys(self.records, 10001)
        super().__init__(basic=basic, bearer=bearer)

    # -- state for tests ------------------------------------------------------------------

    def journal(self, table: str, sys_id: str) -> list[tuple[str, str]]:
        """(field, text) of every journal entry of the record, oldest first."""
        with self.lock:
            return list(self._journal.get((table, sys_id), []))

    def by_correlation(self, table: str, correlation_id: str) -> list[dict[str, str]]:
        with self.lock:
            return [
                dict(r)
                for r in self.records[table].values()
                if r.get("correlation_id") == correlation_id
            ]

    # -- routing --------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Route]]:
        base = r"/api/now(?:/v[12])?/table/(?P<table>[^/]+)"
        one = base + r"/(?P<sys_id>[^/]+)"
        return [
            ("POST", base, self._create),
            ("GET", base, self._list),
            ("GET", one, self._get),
            ("PATCH", one, self._update),
            ("PUT", one, self._update),
            ("DELETE", one, self._delete),
        ]

    def problem(self, status: int, message: str) -> Reply:
        if status == 404:
            message = "Requested URI does not represent any resource"
        return Reply(status, {"error": {"message": message, "detail": None}, "status": "failure"})

    def unauthorized(self) -> Reply:
        return Reply(
            401,
            {
                "error": {
                    "message": "User is not authenticated",
                    "detail": "Required to provide Auth information",
                },
                "status": "failure",
            },
            {"WWW-Authenticate": 'BASIC realm="Service-now"'},
        )

    # -- handlers -------------------------------------------------------------------------

    def _create(self, rec: Recorded, m: re.Match[str]) -> Reply:
        table = self._table(m["table"])
        doc = self.json_object(rec)
        sys_id = secrets.token_hex(16)
        record = {k: _text(v) for k, v in doc.items() if k not in JOURNAL_FIELDS}
        self._policy(table, record, {})
        now = _stamp()
        record.update(
            sys_id=sys_id,
            sys_created_on=now,
            sys_updated_on=now,
            sys_created_by=self._user(),
            sys_mod_count="0",
        )
        record.setdefault("state", "1")
        if not record.get("number"):
            record["number"] = (
                f"{_PREFIXES.get(table, table[:3].upper())}{self._numbers[table]:07d}"
            )
            self._numbers[table] += 1
        record.update(dict.fromkeys(JOURNAL_FIELDS, ""))
        self.records[table][sys_id] = record
        self._write_journal(table, sys_id, doc)
        return Reply(201, {"result": self._select(record, rec)})

    def _list(self, rec: Recorded, m: re.Match[str]) -> Reply:
        table = self._table(m["table"])
        try:
            query = parse_query(rec.param("sysparm_query") or "")
        except QueryError as exc:
            raise Rejected(self.problem(400, f"Invalid encoded query: {exc}")) from None
        hits = [r for r in self.records[table].values() if query.holds(r)]
        for name, descending in reversed(query.order):
            hits.sort(key=operator.methodcaller("get", name, ""), reverse=descending)
        limit = self._number(rec, "sysparm_limit", 10000)
        offset = self._number(rec, "sysparm_offset", 0)
        page = hits[offset : offset + limit]
        headers = {"X-Total-Count": str(len(hits))}
        suppress = (rec.param("sysparm_suppress_pagination_header") or "").lower() == "true"
        if len(hits) > limit and limit > 0 and not suppress:
            last = (len(hits) - 1) // limit * limit
            links = [("first", 0)]
            if offset > 0:
                links.append(("prev", max(0, offset - limit)))
            if offset + limit < len(hits):
                links.append(("next", offset + limit))
            links.append(("last", last))
            headers["Link"] = ",".join(
                f'<{self.page_url(rec, sysparm_offset=str(at), sysparm_limit=str(limit))}>;rel="{rel}"'
                for rel, at in links
            )
        return Reply(200, {"result": [self._select(r, rec) for r in page]}, headers)

    def _get(self, rec: Recorded, m: re.Match[str]) -> Reply:
        return Reply(200, {"result": self._select(self._record(m), rec)})

    def _update(self, rec: Recorded, m: re.Match[str]) -> Reply:
        record = self._record(m)
        doc = self.json_object(rec)
        changes = {
            k: _text(v) for k, v in doc.items() if k not in JOURNAL_FIELDS and k not in _SYSTEM
        }
        self._policy(m["table"], changes, record)
        record.update(changes)
        record["sys_updated_on"] = _stamp()
        record["sys_mod_count"] = str(int(record.get("sys_mod_count", "0")) + 1)
        self._write_journal(m["table"], record["sys_id"], doc)
        return Reply(200, {"result": self._select(record, rec)})

    def _delete(self, rec: Recorded, m: re.Match[str]) -> Reply:
        record = self._record(m)
        del self.records[m["table"]][record["sys_id"]]
        return Reply(204)

    # -- helpers --------------------------------------------------------------------------

    def _table(self, name: str) -> str:
        if name not in self.records:
            raise Rejected(self.problem(400, f"Invalid table {name}"))
        return name

    def _record(self, m: re.Match[str]) -> dict[str, str]:
        record = self.records[self._table(m["table"])].get(m["sys_id"])
        if record is None:
            raise Rejected(_NOT_FOUND)
        return record

    def _policy(self, table: str, changes: dict[str, str], record: dict[str, str]) -> None:
        """The incident data policy: Resolved/Closed needs close_code and close_notes."""
        if table != "incident" or changes.get("state") not in RESOLVED_STATES:
            return
        merged = {**record, **changes}
        if not merged.get("close_code") or not merged.get("close_notes"):
            raise Rejected(_DATA_POLICY)

    def _write_journal(self, table: str, sys_id: str, doc: dict[str, Any]) -> None:
        entries = self._journal.setdefault((table, sys_id), [])
        for name in JOURNAL_FIELDS:
            if (text := _text(doc.get(name))) != "":
                entries.append((name, text))

    def _select(self, record: dict[str, str], rec: Recorded) -> dict[str, str]:
        wanted = [f.strip() for f in (rec.param("sysparm_fields") or "").split(",") if f.strip()]
        if not wanted:
            return dict(record)
        return {f: record[f] for f in wanted if f in record}

    def _number(self, rec: Recorded, name: str, default: int) -> int:
        raw = rec.param(name)
        try:
            return max(0, int(raw)) if raw not in (None, "") else default
        except ValueError:
            raise Rejected(self.problem(400, f"{name} must be a number")) from None

    def _user(self) -> str:
        return self.basic[0] if self.basic else "oauth.user"
