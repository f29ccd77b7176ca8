"""The farm file: a team's nightly sweeps as code, kept in its repository (TOML).

::

    [notify]
    report_url = "https://ci.example.com/pomar/jobs/{job_id}"
    [[notify.webhook]]
    url = "https://hooks.slack.com/services/T000/B000/XXXX"
    format = "slack"                      # or "json"

    [schedule.nightly]
    cron = "0 2 * * *"
    timezone = "Europe/Berlin"
    pools = ["iPhone15,2", "iPhone16,1"]  # or every_pool = true
    compute_units = ["cpu", "ane"]
    precision = "fp16"
    iterations = 50
    confirm = true                        # re-run a flagged series once before alerting

    [[schedule.nightly.model]]
    path = "models/resnet50.mlpackage"
    inputs = "inputs/resnet50.npz"        # or seed = 7 for generated inputs
    tolerance = "default"                 # a preset, or a tolerance TOML next to this file
    budgets = { p50_ms = 12.0, peak_memory_bytes = 300_000_000 }

:func:`load_farm_file` parses it with ``tomllib`` into frozen models and checks what the models
cannot (cron, time zone, files, tolerance policies). Every error is a :class:`FarmFileError`
naming the file, the line of the offending key and the field: ``tomllib`` keeps no positions, so
:func:`key_lines` finds them by reading the headers and keys of the TOML text again.
Relative paths are resolved against the farm file's directory.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.cron import parse_cron
from pomar_core.errors import FarmFileError, PomarError
from pomar_core.wire import Budgets, ComputeUnit, Precision

Loc = tuple[str | int, ...]

HINT = "see the farm file example in README.md (Nightly sweeps)"


class FarmModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelEntry(FarmModel):
    """One model of a sweep: what to run and how to judge it."""

    path: str
    inputs: str | None = None
    """An ``.npz`` input set; None: inputs generated from ``seed``."""
    seed: int = 0
    tolerance: str = "default"
    """A preset name, or (after loading) the text of the tolerance TOML the file named."""
    budgets: Budgets = Budgets()


class Webhook(FarmModel):
    url: str = Field(pattern=r"^https?://")
    format: Literal["json", "slack"] = "json"


class Notify(FarmModel):
    webhooks: tuple[Webhook, ...] = Field(default=(), alias="webhook")
    report_url: str | None = None
    """A link per job, ``{job_id}`` filled in; None: the summary names ``pomar report JOB``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SweepPlan(FarmModel):
    """A named schedule: models × pools × compute units, fired by cron in a time zone."""

    name: str
    cron: str
    timezone: str = "UTC"
    models: tuple[ModelEntry, ...] = Field(alias="model", min_length=1)
    pools: tuple[str, ...] = ()
    every_pool: bool = False
    compute_units: tuple[ComputeUnit, ...] = (ComputeUnit.ALL,)
    precision: Precision = Precision.FP16
    iterations: int = Field(default=10, ge=1)
    warmup: int = Field(default=3, ge=0)
    timeout_s: float = Field(default=600.0, gt=0)
    confirm: bool = False
    """Re-run a flagged series once, on the same device, before alerting."""
    min_history: int = Field(default=5, ge=2)
    """Nights a series needs (in its segment) before a night can be flagged."""
    history: int = Field(default=14, ge=2)
    """How many recent nights make the band a night is compared with."""
    notify: Notify = Notify()
    """Where this schedule's summaries go: its own ``[schedule.<name>.notify]``, else the
    file's ``[notify]``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class FarmFile(FarmModel):
    schedules: dict[str, SweepPlan] = Field(default_factory=dict, alias="schedule")
    notify: Notify = Notify()

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def load_farm_file(path: Path) -> FarmFile:
    """Parse and check a farm file; raises :class:`FarmFileError` (exit 2) on the first error."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FarmFileError(
            f"cannot read: {exc.strerror or exc}", file=name, line=None, field=None, hint=HINT
        ) from None
    return parse_farm_file(text, name, path.parent)


