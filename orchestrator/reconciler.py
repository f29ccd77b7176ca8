"""The reconciler: makes the broker and the devices agree with the store, every tick.

- A queued run whose flag is missing in Redis (never sent, or lost in a Redis restart) is
  handed to the broker again — or waits, visibly, for a live device until its deadline.
- A running run whose device stopped heartbeating, or whose device says it is doing something
  else, is retried as its next attempt on another device (``device_lost`` when out of attempts).
- The device registry in the store follows the heartbeats; a device whose heartbeat expired is
  marked ``lost`` and gets no new work until it beats again.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from orchestrator.coordinator import Coordinator
from orchestrator.store import DeviceRecord, JobStore, RunRecord
from pomar_core.errors import InfrastructureError
from pomar_core.leases import Liveness
from pomar_core.wire import DeviceState, Heartbeat, RunStatus

log = logging.getLogger(__name__)

_REFRESH_S = 5.0
"""How often an unchanged live device's ``last_seen`` is written to the store."""


class Reconciler:
    def __init__(
        self,
        coordinator: Coordinator,
        liveness: Liveness,
        *,
        stale_after_s: float = 15.0,
        lost_after_s: float = 10.0,
    ) -> None:
        self.coordinator = coordinator
        self.store: JobStore = coordinator.store
        self.liveness = liveness
        self.stale_after_s = stale_after_s
        self.lost_after_s = lost_after_s
        self._seen: dict[str, float] = {}
        self._started = datetime.now(UTC)
        self._last: dict[str, Heartbeat] = {}
        self._saved: dict[str, tuple[DeviceState, str | None, float]] = {}

    def tick(self) -> None:
        """One pass over devices and unfinished runs."""
        live = self._with_grace(self.liveness.live())
        known = self._sync_devices(live)
        for record in self.store.unfinished_runs():
            if record.status is RunStatus.RUNNING:
                self._check_running(record, live, known)
            elif self.liveness.run_flag(record.run_id) != str(record.attempt):
                self.coordinator.dispatch(record, live=live)

    def run(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Tick until ``stop`` is set; a broker or store outage is logged and retried."""
        while not stop.is_set():
            try:
                self.tick()
            except InfrastructureError as exc:
                log.warning("reconciler: %s", exc.one_line())
            stop.wait(interval_s)

    def _with_grace(self, live: dict[str, Heartbeat]) -> dict[str, Heartbeat]:
        """Devices count as live until ``lost_after_s`` after their last heartbeat: a Redis
        restart drops every heartbeat key at once, and agents need a moment to beat again."""
        now = time.monotonic()
        for udid, beat in live.items():
            self._seen[udid] = now
            self._last[udid] = beat
        grace = dict(live)
        for udid, seen in list(self._seen.items()):
            if udid not in live:
                if now - seen <= self.lost_after_s:
                    grace[udid] = self._last[udid]
                else:
                    del self._seen[udid]
        return grace

    def _check_running(
        self, record: RunRecord, live: dict[str, Heartbeat], known: dict[str, DeviceRecord]
    ) -> None:
        udid = record.device_udid or "?"
        beat = live.get(udid)
        if beat is None:
            why = f"attempt {record.attempt} device_lost: {udid} stopped heartbeating"
        elif beat.run_id != record.run_id and self._age(record) > self._patience(beat, record):
            why = f"attempt {record.attempt} device_lost: {udid} is no longer running it"
        else:
            return
        if not self.coordinator.retry(record, why, avoid=udid):
            device = known[udid].info if udid in known else None
            self.coordinator.fail(record, RunStatus.DEVICE_LOST, why, device=device)

    def _sync_devices(self, live: dict[str, Heartbeat]) -> dict[str, DeviceRecord]:
        now = time.monotonic()
        known = {d.info.udid: d for d in self.store.list_devices()}
        for udid, beat in live.items():
            saved = self._saved.get(udid)
            changed = saved is None or saved[:2] != (beat.state, beat.run_id)
            if changed or now - saved[2] > _REFRESH_S or udid not in known:  # type: ignore[index]
                if udid in known and known[udid].state is DeviceState.LOST:
                    log.warning("device %s is back (%s)", udid, beat.state.value)
                record = DeviceRecord(
                    info=beat.info,
                    state=beat.state,
                    current_run=beat.run_id,
                    first_seen=beat.at,
                    last_seen=beat.at,
                )
                self.store.save_device(record)
                known[udid] = record
                self._saved[udid] = (beat.state, beat.run_id, now)
        for udid, device in known.items():
            if udid not in live and device.state is not DeviceState.LOST:
                log.warning("device %s stopped heartbeating: marked lost", udid)
                lost = device.model_copy(update={"state": DeviceState.LOST, "current_run": None})
                self.store.save_device(lost)
                known[udid] = lost
                self._saved.pop(udid, None)
        return known

    def _patience(self, beat: Heartbeat, record: RunRecord) -> float:
        """How long a device may say it is not running ``record`` before it is retried. A
        device that says it finished it has a result in the results queue, which a busy or
        restarted coordinator may not have read yet: give that result much longer."""
        if beat.last_run_id == record.run_id:
            return 10 * self.stale_after_s
        return self.stale_after_s

    def _age(self, record: RunRecord) -> float:
        # Measured from our own start too: a restarted coordinator first drains the backlog.
        since = max(record.updated_at, self._started)
        return (datetime.now(UTC) - since).total_seconds()
