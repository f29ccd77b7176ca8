"""Tolerance policies as data: TOML files (and shipped presets) of per-output rules.

A policy has ``[defaults]`` and any number of ``[[rules]]``. Each rule may narrow where it applies
(``outputs`` globs on output names, ``precision``, ``compute_units``); every rule that applies to
an output is laid over the defaults in file order, so later rules win::

    name = "my-model"
    [defaults]
    rtol = 1e-2
    peak_atol = 1e-2
    relative_l2 = 0.05            # error metrics are upper bounds
    cosine_similarity = 0.998     # similarity metrics (cosine, SNR, PSNR, top-k) lower bounds
    share_outside_tolerance = 0.01

    [[rules]]
    outputs = ["logits"]
    scores = true
    top1_agreement = 1.0

    [[rules]]
    precision = "fp32"
    compute_units = ["cpu"]
    relative_l2 = 1e-3
    disable = ["share_outside_tolerance"]
"""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator.parity.metrics import MetricParams
from pomar_core.errors import ToleranceError
from pomar_core.wire import ComputeUnit, OutputMetrics, Precision

UPPER_BOUNDS = (
    "max_abs_error",
    "mean_abs_error",
    "relative_l2",
    "max_relative_error",
    "max_ulp",
    "share_outside_tolerance",
)
"""Metrics where smaller is better: a threshold is the largest value that passes."""

LOWER_BOUNDS = ("cosine_similarity", "snr_db", "psnr_db", "top1_agreement", "topk_overlap")
"""Metrics where larger is better: a threshold is the smallest value that passes."""

THRESHOLD_NAMES = UPPER_BOUNDS + LOWER_BOUNDS
PRESETS = ("default", "strict", "fp16", "classification", "regression")


class RuleSettings(BaseModel):
    """What a ``[defaults]`` table or a ``[[rules]]`` entry may set (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    atol: float | None = Field(default=None, ge=0)
    rtol: float | None = Field(default=None, ge=0)
    peak_atol: float | None = Field(default=None, ge=0)
    relative_floor: float | None = Field(default=None, gt=0)
    top_k: int | None = Field(default=None, ge=1)
    scores: bool | None = None
    allow_nonfinite: bool | None = None
    """Pass NaN/Inf in the output where the reference is finite (default: fail)."""
    disable: tuple[str, ...] = ()
    max_abs_error: float | None = Field(default=None, ge=0)
    mean_abs_error: float | None = Field(default=None, ge=0)
    relative_l2: float | None = Field(default=None, ge=0)
    max_relative_error: float | None = Field(default=None, ge=0)
    max_ulp: float | None = Field(default=None, ge=0)
    share_outside_tolerance: float | None = Field(default=None, ge=0, le=1)
    cosine_similarity: float | None = Field(default=None, ge=-1, le=1)
    snr_db: float | None = None
    psnr_db: float | None = None
    top1_agreement: float | None = Field(default=None, ge=0, le=1)
    topk_overlap: float | None = Field(default=None, ge=0, le=1)


class Rule(RuleSettings):
    """Settings plus where they apply; an omitted selector matches everything."""

    outputs: tuple[str, ...] = ()
    precision: tuple[Precision, ...] = ()
    compute_units: tuple[ComputeUnit, ...] = ()
    description: str | None = None

    @field_validator("outputs", "precision", "compute_units", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # ``precision = "fp32"`` reads better than a one-element array.
        return (value,) if isinstance(value, str) else value

    def applies(self, output: str, precision: Precision, compute_unit: ComputeUnit) -> bool:
        return (
            (not self.outputs or any(fnmatch.fnmatchcase(output, g) for g in self.outputs))
            and (not self.precision or precision in self.precision)
            and (not self.compute_units or compute_unit in self.compute_units)
        )


class TolerancePolicy(BaseModel):
    """A named set of rules; :meth:`resolve` gives the effective rule of one output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    description: str = ""
    defaults: RuleSettings = RuleSettings()
    rules: tuple[Rule, ...] = ()

    def resolve(
        self, output: str, precision: Precision, compute_unit: ComputeUnit
    ) -> EffectiveRule:
        """Defaults, then every applicable rule in order (later keys win)."""
        merged: dict[str, Any] = {}
        disabled: set[str] = set()
        layers: list[RuleSettings] = [self.defaults]
        layers += [r for r in self.rules if r.applies(output, precision, compute_unit)]
        for layer in layers:
            for key in layer.model_fields_set & set(RuleSettings.model_fields):
                if key == "disable":
                    disabled |= set(layer.disable)
                    continue
                merged[key] = getattr(layer, key)
                disabled.discard(key)
        thresholds = {
            k: float(v)
            for k in THRESHOLD_NAMES
            if (v := merged.get(k)) is not None and k not in disabled
        }
        params = MetricParams(
            atol=merged.get("atol") or 0.0,
            rtol=merged.get("rtol") or 0.0,
            peak_atol=merged.get("peak_atol") or 0.0,
            relative_floor=merged.get("relative_floor") or MetricParams.relative_floor,
            top_k=merged.get("top_k") or MetricParams.top_k,
            scores=merged.get("scores"),
        )
        return EffectiveRule(
            params=params,
            thresholds=thresholds,
            allow_nonfinite=bool(merged.get("allow_nonfinite", False)),
        )


