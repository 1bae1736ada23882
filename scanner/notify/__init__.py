"""Notifications after each scan cycle: a webhook (JSON or Slack) or an email per target.

- :func:`send_all` sends one message per ``notify.targets`` entry and returns a
  :class:`Delivery` per target; it never raises for a delivery failure.
- :func:`check_secrets` lists the targets' secrets that cannot be read, without sending.

The message (:mod:`.message`) is built once from the run record and rendered as text,
JSON or Slack blocks (:mod:`.render`).
"""

from __future__ import annotations

from scanner.notify.delivery import Delivery
from scanner.notify.message import Message, build_message
from scanner.notify.send import send_all
from scanner.secrets import check_secrets

__all__ = ["Delivery", "Message", "build_message", "check_secrets", "send_all"]
