"""The exact bytes the harness app's ``.npy`` writer produces, written out in Python.

``NpyWriter.swift`` follows the same steps; the golden fixtures are made with this function and
the Swift tests compare the Swift writer's bytes with them, so both sides are pinned to one
format: ``.npy`` version 1.0, little-endian, C order, numpy's own header layout (keys sorted,
21 spare characters for the leading axis, spaces and a newline up to a multiple of 64 bytes).
"""

from __future__ import annotations

import struct

MAGIC = b"\x93NUMPY\x01\x00"
ALIGN = 64
GROWTH_AXIS_MAX_DIGITS = 21

DESCR = {
    "float16": "<f2",
    "float32": "<f4",
    "float64": "<f8",
    "int32": "<i4",
    "int8": "|i1",
    "uint8": "|u1",
    "bool": "|b1",
}


def shape_literal(shape: tuple[int, ...]) -> str:
    """A Python tuple literal, as numpy writes it: ``()``, ``(5,)``, ``(2, 3)``."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def header(dtype: str, shape: tuple[int, ...]) -> bytes:
    """Magic, version, header length and the padded header dict, as the app writes them."""
    descr, dims = DESCR[dtype], shape_literal(shape)
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}"
    if shape:
        text += " " * (GROWTH_AXIS_MAX_DIGITS - len(str(shape[0])))
    body_len = len(text) + 1  # the closing newline
    pad = ALIGN - ((len(MAGIC) + 2 + body_len) % ALIGN)
    return MAGIC + struct.pack("<H", body_len + pad) + text.encode("latin1") + b" " * pad + b"\n"


def npy_bytes(dtype: str, shape: tuple[int, ...], data: bytes) -> bytes:
    """A whole ``.npy`` file: the header, then ``data`` (little-endian, C order)."""
    return header(dtype, shape) + data
