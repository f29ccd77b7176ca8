"""Scatter family: ``scatter``, ``scatter_along_axis``, ``scatter_nd`` (``scatter_gather.py``).

Every mode of the spec (``update``, ``add``, ``sub``, ``mul``, ``div``, ``max``, ``min``; the
default is ``add``) combines the update with what ``data`` holds at the index, so repeated
indices accumulate. With ``update`` and repeated indices the spec leaves the winner open.
Negative indices count from the end, as in the spec's ``validate_indices`` range.
"""

from __future__ import annotations

import torch

from coreml_emulator.kernels import OpArgs, Tensor, kernel

_REDUCE = {"mul": "prod", "div": "prod", "max": "amax", "min": "amin"}


def _wrap(indices: Tensor, size: int) -> Tensor:
    index = indices.long()
    return torch.where(index < 0, index + size, index)


def _mode(args: OpArgs) -> str:
    mode = args.str("mode", "add").lower()
    if mode not in ("update", "add", "sub") and mode not in _REDUCE:
        raise ValueError(f"unknown scatter mode {mode!r}")
    return mode


def _index_scatter(data: Tensor, index: Tensor, updates: Tensor, mode: str) -> Tensor:
    """Scatter ``updates[i]`` into ``data[index[i]]`` along dim 0 (a fresh tensor)."""
    out = data.clone()
    updates = updates.to(out.dtype)
    if mode == "update":
        return out.index_copy_(0, index, updates)
    if mode in ("add", "sub"):
        return out.index_add_(0, index, updates if mode == "add" else -updates)
    source = 1 / updates if mode == "div" else updates
    # scatter_reduce rather than index_reduce, which warns that it is a beta API.
    expanded = index.reshape((-1,) + (1,) * (source.dim() - 1)).expand_as(source)
    return out.scatter_reduce_(0, expanded, source, _REDUCE[mode], include_self=True)


@kernel("scatter")
def scatter(args: OpArgs) -> Tensor:
    data = args.tensor("data")
    axis = args.int("axis", 0) % max(data.dim(), 1)
    index = _wrap(args.tensor("indices").reshape(-1), data.shape[axis])
    updates = args.tensor("updates").movedim(axis, 0)
    out = _index_scatter(data.movedim(axis, 0), index, updates, _mode(args))
    return out.movedim(0, axis)


@kernel("scatter_along_axis")
def scatter_along_axis(args: OpArgs) -> Tensor:
    data = args.tensor("data")
    axis = args.int("axis", 0) % data.dim()
    index = _wrap(args.tensor("indices"), data.shape[axis])
    updates = args.tensor("updates").to(data.dtype)
    mode = _mode(args)
    if mode == "update":
        return torch.scatter(data, axis, index, updates)
    if mode in ("add", "sub"):
        return torch.scatter_add(data, axis, index, updates if mode == "add" else -updates)
    source = 1 / updates if mode == "div" else updates
    return torch.scatter_reduce(data, axis, index, source, _REDUCE[mode], include_self=True)


@kernel("scatter_nd")
def scatter_nd(args: OpArgs) -> Tensor:
    data = args.tensor("data")
    indices = args.tensor("indices").long()
    k = indices.shape[-1]
    lead = data.shape[:k]
    linear = torch.zeros(indices.shape[:-1], dtype=torch.long)
    for dim in range(k):
        linear = linear * lead[dim] + _wrap(indices[..., dim], lead[dim])
    flat = data.reshape((-1, *data.shape[k:]))
    updates = args.tensor("updates").reshape((-1, *data.shape[k:]))
    out = _index_scatter(flat, linear.reshape(-1), updates, _mode(args))
    return out.reshape(data.shape)
