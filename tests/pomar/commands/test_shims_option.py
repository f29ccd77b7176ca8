"""`pomar check` and `pomar preflight` convert with shims only when needed, say so, and
`--no-shims` keeps coremltools' own refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.reports import read_json
from pomar.cli import main

FACTORY = """
import torch


class NewOnes(torch.nn.Module):
    def forward(self, x):
        return x * x.new_ones(x.shape)


def build():
    return NewOnes(), (torch.randn(2, 5),)
"""


@pytest.fixture
def factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("POMAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("POMAR_BROKER_URL", raising=False)
    monkeypatch.delenv("POMAR_STORE_URL", raising=False)
    path = tmp_path / "needs_shim.py"
    path.write_text(FACTORY)
    return f"{path}:build"


@pytest.mark.slow
def test_check_records_the_shims_it_used(
    factory: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    code = main(["check", factory, "--iterations", "1", "--warmup", "0", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    document = read_json(out)
    assert document.job is not None
    assert document.job.model.converter_shims == ("new_ones",)
    assert "converter shims: new_ones" in capsys.readouterr().out


def test_no_shims_exits_2_naming_the_op(factory: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", factory, "--no-shims", "--iterations", "1", "--warmup", "0"])
    assert code == 2
    assert "new_ones" in capsys.readouterr().err


def test_preflight_names_the_shims_per_conversion(
    factory: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.json"
    code = main(["preflight", factory, "--quiet", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    attempts = json.loads(out.read_text())["conversions"]
    assert any(a["converted"] and a["shims"] == ["new_ones"] for a in attempts)
    code = main(["preflight", factory, "--quiet", "--no-shims", "--json", str(out)])
    attempts = json.loads(out.read_text())["conversions"]
    assert not any(a["converted"] and a["front_end"] == "torchscript" for a in attempts)
