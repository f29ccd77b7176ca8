"""Activation quantization ops ``quantize`` and ``dequantize`` (``defs/iOS17/quantization_ops.py``).

Weights compressed with ``coremltools.optimize`` arrive as ``constexpr_*`` ops, which planning
decodes once with coremltools' own decoders; these two run on tensors at run time.
"""

from __future__ import annotations

import torch

from coreml_emulator.kernels import OpArgs, Tensor, kernel


def _per_axis(args: OpArgs, name: str, x: Tensor) -> Tensor | None:
    """``scale``/``zero_point``: a scalar, or a vector along ``axis`` broadcast against ``x``."""
    t = args.optional_tensor(name)
    if t is None or t.dim() == 0 or x.dim() == 0:
        return t
    shape = [1] * x.dim()
    shape[args.int("axis", -1) % x.dim()] = -1
    return t.reshape(shape)


@kernel("dequantize")
def dequantize(args: OpArgs) -> Tensor:
    x = args.tensor("input")
    scale = _per_axis(args, "scale", x)
    zero = _per_axis(args, "zero_point", x)
    values = x.to(torch.float32)
    if zero is not None:
        values = values - zero.to(torch.float32)
    assert scale is not None  # required by the spec
    return values * scale.to(torch.float32)


@kernel("quantize")
def quantize(args: OpArgs) -> Tensor:
    x = args.tensor("input").to(torch.float32)
    scale = _per_axis(args, "scale", x)
    zero = _per_axis(args, "zero_point", x)
    assert scale is not None  # required by the spec
    target = args.output_dtype()
    info = torch.iinfo(target)
    # Round half to even, as numpy's np.round in the op's value_inference.
    q = torch.round(x / scale.to(torch.float32))
    if zero is not None:
        q = q + zero.to(torch.float32)
    return torch.clamp(q, info.min, info.max).to(target)
