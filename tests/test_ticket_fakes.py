"""Sanity checks of the ticketing fakes themselves (tests/ticketfakes): the few behaviours
the ticket-sync tests lean on hardest, so that a failure there points at the client and
not at its fake.  Real HTTP through urllib3, as a client would speak it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import urllib3

from tests.ticketfakes import FakeGitHub, FakeJira, FakeService, FakeServiceNow

HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=5))
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": []}]}


def call(
    fake: FakeService,
    method: str,
    path: str,
    body: Any = None,
    *,
    auth: dict[str, str] | None = None,
    timeout: float | None = None,
) -> tuple[int, Any, urllib3.HTTPHeaderDict]:
    headers = fake.auth_headers() if auth is None else auth
    extra: dict[str, Any] = {} if timeout is None else {"timeout": urllib3.Timeout(read=timeout)}
    response = HTTP.request(
        method,
        fake.url + path,
        body=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        **extra,
    )
    data = json.loads(response.data) if response.data else None
    return response.status, data, response.headers


def create_jira(jira: FakeJira, *labels: str) -> dict[str, Any]:
    fields = {
        "project": {"key": "SEC"},
        "issuetype": {"name": "Bug"},
        "summary": "Notebook has direct internet access",
        "description": ADF,
        "labels": list(labels),
    }
    status, body, _ = call(jira, "POST", "/rest/api/3/issue", {"fields": fields})
    assert status == 201, body
    return dict(body)


def test_jira_cloud_old_search_is_gone_and_v2_has_no_enhanced_search(
    jira_server: Callable[..., FakeJira],
) -> None:
    cloud, server = jira_server(api_version=3), jira_server(api_version=2, context_path="/jira")

    status, body, _ = call(cloud, "GET", "/rest/api/3/search?jql=project%20%3D%20SEC")
    assert status == 410
    assert "/rest/api/3/search/jql" in body["errorMessages"][0]
    assert call(server, "GET", "/rest/api/2/search/jql?jql=project%3DSEC")[0] == 404
    status, body, _ = call(server, "GET", "/rest/api/2/search?jql=project%3DSEC&startAt=0")
    assert (status, body["total"], body["startAt"]) == (200, 0, 0)
    assert server.requests[-1].path == "/rest/api/2/search"  # context path stripped


def test_jira_jql_outside_the_supported_grammar_is_a_400(
    jira_server: Callable[..., FakeJira],
) -> None:
    jira = jira_server()
    for jql in ('labels = "a" OR labels = b', "summary ~ foo", 'labels = "unterminated'):
        status, body, _ = call(jira, "POST", "/rest/api/3/search/jql", {"jql": jql})
        assert status == 400, jql
        assert body["errorMessages"][0].startswith("Error in the JQL Query: "), body


def test_jira_index_lag_hides_a_new_issue_unless_reconciled(
    jira_server: Callable[..., FakeJira],
) -> None:
    jira = jira_server(index_lag=0.3)
    created = create_jira(jira, "finding-1")
    query = {"jql": 'project = SEC AND labels = "finding-1"', "fields": ["labels"]}

    assert call(jira, "POST", "/rest/api/3/search/jql", query)[1]["issues"] == []
    reconciled = {**query, "reconcileIssues": [int(created["id"])]}
    issues = call(jira, "POST", "/rest/api/3/search/jql", reconciled)[1]["issues"]
    assert [i["key"] for i in issues] == [created["key"]]
    time.sleep(0.35)
    assert len(call(jira, "POST", "/rest/api/3/search/jql", query)[1]["issues"]) == 1


def test_jira_transition_ids_come_from_the_instance(jira_server: Callable[..., FakeJira]) -> None:
    jira = jira_server(transition_ids_from=900)
    key = create_jira(jira)["key"]
    available = call(jira, "GET", f"/rest/api/3/issue/{key}/transitions")[1]["transitions"]
    done = next(t["id"] for t in available if t["name"] == "Done")

    status, body, _ = call(
        jira, "POST", f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": "9"}}
    )
    assert (status, body["errorMessages"]) == (
        400,
        ["Transition id '9' is not valid for this issue."],
    )
    assert (
        call(jira, "POST", f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": done}})[0]
        == 204
    )
    assert done.startswith("90") and jira.status_of(key) == "Done"
    assert [t.name for t in jira.issues[key].transitions] == ["Done"]


def test_servicenow_data_policy_and_journal(
    servicenow_server: Callable[..., FakeServiceNow],
) -> None:
    sn = servicenow_server()
    status, body, _ = call(
        sn, "POST", "/api/now/table/incident", {"short_description": "x", "correlation_id": "f-1"}
    )
    assert status == 201 and body["result"]["number"] == "INC0010001"
    sys_id = body["result"]["sys_id"]
    path = f"/api/now/table/incident/{sys_id}"

    status, body, _ = call(sn, "PATCH", path, {"state": 6, "work_notes": "fixed"})
    assert status == 403 and "Data Policy Exception" in body["error"]["detail"]
    assert sn.records["incident"][sys_id]["state"] == "1" and sn.journal("incident", sys_id) == []
    resolve = {"state": 6, "close_code": "Solved", "close_notes": "ok", "work_notes": "fixed"}
    status, body, _ = call(sn, "PATCH", path, resolve)
    assert (status, body["result"]["state"], body["result"]["work_notes"]) == (200, "6", "")
    assert sn.journal("incident", sys_id) == [("work_notes", "fixed")]
    assert [r["sys_id"] for r in sn.by_correlation("incident", "f-1")] == [sys_id]


def test_github_link_header_pagination(github_server: Callable[..., FakeGitHub]) -> None:
    gh = github_server(prefix="/api/v3")
    for n in range(5):
        labels = ["scanner", "critical" if n % 2 else "low"]
        assert (
            call(gh, "POST", "/repos/acme/security/issues", {"title": f"t{n}", "labels": labels})[0]
            == 201
        )
    gh.set_state("acme/security", 2, "closed")

    numbers: list[int] = []
    url: str | None = gh.url + "/repos/acme/security/issues?labels=scanner&per_page=2"
    while url:
        response = HTTP.request("GET", url, headers=gh.auth_headers())
        numbers += [issue["number"] for issue in json.loads(response.data)]
        links = response.headers.get("Link", "")
        url = next(
            (part.split(";")[0].strip(" <>") for part in links.split(",") if 'rel="next"' in part),
            None,
        )
    assert numbers == [5, 4, 3, 1]  # open only, newest first
    assert gh.count("GET", r"/repos/acme/security/issues") == 2


def test_fail_next_answers_429_with_retry_after_and_no_effect(
    github_server: Callable[..., FakeGitHub],
) -> None:
    gh = github_server()
    gh.fail_next("POST", r"/repos/[^/]+/[^/]+/issues", status=429, retry_after="7")

    status, body, headers = call(gh, "POST", "/repos/acme/security/issues", {"title": "x"})
    assert (status, headers["Retry-After"], body["message"]) == (429, "7", "Too Many Requests")
    assert gh.issues == {}
    assert call(gh, "POST", "/repos/acme/security/issues", {"title": "x"})[0] == 201
    assert list(gh.issues) == [("acme/security", 1)]


def test_delay_next_applies_then_the_client_times_out(
    servicenow_server: Callable[..., FakeServiceNow],
) -> None:
    sn = servicenow_server()
    sn.delay_next("POST", r"/api/now/table/incident", 0.4)
    try:
        call(sn, "POST", "/api/now/table/incident", {"short_description": "slow"}, timeout=0.1)
    except urllib3.exceptions.ReadTimeoutError:
        pass
    else:
        raise AssertionError("the delayed response should outlast the client's read timeout")
    assert [r["short_description"] for r in sn.records["incident"].values()] == ["slow"]


def test_hold_next_sets_the_event_after_the_effect(jira_server: Callable[..., FakeJira]) -> None:
    jira = jira_server()
    arrived = jira.hold_next("POST", r"/rest/api/3/issue")
    answers: list[dict[str, Any]] = []
    client = threading.Thread(target=lambda: answers.append(create_jira(jira, "held")))
    client.start()

    assert arrived.wait(2)
    assert [i.key for i in jira.by_label("held")] == ["SEC-1"] and answers == []
    jira.release()
    client.join(2)
    assert [a["key"] for a in answers] == ["SEC-1"]


def test_other_credentials_get_each_apis_401(
    jira_server: Callable[..., FakeJira],
    servicenow_server: Callable[..., FakeServiceNow],
    github_server: Callable[..., FakeGitHub],
) -> None:
    bad = {"Authorization": "Basic bm9ib2R5Om5vcGU="}
    jira, sn, gh = jira_server(), servicenow_server(), github_server()
    assert call(jira, "GET", "/rest/api/3/issue/SEC-1", auth=bad)[:2] == (
        401,
        {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}},
    )
    assert call(sn, "GET", "/api/now/table/incident", auth=bad)[1]["error"]["message"] == (
        "User is not authenticated"
    )
    assert (
        call(gh, "GET", "/repos/acme/security/issues", auth=bad)[1]["message"] == "Bad credentials"
    )
    token = {"Authorization": f"token {gh.bearer}"}
    assert call(gh, "GET", "/repos/acme/security/issues", auth=token)[0] == 200
