"""Recurrent ops: torch LSTM/GRU/RNN as the converter lowers them (``lstm``, ``rnn``, and GRU as a
``while_loop`` with ``scatter``), and MIL-built ``gru``/``lstm``/``rnn`` for what torch never
emits (the ``gru`` op, reverse direction, iOS18 ``reset_after``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from coreml_emulator import load_program
from tests.coreml_emulator.conftest import FP16_TOL, convert, ct, feeds, quiet_convert, relative_l2

torch.manual_seed(0)


class Sequence(nn.Module):
    """A recurrent layer returning its output sequence and its final hidden state."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, state = self.rnn(x)
        return out, state[0] if isinstance(state, tuple) else state


class Tagger(nn.Module):
    """A sequence model: a 2-layer LSTM over embeddings-like features, a GRU, a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.gru = nn.GRU(8, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        y, _ = self.gru(y)
        return torch.log_softmax(self.head(y), dim=-1)


LAYERS = {
    "lstm": lambda: nn.LSTM(4, 6, batch_first=True),
    "lstm_bidirectional_2_layers": lambda: nn.LSTM(
        4, 6, num_layers=2, bidirectional=True, batch_first=True
    ),
    "gru": lambda: nn.GRU(4, 6, batch_first=True),
    "gru_bidirectional": lambda: nn.GRU(4, 6, bidirectional=True, batch_first=True),
    "rnn_tanh": lambda: nn.RNN(4, 6, batch_first=True),
    "rnn_relu_2_layers": lambda: nn.RNN(4, 6, num_layers=2, nonlinearity="relu", batch_first=True),
}


def _compare(module: nn.Module, x: torch.Tensor, precision: str) -> list[float]:
    module = module.eval()
    with torch.no_grad():
        expected = module(x)
    expected = expected if isinstance(expected, tuple) else (expected,)
    model = convert(module, x, precision=precision)
    outputs = load_program(model).predict(feeds(model, x)).values()
    return [relative_l2(a, e.numpy()) for a, e in zip(outputs, expected, strict=True)]


@pytest.mark.parametrize("layer", LAYERS)
def test_torch_recurrent_layer_matches_torch_in_fp32_and_as_an_fp16_program(layer: str) -> None:
    module = Sequence(LAYERS[layer]())
    x = torch.randn(2, 5, 4)
    assert max(_compare(module, x, "fp32")) <= 1e-5
    assert max(_compare(module, x, "fp16")) <= FP16_TOL


def test_an_lstm_gru_sequence_model_matches_torch() -> None:
    x = torch.randn(2, 7, 6)
    assert max(_compare(Tagger(), x, "fp32")) <= 1e-5
    assert max(_compare(Tagger(), x, "fp16")) <= FP16_TOL


def _mil_model(build: Any, specs: list[Any], target: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    program = mb.program(input_specs=specs, opset_version=target)(build)
    return quiet_convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=target,
        compute_precision=ct.precision.FLOAT32,
    )


def _gru_reference(x: Any, h: Any, w_ih: Any, w_hh: Any, b: Any) -> tuple[Any, Any]:
    """coremltools' own numpy GRU (``tests/iOS14/test_recurrent.py``): gates r, o, z; the reset
    gate scales the hidden state before its matmul."""
    hidden = h.shape[-1]
    (w_r, w_o, w_z), (r_r, r_o, r_z) = np.split(w_ih, 3), np.split(w_hh, 3)
    b_r, b_o, b_z = np.split(b, 3)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    states = []
    for t in range(x.shape[0]):
        z = sig(x[t] @ w_z.T + h @ r_z.T + b_z)
        r = sig(x[t] @ w_r.T + h @ r_r.T + b_r)
        o = np.tanh(x[t] @ w_o.T + (h * r) @ r_o.T + b_o)
        h = (1 - z) * o + z * h
        states.append(h)
    assert states[-1].shape[-1] == hidden
    return np.stack(states), h


def test_mil_gru_matches_coremltools_numpy_reference() -> None:
    from coremltools.converters.mil import Builder as mb

    rng = np.random.default_rng(0)
    w_ih, w_hh = rng.standard_normal((18, 4)) * 0.5, rng.standard_normal((18, 6)) * 0.5
    bias = rng.standard_normal(18) * 0.1
    x, h0 = rng.standard_normal((5, 2, 4)), rng.standard_normal((2, 6))

    def build(x: Any, h: Any) -> Any:
        return mb.gru(
            x=x,
            initial_h=h,
            weight_ih=w_ih.astype(np.float32),
            weight_hh=w_hh.astype(np.float32),
            bias=bias.astype(np.float32),
            output_sequence=True,
        )

    specs = [mb.TensorSpec(shape=(5, 2, 4)), mb.TensorSpec(shape=(2, 6))]
    model = _mil_model(build, specs, ct.target.iOS16)
    names = [f.name for f in model.get_spec().description.input]
    feed = dict(zip(names, (x.astype(np.float32), h0.astype(np.float32)), strict=True))
    seq, last = load_program(model).predict(feed).values()
    want_seq, want_last = _gru_reference(x, h0, w_ih, w_hh, bias)
    assert relative_l2(seq, want_seq) <= 1e-5
    assert relative_l2(last, want_last) <= 1e-5


def test_ios18_gru_with_reset_after_and_input_bias_matches_torch_gru() -> None:
    from coremltools.converters.mil import Builder as mb

    torch_gru = nn.GRU(4, 6).eval()
    x, h0 = torch.randn(5, 2, 4), torch.randn(1, 2, 6)
    with torch.no_grad():
        want_seq, want_last = torch_gru(x, h0)

    def rzn_to_rnz(t: torch.Tensor) -> Any:
        r, z, n = t.detach().chunk(3)
        return torch.cat([r, n, z]).numpy()

    def build(x: Any, h: Any) -> Any:
        return mb.gru(
            x=x,
            initial_h=h,
            weight_ih=rzn_to_rnz(torch_gru.weight_ih_l0),
            weight_hh=rzn_to_rnz(torch_gru.weight_hh_l0),
            input_bias=rzn_to_rnz(torch_gru.bias_ih_l0),
            bias=rzn_to_rnz(torch_gru.bias_hh_l0),
            reset_after=True,
            output_sequence=True,
        )

    specs = [mb.TensorSpec(shape=(5, 2, 4)), mb.TensorSpec(shape=(2, 6))]
    model = _mil_model(build, specs, ct.target.iOS18)
    names = [f.name for f in model.get_spec().description.input]
    feed = dict(zip(names, (x.numpy(), h0[0].numpy()), strict=True))
    seq, last = load_program(model).predict(feed).values()
    assert relative_l2(seq, want_seq.numpy()) <= 1e-5
    assert relative_l2(last, want_last[0].numpy()) <= 1e-5


@pytest.mark.parametrize("op", ["lstm", "rnn"])
def test_reverse_direction_reads_the_sequence_backwards_like_torch_on_a_flipped_input(
    op: str,
) -> None:
    from coremltools.converters.mil import Builder as mb

    layer = (nn.LSTM(4, 6) if op == "lstm" else nn.RNN(4, 6)).eval()
    x = torch.randn(5, 2, 4)
    with torch.no_grad():
        want_seq, state = layer(torch.flip(x, [0]))
    want_h = (state[0] if isinstance(state, tuple) else state)[0]

    def ifzo_to_ifoz(t: torch.Tensor) -> Any:
        if op == "rnn":
            return t.detach().numpy()
        i, f, z, o = t.detach().chunk(4)
        return torch.cat([i, f, o, z]).numpy()

    bias = ifzo_to_ifoz(layer.bias_ih_l0 + layer.bias_hh_l0)
    weights = {"weight_ih": ifzo_to_ifoz(layer.weight_ih_l0)}
    weights["weight_hh"] = ifzo_to_ifoz(layer.weight_hh_l0)

    def build(x: Any) -> Any:
        zeros = np.zeros((2, 6), np.float32)
        common = {"x": x, "initial_h": zeros, "bias": bias, "direction": "reverse"}
        if op == "lstm":
            return mb.lstm(initial_c=zeros, output_sequence=True, **common, **weights)[:2]
        return mb.rnn(output_sequence=True, **common, **weights)

    model = _mil_model(build, [mb.TensorSpec(shape=(5, 2, 4))], ct.target.iOS17)
    seq, last = list(load_program(model).predict(feeds(model, x)).values())[:2]
    assert relative_l2(seq, want_seq.numpy()) <= 1e-5
    assert relative_l2(last, want_h.numpy()) <= 1e-5
