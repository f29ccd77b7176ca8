"""The agent process: one Celery worker per device, heartbeats, leases, and discovery.

Every device gets its own worker (concurrency 1, prefetch 1, late ack) on its device queue and
its pools' queues, so pool runs spread over the pool's devices and one device runs one run at a
time. A lease in Redis makes sure no other agent drives the same device. Devices that appear
or vanish start or stop their own worker only; the others carry on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.device import Device
from agent.discovery import DeviceSource, LabelledDevice
from agent.executor import DeviceRunExecutor
from pomar_core.artifacts import ArtifactStore
from pomar_core.celery_app import WorkerThread, device_queue, make_app, pool_queue, roles
from pomar_core.errors import InfrastructureError, PomarError
from pomar_core.leases import RUN_CANCELLED, RUN_DONE, Liveness
from pomar_core.wire import DeviceState, Heartbeat, RunResult, RunSpec, device_pools

log = logging.getLogger(__name__)

RETURNED = "returned"
"""Run flag an agent writes when it hands a message back: the reconciler enqueues it again."""


@dataclass(frozen=True)
class AgentConfig:
    broker_url: str
    name: str
    labels: tuple[str, ...] = ()
    heartbeat_s: float = 2.0
    ttl_s: float = 6.0
    """A device silent this long is lost; keep it a few heartbeats long."""
    discover_s: float = 5.0
    cooldown_s: float = 0.0
    """Seconds a device rests between runs (it cools, so back-to-back runs time alike)."""


def default_agent_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


class ServedDevice:
    """The run executor of one device's worker: admits, runs, and keeps the heartbeat honest."""

    sleep = staticmethod(time.sleep)
    """How the cool-down rests (a test replaces it)."""

    def __init__(
        self, device: Device, executor: DeviceRunExecutor, liveness: Liveness, config: AgentConfig
    ) -> None:
        self.device = device
        self.executor = executor
        self.liveness = liveness
        self.config = config
        self._lock = threading.Lock()
        self._state = DeviceState.IDLE
        self._run_id: str | None = None
        self._last_run_id: str | None = None
        self._retired = False
        self._cancel: threading.Event | None = None
        self._rested_at = 0.0
        """``time.monotonic()`` when the device may start its next run (cool-down)."""

    def retire(self) -> None:
        """The device left: never heartbeat it again, even when its last run returns."""
        with self._lock:
            self._retired = True

    @property
    def device_udid(self) -> str:
        return self.device.info.udid

    def admit(self, spec: RunSpec) -> bool:
        if not self.executor.admit(spec):
            return False
        try:
            leased, flag = self.liveness.check_in(
                self.device_udid, self.config.name, self.config.ttl_s, spec.run_id
            )
        except InfrastructureError as exc:
            # Redis is down but the broker gave us the message: run it; the store decides.
            log.warning("run %s admitted without checks: %s", spec.run_id, exc.one_line())
            return True
        if flag in (RUN_DONE, RUN_CANCELLED):
            log.info("run %s dropped: %s", spec.run_id, flag)
            return False
        if flag is not None and flag.isdigit() and int(flag) != spec.attempt:
            log.info(
                "run %s attempt %d dropped: attempt %s is current", spec.run_id, spec.attempt, flag
            )
            return False
        if not leased:
            log.warning("run %s handed back: another agent holds %s", spec.run_id, self.device_udid)
            self.liveness.set_run(spec.run_id, RETURNED)
            return False
        self._cool_down()
        return True

    def _cool_down(self) -> None:
        # The message is reserved by this worker (prefetch 1), so resting here delays only
        # this device; the run is not yet started, so its timings start cool.
        rest = self._rested_at - time.monotonic()
        if rest > 0:
            self.sleep(rest)

    def execute(self, spec: RunSpec) -> RunResult:
        cancel = threading.Event()
        with self._lock:
            self._cancel = cancel
        self._set(DeviceState.BUSY, spec.run_id)
        try:
            return self.executor.execute(spec, cancel)
        finally:
            with self._lock:
                self._last_run_id = spec.run_id
                self._cancel = None
                self._rested_at = time.monotonic() + self.config.cooldown_s
            self._set(DeviceState.IDLE, None)

    def beat(self) -> None:
        # Under the lock, so that once retire() returns no late beat of ours can land over
        # the heartbeat of whatever serves this udid next (its held-back beat, say).
        with self._lock:
            if self._retired:
                return
            beat = Heartbeat(
                info=self.device.info,
                state=self._state,
                agent=self.config.name,
                at=datetime.now(UTC),
                run_id=self._run_id,
                last_run_id=self._last_run_id,
            )
            # Lease, heartbeat and the run's flag in one round trip.
            flag = self.liveness.renew(beat, self.config.name, self.config.ttl_s)
            run_id, cancel = self._run_id, self._cancel
        if run_id is not None and cancel is not None and not cancel.is_set():
            self._watch_cancel(run_id, flag, cancel)

    def _watch_cancel(self, run_id: str, flag: str | None, cancel: threading.Event) -> None:
        """On every heartbeat of a busy device: did ``pomar cancel`` flag its run? Then ask
        the device to stop (``RunRequest.cancel``); it stops where it can."""
        if flag == RUN_CANCELLED:
            log.warning("run %s cancelled: asking %s to stop", run_id, self.device_udid)
            cancel.set()

    def _set(self, state: DeviceState, run_id: str | None) -> None:
        with self._lock:
            self._state, self._run_id = state, run_id
        try:
            self.beat()
        except InfrastructureError as exc:
            log.warning("heartbeat of %s failed: %s", self.device_udid, exc.one_line())


