"""The ``pomar serve`` process: the farm connection from settings, the service, uvicorn."""

from __future__ import annotations

import logging
import re

from orchestrator.farm import connect
from orchestrator.server.service import FarmService
from orchestrator.server.submissions import SubmissionStore
from orchestrator.server.tables import engine_of
from orchestrator.server.tokens import TokenStore
from pomar_core.settings import Settings

_TOKEN = re.compile(r"pomar_[0-9a-f]{12}_[A-Za-z0-9_-]+")


class RedactTokens(logging.Filter):
    """Belt and braces (tokens never travel in URLs): a log line holding something shaped
    like a token has it replaced by ``pomar_…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if _TOKEN.search(text):
            record.msg, record.args = _TOKEN.sub("pomar_…", text), None
        return True


def build_service(settings: Settings, *, migrate: bool = True, preparers: int = 1) -> FarmService:
    """The service of the farm ``settings`` name (POMAR_BROKER_URL and POMAR_STORE_URL)."""
    farm = connect(settings, migrate=migrate)
    engine = engine_of(farm.store)
    return FarmService(
        store=farm.store,
        artifacts=farm.artifacts,
        coordinator=farm.coordinator,
        liveness=farm.liveness,
        tokens=TokenStore(engine),
        submissions=SubmissionStore(engine),
        cache_dir=settings.data_dir / "cache",
        upload_limit=int(settings.upload_limit_mb * 2**20),
        preparers=preparers,
    )


def run_server(service: FarmService, host: str, port: int, *, log_level: str = "info") -> None:
    """Serve until interrupted (SIGINT/SIGTERM stop uvicorn gracefully)."""
    import uvicorn

    from orchestrator.server.app import create_app

    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())
    uvicorn.run(create_app(service), host=host, port=port, log_level=log_level, proxy_headers=True)
