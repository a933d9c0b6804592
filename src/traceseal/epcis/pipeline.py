"""Large captures on every core: worker processes prepare chunks while the writer stores.

Preparing an event (validation, the CBV 2.0 hash, index rows) is pure Python and takes
about twice as long as storing it. For a large document, chunks of events go to a pool of
worker processes; the request's thread opens the write transaction and stores each chunk as
soon as it and every chunk before it are ready, so preparing and storing overlap. It is still
one transaction: if a later chunk is refused, everything is rolled back and the refusal names
the first offending event of the whole document (chunks are checked in document order, and
each chunk reports its own first offence).

Small documents are prepared in the request's thread: handing them to a worker would cost
more than it saves.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from traceseal.db import unit_of_work
from traceseal.epcis.capture import (
    Capture,
    Chunk,
    Plan,
    job_context,
    plan,
    prepare_events,
    require_capturer,
)
from traceseal.epcis.errors import EPCISException, ValidationException
from traceseal.epcis.hashing import document_context
from traceseal.epcis.lifeline import bind_to
from traceseal.epcis.models import CaptureJob
from traceseal.epcis.validation import validate_events
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.epcis.writer import Writer, store
from traceseal.epcis.xmlsplit import Piece, XmlDocument, convert_fragment
from traceseal.orgs.models import Organization

#: Most events per chunk handed to a worker. Chunks are smaller for smaller documents
#: (chunk_size): the writer starts once the first chunk is ready and finishes alone after
#: the last, so neither should be long; and each chunk costs a round trip.
CHUNK_EVENTS = 2_000
MIN_CHUNK_EVENTS = 250
#: Documents below this are prepared in the calling thread.
PARALLEL_FROM = 2 * MIN_CHUNK_EVENTS
#: How much less CPU a worker gets than the request threads when both want it. The writer
#: is the one thread that cannot be spread over cores, so it should not wait for a core.
WORKER_NICENESS = 5


class Workers:
    """A lazily started pool of worker processes, one per core, shared by an app.

    The pool starts on the first large capture (a worker imports the package once, about a
    second) and lives until :meth:`close`, or until the server process dies, however it dies
    (lifeline.py). Workers are started with ``forkserver``: forking the threaded server
    process itself is not safe.
    """

    def __init__(self, processes: int | None = None) -> None:
        self._processes = processes or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context(
                    "forkserver"
                    if "forkserver" in multiprocessing.get_all_start_methods()
                    else "spawn"
                )
                self._pool = ProcessPoolExecutor(
                    self._processes,
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(os.getpid(),),
                )
            return self._pool

    @property
    def processes(self) -> int:
        return self._processes

    def warm(self) -> None:
        """Start every worker and have it import and compile what it needs, before the first
        capture. The pool starts processes as tasks come, and a quick task can run twice in
        one process, so rounds of tasks go out until every process has answered."""
        pool = self.pool()
        answered: set[int] = set()
        for _ in range(20):
            futures = [pool.submit(_ready) for _ in range(self._processes)]
            answered.update(future.result() for future in futures)
            if len(answered) >= self._processes:
                return

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def chunk_size(event_count: int, processes: int) -> int:
    """Events per chunk: about eight chunks per worker, within the bounds above.

    Eight rather than four: the writer waits for the first chunk and stores the last one
    alone, and halving them gained 10-15 % on 10,000-event XML documents (docs/benchmarks.md).
    """
    wanted = -(-event_count // (8 * processes))
    return max(MIN_CHUNK_EVENTS, min(CHUNK_EVENTS, wanted))


def _start_worker(server: int) -> None:
    """Each worker's first act: yield CPU to the server's threads, and live no longer than
    the server (lifeline.py: a killed server must not leave its workers running)."""
    os.nice(WORKER_NICENESS)
    bind_to(server)


_paused = 0
_pause_lock = threading.Lock()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a large capture runs.

    A capture allocates millions of small objects (a document's parsed events, the chunks
    coming back from the workers); each few hundred allocations let the collector run, and
    its full passes walk every object alive, the document included. Measured on a
    10,000-event document, that was a fifth of the writer's time and delayed the first
    chunk's arrival by 0.1 s. Nothing a capture makes is cyclic garbage that needs the
    collector: reference counting frees it. Process-wide, so counted: the collector comes
    back when the last capture under way ends.
    """
    global _paused
    with _pause_lock:
        _paused += 1
        if _paused == 1:
            gc.disable()
    try:
        yield
    finally:
        with _pause_lock:
            _paused -= 1
            if _paused == 0:
                gc.enable()


def _ready() -> int:
    # Unpickling this function in a worker imports this module, and with it capture.py,
    # validation, hashing and the schemas' loaders. The schemas are compiled on first use
    # (the JSON Schema takes about 0.1 s): use them once, here rather than in a capture.
    event = (
        "<ObjectEvent><eventTime>2024-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00"
        "</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:0614141.812345.1</epc>"
        "</epcList><action>OBSERVE</action></ObjectEvent>"
    )
    fragment = f"<EventList>{event}</EventList>".encode()
    events, _ = convert_fragment(fragment, 2, 1)
    convert_fragment(fragment, 1, 1)  # the same event as EPCIS 1.2 writes it
    validate_events(events, context=[CONTEXT_URL], schema=True)
    # What the worker has imported and compiled lives as long as it does: the collector
    # need not walk it again after each chunk.
    gc.freeze()
    # Long enough that the other tasks of the round go to the other processes.
    time.sleep(0.05)
    return os.getpid()


