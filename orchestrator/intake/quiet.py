"""Import coremltools and run it without its noise; make library errors one line.

On Linux coremltools logs a dozen "Failed to load _MLModelProxy" warnings at import (the
Core ML framework bridge only exists on macOS) and draws tqdm progress bars on stderr while it
converts. Neither helps a Pomar user, so intake silences both here, in one place.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from types import ModuleType


def coremltools() -> ModuleType:
    """The ``coremltools`` module, imported without its Linux start-up warnings."""
    logger = logging.getLogger("coremltools")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        import coremltools as ct
    finally:
        logger.setLevel(previous)
    module: ModuleType = ct
    return module


@contextlib.contextmanager
def captured_stderr() -> Iterator[io.StringIO]:
    """Swallow what coremltools and torch print on stderr (progress bars, warnings text).

    Warnings raised inside are recorded, not shown and never turned into errors: under a
    ``-W error`` policy (our test suite) a deprecation notice deep in torch.export or the
    ResourceWarning ``ct.convert`` triggers by leaving its weights ``TemporaryDirectory`` to the
    garbage collector would otherwise abort a conversion that works.
    """
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer), warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        yield buffer


def first_line(exc: BaseException) -> str:
    """``TypeName: first line of the message`` — what a one-line Pomar error can quote."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