@dataclass(frozen=True)
class EffectiveRule:
    """The rule one output is judged by, after defaults and overrides."""

    params: MetricParams
    thresholds: dict[str, float]
    allow_nonfinite: bool

    def failures(self, metrics: OutputMetrics) -> list[str]:
        """One sentence per threshold the metrics miss; a metric that does not apply is skipped."""
        out: list[str] = []
        for name, limit in self.thresholds.items():
            value = getattr(metrics, name)
            if value is None:
                continue
            if name in UPPER_BOUNDS and not value <= limit:
                out.append(f"{name} {value:.4g} > {limit:.4g}")
            elif name in LOWER_BOUNDS and not value >= limit:
                out.append(f"{name} {value:.4g} < {limit:.4g}")
        return out


def load_policy(source: str | Path | TolerancePolicy) -> TolerancePolicy:
    """A policy from a preset name, a path to a TOML file, or TOML text.

    Raises:
        ToleranceError: one line naming the source and what is wrong.
    """
    if isinstance(source, TolerancePolicy):
        return source
    if isinstance(source, str) and source in PRESETS:
        return _preset(source)
    return _parse(source)


@functools.cache
def _preset(name: str) -> TolerancePolicy:
    # Parsed once per process: compare() is called per run, and policies are frozen.
    return _parse(name)


def _parse(source: str | Path) -> TolerancePolicy:
    text, origin, fallback_name = _read_source(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ToleranceError(
            f"tolerance policy {origin} is not valid TOML: {exc}",
            hint="fix the file or use a preset: " + ", ".join(PRESETS),
        ) from None
    data.setdefault("name", fallback_name)
    try:
        policy = TolerancePolicy.model_validate(_as_tuples(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ToleranceError(
            f"tolerance policy {origin}: {where}: {first['msg']}",
            hint="see the keys in orchestrator/parity/policy.py or a preset",
        ) from None
    for layer in (policy.defaults, *policy.rules):
        unknown = set(layer.disable) - set(THRESHOLD_NAMES)
        if unknown:
            raise ToleranceError(
                f"tolerance policy {origin}: disable names unknown metrics {sorted(unknown)}",
                hint="metric names: " + ", ".join(THRESHOLD_NAMES),
            )
    return policy


def _read_source(source: str | Path) -> tuple[str, str, str]:
    """(text, how to name it in an error, policy name if the file gives none)."""
    if isinstance(source, str) and source in PRESETS:
        preset = resources.files("orchestrator.parity") / "presets" / f"{source}.toml"
        return preset.read_text(encoding="utf-8"), f"preset '{source}'", source
    if isinstance(source, Path) or (
        "\n" not in source and "=" not in source and source.endswith(".toml")
    ):
        path = Path(source)
        try:
            return path.read_text(encoding="utf-8"), f"'{path}'", path.stem
        except OSError as exc:
            raise ToleranceError(
                f"cannot read tolerance policy '{path}': {exc.strerror or exc}",
                hint="give a TOML file path or a preset: " + ", ".join(PRESETS),
            ) from None
    if "=" not in source and "[" not in source:
        raise ToleranceError(
            f"unknown tolerance preset '{source}'",
            hint="use one of " + ", ".join(PRESETS) + ", or a path to a .toml file",
        )
    return source, "(inline TOML)", "custom"


def _as_tuples(value: Any) -> Any:
    # TOML arrays arrive as lists; the frozen models hold tuples.
    if isinstance(value, dict):
        return {k: _as_tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    return value
