"""Input sets: the user's ``.npz`` checked against the model, or tensors generated from its spec.

A file is loaded with pickles disabled and validated by name, shape (fixed, range-flexible or
enumerated) and dtype. Casts are allowed only when they keep the values: any float to the
model's float type as long as finite values stay finite, integers to a float type when exactly
representable, integers to an integer type when they fit. NaN or Inf in a file is not an error
(a model may be expected to handle it) but becomes a warning carried in every report.

Generated inputs use a seeded generator: standard normal for floats, 0..255 for images and
uint8, small non-negative integers (token ids, indices) for integers, coin flips for bools.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pomar_core.arrays import Arrays
from pomar_core.artifacts import ArtifactStore, save_arrays
from pomar_core.errors import InputsError
from pomar_core.wire import DType, InputOrigin, InputSet, ModelRef, TensorSpec

_SMALL_INT_HIGH = 10
"""Generated integers are in [0, 10): valid ids for any embedding or index input we can guess."""


def prepare_inputs(
    model: ModelRef,
    store: ArtifactStore,
    *,
    path: Path | None = None,
    seed: int = 0,
) -> tuple[Arrays, InputSet]:
    """The input set for ``model``: from ``path`` (an ``.npz``) or generated with ``seed``.

    Arrays come back cast to the model's dtypes and are stored as one ``.npz`` artifact.
    """
    if path is not None:
        arrays, warnings = load_inputs(path, model)
        origin, used_seed, source_name = InputOrigin.FILE, None, str(path)
    else:
        arrays, warnings = generate_inputs(model, seed), ()
        origin, used_seed, source_name = InputOrigin.GENERATED, seed, None
    sha256 = save_arrays(store, arrays)
    tensors = tuple(
        TensorSpec(name=name, dtype=DType(str(arr.dtype)), shape=tuple(arr.shape))
        for name, arr in arrays.items()
    )
    return arrays, InputSet(
        sha256=sha256,
        origin=origin,
        tensors=tensors,
        seed=used_seed,
        source_name=source_name,
        warnings=warnings,
    )


def load_inputs(path: Path, model: ModelRef) -> tuple[Arrays, tuple[str, ...]]:
    """Load and validate an ``.npz`` against ``model``; return the cast arrays and warnings."""
    raw = read_npz(path)
    expected = {spec.name: spec for spec in model.inputs}
    missing = [name for name in expected if name not in raw]
    extra = [name for name in raw if name not in expected]
    wanted = ", ".join(_describe(spec) for spec in model.inputs)
    if missing:
        raise InputsError(
            f"{path.name} has no array named {', '.join(repr(n) for n in missing)}",
            hint=f"the model takes {wanted}; save them with np.savez(path, name=array, ...)",
        )
    if extra:
        raise InputsError(
            f"{path.name} has {', '.join(repr(n) for n in extra)}, which the model does not take",
            hint=f"the model takes {wanted}; remove the others or rename them",
        )
    arrays: Arrays = {}
    warnings: list[str] = []
    for spec in model.inputs:
        array = raw[spec.name]
        _check_shape(spec, array, path)
        arrays[spec.name] = _cast(spec, array, path)
        warning = _non_finite_warning(spec.name, array)
        if warning:
            warnings.append(warning)
    return arrays, tuple(warnings)


def generate_inputs(model: ModelRef, seed: int) -> Arrays:
    """Random inputs with each input's default shape and dtype, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    arrays: Arrays = {}
    for spec in model.inputs:
        dtype = np.dtype(spec.dtype.value)
        shape = spec.shape
        if spec.is_image or spec.dtype is DType.UINT8:
            arrays[spec.name] = rng.integers(0, 256, size=shape).astype(dtype)
        elif spec.dtype is DType.BOOL:
            arrays[spec.name] = rng.integers(0, 2, size=shape).astype(np.bool_)
        elif np.issubdtype(dtype, np.integer):
            arrays[spec.name] = rng.integers(0, _SMALL_INT_HIGH, size=shape).astype(dtype)
        else:
            arrays[spec.name] = rng.standard_normal(size=shape, dtype=np.float32).astype(dtype)
    return arrays


