"""The embedded farm: the coordinator and one worker per device, as threads of this process,
on Celery's in-memory transport. The same tasks as a real farm; only the transport differs."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from celery import Celery

from orchestrator.coordinator import Coordinator
from orchestrator.store import JobStore
from pomar_core.artifacts import ArtifactStore
from pomar_core.celery_app import (
    RESULTS_QUEUE,
    RunExecutor,
    WorkerThread,
    device_queue,
    make_app,
    roles,
)


class EmbeddedFarm:
    """Context manager running a coordinator and device workers in threads."""

    def __init__(
        self,
        store: JobStore,
        artifacts: ArtifactStore,
        executors: Sequence[RunExecutor],
        *,
        broker_url: str | None = None,
    ) -> None:
        self.broker_url = broker_url
        self.app = make_app(broker_url, name="pomar-coordinator")
        self.coordinator = Coordinator(store, artifacts, self.app)
        roles(self.app).recorder = self.coordinator
        self._workers: list[WorkerThread] = [
            WorkerThread(self.app, [RESULTS_QUEUE], hostname="coordinator@embedded")
        ]
        for executor in executors:
            app = make_app(broker_url, name=f"pomar-{executor.device_udid}")
            roles(app).executor = executor
            queue = device_queue(executor.device_udid)
            self._workers.append(
                WorkerThread(app, [queue], hostname=f"{executor.device_udid}@embedded")
            )

    def __enter__(self) -> EmbeddedFarm:
        if self.broker_url is None:
            # The in-memory transport's queues are process-global: drop leftovers of an
            # earlier farm in this process so they cannot be consumed by this one.
            for worker in self._workers:
                _purge(worker.app, worker.queues)
        started: list[WorkerThread] = []
        try:
            for worker in self._workers:
                worker.start()
                started.append(worker)
        except BaseException:
            for worker in reversed(started):
                worker.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for worker in self._workers:
            worker.request_stop()  # all at once: each idle loop takes up to 2 s to notice
        for worker in reversed(self._workers):
            worker.stop()


def _purge(app: Celery, queues: list[str]) -> None:
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in queues:
            channel.queue_declare(queue=queue, durable=True, auto_delete=False)
            channel.queue_purge(queue)
