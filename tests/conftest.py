"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL when
TRACESEAL_TEST_POSTGRES_URL names a server (each test then gets its own schema)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, make_url, text

from traceseal.app import create_app
from traceseal.config import Settings, load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
from traceseal.people import passwords

# No per-example deadline: the machines are shared and noisy, and a deadline is a timed
# assertion (speed is measured in bench/, never asserted in tests).
hypothesis_settings.register_profile("traceseal", deadline=None)
hypothesis_settings.load_profile("traceseal")

POSTGRES_URL = os.environ.get("TRACESEAL_TEST_POSTGRES_URL", "")
REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


#: For tests of what Redis keeps when TRACESEAL_REDIS_URL is set (skipped without one).
REDIS = pytest.mark.skipif(not _redis_answers(), reason="no Redis answers on 127.0.0.1:6379")


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2id at RFC 9106's profile (64 MiB, 3 passes) costs 0.3 to 0.6 s a hash on the
    2-core VM, and the console tests make and sign in people by the hundred. In the test
    processes the hasher runs the same algorithm at its smallest cost (CLI commands the
    tests run in-process too); servers and CLI processes the tests start keep the real one,
    and tests/unit/people checks it."""
    real = passwords._HASHER
    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._HASHER = real


@pytest.fixture(autouse=True, scope="session")
def _route_contexts_built_once() -> Iterator[None]:
    """FastAPI (0.165) builds each included route's handler (its dependency tree, body and
    response models) on an app's first request, for all 290 routes at once: 0.25 to 0.45 s
    per app, and nearly every test makes an app of its own. The routes are module-level
    objects included the same way into every app, so within a test process the built
    contexts are kept and handed to the next app that includes the same route the same way.

    The key is the route object and every field of the inclusion except the app itself
    (``dependency_overrides_provider``, consulted only for ``app.dependency_overrides``,
    which nothing here sets). A route or dependency made per app is a new object: a miss,
    built as usual. The cache holds the objects it keys on, so their ids stay theirs."""
    import dataclasses

    from fastapi import routing

    if not hasattr(routing, "_EffectiveRouteContext"):
        yield  # another FastAPI: nothing to keep
        return
    kind = routing._EffectiveRouteContext
    build = kind.from_api_route.__func__  # type: ignore[attr-defined]
    kept: dict[tuple[object, ...], tuple[object, list[object]]] = {}

    def key_of(value: object) -> object:
        if value is None or isinstance(value, (str, int, bool)):
            return value
        if isinstance(value, (list, tuple)):
            return tuple(key_of(v) for v in value)
        if isinstance(value, dict):
            return tuple((k, key_of(v)) for k, v in value.items())
        return ("id", id(value))

    def from_api_route(cls: type, *, original_route: object, include_context: object) -> object:
        fields = [
            (f.name, getattr(include_context, f.name))
            for f in dataclasses.fields(include_context)  # type: ignore[arg-type]
            if f.name != "dependency_overrides_provider"
        ]
        key = (id(original_route), *((name, key_of(value)) for name, value in fields))
        found = kept.get(key)
        if found is None:
            built = build(cls, original_route=original_route, include_context=include_context)
            found = kept[key] = (built, [original_route, *(v for _, v in fields)])
        return found[0]

    kind.from_api_route = classmethod(from_api_route)  # type: ignore[method-assign, assignment]
    yield
    kind.from_api_route = classmethod(build)  # type: ignore[method-assign, assignment]


PUBLIC_URL = "https://verify.example.org"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="TRACESEAL_TEST_POSTGRES_URL is not set"
            ),
        ),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'traceseal.db'}"
        return
    with postgres_schema() as url:
        yield url


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL of a fresh, empty schema on the test PostgreSQL server, dropped afterwards."""
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        sep = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        {},
        data_dir=tmp_path,
        database_url=database_url,
        master_key=secrets.token_hex(32),
        public_url=PUBLIC_URL,
        # Small limits, so tests reach them in a few requests.
        verify_failure_limit=5,
        enumeration_alert_threshold=8,
    )


@pytest.fixture
def migrated(settings: Settings, migrated_template: MigratedTemplate) -> Settings:
    """The test's database brought to the latest schema: a copy of one migrated once per
    test process, which gives the same tables and rows as running every migration (24 and
    more) again, in a tenth of the time."""
    migrated_template.fill(settings.resolved_database_url)
    return settings


