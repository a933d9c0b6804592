"""The ASGI application: ``create_app(settings)`` builds the shared state, then every feature
registers its routers and its own exception handlers. Nothing else imports this module but
the edges that serve it (the CLI's ``serve``, uvicorn's factory, the tests)."""

from __future__ import annotations

import gc
import multiprocessing
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
from traceseal.analytics.alerts import hot_spot_job
from traceseal.analytics.api import router as analytics_router
from traceseal.analytics.fold import fold_job
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
from traceseal.console import EXCEPTION_HANDLERS as CONSOLE_HANDLERS
from traceseal.console import MENU as CONSOLE_MENU
from traceseal.console import router as console_router
from traceseal.db import checkpoint_wal, make_engine, make_session_factory, read_only_factory
from traceseal.directory.pages import router as directory_router
from traceseal.epcis.api import EXCEPTION_HANDLERS as EPCIS_HANDLERS
from traceseal.epcis.api import router as epcis_router
from traceseal.epcis.api import trace_router
from traceseal.epcis.delivery import Deliverer as SubscriptionDeliverer
from traceseal.epcis.lifeline import bind_to
from traceseal.epcis.pipeline import Workers
from traceseal.epcis.schedule import parse_offset
from traceseal.epcis.socket import socket_router
from traceseal.epcis.standing_api import EXCEPTION_HANDLERS as STANDING_HANDLERS
from traceseal.epcis.standing_api import router as standing_router
from traceseal.epcis.subscriptions import Scheduler
from traceseal.home.pages import router as home_router
from traceseal.jobs.locking import JobLock
from traceseal.keys import load_master_key
from traceseal.ledger.api import router as ledger_router
from traceseal.ledger.checkpoints import Cosigners, publish_now
from traceseal.logistics.api import router as logistics_router
from traceseal.logistics.pages import router as scan_pages_router
from traceseal.logistics.scan_api import router as scanning_router
from traceseal.ops.api import router as ops_router
from traceseal.ops.metrics import Metrics
from traceseal.ops.pages import router as health_router
from traceseal.orgs.api import router as orgs_router
from traceseal.orgs.service import record_key_uses
from traceseal.quality.api import router as quality_router
from traceseal.quality.attachments import AttachmentStore
from traceseal.recalls.api import router as recalls_router
from traceseal.recalls.pages import router as recall_pages_router
from traceseal.recalls.reach_api import router as reach_router
from traceseal.registry.api import router as registry_router
from traceseal.verify.api import count_unparsable
from traceseal.verify.api import router as verify_api_router
from traceseal.verify.channel import Verifier
from traceseal.verify.pages import page_for_browsers
from traceseal.verify.pages import router as verify_pages_router
from traceseal.verify.partitions import maintain as scan_log_upkeep
from traceseal.verify.reports.api import router as reports_router
from traceseal.verify.reports.pages import router as report_pages_router
from traceseal.web import openapi, problems
from traceseal.web.bodylimit import BodyLimit
from traceseal.web.headers import SecurityHeaders
from traceseal.web.metrics import RequestMetrics
from traceseal.web.requestid import RequestId
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
    app_subscriptions = _subscriptions(settings, session_factory, keyring)
    background.extend(app_subscriptions[0])

    app = FastAPI(
        title="TraceSeal",
        version=__version__,
        summary="Product verification and supply-chain traceability on GS1 standards.",
        openapi_url="/openapi.json",
        # Served by home/pages.py from vendored assets, not FastAPI's CDN links.
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(background, exports, lambda: _last_notes(app, key_uses)),
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
    app.state.metrics = Metrics(app.state.read_session_factory)  # ops/: /metrics, /readyz
    app.state.verifier.tally = app.state.metrics.verdict
    background.append(
        Periodic("rate-windows", 60.0, app.state.verifier.sweep, once=JobLock(engine))
    )
    # Each process's answers per client network (verify/networks.py), added to the table.
    networks = app.state.verifier.networks
    background.append(Periodic("network-tallies", 30.0, lambda: networks.write(session_factory)))
    app.state.deliverer = deliverer
    # SMS and WeChat messages, answered through the same verifier (channels/).
    app.state.messages = Messages(app.state.verifier, keyring, settings.sms_provider)
    app.state.sms_sender = sms_sender
    app.state.wechat_tokens = WeChatTokens(settings, session_factory, keyring)
    app.state.key_uses = key_uses
    app.state.console_menu = CONSOLE_MENU
    # Named queries' subscriptions (epcis/subscriptions.py): the scheduler and the deliverer.
    app.state.subscription_scheduler, app.state.subscription_deliverer = app_subscriptions[1:]
    problems.install(app)
    openapi.install(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, https=settings.public_url.startswith("https://"))
    app.add_middleware(RequestMetrics, histogram=app.state.metrics.requests)
    app.add_middleware(RequestId)  # outside the above, so their log lines carry the id
    app.add_middleware(ServerTiming)  # added last: outermost, so it times everything

    _register_features(app)
    # Vendored browser assets and icons: pages work with no internet.
    app.mount("/static", StaticFiles(packages=[("traceseal", "static")]), name="static")
    return app


def _last_notes(app: FastAPI, key_uses: dict[int, datetime]) -> None:
    """What the process noted in memory since its writers' last pass, written at shutdown:
    a restart must lose neither (a key used once would read "never used")."""
    factory = app.state.session_factory
    try:
        record_key_uses(factory, key_uses)
    finally:
        app.state.verifier.networks.write(factory)


def _lifespan(
    background: list[Periodic], exports: ExportRunner, last_uses: Callable[[], object]
) -> Lifespan:
    """Start the process's background work with the server; stop it when the server stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Under `traceseal serve --workers N` each worker is a multiprocessing child of
        # uvicorn's supervisor. A supervisor killed with SIGKILL (the OOM killer, a stop
        # timeout) would leave its workers serving on, and their capture workers with them:
        # each worker follows the supervisor out, like capture workers follow their server.
        supervisor = multiprocessing.parent_process()
        if supervisor is not None and supervisor.pid is not None:
            bind_to(supervisor.pid)
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
                last_uses()
            finally:
                app.state.capture_workers.close()
                app.state.verifier.close()

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
    # The scan log's coming months (PostgreSQL) and its retention: hourly, cheap when idle.
    background.append(
        Periodic("scan-log", 3600.0, lambda: scan_log_upkeep(session_factory, settings), once=once)
    )
    # SMS replies to the providers' SendSms: a thread of its own, like the webhooks.
    sms_sender = SmsSender(session_factory, keyring, settings)
    if settings.sms_provider != "none":
        background.append(Periodic("sms", 1.0, sms_sender.run, once=once))
    # The analytics' day and month sums, folded from the rollups once a day is over.
    background.append(
        Periodic("analytics-fold", 60.0, lambda: fold_job(session_factory), once=once)
    )
    # Hot spots of the week that ended yesterday, raised as alerts (deduplicated per week).
    background.append(
        Periodic(
            "hot-spot-alerts", 3600.0, lambda: hot_spot_job(session_factory, settings), once=once
        )
    )
    # API keys' last use, as noted by read-only requests (orgs.deps).
    key_uses: dict[int, datetime] = {}
    background.append(
        Periodic("key-uses", 30.0, lambda: record_key_uses(session_factory, key_uses))
    )
    return background, deliverer, sms_sender, key_uses


def _subscriptions(
    settings: Settings, session_factory: sessionmaker[Session], keyring: Keyring
) -> tuple[list[Periodic], Scheduler, SubscriptionDeliverer]:
    """EPCIS subscriptions: scheduled runs queue deliveries; a thread of its own sends them
    (like alerts' webhooks, with the same attempts, back-off and timeout)."""
    scheduler = Scheduler(session_factory, zone=parse_offset(settings.epcis_schedule_utc_offset))
    deliverer = SubscriptionDeliverer(
        session_factory,
        keyring,
        namespace=f"{settings.public_url}/ns/epcis#",
        max_attempts=settings.webhook_max_attempts,
        retry_base=settings.webhook_retry_base,
        timeout=settings.webhook_timeout,
        policy=settings.outbound_policy,
    )
    # A schedule fires once, and a delivery is sent once, however many processes serve.
    once = JobLock(session_factory.kw["bind"])
    periodic = [
        Periodic("epcis-schedules", 1.0, scheduler.run, once=once),
        Periodic("epcis-subscriptions", 1.0, deliverer.run, once=once),
    ]
    return periodic, scheduler, deliverer


def _register_features(app: FastAPI) -> None:
    # Routes are matched in order, and consumer verification is nearly all the traffic:
    # its routes come first.
    for router in (
        verify_api_router,
        verify_pages_router,
        reports_router,
        report_pages_router,
        sms_router,
        wechat_router,
        orgs_router,
        registry_router,
        codes_router,
        reach_router,
        recalls_router,
        recall_pages_router,
        quality_router,
        alerts_router,
        channels_router,
        logistics_router,
        scanning_router,
        scan_pages_router,
        analytics_router,
        standing_router,
        socket_router,
        epcis_router,
        trace_router,
        ledger_router,
        ops_router,
        console_router,
        home_router,
        directory_router,
        health_router,
    ):
        app.include_router(router)
    for exception, handler in (
        EPCIS_HANDLERS | CODES_HANDLERS | STANDING_HANDLERS | CONSOLE_HANDLERS
    ).items():
        app.add_exception_handler(exception, handler)
    problems.on_invalid_request(app, "/api/v1/verify", count_unparsable)
    problems.html_error_pages(app, page_for_browsers)


#: Allocations between two passes of the cyclic garbage collector (CPython's default: 700).
GC_THRESHOLD = 50_000


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory traceseal.app:app_from_env``."""
    return create_app(load_settings())
