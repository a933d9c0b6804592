"""``/readyz`` (may this process take traffic?) and ``/metrics`` (Prometheus), beside
``/healthz`` (is it alive?) in home/pages.py. docs/operations.md.

A load balancer or orchestrator sends traffic only while /readyz answers 200; /healthz stays
200 as long as the process answers at all, so a database outage takes instances out of
rotation instead of getting them restarted in a loop.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from traceseal.db import schema_revisions
from traceseal.errors import NotFound
from traceseal.ops.service import check_database, check_master_key
from traceseal.web.negotiation import language
from traceseal.web.problems import problem

router = APIRouter(include_in_schema=False)
log = logging.getLogger("traceseal.ops")

_WORDS = {
    "zh-CN": {
        "title": "服务尚未就绪",
        "database": "数据库无法连接：{reason}",
        "hidden": "详情见服务器日志",
        "migrations": "数据库结构版本为 {current}，程序需要 {head}：请运行 traceseal migrate",
        "master_key": "主密钥无法打开数据库中的密钥"
        "（主密钥文件或 TRACESEAL_MASTER_KEY 不是这套数据库的）",
        "detail": "以下检查未通过：{failing}",
    },
    "en": {
        "title": "Not ready",
        "database": "the database cannot be reached: {reason}",
        "hidden": "the server's log says why",
        "migrations": "the database schema is at revision {current}, this program needs {head}: "
        "run traceseal migrate",
        "master_key": "the master key does not open the keys in the database (the key file or "
        "TRACESEAL_MASTER_KEY belongs to another installation)",
        "detail": "these checks failed: {failing}",
    },
}


def _checks(request: Request, words: dict[str, str]) -> dict[str, str]:
    """Each check's failure, in the caller's language; empty when all is well."""
    state = request.app.state
    try:
        check_database(state.engine)
        current, head = schema_revisions(state.engine)
    except SQLAlchemyError as exc:
        log.exception("readyz: the database cannot be reached")
        # The driver's words name hosts, ports and users: only for whoever may read the
        # metrics. Anyone may ask /readyz (a load balancer has no token).
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        shown = reason if _allowed(request) else words["hidden"]
        return {"database": words["database"].format(reason=shown)}
    if current != head:
        return {"migrations": words["migrations"].format(current=current or "-", head=head)}
    try:
        with state.read_session_factory() as session, session.begin():
            check_master_key(session, state.keyring)
    except Exception:  # an unwrap that fails for any reason means the key is not this one's
        log.exception("readyz: the master key does not open the log's signing key")
        return {"master_key": words["master_key"]}
    return {}


@router.get("/readyz")
def readyz(request: Request) -> Response:
    """200 when the database answers, its schema is current and the master key opens it;
    otherwise 503 problem details naming each failed check under ``checks``."""
    lang = language(request)
    words = _WORDS[lang]
    failing = _checks(request, words)
    if not failing:
        return JSONResponse(
            {
                "status": "ready",
                "checks": {"database": "ok", "migrations": "ok", "master_key": "ok"},
            }
        )
    response = problem(
        503,
        words["title"],
        words["detail"].format(failing=", ".join(failing)),
        type_="/problems/not-ready",
        checks=failing,
    )
    response.headers["Content-Language"] = lang
    response.headers["Retry-After"] = "5"
    return response


def _allowed(request: Request) -> bool:
    settings = request.app.state.settings
    token = settings.metrics_token
    given = request.headers.get("authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    networks: Any = settings.resolved_metrics_networks
    return any(address in network for network in networks)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format, to a scraper from TRACESEAL_METRICS_NETWORKS or with the
    bearer TRACESEAL_METRICS_TOKEN; anyone else is answered as if there were no such page."""
    if not _allowed(request):
        raise NotFound("no such page")
    body, media_type = request.app.state.metrics.exposition(request.headers.get("accept", ""))
    return Response(body, media_type=media_type)
