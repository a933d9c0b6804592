"""One message in, one short answer out: what every channel (SMS, WeChat, the CLI) shares.

:meth:`Messages.answer` finds the code in the text (channels.text), verifies it through the
one verification core (``verify.channel.Verifier``, with the sender's failure limit and
the scan log), words the verdict (channels.replies) and records the message, all in the
verification's transaction, so a delivery the provider retries is answered from the record
and never verified twice. An SMS reply to send is queued in the same transaction
(channels.sms_out sends it).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from starlette.concurrency import run_in_threadpool

from traceseal.channels import replies
from traceseal.channels.models import ChannelMessage, Provider, SmsReply, SmsState
from traceseal.channels.text import Found, extract, language
from traceseal.db import dialect_insert, utcnow
from traceseal.errors import InvalidInput, TooManyRequests
from traceseal.keys import MasterKey
from traceseal.verify.channel import Client, Verifier
from traceseal.verify.models import Channel, Verdict
from traceseal.verify.records import Query, Verification

__all__ = ["PHONE_PURPOSE", "Answer", "Inbound", "Messages"]

#: The same sender and text within this time is one message (no provider id needed).
SAME_MESSAGE = timedelta(seconds=60)
#: What the wrapped phone numbers of queued SMS replies are wrapped for.
PHONE_PURPOSE = "sms-phone"
#: Longest message text looked at: a code with words around it, or a pasted link.
MAX_TEXT = 1000


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message as a provider delivered it."""

    provider: Provider
    channel: Channel
    #: The phone number (with its country code for Tencent's) or the WeChat OpenID.
    sender: str
    text: str
    #: The provider's id of the message (Alibaba's sequence_id, WeChat's MsgId), if any.
    message_id: str | None = None
    #: An SMS reply is queued for it (SMS providers, when TRACESEAL_SMS_PROVIDER is set).
    reply_by_sms: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    reply: str
    verdict: Verdict | None = None
    code: str | None = None
    #: The message was received before: this is the first answer, nothing was verified.
    repeated: bool = False


@dataclass
class _Once:
    """One message's record, written inside the verification's transaction (Once)."""

    inbound: Inbound
    sender_hash: str
    text_hash: str
    dedupe_key: str
    lang: str
    now: datetime
    sms: tuple[str, bytes] | None  # (provider, wrapped phone) when a reply is to be sent
    prior: Answer | None = None
    fallback: str = ""
    stored: dict[str, Any] = field(default_factory=dict)

    def claim(self, connection: Connection) -> bool:
        recent = connection.execute(
            select(ChannelMessage.reply, ChannelMessage.verdict, ChannelMessage.code)
            .where(
                ChannelMessage.sender_hash == self.sender_hash,
                ChannelMessage.text_hash == self.text_hash,
                ChannelMessage.received_at > self.now - SAME_MESSAGE,
            )
            .limit(1)
        ).first()
        if recent is None:
            inserted = connection.execute(
                dialect_insert(connection, ChannelMessage)
                .values(
                    provider=self.inbound.provider.value,
                    dedupe_key=self.dedupe_key,
                    sender_hash=self.sender_hash,
                    text_hash=self.text_hash,
                    received_at=self.now,
                    lang=self.lang,
                    reply="",
                )
                .on_conflict_do_nothing(index_elements=[ChannelMessage.dedupe_key])
                .returning(ChannelMessage.id)
            ).first()
            if inserted is not None:
                self.stored["id"] = inserted[0]
                return True
            # A retry that raced the first delivery: the unique key held it back until the
            # first committed, so its answer is there now.
            recent = connection.execute(
                select(ChannelMessage.reply, ChannelMessage.verdict, ChannelMessage.code).where(
                    ChannelMessage.dedupe_key == self.dedupe_key
                )
            ).first()
        assert recent is not None
        reply, verdict, code = recent
        self.prior = Answer(
            reply or self.fallback, None if verdict is None else Verdict(verdict), code, True
        )
        return False

    def keep(self, connection: Connection, result: Verification | None) -> None:
        text = self.fallback if result is None else replies.reply(result, self.lang)
        connection.execute(
            update(ChannelMessage)
            .where(ChannelMessage.id == self.stored["id"])
            .values(
                reply=text,
                verdict=None if result is None else result.verdict.value,
                code=None if result is None else result.code,
            )
        )
        self.stored["reply"] = text
        if self.sms is not None:
            provider, wrapped = self.sms
            params = (
                {"result": text, "product": ""}
                if result is None
                else {
                    "result": replies.sentence(result, self.lang),
                    "product": replies.product_name(result),
                }
            )
            connection.execute(
                insert(SmsReply).values(
                    message_id=self.stored["id"],
                    provider=provider,
                    wrapped_phone=wrapped,
                    params=params,
                    state=SmsState.PENDING.value,
                    attempts=0,
                    created_at=self.now,
                    next_attempt_at=self.now,
                    last_error="",
                )
            )


