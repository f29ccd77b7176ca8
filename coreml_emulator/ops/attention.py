"""``scaled_dot_product_attention`` (``defs/iOS18/transformers.py``).

The spec's semantics are PyTorch's: ``softmax(Q K^T / sqrt(d) + mask) V``, where a bool
``attn_mask`` keeps the positions that are ``True`` and a floating one is added to the scores.
"""

from __future__ import annotations

import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel


@kernel("scaled_dot_product_attention")
def scaled_dot_product_attention(args: OpArgs) -> Tensor:
    query = args.tensor("query")
    key = args.tensor("key").to(query.dtype)
    value = args.tensor("value").to(query.dtype)
    mask = args.optional_tensor("attn_mask")
    if mask is not None and mask.is_floating_point():
        mask = mask.to(query.dtype)
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
