"""The Prometheus registry of one application: what this process counts, and what the
database holds, read when a scrape comes (service.figures).

Each application has a registry of its own (not prometheus_client's global one), so tests
that build many applications in one process never see each other's figures. Request and
verdict figures are this process's since it started; queue, outbox and log figures are the
platform's (docs/operations.md says how to scrape several server processes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from traceseal.db import utcnow
from traceseal.ops.service import Figures, figures
from traceseal.web.metrics import request_histogram

__all__ = ["Metrics"]

log = logging.getLogger("traceseal.ops")


class Metrics:
    def __init__(self, read_factory: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = request_histogram(self.registry)
        self.verdicts = Counter(
            "traceseal_verifications",
            "Verification answers given, by channel and verdict (this process, since start).",
            ("channel", "verdict"),
            registry=self.registry,
        )
        self._verdict_children: dict[tuple[str, str], Any] = {}
        self.registry.register(_Database(lambda: _read(read_factory)))

    def verdict(self, channel: str, verdict: str) -> None:
        """Count one verification answer (called by verify.channel.Verifier after commit)."""
        key = (channel, verdict)
        child = self._verdict_children.get(key)
        if child is None:
            child = self._verdict_children[key] = self.verdicts.labels(channel, verdict)
        child.inc()

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """Everything in the registry, in the format ``accept`` asks for (Prometheus text or
        OpenMetrics, as prometheus_client negotiates it), and its media type."""
        encoder, media_type = choose_encoder(accept)
        return encoder(self.registry), media_type


def _read(factory: sessionmaker[Session]) -> Figures:
    with factory() as session, session.begin():
        return figures(session, utcnow())


class _Database(Collector):
    """Figures read from the tables at each scrape; ``traceseal_database_up`` 0 (and none
    of the others) when the database does not answer, so a scrape never fails for it."""

    def __init__(self, read: Callable[[], Figures]) -> None:
        self._read = read

    def describe(self) -> list[Metric]:
        # Described as nothing: otherwise registering would run a scrape's queries.
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("traceseal_database_up", "1 if the database answered the scrape.")
        try:
            found = self._read()
        except Exception:  # any failure of the database is what this figure reports
            log.exception("metrics: the database did not answer")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _families(found)


def _families(found: Figures) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "traceseal_queue_depth",
        "Rows waiting in a background queue, by state.",
        labels=["queue", "state"],
    )
    oldest = GaugeMetricFamily(
        "traceseal_queue_oldest_age_seconds",
        "Age of the oldest waiting row of a queue (0 when it is empty).",
        labels=["queue"],
    )
    failed = GaugeMetricFamily(
        "traceseal_outbox_failed",
        "Outbox rows given up on after their last attempt.",
        labels=["queue"],
    )
    retrying = GaugeMetricFamily(
        "traceseal_outbox_retrying",
        "Outbox rows still pending after at least one failed attempt.",
        labels=["queue"],
    )
    for queue in found.queues:
        for state, count in queue.depth.items():
            depth.add_metric([queue.name, state], count)
        oldest.add_metric([queue.name], queue.oldest_seconds)
        if queue.failed is not None:
            failed.add_metric([queue.name], queue.failed)
        if queue.retrying is not None:
            retrying.add_metric([queue.name], queue.retrying)
    yield from (depth, oldest, failed, retrying)
    yield GaugeMetricFamily(
        "traceseal_ledger_size", "Leaves in the transparency log.", value=found.ledger_size
    )
    yield GaugeMetricFamily(
        "traceseal_ledger_checkpoint_size",
        "Size of the newest signed checkpoint (0 before the first).",
        value=found.checkpoint_size,
    )
    if found.checkpoint_age is not None:
        yield GaugeMetricFamily(
            "traceseal_ledger_checkpoint_age_seconds",
            "Seconds since the newest checkpoint was signed.",
            value=found.checkpoint_age,
        )
