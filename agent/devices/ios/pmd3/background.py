"""A task on the session loop that collects items until stopped: sampling, the log stream."""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class BackgroundCollection(Generic[T]):
    """Items a background task appends to ``items``; :meth:`stop` cancels it and returns them."""

    def __init__(self, items: list[T], future: concurrent.futures.Future[None]) -> None:
        self._items = items
        self._future = future

    def stop(self) -> list[T]:
        self._future.cancel()
        try:
            self._future.result(timeout=5)
        except (concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
            pass
        except Exception as exc:  # a dead stream ends sampling, it does not fail the run
            log.info("background device stream ended: %s", exc)
        return list(self._items)
