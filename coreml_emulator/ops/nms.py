"""``non_maximum_suppression`` (``tensor_operation.py``, iOS15 and iOS17 versions).

Greedy NMS in descending score order. A box's score is its best class score; with
``per_class_suppression`` a box only suppresses boxes whose best class is the same. Unused output
rows are padded: boxes and scores with 0, indices with -1 (the padding the torch converter
strips, see ``frontend/torch/ops.py``).
"""

from __future__ import annotations

import torch

from coreml_emulator.kernels import OpArgs, Tensor, kernel


def _iou(box: Tensor, others: Tensor) -> Tensor:
    """IoU of one ``(cx, cy, w, h)`` box with each of ``others``."""
    lo = torch.maximum(box[:2] - box[2:] / 2, others[:, :2] - others[:, 2:] / 2)
    hi = torch.minimum(box[:2] + box[2:] / 2, others[:, :2] + others[:, 2:] / 2)
    inter = (hi - lo).clamp(min=0).prod(-1)
    union = box[2:].prod() + others[:, 2:].prod(-1) - inter
    return torch.where(union > 0, inter / union, torch.zeros_like(union))


def _select(
    boxes: Tensor,
    scores: Tensor,
    iou_threshold: float,
    score_threshold: float | None,
    max_boxes: int,
    per_class: bool,
) -> list[int]:
    """Indices kept for one batch item (``boxes`` [B, 4], ``scores`` [B, K]), best first."""
    best, label = scores.float().max(-1)
    order = torch.argsort(best, descending=True, stable=True)
    if score_threshold is not None:  # "boxes with class scores below this threshold are rejected"
        order = order[best[order] >= score_threshold]
    kept: list[int] = []
    work = boxes.float()
    for candidate in order.tolist():
        if len(kept) == max_boxes:
            break
        if kept:
            rivals = torch.tensor(kept)
            if per_class:
                rivals = rivals[label[rivals] == label[candidate]]
            if len(rivals) and bool((_iou(work[candidate], work[rivals]) > iou_threshold).any()):
                continue
        kept.append(candidate)
    return kept


@kernel("non_maximum_suppression")
def non_maximum_suppression(args: OpArgs) -> tuple[Tensor, ...]:
    boxes = args.tensor("boxes")
    scores = args.tensor("scores")
    ios17 = not args.has("score_threshold")
    if ios17:  # iOS17 puts the box count last: [n, 4, B] and [n, K, B]
        boxes, scores = boxes.transpose(1, 2), scores.transpose(1, 2)
    max_boxes = args.int("max_boxes")
    iou_threshold = args.float("iou_threshold")
    score_threshold = None if ios17 else args.float("score_threshold")
    per_class = args.bool("per_class_suppression", False)
    batch, _, classes = scores.shape
    out_boxes = boxes.new_zeros((batch, max_boxes, 4))
    out_scores = scores.new_zeros((batch, max_boxes, classes))
    out_indices = torch.full((batch, max_boxes), -1, dtype=torch.int32)
    counts = torch.zeros(batch, dtype=torch.int32)
    for b in range(batch):
        kept = _select(boxes[b], scores[b], iou_threshold, score_threshold, max_boxes, per_class)
        index = torch.tensor(kept, dtype=torch.long)
        out_boxes[b, : len(kept)] = boxes[b, index]
        out_scores[b, : len(kept)] = scores[b, index]
        out_indices[b, : len(kept)] = index.to(torch.int32)
        counts[b] = len(kept)
    if ios17:
        return out_boxes.transpose(1, 2), out_scores.transpose(1, 2), out_indices
    return out_boxes, out_scores, out_indices, counts
