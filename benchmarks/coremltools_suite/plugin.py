"""A pytest plugin that makes coremltools' own tests run predictions through ``coreml_emulator``.

coremltools' test helpers call ``MLModel.predict`` only when ``_IS_MACOS`` is true and the macOS
version is recent enough. This plugin, loaded before the test modules are imported, makes those
checks pass, replaces ``MLModel.predict`` with the emulator, samples one ML-program case per test
function (seeded), and classifies every case:

``match``        predict ran on the emulator and the test passed;
``wrong``        the emulator answered and the test then failed — a wrong answer;
``unsupported``  the emulator refused the program (``UnsupportedOpError``/``ModelError``);
``refused``      the emulator refused the inputs (``InputsError``) and the test failed;
``no-predict``   the case never reached predict (conversion failed, skipped, ...).

Options: ``--emu-seed N``, ``--emu-shard K/N``, ``--emu-results PATH`` (JSON lines, one per case).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

_calls: dict[str, list[str]] = defaultdict(list)
"""Per test node id, the outcome of each emulated predict call."""
_current: list[str] = [""]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("coreml-emulator")
    group.addoption("--emu-seed", type=int, default=0, help="seed for the one-case-per-test sample")
    group.addoption("--emu-shard", default="1/1", help="K/N: run the K-th of N slices")
    group.addoption("--emu-results", default="", help="write one JSON line per case here")
    group.addoption("--emu-all", action="store_true", help="every ML-program case, no sampling")


def pytest_configure(config: pytest.Config) -> None:
    import coremltools as ct
    import coremltools._deps as deps
    import coremltools.models.utils as model_utils

    deps._IS_MACOS = True  # read by `from coremltools._deps import _IS_MACOS` in test modules
    model_utils._macos_version = lambda: (26, 0)
    for name in (
        "coremltools.converters.mil.testing_utils",
        "coremltools.converters.mil.frontend.torch.test.testing_utils",
    ):
        module = __import__(name, fromlist=["_"])
        module._IS_MACOS = True  # type: ignore[attr-defined]
    ct.models.MLModel.predict = _emulated_predict  # type: ignore[method-assign]


def _emulated_predict(self: Any, data: Any, state: Any = None) -> dict[str, Any]:
    import coreml_emulator
    from pomar_core.errors import InputsError, ModelError

    calls = _calls[_current[0]]
    if state is not None:
        calls.append("unsupported")
        raise coreml_emulator.UnsupportedOpError("state", "", detail="stateful models")
    if isinstance(data, list):
        return [_emulated_predict(self, item) for item in data]  # type: ignore[return-value]
    try:
        outputs = coreml_emulator.predict(self, data, precision="fp32", convert_inputs=True)
    except InputsError as exc:
        calls.append("refused")
        # Core ML's predict raises RuntimeError for inputs it will not take.
        raise RuntimeError(exc.one_line()) from exc
    except coreml_emulator.UnsupportedOpError:
        calls.append("unsupported")
        raise
    except ModelError as exc:
        calls.append("refused")
        # A model Core ML will not load: its predict raises RuntimeError too.
        raise RuntimeError(exc.one_line()) from exc
    calls.append("answered")
    return dict(outputs)


def _is_ml_program(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    backend = params.get("backend")
    if backend is None:
        return "mlprogram" in item.name
    return "mlprogram" in str(getattr(backend, "backend", backend))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    candidates = [item for item in items if _is_ml_program(item)]
    if not config.getoption("--emu-all"):
        by_function: dict[str, list[pytest.Item]] = defaultdict(list)
        for item in candidates:
            by_function[item.nodeid.split("[")[0]].append(item)
        rng = random.Random(config.getoption("--emu-seed"))
        candidates = [rng.choice(group) for _, group in sorted(by_function.items())]
    index, count = (int(part) for part in config.getoption("--emu-shard").split("/"))
    chosen = set(candidates[index - 1 :: count])
    deselected = [item for item in items if item not in chosen]
    config.hook.pytest_deselected(items=deselected)
    items[:] = [item for item in items if item in chosen]


def pytest_runtest_setup(item: pytest.Item) -> None:
    _current[0] = item.nodeid


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _record(item, report)
    return report


def _verdict(outcome: str, calls: list[str], xfail: bool) -> str:
    if not calls:
        return "no-predict"
    if xfail:
        return "xfail"
    if outcome == "passed":
        return "match"
    if "unsupported" in calls:
        return "unsupported"
    if "refused" in calls:
        return "refused"
    return "wrong"


def _record(item: pytest.Item, report: pytest.TestReport) -> None:
    path = item.config.getoption("--emu-results")
    calls = _calls.pop(item.nodeid, [])
    xfail = hasattr(report, "wasxfail")
    verdict = _verdict(report.outcome, calls, xfail)
    if not path:
        return
    message = ""
    if report.outcome == "failed" and report.longrepr is not None:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr)
    line = {
        "test": item.nodeid,
        "outcome": report.outcome,
        "verdict": verdict,
        "calls": calls,
        "message": message[:600],
        "seconds": round(report.duration, 2),
    }
    with Path(path).open("a") as out:
        out.write(json.dumps(line) + "\n")
