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
from orchestrator.store import DeviceRecord, JobStore, RunRecord, RunState
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
        """One pass over devices and unfinished runs. A run in flight costs a row of one
        narrow query and a key of one MGET; only runs that need something are read whole."""
        heard = self.liveness.live()
        self.coordinator.saw_live(heard)
        live = self._with_grace(heard)
        known = self._sync_devices(live)
        states = self.store.unfinished_states()
        queued = [s.run_id for s in states if s.status is RunStatus.QUEUED]
        flags = self.liveness.run_flags(queued)
        lost: dict[str, str] = {}
        undispatched: set[str] = set()
        for state in states:
            if state.status is RunStatus.RUNNING:
                why = self._why_lost(state, live)
                if why is not None:
                    lost[state.run_id] = why
            elif flags.get(state.run_id) != str(state.attempt):
                undispatched.add(state.run_id)
        if not lost and not undispatched:
            return
        attempts = {s.run_id: (s.status, s.attempt) for s in states}
        for record in self.store.get_runs(lost.keys() | undispatched):
            if (record.status, record.attempt) != attempts[record.run_id]:
                continue  # it moved since the states were read; the next tick sees it anew
            if record.run_id in lost:
                self._retry_lost(record, lost[record.run_id], known)
            else:
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

    def _why_lost(self, state: RunState, live: dict[str, Heartbeat]) -> str | None:
        """Why a running run's device no longer runs it, or None while it does."""
        udid = state.device_udid or "?"
        beat = live.get(udid)
        if beat is None:
            if udid not in self._seen and self._age(state) <= self.lost_after_s:
                # Never heard by us, but it started this run moments ago: a Redis restart
                # that dropped its heartbeat before our first tick heard it. Grace, as for
                # a device we heard (``_with_grace``), from when the run started.
                return None
            return f"attempt {state.attempt} device_lost: {udid} stopped heartbeating"
        if beat.run_id != state.run_id and self._age(state) > self._patience(beat, state):
            return f"attempt {state.attempt} device_lost: {udid} is no longer running it"
        return None

    def _retry_lost(self, record: RunRecord, why: str, known: dict[str, DeviceRecord]) -> None:
        udid = record.device_udid or "?"
        if not self.coordinator.retry(record, why, avoid=udid):
            device = known[udid].info if udid in known else None
            self.coordinator.fail(record, RunStatus.DEVICE_LOST, why, device=device)

    def _sync_devices(self, live: dict[str, Heartbeat]) -> dict[str, DeviceRecord]:
        now = time.monotonic()
        known = {d.info.udid: d for d in self.store.list_devices()}
        changes: list[DeviceRecord] = []
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
                changes.append(record)
                self._saved[udid] = (beat.state, beat.run_id, now)
        for udid, device in known.items():
            if udid not in live and device.state is not DeviceState.LOST:
                log.warning("device %s stopped heartbeating: marked lost", udid)
                lost = device.model_copy(update={"state": DeviceState.LOST, "current_run": None})
                changes.append(lost)
                self._saved.pop(udid, None)
        # One transaction for the whole farm's changes (a thousand phones change every run).
        self.store.save_devices(changes)
        for record in changes:
            known[record.info.udid] = record
        return known

    def _patience(self, beat: Heartbeat, record: RunState) -> float:
        """How long a device may say it is not running ``record`` before it is retried. A
        device that says it finished it has a result in the results queue, which a busy or
        restarted coordinator may not have read yet: give that result much longer."""
        if beat.last_run_id == record.run_id:
            return 10 * self.stale_after_s
        return self.stale_after_s

    def _age(self, record: RunState) -> float:
        # Measured from our own start too: a restarted coordinator first drains the backlog.
        since = max(record.updated_at, self._started)
        return (datetime.now(UTC) - since).total_seconds()
