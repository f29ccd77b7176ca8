"""The catalogue of known Core ML pitfalls, as rules over the MIL program.

Each entry cites the public issue or document it comes from (see
``shared/reference/coremltools.md`` Part 2 for the catalogue these were drawn from). Severity
``error`` is kept for what will fail outright; numeric and placement risks are warnings, and
context is info.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from orchestrator.preflight.memory import human_bytes
from orchestrator.preflight.report import Severity
from orchestrator.preflight.rules import Hit, Rule, RuleContext, fed_by, name_of, producer

HARDWARE_DIM_LIMIT = 16384
"""Largest tensor dimension the GPU (texture width) and the Neural Engine accept."""
WEIGHT_FILE_LIMIT = 2**31
LARGE_MODEL_BYTES = 256 * 1024**2
_FP32_MIN_LIKE = 1e38
"""coremltools 9.0's fp16 pass treats constants at or beyond this as infinite and casts them."""

_GH = "https://github.com/"


def _dilated_convs(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("conv", "conv_transpose"):
        dilations = _val(op, "dilations")
        if dilations is not None and np.any(np.asarray(dilations) > 1):
            yield Hit(
                f"{op.op_type} with dilation {list(np.asarray(dilations).tolist())}: dilated "
                "convolutions are often lowered by materialising a dilated kernel or a "
                "space-to-batch copy; measure the memory on a device",
                name_of(op),
            )


def _range_shapes(ctx: RuleContext) -> Iterator[Hit]:
    for spec in ctx.inputs:
        if spec.shape_range is not None:
            yield Hit(
                f"input '{spec.name}' has range-flexible dimensions {list(spec.shape_range)}: "
                "the Neural Engine runs only the default shape, other shapes fall back to "
                "GPU/CPU and can be many times slower",
                spec.name,
            )


def _enumerated_layer_norm(ctx: RuleContext) -> Iterator[Hit]:
    if not any(spec.enumerated_shapes for spec in ctx.inputs):
        return
    for op in ctx.ops_of("layer_norm"):
        yield Hit(
            "layer_norm in a model with enumerated input shapes has kept the whole model off "
            "the Neural Engine (≈9x slower)",
            name_of(op),
        )
        return


def _flexible_reuse(ctx: RuleContext) -> Iterator[Hit]:
    flexible = [spec.name for spec in ctx.inputs if spec.flexible]
    if flexible:
        yield Hit(
            f"flexible input(s) {', '.join(flexible)}: predicting different shapes with one "
            "loaded model has returned stale regions on some GPUs; test alternating shapes",
        )


def _fp32_min_masks(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("const"):
        value = op.outputs[0].val
        if value is None:
            continue
        array = np.asarray(value)
        if array.dtype.kind != "f" or array.size == 0:
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            extreme = np.abs(array.astype(np.float64)) >= _FP32_MIN_LIKE
        if not np.any(extreme):
            continue
        consumers = ", ".join(sorted({c.op_type for c in op.outputs[0].child_ops})) or "nothing"
        sentinel = float(array.reshape(-1)[np.argmax(extreme)])
        yield Hit(
            f"constant {op.outputs[0].name} holds {sentinel:.3g} and feeds {consumers}: a "
            "mask built from the float32 minimum becomes -inf in fp16, and fully masked rows "
            "give softmax(-inf - -inf) = NaN",
            name_of(op),
        )


def _recurrent(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("lstm", "gru", "rnn"):
        yield Hit(f"{op.op_type} never runs on the Neural Engine; it runs on the CPU", name_of(op))


def _dynamic_weight_convs(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("conv", "conv_transpose"):
        maker = producer(op.inputs["weight"])
        if (
            maker is not None
            and maker.op_type != "const"
            and not maker.op_type.startswith("constexpr_")
        ):
            yield Hit(
                f"{op.op_type} with a weight computed at run time (from {maker.op_type}): "
                "dynamic-weight convolutions fall back to the CPU",
                name_of(op),
            )


def _topk_gather(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("topk", "gather_along_axis", "gather_nd"):
        yield Hit(f"{op.op_type} often leaves the Neural Engine (runs on CPU)", name_of(op))


def _rank_over_five(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.operations:
        if op.op_type == "const":
            continue
        for out in op.outputs:
            shape = getattr(out, "shape", None)
            if shape is not None and len(shape) > 5:
                yield Hit(
                    f"{op.op_type} produces a rank-{len(shape)} tensor; Core ML supports rank "
                    "≤ 5 and such models fail to compile or fall back to the CPU",
                    name_of(op),
                )
                break


def _huge_weights(ctx: RuleContext) -> Iterator[Hit]:
    size = max(ctx.weight_file_bytes, ctx.inventory.weight_bytes)
    if size > WEIGHT_FILE_LIMIT:
        yield Hit(
            f"weights are {human_bytes(size)}, over the 2 GB a single weight.bin can hold: "
            "Core ML fails to load the model ('Error in declaring network')"
        )


def _over_hardware_dims(ctx: RuleContext) -> Iterator[Hit]:
    for spec in ctx.inputs:
        dims = [high for _, high in spec.shape_range] if spec.shape_range else list(spec.shape)
        if any(d > HARDWARE_DIM_LIMIT for d in dims):
            yield Hit(
                f"input '{spec.name}' allows a dimension of {max(dims)} > {HARDWARE_DIM_LIMIT}: "
                "GPU textures and the Neural Engine reject it (crash at load or CPU only)",
                spec.name,
            )
    for op in ctx.operations:
        if op.op_type == "const" or op.op_type.startswith("constexpr_"):
            continue
        for out in op.outputs:
            dims = [d for d in getattr(out, "shape", ()) or () if isinstance(d, int)]
            if any(d > HARDWARE_DIM_LIMIT for d in dims):
                yield Hit(
                    f"{op.op_type} produces shape {list(out.shape)} with a dimension over "
                    f"{HARDWARE_DIM_LIMIT}: the GPU and Neural Engine reject it",
                    name_of(op),
                )
                break


def _softplus(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("softplus"):
        mish = any(c.op_type == "tanh" for c in op.outputs[0].child_ops)
        yield Hit(
            ("Mish (softplus → tanh)" if mish else "softplus")
            + " on the Neural Engine: exp overflows fp16 above x ≈ 10.4 and the output drops "
            "to 0",
            name_of(op),
        )


def _logsumexp(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("reduce_log_sum_exp"):
        yield Hit(
            "reduce_log_sum_exp on the Neural Engine does not subtract the max: it returns 0 "
            "once exp(x) summed over the axis passes 65504 (x ≈ log(65504/n))",
            name_of(op),
        )


def _log_softmax(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("log"):
        if fed_by(op, "softmax"):
            yield Hit(
                "log(softmax(x)) (how log_softmax is lowered): small probabilities underflow "
                "to 0 in fp16 and log gives -inf on the Neural Engine",
                name_of(op),
            )


def _logcumsumexp(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("log"):
        if fed_by(op, "cumsum", "exp"):
            yield Hit(
                "exp → cumsum → log (logcumsumexp) without a max shift: Inf then NaN in fp16 "
                "for inputs above ≈ 11",
                name_of(op),
            )


def _rms_norm_lowering(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("reduce_max"):
        if fed_by(op, "abs") and any(c.op_type == "real_div" for c in op.outputs[0].child_ops):
            yield Hit(
                "torch rms_norm lowered by coremltools 9.0 as x / max|x| with eps added after "
                "the rescale: eps is effectively multiplied by max|x|² (a conversion error "
                "visible even in fp32)",
                name_of(op),
            )


def _hand_rolled_rms_norm(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("rsqrt", "sqrt"):
        chain = producer(op.inputs["x"])
        if chain is not None and chain.op_type == "add":
            chain = next(
                (producer(v) for v in (chain.inputs["x"], chain.inputs["y"]) if producer(v)),
                None,
            )
        if chain is None or chain.op_type not in ("reduce_mean", "reduce_sum"):
            continue
        square = producer(chain.inputs["x"])
        if square is not None and (
            square.op_type in ("square", "pow")
            or (square.op_type == "mul" and square.inputs["x"] is square.inputs["y"])
        ):
            yield Hit(
                "sum of squares before a square root (RMSNorm/L2 norm written by hand): x² "
                "overflows fp16 once |x| > 256; see the FP16 range check for this input set",
                name_of(op),
            )


def _fused_attention(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("softmax"):
        add = producer(op.inputs["x"])
        if add is None or add.op_type != "add":
            continue
        scores = [producer(add.inputs[k]) for k in ("x", "y")]
        if not any(s is not None and s.op_type == "matmul" for s in scores):
            continue
        shape = getattr(op.outputs[0], "shape", ())
        leading = shape[0] if shape and isinstance(shape[0], int) else None
        if leading is None or leading >= 10:
            yield Hit(
                "matmul → add(bias) → softmax → matmul is fused into one GPU attention kernel "
                f"that returned wrong results for batch ≥ 10 (leading dim {leading or '?'})",
                name_of(op),
            )


def _compressed(ctx: RuleContext) -> Iterator[Hit]:
    kinds = sorted({w.compression for w in ctx.inventory.weights if w.compression != "none"})
    if kinds:
        yield Hit(
            f"compressed weights ({', '.join(kinds)}): int8 and 4-bit palettized models have "
            "returned wrong numbers on GPU/Neural Engine or crashed after many predictions; "
            "compare every compute unit and run long prediction loops"
        )


def _large_model(ctx: RuleContext) -> Iterator[Hit]:
    size = max(ctx.weight_file_bytes, ctx.inventory.weight_bytes)
    if size > LARGE_MODEL_BYTES:
        yield Hit(
            f"{human_bytes(size)} of weights: the first load compiles for the Neural Engine "
            "and has taken minutes (or failed and killed the app at the first prediction)"
        )


def _pixel_shuffle_leak(ctx: RuleContext) -> Iterator[Hit]:
    for op in ctx.ops_of("pixel_shuffle"):
        shape = getattr(op.outputs[0], "shape", ())
        if shape and all(isinstance(d, int) for d in shape) and math.prod(shape) >= 10**7:
            yield Hit(
                f"pixel_shuffle producing {list(shape)}: large pixel-shuffle outputs have leaked "
                "memory per prediction on the iOS GPU; loop predictions and watch the footprint",
                name_of(op),
            )


def _val(op: Any, name: str) -> Any:
    var = op.inputs.get(name)
    return None if var is None or isinstance(var, list | tuple) else var.val


PITFALLS: tuple[Rule, ...] = (
    Rule(
        "pitfall.weights-over-2gb",
        Severity.ERROR,
        _GH + "apple/coremltools/issues/1807",
        _huge_weights,
        hint="split the model or compress its weights below 2 GB",
    ),
    Rule(
        "pitfall.rank-over-5",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2536",
        _rank_over_five,
        hint="reshape to rank ≤ 5 around this op",
    ),
    Rule(
        "pitfall.dim-over-16384",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2247",
        _over_hardware_dims,
        hint="tile or chunk the long axis, or run CPU_ONLY",
    ),
    Rule(
        "pitfall.fp32-min-mask",
        Severity.WARNING,
        _GH + "apple/coremltools/pull/2669",
        _fp32_min_masks,
        fp16_only=True,
        hint="build masks with a finite fp16-safe value such as -1e4, or torch.finfo(fp16).min",
    ),
    Rule(
        "pitfall.dilated-conv",
        Severity.WARNING,
        _GH + "pytorch/executorch/issues/11688",
        _dilated_convs,
        hint="compare the device's peak footprint with the estimate",
    ),
    Rule(
        "pitfall.range-shapes",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2370",
        _range_shapes,
        hint="use ct.EnumeratedShapes with the sizes you ship, or fixed shapes",
    ),
    Rule(
        "pitfall.enumerated-layer-norm",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/1909",
        _enumerated_layer_norm,
        hint="compare with a fixed-shape or RangeDim conversion",
    ),
    Rule(
        "pitfall.flexible-gpu-reuse",
        Severity.INFO,
        _GH + "apple/coremltools/issues/939",
        _flexible_reuse,
    ),
    Rule(
        "pitfall.recurrent-on-cpu",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/1780",
        _recurrent,
        hint="a convolutional or attention replacement can stay on the Neural Engine",
    ),
    Rule(
        "pitfall.dynamic-weight-conv",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2536",
        _dynamic_weight_convs,
    ),
    Rule("pitfall.topk-gather", Severity.INFO, _GH + "roboflow/rf-detr/issues/1495", _topk_gather),
    Rule(
        "pitfall.softplus",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2687",
        _softplus,
        fp16_only=True,
        hint="write it as max(x, 0) + log1p(exp(-|x|)) (coremltools PR #2725)",
    ),
    Rule(
        "pitfall.logsumexp",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2690",
        _logsumexp,
        fp16_only=True,
        hint="subtract the max before exp, by hand",
    ),
    Rule(
        "pitfall.log-softmax",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2728",
        _log_softmax,
        fp16_only=True,
        hint="compute x - max - log(sum(exp(x - max)))",
    ),
    Rule(
        "pitfall.logcumsumexp",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2729",
        _logcumsumexp,
        fp16_only=True,
        hint="shift by a running max before exp",
    ),
    Rule(
        "pitfall.rms-norm-lowering",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2821",
        _rms_norm_lowering,
        hint="write RMSNorm by hand in the model (x * rsqrt(mean(x²)+eps))",
    ),
    Rule(
        "pitfall.rms-norm-fp16",
        Severity.INFO,
        _GH + "apple/coremltools/issues/2585",
        _hand_rolled_rms_norm,
        fp16_only=True,
        hint="scale by max|x| before squaring, or keep the norm in fp32",
    ),
    Rule(
        "pitfall.fused-attention-gpu",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2650",
        _fused_attention,
        hint="compare GPU with CPU_ONLY for this batch size",
    ),
    Rule(
        "pitfall.compressed-weights",
        Severity.WARNING,
        _GH + "apple/coremltools/issues/2114",
        _compressed,
    ),
    Rule(
        "pitfall.large-model-load",
        Severity.INFO,
        _GH + "apple/coremltools/issues/2758",
        _large_model,
        hint="give the first load a generous timeout; record cold and warm load",
    ),
    Rule(
        "pitfall.pixel-shuffle-leak",
        Severity.INFO,
        _GH + "apple/coremltools/issues/1312",
        _pixel_shuffle_leak,
    ),
)
"""Every rule preflight runs, in report order."""
