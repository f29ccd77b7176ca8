"""``non_maximum_suppression`` (iOS15 and iOS17 definitions) on a hand-built scene whose answer
follows from the docstring: greedy by score, ``IoU > iou_threshold`` suppresses, scores below
``score_threshold`` are rejected, unused rows are padded (indices with -1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.coreml_emulator.conftest import ct, run_mil

# (cx, cy, w, h). Box 1 overlaps box 0 (IoU ~0.9); box 3 overlaps box 2 (IoU 0.6); box 4 is alone.
BOXES = np.array(
    [[[0, 0, 2, 2], [0.1, 0, 2, 2], [5, 5, 2, 2], [5.5, 5, 2, 2], [10, 10, 1, 1]]], np.float32
)
# Best classes: 0, 1, 0, 0, 0. Box 4's best score (0.05) is under the 0.1 score threshold.
SCORES = np.array([[[0.9, 0.1], [0.1, 0.8], [0.7, 0.2], [0.3, 0.1], [0.05, 0.0]]], np.float32)


def _mb() -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb


def _outputs(target: Any, x: np.ndarray[Any, Any], build: Callable[[Any], Any]) -> list[Any]:
    return run_mil(target, x, build)


def _ios15(per_class: bool) -> Callable[[Any], Any]:
    def build(x: Any) -> Any:  # mb.program reads the signature: no defaulted arguments
        return _mb().non_maximum_suppression(
            boxes=x,
            scores=SCORES,
            iou_threshold=0.5,
            score_threshold=0.1,
            max_boxes=4,
            per_class_suppression=per_class,
        )

    return build


@pytest.mark.parametrize(("per_class", "kept"), [(False, [0, 2]), (True, [0, 1, 2])])
def test_ios15_nms_keeps_the_best_boxes_and_pads_the_rest(per_class: bool, kept: list[int]) -> None:
    boxes, scores, indices, count = _outputs(ct.target.iOS16, BOXES, _ios15(per_class))
    assert indices.tolist() == [kept + [-1] * (4 - len(kept))]
    assert count.tolist() == [len(kept)]
    np.testing.assert_array_equal(boxes[0, : len(kept)], BOXES[0, kept])
    np.testing.assert_array_equal(scores[0, : len(kept)], SCORES[0, kept])
    assert not boxes[0, len(kept) :].any()
    assert not scores[0, len(kept) :].any()


def test_ios17_nms_takes_boxes_last_and_has_no_score_threshold() -> None:
    def build(x: Any) -> Any:
        return _mb().non_maximum_suppression(
            boxes=x, scores=SCORES.transpose(0, 2, 1), iou_threshold=0.5, max_boxes=4
        )

    boxes, scores, indices = _outputs(ct.target.iOS17, BOXES.transpose(0, 2, 1), build)
    assert indices.tolist() == [[0, 2, 4, -1]]
    np.testing.assert_array_equal(boxes[0, :, :3], BOXES[0, [0, 2, 4]].T)
    np.testing.assert_array_equal(scores[0, :, :3], SCORES[0, [0, 2, 4]].T)
