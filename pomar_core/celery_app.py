"""All of Pomar's Celery wiring: the app factory, queue names, and the three tasks.

Tasks only decode a wire model, call a plain function the process registered (the agent's run
executor, the coordinator's result recorder), and encode the result. Only JSON crosses the
broker. Each device is served by its own app and worker with concurrency 1, prefetch 1 and late
acknowledgement, so a run is never lost when an agent dies; recording is idempotent by run id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from celery import Celery
from celery.bootsteps import CLOSE
from celery.worker import WorkController
from kombu.exceptions import KombuError

from pomar_core.errors import BrokerError
from pomar_core.wire import RunResult, RunSpec

log = logging.getLogger(__name__)

RESULTS_QUEUE = "pomar.results"
EXECUTE_RUN = "pomar.execute_run"
RUN_STARTED = "pomar.run_started"
RECORD_RESULT = "pomar.record_result"
FIRE_SCHEDULE = "pomar.fire_schedule"


def device_queue(udid: str) -> str:
    return f"pomar.device.{udid}"


def pool_queue(pool: str) -> str:
    return f"pomar.pool.{pool}"


class RunExecutor(Protocol):
    """The agent side: runs one RunSpec on the device this worker serves."""

    @property
    def device_udid(self) -> str: ...

    def admit(self, spec: RunSpec) -> bool:
        """False to drop a message without running it (superseded, cancelled, not ours)."""
        ...

    def execute(self, spec: RunSpec) -> RunResult: ...


class ScheduleFirerRole(Protocol):
    """The coordinator side of beat: submits the jobs of a due schedule."""

    def fire(self, name: str) -> list[str]: ...


class ResultRecorder(Protocol):
    """The coordinator side: records what agents report."""

    def run_started(self, run_id: str, device_udid: str, attempt: int | None = None) -> None: ...

    def record(self, result: RunResult) -> None: ...


@dataclass
class Roles:
    """What this process does; set once when a worker starts."""

    executor: RunExecutor | None = None
    recorder: ResultRecorder | None = None
    firer: ScheduleFirerRole | None = None


def make_app(broker_url: str | None, *, name: str = "pomar") -> Celery:
    """A Celery app on ``broker_url`` (Redis in a farm) or Celery's in-memory transport."""
    app = Celery(name, broker=broker_url or "memory://", set_as_current=False)
    transport_options: dict[str, Any] = {}
    if broker_url is None:
        # The in-memory transport polls; keep embedded runs snappy.
        transport_options["polling_interval"] = 0.05
    else:
        # Longer than any run's timeout, or Redis redelivers a run that is still executing.
        # A run whose agent died is not left to this: the reconciler sees its device stop
        # heartbeating and requeues it as the next attempt within seconds.
        transport_options["visibility_timeout"] = 4 * 3600
        # Job priority (0-9): kombu's Redis transport keeps one list per priority step
        # (``<queue>:<step>``) and BRPOPs them in ascending step order, so step 0 is served
        # first. Every Pomar process builds its app here, so all agree on the key names.
        transport_options.update(
            priority_steps=list(range(10)), sep=":", queue_order_strategy="priority"
        )
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        task_default_queue=RESULTS_QUEUE,
        broker_connection_retry_on_startup=True,
        # Keep retrying through a Redis restart rather than exiting: the reconciler refills
        # whatever the restart lost once Redis is back.
        broker_connection_max_retries=None,
        # A solo-pool run cannot be cancelled mid-way; it finishes and reports after reconnect.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_transport_options=transport_options,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    # shared=False: each app (one per device worker) keeps its own tasks, bound to its roles.
    roles = Roles()
    app.pomar_roles = roles

    @app.task(name=EXECUTE_RUN, bind=True, acks_late=True, shared=False)  # type: ignore[untyped-decorator]
    def execute_run(self: Any, payload: str) -> None:
        spec = RunSpec.model_validate_json(payload)
        executor = roles.executor
        if executor is None:
            raise RuntimeError("this worker has no device")  # wiring bug, not user error
        if not executor.admit(spec):
            return
        # "Started" is published while the device runs, not before: it is news for the
        # store, not a gate for the run. Joined before the result, so it never arrives last.
        started = threading.Thread(
            target=_announce_start,
            args=(app, spec, executor.device_udid),
            daemon=True,
            name=f"started-{spec.run_id}",
        )
        started.start()
        try:
            result = executor.execute(spec)
        finally:
            started.join()
        send_result(app, result)

    @app.task(name=RUN_STARTED, bind=True, shared=False)  # type: ignore[untyped-decorator]
    def run_started(self: Any, run_id: str, device_udid: str, attempt: int | None = None) -> None:
        recorder = roles.recorder
        if recorder is not None:
            recorder.run_started(run_id, device_udid, attempt)

    @app.task(name=RECORD_RESULT, bind=True, acks_late=True, shared=False)  # type: ignore[untyped-decorator]
    def record_result(self: Any, payload: str) -> None:
        recorder = roles.recorder
        if recorder is None:
            raise RuntimeError("this worker does not record results")
        recorder.record(RunResult.model_validate_json(payload))

    @app.task(name=FIRE_SCHEDULE, bind=True, shared=False)  # type: ignore[untyped-decorator]
    def fire_schedule(self: Any, name: str) -> None:
        firer = roles.firer
        if firer is not None:
            firer.fire(name)

    return app


