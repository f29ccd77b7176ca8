"""Small inline SVG charts for the dashboard, drawn as text (no matplotlib, no JavaScript):
horizontal bars per run, and lines over nights with markers where the OS version changed."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_W, _BAR, _LABEL = 640, 18, 260
_COLOURS = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a")


def bars(title: str, rows: Sequence[tuple[str, float | None]], unit: str) -> str:
    """One bar per (label, value); a missing value is drawn as ``—``."""
    known = [v for _, v in rows if v is not None]
    top = max(known, default=0.0) or 1.0
    height = 24 + _BAR * len(rows) + 8
    parts = [
        f"<svg class='chart' role='img' aria-label='{escape(title)}' width='{_W}' "
        f"height='{height}' viewBox='0 0 {_W} {height}' xmlns='http://www.w3.org/2000/svg'>",
        f"<text x='0' y='14' font-size='13' font-weight='bold'>{escape(title)}</text>",
    ]
    for i, (label, value) in enumerate(rows):
        y = 24 + i * _BAR
        parts.append(f"<text x='0' y='{y + 13}' font-size='11'>{escape(label[:40])}</text>")
        if value is None:
            parts.append(f"<text x='{_LABEL}' y='{y + 13}' font-size='11'>—</text>")
            continue
        width = max(1.0, (_W - _LABEL - 90) * value / top)
        parts.append(
            f"<rect class='bar' x='{_LABEL}' y='{y + 2}' width='{width:.1f}' "
            f"height='{_BAR - 5}' fill='{_COLOURS[0]}'><title>{escape(label)}: "
            f"{value:.3g} {unit}</title></rect>"
            f"<text x='{_LABEL + width + 4:.1f}' y='{y + 13}' font-size='11'>"
            f"{value:.3g} {escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def lines(
    title: str,
    series: dict[str, Sequence[float | None]],
    marks: Sequence[tuple[int, str]] = (),
    unit: str = "",
) -> str:
    """Lines over points 0..n-1 (one per named series); ``marks`` are (index, label) drawn as
    vertical dashed lines: where the OS version changed."""
    n = max((len(v) for v in series.values()), default=0)
    values = [x for v in series.values() for x in v if x is not None]
    top, bottom = (max(values), min(values)) if values else (1.0, 0.0)
    span = (top - bottom) or abs(top) or 1.0
    w, h, left, pad = _W, 200, 60, 24

    def x(i: int) -> float:
        return left + (w - left - 10) * (i / max(1, n - 1))

    def y(v: float) -> float:
        return pad + (h - 2 * pad) * (1 - (v - bottom) / span)

    parts = [
        f"<svg class='chart' role='img' aria-label='{escape(title)}' width='{w}' height='{h}' "
        f"viewBox='0 0 {w} {h}' xmlns='http://www.w3.org/2000/svg'>",
        f"<text x='0' y='14' font-size='13' font-weight='bold'>{escape(title)}</text>",
        f"<text x='0' y='{pad + 4}' font-size='10'>{top:.3g} {escape(unit)}</text>",
        f"<text x='0' y='{h - pad}' font-size='10'>{bottom:.3g} {escape(unit)}</text>",
    ]
    for i, label in marks:
        parts.append(
            f"<line class='os-change' x1='{x(i):.1f}' x2='{x(i):.1f}' y1='{pad}' y2='{h - pad}' "
            f"stroke='#999' stroke-dasharray='4 3'/><text x='{x(i) + 3:.1f}' y='{h - 6}' "
            f"font-size='10'>{escape(label)}</text>"
        )
    for k, (name, points) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        coords = [(x(i), y(v)) for i, v in enumerate(points) if v is not None]
        if coords:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
            parts.append(f"<polyline class='line' points='{path}' fill='none' stroke='{colour}'/>")
            parts += [
                f"<circle cx='{a:.1f}' cy='{b:.1f}' r='2.5' fill='{colour}'/>" for a, b in coords
            ]
        parts.append(
            f"<text x='{left + 120 * k}' y='{h - 6 if not marks else 28}' font-size='11' "
            f"fill='{colour}'>{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
