"""Compute-unit advice for a synthetic farm result, against expectations worked out by hand;
the Swift file parses with the real Swift grammar; ``pomar advise`` writes both files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.advice import advise, render_swift
from orchestrator.stores import open_store
from pomar.cli import main
from pomar_core.settings import Settings
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    LatencyStats,
    ParityReport,
    RunResult,
    RunStatus,
    Timings,
    TriageLabel,
    Verdict,
)
from tests.factories import job_spec, run_spec

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CPU, GPU, ANE, ALL = ComputeUnit.CPU, ComputeUnit.GPU, ComputeUnit.ANE, ComputeUnit.ALL


def device(udid: str, product: str, os_version: str | None) -> DeviceInfo:
    return DeviceInfo(
        udid=udid,
        kind=DeviceKind.IOS,
        product_type=product,
        marketing_name=f"Phone {product}",
        os_version=os_version,
    )


A1 = device("A1", "iPhone15,2", "17.5.1")
A2 = device("A2", "iPhone15,2", "17.4")
A3 = device("A3", "iPhone15,2", "18.1")
B1 = device("B1", "iPhone12,1", "16.7.2")


def run(
    dev: DeviceInfo,
    unit: ComputeUnit,
    status: RunStatus = RunStatus.PASSED,
    p50: float | None = None,
    at: int = 1,
    job: str = "job-a",
) -> RunResult:
    failed_parity = status is RunStatus.PARITY_FAILED
    return RunResult(
        run_id=f"{job}-{dev.udid}-{unit.value}-{at}",
        job_id=job,
        device=dev,
        compute_unit=unit,
        status=status,
        finished_at=T0 + timedelta(hours=at),
        timings=Timings(latency=LatencyStats.from_samples([p50])) if p50 else Timings(),
        parity=ParityReport(
            reference_kind="source_fp32",
            tolerance="default",
            outputs=(),
            verdict=Verdict.FAILED,
            triage=TriageLabel.ENGINE_MISMATCH,
            triage_detail="suspect the engine",
        )
        if failed_parity
        else None,
        budget_violations=("p50 9 ms over the 4 ms budget",)
        if status is RunStatus.BUDGET_FAILED
        else (),
        error="the app crashed (SIGSEGV)" if status is RunStatus.CRASHED else None,
    )


FARM = [
    # iPhone15,2 on iOS 17, two phones: gpu passes on both (slowest p50 3), cpu too (6);
    # ane fails parity on A2 although A1 passes; all breaks its latency budget.
    run(A1, CPU, p50=5.0),
    run(A2, CPU, p50=6.0),
    run(A1, GPU, RunStatus.PARITY_FAILED, at=0),  # superseded by the later pass
    run(A1, GPU, p50=2.0),
    run(A2, GPU, p50=3.0),
    run(A1, ANE, p50=1.0),
    run(A2, ANE, RunStatus.PARITY_FAILED),
    run(A1, ALL, RunStatus.BUDGET_FAILED, p50=9.0),
    run(A2, ALL, RunStatus.CANCELLED),  # not a result: skipped
    # iPhone15,2 on iOS 18: all and ane tie at 1.5 → all (Core ML's default) wins.
    run(A3, ANE, p50=1.5),
    run(A3, ALL, p50=1.5),
    run(A3, CPU, p50=4.0),
    # iPhone12,1 on iOS 16: nothing passes.
    run(B1, CPU, RunStatus.PARITY_FAILED),
    run(B1, GPU, RunStatus.CRASHED),
]


def test_the_advice_for_a_synthetic_farm_matches_the_hand_computed_one() -> None:
    advice = advise("m", "c" * 64, ["job-a"], FARM)

    assert [(d.product_type, d.ios_major, d.recommended) for d in advice.devices] == [
        ("iPhone12,1", 16, None),
        ("iPhone15,2", 17, GPU),
        ("iPhone15,2", 18, ALL),
    ]
    old, ios17, ios18 = advice.devices
    assert [(o.compute_unit, o.passed, o.p50_ms, o.status) for o in ios17.outcomes] == [
        (GPU, True, 3.0, RunStatus.PASSED),
        (CPU, True, 6.0, RunStatus.PASSED),
        (ALL, False, None, RunStatus.BUDGET_FAILED),
        (ANE, False, None, RunStatus.PARITY_FAILED),
    ]
    why = {o.compute_unit: o.why for o in ios17.outcomes}
    assert why[ANE] == "triage engine_mismatch: suspect the engine"
    assert why[ALL] == "p50 9 ms over the 4 ms budget"
    assert ios17.note == (
        "gpu is the fastest that passed (p50 3 ms); failed: all budget_failed, ane parity_failed"
    )
    assert {o.compute_unit: o.runs for o in ios17.outcomes}[GPU] == (
        "job-a-A1-gpu-1",
        "job-a-A2-gpu-1",
    )
    assert [o.compute_unit for o in ios18.outcomes] == [ALL, ANE, CPU]
    assert old.note == (
        "no compute-unit setting passed parity and budgets: gpu crashed, cpu parity_failed"
    )
    assert {o.compute_unit: o.why for o in old.outcomes}[GPU] == "the app crashed (SIGSEGV)"


def test_a_device_without_an_ios_version_is_listed_but_not_advised_in_swift() -> None:
    advice = advise("m", "c" * 64, ["job-a"], [run(device("C1", "iPhone9,9", None), CPU, p50=1)])
    assert advice.devices[0].ios_major is None
    swift = render_swift(advice)
    assert "iOS version unknown, not advised" in swift
    assert '"iPhone9,9"' not in swift.split("switch")[1].split("default")[0].replace("//", "#")


def test_the_swift_file_parses_and_switches_on_product_and_ios_major() -> None:
    swift_codable = pytest.importorskip("tests.ios_harness.swift_codable")
    swift = render_swift(advise("m", "c" * 64, ["job-a"], FARM), "ModelComputeUnits")

    root = swift_codable.parse(swift.encode())
    assert swift_codable.error_nodes(root) == []
    assert 'case ("iPhone15,2", 17):\n            return .cpuAndGPU' in swift
    assert 'case ("iPhone15,2", 18):\n            return .all' in swift
    assert 'case ("iPhone12,1", 16):\n            return nil' in swift
    assert 'noPassingSetting: Set<String> = ["iPhone12,1/16"]' in swift
    assert "public enum ModelComputeUnits {" in swift


def test_an_ane_advice_is_guarded_by_its_availability() -> None:
    swift_codable = pytest.importorskip("tests.ios_harness.swift_codable")
    swift = render_swift(advise("m", "c" * 64, ["j"], [run(A1, ANE, p50=1.0)]))
    assert (
        "if #available(iOS 16.0, macOS 13.0, *) {\n                return .cpuAndNeuralEngine"
        in swift
    )
    assert swift_codable.error_nodes(swift_codable.parse(swift.encode())) == []


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("POMAR_DATA_DIR", str(tmp_path / "data"))
    for name in ("POMAR_BROKER_URL", "POMAR_STORE_URL", "POMAR_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)
    return Settings()


def test_pomar_advise_writes_json_and_swift_for_a_label(settings: Settings, tmp_path: Path) -> None:
    store = open_store(settings.resolved_store_url)
    for night, results in (("job-a", FARM[:8]), ("job-b", FARM[9:])):
        job = job_spec(night, label="nightly", at=T0)
        specs = [
            run_spec(job, n, device_id=r.device.udid, unit=r.compute_unit)
            for n, r in enumerate(results)
        ]
        store.add_job(job, [(s, "q") for s in specs])
        for spec, result in zip(specs, results, strict=True):
            store.mark_running(spec.run_id, result.device.udid)
            store.record_result(result.model_copy(update={"run_id": spec.run_id, "job_id": night}))

    code = main(
        [
            "advise",
            "nightly",
            "--json",
            str(tmp_path / "a.json"),
            "--swift",
            str(tmp_path / "A.swift"),
        ]
    )

    assert code == 1  # the iPhone12,1 on iOS 16 has no passing setting
    written = json.loads((tmp_path / "a.json").read_text())
    assert sorted(written["jobs"]) == ["job-a", "job-b"]
    assert [(d["product_type"], d["ios_major"], d["recommended"]) for d in written["devices"]] == [
        ("iPhone12,1", 16, None),
        ("iPhone15,2", 17, "gpu"),
        ("iPhone15,2", 18, "all"),
    ]
    assert "return .cpuAndGPU" in (tmp_path / "A.swift").read_text()


def test_pomar_advise_names_what_to_pass_for_an_unknown_job_or_label(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", "nope"]) == 2
    assert "no job or label 'nope'" in capsys.readouterr().err
