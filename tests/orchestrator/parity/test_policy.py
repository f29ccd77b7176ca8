from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.parity.policy import PRESETS, load_policy
from pomar_core.errors import ToleranceError
from pomar_core.wire import ComputeUnit, OutputMetrics, Precision


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_and_has_thresholds(name: str) -> None:
    policy = load_policy(name)
    assert policy.name == name
    rule = policy.resolve("y", Precision.FP16, ComputeUnit.ANE)
    assert rule.thresholds


def test_default_preset_is_tighter_for_fp32_on_cpu_than_for_fp16_on_the_neural_engine() -> None:
    policy = load_policy("default")
    fp16 = policy.resolve("y", Precision.FP16, ComputeUnit.ANE).thresholds
    fp32_cpu = policy.resolve("y", Precision.FP32, ComputeUnit.CPU).thresholds
    fp32_ane = policy.resolve("y", Precision.FP32, ComputeUnit.ANE).thresholds
    assert fp32_cpu["relative_l2"] < fp16["relative_l2"]
    assert fp32_ane == fp16  # the Neural Engine computes in fp16 whatever the program says


def test_rules_apply_per_output_in_file_order_and_can_disable_a_threshold() -> None:
    policy = load_policy(
        """
        [defaults]
        relative_l2 = 0.05
        cosine_similarity = 0.99
        [[rules]]
        outputs = ["logit*"]
        relative_l2 = 0.5
        disable = ["cosine_similarity"]
        [[rules]]
        outputs = "logits"
        precision = "fp32"
        relative_l2 = 0.1
        """
    )
    assert policy.resolve("y", Precision.FP16, ComputeUnit.ALL).thresholds == {
        "relative_l2": 0.05,
        "cosine_similarity": 0.99,
    }
    assert policy.resolve("logits", Precision.FP16, ComputeUnit.ALL).thresholds == {
        "relative_l2": 0.5
    }
    assert policy.resolve("logits", Precision.FP32, ComputeUnit.ALL).thresholds == {
        "relative_l2": 0.1
    }


def test_failures_read_as_sentences_and_skip_metrics_that_do_not_apply() -> None:
    rule = load_policy("[defaults]\nrelative_l2 = 0.01\ntop1_agreement = 1.0\nsnr_db = 30").resolve(
        "y", Precision.FP16, ComputeUnit.ALL
    )
    metrics = OutputMetrics(relative_l2=0.31, snr_db=40.0)
    assert rule.failures(metrics) == ["relative_l2 0.31 > 0.01"]


def test_policy_loads_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[defaults]\nmax_abs_error = 0.5\n")
    policy = load_policy(str(path))
    assert policy.name == "mine"
    assert policy.resolve("y", Precision.FP16, ComputeUnit.ALL).thresholds == {"max_abs_error": 0.5}


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("[defaults]\nrelative_l2 = ", "not valid TOML"),
        ("[defaults]\nrelative_l2 = 'big'", "defaults.relative_l2"),
        ("[defaults]\nrelativ_l2 = 0.1", "defaults.relativ_l2"),
        ("[defaults]\ndisable = ['psnr']", "unknown metrics"),
        ("[[rules]]\ncompute_units = ['npu']", "rules.0.compute_units"),
        ("no-such-preset", "unknown tolerance preset"),
        ("/nonexistent/policy.toml", "cannot read"),
    ],
)
def test_a_bad_policy_raises_one_clear_line(source: str, fragment: str) -> None:
    with pytest.raises(ToleranceError) as info:
        load_policy(source)
    line = info.value.one_line()
    assert fragment in line
    assert "\n" not in line
