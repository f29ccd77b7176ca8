"""Which queue each run of a job goes to.

A job targets devices by id, pools (a product type such as ``iPhone15,2`` or a label), an OS
version range, backend kinds, or every pool once. Pool runs go to the pool's queue, which every
device of the pool consumes with prefetch 1, so runs of one pool spread over its devices by
themselves. A version range or kind filter picks devices, so those runs go to device queues.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from pomar_core.celery_app import device_queue, pool_queue
from pomar_core.errors import SelectorError
from pomar_core.wire import ComputeUnit, DeviceInfo, DeviceSelector, JobSpec, RunSpec, device_pools

DEVICE_PREFIX = device_queue("")
POOL_PREFIX = pool_queue("")


def new_run_id(job_id: str) -> str:
    return f"{job_id}-{uuid.uuid4().hex[:10]}"


def expand_job(job: JobSpec, devices: Sequence[DeviceInfo]) -> list[tuple[RunSpec, str]]:
    """One run per (device, compute unit) the device supports, each on its device queue."""
    runs = [
        (_spec(job, unit, device.udid), device_queue(device.udid))
        for device in devices
        for unit in job.config.compute_units
        if unit in device.compute_units
    ]
    if not runs:
        units = ",".join(u.value for u in job.config.compute_units)
        names = ", ".join(d.udid for d in devices) or "none"
        raise SelectorError(
            f"no selected device supports compute units {units} (devices: {names})",
            hint="choose other --compute-units or another --device",
        )
    return runs


def needs_known(selector: DeviceSelector) -> bool:
    """Does :func:`plan_runs` look at the known devices for this selector? Plain pools do
    not (their runs go to the pools' queues), so a submit can skip reading them."""
    filtered = selector.kinds or selector.min_os_version or selector.max_os_version
    return bool(selector.device_ids or not selector.pools or filtered)


def plan_runs(job: JobSpec, known: Sequence[DeviceInfo]) -> list[tuple[RunSpec, str]]:
    """Resolve the job's selector against the devices the farm has seen (live or not).

    Names the farm has never seen still get runs: they wait, visibly, for a device to appear
    until their deadline (a device may simply not be plugged in yet).
    """
    sel = job.target
    filtered = sel.kinds or sel.min_os_version or sel.max_os_version
    if sel.device_ids:
        by_id = {d.udid: d for d in known}
        runs = []
        for udid in sel.device_ids:
            device = by_id.get(udid)
            units = [
                u for u in job.config.compute_units if device is None or u in device.compute_units
            ]
            runs += [(_spec(job, unit, udid), device_queue(udid)) for unit in units]
        return _nonempty(runs, job)
    if sel.pools and not filtered:
        return _pool_runs(job, sel.pools)
    matching = [d for d in known if _matches(d, sel)]
    if sel.every_pool_once:
        pools = dict.fromkeys(p for d in matching for p in _pools_of(d, sel))
        if not pools:
            raise SelectorError(
                "--every-pool found no pool: no device has been seen yet",
                hint="start `pomar agent` on a device host, or name --pool explicitly",
            )
        return _pool_runs(job, tuple(pools))
    if not (sel.pools or filtered):
        raise SelectorError(
            "no target: the job names no device, pool or filter",
            hint="pass --device, --pool, --every-pool, --kind or --min-os/--max-os",
        )
    if not matching:
        raise SelectorError(
            f"no device the farm has seen matches {_describe(sel)}",
            hint="see `pomar devices`, or widen the selector",
        )
    return expand_job(job, matching)


def _pool_runs(job: JobSpec, pools: Iterable[str]) -> list[tuple[RunSpec, str]]:
    return [
        (_spec(job, unit, None), pool_queue(pool))
        for pool in pools
        for unit in job.config.compute_units
    ]


def _spec(job: JobSpec, unit: ComputeUnit, device_id: str | None) -> RunSpec:
    return RunSpec(
        run_id=new_run_id(job.job_id),
        job_id=job.job_id,
        device_id=device_id,
        compute_unit=unit,
        model=job.model,
        inputs=job.inputs,
        config=job.config,
    )


def _pools_of(device: DeviceInfo, sel: DeviceSelector) -> tuple[str, ...]:
    pools = device_pools(device)
    return tuple(p for p in pools if p in sel.pools) if sel.pools else pools[:1]


def _matches(device: DeviceInfo, sel: DeviceSelector) -> bool:
    if sel.kinds and device.kind.value not in sel.kinds:
        return False
    if sel.pools and not set(device_pools(device)) & set(sel.pools):
        return False
    if sel.min_os_version or sel.max_os_version:
        if device.os_version is None:
            return False
        version = _version(device.os_version)
        if sel.min_os_version and version < _version(sel.min_os_version):
            return False
        if sel.max_os_version and version > _version(sel.max_os_version):
            return False
    return True


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def _nonempty(runs: list[tuple[RunSpec, str]], job: JobSpec) -> list[tuple[RunSpec, str]]:
    if not runs:
        units = ",".join(u.value for u in job.config.compute_units)
        raise SelectorError(
            f"no selected device supports compute units {units}",
            hint="choose other --compute-units or another --device",
        )
    return runs


def _describe(sel: DeviceSelector) -> str:
    parts = []
    if sel.pools:
        parts.append("pools " + ",".join(sel.pools))
    if sel.kinds:
        parts.append("kinds " + ",".join(sel.kinds))
    if sel.min_os_version:
        parts.append(f"OS ≥ {sel.min_os_version}")
    if sel.max_os_version:
        parts.append(f"OS ≤ {sel.max_os_version}")
    return " and ".join(parts) or "the selector"


def target_of(queue: str) -> tuple[str, str]:
    """``("device", udid)`` or ``("pool", name)`` for a queue name."""
    if queue.startswith(DEVICE_PREFIX):
        return "device", queue.removeprefix(DEVICE_PREFIX)
    if queue.startswith(POOL_PREFIX):
        return "pool", queue.removeprefix(POOL_PREFIX)
    return "queue", queue
