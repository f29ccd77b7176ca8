"""Reading and waiting for a run's localisation (the CLI; tests)."""

from __future__ import annotations

import time

from orchestrator.store import JobStore
from pomar_core.errors import RunTimeoutError, UsageError
from pomar_core.wire import Localisation


def current_localisation(store: JobStore, run_id: str) -> Localisation | None:
    """The localisation attached to ``run_id``, if any."""
    record = store.get_run(run_id)
    return record.result.localisation if record is not None and record.result else None


def wait_for_localisation(
    store: JobStore, run_id: str, *, timeout_s: float, poll_s: float = 0.2
) -> Localisation:
    """Poll until the localisation of ``run_id`` finished; ``RunTimeoutError`` after
    ``timeout_s`` (the localisation goes on: ``pomar localise RUN --show`` later)."""
    deadline = time.monotonic() + timeout_s
    while True:
        loc = current_localisation(store, run_id)
        if loc is None:
            raise UsageError(f"run {run_id} is not being localised")
        if loc.status.finished:
            return loc
        if time.monotonic() > deadline:
            raise RunTimeoutError(
                f"the localisation of {run_id} did not finish within {timeout_s:.0f}s "
                f"({loc.device_runs} device runs so far)",
                hint=f"see `pomar localise {run_id} --show` later, or raise --timeout",
            )
        time.sleep(poll_s)
