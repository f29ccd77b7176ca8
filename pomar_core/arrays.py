"""Named tensors: what inputs, outputs and references are, everywhere in Pomar."""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

Array = npt.NDArray[Any]
Arrays = dict[str, Array]
"""Tensors by name, as an ``.npz`` holds them."""
