"""``conv`` and ``conv_transpose`` for 1-D, 2-D and 3-D inputs (``defs/iOS15/conv.py``).

Padding follows the MIL spec: ``pad_type`` ``valid``, ``custom`` (``pad`` = begin/end per spatial
dim), ``same`` (extra padding at the end) and ``same_lower`` (extra padding at the start).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel

_CONV: dict[int, Callable[..., Tensor]] = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T: dict[int, Callable[..., Tensor]] = {
    1: F.conv_transpose1d,
    2: F.conv_transpose2d,
    3: F.conv_transpose3d,
}


def spatial_padding(
    pad_type: str,
    pad: Sequence[int] | None,
    in_sizes: Sequence[int],
    kernel_sizes: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> list[tuple[int, int]]:
    """(begin, end) padding per spatial dim for a forward window op (conv or pool)."""
    n = len(in_sizes)
    if pad_type == "custom":
        values = list(pad or [0] * (2 * n))
        return [(values[2 * i], values[2 * i + 1]) for i in range(n)]
    if pad_type == "valid":
        return [(0, 0)] * n
    if pad_type not in ("same", "same_lower"):
        raise ValueError(f"unknown pad_type {pad_type!r}")
    result = []
    for size, k, s, d in zip(in_sizes, kernel_sizes, strides, dilations, strict=True):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        small = total // 2
        result.append((small, total - small) if pad_type == "same" else (total - small, small))
    return result


def _flat(pads: list[tuple[int, int]]) -> list[int]:
    """``F.pad`` order: last dim first."""
    flat: list[int] = []
    for begin, end in reversed(pads):
        flat += [begin, end]
    return flat


@kernel("conv")
def conv(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    weight = args.tensor("weight").to(x.dtype)
    bias = args.optional_tensor("bias")
    n = x.dim() - 2
    strides = args.ints("strides", [1] * n)
    dilations = args.ints("dilations", [1] * n)
    pads = spatial_padding(
        args.str("pad_type", "valid"),
        args.ints("pad", [0] * (2 * n)),
        x.shape[2:],
        weight.shape[2:],
        strides,
        dilations,
    )
    padding: list[int] | int = 0
    if all(b == e for b, e in pads):
        padding = [b for b, _ in pads]
    else:
        x = F.pad(x, _flat(pads))
    fn = _CONV[n]
    return fn(x, weight, bias, strides, padding, dilations, args.int("groups", 1))


@kernel("conv_transpose")
def conv_transpose(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    weight = args.tensor("weight").to(x.dtype)
    bias = args.optional_tensor("bias")
    n = x.dim() - 2
    strides = args.ints("strides", [1] * n)
    dilations = args.ints("dilations", [1] * n)
    groups = args.int("groups", 1)
    full = _CONV_T[n](x, weight, None, strides, 0, 0, groups, dilations)
    target = args.output_shape()
    if target is None and args.has("output_shape"):
        target = tuple(x.shape[:2]) + tuple(args.ints("output_shape")[-n:])
    pad_type = args.str("pad_type", "valid")
    pads = args.ints("pad", [0] * (2 * n))
    out = full
    for i in range(n):
        dim = 2 + i
        size = full.shape[dim]
        if target is not None:
            want = target[dim]
        elif pad_type == "custom":
            want = size - pads[2 * i] - pads[2 * i + 1]
        elif pad_type in ("same", "same_lower"):
            want = x.shape[dim] * strides[i]
        else:
            want = size
        if pad_type == "custom":
            begin = pads[2 * i]
        elif pad_type == "same":
            begin = max(size - want, 0) // 2
        elif pad_type == "same_lower":
            begin = max(size - want, 0) - max(size - want, 0) // 2
        else:
            begin = 0
        out = out.narrow(dim, begin, min(want, size - begin))
        if out.shape[dim] < want:  # output_shape asks for rows no input reaches: zeros + bias
            grow = [0, 0] * (out.dim() - dim - 1) + [0, want - out.shape[dim]]
            out = F.pad(out, grow)
    if bias is not None:
        out = out + bias.reshape((1, -1) + (1,) * n)
    return out


_ = torch
