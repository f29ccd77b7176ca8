"""``pomar localise RUN``: which op the failing device got wrong."""

from __future__ import annotations

import click

from pomar.exit_codes import EXIT_FAILED, EXIT_INFRA, EXIT_OK
from pomar_core.settings import Settings
from pomar_core.wire import Localisation, LocalisationStatus

_EXIT = {LocalisationStatus.BUDGET_EXHAUSTED: EXIT_FAILED, LocalisationStatus.ERROR: EXIT_INFRA}


@click.command()
@click.argument("run_id")
@click.option("--cancel", "action", flag_value="cancel", help="Stop the localisation under way.")
@click.option("--show", "action", flag_value="show", help="Print the localisation as it stands.")
@click.option(
    "--max-runs",
    type=click.IntRange(min=1),
    default=None,
    help="Device runs it may spend (default POMAR_LOCALISE_MAX_RUNS, 12).",
)
@click.option("--no-wait", is_flag=True, help="On a farm: start it and return.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=3600.0)
@click.option("--json", "as_json", is_flag=True, help="Print the localisation as JSON.")
@click.pass_obj
def localise(
    settings: Settings,
    run_id: str,
    action: str | None,
    max_runs: int | None,
    no_wait: bool,
    timeout_s: float,
    as_json: bool,
) -> int:
    """Re-run a parity failure on its device and compute unit with intermediate tensors exposed,
    and bisect the program to the first op whose output diverges beyond its FP16 noise.

    Exit 0 when it concluded (found, precision loss only, or cancelled), 1 when the run budget
    ran out first, 2 for a run that cannot be localised, 3 when a probe run failed."""
    from pomar.localise_run import LocaliseRequest
    from pomar.localise_run import localise as run_localise

    request = LocaliseRequest(
        run_id=run_id,
        action=action or "start",
        max_runs=max_runs,
        wait=not no_wait,
        timeout_s=timeout_s,
    )
    loc = run_localise(settings, request)
    click.echo(loc.model_dump_json(indent=2) if as_json else describe(loc))
    return _EXIT.get(loc.status, EXIT_OK)


def describe(loc: Localisation) -> str:
    """The report sentence, then one line per device run."""
    from orchestrator.reports.localised import localisation_sentence

    lines = [f"run {loc.run_id}: {localisation_sentence(loc)}"]
    for n, probe in enumerate(loc.probes, 1):
        what = "inside of a fused group" if probe.split else f"cut after op {probe.position}"
        verdict = {None: "running", True: "diverged", False: "clean"}[probe.diverged]
        lines.append(
            f"  run {n}: {what}, {len(probe.exposed)} tensor(s) exposed → {verdict} "
            f"(job {probe.job_id})"
        )
    if loc.status is LocalisationStatus.FOUND or loc.detail not in lines[0]:
        lines.append(f"  {loc.detail}")
    return "\n".join(lines)
