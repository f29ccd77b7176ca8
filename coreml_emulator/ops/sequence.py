"""``reverse_sequence`` (``tensor_transformation.py``): ``tf.reverse_sequence`` semantics."""

from __future__ import annotations

import torch

from coreml_emulator.kernels import OpArgs, Tensor, kernel


@kernel("reverse_sequence")
def reverse_sequence(args: OpArgs) -> Tensor:
    """Along ``seq_axis``, reverse the first ``lengths[i]`` elements of batch slice ``i``."""
    x = args.tensor("x")
    lengths = args.tensor("lengths").long()
    seq_axis = args.int("seq_axis", 0) % x.dim()
    batch_axis = args.int("batch_axis", 0) % x.dim()
    steps = x.shape[seq_axis]
    position = torch.arange(steps)[None, :]  # [1, T]
    length = lengths[:, None]  # [B, 1]
    # Source index per (batch, step): mirrored inside the prefix, unchanged after it.
    source = torch.where(position < length, length - 1 - position, position)  # [B, T]
    shape = [1] * x.dim()
    shape[batch_axis], shape[seq_axis] = source.shape[0], steps
    index = source.reshape(shape) if batch_axis < seq_axis else source.T.reshape(shape)
    return torch.gather(x, seq_axis, index.expand(x.shape))
