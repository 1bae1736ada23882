"""A stored snapshot must say, for every collector and scope, what happened.

``collect()`` records exactly one outcome per (collector, account, region).  A snapshot read
from disk may not: it may predate a collector this build has (Direct Connect gateway
associations, say) or have been edited by hand.  Rules judge dependencies by outcomes, so a
missing outcome would read as "nothing failed" and a rule could PASS on data nobody
collected.  Before such a snapshot is evaluated, every missing outcome is recorded as an
``error`` (``NotRecorded``): the rules that need it say ERROR and the scan is incomplete.
"""

from __future__ import annotations

from scanner.collectors.engine import scope_outcome
from scanner.collectors.fanout import scopes_for
from scanner.collectors.registry import COLLECTORS
from scanner.model.snapshot import GLOBAL_REGION, CollectorOutcome, OutcomeStatus, Snapshot

NOT_RECORDED = "NotRecorded"


def record_unrecorded(snapshot: Snapshot) -> list[CollectorOutcome]:
    """Add an ``error`` outcome for each (collector, scope) the snapshot is silent about."""
    seen = {(o.collector, o.account_id, o.region) for o in snapshot.collectors}
    added: list[CollectorOutcome] = []
    for account in snapshot.accounts:
        for spec in COLLECTORS.values():
            scopes = scopes_for(
                spec, account, snapshot.partition, snapshot.regions_of(account), GLOBAL_REGION
            )
            for scope in scopes:
                if (spec.name, scope.account_id, scope.region) in seen:
                    continue
                outcome = scope_outcome(
                    spec,
                    scope,
                    OutcomeStatus.ERROR,
                    error_code=NOT_RECORDED,
                    error_message=(
                        "the snapshot records no outcome for this collector here (written by "
                        "an older scanner, or edited), so its data cannot be trusted as complete"
                    ),
                )
                snapshot.record(outcome)
                added.append(outcome)
    return added
