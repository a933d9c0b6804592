"""Request dependencies of the consumer-facing routes: the verifier and the hashed client."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from traceseal.verify.channel import Client, Verifier
from traceseal.web.negotiation import client_ip, device_id

# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in the
# thread pool, and each such hop costs more than the work itself.


async def get_verifier(request: Request) -> Verifier:
    verifier: Verifier = request.app.state.verifier
    return verifier


VerifierDep = Annotated[Verifier, Depends(get_verifier)]


def request_client(request: Request, verifier: Verifier) -> Client:
    """Who is asking, hashed: the request's address and device cookie."""
    return verifier.client(client_ip(request), device_id(request))


async def throttled_client(request: Request, verifier: VerifierDep) -> Client:
    """The hashed client, after the per-address flood limit (raises 429)."""
    client = request_client(request, verifier)
    verifier.throttle(client)
    return client


ClientDep = Annotated[Client, Depends(throttled_client)]
