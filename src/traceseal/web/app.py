"""The ASGI application: ``create_app(settings)`` mounts every feature's router."""

from __future__ import annotations

from fastapi import FastAPI

from traceseal import __version__
from traceseal.codes.service import Keyring
from traceseal.config import Settings, load_settings
from traceseal.db import make_engine, make_session_factory
from traceseal.keys import load_master_key
from traceseal.web import problems


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="TraceSeal",
        version=__version__,
        summary="Product verification and supply-chain traceability on GS1 standards.",
        openapi_url="/openapi.json",
    )
    engine = make_engine(settings.resolved_database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.keyring = Keyring(load_master_key(settings))
    problems.install(app)

    from traceseal.codes.api import router as codes_router
    from traceseal.orgs.api import router as orgs_router
    from traceseal.registry.api import router as registry_router
    from traceseal.web.pages import router as pages_router

    for router in (orgs_router, registry_router, codes_router, pages_router):
        app.include_router(router)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory traceseal.web.app:app_from_env``."""
    return create_app(load_settings())
