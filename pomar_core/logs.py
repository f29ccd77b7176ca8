"""Process logging for the entry points: plain text, or JSON lines (``POMAR_LOG_FORMAT=json``)
carrying the job, run and device ids of the run being worked on.

The ids come from :func:`log_context` (the agent sets it around each run, the coordinator
around recording one) or from a call's ``extra={"run_id": …}``; a log call deep in a backend
needs to know neither.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

IDS = ("job_id", "run_id", "device_id")
_context: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "pomar_log_context", default=()
)
TEXT_FORMAT = "%(asctime)s %(name)s: %(message)s"


@contextlib.contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Every record logged inside carries these ids (``job_id``, ``run_id``, ``device_id``)."""
    merged = {**dict(_context.get()), **{k: v for k, v in ids.items() if v is not None}}
    token = _context.set(tuple(merged.items()))
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Stamps the :func:`log_context` ids onto each record as it is logged (so a handler that
    formats later still has them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get():
            if getattr(record, key, None) is None:
                setattr(record, key, value)
        return True


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the ids, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = dict(_context.get())
        for key in IDS:
            value = getattr(record, key, None) or context.get(key)
            if value is not None:
                entry[key] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    fmt: Literal["text", "json"], *, level: int = logging.WARNING, ours: tuple[str, ...] = ()
) -> None:
    """A root handler in ``fmt`` (like ``logging.basicConfig``: only when the process has none
    yet); ``ours`` (e.g. ``"agent"``) log at INFO, libraries at ``level``."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.addFilter(ContextFilter())
        formatter = JsonLineFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
        handler.setFormatter(formatter)
        root.addHandler(handler)
        root.setLevel(level)
    for name in ours:
        logging.getLogger(name).setLevel(logging.INFO)
