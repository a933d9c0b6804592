"""A served instance: ``traceseal serve`` in a process of its own, on a free port of 127.0.0.1,
over a fresh data directory and database (SQLite, and PostgreSQL too when
TRACESEAL_TEST_POSTGRES_URL is set), talked to with real HTTP (httpx).

Unlike ``tests.conftest.serve`` (uvicorn in a thread of the test process, serving an app the
test built), nothing here shares memory with the test: the server reads its settings from
its environment as in production, runs its background threads (webhook deliveries, key use)
and capture workers as in production, the CLI (``traceseal init``, ``traceseal keys``) works
on the same data directory and database, and the test sees what HTTP answers, and the
database only where no route shows a thing.

One instance serves every test of a test process (``served`` is session-scoped; starting
one takes seconds): every test makes its own organisations, products and codes, so tests
never see each other's data.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from json import dumps
from pathlib import Path
from typing import Any

import httpx2
import pytest
from biip.checksums import gs1_standard_check_digit
from sqlalchemy import Engine, create_engine

from tests.conftest import POSTGRES_URL, Tenant, postgres_schema
from tests.functional.test_cli import Cli
from traceseal.orgs.models import Role

#: How long a server may take to start (migrations included) on a busy 2-core machine.
START_SECONDS = 90
#: Every served instance is run on these engines.
ENGINES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="TRACESEAL_TEST_POSTGRES_URL is not set"),
    ),
]
LOT = "L2026-11A"
#: Product and place numbers, unique in this test process (a GTIN names one product on the
#: whole platform, so every test registers its own).
_numbers = itertools.count(1)


def fresh_gtin() -> str:
    """A GTIN-14 of company prefix 9506000 not used before in this process."""
    body = f"09506000{next(_numbers):05d}"
    return body + str(gs1_standard_check_digit(body))


def fresh_gln() -> str:
    """A GLN of company prefix 9506000 not used before in this process."""
    body = f"9506000{next(_numbers):05d}"
    return body + str(gs1_standard_check_digit(body))


def sgtin(gtin: str, serial: str) -> str:
    """The EPC URN of one item: ``urn:epc:id:sgtin:9506000.0NNNNN.serial``."""
    return f"urn:epc:id:sgtin:{gtin[1:8]}.{gtin[0]}{gtin[8:13]}.{serial}"


def sgln(gln: str) -> str:
    return f"urn:epc:id:sgln:{gln[:7]}.{gln[7:12]}.0"


def digital_link(gtin: str, serial: str) -> str:
    """How a capture refusal names an item: its canonical GS1 Digital Link."""
    return f"https://id.gs1.org/01/{gtin}/21/{serial}"


def unique(name: str) -> str:
    return f"{name} {next(_numbers)}"


@dataclass
class Brand(Tenant):
    """A brand owner with one product and one lot registered."""

    gtin: str = ""
    lot: str = LOT


@dataclass
class Partner(Tenant):
    """A distributor organisation and its record in a brand's list of distributors."""

    distributor_id: int = 0