def read_npz(path: Path) -> Arrays:
    """Every array of an ``.npz``, pickles refused; ``InputsError`` saying what is wrong."""
    if not path.is_file():
        raise InputsError(f"{path} does not exist", hint="check the --inputs path")
    if not zipfile.is_zipfile(path):
        with path.open("rb") as f:
            pickled = f.read(1) == b"\x80"  # every pickle protocol >= 2 starts with PROTO
        if pickled:
            raise InputsError(
                f"{path.name} is a pickle, which Pomar never loads",
                hint="save plain numeric arrays with np.savez(path, name=array, ...)",
            )
        raise InputsError(
            f"{path.name} is not an .npz archive",
            hint="save the inputs with np.savez(path, name=array, ...)",
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise InputsError(
                f"{path.name} holds pickled (object) arrays, which Pomar never loads",
                hint="save plain numeric arrays, e.g. np.savez(path, x=np.asarray(x, np.float32))",
            ) from exc
        raise InputsError(
            f"{path.name} is not a readable .npz ({exc})", hint="save it again with np.savez"
        ) from exc
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InputsError(
            f"{path.name} is not a readable .npz ({exc})", hint="save it again with np.savez"
        ) from exc


def _check_shape(spec: TensorSpec, array: npt.NDArray[np.generic], path: Path) -> None:
    shape = tuple(int(d) for d in array.shape)
    if spec.enumerated_shapes is not None:
        ok = shape in spec.enumerated_shapes
        allowed = " or ".join(_shape_text(s) for s in spec.enumerated_shapes)
    elif spec.shape_range is not None:
        ok = len(shape) == len(spec.shape_range) and all(
            low <= d and (high < 0 or d <= high)
            for d, (low, high) in zip(shape, spec.shape_range, strict=True)
        )
        allowed = "[" + ", ".join(_range_text(low, high) for low, high in spec.shape_range) + "]"
    else:
        ok = shape == spec.shape
        allowed = _shape_text(spec.shape)
    if not ok:
        raise InputsError(
            f"input '{spec.name}' in {path.name} has shape {_shape_text(shape)}, "
            f"the model expects {allowed}",
            hint="reshape or regenerate that array",
        )


def _cast(spec: TensorSpec, array: npt.NDArray[np.generic], path: Path) -> npt.NDArray[np.generic]:
    target = np.dtype(spec.dtype.value)
    found = array.dtype
    if found == target:
        return np.ascontiguousarray(array)
    # Overflow and NaN-to-int casts are detected below, not reported as numpy warnings.
    with np.errstate(all="ignore"):
        return _checked_cast(spec, array, target, path)


def _checked_cast(
    spec: TensorSpec, array: npt.NDArray[np.generic], target: np.dtype[np.generic], path: Path
) -> npt.NDArray[np.generic]:
    found = array.dtype
    problem = None
    if found.kind not in "biuf":
        problem = "is not numeric"
    elif target.kind == "b":
        problem = "cannot become bool without losing values"
    elif target.kind == "f" and found.kind == "f":
        finite = np.isfinite(array)
        cast = array.astype(target)
        if not np.all(np.isfinite(cast[finite])):
            problem = f"has values beyond the {target} range"
        else:
            return np.ascontiguousarray(cast)
    else:
        cast = array.astype(target)
        if not np.array_equal(cast.astype(found), array):
            problem = f"has values that {target} cannot hold exactly"
        else:
            return np.ascontiguousarray(cast)
    raise InputsError(
        f"input '{spec.name}' in {path.name} is {found}, the model expects {target}, "
        f"and it {problem}",
        hint=f"convert it with array.astype(np.{target}) after checking its values",
    )


def _non_finite_warning(name: str, array: npt.NDArray[np.generic]) -> str | None:
    if array.dtype.kind != "f":
        return None
    nan = int(np.isnan(array).sum())
    inf = int(np.isinf(array).sum())
    if not nan and not inf:
        return None
    parts = [f"{count} {kind}" for count, kind in ((nan, "NaN"), (inf, "Inf")) if count]
    return (
        f"input '{name}' contains {' and '.join(parts)} of {array.size} values; "
        "outputs computed from them are compared as they are"
    )


def _describe(spec: TensorSpec) -> str:
    return f"{spec.name}: {spec.dtype.value}{_shape_text(spec.shape)}"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _range_text(low: int, high: int) -> str:
    if low == high:
        return str(low)
    return f"{low}..{'∞' if high < 0 else high}"
