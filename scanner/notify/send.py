"""``send_all``: one message per configured target, and what happened to each.

Called by the nightly job after every cycle.  It never raises for a delivery: a dead
webhook, a refused login or an unset variable is a failed :class:`~.delivery.Delivery`,
logged with the target's name (never its secrets) and returned, and the other targets are
still tried.
"""

from __future__ import annotations

import logging
from pathlib import Path

from scanner.config import Config, SmtpTarget, WebhookTarget
from scanner.model.record import RunRecord
from scanner.notify import smtp, webhook
from scanner.notify.delivery import Delivery, DeliveryError
from scanner.notify.message import Message, build_message, skip_reason
from scanner.secrets import SecretError

log = logging.getLogger(__name__)


def deliver(target: WebhookTarget | SmtpTarget, message: Message, base_dir: str) -> Delivery:
    """Send ``message`` to one target unless its ``when`` says not to."""
    reason = skip_reason(message, target.when)
    if reason is not None:
        log.info("notify %s (%s): not sent: %s", target.name, target.kind, reason)
        return Delivery(target.name, target.kind, ok=True, skipped=reason)
    status: int | None = None
    try:
        if isinstance(target, WebhookTarget):
            status = webhook.send(target, message, base_dir)
        else:
            smtp.send(target, message, base_dir)
    except SecretError as exc:
        error = str(exc)
    except DeliveryError as exc:
        error, status = str(exc), exc.status
    except Exception as exc:  # a bug in one target must not stop the others
        log.exception("notify %s (%s): unexpected error", target.name, target.kind)
        error = f"unexpected {type(exc).__name__} (see the log)"
    else:
        log.info("notify %s (%s): sent", target.name, target.kind)
        return Delivery(target.name, target.kind, ok=True, status=status)
    log.warning("notify %s (%s): failed: %s", target.name, target.kind, error)
    return Delivery(target.name, target.kind, ok=False, error=error, status=status)


def send_all(
    record: RunRecord, config: Config, *, report_dir: Path | None = None
) -> list[Delivery]:
    """Send this run's message to every target of ``config.notify.targets``, in order
    (``report_dir``: where the message says the report is; default the run's own)."""
    targets = config.notify.targets
    if not targets:
        return []
    try:
        message = build_message(record, report_dir=report_dir)
    except Exception as exc:  # the nightly run must not fail over a message
        log.exception("notify: the message for run %s could not be built", record.run_id)
        error = f"the message could not be built: {type(exc).__name__} (see the log)"
        return [Delivery(t.name, t.kind, ok=False, error=error) for t in targets]
    return [deliver(t, message, config.base_dir) for t in targets]
