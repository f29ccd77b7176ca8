"""``pomar agent install-service [--dry-run] [-- AGENT_ARGS…]``: a launchd agent (macOS) or a
systemd user unit (Linux) that keeps ``pomar agent AGENT_ARGS`` running for this user."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

import click


def _pomar_program() -> Path | None:
    beside = Path(sys.executable).parent / "pomar"
    if beside.is_file():
        return beside
    found = shutil.which("pomar")
    return Path(found) if found else None


@click.command("install-service", context_settings={"ignore_unknown_options": True})
@click.option("--dry-run", is_flag=True, help="Print the file instead of writing it.")
@click.argument("agent_args", nargs=-1, type=click.UNPROCESSED)
def install_service(dry_run: bool, agent_args: tuple[str, ...]) -> int:
    """Write the service file for `pomar agent AGENT_ARGS` (e.g. `-- --ios --label lab`)."""
    from agent.service import agent_service, write_service

    service = agent_service(
        platform.system(), _pomar_program(), agent_args, os.environ, Path.home()
    )
    if dry_run:
        click.echo(f"# {service.path}")
        click.echo(service.render(), nl=False)
        return 0
    path = write_service(service)
    click.echo(f"wrote {path} (logs: {service.log_path}); start it with:")
    click.echo(f"  {service.next_steps()}")
    return 0