def parse_farm_file(text: str, name: str, base: Path) -> FarmFile:
    """:func:`load_farm_file` on TOML text; ``base`` resolves relative paths."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise FarmFileError(
            f"not valid TOML: {exc}",
            file=name,
            line=int(found.group(1)) if found else None,
            field=None,
            hint=HINT,
        ) from None
    lines = key_lines(text)
    schedules = data.get("schedule")
    if isinstance(schedules, dict):
        for key, table in schedules.items():
            if isinstance(table, dict):
                table["name"] = key
    try:
        farm = FarmFile.model_validate(data)  # lax mode: TOML arrays become tuples
    except ValidationError as exc:
        first = exc.errors()[0]
        loc: Loc = tuple(first["loc"])
        raise _error(first["msg"], name, lines, loc) from None
    return _checked(farm, name, lines, base)


def _checked(farm: FarmFile, name: str, lines: dict[Loc, int], base: Path) -> FarmFile:
    from orchestrator.parity import PRESETS, load_policy

    plans = {}
    for key, plan in farm.schedules.items():
        at: Loc = ("schedule", key)
        try:
            ZoneInfo(plan.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            why = f"unknown time zone '{plan.timezone}'"
            raise _error(why, name, lines, (*at, "timezone")) from None
        try:
            parse_cron(plan.cron, plan.timezone)
        except PomarError as exc:
            raise _error(exc.message, name, lines, (*at, "cron")) from None
        if bool(plan.pools) == plan.every_pool:
            raise _error("give either pools = [...] or every_pool = true", name, lines, at)
        models = []
        for i, entry in enumerate(plan.models):
            here: Loc = (*at, "model", i)
            model = _resolve(base, entry.path)
            if not Path(model).exists():
                raise _error(f"no model at '{model}'", name, lines, (*here, "path"))
            inputs = _resolve(base, entry.inputs) if entry.inputs else None
            if inputs is not None and not Path(inputs).is_file():
                raise _error(f"no input set at '{inputs}'", name, lines, (*here, "inputs"))
            tolerance = entry.tolerance
            if tolerance not in PRESETS:
                policy = Path(_resolve(base, tolerance))
                try:
                    tolerance = policy.read_text(encoding="utf-8")
                    load_policy(tolerance)
                except OSError:
                    presets = ", ".join(PRESETS)
                    why = f"'{entry.tolerance}' is neither a preset ({presets}) nor a file"
                    raise _error(why, name, lines, (*here, "tolerance")) from None
                except PomarError as exc:
                    raise _error(exc.message, name, lines, (*here, "tolerance")) from None
            update = {"path": model, "inputs": inputs, "tolerance": tolerance}
            models.append(entry.model_copy(update=update))
        notify = plan.notify if plan.notify != Notify() else farm.notify
        plans[key] = plan.model_copy(update={"models": tuple(models), "notify": notify})
    return farm.model_copy(update={"schedules": plans})


def _resolve(base: Path, path: str) -> str:
    found = Path(path).expanduser()
    return str(found if found.is_absolute() else (base / found).resolve())


def _error(message: str, name: str, lines: dict[Loc, int], loc: Loc) -> FarmFileError:
    line = None
    for end in range(len(loc), 0, -1):
        line = lines.get(loc[:end])
        if line is not None:
            break
    return FarmFileError(message, file=name, line=line, field=field_name(loc), hint=HINT)


def field_name(loc: Sequence[str | int]) -> str:
    """``("schedule", "nightly", "model", 0, "path")`` → ``schedule.nightly.model[0].path``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


_ARRAY_HEADER = re.compile(r"^\[\[\s*(.+?)\s*\]\]")
_HEADER = re.compile(r"^\[\s*(.+?)\s*\]")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^({_PART}(?:\s*\.\s*{_PART})*)\s*=")


def key_lines(text: str) -> dict[Loc, int]:
    """The line (1-based) where each table and key of a TOML text is written.

    Keys inside an array of tables get the table's index: the third ``[[schedule.n.model]]``
    block's ``path`` is ``("schedule", "n", "model", 2, "path")``, as pydantic names it.
    """
    out: dict[Loc, int] = {}
    counts: dict[Loc, int] = {}
    table: Loc = ()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if found := _ARRAY_HEADER.match(line):
            parts = _dotted(found.group(1))
            path = (*_within_arrays(parts[:-1], counts), parts[-1])
            counts[path] = counts.get(path, -1) + 1
            table = (*path, counts[path])
            out.setdefault(path, number)
            out.setdefault(table, number)
        elif found := _HEADER.match(line):
            table = _within_arrays(_dotted(found.group(1)), counts)
            out.setdefault(table, number)
        elif found := _KEY.match(line):
            out.setdefault((*table, *_dotted(found.group(1))), number)
    return out


def _dotted(text: str) -> tuple[str, ...]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return tuple(p.strip("\"'") for p in parts)


def _within_arrays(path: tuple[str, ...], counts: dict[Loc, int]) -> Loc:
    """The path with the current index after every prefix that is an array of tables."""
    out: Loc = ()
    for part in path:
        out = (*out, part)
        if out in counts:
            out = (*out, counts[out])
    return out