def capture(
    factory: sessionmaker[Session],
    org: Organization,
    document: dict[str, Any] | XmlDocument,
    *,
    source_format: str,
    max_events: int,
    now: datetime,
    workers: Workers | None = None,
) -> CaptureJob:
    """Validate, prepare and store ``document`` in one unit of work; return its job.

    ``document`` is what capture.read_body returned: the JSON-LD document, or an XML
    document whose events are still XML.
    """
    require_capturer(org)
    with collection_paused():
        # Workers put times in the form this engine's driver takes.
        dialect = factory.kw["bind"].dialect.name
        if isinstance(document, XmlDocument):
            if workers is not None:
                request = _Request(factory, org, source_format, max_events, now, dialect, workers)
                try:
                    if document.estimated_events() >= PARALLEL_FROM:
                        return _capture_xml(request, document)
                except _Reconvert:
                    pass  # converted here instead, which names the problem's place, if any
            document = document.convert()
        ready_plan, events = plan(
            document, source_format=source_format, max_events=max_events, now=now, dialect=dialect
        )
        if workers is None or len(events) < PARALLEL_FROM:
            prepared = prepare_events(ready_plan, events, 0)
            with unit_of_work(factory) as session:
                return store(session, org, Capture(ready_plan, prepared))
        # Events travel to the workers as JSON: orjson writes and reads it several times faster
        # than pickle handles the same dicts, and the writing happens in this, the writer's,
        # process.
        size = chunk_size(len(events), workers.processes)
        pool = workers.pool()
        futures = [
            pool.submit(
                _prepare_serialized, ready_plan, orjson.dumps(events[start : start + size]), start
            )
            for start in range(0, len(events), size)
        ]
        return _store_chunks(factory, org, ready_plan, len(events), futures)


@dataclass(frozen=True, slots=True)
class _Request:
    """What the capture of an XML document in pieces needs besides the document."""

    factory: sessionmaker[Session]
    org: Organization
    source_format: str
    max_events: int
    now: datetime
    dialect: str
    workers: Workers

    def plan(self, document: dict[str, Any]) -> Plan:
        return plan(
            document,
            source_format=self.source_format,
            max_events=self.max_events,
            now=self.now,
            dialect=self.dialect,
        )[0]


def _capture_xml(request: _Request, document: XmlDocument) -> CaptureJob:
    """A large XML document: each chunk of events goes to a worker as soon as it is parsed
    (xmlsplit.py); the rest of the document is checked once it has all been read.

    The workers start from no prefixes (the rest of the document is converted last) and
    from a plan for a document with the standard context only; the document's own members
    are checked against the plan's rules once read. Every refusal is left to converting the
    document whole (_Reconvert).
    """
    size = chunk_size(document.estimated_events(), request.workers.processes)
    stream = document.stream(size, request.max_events)
    ready_plan = request.plan(
        {
            "@context": [CONTEXT_URL],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": request.now.isoformat(),
            "epcisBody": {"eventList": []},
        }
    )
    pool = request.workers.pool()
    futures: list[Future[Chunk]] = []
    try:
        for piece in stream:
            futures.append(pool.submit(_prepare_fragment, ready_plan, stream.version, piece))
        shell, namespaces = stream.shell()
        request.plan(shell)  # the checks of the document's own members
    except EPCISException:
        for future in futures:
            future.cancel()
        raise _Reconvert from None
    if not futures:
        raise _Reconvert  # no events: nothing to gain
    return _store_chunks(
        request.factory, request.org, ready_plan, stream.count, futures, namespaces
    )


def _store_chunks(
    factory: sessionmaker[Session],
    org: Organization,
    ready_plan: Plan,
    event_count: int,
    futures: list[Future[Chunk]],
    namespaces: dict[str, str] | None = None,
) -> CaptureJob:
    """Store the chunks the workers make, in document order, in one transaction.

    For XML converted in the workers, ``namespaces`` are the prefixes the rest of the
    document uses; each chunk brings the prefixes its events' extensions use, and the job's
    context gets them all. Two chunks giving one prefix to different namespaces, or one
    namespace to different prefixes, undo the whole attempt (_Reconvert).
    """
    merged = dict(namespaces or {})
    try:
        # The first chunk is awaited before the write transaction opens, so the write lock
        # is not held while the workers start up.
        first = futures[0].result()
        with unit_of_work(factory) as session:
            writer = Writer(session, org, ready_plan, event_count)
            for future in futures:
                chunk = first if future is futures[0] else future.result()
                if chunk.namespaces is not None:
                    _merge(merged, chunk.namespaces)
                writer.add(chunk)
            if namespaces is not None:
                writer.job.context = job_context([CONTEXT_URL, merged])
            return writer.finish()
    finally:
        for future in futures:
            future.cancel()


def _merge(into: dict[str, str], namespaces: dict[str, str]) -> None:
    for prefix, namespace in namespaces.items():
        if into.setdefault(prefix, namespace) != namespace:
            raise _Reconvert
    if len(set(into.values())) != len(into):
        raise _Reconvert  # one namespace under two prefixes


class _Reconvert(Exception):
    """Converting XML in chunks did not give what converting it whole gives: do that."""


def _prepare_serialized(ready_plan: Plan, events: bytes, start: int) -> Chunk:
    with collection_paused():
        return prepare_events(ready_plan, orjson.loads(events), start)


def _prepare_fragment(ready_plan: Plan, version: int, piece: Piece) -> Chunk:
    # Any refusal sends the document back to be converted whole: the XSD, which runs before
    # the rules, may have something to say about an earlier event in another chunk.
    with collection_paused():
        try:
            events, found = convert_fragment(piece.xml, version, piece.count)
            if found:
                raw_context = [CONTEXT_URL, found]
                ready_plan = replace(
                    ready_plan,
                    raw_context=raw_context,
                    context=document_context({"@context": raw_context}),
                )
            chunk = prepare_events(ready_plan, events, piece.start)
        except ValidationException:
            raise _Reconvert from None
    chunk.namespaces = found
    return chunk
