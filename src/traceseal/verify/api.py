"""``POST /api/v1/verify``: the verification API for apps and integrations (unauthenticated)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from traceseal.errors import TooManyRequests
from traceseal.orgs.deps import ReadCaller, authenticated
from traceseal.orgs.models import Role
from traceseal.verify.checks import trade_checks
from traceseal.verify.deps import get_verifier, request_client, throttled_client
from traceseal.verify.schemas import TradeCheckRead, VerificationRead, VerifyRequest
from traceseal.verify.service import Query as VerifyQuery
from traceseal.web.bodylimit import body_limit
from traceseal.web.deps import AfterId, ReadSessionDep
from traceseal.web.negotiation import is_bot, language
from traceseal.web.problems import domain_problem

router = APIRouter(tags=["verification"])

#: Bodies of verification requests are small JSON documents.
VERIFY_BODY_LIMIT = 8 * 1024

_LIMITED: dict[int | str, dict[str, Any]] = {
    422: {"description": "Not a seal code, or another invalid field (problem details)."},
    429: {"description": "Too many requests or failed verifications; see Retry-After."},
}


async def count_unparsable(request: Request) -> Response | None:
    """A query the API cannot even parse is a failed one: tick the client's failure counter,
    and answer 429 instead of 422 once the client is over its limit."""
    verifier = await get_verifier(request)
    try:
        await run_in_threadpool(verifier.tick_failure, request_client(request, verifier))
    except TooManyRequests as exc:
        return domain_problem(exc)
    return None


#: Roles whose authenticated scans are trade scans (diversion evidence weighs more).
_TRADE = frozenset({Role.DISTRIBUTOR.value, Role.ENTERPRISE.value})


def _trader(request: Request) -> int | None:
    """The distributor or brand owner whose API key the request carries, else None (raises
    Unauthorized for a key that is not valid: a scanner must know its scans are not
    counted as a shop's)."""
    with request.app.state.read_session_factory() as session, session.begin():
        org = authenticated(request, session)
        return org.id if org.role in _TRADE else None


@router.post(
    "/api/v1/verify",
    response_model=VerificationRead,
    responses=_LIMITED,
    # Anyone may verify; a trade scanner sends its key (optional, so "{}" or "apiKey").
    openapi_extra={"security": [{}, {"apiKey": []}]},
)
@body_limit(VERIFY_BODY_LIMIT)
async def verify_code(body: VerifyRequest, request: Request) -> Response:
    """Verify a seal code, as a consumer app would after a scan.

    A shop's or distributor's scanner sends its API key (``Authorization: Bearer``): its
    scans are trade scans, which weigh more as evidence of diversion (docs/logistics.md).

    Each call is one query of the code and counts towards its query count. The answer's
    ``message`` follows ``Accept-Language`` (zh-CN or en) or ``?lang=``.
    """
    # The busiest endpoint resolves its two dependencies itself: FastAPI's dependency
    # machinery costs about a tenth of the whole request here (bench/verify.py).
    verifier = await get_verifier(request)
    client = await throttled_client(request, verifier)
    trader = (
        await run_in_threadpool(_trader, request) if "authorization" in request.headers else None
    )
    query = VerifyQuery(
        code=body.code,
        gtin=body.gtin,
        lot=body.lot,
        channel=body.channel,
        region=body.region,
        latitude=body.lat,
        longitude=body.lon,
        record=not is_bot(request),
        trade=trader is not None,
        trade_org_id=trader,
    )
    result = await verifier.verify_async(query, client)
    answer = VerificationRead.of(result, language(request))
    # Serialised once by pydantic-core; returning the model would validate it a second time.
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get("/api/v1/trade-checks", response_model=list[TradeCheckRead])
def list_trade_checks(
    session: ReadSessionDep,
    caller: ReadCaller,
    code: Annotated[str | None, Query(min_length=20, max_length=20, pattern="^[0-9]+$")] = None,
    after_id: AfterId = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TradeCheckRead]:
    """Trade checks, newest first: a brand's codes checked by shops and distributors with
    their keys (logged, never counted as a buyer's query), or the checks the caller made.
    Page back with ``after_id`` = the last id seen."""
    found = trade_checks(session, caller, code=code, after_id=after_id, limit=limit)
    return [TradeCheckRead.model_validate(check, from_attributes=True) for check in found]
