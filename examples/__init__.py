"""Small models defined in code, used by the README quickstart and the tests.

Each module exposes ``build() -> (torch.nn.Module, example_inputs)``: the module in eval mode
with deterministic weights, and a tuple of example input tensors. Pass one to Pomar as a
factory, e.g. ``pomar check examples/cnn.py:build``.
"""
