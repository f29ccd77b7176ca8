"""The progress display of a long command: a spinner with the stage, then a bar over runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich import progress as bars
from rich.console import Console

from orchestrator.check_job import OnUpdate, Progress
from orchestrator.store import RunRecord
from pomar_core.wire import RunStatus


@contextmanager
def run_progress(console: Console, *, quiet: bool) -> Iterator[tuple[Progress, OnUpdate]]:
    """Yield (stage, update): ``stage(text)`` names what is being done, ``update(records)``
    counts finished and active runs. Transient: nothing is left on screen."""
    with bars.Progress(
        bars.SpinnerColumn(),
        bars.TextColumn("{task.description}"),
        bars.BarColumn(),
        bars.TextColumn("{task.completed}/{task.total}"),
        bars.TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def stage(description: str) -> None:
            bar.update(task, description=description)

        def update(records: list[RunRecord]) -> None:
            done = sum(1 for r in records if r.status.finished)
            running = sum(1 for r in records if r.status is RunStatus.RUNNING)
            bar.update(
                task, total=len(records), completed=done, description=f"running ({running} active)"
            )

        yield stage, update
