"""What the channel tests share: the callback secret, rows of the channel tables, codes."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import Platform
from traceseal.channels.models import ChannelMessage
from traceseal.channels.sms import callback_secret
from traceseal.crypto import damm
from traceseal.verify.models import Scan


def secret(platform: Platform) -> str:
    return callback_secret(platform.app.state.keyring)


def scans(platform: Platform) -> list[Scan]:
    with platform.session_factory() as session:
        return list(session.scalars(select(Scan).order_by(Scan.id)))


def messages(platform: Platform) -> list[ChannelMessage]:
    with platform.session_factory() as session:
        return list(session.scalars(select(ChannelMessage).order_by(ChannelMessage.id)))


def count(platform: Platform, model: type) -> int:
    with platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def never_issued(code: str, n: int = 0) -> str:
    """A well-formed code in ``code``'s slot that was never issued (check digit right)."""
    body = code[:3] + f"{9_999_999_999_999_000 + n:016d}"
    return body + str(damm.check_digit(body))


def typo(code: str) -> str:
    digit = (int(code[7]) + 1) % 10
    return code[:7] + str(digit) + code[8:]


def spaced(code: str, sep: str = " ") -> str:
    return sep.join(code[i : i + 4] for i in range(0, 20, 4))
