"""Request dependencies of the code feature."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from traceseal.codes.runner import ExportRunner
from traceseal.codes.service import Keyring


async def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


KeyringDep = Annotated[Keyring, Depends(_keyring)]


async def _exports(request: Request) -> ExportRunner:
    runner: ExportRunner = request.app.state.exports
    return runner


ExportsDep = Annotated[ExportRunner, Depends(_exports)]
