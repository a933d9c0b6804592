"""The ASGI application: ``create_app(settings)`` builds the shared state, then every feature
registers its routers and its own exception handlers. Nothing else imports this module but
the edges that serve it (the CLI's ``serve``, uvicorn's factory, the tests)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from traceseal import __version__
from traceseal.alerts.api import router as alerts_router
from traceseal.alerts.webhooks import Deliverer
from traceseal.analytics.api import router as analytics_router
from traceseal.background import Periodic
from traceseal.channels.api import router as channels_router
from traceseal.channels.jssdk import WeChatTokens
from traceseal.channels.service import Messages
from traceseal.channels.sms import router as sms_router
from traceseal.channels.sms_out import SmsSender
from traceseal.channels.wechat import router as wechat_router
from traceseal.codes.api import EXCEPTION_HANDLERS as CODES_HANDLERS
from traceseal.codes.api import router as codes_router
from traceseal.codes.runner import ExportRunner
from traceseal.codes.service import Keyring
from traceseal.config import Settings, load_settings
from traceseal.db import checkpoint_wal, make_engine, make_session_factory, read_only_factory
from traceseal.epcis.api import EXCEPTION_HANDLERS as EPCIS_HANDLERS
from traceseal.epcis.api import router as epcis_router
from traceseal.epcis.api import trace_router
from traceseal.epcis.pipeline import Workers
from traceseal.home.pages import router as home_router
from traceseal.jobs.locking import JobLock
from traceseal.keys import load_master_key
from traceseal.ledger.api import router as ledger_router
from traceseal.ledger.checkpoints import Cosigners, publish_now
from traceseal.logistics.api import router as logistics_router
from traceseal.orgs.api import router as orgs_router
from traceseal.orgs.service import record_key_uses
from traceseal.quality.api import router as quality_router
from traceseal.quality.attachments import AttachmentStore
from traceseal.recalls.api import router as recalls_router
from traceseal.registry.api import router as registry_router
from traceseal.verify.api import count_unparsable
from traceseal.verify.api import router as verify_api_router
from traceseal.verify.channel import Verifier
from traceseal.verify.pages import page_for_browsers
from traceseal.verify.pages import router as verify_pages_router
from traceseal.verify.reports.api import router as reports_router
from traceseal.web import openapi, problems
from traceseal.web.bodylimit import BodyLimit
from traceseal.web.headers import SecurityHeaders
from traceseal.web.timing import ServerTiming

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.resolved_database_url)
    session_factory = make_session_factory(engine)
    keyring = Keyring(load_master_key(settings))
    background, deliverer, sms_sender, key_uses = _background(
        settings, engine, session_factory, keyring
    )
    # Export jobs: one at a time per process, each in a worker process (codes/runner.py).
    exports = ExportRunner(session_factory, keyring, settings)
    background.append(Periodic("exports-sweep", 30.0, exports.sweep))

    app = FastAPI(
        title="TraceSeal",
        version=__version__,
        summary="Product verification and supply-chain traceability on GS1 standards.",
        openapi_url="/openapi.json",
        # Served by home/pages.py from vendored assets, not FastAPI's CDN links.
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(background, exports, lambda: record_key_uses(session_factory, key_uses)),
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.read_session_factory = read_only_factory(engine)
    # Worker processes for large EPCIS captures, started on the first one (epcis/pipeline.py).
    app.state.capture_workers = Workers()
    app.state.keyring = keyring
    app.state.exports = exports
    app.state.attachments = AttachmentStore(
        settings.data_dir / "attachments", settings.quality_attachment_max_bytes
    )
    app.state.verifier = Verifier(settings, app.state.session_factory, app.state.keyring)
    background.append(
        Periodic("rate-windows", 60.0, app.state.verifier.sweep, once=JobLock(engine))
    )
    app.state.deliverer = deliverer
    # SMS and WeChat messages, answered through the same verifier (channels/).
    app.state.messages = Messages(app.state.verifier, keyring, settings.sms_provider)
    app.state.sms_sender = sms_sender
    app.state.wechat_tokens = WeChatTokens(settings, session_factory, keyring)
    app.state.key_uses = key_uses
    problems.install(app)
    openapi.install(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, https=settings.public_url.startswith("https://"))
    app.add_middleware(ServerTiming)  # added last: outermost, so it times everything

    _register_features(app)
    # Vendored browser assets and icons: pages work with no internet.
    app.mount("/static", StaticFiles(packages=[("traceseal", "static")]), name="static")
    return app


def _lifespan(
    background: list[Periodic], exports: ExportRunner, last_uses: Callable[[], object]
) -> Lifespan:
    """Start the process's background work with the server; stop it when the server stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything built at start-up lives as long as the process: keep it out of the
        # cyclic collector's passes, and run those less often. A full pass over a grown
        # heap stalls every request in flight for tens of milliseconds (the slowest 1 %
        # of verifications in bench/verify.py); requests free almost all they allocate
        # by reference counting, so fewer passes cost little memory.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, 20, 100)
        for worker in background:
            worker.start()
        exports.start()
        try:
            yield
        finally:
            # First: a running export's worker is told to stop, its partial file removed and
            # the job marked failed, within a few seconds (docs/codes.md, "Exports").
            exports.stop()
            for worker in background:
                worker.stop()
            try:
                # The key uses noted since the writer's last pass: a restart must not lose
                # them (a key used once would read "never used").
                last_uses()
            finally:
                app.state.capture_workers.close()

    return lifespan


