"""`pomar report`: results from the store, a baseline comparison, reports and exit codes."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from orchestrator.stores import open_store
from pomar.cli import cli, main
from pomar.commands.report import report
from pomar_core.artifact_stores import open_artifacts, s3
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import ArtifactStore, save_array, save_arrays
from pomar_core.settings import Settings
from pomar_core.wire import (
    ComputeUnit,
    DType,
    OutputRef,
    Reference,
    ReferenceKind,
    RunConfig,
    RunSpec,
    RunStatus,
    TensorSpec,
)
from tests.orchestrator.test_history import PHONE, T0, job, result, samples

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def registered() -> None:
    # The lead registers the command in pomar/cli.py; until then the tests add it.
    if "report" not in cli.commands:
        cli.add_command(report)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("POMAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("POMAR_BROKER_URL", raising=False)
    monkeypatch.delenv("POMAR_STORE_URL", raising=False)
    monkeypatch.delenv("POMAR_ARTIFACTS_URL", raising=False)
    return Settings()


def _store_job(
    settings: Settings,
    job_id: str,
    *,
    label: str | None = "nightly",
    days: int = 0,
    scale: float = 1.0,
    status: RunStatus = RunStatus.PASSED,
    artifacts: ArtifactStore | None = None,
) -> None:
    """A job with one finished ANE run on PHONE, its reference and outputs on disk (or in
    ``artifacts``)."""
    artifacts = artifacts or LocalArtifactStore(settings.artifacts_dir)
    ref = {"y": np.linspace(-1, 1, 64, dtype=np.float32).reshape(1, 64)}
    reference = Reference(
        sha256=save_arrays(artifacts, ref),
        kind=ReferenceKind.SOURCE_FP32,
        outputs=(TensorSpec(name="y", dtype=DType.FLOAT32, shape=(1, 64)),),
        description="the test model in fp32",
    )
    spec = job(job_id, label, T0 + timedelta(days=days)).model_copy(update={"reference": reference})
    run = RunSpec(
        run_id=f"{job_id}-r0",
        job_id=job_id,
        device_id=PHONE.udid,
        compute_unit=ComputeUnit.ANE,
        model=spec.model,
        inputs=spec.inputs,
        config=RunConfig(),
    )
    store = open_store(settings.resolved_store_url)
    store.add_job(spec, [(run, "pomar.device.x")])
    store.mark_running(run.run_id, PHONE.udid)
    out_sha = save_array(artifacts, ref["y"].astype(np.float16))
    finished = result(
        run.run_id, job_id=job_id, status=status, latency=samples(days, 20, scale, 0.03)
    ).model_copy(
        update={
            "outputs": (OutputRef(name="y", sha256=out_sha, dtype=DType.FLOAT16, shape=(1, 64)),)
        }
    )
    assert store.record_result(finished)


def test_a_job_no_slower_than_its_baseline_exits_0(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_job(settings, "base", days=0)
    _store_job(settings, "now", days=1)
    assert main(["report", "now", "--baseline", "base"]) == 0
    out = capsys.readouterr().out
    assert "Against baseline base" in out
    assert "same" in out


def test_a_slower_job_exits_1_and_every_report_carries_the_regression(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_job(settings, "n1", days=0)
    _store_job(settings, "adhoc", label=None, days=1)
    _store_job(settings, "n2", days=2, scale=1.6)
    paths = {k: tmp_path / f"r.{k}" for k in ("json", "xml", "html")}
    args = ["report", "n2", "--last-nightly", "nightly", "--json", str(paths["json"])]
    args += ["--junit", str(paths["xml"]), "--html", str(paths["html"])]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "regressed: latency ×1.5 slower" in out
    doc = json.loads(paths["json"].read_text())
    assert doc["comparison"]["baseline_job_id"] == "n1"
    assert doc["comparison"]["runs"][0]["latency"]["bucket"] == 1.5
    xmlschema = pytest.importorskip("xmlschema")
    xsd = HERE.parent.parent / "orchestrator" / "reports" / "junit-10.xsd"
    xmlschema.XMLSchema(xsd).validate(paths["xml"])
    suites = ET.parse(paths["xml"]).getroot()
    assert suites.get("failures") == "1"
    history = suites.findall("testsuite")[1]
    assert history.get("name") == "pomar.history.n1"
    page = paths["html"].read_text()
    assert "Against baseline n1" in page
    assert "error histogram" in page  # arrays were found in the artifact store


def test_json_to_stdout_holds_the_comparison(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_job(settings, "base", days=0)
    _store_job(settings, "now", days=1)
    assert main(["report", "now", "--baseline", "base", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["comparison"]["runs"][0]["matched_by"] == "udid"


def test_a_failed_run_exits_1_without_a_baseline(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_job(settings, "bad", status=RunStatus.OOM_KILLED)
    assert main(["report", "bad"]) == 1
    assert "oom_killed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "nope"], "no job 'nope'"),
        (["report", "now", "--baseline", "nope"], "no job 'nope'"),
        (["report", "now", "--last-nightly", "weekly"], "no job labelled 'weekly'"),
        (["report", "now", "--baseline", "now", "--last-nightly", "x"], "both name a baseline"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    settings: Settings, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    _store_job(settings, "now")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_report_reads_the_histograms_arrays_through_the_configured_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On an S3 farm the arrays are in the bucket, not under the local artifacts directory."""
    bucket = s3.MemoryObjectClient()
    monkeypatch.setattr(s3, "Boto3ObjectClient", lambda name, endpoint: bucket)
    monkeypatch.setenv("POMAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POMAR_ARTIFACTS_URL", "s3://farm-artifacts/pomar")
    for name in ("POMAR_BROKER_URL", "POMAR_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    _store_job(settings, "now", artifacts=open_artifacts(settings))
    assert bucket.objects
    assert not settings.artifacts_dir.exists()
    shutil.rmtree(settings.data_dir / "cache" / "artifacts")  # the bucket alone holds them now
    page = tmp_path / "r.html"
    assert main(["report", "now", "--html", str(page)]) == 0, capsys.readouterr().err
    assert "error histogram" in page.read_text()
    assert bucket.downloads > 0


def test_html_without_matplotlib_exits_2_naming_the_extra_before_any_work(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _store_job(settings, "now")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    commands = (["report", "now"], ["results", "now"], ["check", "m.mlpackage"], ["preflight", "m"])
    for command in commands:
        assert main([*command, "--html", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert "pip install 'pomar[reports]'" in err
        assert "internal error" not in err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_only_one_report_may_go_to_stdout(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_job(settings, "now")
    assert main(["report", "now", "--json", "-", "--junit", "-"]) == 2
    assert "only one report can go to stdout" in capsys.readouterr().err


def test_junit_to_stdout_replaces_the_table(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _store_job(settings, "now")
    assert main(["results", "now", "--junit", "-"]) == 0
    ET.fromstring(capsys.readouterr().out.encode())
