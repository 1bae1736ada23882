"""``scanner tickets sync``: keep each target's tickets true to one stored run.

For every configured target (or those named with ``--target``): judge the run's problems
(:mod:`.problems`), search the target for what the ledger is unsure of, plan
(:mod:`.plan`) and carry the plan out, writing the ledger around every remote change:

- a create is preceded by its committed reservation and followed by the ticket's key;
- an update, close or reopen is recorded after the target accepted it.

A service failure (no response, 429 or 5xx after the retries) stops that target's sync at
once, leaving the ledger consistent (the next sync catches up); a refusal of one ticket (a
4xx, a missing transition) is recorded on its row and the sync goes on.  Either way the
target is reported failed, by name, and the exit status is 3.  The other targets go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from scanner.config import Config
from scanner.errors import RequestError
from scanner.history.database import StoreError
from scanner.history.drift import Coverage
from scanner.history.store import RunRow, Store
from scanner.secrets import SecretError
from scanner.ticketconf import (
    AnyTicketTarget,
    GitHubTarget,
    JiraTarget,
    ServiceNowTarget,
    TicketWebhookTarget,
)
from scanner.tickets.ledger import Ledger, Row, SyncRecord, Ticket, last_synced, record_sync
from scanner.tickets.plan import Action, Plan, from_row, plan
from scanner.tickets.problems import (
    Problem,
    judge_absent,
    judge_group_members,
    problems,
)
from scanner.tickets.render import change_note
from scanner.tickets.target import Target, TargetError
from scanner.webclient import HttpError

log = logging.getLogger("scanner.tickets")


class TargetDown(Exception):
    """The service stopped answering: the rest of this target's plan waits for next time."""


@dataclass
class TargetResult:
    """How one target's sync went."""

    name: str
    kind: str
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    @property
    def ok(self) -> bool:
        """Synced: nothing failed (every failure is recorded as an error)."""
        return not self.errors

    def fail(self, message: str) -> None:
        self.errors.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.name,
            "kind": self.kind,
            "ok": self.ok,
            "counts": self.counts,
            "errors": self.errors,
            "actions": self.actions,
        }


@dataclass
class SyncReport:
    """One sync over the selected targets."""

    run_id: str
    dry_run: bool
    results: list[TargetResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "targets": [r.to_dict() for r in self.results],
        }


def open_target(target: AnyTicketTarget, config: Config, run_id: str) -> Target:
    """The client of a configured target (credentials are read here)."""
    from scanner.tickets.github import GitHub
    from scanner.tickets.jira import Jira
    from scanner.tickets.jiracsv import JiraCsv
    from scanner.tickets.servicenow import ServiceNow
    from scanner.tickets.webhook import Webhook

    if isinstance(target, JiraTarget):
        return Jira(target, config.base_dir)
    if isinstance(target, ServiceNowTarget):
        return ServiceNow(target, config.base_dir)
    if isinstance(target, GitHubTarget):
        return GitHub(target, config.base_dir)
    if isinstance(target, TicketWebhookTarget):
        return Webhook(target, config.base_dir)
    directory = (
        Path(config.base_dir) / target.dir if target.dir else Path(config.output.dir) / "tickets"
    )
    return JiraCsv(target, directory, run_id)


