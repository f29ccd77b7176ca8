"""The coordinator's metrics: queue depth per queue and priority (read from the broker at each
scrape), and every recorded run's status and duration (``pomar_core.metrics``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator.farm_view import queue_depths
from pomar_core import metrics
from pomar_core.wire import JobSpec, RunResult


class QueueCollector:
    """``pomar_queue_depth{queue,priority}``: messages waiting in the broker."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def collect(self) -> Iterator[Any]:
        rows = [([q.queue, str(q.priority)], float(q.depth)) for q in queue_depths(self.redis)]
        yield metrics.gauge_family(
            "pomar_queue_depth", "Runs waiting in the broker", ["queue", "priority"], rows
        )


def observe_recorded(result: RunResult, job: JobSpec) -> None:
    """A ``Coordinator.on_recorded`` listener: count the run and time it."""
    metrics.record_run(result.status.value, result.started_at, result.finished_at)
