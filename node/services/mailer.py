"""Handing one e-mail to the agency's relay: the stdlib's ``smtplib``, run on a worker thread.

Why ``smtplib`` on a thread rather than ``aiosmtplib``: the node sends a few
mails a minute to one relay it trusts, so a blocking client on a thread
costs nothing, and the standard library's client is maintained with
Python's own security fixes; a new runtime dependency would be one more
package to vet on every agency's node. The notifier calls ``send`` through
``asyncio.to_thread`` with no transaction open, one mail at a time.

Every failure of the relay (refused, unreachable, TLS, authentication,
timeout) becomes ``RelayError`` here, the one boundary where ``smtplib``'s
and the socket's exceptions are translated.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Final

from baliza.node.core.smtp import SmtpSettings
from baliza.node.storage.notify import QueuedMail
from baliza.protocol.errors import ReasonCode, TransportError

TIMEOUT_S: Final = 30.0


class RelayError(TransportError):
    """The relay did not take a mail (``peer_unreachable`` at ``smtp``); it is tried again later."""


def message(relay: SmtpSettings, mail: QueuedMail) -> EmailMessage:
    """The e-mail as the relay receives it: plain text, from the configured sender."""
    out = EmailMessage()
    out["From"] = relay.sender
    out["To"] = mail.to_addr
    out["Subject"] = mail.subject
    out["Date"] = formatdate(localtime=False)
    out["Message-ID"] = make_msgid(domain=relay.sender.rpartition("@")[2] or None)
    out["Auto-Submitted"] = "auto-generated"
    out.set_content(mail.body)
    return out


def send(relay: SmtpSettings, mail: QueuedMail) -> None:
    """Hand ``mail`` to the relay (blocking); ``RelayError`` if it did not accept it."""
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=TIMEOUT_S) as client:
            if relay.starttls:
                client.starttls(context=ssl.create_default_context())
            password = relay.password()
            if relay.username is not None and password is not None:
                client.login(relay.username, password)
            client.send_message(message(relay, mail))
    except (smtplib.SMTPException, OSError) as exc:
        raise RelayError(
            ReasonCode.PEER_UNREACHABLE, f"{type(exc).__name__}: {exc}", path="smtp"
        ) from None
