"""What the message channels store: each message received once, and the SMS replies' outbox.

Senders (phone numbers, WeChat OpenIDs) are stored only as keyed hashes. The one exception
is an SMS reply waiting to be sent, which must know the number: it is kept wrapped by the
master key in its outbox row and erased once the reply is delivered or given up.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import Base, BigId, UtcDateTime


class Provider(enum.StrEnum):
    """Where a message came from."""

    ALIYUN = "aliyun"  # Alibaba Cloud SMS uplink push
    TENCENT = "tencent"  # Tencent Cloud SMS reply callback
    GENERIC = "generic"  # any other SMS gateway, in the documented JSON form
    WECHAT = "wechat"  # the WeChat official account
    CLI = "cli"  # `traceseal channels try`


def _values(kind: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in kind)


class ChannelMessage(Base):
    """One message received, whatever the provider sent it how many times.

    ``dedupe_key`` is a digest of what makes a delivery the same message (the provider's id,
    or the sender, the text and the minute): its unique index is what makes a retried
    delivery one scan, also when the retry arrives while the first is still being answered.
    """

    __tablename__ = "channel_messages"
    __table_args__ = (
        CheckConstraint(f"provider IN ({_values(Provider)})", name="provider"),
        # The same sender and text within 60 s is the same message (no provider id).
        Index("ix_channel_messages_sender_received_at", "sender_hash", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(10))
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    sender_hash: Mapped[str] = mapped_column(String(32))
    #: A digest of the text (not the text: it may carry more than a code).
    text_hash: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The verdict and code answered (None: the message held no code, or was refused).
    verdict: Mapped[str | None] = mapped_column(String(16), default=None)
    code: Mapped[str | None] = mapped_column(String(20), default=None)
    lang: Mapped[str] = mapped_column(String(5))
    #: What the sender was answered, given again to a retried delivery.
    reply: Mapped[str] = mapped_column(String(500))


class SmsState(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"  # the provider accepted it
    FAILED = "failed"  # attempts used up, or the provider refused it for good


class SmsReply(Base):
    """The outbox of SMS replies: written in the message's transaction, sent by a
    background worker with retries and back-off (traceseal.outbox)."""

    __tablename__ = "sms_outbox"
    __table_args__ = (
        CheckConstraint(f"state IN ({_values(SmsState)})", name="state"),
        Index("ix_sms_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("channel_messages.id"), index=True)
    #: The provider chosen when the reply was queued (TRACESEAL_SMS_PROVIDER).
    provider: Mapped[str] = mapped_column(String(10))
    #: The number, wrapped by the master key; erased once delivered or failed.
    wrapped_phone: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    #: The template's parameters: {"result": ..., "product": ...}.
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default=SmsState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: The provider's id of the sent message (Alibaba's BizId, Tencent's SerialNo).
    provider_id: Mapped[str | None] = mapped_column(String(100), default=None)


class ChannelToken(Base):
    """A provider's short-lived credential (WeChat's access_token, jsapi_ticket), shared by
    every worker process so it is fetched once per expiry, not once per process."""

    __tablename__ = "channel_tokens"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: The value wrapped by the master key (empty until first fetched).
    wrapped_value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: A worker is fetching a new value until then: the others wait for it (a lease).
    refreshing_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
