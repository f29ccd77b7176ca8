"""Fair sharing of a queue between submitters: priority staggering at routing time.

Kombu's Redis transport keeps one FIFO list per priority step of a queue and serves the most
urgent non-empty step first. Priorities alone therefore give two guarantees and miss one:

- on-demand before nightly: sweeps are submitted at priority 0 and on-demand jobs at 1-9, so a
  device that frees up takes on-demand work first; the most a sweep can delay an on-demand run
  is the one sweep run the device is executing (prefetch 1, late ack: nothing else is reserved);
- urgent before relaxed, among on-demand jobs;
- but *within* one step the order is first come, first served: a submitter who queues fifty
  runs on a pool holds it until all fifty have started, and a colleague's one run waits.

Staggering fixes the third without per-submitter queues (which every agent would have to learn
to consume, dynamically) and without holding runs back in the coordinator. When a job is
submitted, each of its runs on a queue gets the job's priority minus its *round*::

    round = (runs of the same submitter already waiting on that queue + the run's index
             among this job's runs on it) // devices serving the queue

Two submitters with twenty runs each on a two-device pool then start A A B B A A B B …: one run
per device per submitter per round, a round robin built from FIFO steps. The staggered priority
never drops below :data:`ON_DEMAND_FLOOR`, one step above the sweeps, so staggering never puts
on-demand work behind a sweep; past its last step a large batch shares the floor step in FIFO
order (at the default priority 5 that is after four rounds). Sweep jobs (priority 0) are one
submitter and are not staggered. Retries and re-dispatches take the job's own priority: a
retried run has already waited its turn once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from orchestrator.store import RunState
from pomar_core.wire import JobSpec, RunSpec, RunStatus

ON_DEMAND_FLOOR = 1
"""The least urgent priority staggering gives an on-demand run: above every sweep (0)."""

ANONYMOUS = "-"


def submitter_of(job: JobSpec) -> str:
    return job.submitted_by or ANONYMOUS


def waiting_of(
    submitter: str, queued: Iterable[RunState], submitters: Mapping[str, str]
) -> Counter[str]:
    """How many queued runs of ``submitter`` wait on each queue; ``submitters`` maps job id to
    submitter (jobs it lacks are someone else's)."""
    return Counter(
        r.queue
        for r in queued
        if r.status is RunStatus.QUEUED and submitters.get(r.job_id) == submitter
    )


def stagger(
    job: JobSpec,
    runs: Sequence[tuple[RunSpec, str]],
    waiting: Mapping[str, int],
    devices: Mapping[str, int],
) -> dict[str, int]:
    """The priority each run of ``job`` is sent with, by run id (see the module docstring).

    ``waiting``: the submitter's queued runs per queue before this job; ``devices``: how many
    live devices serve each queue (a queue missing counts as one device).
    """
    if job.priority <= ON_DEMAND_FLOOR - 1:
        return {spec.run_id: job.priority for spec, _ in runs}
    seen: Counter[str] = Counter()
    out = {}
    for spec, queue in runs:
        ahead = waiting.get(queue, 0) + seen[queue]
        seen[queue] += 1
        rounds = ahead // max(1, devices.get(queue, 1))
        out[spec.run_id] = max(ON_DEMAND_FLOOR, job.priority - rounds)
    return out
