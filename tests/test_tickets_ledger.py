"""The ledger's guarantees on SQLite and PostgreSQL: one reservation per problem and
target, even when two syncs race for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from scanner.history.store import Store
from scanner.model.finding import Status
from scanner.ticketconf import TicketsConfig
from scanner.tickets.ledger import CREATING, Ledger, Ticket, all_rows
from scanner.tickets.problems import finding_problems
from tests.ticketruns import Check

A = Check("notebook-direct-internet-access-disabled", "nb-a")


@pytest.fixture
def stores(store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two connections to one store, as two processes would have."""
    with Store.open(store_url) as one, Store.open(store_url) as two:
        yield one, two


def test_only_one_of_two_racing_reservations_wins(stores: tuple[Store, Store]) -> None:
    problem = next(iter(finding_problems(TicketsConfig(), [A.finding(Status.FAIL)]).values()))
    won: list[bool] = []
    barrier = threading.Barrier(2)

    def reserve(store: Store) -> None:
        barrier.wait()
        won.append(Ledger(store, "t1").reserve(problem, "run-1"))

    threads = [threading.Thread(target=reserve, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False, True]
    [row] = all_rows(stores[0])
    assert (row.state, row.ticket) == (CREATING, None)
    # Another target has a ledger of its own.
    assert Ledger(stores[1], "t2").reserve(problem, "run-1") is True


def test_a_reservation_is_committed_before_the_ticket_and_forgotten_only_while_creating(
    stores: tuple[Store, Store],
) -> None:
    one, two = stores
    problem = next(iter(finding_problems(TicketsConfig(), [A.finding(Status.FAIL)]).values()))
    ledger = Ledger(one, "t1")
    assert ledger.reserve(problem, "run-1")
    assert Ledger(two, "t1").get(problem.key) is not None  # visible to another connection
    ledger.opened(problem, Ticket("SEC-1", "10001", "https://jira/browse/SEC-1"), "run-1")
    ledger.forget(problem.key)  # a row with a ticket is never dropped
    row = Ledger(two, "t1").get(problem.key)
    assert row is not None and row.state == "open" and row.ticket is not None
    assert row.ticket.key == "SEC-1"
