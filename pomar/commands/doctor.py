"""``pomar doctor``: check this host end to end, each failure with its fix."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pomar.exit_codes import EXIT_INFRA, EXIT_OK
from pomar.options import IPA_OPTION
from pomar_core.health import HealthStatus
from pomar_core.settings import Settings


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of lines.")
@IPA_OPTION
@click.pass_obj
def doctor(settings: Settings, as_json: bool, ipa: Path | None) -> int:
    """Broker, store, artifacts, agents; on a Mac also Xcode, harness app, tunnel daemon."""
    from agent.host_checks import host_checks
    from orchestrator.doctor import farm_checks

    checks = [*farm_checks(settings), *host_checks(ipa)]
    ok = all(c.status is not HealthStatus.FAILED for c in checks)
    if as_json:
        document = {"ok": ok, "checks": [c.model_dump(mode="json") for c in checks]}
        click.echo(json.dumps(document, indent=2))
    else:
        for check in checks:
            click.echo(check.line())
        failures = sum(c.status is HealthStatus.FAILED for c in checks)
        click.echo("all checks passed" if ok else f"{failures} check(s) failed")
    return EXIT_OK if ok else EXIT_INFRA