def _announce_start(app: Celery, spec: RunSpec, device_udid: str) -> None:
    try:
        send_run_started(app, spec.run_id, device_udid, spec.attempt)
    except BrokerError as exc:
        # The run goes on and its result still lands; only "running" is not shown.
        log.warning("run %s: could not say it started: %s", spec.run_id, exc.one_line())


def roles(app: Celery) -> Roles:
    return _roles(app)


def _roles(app: Celery) -> Roles:
    found: Roles = app.pomar_roles
    return found


# Publishing retries for about a minute, so a result outlives a Redis restart.
_PUBLISH_RETRY = {"max_retries": 40, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}


DEFAULT_PRIORITY = 5
"""``JobSpec.priority`` when unset: 0 is least urgent, 9 most urgent."""


def broker_priority(priority: int) -> int:
    """Pomar's priority (9 = most urgent) as kombu's Redis priority, where *lower* numbers
    are served first (the opposite of AMQP): 9 becomes 0, 0 becomes 9."""
    return 9 - min(9, max(0, priority))


def send_run(
    app: Celery,
    spec: RunSpec,
    queue: str,
    priority: int = DEFAULT_PRIORITY,
    *,
    producer: Any = None,
) -> None:
    """Enqueue a run on a device or pool queue. Among the messages waiting on one queue,
    a higher ``priority`` (its job's, 0-9, 9 most urgent) is delivered first. ``producer``
    (from :func:`publishing`) reuses one broker connection for many messages."""
    payload = [spec.model_dump_json()]
    _send(app, EXECUTE_RUN, payload, queue, priority=broker_priority(priority), producer=producer)


@contextmanager
def publishing(app: Celery) -> Iterator[Any]:
    """One producer (and its connection) for a batch of ``send_run`` calls: a sweep's job
    sends hundreds, and acquiring a producer per message costs as much as sending it."""
    with app.producer_or_acquire() as producer:
        yield producer


def send_run_started(app: Celery, run_id: str, device_udid: str, attempt: int) -> None:
    _send(app, RUN_STARTED, [run_id, device_udid, attempt], RESULTS_QUEUE)


def send_result(app: Celery, result: RunResult) -> None:
    _send(app, RECORD_RESULT, [result.model_dump_json()], RESULTS_QUEUE)


def send_fire_schedule(app: Celery, name: str) -> None:
    """Ask the coordinator to fire a schedule now (what beat sends when one is due)."""
    _send(app, FIRE_SCHEDULE, [name], RESULTS_QUEUE)


def _send(
    app: Celery,
    task: str,
    args: list[Any],
    queue: str,
    *,
    priority: int | None = None,
    producer: Any = None,
) -> None:
    try:
        app.send_task(
            task,
            args=args,
            queue=queue,
            priority=priority,
            retry=True,
            retry_policy=_PUBLISH_RETRY,
            producer=producer,
        )
    except (OSError, KombuError) as exc:  # retries ran out
        raise BrokerError(
            f"cannot publish to the broker: {exc.__class__.__name__}",
            hint="check POMAR_BROKER_URL and that Redis is running",
        ) from exc


class _ThreadWorkController(WorkController):  # type: ignore[misc]
    """A worker that tells us when its consumer is ready."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.ready.set()

    def should_use_eventloop(self) -> bool:
        # kombu's event loop (Hub) is one per process, so several workers in one process
        # would share it: one device's long run would block the others' consumers. The
        # synchronous loop drains each worker's own connection in its own thread.
        return False


class WorkerThread:
    """A Celery worker running in a thread of this process (embedded mode, tests, agents
    serving several devices): solo pool, concurrency 1, only the given queues."""

    def __init__(self, app: Celery, queues: list[str], *, hostname: str) -> None:
        self.app = app
        self.queues = queues
        self.hostname = hostname
        self._worker: _ThreadWorkController | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        self.app.finalize()
        worker = _ThreadWorkController(
            app=self.app,
            hostname=self.hostname,
            pool="solo",
            concurrency=1,
            queues=self.queues,
            loglevel="WARNING",
            ready_callback=None,
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            optimization="fair",
        )
        self._worker = worker
        self._thread = threading.Thread(target=self._serve, name=self.hostname, daemon=True)
        self._thread.start()
        if not worker.ready.wait(timeout_s):
            raise BrokerError(
                f"the worker for {', '.join(self.queues)} did not start in {timeout_s:.0f}s",
                hint="check POMAR_BROKER_URL and that the broker is reachable",
            )

    def _serve(self) -> None:
        # The solo pool executes tasks through the thread's *current* app; make it ours, or
        # several workers in one process would all run the tasks of one app.
        self.app.set_current()
        assert self._worker is not None
        self._worker.start()

    def request_stop(self) -> None:
        """Ask the consumer loop to end after the message in hand (within ~2 s when idle)."""
        consumer = getattr(self._worker, "consumer", None)
        if consumer is not None and consumer.blueprint is not None:
            # The loop checks this between drains. Closing the connection under a running
            # loop instead (WorkController.stop from another thread) crashes it mid-drain.
            consumer.blueprint.state = CLOSE

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the message in hand, then shut the worker down and release its connection."""
        if self._worker is None or self._thread is None:
            return
        self.request_stop()
        self._thread.join(timeout_s)
        self._worker.stop(in_sighandler=False)
        self._worker = None
        self._thread = None
