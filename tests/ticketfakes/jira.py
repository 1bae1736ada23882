"""A fake Jira: issues, edits, workflow transitions, comments and JQL search, in both the
Cloud (REST v3, Atlassian Document Format, token-paged enhanced search with eventual
consistency) and the Server/Data Center (REST v2, strings, offset-paged search) dialects.

The two dialects differ exactly where a sync client is most likely to get Jira wrong, so
the fake keeps them apart rather than accepting both: a v3 client on the removed
``/rest/api/3/search`` gets the 410 that Jira Cloud now gives, a v2 client that sends ADF
gets a 400, and a client that creates an issue and searches for it at once on Cloud does
not find it unless it passes ``reconcileIssues``.
"""

from __future__ import annotations

import copy
import functools
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.ticketfakes.base import FakeService, Recorded, Rejected, Reply, Route, utcnow

# Jira's default simplified workflow: status -> (status id, status category key).
STATUSES: dict[str, tuple[str, str]] = {
    "To Do": ("10000", "new"),
    "In Progress": ("3", "indeterminate"),
    "Done": ("10001", "done"),
}
_CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
# (from status, transition name, to status); each gets its own id, so a client that
# cached the "Done" of a To Do issue is wrong for an In Progress one, as on a real site.
WORKFLOW: tuple[tuple[str, str, str], ...] = (
    ("To Do", "Start Progress", "In Progress"),
    ("To Do", "Done", "Done"),
    ("In Progress", "Done", "Done"),
    ("In Progress", "Stop Progress", "To Do"),
    ("Done", "Reopen", "To Do"),
)
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")  # ids "1".."5", as in Jira
EDITABLE = ("project", "issuetype", "summary", "description", "labels", "priority", "components")
_SEARCH_JQL_BODY = (
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "failFast",
    "reconcileIssues",
)
_ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
_SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


@dataclass(frozen=True)
class AppliedTransition:
    id: str
    name: str
    source: str
    target: str


@dataclass(frozen=True)
class _Version:
    """One state of an issue as the search index will see it from ``at + index_lag``."""

    at: float
    fields: dict[str, Any]
    status: str
    updated: datetime


@dataclass
class JiraIssue:
    """An issue as stored: ``fields`` holds what clients set, normalised to Jira's
    shapes (``{"key"}``/``{"name"}`` objects); ``comments`` the bodies as sent."""

    id: str
    key: str
    fields: dict[str, Any]
    status: str = "To Do"
    comments: list[Any] = field(default_factory=list)
    transitions: list[AppliedTransition] = field(default_factory=list)
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)
    comment_ids: list[str] = field(default_factory=list, repr=False)
    versions: list[_Version] = field(default_factory=list, repr=False)

    @property
    def labels(self) -> list[str]:
        return list(self.fields.get("labels", []))


# -- JQL ----------------------------------------------------------------------------------