class MigratedTemplate:
    """One database per test process migrated to head, copied into each test's own.

    SQLite: the template file is copied with SQLite's online backup. PostgreSQL: the
    template schema is dumped once (pg_dump, schema and rows) and the dump replayed into
    the test's empty schema under its name; without pg_dump each test migrates itself.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._postgres: tuple[str, str] | None = None  # (template's schema name, its dump)
        self._dumps = True

    def fill(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            self._fill_sqlite(Path(url.removeprefix("sqlite:///")))
            return
        if self._dumps and shutil.which("pg_dump") and "search_path%3D" in url:
            try:
                self._fill_postgres(url)
                return
            except subprocess.CalledProcessError:
                # A pg_dump older than the server refuses to dump it: migrate instead.
                self._dumps = False
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()

    def _fill_sqlite(self, path: Path) -> None:
        if self._sqlite is None:
            template = self.folder / "template.db"
            engine = make_engine(f"sqlite:///{template}")
            migrate(engine)
            engine.dispose()
            self._sqlite = template
        # The database's folder and file, made private as the application makes them.
        make_engine(f"sqlite:///{path}").dispose()
        with (
            closing(sqlite3.connect(self._sqlite)) as source,
            closing(sqlite3.connect(path)) as target,
        ):
            source.backup(target)

    def _fill_postgres(self, url: str) -> None:
        if self._postgres is None:
            self._postgres = _dump_migrated_schema()
        name, dump = self._postgres
        schema = url.rsplit("search_path%3D", 1)[1]
        engine = create_engine(POSTGRES_URL)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(dump.replace(name, schema))
        finally:
            engine.dispose()


def _dump_migrated_schema() -> tuple[str, str]:
    """Migrate a new schema, dump it as SQL statements, drop it: (its name, the dump).

    The name is random and long enough that replacing it in the dump touches nothing but
    the schema's own qualifiers. The dump's psql meta-commands (``\\restrict``) and its
    CREATE SCHEMA (the test's schema exists already) are left out.
    """
    with postgres_schema() as url:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        name = url.rsplit("search_path%3D", 1)[1]
        database = (
            make_url(POSTGRES_URL)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        dumped = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", "--inserts", f"--schema={name}", database],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    kept = [
        line
        for line in dumped.splitlines()
        if not line.startswith("\\") and not line.startswith(f"CREATE SCHEMA {name};")
    ]
    return name, "\n".join(kept)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> MigratedTemplate:
    return MigratedTemplate(tmp_path_factory.mktemp("template"))


@dataclass
class Tenant:
    id: int
    name: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class Platform:
    """A migrated database, the ASGI app over it, and a way to onboard organisations."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.session_factory = make_session_factory(self.app.state.engine)
        self.operator = self.org("Operator", Role.OPERATOR)

    def org(self, name: str, role: Role = Role.ENTERPRISE) -> Tenant:
        with unit_of_work(self.session_factory) as session:
            org, key = create_organization(session, name, role)
            return Tenant(org.id, org.name, key)

    def close(self) -> None:
        self.client.close()
        self.app.state.verifier.close()
        self.app.state.engine.dispose()


@pytest.fixture
def platform(migrated: Settings) -> Iterator[Platform]:
    p = Platform(migrated)
    yield p
    p.close()


def add_product(platform: Platform, tenant: Tenant, gtin: str = "09506000134352") -> dict:
    response = platform.client.post(
        "/api/v1/products", json={"gtin": gtin, "name": "Extinguisher 4kg"}, headers=tenant.auth
    )
    assert response.status_code == 201, response.text
    return response.json()


def add_batch(platform: Platform, tenant: Tenant, gtin: str, lot: str) -> dict:
    response = platform.client.post(
        f"/api/v1/products/{gtin}/batches", json={"lot": lot}, headers=tenant.auth
    )
    assert response.status_code == 201, response.text
    return response.json()


@contextmanager
def serve(settings: Settings) -> Iterator[Platform]:
    """The platform served by uvicorn on a free port of 127.0.0.1 (a real HTTP server in a
    thread of this process), with PUBLIC_URL naming that port: ``settings.public_url``."""
    # Binding before uvicorn starts gives the port without a race for a "free" one.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    # Labels name this loopback server on purpose here (check_label_url refuses it otherwise).
    platform = Platform(
        settings.replace(public_url=f"http://{host}:{port}", allow_local_public_url=1)
    )
    config = uvicorn.Config(
        platform.app, log_level="warning", lifespan="off", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            thread.join(0.01)
        assert server.started, "uvicorn did not start"
        yield platform
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        platform.close()
