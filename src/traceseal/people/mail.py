"""Mailing a person their one-time link (CONSOLE_SMTP_URL), when a mail server is set.

Sent while the issuer waits, with a short timeout, and never queued: the link is a secret
the database keeps only as a digest, so there is nothing to retry from; it is shown to the
issuer in any case, and a failed send says so. STARTTLS is required on ``smtp://`` (a link
must not cross the network in clear); ``smtp+insecure://`` is for a relay on the same host.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from traceseal.config import Settings

#: Seconds a connection to the mail server may take at each step.
TIMEOUT = 10


def enabled(settings: Settings) -> bool:
    return bool(settings.console_smtp_url)


def link_message(
    settings: Settings, to: str, link: str, *, invite: bool, hours: int
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.console_mail_from
    message["To"] = to
    if invite:
        message["Subject"] = "TraceSeal 控制台邀请 / Your TraceSeal console invitation"
        zh, en = (
            "您已被添加为 TraceSeal 控制台用户。",
            "You have been added to the TraceSeal console.",
        )
    else:
        message["Subject"] = "TraceSeal 密码重置 / TraceSeal password reset"
        zh, en = (
            "平台运营方为您签发了密码重置链接。",
            "The platform's operator issued you a password reset link.",
        )
    message.set_content(
        f"{zh}\n请在 {hours} 小时内打开以下链接设置密码（仅可使用一次）：\n{link}\n\n"
        f"{en}\nOpen this link within {hours} hours to set your password (it works once):\n"
        f"{link}\n"
    )
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Send ``message`` through CONSOLE_SMTP_URL; raises OSError or smtplib.SMTPException."""
    url = urlsplit(settings.console_smtp_url)
    host = url.hostname or "localhost"
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, url.port or 465, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(
            host, url.port or (587 if url.scheme == "smtp" else 25), timeout=TIMEOUT
        )
    with client:
        if url.scheme == "smtp":
            client.starttls(context=context)
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)