@dataclass
class Served:
    """A running ``traceseal serve``: its URL, an HTTP client, the operator's key, the CLI
    over the same database, and what the server wrote on stderr."""

    url: str
    http: httpx2.Client
    operator: Tenant
    cli: Cli
    database_url: str
    log: list[str]
    #: The ``traceseal serve`` process (with --workers, the parent of the workers).
    pid: int = 0
    _engine: Engine | None = field(default=None, repr=False)

    # --- HTTP -------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx2.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        response = self.http.request(method, path, json=json, content=content, headers=sent)
        # Each request says who it is (key, device cookie); nothing carries over to the next.
        self.http.cookies.clear()
        return response

    def org(self, name: str, role: Role = Role.ENTERPRISE) -> Tenant:
        """A new organisation, onboarded by the operator through the API."""
        response = self.call(
            "POST",
            "/api/v1/orgs",
            self.operator.key,
            json={"name": unique(name), "role": role.value},
        )
        assert response.status_code == 201, response.text
        made = response.json()
        return Tenant(made["id"], made["name"], made["api_key"])

    def brand(self, name: str = "安盾消防") -> Brand:
        """A new brand owner with its own product (a fresh GTIN) and lot LOT."""
        tenant = self.org(name)
        gtin = fresh_gtin()
        response = self.call(
            "POST", "/api/v1/products", tenant.key, json={"gtin": gtin, "name": "灭火器 4kg"}
        )
        assert response.status_code == 201, response.text
        response = self.call(
            "POST", f"/api/v1/products/{gtin}/batches", tenant.key, json={"lot": LOT}
        )
        assert response.status_code == 201, response.text
        return Brand(tenant.id, tenant.name, tenant.key, gtin=gtin)

    def issue(self, brand: Brand, count: int) -> list[str]:
        """``count`` codes of the brand's product, activated for its lot."""
        run = self.call(
            "POST", "/api/v1/code-runs", brand.key, json={"product": brand.gtin, "count": count}
        )
        assert run.status_code == 201, run.text
        run_id = run.json()["run"]
        activated = self.call(
            "POST", f"/api/v1/code-runs/{run_id}/activate", brand.key, json={"lot": brand.lot}
        )
        assert activated.status_code == 200, activated.text
        listing = self.call("GET", f"/api/v1/code-runs/{run_id}/codes.csv", brand.key)
        assert listing.status_code == 200, listing.text
        return [row["code"] for row in csv.DictReader(io.StringIO(listing.text))]

    def distributor(
        self, brand: Tenant, *, glns: list[str] | None = None, territory: list[str] | None = None
    ) -> Partner:
        """A distributor the brand registers (its organisation is made with it)."""
        response = self.call(
            "POST",
            "/api/v1/distributors",
            brand.key,
            json={
                "name": unique("顺达物流"),
                "glns": glns or [],
                "territory": territory or ["440000"],
            },
        )
        assert response.status_code == 201, response.text
        made = response.json()
        return Partner(
            made["organization_id"], made["name"], made["api_key"], distributor_id=made["id"]
        )

    def verify(
        self,
        code: str,
        *,
        key: str | None = None,
        device: str | None = None,
        region: str | None = None,
        lang: str = "zh-CN",
    ) -> dict[str, Any]:
        """``POST /api/v1/verify`` as a consumer's app (or, with ``key``, a trade scanner)."""
        headers = {"Accept-Language": lang}
        if device is not None:
            headers["Cookie"] = f"ts_device={device}"
        body = {"code": code} | ({} if region is None else {"region": region})
        response = self.call("POST", "/api/v1/verify", key, json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def page(self, code: str, *, device: str, lang: str = "zh-CN") -> str:
        """The consumer's result page for a code, as a phone's browser opens it."""
        response = self.call(
            "GET",
            f"/v/{code}",
            headers={
                "Accept": "text/html,application/xhtml+xml",
                "Accept-Language": lang,
                "Cookie": f"ts_device={device}",
                "User-Agent": "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36",
            },
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        return response.text

    def alerts(self, tenant: Tenant, **params: str) -> list[dict[str, Any]]:
        response = self.http.get("/api/v1/alerts", params=params, headers=tenant.auth)
        assert response.status_code == 200, response.text
        return response.json()

    def capture(
        self, tenant: Tenant, body: Any, content_type: str = "application/ld+json"
    ) -> httpx2.Response:
        data = body if isinstance(body, bytes) else dumps(body, ensure_ascii=False).encode()
        return self.call(
            "POST",
            "/epcis/capture",
            tenant.key,
            content=data,
            headers={"Content-Type": content_type},
        )

    # --- the database, where no route shows a thing ------------------------------------

    @property
    def db(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def wait_for(condition: Any, what: str, seconds: float = 30.0) -> Any:
    """Poll ``condition()`` until it is true (background work of the server); its value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.1)


@contextmanager
def database(engine: str, directory: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file in ``directory``, or a fresh schema on the
    test PostgreSQL server (dropped afterwards)."""
    if engine == "sqlite":
        yield f"sqlite:///{directory / 'traceseal.db'}"
        return
    with postgres_schema() as url:
        yield url


@contextmanager
def running(
    data_dir: Path,
    database_url: str,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[Served]:
    """``traceseal init``, then ``traceseal serve --port 0 [args]`` until the block ends."""
    cli = Cli(data_dir, database_url)
    cli.env.update(env or {})
    operator_key = cli.json("init")["operator_api_key"]
    process = subprocess.Popen(
        [sys.executable, "-m", "traceseal.cli.main", "serve", "--port", "0", *args],
        env=cli.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # uvicorn's access log
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group: stopping it also stops the capture workers it started.
        start_new_session=True,
    )
    log: list[str] = []
    started = threading.Event()
    found: dict[str, str] = {}

    def read() -> None:
        # Read stderr to its end, always: a full pipe would block the server's logging.
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            port = re.search(r"Uvicorn running on (http://\S+)", line)
            if port:
                found["url"] = port.group(1)
                started.set()
        started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    served: Served | None = None
    try:
        started.wait(START_SECONDS)
        if "url" not in found:
            pytest.fail("traceseal serve did not start:\n" + "".join(log[-40:]))
        http = httpx2.Client(base_url=found["url"], timeout=60)
        served = Served(
            found["url"],
            http,
            Tenant(0, "Operator", operator_key),
            cli,
            database_url,
            log,
            pid=process.pid,
        )
        wait_for(lambda: _healthy(http), "GET /healthz to answer 200", START_SECONDS)
        yield served
    finally:
        if served is not None:
            served.http.close()
            served.close()
        _stop(process)
        reader.join(10)
        if process.stderr is not None:
            process.stderr.close()
    # A request that failed inside the server (a 500) or background work that broke says so
    # only on stderr: no test may pass over it.
    broken = [i for i, line in enumerate(log) if line.startswith("Traceback")]
    if broken:
        pytest.fail("the served instance logged an error:\n" + "".join(log[broken[0] - 2 :]))


def _healthy(http: httpx2.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx2.TransportError:
        return False


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL for whatever of its process
    group is left (capture workers, or a server that did not stop)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    with suppress(ProcessLookupError):  # nothing was left
        os.killpg(process.pid, signal.SIGKILL)


#: A public-looking name (RFC 6761's .test) that served instances resolve to 127.0.0.1
#: through a hosts file of their own (``hosts/sitecustomize.py``); every other name goes to
#: the system's resolver.
REBINDING = "hooks.rebind.test"
HOSTS = Path(__file__).with_name("hosts")


def instance(
    tmp_path_factory: pytest.TempPathFactory,
    engine: str,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[Served]:
    """A served instance over a fresh database of ``engine``, with the hosts file."""
    directory = tmp_path_factory.mktemp("served")
    hosts = directory / "hosts"
    hosts.write_text(f"127.0.0.1 {REBINDING}\n")
    path = os.pathsep.join(p for p in (str(HOSTS), os.environ.get("PYTHONPATH", "")) if p)
    env = {"PYTHONPATH": path, "SERVED_TEST_HOSTS": str(hosts), **(env or {})}
    with database(engine, directory) as url, running(directory / "var", url, env, args) as served:
        yield served


@pytest.fixture(scope="session", params=ENGINES)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The served instance of this test process, with the production settings."""
    yield from instance(tmp_path_factory, request.param)
