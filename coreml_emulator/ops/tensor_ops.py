"""Tensor construction and combination (``tensor_operation.py``, ``scatter_gather.py``).

concat/split/stack, tile, pad, gather, cast, fill, range, select, cumsum, topk/argsort,
band_part, one_hot.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel
from coreml_emulator.precision import torch_dtype


@kernel("identity")
def identity(args: OpArgs) -> Tensor:
    return args.tensor("x")


@kernel("cast")
def cast(args: OpArgs) -> Tensor:
    # The executor converts to the storage dtype of the declared one (so fp32-upcast can keep an
    # fp16 cast in fp32); floats to ints truncate as numpy's astype.
    x = args.tensor("x")
    target = args.output_dtype()
    if target.is_floating_point:
        return x if x.is_floating_point() else x.to(torch.float32)
    if x.is_floating_point() and target != torch.bool:
        return torch.trunc(x).to(target)
    return x.to(target)


@kernel("concat")
def concat(args: OpArgs) -> Tensor:
    values = args.tensors("values")
    axis = args.int("axis")
    if values[0].dim() == 0:
        # MIL's type inference counts each rank-0 value as one element: the result is rank 1.
        values = [v.reshape(1) for v in values]
        axis = 0
    if args.bool("interleave", False):
        stacked = torch.stack(values, dim=axis % values[0].dim() + 1)
        shape = list(values[0].shape)
        shape[axis] = -1
        return stacked.reshape(shape)
    return torch.cat(values, dim=axis)


@kernel("split")
def split(args: OpArgs) -> tuple[Tensor, ...]:
    x = args.tensor("x")
    axis = args.int("axis")
    sizes = args.value("split_sizes")
    if sizes is not None:
        return tuple(torch.split(x, [int(s) for s in np.asarray(sizes).reshape(-1)], dim=axis))
    n = args.int("num_splits")
    return tuple(torch.split(x, x.shape[axis] // n, dim=axis))


@kernel("stack")
def stack(args: OpArgs) -> Tensor:
    return torch.stack(args.tensors("values"), dim=args.int("axis"))


@kernel("tile")
def tile(args: OpArgs) -> Tensor:
    return args.tensor("x").repeat(args.ints("reps"))


@kernel("pad")
def pad(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    pads = args.ints("pad")
    mode = args.str("mode", "constant")
    flat: list[int] = []
    for i in reversed(range(len(pads) // 2)):
        flat += [pads[2 * i], pads[2 * i + 1]]
    if mode == "constant":
        return F.pad(x, flat, value=args.float("constant_val", 0.0))
    # torch's reflect/replicate pad only the trailing 1-3 dims of a batched tensor: drop the
    # leading dims that are not padded.
    n = len(pads) // 2
    while n > 1 and pads[2 * (len(pads) // 2 - n)] == 0 and pads[2 * (len(pads) // 2 - n) + 1] == 0:
        n -= 1
    flat = flat[: 2 * n]
    lead = x.shape[: x.dim() - n]
    y = x.reshape((1, -1, *tuple(x.shape[x.dim() - n :])))
    y = F.pad(y, flat, mode="reflect" if mode == "reflect" else "replicate")
    return y.reshape(tuple(lead) + tuple(y.shape[2:]))


def _indices(t: Tensor, size: int) -> Tensor:
    index = t.long()
    return torch.where(index < 0, index + size, index)


@kernel("gather")
def gather(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    axis = args.int("axis", 0) % x.dim()
    batch_dims = args.int("batch_dims", 0)
    indices = _indices(args.tensor("indices"), x.shape[axis])
    if batch_dims == 0:
        flat = x.index_select(axis, indices.reshape(-1))
        return flat.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1 :])
    # Batched gather: loop over the flattened batch (rare in converted models).
    batch_shape = x.shape[:batch_dims]
    xs = x.reshape((-1, *x.shape[batch_dims:]))
    idx = indices.reshape((-1, *indices.shape[batch_dims:]))
    inner_axis = axis - batch_dims
    parts = []
    for b in range(xs.shape[0]):
        xb, ib = xs[b], idx[b]
        g = xb.index_select(inner_axis, ib.reshape(-1))
        parts.append(g.reshape(xb.shape[:inner_axis] + ib.shape + xb.shape[inner_axis + 1 :]))
    out = torch.stack(parts)
    return out.reshape(batch_shape + out.shape[1:])


@kernel("gather_along_axis")
def gather_along_axis(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    axis = args.int("axis", 0) % x.dim()
    return torch.gather(x, axis, _indices(args.tensor("indices"), x.shape[axis]))


@kernel("gather_nd")
def gather_nd(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    indices = args.tensor("indices").long()
    batch_dims = args.int("batch_dims", 0)
    if batch_dims:
        raise ValueError("gather_nd with batch_dims is not emulated")
    k = indices.shape[-1]
    index = tuple(indices[..., i] for i in range(k))
    return x[index]


@kernel("select")
def select(args: OpArgs) -> Tensor:
    cond = args.tensor("cond")
    return torch.where(
        cond.bool() if cond.dtype != torch.bool else cond, args.tensor("a"), args.tensor("b")
    )


@kernel("fill")
def fill(args: OpArgs) -> Tensor:
    shape = args.ints("shape")
    value = args.value("value", 0.0)
    target = args.output_dtype()
    return torch.full(
        shape, float(value), dtype=torch.float32 if target.is_floating_point else target
    )


@kernel("fill_like")
def fill_like(args: OpArgs) -> Tensor:
    ref = args.tensor("ref_tensor")
    return torch.full(tuple(ref.shape), float(args.value("value", 0.0)), dtype=torch.float32)


@kernel("shape")
def shape(args: OpArgs) -> Tensor:
    return torch.tensor(list(args.tensor("x").shape), dtype=torch.int32)


@kernel("range_1d")
def range_1d(args: OpArgs) -> Tensor:
    start, end, step = (np.asarray(args.value(n)).item() for n in ("start", "end", "step"))
    dtype = args.output_dtype()
    values = torch.arange(start, end, step, dtype=torch.float64)
    return values.to(torch.float32 if dtype.is_floating_point else dtype)


@kernel("cumsum")
def cumsum(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    axis = args.int("axis", 0)
    exclusive = args.bool("exclusive", False)
    if args.bool("reverse", False):
        x = torch.flip(x, [axis])
    y = torch.cumsum(x, dim=axis)
    if exclusive:
        y = y - x
    if args.bool("reverse", False):
        y = torch.flip(y, [axis])
    return y.to(x.dtype)


@kernel("topk")
def topk(args: OpArgs) -> tuple[Tensor, Tensor]:
    x = args.tensor("x")
    k = args.int("k", 1)
    axis = args.int("axis", -1)
    ascending = args.bool("ascending", False)
    if args.has("sort") and not args.bool("sort", True):
        pass  # unsorted output is allowed to be sorted
    values, indices = torch.topk(x, k, dim=axis, largest=not ascending, sorted=True)
    return values, indices.to(torch.int32)


@kernel("argsort")
def argsort(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    axis = args.int("axis", -1)
    return torch.argsort(x, dim=axis, descending=not args.bool("ascending", False), stable=True)


@kernel("band_part")
def band_part(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    lower, upper = args.int("lower", -1), args.int("upper", -1)
    rows, cols = x.shape[-2], x.shape[-1]
    i = torch.arange(rows).reshape(-1, 1)
    j = torch.arange(cols).reshape(1, -1)
    keep = torch.ones(rows, cols, dtype=torch.bool)
    if lower >= 0:
        keep &= (i - j) <= lower
    if upper >= 0:
        keep &= (j - i) <= upper
    return torch.where(keep, x, torch.zeros_like(x))


@kernel("one_hot")
def one_hot(args: OpArgs) -> Tensor:
    indices = args.tensor("indices").long()
    depth = args.int("one_hot_vector_size")
    axis = args.int("axis", -1)
    on, off = float(args.value("on_value", 1.0)), float(args.value("off_value", 0.0))
    hot = F.one_hot(indices.clamp(min=0), depth).to(torch.float32)
    hot = hot * (indices >= 0).unsqueeze(-1)
    out = hot * (on - off) + off
    return out.movedim(-1, axis % out.dim())


_ = torch_dtype
