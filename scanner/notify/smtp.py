"""Email delivery through an SMTP server (stdlib ``smtplib``): a plain-text message per cycle.

``security``: ``starttls`` (connect, then upgrade with the system's trusted CAs and host
name checking), ``ssl`` (TLS from the first byte, usually port 465) or ``none`` (a relay on
localhost).  Login happens only with both a username and a password, and never before the
connection is encrypted unless ``security: none`` says there is nothing to encrypt with.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from scanner.config import SmtpTarget
from scanner.logs import redact
from scanner.notify.delivery import DeliveryError
from scanner.notify.message import Message
from scanner.notify.render import subject, text
from scanner.secrets import resolve


def email_message(target: SmtpTarget, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = subject(message)
    mail["From"] = target.sender
    mail["To"] = ", ".join(target.to)
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(idstring=message.run_id)
    mail["X-Scanner-Run-Id"] = message.run_id
    mail.set_content(text(message))
    return mail


def _connect(target: SmtpTarget) -> smtplib.SMTP:
    if target.security == "ssl":
        return smtplib.SMTP_SSL(
            target.host, target.port, timeout=target.timeout, context=ssl.create_default_context()
        )
    smtp = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
    if target.security == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp


def _server_says(exc: smtplib.SMTPResponseException) -> str:
    said = exc.smtp_error
    words = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return f"{exc.smtp_code} {' '.join(words.split())}"


def describe(exc: BaseException, target: SmtpTarget) -> str:
    """The failure in words (the password is never in them: smtplib does not quote it, and
    every registered secret is masked anyway)."""
    where = f"SMTP {target.host}:{target.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return redact(f"{where}: login as {target.username} refused: {_server_says(exc)}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return redact(f"{where}: every recipient was refused ({', '.join(exc.recipients)})")
    if isinstance(exc, smtplib.SMTPResponseException):
        return redact(f"{where}: {_server_says(exc)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where}: the server does not support {exc}"
    if isinstance(exc, ssl.SSLError):
        return f"{where}: TLS failed: {exc.reason or type(exc).__name__}"
    if isinstance(exc, TimeoutError):
        return f"{where}: no answer within {target.timeout:g}s"
    if isinstance(exc, OSError):
        return f"{where}: {exc.strerror or type(exc).__name__}"
    return redact(f"{where}: {type(exc).__name__}: {exc}")


def send(target: SmtpTarget, message: Message, base_dir: str | Path) -> None:
    """Deliver ``message`` by email; DeliveryError or :class:`~.secrets.SecretError`."""
    password = resolve(target, "password", base_dir)
    mail = email_message(target, message)
    try:
        with _connect(target) as smtp:
            if target.username and password is not None:
                smtp.login(target.username, password)
            smtp.send_message(mail, from_addr=target.sender, to_addrs=list(target.to))
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(describe(exc, target)) from None