class HeldDevice:
    """A device that is present but takes no runs (its check fails, or it is quarantined):
    no worker, only a ``quarantined`` heartbeat with the reason, so the farm shows it as
    such instead of ``lost`` and routes nothing to it."""

    def __init__(self, device: Device, reason: str, liveness: Liveness, config: AgentConfig):
        self.device = device
        self.reason = reason
        self.liveness = liveness
        self.config = config
        self._lock = threading.Lock()
        self._retired = False

    @property
    def device_udid(self) -> str:
        return self.device.info.udid

    def retire(self) -> None:
        """It is served again or gone: never heartbeat it as held again."""
        with self._lock:
            self._retired = True

    def beat(self) -> None:
        with self._lock:
            if self._retired:
                return
            if not self.liveness.acquire(self.device_udid, self.config.name, self.config.ttl_s):
                return  # another agent owns it; its heartbeat is that agent's to give
            beat = Heartbeat(
                info=self.device.info,
                state=DeviceState.QUARANTINED,
                agent=self.config.name,
                at=datetime.now(UTC),
                detail=self.reason,
            )
            self.liveness.beat(beat, self.config.ttl_s)


class Agent:
    """Serves the devices its sources list, until stopped. A source may also have a
    ``held()`` method listing ``(device, reason)`` pairs present but not to be served: those
    are heartbeated as ``quarantined`` (see :class:`HeldDevice`)."""

    def __init__(
        self,
        config: AgentConfig,
        sources: Sequence[DeviceSource],
        liveness: Liveness,
        artifacts: ArtifactStore,
        cache_dir: Path,
    ) -> None:
        self.config = config
        self.sources = sources
        self.liveness = liveness
        self.artifacts = artifacts
        self.cache_dir = cache_dir
        self._served: dict[str, tuple[ServedDevice, WorkerThread]] = {}
        self._held: dict[str, HeldDevice] = {}
        self._lock = threading.Lock()

    @property
    def udids(self) -> list[str]:
        with self._lock:
            return sorted(self._served)

    def discover(self) -> None:
        """Start serving new devices, stop serving vanished ones."""
        present: dict[str, Device] = {}
        held: dict[str, tuple[Device, str]] = {}
        for source in self.sources:
            for device in source():
                labelled = LabelledDevice(device, self.config.labels, self.config.name)
                present[labelled.info.udid] = labelled
            held_of = getattr(source, "held", None)
            for device, reason in held_of() if callable(held_of) else ():
                labelled = LabelledDevice(device, self.config.labels, self.config.name)
                held[labelled.info.udid] = (labelled, reason)
        for udid in [u for u in self.udids if u not in present]:
            self._stop(udid)
        self._update_held({u: h for u, h in held.items() if u not in present}, present)
        for udid, device in present.items():
            if udid not in self._served:
                self._start(device)

    def _update_held(self, held: dict[str, tuple[Device, str]], present: dict[str, Device]) -> None:
        with self._lock:
            gone = {u: h for u, h in self._held.items() if u not in held}
            for udid in gone:
                del self._held[udid]
            fresh: list[HeldDevice] = []
            for udid, (device, reason) in held.items():
                current = self._held.get(udid)
                if current is None:
                    current = HeldDevice(device, reason, self.liveness, self.config)
                    self._held[udid] = current
                    fresh.append(current)
                current.reason = reason
        for udid, leaving in gone.items():
            leaving.retire()
            if udid not in present:  # unplugged: it is lost now, not held
                try:
                    self.liveness.forget(udid)
                    self.liveness.release(udid, self.config.name)
                except InfrastructureError as exc:
                    log.warning("could not release %s: %s", udid, exc.one_line())
        for entering in fresh:
            # Beat at once: the served worker just stopped and dropped its heartbeat.
            udid = entering.device_udid
            try:
                entering.beat()
            except InfrastructureError as exc:
                log.warning("heartbeat of %s failed: %s", udid, exc.one_line())
            log.warning("%s held back (shown quarantined): %s", udid, entering.reason)

    def beat_all(self) -> None:
        with self._lock:
            beating: list[ServedDevice | HeldDevice] = [s for s, _ in self._served.values()]
            beating += self._held.values()
        for device in beating:
            try:
                device.beat()
            except InfrastructureError as exc:
                log.warning("heartbeat of %s failed: %s", device.device_udid, exc.one_line())

    def run(self, stop: threading.Event) -> None:
        """Discover and heartbeat until ``stop`` is set, then stop every worker."""
        beats = threading.Thread(target=self._beat_loop, args=(stop,), daemon=True, name="beats")
        beats.start()
        try:
            while not stop.is_set():
                try:
                    self.discover()
                except PomarError as exc:
                    log.warning("discovery: %s", exc.one_line())
                stop.wait(self.config.discover_s)
        finally:
            self._update_held({}, {})
            stoppers = [self._stop(udid) for udid in self.udids]
            for stopper in stoppers:
                stopper.join(60)

    def _beat_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.beat_all()
            stop.wait(self.config.heartbeat_s)

    def _start(self, device: Device) -> None:
        udid = device.info.udid
        if not self.liveness.acquire(udid, self.config.name, self.config.ttl_s):
            log.warning("device %s is leased by another agent; not serving it", udid)
            return
        executor = DeviceRunExecutor(device, self.artifacts, self.cache_dir / "models")
        served = ServedDevice(device, executor, self.liveness, self.config)
        app = make_app(self.config.broker_url, name=f"pomar-agent-{udid}")
        roles(app).executor = served
        queues = [device_queue(udid), *(pool_queue(p) for p in device_pools(device.info))]
        worker = WorkerThread(app, queues, hostname=f"{udid}@{self.config.name}")
        worker.start()
        with self._lock:
            self._served[udid] = (served, worker)
        served.beat()
        log.warning("serving %s on %s", udid, ", ".join(queues))

    def _stop(self, udid: str) -> threading.Thread:
        with self._lock:
            served, worker = self._served.pop(udid)
        served.retire()
        try:
            self.liveness.forget(udid)
            self.liveness.release(udid, self.config.name)
        except InfrastructureError as exc:
            log.warning("could not release %s: %s", udid, exc.one_line())
        log.warning("no longer serving %s", udid)
        # A device that vanished mid-run may hang; do not let it hold up the others.
        worker.request_stop()
        stopper = threading.Thread(target=worker.stop, daemon=True, name=f"stop-{udid}")
        stopper.start()
        return stopper