def _background(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], keyring: Keyring
) -> tuple[list[Periodic], Deliverer, SmsSender, dict[int, datetime]]:
    """The periodic work of a server process, the webhook deliverer, the SMS sender, and the
    API keys' last uses that read-only requests note for it."""
    origin = settings.resolved_ledger_origin
    # Work for the whole platform runs in one process per interval, however many serve the
    # database (jobs/locking.py); the rest is each process's own.
    once = JobLock(engine)
    background = [
        Periodic(
            "checkpoints", 0.5, lambda: publish_now(session_factory, keyring, origin), once=once
        )
    ]
    if engine.dialect.name == "sqlite":
        background.append(Periodic("wal-checkpoint", 1.0, lambda: checkpoint_wal(engine)))
    # A thread of its own: a slow or unreachable witness delays only its own cosignatures.
    cosigners = Cosigners(session_factory, settings.resolved_ledger_witnesses)
    if cosigners:
        background.append(Periodic("cosignatures", 0.5, cosigners.collect, once=once))
    # Alerts to enterprises' webhooks: a thread of its own, since a receiver may be slow.
    deliverer = Deliverer(
        session_factory,
        keyring,
        max_attempts=settings.webhook_max_attempts,
        retry_base=settings.webhook_retry_base,
        timeout=settings.webhook_timeout,
        policy=settings.outbound_policy,
    )
    background.append(Periodic("webhooks", 1.0, deliverer.run, once=once))
    # SMS replies to the providers' SendSms: a thread of its own, like the webhooks.
    sms_sender = SmsSender(session_factory, keyring, settings)
    if settings.sms_provider != "none":
        background.append(Periodic("sms", 1.0, sms_sender.run, once=once))
    # API keys' last use, as noted by read-only requests (orgs.deps).
    key_uses: dict[int, datetime] = {}
    background.append(
        Periodic("key-uses", 30.0, lambda: record_key_uses(session_factory, key_uses))
    )
    return background, deliverer, sms_sender, key_uses


def _register_features(app: FastAPI) -> None:
    # Routes are matched in order, and consumer verification is nearly all the traffic:
    # its routes come first.
    for router in (
        verify_api_router,
        verify_pages_router,
        reports_router,
        sms_router,
        wechat_router,
        orgs_router,
        registry_router,
        codes_router,
        recalls_router,
        quality_router,
        alerts_router,
        channels_router,
        logistics_router,
        analytics_router,
        epcis_router,
        trace_router,
        ledger_router,
        home_router,
    ):
        app.include_router(router)
    for exception, handler in (EPCIS_HANDLERS | CODES_HANDLERS).items():
        app.add_exception_handler(exception, handler)
    problems.on_invalid_request(app, "/api/v1/verify", count_unparsable)
    problems.html_error_pages(app, page_for_browsers)


#: Allocations between two passes of the cyclic garbage collector (CPython's default: 700).
GC_THRESHOLD = 50_000


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory traceseal.app:app_from_env``."""
    return create_app(load_settings())
