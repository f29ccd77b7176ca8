"""Real architectures from Hugging Face ``transformers`` (small configs, random weights, nothing
downloaded) convert with Pomar's shims and match torch in fp32 through the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from orchestrator.intake.convert import ConversionOptions, convert
from orchestrator.intake.sources import SourceModel
from pomar_core.wire import Precision

transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.slow

SEQ = 8


def _bert() -> Any:
    return transformers.BertModel(
        transformers.BertConfig(
            vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64,
        )
    )  # fmt: skip


def _gpt2() -> Any:
    return transformers.GPT2Model(
        transformers.GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
    )


def _llama() -> Any:
    return transformers.LlamaModel(
        transformers.LlamaConfig(
            vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, intermediate_size=37, max_position_embeddings=64,
        )
    )  # fmt: skip


def _t5() -> Any:
    return transformers.T5Model(
        transformers.T5Config(
            vocab_size=99, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
            decoder_start_token_id=0,
        )
    )  # fmt: skip


class _Hidden(torch.nn.Module):
    """``(ids, mask) -> last_hidden_state``; T5 decodes the same ids."""

    def __init__(self, model: Any, encoder_decoder: bool) -> None:
        super().__init__()
        self.model = model
        self.encoder_decoder = encoder_decoder

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        extra: dict[str, Any] = {"decoder_input_ids": ids} if self.encoder_decoder else {}
        if not isinstance(self.model, transformers.BertModel):
            extra["use_cache"] = False
        out = self.model(input_ids=ids, attention_mask=mask, **extra)
        return out.last_hidden_state  # type: ignore[no-any-return]


BUILDERS = {"bert": _bert, "gpt2": _gpt2, "llama": _llama, "t5": _t5}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_hf_model_converts_with_shims_and_matches_torch(name: str, tmp_path: Path) -> None:
    from coreml_emulator import predict

    torch.manual_seed(0)
    module = _Hidden(BUILDERS[name]().eval(), encoder_decoder=name == "t5").eval()
    ids = torch.randint(0, 99, (1, SEQ))
    mask = torch.ones(1, SEQ, dtype=torch.long)
    mask[0, -2:] = 0  # right padding: every query still sees a real key
    source = SourceModel(module=module, example_inputs=(ids, mask), input_names=("ids", "mask"))
    options = ConversionOptions(precision=Precision.FP32, front_end="torchscript")
    package = tmp_path / f"{name}.mlpackage"
    used = convert(source, options, package, name=name)
    assert used, "coremltools 9.0 converts it alone: the shims are no longer needed"
    feeds = {"ids": ids.numpy().astype(np.int32), "mask": mask.numpy().astype(np.int32)}
    (out,) = predict(package, feeds).values()
    with torch.no_grad():
        expected = module(ids, mask).numpy()
    error = np.linalg.norm(out - expected) / np.linalg.norm(expected)
    assert error < 1e-4, f"{name}: relative L2 {error:.2e} with shims {used}"


class _WithPositions(torch.nn.Module):
    """``(ids, position_ids) -> last_hidden_state``: transformers looks for packed sequences
    in the positions (``torch.diff``) when no attention mask is given."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        out = self.model(input_ids=ids, position_ids=positions, use_cache=False)
        return out.last_hidden_state  # type: ignore[no-any-return]


def test_llama_with_position_ids_needs_diff(tmp_path: Path) -> None:
    from coreml_emulator import predict

    torch.manual_seed(0)
    module = _WithPositions(_llama().eval()).eval()
    ids, positions = torch.randint(0, 99, (1, SEQ)), torch.arange(SEQ)[None]
    source = SourceModel(
        module=module, example_inputs=(ids, positions), input_names=("ids", "positions")
    )
    options = ConversionOptions(precision=Precision.FP32, front_end="torchscript")
    used = convert(source, options, tmp_path / "llama.mlpackage", name="llama")
    assert "diff" in used
    feeds = {"ids": ids.numpy().astype(np.int32), "positions": positions.numpy().astype(np.int32)}
    (out,) = predict(tmp_path / "llama.mlpackage", feeds).values()
    with torch.no_grad():
        expected = module(ids, positions).numpy()
    assert np.linalg.norm(out - expected) / np.linalg.norm(expected) < 1e-4
