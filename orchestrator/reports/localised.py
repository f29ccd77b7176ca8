"""The sentence every report prints about a failing run's localisation (which op it got wrong)."""

from __future__ import annotations

from pomar_core.wire import Localisation, LocalisationStatus, TensorError


def localisation_sentence(loc: Localisation) -> str:
    """``localised to 'relu_3' (relu) in 3 device runs: output rel L2 0.62 vs fp16 noise
    0.0003; inputs: add_2 0.0003 (noise 0.0003)`` — or what the search got to."""
    runs = f"{loc.device_runs} device run{'s' if loc.device_runs != 1 else ''}"
    culprit = loc.culprit
    if loc.status is LocalisationStatus.RUNNING:
        return f"localisation running: {runs} of at most {loc.max_runs} so far"
    if loc.status is not LocalisationStatus.FOUND or culprit is None:
        return f"localisation {loc.status.value} after {runs}: {loc.detail}"
    parts = [
        f"localised to '{culprit.op}' ({culprit.op_type}) in {runs}: output "
        f"{_error(culprit.output)}"
    ]
    if culprit.inputs:
        parts.append("inputs: " + ", ".join(f"{e.name} {_error(e)}" for e in culprit.inputs))
    if culprit.source_module:
        parts.append(f"source module {culprit.source_module}")
    if culprit.fused_with:
        parts.append("fused with " + ", ".join(culprit.fused_with))
    if "fusion bug" in loc.detail:
        parts.append(loc.detail)
    return "; ".join(parts)


def _error(e: TensorError) -> str:
    return f"rel L2 {e.error:.3g} vs fp16 noise {e.noise:.3g}"
