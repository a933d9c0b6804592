"""``/api/v1/channels``: what the operator sees of the message channels (the SMS outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from traceseal.channels.models import ChannelMessage, SmsReply
from traceseal.orgs.deps import ReadCaller, require
from traceseal.orgs.models import Role
from traceseal.web.deps import ReadSessionDep

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])


class SmsReplyRead(BaseModel):
    id: int
    provider: str
    state: str = Field(description="pending, delivered or failed.")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str = Field(description="What the last failed attempt came to.")
    provider_id: str | None = Field(description="Alibaba's BizId or Tencent's SerialNo.")
    verdict: str | None = Field(description="The verdict the reply tells.")


@router.get("/sms/outbox", response_model=list[SmsReplyRead])
def sms_outbox(
    session: ReadSessionDep,
    caller: ReadCaller,
    state: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SmsReplyRead]:
    """The SMS replies, newest first, and how their delivery went (the operator's).

    Phone numbers are never shown: they are kept wrapped until the reply is sent, then erased.
    """
    require(caller, Role.OPERATOR)
    query = (
        select(SmsReply, ChannelMessage.verdict)
        .join(ChannelMessage, ChannelMessage.id == SmsReply.message_id)
        .order_by(SmsReply.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(SmsReply.state == state)
    return [
        SmsReplyRead(
            id=reply.id,
            provider=reply.provider,
            state=reply.state,
            attempts=reply.attempts,
            created_at=reply.created_at,
            next_attempt_at=reply.next_attempt_at,
            delivered_at=reply.delivered_at,
            last_error=reply.last_error,
            provider_id=reply.provider_id,
            verdict=verdict,
        )
        for reply, verdict in session.execute(query)
    ]
