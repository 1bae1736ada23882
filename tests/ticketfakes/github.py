"""A fake GitHub (github.com or, with ``prefix="/api/v3"``, GitHub Enterprise Server):
repository issues and their comments over the REST API.

What a sync client must get right against GitHub is kept: issue numbers are per
repository, listing defaults to open issues only, 30 a page, newest first, with further
pages announced only by the ``Link`` header; ``labels`` filters on all of the names;
closing records ``state_reason``; and errors are ``{"message", "documentation_url"}``
with 422 ``errors`` for validation.
"""

from __future__ import annotations

import base64
import copy
import itertools
import re
from collections.abc import Iterable
from typing import Any

from tests.ticketfakes.base import FakeService, Recorded, Rejected, Reply, Route, utcnow

DOCS = "https://docs.github.com/rest"
STATE_REASONS = ("completed", "not_planned", "reopened")


def _now() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def _validation(*errors: dict[str, Any], doc: str = f"{DOCS}/issues/issues") -> Rejected:
    return Rejected(
        Reply(
            422,
            {
                "message": "Validation Failed",
                "errors": list(errors),
                "documentation_url": doc,
                "status": "422",
            },
        )
    )


class FakeGitHub(FakeService):
    """GitHub's issue endpoints: create, list, get and update issues, list and create
    comments, under ``{prefix}/repos/{owner}/{repo}/issues``.

    Follows https://docs.github.com/en/rest/issues/issues (issue object, ``labels``/
    ``state``/``sort``/``direction``/``per_page``/``page`` filters, ``state_reason``),
    https://docs.github.com/en/rest/issues/comments and
    https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
    (``Link: <...>; rel="next", <...>; rel="last"`` and ``prev``/``first``).  Accepts the
    token as ``Authorization: Bearer`` or ``token``; anything else is 401 "Bad credentials".

    ``issues`` is (repo, number) -> the issue document the API returns.  Repository names
    match case-insensitively, as on GitHub; keys use the spelling given to the constructor.
    """

    token_schemes = ("bearer", "token")

    def __init__(
        self,
        repos: Iterable[str] = ("acme/security",),
        prefix: str = "",
        bearer: str | None = "gh-token",
        basic: tuple[str, str] | None = None,
    ) -> None:
        self.repos = {r.lower(): r for r in repos}
        self.issues: dict[tuple[str, int], dict[str, Any]] = {}
        self.labels: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in self.repos.values()}
        self._comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._touched: dict[tuple[str, int], int] = {}
        self._ids = itertools.count(1_000_001)
        self._clock = itertools.count()
        super().__init__(context_path=prefix, basic=basic, bearer=bearer)

    # -- state for tests ------------------------------------------------------------------

    def comments(self, repo: str, number: int) -> list[str]:
        with self.lock:
            return [c["body"] for c in self._comments.get((self._repo(repo), number), [])]

    def by_label(self, repo: str, label: str) -> list[dict[str, Any]]:
        with self.lock:
            name = self._repo(repo)
            return [
                copy.deepcopy(issue)
                for (r, _), issue in self.issues.items()
                if r == name and label.lower() in _label_names(issue)
            ]

    def set_state(
        self, repo: str, number: int, state: str, state_reason: str | None = None
    ) -> None:
        """A person closed or reopened the issue on github.com."""
        with self.lock:
            key = (self._repo(repo), number)
            self._set_state(self.issues[key], state, state_reason)
            self._touch(key)

    # -- routing --------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Route]]:
        issues = r"/repos/(?P<repo>[^/]+/[^/]+)/issues"
        one = issues + r"/(?P<number>\d+)"
        return [
            ("POST", issues, self._create),
            ("GET", issues, self._list),
            ("GET", one, self._get),
            ("PATCH", one, self._update),
            ("GET", one + "/comments", self._list_comments),
            ("POST", one + "/comments", self._comment),
        ]

    def problem(self, status: int, message: str) -> Reply:
        if status == 400 and message.startswith("Invalid JSON"):
            message = "Problems parsing JSON"
        return Reply(status, {"message": message, "documentation_url": DOCS, "status": str(status)})

    def unauthorized(self) -> Reply:
        return self.problem(401, "Bad credentials")

    # -- handlers -------------------------------------------------------------------------

    def _create(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._known_repo(m["repo"])
        doc = self.json_object(rec)
        title = doc.get("title")
        if title is None or (isinstance(title, str) and not title.strip()):
            raise _validation({"resource": "Issue", "code": "missing_field", "field": "title"})
        if not isinstance(title, str | int):
            raise _validation({"resource": "Issue", "code": "invalid", "field": "title"})
        labels = self._labels(repo, doc.get("labels", []))
        number = 1 + max((n for r, n in self.issues if r == repo), default=0)
        issue_id = next(self._ids)
        now = _now()
        api = f"{self.url}/repos/{repo}"
        issue: dict[str, Any] = {
            "id": issue_id,
            "node_id": "I_" + base64.b64encode(f"Issue{issue_id}".encode()).decode().rstrip("="),
            "url": f"{api}/issues/{number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{number}/comments",
            "events_url": f"{api}/issues/{number}/events",
            "html_url": f"{self.origin}/{repo}/issues/{number}",
            "number": number,
            "title": str(title),
            "body": doc.get("body"),
            "user": {"login": "scanner-bot", "id": 1, "type": "Bot"},
            "labels": labels,
            "state": "open",
            "state_reason": None,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": 0,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "author_association": "NONE",
        }
        self.issues[(repo, number)] = issue
        self._comments[(repo, number)] = []
        self._touch((repo, number))
        return Reply(201, copy.deepcopy(issue))

    def _list(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._known_repo(m["repo"])
        state = rec.param("state") or "open"
        if state not in ("open", "closed", "all"):
            raise _validation({"resource": "Issue", "code": "invalid", "field": "state"})
        wanted = {x.strip().lower() for x in (rec.param("labels") or "").split(",") if x.strip()}
        hits = [
            (number, issue)
            for (r, number), issue in self.issues.items()
            if r == repo and state in ("all", issue["state"]) and wanted <= set(_label_names(issue))
        ]
        sort = rec.param("sort") or "created"
        if sort not in ("created", "updated", "comments"):
            raise _validation({"resource": "Issue", "code": "invalid", "field": "sort"})
        order: dict[str, Any] = {
            "created": lambda hit: hit[0],
            "updated": lambda hit: self._touched[(repo, hit[0])],
            "comments": lambda hit: (hit[1]["comments"], hit[0]),
        }
        hits.sort(key=order[sort], reverse=(rec.param("direction") or "desc") != "asc")
        return self._paged(rec, [issue for _, issue in hits])

    def _get(self, rec: Recorded, m: re.Match[str]) -> Reply:
        return Reply(200, copy.deepcopy(self._issue(m)))

    def _update(self, rec: Recorded, m: re.Match[str]) -> Reply:
        issue = self._issue(m)
        repo = self._known_repo(m["repo"])
        doc = self.json_object(rec)
        if "title" in doc and (not isinstance(doc["title"], str) or not doc["title"].strip()):
            raise _validation({"resource": "Issue", "code": "missing_field", "field": "title"})
        if "state" in doc and doc["state"] not in ("open", "closed"):
            raise _validation({"resource": "Issue", "code": "invalid", "field": "state"})
        reason = doc.get("state_reason")
        if reason is not None and reason not in STATE_REASONS:
            raise _validation({"resource": "Issue", "code": "invalid", "field": "state_reason"})
        labels = self._labels(repo, doc["labels"]) if "labels" in doc else None
        if "title" in doc:
            issue["title"] = doc["title"]
        if "body" in doc:
            issue["body"] = doc["body"]
        if labels is not None:
            issue["labels"] = labels
        if "state" in doc or reason is not None:
            self._set_state(issue, doc.get("state", issue["state"]), reason)
        self._touch((repo, issue["number"]))
        return Reply(200, copy.deepcopy(issue))

    def _list_comments(self, rec: Recorded, m: re.Match[str]) -> Reply:
        issue = self._issue(m)
        repo = self._known_repo(m["repo"])
        return self._paged(rec, self._comments[(repo, issue["number"])])

    def _comment(self, rec: Recorded, m: re.Match[str]) -> Reply:
        issue = self._issue(m)
        repo = self._known_repo(m["repo"])
        doc = self.json_object(rec)
        body = doc.get("body")
        if not isinstance(body, str) or not body.strip():
            raise _validation(
                {"resource": "IssueComment", "code": "missing_field", "field": "body"},
                doc=f"{DOCS}/issues/comments#create-an-issue-comment",
            )
        comment_id = next(self._ids)
        now = _now()
        comment = {
            "id": comment_id,
            "node_id": "IC_" + base64.b64encode(f"IssueComment{comment_id}".encode()).decode(),
            "url": f"{self.url}/repos/{repo}/issues/comments/{comment_id}",
            "html_url": f"{issue['html_url']}#issuecomment-{comment_id}",
            "issue_url": issue["url"],
            "body": body,
            "user": {"login": "scanner-bot", "id": 1, "type": "Bot"},
            "created_at": now,
            "updated_at": now,
            "author_association": "NONE",
        }
        self._comments[(repo, issue["number"])].append(comment)
        issue["comments"] += 1
        self._touch((repo, issue["number"]))
        return Reply(201, copy.deepcopy(comment))

    # -- helpers --------------------------------------------------------------------------

    def _repo(self, name: str) -> str:
        return self.repos.get(name.lower(), name)

    def _known_repo(self, name: str) -> str:
        if name.lower() not in self.repos:
            raise Rejected(self.problem(404, "Not Found"))
        return self.repos[name.lower()]

    def _issue(self, m: re.Match[str]) -> dict[str, Any]:
        issue = self.issues.get((self._known_repo(m["repo"]), int(m["number"])))
        if issue is None:
            raise Rejected(self.problem(404, "Not Found"))
        return issue

    def _labels(self, repo: str, given: Any) -> list[dict[str, Any]]:
        """Label objects for names (or ``{"name"}`` objects), creating missing labels."""
        if not isinstance(given, list):
            raise _validation({"resource": "Issue", "code": "invalid", "field": "labels"})
        names: list[str] = []
        for item in given:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str) or not name.strip() or len(name) > 50:
                raise _validation(
                    {"value": name, "resource": "Label", "field": "name", "code": "invalid"}
                )
            names.append(name)
        out: list[dict[str, Any]] = []
        for name in dict.fromkeys(names):
            label = self.labels[repo].get(name.lower())
            if label is None:
                label_id = next(self._ids)
                label = {
                    "id": label_id,
                    "node_id": "LA_" + base64.b64encode(f"Label{label_id}".encode()).decode(),
                    "url": f"{self.url}/repos/{repo}/labels/{name}",
                    "name": name,
                    "color": "ededed",
                    "default": False,
                    "description": None,
                }
                self.labels[repo][name.lower()] = label
            if label not in out:
                out.append(copy.deepcopy(label))
        return out

    def _set_state(self, issue: dict[str, Any], state: str, reason: str | None) -> None:
        if state not in ("open", "closed"):
            raise ValueError(f"a GitHub issue is open or closed, not {state!r}")
        if state == "closed":
            if issue["state"] != "closed":
                issue["closed_at"] = _now()
            issue["state_reason"] = reason or (
                issue["state_reason"] if issue["state"] == "closed" else "completed"
            )
        else:
            if issue["state"] == "closed":
                issue["state_reason"] = "reopened"
            elif reason is not None:
                issue["state_reason"] = reason
            issue["closed_at"] = None
        issue["state"] = state

    def _touch(self, key: tuple[str, int]) -> None:
        self._touched[key] = next(self._clock)
        self.issues[key]["updated_at"] = _now()

    def _paged(self, rec: Recorded, items: list[dict[str, Any]]) -> Reply:
        """One page of ``items`` and the ``Link`` header GitHub sends with it."""
        try:
            per_page = min(100, max(1, int(rec.param("per_page") or 30)))
            page = max(1, int(rec.param("page") or 1))
        except ValueError:
            raise _validation({"resource": "Issue", "code": "invalid", "field": "page"}) from None
        last = max(1, -(-len(items) // per_page))
        links: list[tuple[str, int]] = []
        if page > 1:
            links.append(("prev", min(page - 1, last)))
        if page < last:
            links += [("next", page + 1), ("last", last)]
        if page > 1:
            links.append(("first", 1))
        headers = {}
        if links:
            headers["Link"] = ", ".join(
                f'<{self.page_url(rec, page=str(n))}>; rel="{rel}"' for rel, n in links
            )
        start = (page - 1) * per_page
        return Reply(200, copy.deepcopy(items[start : start + per_page]), headers)


def _label_names(issue: dict[str, Any]) -> list[str]:
    return [label["name"].lower() for label in issue["labels"]]
