"""Is tonight's point of a series outside the band of its recent history?

A night is flagged only against nights of its own *segment* (same OS version and converter;
:mod:`orchestrator.history.series`), and only once the segment has ``min_history`` measured
nights. The band is robust: the median of the last ``window`` nights and 3 scaled MADs around
it (at least 5% wide, so a series that happens to be very steady is not paged for a 2% wobble).

- **slower**: tonight's median latency is above the band *and* the rank test of
  :mod:`orchestrator.history.stats` finds tonight's samples larger than the window's pooled
  samples at 0.1%, and the ratio reaches a bucket (×1.1, ×1.2, ×1.5, ×2). The band guards
  against night-to-night drift the rank test alone would call significant; the rank test
  guards against a noisy night whose median alone crossed the band.
- **more memory**: peak above the band and at least ×1.1 the median.
- **parity drift**: worst relative L2 above the band and at least twice the median.
- **ANE share dropped**: share of the compute plan on the Neural Engine at least 10 points
  (and 3 MADs) below the median, when the plan is known.
- **started / stopped failing**: the model's outcome changed from the previous night of the
  lineage (any segment: a failure after an OS update is still a failure, said next to the
  update).

An OS update or converter change is a *call-out*, never a flag: the new segment has no
history yet, so its first nights are not compared at all. A hot night (thermal ``serious`` or
worse) is noted and not compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.history.series import NightPoint, SeriesKey
from orchestrator.history.stats import Trend, bucket_of, latency_shift, median, steady


class FlagKind(StrEnum):
    SLOWER = "slower"
    MORE_MEMORY = "more_memory"
    PARITY_DRIFT = "parity_drift"
    ANE_SHARE_DROPPED = "ane_share_dropped"
    STARTED_FAILING = "started_failing"
    STOPPED_FAILING = "stopped_failing"

    @property
    def is_regression(self) -> bool:
        return self not in (FlagKind.STARTED_FAILING, FlagKind.STOPPED_FAILING)


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    detail: str
    bucket: float | None = None
    """For ``slower``: the largest bucket the ratio reaches."""


@dataclass(frozen=True)
class BandPolicy:
    min_history: int = 5
    window: int = 14


@dataclass(frozen=True)
class NightVerdict:
    key: SeriesKey
    point: NightPoint
    flags: tuple[Flag, ...] = ()
    callouts: tuple[str, ...] = ()
    """An OS update or a converter change: a new segment starts here."""
    notes: tuple[str, ...] = ()
    confirmed: bool | None = None
    """After a re-run: True when it flagged the same, False when it did not (then ``flags``
    keeps only the status changes); None when there was no re-run."""
    rerun_run_id: str | None = None

    @property
    def regressions(self) -> tuple[Flag, ...]:
        return tuple(f for f in self.flags if f.kind.is_regression)


def band(values: Sequence[float], *, min_width: float = 0.05) -> tuple[float, float]:
    """(median, upper edge): median + max(3 scaled MADs, ``min_width`` of the median)."""
    centre = median(values)
    mad = median([abs(v - centre) for v in values])
    return centre, centre + max(3 * 1.4826 * mad, min_width * abs(centre))


def evaluate(
    key: SeriesKey,
    history: Sequence[NightPoint],
    night: NightPoint,
    policy: BandPolicy = BandPolicy(),
) -> NightVerdict:
    """Compare ``night`` with ``history`` (earlier nights of its lineage, oldest first)."""
    flags: list[Flag] = []
    callouts: list[str] = []
    notes: list[str] = []
    previous = history[-1] if history else None
    if previous is not None:
        if previous.os_version != night.os_version:
            callouts.append(
                f"iOS {previous.os_version} → {night.os_version} on {key.product}: new segment"
            )
        if previous.converter != night.converter:
            callouts.append(f"{previous.converter} → {night.converter}: new segment")
        if night.failing and not previous.failing:
            flags.append(Flag(FlagKind.STARTED_FAILING, f"started failing: {night.status}"))
        elif previous.failing and not night.failing and night.status.value == "passed":
            flags.append(Flag(FlagKind.STOPPED_FAILING, f"passes again (was {previous.status})"))
    segment = _segment(history, night)
    window = [p for p in segment if p.measured][-policy.window :]
    if night.hot:
        notes.append("taken hot (thermal serious or worse): timings not compared")
    elif not night.latency_ms:
        pass
    elif len(window) < policy.min_history:
        notes.append(f"{len(window)} night(s) of history in this segment: not compared yet")
    else:
        flags += _performance(window, night)
    return NightVerdict(key, night, tuple(flags), tuple(callouts), tuple(notes))


def _segment(history: Sequence[NightPoint], night: NightPoint) -> list[NightPoint]:
    """The trailing nights of ``history`` in ``night``'s segment."""
    out: list[NightPoint] = []
    for point in reversed(history):
        if point.segment != night.segment:
            break
        out.append(point)
    return out[::-1]


