"""Recurrent ops ``lstm``, ``gru`` and ``rnn`` (``defs/iOS15|17|18/recurrent.py``).

Layouts and conventions follow the op docstrings and coremltools' own numpy references in
``mil/ops/tests/iOS14/test_recurrent.py``:

- ``x`` is ``(seq, batch, input)``; states are ``(batch, directions * hidden)``.
- ``lstm`` gates are stacked ``i, f, o, z`` (input, forget, output, cell); peepholes ``i, f, o``;
  ``clip`` bounds the cell state after each update.
- ``gru`` gates are stacked ``r, o, z`` (reset, new/output, update). Without ``reset_after``
  (iOS15-17) the reset gate scales the hidden state before its matmul; with it (iOS18) it scales
  the matmul's result plus ``bias``, as PyTorch does, and ``input_bias`` joins the input side.
- ``direction="reverse"`` reads the sequence backwards and emits states in the order it
  computed them; the backward half of a ``bidirectional`` lstm is aligned with the input's time
  steps (PyTorch's convention), and without ``output_sequence`` its output is its final state.

The input projection of every time step is one matmul; only the recurrence loops in Python.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from coreml_emulator.kernels import OpArgs, Tensor, kernel

Activation = Callable[[Tensor], Tensor]

_ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "scaled_tanh": torch.tanh,  # the recurrent ops use scaled_tanh's defaults, alpha = beta = 1
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
    "sigmoid_hard": lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
    "relu": torch.relu,
    "linear": lambda x: x,
}


def _activation(args: OpArgs, name: str, default: str) -> Activation:
    value = args.str(name, default).lower()
    if value not in _ACTIVATIONS:
        raise ValueError(f"unknown {name} {value!r}")
    return _ACTIVATIONS[value]


def _weights(args: OpArgs, suffix: str, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    w_ih = args.tensor(f"weight_ih{suffix}").to(x.dtype)
    w_hh = args.tensor(f"weight_hh{suffix}").to(x.dtype)
    bias = args.optional_tensor(f"bias{suffix}")
    return w_ih, w_hh, None if bias is None else bias.to(x.dtype)


def _project(x: Tensor, w_ih: Tensor, bias: Tensor | None) -> Tensor:
    """``W_ih x_t + b`` for every time step at once: ``(seq, batch, gates * hidden)``."""
    return torch.nn.functional.linear(x, w_ih, bias)


def _sequence_output(states: list[Tensor], output_sequence: bool) -> Tensor:
    return torch.stack(states) if output_sequence else states[-1].unsqueeze(0)


def _batch_state(state: Tensor, batch: int) -> Tensor:
    """An initial state for ``batch`` sequences. coremltools' packed-sequence lowering builds a
    zero state with the wrong number of rows (the longest length, not the batch); when every row
    is the same, whichever rows Core ML reads give the same answer, so take the first ``batch``.
    A state whose rows differ is left alone, so the mismatch is reported, never guessed."""
    rows = state.shape[0] if state.dim() == 2 else batch
    if rows != batch and rows > 0 and bool((state == state[:1]).all()):
        return state[:1].expand(batch, -1)
    return state


@kernel("lstm")
def lstm(args: OpArgs) -> tuple[Tensor, Tensor, Tensor]:
    x = args.tensor("x")
    direction = args.str("direction", "forward")
    output_sequence = args.bool("output_sequence", False)
    acts = (
        _activation(args, "recurrent_activation", "sigmoid"),
        _activation(args, "cell_activation", "tanh"),
        _activation(args, "activation", "tanh"),
    )
    clip = args.value("clip")
    bound = None if clip is None else float(clip)
    h0 = _batch_state(args.tensor("initial_h").to(x.dtype), x.shape[1])
    c0 = _batch_state(args.tensor("initial_c").to(x.dtype), x.shape[1])

    def one_direction(
        suffix: str, h: Tensor, c: Tensor, steps: Tensor
    ) -> tuple[list[Tensor], Tensor, Tensor]:
        w_ih, w_hh, bias = _weights(args, suffix, x)
        peephole = args.optional_tensor(f"peephole{suffix}")
        p_i, p_f, p_o = (None, None, None) if peephole is None else peephole.to(x.dtype).chunk(3)
        projected = _project(steps, w_ih, bias)
        rec, cell, act = acts
        outputs = []
        for t in range(steps.shape[0]):
            gates = projected[t] + h @ w_hh.T
            i, f, o, z = gates.chunk(4, dim=-1)
            if p_i is not None and p_f is not None:
                i = i + c * p_i
                f = f + c * p_f
            c = rec(f) * c + rec(i) * cell(z)
            if bound is not None:
                c = torch.clamp(c, -bound, bound)
            if p_o is not None:
                o = o + c * p_o
            h = rec(o) * act(c)
            outputs.append(h)
        return outputs, h, c

    if direction == "bidirectional":
        hidden = h0.shape[-1] // 2
        fwd, h_f, c_f = one_direction("", h0[:, :hidden], c0[:, :hidden], x)
        bwd, h_b, c_b = one_direction("_back", h0[:, hidden:], c0[:, hidden:], torch.flip(x, [0]))
        if output_sequence:
            out = torch.cat([torch.stack(fwd), torch.stack(bwd[::-1])], dim=-1)
        else:
            out = torch.cat([h_f, h_b], dim=-1).unsqueeze(0)
        return out, torch.cat([h_f, h_b], dim=-1), torch.cat([c_f, c_b], dim=-1)
    steps = torch.flip(x, [0]) if direction == "reverse" else x
    states, h, c = one_direction("", h0, c0, steps)
    return _sequence_output(states, output_sequence), h, c


@kernel("gru")
def gru(args: OpArgs) -> tuple[Tensor, Tensor]:
    x = args.tensor("x")
    steps = torch.flip(x, [0]) if args.str("direction", "forward") == "reverse" else x
    rec = _activation(args, "recurrent_activation", "sigmoid")
    act = _activation(args, "activation", "tanh")
    w_ih, w_hh, bias = _weights(args, "", x)
    input_bias = args.optional_tensor("input_bias")
    reset_after = args.bool("reset_after", False)
    hidden = w_hh.shape[-1]
    projected = _project(steps, w_ih, None if input_bias is None else input_bias.to(x.dtype))
    w_hr, w_ho, w_hz = torch.split(w_hh, hidden)
    b_r, b_o, b_z = (None, None, None) if bias is None else torch.split(bias, hidden)
    h = args.tensor("initial_h").to(x.dtype)
    states = []
    for t in range(steps.shape[0]):
        x_r, x_o, x_z = torch.split(projected[t], hidden, dim=-1)
        r = x_r + h @ w_hr.T
        z = x_z + h @ w_hz.T
        if b_r is not None and b_z is not None:
            r, z = r + b_r, z + b_z
        r, z = rec(r), rec(z)
        if reset_after:
            recurrent = h @ w_ho.T
            if b_o is not None:
                recurrent = recurrent + b_o
            o = x_o + r * recurrent
        else:
            o = x_o + (r * h) @ w_ho.T
            if b_o is not None:
                o = o + b_o
        h = (1 - z) * act(o) + z * h
        states.append(h)
    return _sequence_output(states, args.bool("output_sequence", False)), h


@kernel("rnn")
def rnn(args: OpArgs) -> tuple[Tensor, Tensor]:
    x = args.tensor("x")
    steps = torch.flip(x, [0]) if args.str("direction", "forward") == "reverse" else x
    act = _activation(args, "activation", "tanh")
    w_ih, w_hh, bias = _weights(args, "", x)
    projected = _project(steps, w_ih, bias)
    h = args.tensor("initial_h").to(x.dtype)
    states = []
    for t in range(steps.shape[0]):
        h = act(projected[t] + h @ w_hh.T)
        states.append(h)
    return _sequence_output(states, args.bool("output_sequence", False)), h