JQL_FIELDS = {
    "project": "project",
    "labels": "labels",
    "status": "status",
    "key": "key",
    "issuekey": "key",
    "issue": "key",
    "issuetype": "issuetype",
    "type": "issuetype",
}
ORDER_FIELDS = ("key", "id", "created", "updated", "status", "summary", "priority", "project")
_JQL_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""|(?P<op>!=|=|\(|\)|,)|(?P<word>[^\s=!(),"']+)|(?P<bad>\S))"""
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


class JqlError(ValueError):
    pass


@dataclass(frozen=True)
class Clause:
    field: str  # canonical: project, labels, status, key, issuetype
    op: str  # "=", "!=", "in", "not in"
    values: tuple[str, ...]


@dataclass(frozen=True)
class Jql:
    clauses: tuple[Clause, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, op, word
    text: str  # a string's decoded value
    pos: int


def _unquote(raw: str) -> str:
    out: list[str] = []
    body, i = raw[1:-1], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
        elif body[i + 1] == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
    return "".join(out)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _JQL_TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace is left
            break
        kind = m.lastgroup or "bad"
        start = m.start(kind)
        if kind == "bad":
            raise JqlError(
                f"The character '{m.group(kind)}' is a reserved JQL character", start + 1
            )
        raw = m.group(kind)
        try:
            value = _unquote(raw) if kind == "string" else raw
        except (IndexError, ValueError):
            raise JqlError(f"The quoted string {raw} has an invalid escape", start + 1) from None
        tokens.append(_Token(kind, value, start))
        pos = m.end()
    return tokens


def parse_jql(text: str) -> Jql:
    """The JQL a sync client needs: ``field = v``, ``field != v``, ``field [not] in (..)``
    joined by AND, and ORDER BY.  Anything else is an error, not a match-all, so a client
    bug shows up as a 400 rather than as a search that finds every issue."""
    tokens = _tokens(text)
    i = 0

    def peek() -> _Token | None:
        return tokens[i] if i < len(tokens) else None

    def fail(expected: str) -> JqlError:
        tok = peek()
        got = f"'{tok.text}'" if tok else "the end of the query"
        where = tok.pos + 1 if tok else len(text) + 1
        return JqlError(f"Expecting {expected} but got {got}.", where)

    def keyword(*words: str) -> bool:
        tok = peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() in words

    def value() -> str:
        nonlocal i
        tok = peek()
        if (
            tok is None
            or tok.kind == "op"
            or (tok.kind == "word" and keyword("and", "or", "order"))
        ):
            raise fail("either a value, 'EMPTY' or a list of values")
        i += 1
        return tok.text

    clauses: list[Clause] = []
    order: list[tuple[str, bool]] = []
    while peek() is not None and not keyword("order"):
        if clauses:
            if not keyword("and"):
                raise fail("'AND' (the only connective this fake supports)")
            i += 1
        tok = peek()
        if tok is None or tok.kind == "op" or keyword("and", "or", "not", "order"):
            raise fail("a field name")
        name = tok.text.lower()
        if name not in JQL_FIELDS:
            raise JqlError(
                f"Field '{tok.text}' is not one the fake's JQL supports "
                f"({', '.join(sorted(set(JQL_FIELDS.values())))}).",
                tok.pos + 1,
            )
        i += 1
        op_tok = peek()
        if op_tok is not None and op_tok.kind == "op" and op_tok.text in ("=", "!="):
            i += 1
            clauses.append(Clause(JQL_FIELDS[name], op_tok.text, (value(),)))
            continue
        op = "in"
        if keyword("not"):
            i += 1
            op = "not in"
            if not keyword("in"):
                raise fail("'IN'")
        elif not keyword("in"):
            raise fail("operator ('=', '!=', 'in' or 'not in')")
        i += 1
        if (p := peek()) is None or p.text != "(" or p.kind != "op":
            raise fail("'('")
        i += 1
        values = [value()]
        while (p := peek()) is not None and p.kind == "op" and p.text == ",":
            i += 1
            values.append(value())
        if (p := peek()) is None or p.text != ")" or p.kind != "op":
            raise fail("')' or ','")
        i += 1
        clauses.append(Clause(JQL_FIELDS[name], op, tuple(values)))
    if keyword("order"):
        i += 1
        if not keyword("by"):
            raise fail("'BY'")
        i += 1
        while True:
            tok = peek()
            if tok is None or tok.kind != "word" or tok.text.lower() not in ORDER_FIELDS:
                raise fail(f"a field to order by ({', '.join(ORDER_FIELDS)})")
            i += 1
            descending = False
            if keyword("asc", "desc"):
                descending = tokens[i].text.lower() == "desc"
                i += 1
            order.append((tok.text.lower(), descending))
            if (p := peek()) is not None and p.kind == "op" and p.text == ",":
                i += 1
                continue
            break
    if peek() is not None:
        raise fail("the end of the query")
    return Jql(tuple(clauses), tuple(order))


# -- the fake -----------------------------------------------------------------------------


class FakeJira(FakeService):
    """Jira's issue, transition, comment and search endpoints under
    ``{context_path}/rest/api/{api_version}``.

    Follows the Jira Cloud platform REST API v3 reference,
    https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/ (create,
    get, edit, transitions), .../api-group-issue-comments/ and
    https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/
    (``/search/jql``: ``nextPageToken``, ``isLast``, ``reconcileIssues``, default ``fields``
    of ``id``; the old ``/search`` removed, https://developer.atlassian.com/changelog/#CHANGE-2046),
    and for ``api_version=2`` the Jira Server/Data Center REST API,
    https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/ (``/search`` with
    ``startAt``/``total``; plain-string description and comment bodies).  Error bodies
    are Jira's ``{"errorMessages": [...], "errors": {field: message}}``.

    ``index_lag`` (v3 only) models Cloud's eventually consistent search: for that many
    seconds after a create or change the search answers from the issue's previous state
    (a new issue is absent), unless its id is in ``reconcileIssues``.
    """

    def __init__(
        self,
        api_version: int = 3,
        context_path: str = "",
        projects: dict[str, list[str]] | None = None,
        issue_types: Iterable[str] = ("Bug", "Task"),
        index_lag: float = 0.0,
        transition_ids_from: int = 700,
        basic: tuple[str, str] | None = ("scanner@example.com", "jira-api-token"),
        bearer: str | None = None,
    ) -> None:
        if api_version not in (2, 3):
            raise ValueError(f"Jira has REST API versions 2 and 3, not {api_version}")
        self.api_version = api_version
        self.projects: dict[str, list[str]] = {
            k.upper(): list(v) for k, v in (projects or {"SEC": ["Network", "IAM"]}).items()
        }
        self.issue_types = tuple(issue_types)
        self.index_lag = index_lag if api_version == 3 else 0.0
        self.transition_ids = {
            (source, name): str(transition_ids_from + n)
            for n, (source, name, _) in enumerate(WORKFLOW)
        }
        self.issues: dict[str, JiraIssue] = {}
        self._by_id: dict[str, str] = {}
        self._next_id = 10001
        self._next_number: dict[str, int] = dict.fromkeys(self.projects, 1)
        self._next_comment = 10000
        self._tokens: dict[str, tuple[str, int]] = {}
        super().__init__(context_path=context_path, basic=basic, bearer=bearer)

    # -- state for tests ------------------------------------------------------------------

    def by_label(self, label: str) -> list[JiraIssue]:
        with self.lock:
            return [i for i in self.issues.values() if label in i.fields.get("labels", [])]

    def status_of(self, key: str) -> str:
        with self.lock:
            return self.issues[key.upper()].status

    def set_status(self, key: str, status: str) -> None:
        """A person moved the issue (not through a client's transition: not recorded in
        ``transitions``); the search index catches up after ``index_lag`` like any change."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; the workflow has {list(STATUSES)}")
        with self.lock:
            issue = self.issues[key.upper()]
            issue.status = status
            issue.fields["resolution"] = {"name": "Done"} if status == "Done" else None
            self._touch(issue)

    # -- routing --------------------------------------------------------------------------

    @property
    def _api(self) -> str:
        return f"/rest/api/{self.api_version}"

    def routes(self) -> list[tuple[str, str, Route]]:
        api = f"/rest/api/{self.api_version}"
        ref = r"(?P<ref>[^/]+)"
        search: list[tuple[str, str, Route]]
        if self.api_version == 3:
            search = [
                ("GET", rf"{api}/search", self._search_removed),
                ("POST", rf"{api}/search", self._search_removed),
                ("GET", rf"{api}/search/jql", self._search_jql),
                ("POST", rf"{api}/search/jql", self._search_jql),
            ]
        else:
            search = [
                ("GET", rf"{api}/search", self._search_v2),
                ("POST", rf"{api}/search", self._search_v2),
            ]
        return [
            ("POST", rf"{api}/issue", self._create),
            ("GET", rf"{api}/issue/{ref}", self._get),
            ("PUT", rf"{api}/issue/{ref}", self._edit),
            ("GET", rf"{api}/issue/{ref}/transitions", self._transitions),
            ("POST", rf"{api}/issue/{ref}/transitions", self._transition),
            ("POST", rf"{api}/issue/{ref}/comment", self._comment),
            *search,
        ]

    def problem(self, status: int, message: str) -> Reply:
        return Reply(status, {"errorMessages": [message], "errors": {}})

    def unauthorized(self) -> Reply:
        return Reply(
            401,
            {
                "errorMessages": ["Client must be authenticated to access this resource."],
                "errors": {},
            },
            {"WWW-Authenticate": 'Basic realm="protected-area"'},
        )

    # -- issues ---------------------------------------------------------------------------

    def _create(self, rec: Recorded, _: re.Match[str]) -> Reply:
        doc = self.json_object(rec)
        self._only(doc, ("fields", "update", "properties", "transition", "historyMetadata"))
        changes, _comments = self._merged(doc, None)
        fields = self._check_fields(changes, issue=None)
        project = fields["project"]["key"]
        fields.setdefault("priority", {"name": "Medium"})
        fields.setdefault("labels", [])
        fields.setdefault("components", [])
        fields.setdefault("description", None)
        fields["resolution"] = None
        issue_id = str(self._next_id)
        self._next_id += 1
        key = f"{project}-{self._next_number[project]}"
        self._next_number[project] += 1
        issue = JiraIssue(id=issue_id, key=key, fields=fields)
        self.issues[key] = issue
        self._by_id[issue_id] = key
        self._touch(issue)
        return Reply(201, {"id": issue_id, "key": key, "self": self._self(issue_id)})

    def _get(self, rec: Recorded, m: re.Match[str]) -> Reply:
        issue = self._find(m["ref"])
        wanted = _split(rec.param("fields"))
        return Reply(200, self._issue_json(issue, issue.versions[-1], wanted or ["*all"]))

    def _edit(self, rec: Recorded, m: re.Match[str]) -> Reply:
        issue = self._find(m["ref"])
        doc = self.json_object(rec)
        self._only(doc, ("fields", "update", "properties", "historyMetadata"))
        changes, comments = self._merged(doc, issue)
        issue.fields.update(self._check_fields(changes, issue=issue))
        for body in comments:
            self._add_comment(issue, body)
        self._touch(issue)
        return Reply(204)

    def _transitions(self, rec: Recorded, m: re.Match[str]) -> Reply:
        issue = self._find(m["ref"])
        available = [
            {
                "id": self.transition_ids[(source, name)],
                "name": name,
                "to": _status_json(target),
                "hasScreen": False,
                "isGlobal": False,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for source, name, target in WORKFLOW
            if source == issue.status
        ]
        return Reply(200, {"expand": "transitions", "transitions": available})

    def _transition(self, rec: Recorded, m: re.Match[str]) -> Reply:
        issue = self._find(m["ref"])
        doc = self.json_object(rec)
        self._only(doc, ("transition", "fields", "update", "historyMetadata", "properties"))
        wanted = doc.get("transition")
        if not isinstance(wanted, dict) or "id" not in wanted:
            raise Rejected(self.problem(400, "Missing 'transition' identifier"))
        tid = str(wanted["id"])
        step = next(
            (
                (name, target)
                for source, name, target in WORKFLOW
                if source == issue.status and self.transition_ids[(source, name)] == tid
            ),
            None,
        )
        if step is None:
            raise Rejected(self.problem(400, f"Transition id '{tid}' is not valid for this issue."))
        changes, comments = self._merged(doc, issue)
        resolution = changes.pop("resolution", None)
        if changes:
            errors = {name: _not_on_screen(name) for name in changes}
            raise Rejected(Reply(400, {"errorMessages": [], "errors": errors}))
        name, target = step
        issue.transitions.append(AppliedTransition(tid, name, issue.status, target))
        issue.status = target
        issue.fields["resolution"] = (resolution or {"name": "Done"}) if target == "Done" else None
        for body in comments:
            self._add_comment(issue, body)
        self._touch(issue)
        return Reply(204)

    def _comment(self, rec: Recorded, m: re.Match[str]) -> Reply:
        issue = self._find(m["ref"])
        doc = self.json_object(rec)
        body = doc.get("body")
        if (problem := self._comment_problem(body)) is not None:
            raise Rejected(Reply(400, {"errorMessages": [], "errors": {"comment": problem}}))
        comment_id = self._add_comment(issue, body)
        self._touch(issue)
        return Reply(201, self._comment_json(issue, comment_id, body))

    # -- search ---------------------------------------------------------------------------

    def _search_removed(self, rec: Recorded, _: re.Match[str]) -> Reply:
        return Reply(410, {"errorMessages": [_SEARCH_REMOVED], "errors": {}})

    def _search_jql(self, rec: Recorded, _: re.Match[str]) -> Reply:
        if rec.method == "POST":
            doc = self.json_object(rec)
            self._only(doc, _SEARCH_JQL_BODY)
            jql, token, limit = doc.get("jql"), doc.get("nextPageToken"), doc.get("maxResults")
            wanted = doc.get("fields")
            reconcile: Any = doc.get("reconcileIssues") or []
        else:
            if "startAt" in rec.query:
                # Jira ignores it; the fake refuses it so that offset paging against the
                # token-paged search fails loudly instead of reading page one forever.
                raise Rejected(
                    self.problem(
                        400, "startAt is not a parameter of /search/jql: use nextPageToken"
                    )
                )
            jql, token, limit = (
                rec.param("jql"),
                rec.param("nextPageToken"),
                rec.param("maxResults"),
            )
            wanted = _split(rec.param("fields"))
            reconcile = _split(rec.param("reconcileIssues")) or []
        query = self._jql(jql, bounded=True)
        size = self._int("maxResults", limit, 50, 5000)
        if not isinstance(wanted, list | None) or not isinstance(reconcile, list):
            raise Rejected(self.problem(400, "fields and reconcileIssues must be arrays"))
        try:
            ids = {str(int(x)) for x in reconcile}
        except (TypeError, ValueError):
            raise Rejected(self.problem(400, "reconcileIssues takes numeric issue ids")) from None
        offset = 0
        if token is not None:
            saved = self._tokens.get(str(token))
            if saved is None or saved[0] != (jql or ""):
                raise Rejected(
                    self.problem(400, "The provided next page token is invalid or expired.")
                )
            offset = saved[1]
        hits = self._matching(query, ids)
        page = hits[offset : offset + size]
        body: dict[str, Any] = {
            "issues": [
                {"id": issue.id}
                if not wanted
                else self._issue_json(issue, version, [str(f) for f in wanted])
                for issue, version in page
            ],
            "isLast": offset + size >= len(hits),
        }
        if not body["isLast"]:
            next_token = secrets.token_urlsafe(18)
            self._tokens[next_token] = (jql or "", offset + size)
            body["nextPageToken"] = next_token
        return Reply(200, body)

    def _search_v2(self, rec: Recorded, _: re.Match[str]) -> Reply:
        if rec.method == "POST":
            doc = self.json_object(rec)
            self._only(
                doc,
                ("jql", "startAt", "maxResults", "fields", "expand", "validateQuery", "properties"),
            )
            jql, start, limit, wanted = (
                doc.get("jql"),
                doc.get("startAt"),
                doc.get("maxResults"),
                doc.get("fields"),
            )
        else:
            jql, start, limit = rec.param("jql"), rec.param("startAt"), rec.param("maxResults")
            wanted = _split(rec.param("fields"))
        query = self._jql(jql, bounded=False)
        offset = self._int("startAt", start, 0, 1 << 31, minimum=0)
        size = self._int("maxResults", limit, 50, 1000, minimum=0)
        hits = self._matching(query, set())
        fields = [str(f) for f in wanted] if wanted else ["*navigable"]
        return Reply(
            200,
            {
                "expand": "schema,names",
                "startAt": offset,
                "maxResults": size,
                "total": len(hits),
                "issues": [
                    self._issue_json(issue, version, fields)
                    for issue, version in hits[offset : offset + size]
                ],
            },
        )

    def _jql(self, text: Any, *, bounded: bool) -> Jql:
        if text is not None and not isinstance(text, str):
            raise Rejected(self.problem(400, "jql must be a string"))
        try:
            query = parse_jql(text or "")
        except JqlError as exc:
            message, where = exc.args
            raise Rejected(
                self.problem(400, f"Error in the JQL Query: {message} (line 1, character {where})")
            ) from None
        if bounded and not query.clauses:
            raise Rejected(
                self.problem(
                    400,
                    "Unbounded JQL queries are not allowed here. "
                    "Please add a search restriction to your query.",
                )
            )
        errors = [
            f"The value '{v}' does not exist for the field '{c.field}'."
            for c in query.clauses
            for v in c.values
            if (c.field == "project" and v.upper() not in self.projects)
            or (c.field == "status" and v.lower() not in {s.lower() for s in STATUSES})
            or (c.field == "issuetype" and v.lower() not in {t.lower() for t in self.issue_types})
        ]
        if errors:
            raise Rejected(Reply(400, {"errorMessages": errors, "errors": {}}))
        return query

    def _matching(self, query: Jql, reconcile: set[str]) -> list[tuple[JiraIssue, _Version]]:
        """The issues the index returns now, each in the state the index holds for it."""
        cutoff = time.monotonic() - self.index_lag
        hits: list[tuple[JiraIssue, _Version]] = []
        for issue in self.issues.values():
            if issue.id in reconcile or self.index_lag <= 0:
                version: _Version | None = issue.versions[-1]
            else:
                version = next((v for v in reversed(issue.versions) if v.at <= cutoff), None)
            if version is not None and all(_holds(c, issue.key, version) for c in query.clauses):
                hits.append((issue, version))
        for name, descending in reversed(query.order or (("id", False),)):
            hits.sort(key=functools.partial(_sort_key, name), reverse=descending)
        return hits

    # -- shapes ---------------------------------------------------------------------------

    def _self(self, issue_id: str) -> str:
        return f"{self.url}{self._api}/issue/{issue_id}"

    def _issue_json(self, issue: JiraIssue, version: _Version, wanted: list[str]) -> dict[str, Any]:
        everything = self._fields_json(issue, version)
        names = {w for w in wanted if not w.startswith("-")}
        if names & {"*all", "*navigable"}:
            names |= set(everything)
        selected = {k: v for k, v in everything.items() if k in names and f"-{k}" not in wanted}
        return {"id": issue.id, "key": issue.key, "self": self._self(issue.id), "fields": selected}

    def _fields_json(self, issue: JiraIssue, version: _Version) -> dict[str, Any]:
        f = copy.deepcopy(version.fields)
        project = f["project"]["key"]
        out: dict[str, Any] = {
            "summary": f.get("summary"),
            "description": f.get("description"),
            "labels": f.get("labels", []),
            "priority": {
                "name": f["priority"]["name"],
                "id": str(PRIORITIES.index(f["priority"]["name"]) + 1),
            },
            "components": [
                {"id": self._component_id(project, c["name"]), "name": c["name"]}
                for c in f.get("components", [])
            ],
            "issuetype": {
                "id": self._type_id(f["issuetype"]["name"]),
                "name": f["issuetype"]["name"],
                "subtask": False,
            },
            "project": {
                "id": str(10000 + list(self.projects).index(project)),
                "key": project,
                "name": project,
            },
            "status": _status_json(version.status),
            "resolution": f.get("resolution"),
            "created": _jira_time(issue.created),
            "updated": _jira_time(version.updated),
        }
        comments = [
            self._comment_json(issue, cid, body)
            for cid, body in zip(issue.comment_ids, issue.comments, strict=True)
        ]
        out["comment"] = {
            "comments": comments,
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        }
        return out

    def _comment_json(self, issue: JiraIssue, comment_id: str, body: Any) -> dict[str, Any]:
        return {
            "id": comment_id,
            "self": f"{self._self(issue.id)}/comment/{comment_id}",
            "body": body,
            "created": _jira_time(issue.updated),
            "updated": _jira_time(issue.updated),
        }

    def _type_id(self, name: str) -> str:
        return str(10001 + self.issue_types.index(name))

    def _component_id(self, project: str, name: str) -> str:
        return str(
            10000 + 100 * list(self.projects).index(project) + self.projects[project].index(name)
        )

    # -- validation -----------------------------------------------------------------------

    def _find(self, ref: str) -> JiraIssue:
        key = self._by_id.get(ref, ref.upper())
        issue = self.issues.get(key)
        if issue is None:
            raise Rejected(Reply(404, {"errorMessages": [_ISSUE_NOT_FOUND], "errors": {}}))
        return issue

    def _only(self, doc: dict[str, Any], known: tuple[str, ...]) -> None:
        unknown = [k for k in doc if k not in known]
        if unknown:
            raise Rejected(self.problem(400, f'Unrecognized field "{unknown[0]}"'))

    def _int(self, name: str, raw: Any, default: int, cap: int, *, minimum: int = 1) -> int:
        if raw is None:
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise Rejected(self.problem(400, f"{name} must be a number")) from None
        if value < minimum:
            raise Rejected(self.problem(400, f"{name} must be at least {minimum}"))
        return min(value, cap)

    def _merged(
        self, doc: dict[str, Any], issue: JiraIssue | None
    ) -> tuple[dict[str, Any], list[Any]]:
        """A request's ``fields`` with its ``update`` verbs applied (to the issue's current
        values on an edit), to be validated as one; and the comments ``update`` adds."""
        fields, update = doc.get("fields") or {}, doc.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise Rejected(self.problem(400, "fields and update must be objects"))
        changes = dict(fields)
        comments: list[Any] = []
        errors: dict[str, str] = {}
        for name, ops in update.items():
            if name == "comment" and issue is not None and isinstance(ops, list):
                for op in ops:
                    body = op.get("add", {}).get("body") if isinstance(op, dict) else None
                    if (problem := self._comment_problem(body)) is not None:
                        errors["comment"] = problem
                    comments.append(body)
                continue
            current = (
                changes[name] if name in changes else (issue.fields.get(name) if issue else None)
            )
            try:
                changes[name] = _apply_ops(name, current, ops)
            except ValueError as exc:
                errors[name] = str(exc)
        if errors:
            raise Rejected(Reply(400, {"errorMessages": [], "errors": errors}))
        return changes, comments

    def _check_fields(self, given: Any, *, issue: JiraIssue | None) -> dict[str, Any]:
        """Jira's field validation on create (``issue`` None) or edit, all errors at once;
        returns the fields normalised to ``{"key"}``/``{"name"}`` objects."""
        if not isinstance(given, dict):
            raise Rejected(self.problem(400, "fields must be an object"))
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        for name in given:
            if name not in EDITABLE or (name == "project" and issue is not None):
                errors[name] = _not_on_screen(name)
        project = issue.fields["project"]["key"] if issue else None
        if issue is None:
            ref = given.get("project")
            key = ref.get("key", ref.get("id")) if isinstance(ref, dict) else None
            project = self._project_of(key)
            if project is None:
                errors["project"] = "Specify a valid project ID or key"
            else:
                out["project"] = {"key": project}
        if issue is None or "issuetype" in given:
            ref = given.get("issuetype")
            if not isinstance(ref, dict):
                errors["issuetype"] = "Specify an issue type"
            else:
                name = ref.get("name")
                if "id" in ref and name is None:
                    ids = {self._type_id(t): t for t in self.issue_types}
                    name = ids.get(str(ref["id"]))
                if name not in self.issue_types:
                    errors["issuetype"] = "The issue type selected is invalid."
                else:
                    out["issuetype"] = {"name": name}
        if issue is None or "summary" in given:
            summary = given.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors["summary"] = "You must specify a summary of the issue."
            elif len(summary) > 255:
                errors["summary"] = "Summary must be less than 255 characters."
            elif "\n" in summary or "\r" in summary:
                errors["summary"] = "The summary is invalid because it contains newline characters."
            else:
                out["summary"] = summary
        if "description" in given:
            description = given["description"]
            if description is None or (
                _is_adf(description) if self.api_version == 3 else isinstance(description, str)
            ):
                out["description"] = description
            elif self.api_version == 3:
                errors["description"] = (
                    "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                )
            else:
                errors["description"] = "Operation value must be a string"
        if "labels" in given:
            labels = given["labels"]
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                errors["labels"] = "Operation value must be an array of strings"
            else:
                for label in labels:
                    if not label or any(c.isspace() for c in label):
                        errors["labels"] = f"The label '{label}' contains spaces which is invalid."
                    elif len(label) > 255:
                        errors["labels"] = (
                            f"The label '{label}' exceeds the maximum length for a single label "
                            "of 255 characters."
                        )
                out["labels"] = list(dict.fromkeys(labels))
        if "priority" in given:
            ref = given["priority"]
            name = ref.get("name") if isinstance(ref, dict) else None
            if (
                isinstance(ref, dict)
                and name is None
                and str(ref.get("id")) in ("1", "2", "3", "4", "5")
            ):
                name = PRIORITIES[int(ref["id"]) - 1]
            if name not in PRIORITIES:
                errors["priority"] = f"Priority name '{name}' is not valid"
            else:
                out["priority"] = {"name": name}
        if "components" in given:
            refs = given["components"]
            names: list[str] = []
            valid = self.projects.get(project or "", [])
            if not isinstance(refs, list):
                errors["components"] = "Operation value must be an array"
            else:
                for ref in refs:
                    name = ref.get("name") if isinstance(ref, dict) else None
                    if isinstance(ref, dict) and name is None and project is not None:
                        ids = {self._component_id(project, c): c for c in valid}
                        name = ids.get(str(ref.get("id")))
                    if name not in valid:
                        errors["components"] = f"Component name '{name}' is not valid"
                    else:
                        names.append(name)
                out["components"] = [{"name": n} for n in names]
        if errors:
            raise Rejected(Reply(400, {"errorMessages": [], "errors": errors}))
        return out

    def _project_of(self, ref: Any) -> str | None:
        if ref is None:
            return None
        text = str(ref).upper()
        if text in self.projects:
            return text
        ids = {str(10000 + n): key for n, key in enumerate(self.projects)}
        return ids.get(text)

    def _comment_problem(self, body: Any) -> str | None:
        if body is None or body == "":
            return "Comment body can not be empty!"
        ok = _is_adf(body) if self.api_version == 3 else isinstance(body, str)
        return None if ok else "Comment body is not valid!"

    def _add_comment(self, issue: JiraIssue, body: Any) -> str:
        comment_id = str(self._next_comment)
        self._next_comment += 1
        issue.comments.append(body)
        issue.comment_ids.append(comment_id)
        return comment_id

    def _touch(self, issue: JiraIssue) -> None:
        issue.updated = utcnow()
        issue.versions.append(
            _Version(time.monotonic(), copy.deepcopy(issue.fields), issue.status, issue.updated)
        )


def _apply_ops(name: str, current: Any, ops: Any) -> Any:
    """The ``update`` verbs of an edit: add/remove/set on labels and components, set on
    any field."""
    if not isinstance(ops, list):
        raise ValueError(f"Field '{name}': update takes a list of operations")
    value = copy.deepcopy(current)
    for op in ops:
        if not isinstance(op, dict) or len(op) != 1:
            raise ValueError(f"Field '{name}': an operation is one of add, remove, set")
        [(verb, arg)] = op.items()
        if verb == "set":
            value = arg
        elif verb in ("add", "remove") and name in ("labels", "components"):
            if name == "components" and not isinstance(arg, dict):
                raise ValueError(f"Field '{name}': {verb} takes a component object")
            items = list(value or [])
            present = [x for x in items if _same(name, x, arg)]
            if verb == "add" and not present:
                items.append(arg)
            if verb == "remove":
                items = [x for x in items if not _same(name, x, arg)]
            value = items
        else:
            raise ValueError(f"Field '{name}' does not support operation '{verb}'")
    return value


def _same(name: str, item: Any, arg: Any) -> bool:
    if name == "labels":
        return bool(item == arg)
    return isinstance(item, dict) and item.get("name") == arg.get("name")


def _not_on_screen(name: str) -> str:
    return f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."


def _is_adf(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
        and all(
            isinstance(node, dict) and isinstance(node.get("type"), str)
            for node in value["content"]
        )
    )


def _split(raw: str | None) -> list[str] | None:
    return [p.strip() for p in raw.split(",") if p.strip()] if raw else None


def _status_json(name: str) -> dict[str, Any]:
    status_id, category = STATUSES[name]
    return {"id": status_id, "name": name, "statusCategory": dict(_CATEGORIES[category])}


def _jira_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _holds(clause: Clause, key: str, version: _Version) -> bool:
    """One JQL clause against the indexed state.  Like Jira, ``!=`` and ``not in`` never
    match an issue with no value in the field (no labels)."""
    f = version.fields
    have: list[str]
    if clause.field == "labels":
        have = list(f.get("labels", []))
    elif clause.field == "project":
        have = [f["project"]["key"].lower()]
    elif clause.field == "status":
        have = [version.status.lower()]
    elif clause.field == "issuetype":
        have = [f["issuetype"]["name"].lower()]
    else:
        have = [key.lower()]
    wanted = {v if clause.field == "labels" else v.lower() for v in clause.values}
    hit = any(h in wanted for h in have)
    if clause.op in ("=", "in"):
        return hit
    return bool(have) and not hit


def _sort_key(name: str, hit: tuple[JiraIssue, _Version]) -> Any:
    issue, version = hit
    if name in ("key", "id", "created"):
        project, number = issue.key.rsplit("-", 1)
        return (project, int(number)) if name == "key" else int(issue.id)
    if name == "updated":
        return version.at
    if name == "status":
        return version.status
    if name == "priority":
        return PRIORITIES.index(version.fields["priority"]["name"])
    if name == "project":
        return version.fields["project"]["key"]
    return str(version.fields.get(name) or "")