def _performance(window: Sequence[NightPoint], night: NightPoint) -> list[Flag]:
    flags = []
    medians = [median(steady(p.latency_ms)) for p in window]
    centre, upper = band(medians)
    tonight = median(steady(night.latency_ms))
    if tonight > upper:
        pooled = [x for p in window for x in p.latency_ms]
        shift = latency_shift(pooled, night.latency_ms)
        bucket = bucket_of(tonight / centre)
        if shift.trend is Trend.REGRESSED and bucket is not None:
            detail = f"slower ×{tonight / centre:.2f} ({centre:.3g} → {tonight:.3g} ms)"
            flags.append(Flag(FlagKind.SLOWER, detail, bucket))
    peaks = [float(p.peak_bytes) for p in window if p.peak_bytes is not None]
    if night.peak_bytes is not None and len(peaks) >= 2:
        centre, upper = band(peaks)
        if night.peak_bytes > upper and night.peak_bytes >= 1.1 * centre:
            detail = f"peak memory ×{night.peak_bytes / centre:.2f} ({centre / 2**20:.0f} → "
            detail += f"{night.peak_bytes / 2**20:.0f} MiB)"
            flags.append(Flag(FlagKind.MORE_MEMORY, detail))
    errors = [p.parity_error for p in window if p.parity_error is not None]
    if night.parity_error is not None and len(errors) >= 2:
        centre, upper = band(errors)
        if night.parity_error > upper and night.parity_error >= 2 * max(centre, 1e-12):
            detail = f"parity drift: relative L2 {centre:.2e} → {night.parity_error:.2e}"
            flags.append(Flag(FlagKind.PARITY_DRIFT, detail))
    shares = [p.ane_share for p in window if p.ane_share is not None]
    if night.ane_share is not None and len(shares) >= 2:
        centre = median(shares)
        mad = median([abs(s - centre) for s in shares])
        if centre - night.ane_share > max(0.1, 3 * 1.4826 * mad):
            detail = f"Neural Engine share {centre:.0%} → {night.ane_share:.0%}"
            flags.append(Flag(FlagKind.ANE_SHARE_DROPPED, detail))
    return flags


def confirm(first: NightVerdict, rerun: NightVerdict) -> NightVerdict:
    """Keep ``first``'s regressions the re-run flags too; drop the others as transient."""
    again = {f.kind for f in rerun.regressions}
    kept = tuple(f for f in first.flags if not f.kind.is_regression or f.kind in again)
    dropped = [f.kind.value for f in first.regressions if f.kind not in again]
    notes = first.notes
    if dropped:
        notes = (*notes, f"not confirmed on re-run: {', '.join(dropped)}")
    return NightVerdict(
        first.key,
        first.point,
        kept,
        first.callouts,
        notes,
        confirmed=not dropped,
        rerun_run_id=rerun.point.run_id,
    )


@dataclass(frozen=True)
class SeriesHistory:
    """Every night known per lineage, oldest first."""

    nights: dict[tuple[str, str, str], list[tuple[SeriesKey, NightPoint]]] = field(
        default_factory=dict
    )

    def add(self, key: SeriesKey, point: NightPoint) -> None:
        self.nights.setdefault(key.lineage, []).append((key, point))

    def before(self, key: SeriesKey, point: NightPoint) -> list[NightPoint]:
        return sorted(
            (p for _, p in self.nights.get(key.lineage, ()) if p.at < point.at),
            key=lambda p: p.at,
        )
