"""The ASGI application: the API under ``/api/v1``, the dashboard at ``/``, one process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI

from orchestrator.server import handlers
from orchestrator.server.api import router
from orchestrator.server.auth import NotLoggedIn
from orchestrator.server.dashboard import not_logged_in, pages
from orchestrator.server.service import FarmService


def _version() -> str:
    try:
        return metadata.version("pomar")
    except metadata.PackageNotFoundError:
        return "0"


def create_app(service: FarmService) -> FastAPI:
    """The server of ``service``'s farm; the service is started and stopped with it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="Pomar",
        version=_version(),
        summary="The front door of a Pomar device farm: submit Core ML jobs, follow them, "
        "read their results.",
        lifespan=lifespan,
    )
    app.state.service = service
    handlers.install(app)
    app.add_exception_handler(NotLoggedIn, not_logged_in)  # type: ignore[arg-type]
    app.include_router(router)
    app.include_router(pages)
    return app
