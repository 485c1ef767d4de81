"""Sending e-mail through the SMTP server of the settings (``SIGNAAL_SMTP_*``): one connection
with a timeout, STARTTLS and login when the settings ask for them. Used by the task reminders
(:mod:`signaal.chain.tasks`) and the watchlist alerts (:mod:`signaal.monitor.watchlists`); what
a mail may say is decided there (never a person's data or a contact point)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from signaal.settings import Settings

SMTP_TIMEOUT_SECONDS = 10.0


@contextmanager
def smtp_connection(settings: Settings) -> Iterator[smtplib.SMTP]:
    """An open connection to ``settings.smtp_host`` (OSError when it cannot be reached)."""
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    with smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        yield smtp


def message(settings: Settings, to_address: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = to_address
    mail["Subject"] = subject
    mail.set_content(body)
    return mail
