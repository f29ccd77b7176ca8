"""`pomar check` end to end: embedded Celery, the emulated device, parity, reports, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from orchestrator.reports import read_json
from pomar.cli import main
from pomar_core.wire import ReferenceKind, RunStatus

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("POMAR_DATA_DIR", str(directory))
    monkeypatch.delenv("POMAR_BROKER_URL", raising=False)
    monkeypatch.delenv("POMAR_STORE_URL", raising=False)
    monkeypatch.chdir(ROOT)
    return directory


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.slow
def test_the_example_cnn_passes_and_writes_every_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    code = main(
        [
            "check",
            "examples/cnn.py:build",
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--json",
            str(out / "r.json"),
            "--junit",
            str(out / "r.xml"),
            "--html",
            str(out / "r.html"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    doc = read_json(out / "r.json")
    assert [r.status for r in doc.results] == [RunStatus.PASSED]
    assert doc.results[0].parity is not None
    assert doc.results[0].timings.latency is not None
    assert "<testcase" in (out / "r.xml").read_text()
    assert "<html" in (out / "r.html").read_text().lower()
    assert "Reference: PyTorch fp32" in capsys.readouterr().out


@pytest.mark.slow
def test_fp32_emulation_of_the_transformer_matches_pytorch_to_1e_4(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    code = main(
        [
            "check",
            "examples/transformer.py:build",
            "--precision",
            "fp32",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--quiet",
            "--json",
            str(path),
        ]
    )
    assert code == 0
    (result,) = read_json(path).results
    assert result.parity is not None
    for output in result.parity.outputs:
        assert output.metrics.relative_l2 is not None
        assert output.metrics.relative_l2 <= 1e-4


@pytest.mark.slow
def test_the_fp16_overflow_example_fails_parity_with_exit_1_and_shows_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    code = main(
        [
            "check",
            "examples/fp16_overflow.py:build",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--json",
            str(path),
        ]
    )
    assert code == 1
    raw = json.loads(path.read_text())
    (result,) = raw["results"]
    assert result["status"] == "parity_failed"
    (output,) = result["parity"]["outputs"]
    assert output["verdict"] == "failed"
    assert output["metrics"]["actual_nan"] + output["metrics"]["actual_inf"] > 0
    assert output["metrics"]["reference_nan"] == 0
    assert result["parity"]["triage"] == "fp16_overflow"
    assert "squares" in result["parity"]["triage_detail"]
    assert "failed" in capsys.readouterr().out


@pytest.mark.slow
def test_a_bare_core_ml_package_uses_the_emulator_as_reference_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import coremltools as ct
    import torch

    from examples.cnn import build

    module, example = build()
    traced = torch.jit.trace(module, example)
    mlmodel = ct.convert(
        traced,
        inputs=[ct.TensorType(name="x", shape=example[0].shape)],
        convert_to="mlprogram",
        compute_precision=ct.precision.FLOAT32,
    )
    package = tmp_path / "cnn.mlpackage"
    mlmodel.save(str(package))
    path = tmp_path / "r.json"
    code = main(
        [
            "check",
            str(package),
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--json",
            str(path),
        ]
    )
    assert code == 0
    doc = read_json(path)
    assert doc.reference is not None
    assert doc.reference.kind is ReferenceKind.EMULATOR_FP32
    assert "emulator" in capsys.readouterr().out.lower()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", "does/not/exist.mlpackage"], "exist"),
        (["check", "examples/cnn.py:build", "--compute-units", "cpu,npu"], "compute unit"),
        (["check", "examples/cnn.py:build", "--device", "iphone-42"], "iphone-42"),
        (["check", "examples/cnn.py:build", "--tolerance", "nonsense"], "nonsense"),
        (["check", "examples/cnn.py:build", "--deployment-target", "iOS"], "deployment-target"),
        (["check", "examples/missing.py:build"], "missing.py"),
        (["check", "examples/cnn.py:nope"], "nope"),
    ],
)
def test_bad_usage_exits_2_with_one_line_and_writes_nothing(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    code = main([*args, "--json", str(report)])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 2, line
    assert expected in line
    assert not report.exists()


def test_a_directory_that_is_not_an_mlpackage_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main(["check", str(folder)]) == 2
    _one_error_line(capsys.readouterr().err)


@pytest.mark.slow
def test_an_npz_with_a_misshaped_input_is_bad_input_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npz = tmp_path / "in.npz"
    np.savez(npz, image=np.zeros((1, 3, 8, 8), dtype=np.float32))
    assert main(["check", "examples/cnn.py:build", "--inputs", str(npz)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "image" in line
    assert "8" in line


def test_on_a_farm_check_asks_which_devices_to_run_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POMAR_BROKER_URL", "redis://127.0.0.1:6379/15")
    assert main(["check", "examples/cnn.py:build"]) == 2
    assert "--pool" in _one_error_line(capsys.readouterr().err)


def test_embedded_check_refuses_farm_selectors_and_says_how_to_reach_a_farm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "examples/cnn.py:build", "--pool", "iPhone15,2"]) == 2
    assert "POMAR_BROKER_URL" in _one_error_line(capsys.readouterr().err)


@pytest.mark.slow
def test_an_op_the_converter_cannot_handle_is_bad_input_naming_the_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    factory = tmp_path / "gamma.py"
    factory.write_text(
        "import torch\n"
        "class M(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return torch.lgamma(x) + 1\n"
        "def build():\n"
        "    return M().eval(), (torch.rand(1, 4) + 1,)\n"
    )
    code = main(["check", f"{factory}:build"])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 2, line
    assert "lgamma" in line


@pytest.mark.slow
def test_nan_in_the_inputs_is_a_warning_carried_into_the_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float16)
    image[0, 0, 0, 0] = np.nan
    npz = tmp_path / "in.npz"
    np.savez(npz, image=image)
    path = tmp_path / "r.json"
    main(
        [
            "check",
            "examples/cnn.py:build",
            "--inputs",
            str(npz),
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--json",
            str(path),
        ]
    )
    (result,) = read_json(path).results
    assert any("NaN" in w for w in result.warnings)
    assert "NaN" in capsys.readouterr().err


@pytest.mark.slow
def test_a_latency_budget_the_run_breaks_is_budget_failed_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    code = main(
        [
            "check",
            "examples/cnn.py:build",
            "--iterations",
            "2",
            "--warmup",
            "0",
            "--budget-p50-ms",
            "0.000001",
            "--quiet",
            "--json",
            str(path),
        ]
    )
    assert code == 1
    (result,) = read_json(path).results
    assert result.status is RunStatus.BUDGET_FAILED
    assert result.budget_violations
    assert "p50" in result.budget_violations[0]


@pytest.mark.slow
def test_a_scripted_torchscript_file_runs_once_its_input_shapes_are_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    class Scale(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x) * 2.0

    path = tmp_path / "scripted.pt"
    torch.jit.script(Scale()).save(str(path))
    assert main(["check", str(path), "--quiet"]) == 2
    assert "input-shapes" in _one_error_line(capsys.readouterr().err)
    assert main(["check", str(path), "--input-shapes", "1x4", "--quiet"]) == 0


def test_malformed_input_shapes_are_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "examples/cnn.py:build", "--input-shapes", "1x3xfoo"]) == 2
    assert "1x3x224x224" in _one_error_line(capsys.readouterr().err)
