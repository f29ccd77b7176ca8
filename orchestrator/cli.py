"""The ``pomar`` command line. Commands parse options, call one library function, render.

Exit codes: 0 every run passed; 1 a run failed its parity or budget check, or the model was
killed or crashed; 2 bad usage or bad input (one line, no traceback); 3 infrastructure failure.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from orchestrator.errors import PomarError, UsageError
from orchestrator.settings import Settings
from orchestrator.wire import ComputeUnit, RunResult, RunStatus

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3


def exit_code_for(results: Sequence[RunResult]) -> int:
    """Infrastructure failures first (the answer is incomplete), then bad input, then model
    failures."""
    statuses = {r.status for r in results}
    if statuses & {RunStatus.DEVICE_LOST, RunStatus.TIMEOUT, RunStatus.CANCELLED}:
        return EXIT_INFRA
    if RunStatus.ERROR in statuses:
        return EXIT_USAGE
    failed = {
        RunStatus.PARITY_FAILED,
        RunStatus.BUDGET_FAILED,
        RunStatus.OOM_KILLED,
        RunStatus.CRASHED,
    }
    if statuses & failed:
        return EXIT_FAILED
    return EXIT_OK


def parse_compute_units(text: str) -> tuple[ComputeUnit, ...]:
    units: list[ComputeUnit] = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        try:
            unit = ComputeUnit(part)
        except ValueError:
            choices = ",".join(u.value for u in ComputeUnit)
            raise UsageError(
                f"unknown compute unit '{part}'", hint=f"use a comma-separated list of {choices}"
            ) from None
        if unit not in units:
            units.append(unit)
    if not units:
        raise UsageError("no compute units given", hint="e.g. --compute-units cpu,ane")
    return tuple(units)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pomar")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Pomar: run Core ML models on real iPhones and compare with the desktop reference."""
    ctx.obj = Settings()


def _register_commands() -> None:
    from orchestrator.commands.agent import agent
    from orchestrator.commands.cancel import cancel
    from orchestrator.commands.check import check
    from orchestrator.commands.coordinator import coordinator
    from orchestrator.commands.devices import devices, pools
    from orchestrator.commands.preflight import preflight
    from orchestrator.commands.report import report
    from orchestrator.commands.results import results
    from orchestrator.commands.schedule import schedule
    from orchestrator.commands.status import status
    from orchestrator.commands.submit import submit

    for command in (
        check,
        preflight,
        report,
        submit,
        status,
        results,
        cancel,
        devices,
        pools,
        agent,
        coordinator,
        schedule,
    ):
        cli.add_command(command)


_register_commands()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pomar`` console script."""
    debug = bool(argv is None and "--debug" in sys.argv)
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:
        debug = True
        args.remove("--debug")
    try:
        code = cli.main(args=args, prog_name="pomar", standalone_mode=False)
    except PomarError as exc:
        if debug:
            raise
        click.echo(f"pomar: error: {exc.one_line()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("pomar: aborted", err=True)
        return EXIT_INFRA
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("pomar: interrupted", err=True)
        return 130
    except Exception as exc:
        if debug:
            raise
        click.echo(
            f"pomar: internal error: {exc.__class__.__name__}: {exc} "
            "— rerun with --debug and report it with the traceback",
            err=True,
        )
        return EXIT_INFRA
    return int(code or 0)
