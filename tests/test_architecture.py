"""The layout is the architecture: the import contracts in pyproject.toml hold, each of them
fails on a deliberate violation, and no module (or subpackage) takes part in an import cycle,
function-level imports included, so none can hide a cycle."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pomar", "orchestrator", "agent", "coreml_emulator", "pomar_core")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts_text() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    start = text.index("[tool.importlinter]")
    return text[start:]


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(project / "pyproject.toml"), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _miniature(tmp_path: Path, violation: tuple[str, str]) -> Path:
    """A tree with Pomar's package names, clean but for one import ``module -> target``."""
    modules = {
        "pomar": "import orchestrator\nimport agent\n",
        "orchestrator": "import coreml_emulator\nimport pomar_core\n",
        "agent": "import pomar_core\n",
        "agent.executor": "",
        "agent.serve": "",
        "agent.discovery": "",
        "agent.device": "",
        "agent.backend": "",
        "agent.devices": "",
        "agent.devices.emulated": "",
        "agent.devices.mac": "",
        "agent.devices.ios": "",
        "agent.devices.ios.backend": "",
        "agent.devices.ios.device": "",
        "agent.devices.ios.fake": "",
        "agent.devices.ios.harness_run": "",
        "agent.devices.ios.services": "",
        "agent.devices.ios.transport": "",
        "agent.devices.ios.pmd3": "import pymobiledevice3\n",
        "coreml_emulator": "import pomar_core\n",
        "pomar_core": "",
        "pomar_core.wire": "",
    }
    source, target = violation
    modules[source] += f"import {target}\n"
    for name, body in modules.items():
        folder = tmp_path.joinpath(*name.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text(body)
    (tmp_path / "pyproject.toml").write_text(_contracts_text())
    return tmp_path


def test_the_import_contracts_hold_for_the_tree() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("violation", "contract"),
    [
        (("agent", "orchestrator"), "CLI on top"),
        (("orchestrator", "agent"), "CLI on top"),
        (("pomar_core", "coreml_emulator"), "CLI on top"),
        (("coreml_emulator", "orchestrator"), "CLI on top"),
        (("orchestrator", "pomar"), "CLI on top"),
        (("pomar_core.wire", "celery"), "Wire models import neither"),
        (("agent.serve", "pymobiledevice3"), "Only the pymobiledevice3 adapter"),
    ],
)
def test_each_contract_fails_on_a_deliberate_violation(
    tmp_path: Path, violation: tuple[str, str], contract: str
) -> None:
    clean = _lint(_miniature(tmp_path / "clean", ("pomar", "pomar_core")))
    assert clean.returncode == 0, clean.stdout[-3000:]
    broken = _lint(_miniature(tmp_path / "broken", violation))
    assert broken.returncode != 0
    assert "1 broken" in broken.stdout
    assert re.search(re.escape(contract), broken.stdout.split("Broken contracts")[-1])


def _strongly_connected(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Tarjan's algorithm, iterative; yields every component of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield sorted(component)


def _module_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph(*PACKAGES)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def test_no_module_takes_part_in_an_import_cycle() -> None:
    cycles = list(_strongly_connected(_module_graph()))
    assert cycles == []


def test_no_subpackage_takes_part_in_an_import_cycle() -> None:
    """Packages seen as units: ``orchestrator.parity`` and ``orchestrator.reports`` may not
    import each other either way round, and likewise for every pair of siblings."""
    modules = _module_graph()
    packages = {m for m in modules if any(o.startswith(m + ".") for o in modules)}

    def owner(module: str, level: str) -> str | None:
        # The sibling of ``level``'s children that contains ``module``.
        if not module.startswith(level + "."):
            return None
        return level + "." + module[len(level) + 1 :].split(".")[0]

    for level in sorted(packages):
        graph: dict[str, set[str]] = {}
        for source, targets in modules.items():
            a = owner(source, level)
            if a is None:
                continue
            graph.setdefault(a, set())
            for target in targets:
                b = owner(target, level)
                if b is not None and b != a:
                    graph[a].add(b)
        assert list(_strongly_connected(graph)) == [], level


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert list(_strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [
        ["a", "b", "c"]
    ]
