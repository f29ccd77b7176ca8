"""The ``pomar`` command line. Commands parse options, call one library function, render.

Exit codes: 0 every run passed; 1 a run failed its parity or budget check, or the model was
killed or crashed; 2 bad usage or bad input (one line, no traceback); 3 infrastructure failure.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from pomar.commands.advise import advise
from pomar.commands.agent import agent
from pomar.commands.cancel import cancel
from pomar.commands.check import check
from pomar.commands.coordinator import coordinator
from pomar.commands.devices import devices, pools
from pomar.commands.doctor import doctor
from pomar.commands.farm import farm
from pomar.commands.localise import localise
from pomar.commands.preflight import preflight
from pomar.commands.report import report
from pomar.commands.repro import export, import_
from pomar.commands.results import results
from pomar.commands.schedule import schedule
from pomar.commands.selftest import selftest
from pomar.commands.serve import serve
from pomar.commands.status import status
from pomar.commands.submit import submit
from pomar.commands.token import token
from pomar.exit_codes import EXIT_INFRA, EXIT_USAGE
from pomar_core.errors import PomarError
from pomar_core.extras import missing_extra
from pomar_core.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pomar")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Pomar: run Core ML models on real iPhones and compare with the desktop reference."""
    ctx.obj = Settings()


def _register_commands() -> None:
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
        farm,
        localise,
        advise,
        selftest,
        doctor,
        serve,
        token,
        export,
        import_,
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
        missing = missing_extra(exc) if isinstance(exc, ModuleNotFoundError) else None
        if missing is not None and not debug:  # an optional dependency: bad usage, say which
            click.echo(f"pomar: error: {missing.one_line()}", err=True)
            return missing.exit_code
        if debug:
            raise
        click.echo(
            f"pomar: internal error: {exc.__class__.__name__}: {exc} "
            "— rerun with --debug and report it with the traceback",
            err=True,
        )
        return EXIT_INFRA
    return int(code or 0)
