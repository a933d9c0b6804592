"""Request dependencies of the quality dossier."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from traceseal.db import utcnow
from traceseal.quality.service import Issuing


async def _issuing(request: Request) -> Issuing:
    return Issuing(request.app.state.keyring, request.app.state.attachments, utcnow())


#: What writing a signed quality record needs: keys, the attachment store, the time.
IssuingDep = Annotated[Issuing, Depends(_issuing)]
