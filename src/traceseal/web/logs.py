"""How ``traceseal serve`` logs: every line on stderr, as one JSON object (the default) or as
text, each carrying the request id of the request it was written for (web/requestid.py).

JSON lines are what log shippers (journald with a JSON parser, Docker's log drivers, Vector,
Loki's promtail) read without a pattern per program; python-json-logger does the encoding.
"""

from __future__ import annotations

from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS

__all__ = ["log_config"]

_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
_TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_config(format_: str) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` mapping for uvicorn's ``log_config``: the
    application's loggers, uvicorn's and its access log, through one handler."""
    if format_ == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": _JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "json_ensure_ascii": False,
            # uvicorn adds the message again with terminal colour codes: not for a log file.
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        }
    else:
        formatter = {"format": _TEXT}
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "main",
        "filters": ["request_id"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "traceseal.web.requestid.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "root": {"handlers": ["main"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": ["main"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["main"], "level": "INFO", "propagate": False},
        },
    }
