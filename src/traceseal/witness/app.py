"""The witness's HTTP interface: ``POST /add-checkpoint`` (C2SP tlog-witness), on its own.

A small ASGI application apart from the platform's: the witness is run by someone who
does not trust the platform's operator (an enterprise, a regulator), on their own machine,
with nothing of the platform but this package.

Answers: 200 with the cosignature line(s) as ``text/plain``; 409 with the witness's size
as ``text/x.tlog.size`` (the body the spec requires); any other refusal as an RFC 9457
problem (``application/problem+json``), whose status is the one the spec prescribes.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from traceseal.witness.protocol import SIZE_MEDIA_TYPE, encode_size
from traceseal.witness.witness import Refused, Witness

__all__ = ["MAX_BODY", "create_witness_app"]

#: A checkpoint with the most signatures a note may carry (100) and a full proof is about
#: 15 KB; anything much larger is not a request this protocol can make.
MAX_BODY = 64 * 1024
PROBLEM_JSON = "application/problem+json"


def _problem(status: int, detail: str) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def create_witness_app(witness: Witness) -> FastAPI:
    app = FastAPI(
        title="TraceSeal witness",
        summary="Cosigns a transparency log's checkpoints (C2SP tlog-witness).",
        openapi_url="/openapi.json",
    )
    app.state.witness = witness

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        return _problem(exc.status_code, str(exc.detail))

    @app.post(
        "/add-checkpoint",
        response_class=PlainTextResponse,
        responses={
            200: {"description": "The cosignature line(s).", "content": {"text/plain": {}}},
            400: {"description": "Malformed body, or old size past the checkpoint's."},
            403: {"description": "No valid signature by the log's key."},
            404: {"description": "Not a log this witness watches."},
            409: {
                "description": "Old size is not the witness's; body: its size.",
                "content": {SIZE_MEDIA_TYPE: {}},
            },
            413: {"description": "Body too large."},
            422: {"description": "The consistency proof does not verify."},
        },
    )
    async def add_checkpoint(request: Request) -> Response:
        """Cosign a checkpoint that is consistent with the last one cosigned for its log."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _problem(413, f"a request body is at most {MAX_BODY} bytes")
        try:
            # Signing and the SQLite write block: off the event loop.
            lines = await run_in_threadpool(witness.add_checkpoint, bytes(body))
        except Refused as refused:
            if refused.status == 409 and refused.size is not None:
                # Exactly this type, without the charset Starlette adds to text/* types:
                # clients may compare the header as a whole.
                return Response(
                    encode_size(refused.size),
                    status_code=409,
                    headers={"Content-Type": SIZE_MEDIA_TYPE},
                )
            return _problem(refused.status, refused.detail)
        return PlainTextResponse(lines)

    return app