class Messages:
    """Answers channel messages; one per application (``app.state.messages``)."""

    def __init__(self, verifier: Verifier, keyring: MasterKey, sms_provider: str) -> None:
        self._verifier = verifier
        self._keyring = keyring
        self.sms_provider = sms_provider

    def _once(self, inbound: Inbound, lang: str, sender: Client) -> _Once:
        now = utcnow()
        sender_hash = sender.device_hash or ""
        text_hash = self._verifier.pseudonym("text:" + " ".join(inbound.text.split()))
        if inbound.message_id:
            what = f"id:{inbound.message_id}"
        else:
            # No id: the minute is the message (a retry inside the same minute collides on
            # the unique key even when two arrive at once; claim() also looks 60 s back).
            what = f"text:{text_hash}:{int(now.timestamp()) // 60}"
        digest = hashlib.sha256(f"{inbound.provider}:{sender_hash}:{what}".encode()).hexdigest()
        sms = None
        if inbound.reply_by_sms and self.sms_provider != "none":
            wrapped = self._keyring.wrap_secret(PHONE_PURPOSE, inbound.sender.encode())
            sms = (self.sms_provider, wrapped)
        return _Once(inbound, sender_hash, text_hash, digest, lang, now, sms)

    async def answer(self, inbound: Inbound) -> Answer:
        """The answer to one message (on the event loop, like the verify API)."""
        text = inbound.text[:MAX_TEXT]
        lang = language(text)
        sender = self._verifier.sender(inbound.channel.value, inbound.sender)
        try:
            self._verifier.throttle(sender)
        except TooManyRequests:
            return Answer(replies.fixed("wait", lang))
        found = extract(text)
        once = self._once(inbound, lang, sender)
        if found.code is None:
            return await run_in_threadpool(self._without_code, once, found, lang)
        query = Query(code=found.code, gtin=found.gtin, lot=found.lot, channel=inbound.channel)
        try:
            result = await self._verifier.verify_async(query, sender, once)
        except TooManyRequests:
            return Answer(replies.fixed("wait", lang))
        except InvalidInput:
            # A pasted link whose GTIN or lot is malformed: no code to answer about.
            return await run_in_threadpool(self._without_code, once, Found(kind="none"), lang)
        if result is None:
            assert once.prior is not None
            return once.prior
        return Answer(once.stored["reply"], result.verdict, result.code)

    def answer_now(self, inbound: Inbound) -> Answer:
        """:meth:`answer` for callers without an event loop (the CLI)."""
        return asyncio.run(self.answer(inbound))

    def _without_code(self, once: _Once, found: Found, lang: str) -> Answer:
        once.fallback = replies.fixed("length" if found.kind == "length" else "help", lang)

        def step(connection: Connection) -> bool:
            if not once.claim(connection):
                return False
            once.keep(connection, None)
            return True

        if not self._verifier.record(step):
            assert once.prior is not None
            return once.prior
        return Answer(once.fallback)