def selected(config: Config, names: tuple[str, ...]) -> list[AnyTicketTarget]:
    """The targets named with ``--target`` (all when none), or an error naming the unknown."""
    targets = list(config.tickets.targets)
    if not names:
        return targets
    known = {t.name for t in targets}
    unknown = [n for n in names if n not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none configured"
        raise RequestError(f"--target {unknown[0]!r}: no such ticket target (targets: {listed})")
    return [t for t in targets if t.name in names]


def resolve_run(store: Store, ref: str | None) -> RunRow:
    """``--run`` (id or prefix, or a baseline name), else the newest finished run."""
    if ref is None:
        row = store.latest()
        if row is None:
            raise StoreError(f"the store {store.display_url} has no finished run to sync")
        return row
    row, _ = store.resolve(ref)
    if not row.finished:
        raise StoreError(f"run {row.id} is {row.status}: it has no findings to sync")
    return row


def sync(
    config: Config,
    store: Store,
    *,
    run_ref: str | None = None,
    target_names: tuple[str, ...] = (),
    dry_run: bool = False,
) -> SyncReport:
    """Sync the selected targets to one stored run (module docstring)."""
    targets = selected(config, target_names)
    row = resolve_run(store, run_ref)
    seq = row.seq or 0
    if not dry_run:
        for target in targets:
            last = last_synced(store, target.name)
            if last is not None and last[1] > seq:
                raise RequestError(
                    f"run {row.id} is older than run {last[0]}, which target "
                    f"{target.name!r} was synced to: syncing it would reopen what was "
                    "fixed since (use --dry-run to see it)"
                )
    findings = store.findings(row)
    coverage = Coverage.of_run(store, row, findings)
    judged = problems(config.tickets, findings)
    report = SyncReport(row.id, dry_run, [])
    for target in targets:
        started = datetime.now(UTC)
        result = TargetResult(target.name, target.kind)
        try:
            _sync_target(config, store, target, row, judged, coverage, result, dry_run)
        except (SecretError, TargetError) as exc:
            result.fail(str(exc))
        except OSError as exc:  # a jira-csv directory that cannot be written
            result.fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        report.results.append(result)
        level = logging.INFO if result.ok else logging.ERROR
        log.log(
            level,
            "ticket target %s: %s%s",
            target.name,
            ("planned" if dry_run else "synced") if result.ok else "FAILED",
            f" ({'; '.join(result.errors)})" if result.errors else "",
            extra={"target": target.name, "counts": result.counts, "dry_run": dry_run},
        )
        if not dry_run:
            record_sync(
                store,
                SyncRecord(
                    target.name,
                    row.id,
                    seq,
                    started,
                    "ok" if result.ok else "failed",
                    result.counts,
                    "; ".join(result.errors) or None,
                ),
            )
    return report


def _judge_rows(
    judged: dict[str, Problem], rows: dict[str, Row], coverage: Coverage
) -> dict[str, Problem]:
    """Every ledger key gets a problem: absent ones are judged by where the run looked."""
    out = dict(judged)
    for key, row in rows.items():
        if key not in out:
            state, reason = judge_absent(row.remembered, coverage)
            out[key] = from_row(row, state, reason)
        elif row.grouping == "rule-account":
            out[key] = judge_group_members(out[key], row.remembered, coverage)
    return out


def _search_keys(all_problems: dict[str, Problem], rows: dict[str, Row]) -> list[str]:
    """What to ask the target about: uncertain creates, and open tickets about to change
    or still failing (a person may have closed one)."""
    keys = []
    for key, row in rows.items():
        p = all_problems[key]
        if row.state == "creating" or (row.state == "open" and p.state != "unknown"):
            keys.append(key)
    return sorted(keys)


def _sync_target(
    config: Config,
    store: Store,
    target: AnyTicketTarget,
    run: RunRow,
    judged: dict[str, Problem],
    coverage: Coverage,
    result: TargetResult,
    dry_run: bool,
) -> None:
    ledger = Ledger(store, target.name)
    rows = ledger.rows()
    all_problems = _judge_rows(judged, rows, coverage)
    planner = partial(plan, all_problems, rows, grouping=config.tickets.group_by)
    if dry_run:
        _report_plan(planner(remote=None, now=datetime.now(UTC), settle_seconds=0.0), result, True)
        return
    client = open_target(target, config, run.id)
    try:
        remote: dict[str, Ticket] = {}
        if client.can_search:
            keys = _search_keys(all_problems, rows)
            known = {k: t for k in keys if (t := rows[k].ticket) is not None}
            try:
                remote = client.search(keys, known)
            except HttpError as exc:
                result.fail(f"search failed: {exc}")
                return
            except (KeyError, TypeError, AttributeError) as exc:
                result.fail(f"search failed: {unexpected(exc)}")
                return
        the_plan = planner(
            remote=remote,
            now=datetime.now(UTC),
            settle_seconds=client.settle_seconds,
            can_search=client.can_search,
        )
        _report_plan(the_plan, result, False)
        try:
            for action, shown in zip(the_plan.actions, result.actions, strict=True):
                shown["outcome"] = "failed"
                if _apply(client, ledger, action, run.id, result):
                    shown["outcome"] = "done"
        except TargetDown as exc:
            result.fail(str(exc))
        ledger.seen(the_plan.unchanged, run.id)
    finally:
        client.close_client()


def _report_plan(the_plan: Plan, result: TargetResult, planned: bool) -> None:
    """The plan into the result: its actions, and (dry-run) how many of each."""
    outcome = "planned" if planned else "not reached"  # until it is carried out
    result.actions = [a.to_dict() | {"outcome": outcome} for a in the_plan.actions]
    result.counts["unchanged"] = len(the_plan.unchanged)
    if the_plan.other_grouping:
        result.counts["other_grouping"] = the_plan.other_grouping
        log.warning(
            "ticket target %s: %d ledger rows were made under another group_by; left alone",
            result.name,
            the_plan.other_grouping,
        )
    if planned:
        for action in the_plan.actions:
            result.count(action.verb)


def _apply(
    client: Target, ledger: Ledger, action: Action, run_id: str, result: TargetResult
) -> bool:
    """Carry out one action, with the ledger write(s) that bracket it; False when it
    failed (recorded in ``result``) or another sync had already reserved the problem."""
    p, key = action.problem, action.key
    what = f"{action.verb} {p.rule_id} on {p.resource_id or p.account_id}"
    try:
        if action.verb == "create":
            if action.row is None:
                if not ledger.reserve(p, run_id):
                    log.info("ticket target %s: %s is already reserved", client.name, key)
                    return False
            else:
                ledger.retry_reservation(key)
            ticket = client.create(p, run_id)
            ledger.opened(p, ticket, run_id)
            log.info("ticket target %s: opened %s for %s", client.name, ticket.key, what)
        elif action.verb == "adopt" and action.ticket is not None:
            ledger.opened(p, action.ticket, run_id)
            log.info("ticket target %s: adopted %s (%s)", client.name, action.ticket.key, what)
        elif action.verb == "forget":
            ledger.forget(key)
        elif action.verb in ("update", "close", "reopen"):
            _change(client, ledger, action, run_id)
        result.count(PAST[action.verb])
        return True
    except HttpError as exc:
        _http_failure(client, ledger, action, exc, what, result)
    except TargetError as exc:
        ledger.failed(key, str(exc))
        result.fail(f"{what}: {exc}")
    except (KeyError, TypeError, AttributeError) as exc:
        # The service answered 2xx with a body of another shape: whatever it did is not
        # known (a create stays uncertain), and nothing more is sent to it this time.
        ledger.failed(key, unexpected(exc))
        raise TargetDown(f"{what}: {unexpected(exc)}") from None
    return False


def unexpected(exc: BaseException) -> str:
    """A 2xx response the target's code could not read, in words."""
    return f"unexpected response from the service ({type(exc).__name__}: {exc})"


def _change(client: Target, ledger: Ledger, action: Action, run_id: str) -> None:
    p = action.problem
    ticket = action.ticket or (action.row.ticket if action.row else None)
    if ticket is None:
        raise TargetError(f"no ticket key recorded for {action.key}")
    before = [m["resource_id"] for m in action.row.remembered.members] if action.row else None
    event = {"update": "updated", "close": "resolved", "reopen": "reopened"}[action.verb]
    note = change_note(p, run_id, event, before)
    if action.verb == "update":
        client.update(ticket, p, note, run_id)
        ledger.changed(p, run_id)
    elif action.verb == "close":
        client.close(ticket, p, note, run_id)
        ledger.closed(action.key)
    else:
        client.reopen(ticket, p, note, run_id)
        ledger.changed(p, run_id)
    log.info("ticket target %s: %s %s", client.name, event, ticket.key)


def _http_failure(
    client: Target,
    ledger: Ledger,
    action: Action,
    exc: HttpError,
    what: str,
    result: TargetResult,
) -> None:
    """Record a failed request; raise TargetDown when the service is the problem."""
    key = action.key
    if action.verb == "create" and not exc.uncertain:
        ledger.forget(key)  # certainly not created: nothing to search for next time
    else:
        ledger.failed(key, str(exc))
    if action.verb == "create" and exc.uncertain:
        result.count("uncertain")
    if exc.retryable:
        raise TargetDown(f"{what}: {exc} (the rest waits for the next sync)")
    result.fail(f"{what}: {exc}")


PAST = {
    "create": "created",
    "adopt": "adopted",
    "forget": "forgotten",
    "update": "updated",
    "close": "closed",
    "reopen": "reopened",
    "wait": "waiting",
}
"""How the counts of a sync name what each action did."""
