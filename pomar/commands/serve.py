"""``pomar serve``: the farm's front door — HTTP API and dashboard (the ``serve`` extra)."""

from __future__ import annotations

import click

from pomar_core.extras import require_extra
from pomar_core.settings import Settings

SERVE_MODULES = ("fastapi", "uvicorn", "jinja2", "multipart", "httpx")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8700, show_default=True)
@click.option(
    "--preparers",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Submissions prepared at once (preflight, conversion, reference: CPU work).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.pass_obj
def serve(settings: Settings, host: str, port: int, preparers: int, log_level: str) -> int:
    """Serve the HTTP API (/api/v1, OpenAPI at /docs) and the dashboard (/) of the farm
    POMAR_BROKER_URL and POMAR_STORE_URL name; migrates the store first.

    Submitters then need only POMAR_SERVER_URL and POMAR_TOKEN (`pomar token create`)."""
    require_extra("serve", *SERVE_MODULES)
    from orchestrator.server.serve import build_service, run_server

    service = build_service(settings, preparers=preparers)
    click.echo(
        f"pomar serve: http://{host}:{port}/ (API at /api/v1, OpenAPI schema at /openapi.json)",
        err=True,
    )
    run_server(service, host, port, log_level=log_level)
    return 0
