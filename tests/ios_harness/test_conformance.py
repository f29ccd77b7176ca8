"""The Swift harness speaks the same protocol as the pydantic wire models, checked on Linux.

The Swift sources are parsed with the real tree-sitter-swift grammar; the golden fixtures in
``ios_harness/fixtures/`` are shared with the Swift tests (``swift test`` on a Mac).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from pomar_core.wire.harness import HarnessJob, HarnessResult
from tests.ios_harness import make_fixtures
from tests.ios_harness.npy_format import npy_bytes
from tests.ios_harness.schema_conformance import check
from tests.ios_harness.swift_codable import SwiftModule, error_nodes, parse

IOS_HARNESS = Path(__file__).resolve().parents[2] / "ios_harness"
FIXTURES = IOS_HARNESS / "fixtures"
PROTOCOL_SOURCES = sorted((IOS_HARNESS / "Sources" / "PomarHarnessKit").glob("Harness*.swift"))
ALL_SWIFT = sorted(IOS_HARNESS.rglob("*.swift"))


@pytest.fixture(scope="module")
def swift_module() -> SwiftModule:
    return SwiftModule.from_files(ALL_SWIFT)


def protocol_text() -> str:
    return "\n".join(p.read_text() for p in PROTOCOL_SOURCES)


def test_the_harness_has_swift_sources_to_check() -> None:
    names = {p.name for p in ALL_SWIFT}
    assert {"HarnessJob.swift", "HarnessResult.swift"} <= names
    assert any(p.parent.name == "App" for p in ALL_SWIFT)
    assert any("Tests" in p.parts for p in ALL_SWIFT)


@pytest.mark.parametrize("path", ALL_SWIFT, ids=lambda p: str(p.relative_to(IOS_HARNESS)))
def test_every_swift_file_parses_without_errors(path: Path) -> None:
    bad = error_nodes(parse(path.read_bytes()))
    assert not bad, [f"line {n.start_point[0] + 1}: {n.text!r}"[:120] for n in bad]


def test_swift_job_type_matches_the_pydantic_job_field_for_field(
    swift_module: SwiftModule,
) -> None:
    assert check(HarnessJob.model_json_schema(), swift_module) == []


@pytest.mark.parametrize("mode", ["validation", "serialization"])
def test_swift_result_type_matches_the_pydantic_result_field_for_field(
    swift_module: SwiftModule, mode: str
) -> None:
    schema = HarnessResult.model_json_schema(mode=mode)  # type: ignore[arg-type]
    assert check(schema, swift_module) == []


@pytest.mark.parametrize(
    ("original", "mutated", "complaint"),
    [
        ('case runId = "run_id"', 'case runId = "runid"', "HarnessJob.run_id"),
        ("public let error: String?", "public let error: String", "HarnessResult.error"),
        ("public let warmup: Int\n", "public let warmup: Double\n", "HarnessJob.warmup"),
        ("    case ane\n    case unknown\n", "    case ane\n", "PreferredDevice raw values differ"),
        ("?? true", "?? false", "HarnessJob.collect_compute_plan"),
        ("public let peakBytes: Int64\n", "", "HarnessPhaseMemory.peak_bytes"),
        ("public let shape: [Int]", "public let shape: Int", "HarnessTensor.shape"),
        ('case readJob = "read_job"', 'case readJob = "readJob"', "HarnessPhase"),
        ("public let maxDurationS: Double?", "public let maxDurationS: Double", "max_duration_s"),
        ("forKey: .warnings) ?? []", 'forKey: .warnings) ?? [""]', "HarnessResult.warnings"),
        ("    case charging\n", "", "BatteryState raw values differ"),
        ("public let computePlanNs: Int64?\n", "", "HarnessTimings.compute_plan_ns"),
    ],
    ids=[
        "renamed-key",
        "de-optionalised",
        "wrong-type",
        "missing-enum-case",
        "wrong-default",
        "missing-field",
        "array-to-scalar",
        "enum-raw-value",
        "new-optional-de-optionalised",
        "new-default-differs",
        "new-enum-missing-case",
        "new-field-missing",
    ],
)
def test_a_deliberate_mismatch_in_the_swift_source_fails_the_check(
    original: str, mutated: str, complaint: str
) -> None:
    text = protocol_text()
    assert original in text, f"mutation target not found: {original!r}"
    module = SwiftModule.from_text(text.replace(original, mutated, 1))
    problems = check(HarnessJob.model_json_schema(), module) + check(
        HarnessResult.model_json_schema(), module
    )
    assert any(complaint in p for p in problems), problems


def test_a_snippet_without_coding_keys_or_default_decoding_is_reported() -> None:
    snippet = """
    public enum DType: String, Codable { case float16, float32, float64, int32, int8, uint8, bool }
    public struct HarnessTensor: Codable {
        public let name: String
        public let file: String
        public let dtype: DType
        public let shape: [Int]
        public let isImage: Bool
    }
    """
    schema = HarnessJob.model_json_schema()
    tensor_schema = schema["$defs"]["HarnessTensor"] | {"$defs": schema["$defs"]}
    problems = check(tensor_schema, SwiftModule.from_text(snippet))
    assert any("no explicit CodingKeys" in p for p in problems)
    assert any("HarnessTensor.is_image" in p for p in problems)  # JSON key isImage ≠ is_image


def test_a_snippet_that_does_not_parse_is_reported() -> None:
    module = SwiftModule.from_text("public struct Broken: Codable { let x: = }")
    assert module.problems


def test_golden_job_is_a_valid_pydantic_job() -> None:
    job = HarnessJob.model_validate_json((FIXTURES / "job.json").read_text())
    assert job == make_fixtures.job()
    assert job.inputs[0].shape == (2, 3)


def test_golden_ok_result_is_read_by_pydantic_with_the_expected_values() -> None:
    result = HarnessResult.model_validate_json((FIXTURES / "result_ok.json").read_text())
    assert result.status == "ok"
    assert result.timings is not None
    assert result.timings.compile_ns is None
    assert result.timings.cold_load_ns == 812_400_000
    assert len(result.timings.prediction_ns) == 10
    assert result.memory is not None
    assert result.memory.peak_bytes == 61_250_000
    assert [op.preferred for op in result.compute_plan] == ["cpu", "ane", "unknown"]
    assert result.compute_plan[2].cost_weight is None
    assert result.environment.thermal_state_by_phase["predictions"] == "fair"
    assert result.outputs[0].dtype == "float16"


def test_golden_failed_result_is_read_by_pydantic() -> None:
    result = HarnessResult.model_validate_json((FIXTURES / "result_failed.json").read_text())
    assert (result.status, result.error_phase) == ("error", "load")
    assert result.timings is None
    assert result.environment.battery_level is None


def test_golden_results_leave_out_nil_fields_like_the_swift_encoder() -> None:
    ok = json.loads((FIXTURES / "result_ok.json").read_text())
    assert "compile_ns" not in ok["timings"]
    assert "error" not in ok
    assert "cost_weight" not in ok["compute_plan"][2]


@pytest.mark.parametrize(
    ("name", "dtype", "expected"),
    [
        ("float32_2x3.npy", np.float32, [[-1.0, -0.5, 0.0], [0.5, 1.0, 1.5]]),
        ("float16_1x4.npy", np.float16, [[1.0, -2.5, 65504.0, 2.0**-14]]),
        ("int32_5.npy", np.int32, [0, 1, -2, 2**31 - 1, -(2**31)]),
    ],
)
def test_golden_npy_files_in_the_app_format_load_in_numpy(
    name: str, dtype: type, expected: list[object]
) -> None:
    array = np.load(FIXTURES / name, allow_pickle=False)
    assert array.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(array, np.array(expected, dtype=dtype))


@pytest.mark.parametrize("name", sorted(make_fixtures.APP_ARRAYS))
def test_golden_npy_bytes_are_the_app_format_and_what_numpy_writes(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    array = np.load(io.BytesIO(data), allow_pickle=False)
    assert len(data) - array.nbytes == int.from_bytes(data[8:10], "little") + 10
    assert (len(data) - array.nbytes) % 64 == 0
    assert data == npy_bytes(str(array.dtype), array.shape, array.tobytes())
    saved = io.BytesIO()
    np.save(saved, array, allow_pickle=False)
    assert data == saved.getvalue()


def test_reader_fixtures_cover_big_endian_and_fortran_order() -> None:
    big = np.load(FIXTURES / "float32_be_2x2.npy", allow_pickle=False)
    fortran = np.load(FIXTURES / "float64_fortran_2x3.npy", allow_pickle=False)
    assert big.dtype.byteorder == ">"
    assert fortran.flags.f_contiguous
    assert not fortran.flags.c_contiguous
    np.testing.assert_array_equal(fortran, np.arange(6.0).reshape(2, 3))


def test_fixtures_are_what_the_generator_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(make_fixtures, "FIXTURES", tmp_path)
    make_fixtures.main()
    for path in sorted(FIXTURES.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_golden_files_carry_the_optional_fields_added_within_protocol_1() -> None:
    job = HarnessJob.model_validate_json((FIXTURES / "job.json").read_text())
    ok = HarnessResult.model_validate_json((FIXTURES / "result_ok.json").read_text())
    no_plan = HarnessResult.model_validate_json((FIXTURES / "result_no_plan.json").read_text())
    assert job.max_duration_s == 30.0
    assert ok.timings is not None
    assert ok.timings.compute_plan_ns == 230_500_000
    assert ok.environment.battery_state == "charging"
    assert ok.warnings == ()
    assert no_plan.compute_plan == ()
    assert no_plan.timings is not None
    assert no_plan.timings.compute_plan_ns is None
    assert no_plan.warnings == ("compute plan: needs iOS 17.4, this is 16.7.8",)


def _without(document: dict[str, object], keys: set[str]) -> dict[str, object]:
    return {
        k: _without(v, keys) if isinstance(v, dict) else v
        for k, v in document.items()
        if k not in keys
    }


NEW_FIELDS = {"max_duration_s", "compute_plan_ns", "battery_state", "warnings"}


@pytest.mark.parametrize("name", ["job.json", "result_ok.json", "result_no_plan.json"])
def test_files_written_before_the_optional_fields_existed_are_still_valid(name: str) -> None:
    model = HarnessJob if name == "job.json" else HarnessResult
    old = _without(json.loads((FIXTURES / name).read_text()), NEW_FIELDS)
    parsed = model.model_validate(old)
    dumped = parsed.model_dump()
    assert dumped.get("max_duration_s") is None
    assert dumped.get("warnings", ()) == ()
    if isinstance(parsed, HarnessResult):
        assert parsed.environment.battery_state is None
        assert parsed.timings is not None
        assert parsed.timings.compute_plan_ns is None
