"""Kernels for MIL ops, one module per op family. Every module here is imported automatically.

Adding a kernel
===============

Create ``coreml_emulator/ops/<family>.py`` (no shared file to edit: this package imports every
module in it with ``pkgutil``) and register plain functions::

    from coreml_emulator.kernels import OpArgs, Tensor, kernel

    @kernel("softsign")                      # one or more MIL op types
    def softsign(args: OpArgs) -> Tensor:
        x = args.tensor("x")                 # runtime input, a torch tensor
        return x / (1 + x.abs())

Reading inputs (names are the MIL input names in ``coremltools/converters/mil/mil/ops/defs``):

- ``args.tensor(name)`` — a tensor; floating inputs arrive in ``args.compute_dtype`` (fp32, or
  fp16 in ``fp16-strict``); integer/bool inputs in their own dtype (indices may be int16/uint16
  after coremltools' int16 pass: call ``.long()`` before indexing).
- ``args.optional_tensor(name)`` — ``None`` when the op was not given the input.
- ``args.tensors(name)`` — a tuple input (``concat``'s ``values``) as a list.
- ``args.value(name, default)`` — a numpy value: constants cost nothing, a runtime tensor is
  copied out. Helpers: ``args.int``, ``args.ints``, ``args.float``, ``args.bool``, ``args.str``.
  Use these for parameters (axes, strides, pad_type, shapes).
- ``args.has(name)``, ``args.op`` (the MIL ``Operation``), ``args.opset`` (``"iOS17"``),
  ``args.output_dtype(i)``, ``args.output_shape(i)`` (static declared shape or ``None``).

Returning: one tensor, or a tuple with one tensor per MIL output, in order. The dtype contract:
compute in whatever floating dtype you received and return it; the executor converts each
output to the dtype the program declares for it, rounding to half where the precision mode
stores half (so ±Inf/NaN appear where half precision would produce them). Integer and bool
outputs should already have the right kind (the executor still casts to the declared dtype).
Return fresh tensors or views; never modify an input in place (constants are shared by runs).
Prefer torch ops (``torch.from_numpy`` is zero-copy; torch runs on every emulator host).
The executor checks each output against the declared static shape, so a wrong kernel fails
loudly instead of answering wrongly.

Versions: one op type may have several opset versions (iOS15..iOS18) with different inputs;
branch on ``args.has(...)`` or ``args.opset``. An op without a kernel falls back to
coremltools' own numpy ``value_inference`` when the op defines one; otherwise planning raises
``UnsupportedOpError`` naming the op and its opset before anything runs.

Testing: add ``tests/coreml_emulator/test_<family>.py`` with tiny torch modules converted by the
``convert`` helper in ``tests/coreml_emulator/conftest.py`` (fp32 and fp16 programs), compared
with PyTorch: fp32 to ~1e-5 relative L2, fp16 loosely. Keep conversions module-scoped.
"""

from __future__ import annotations

import importlib
import pkgutil


def _import_families() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_import_families()
