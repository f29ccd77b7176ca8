"""The arrays the HTML report draws its histograms from, read from the artifact store."""

from __future__ import annotations

from collections.abc import Callable

from pomar_core.arrays import Arrays
from pomar_core.artifacts import ArtifactStore, load_array, load_arrays
from pomar_core.errors import PomarError
from pomar_core.wire import Reference, RunResult

ArrayLoader = Callable[[RunResult], tuple[Arrays, Arrays]]
"""Given a run, its (reference outputs, actual outputs); memory-mapped arrays are fine."""


def stored_arrays(artifacts: ArtifactStore, reference: Reference) -> ArrayLoader:
    """A run's arrays from ``artifacts``, the reference read once.

    A run whose arrays are gone (pruned, or on another machine's disk) gets empty mappings: the
    report then shows the worst element recorded in the result instead of a histogram.
    """
    cached: Arrays | None = None

    def load(result: RunResult) -> tuple[Arrays, Arrays]:
        nonlocal cached
        try:
            if cached is None:
                cached = dict(load_arrays(artifacts, reference.sha256))
            actual = {o.name: load_array(artifacts, o.sha256) for o in result.outputs}
        except PomarError:
            return {}, {}
        return cached, actual

    return load
