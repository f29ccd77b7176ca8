"""The iPhones Pomar knows: product type → marketing name, chip, RAM, per-app memory limit.

Pure data and lookups, no heavy imports: the agent uses it for device facts and the coordinator's
preflight uses it to compare a model's memory estimate with what a device will let one app use.

Sources:

* Product types and marketing names: Apple's "Identify your iPhone model" support page
  (support.apple.com/HT201296) and pymobiledevice3 11.45.0 ``irecv_devices.IRECV_DEVICES``, which
  the contract tests compare this table against.
* RAM: Apple does not publish it; the values are the teardown figures collected on Wikipedia's
  "List of iPhone models" (memory row) and confirmed by Xcode's device reports.
* Per-app memory limit: iOS kills an app whose ``phys_footprint`` crosses its jetsam limit.
  Community measurements (Stack Overflow question 5887248, "iOS app maximum memory budget",
  crash-limit table) put it at ~55-63 % of RAM on 3-4 GB devices (XS 2040 MB of 3735 MB, XR
  1792 MB of 2813 MB, 11 2068 MB of 3844 MB) and about half of RAM on 6 GB and larger devices.
  Apple documents ``os_proc_available_memory()`` as the authority at run time and the
  ``com.apple.developer.kernel.increased-memory-limit`` entitlement as a way to raise it; the
  harness app records the former, so these numbers are for preflight, not for verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class IPhoneModel:
    """One iPhone product type."""

    product_type: str
    marketing_name: str
    chip: str
    ram_bytes: int
    app_memory_limit_bytes: int
    """The practical per-app limit (jetsam) without the increased-memory-limit entitlement."""
    neural_engine_cores: int = 16


def _model(product_type: str, name: str, chip: str, ram_gib: int) -> IPhoneModel:
    ram = ram_gib * GIB
    # Smaller devices leave a larger share to the foreground app (measured, see module docstring).
    share = 0.55 if ram_gib <= 4 else 0.5
    neural_cores = 8 if chip == "A12 Bionic" else 16
    return IPhoneModel(product_type, name, chip, ram, int(ram * share), neural_cores)


_MODELS: tuple[IPhoneModel, ...] = (
    _model("iPhone11,2", "iPhone XS", "A12 Bionic", 4),
    _model("iPhone11,4", "iPhone XS Max", "A12 Bionic", 4),  # China model
    _model("iPhone11,6", "iPhone XS Max", "A12 Bionic", 4),
    _model("iPhone11,8", "iPhone XR", "A12 Bionic", 3),
    _model("iPhone12,1", "iPhone 11", "A13 Bionic", 4),
    _model("iPhone12,3", "iPhone 11 Pro", "A13 Bionic", 4),
    _model("iPhone12,5", "iPhone 11 Pro Max", "A13 Bionic", 4),
    _model("iPhone12,8", "iPhone SE (2nd generation)", "A13 Bionic", 3),
    _model("iPhone13,1", "iPhone 12 mini", "A14 Bionic", 4),
    _model("iPhone13,2", "iPhone 12", "A14 Bionic", 4),
    _model("iPhone13,3", "iPhone 12 Pro", "A14 Bionic", 6),
    _model("iPhone13,4", "iPhone 12 Pro Max", "A14 Bionic", 6),
    _model("iPhone14,2", "iPhone 13 Pro", "A15 Bionic", 6),
    _model("iPhone14,3", "iPhone 13 Pro Max", "A15 Bionic", 6),
    _model("iPhone14,4", "iPhone 13 mini", "A15 Bionic", 4),
    _model("iPhone14,5", "iPhone 13", "A15 Bionic", 4),
    _model("iPhone14,6", "iPhone SE (3rd generation)", "A15 Bionic", 4),
    _model("iPhone14,7", "iPhone 14", "A15 Bionic", 6),
    _model("iPhone14,8", "iPhone 14 Plus", "A15 Bionic", 6),
    _model("iPhone15,2", "iPhone 14 Pro", "A16 Bionic", 6),
    _model("iPhone15,3", "iPhone 14 Pro Max", "A16 Bionic", 6),
    _model("iPhone15,4", "iPhone 15", "A16 Bionic", 6),
    _model("iPhone15,5", "iPhone 15 Plus", "A16 Bionic", 6),
    _model("iPhone16,1", "iPhone 15 Pro", "A17 Pro", 8),
    _model("iPhone16,2", "iPhone 15 Pro Max", "A17 Pro", 8),
    _model("iPhone17,1", "iPhone 16 Pro", "A18 Pro", 8),
    _model("iPhone17,2", "iPhone 16 Pro Max", "A18 Pro", 8),
    _model("iPhone17,3", "iPhone 16", "A18", 8),
    _model("iPhone17,4", "iPhone 16 Plus", "A18", 8),
    _model("iPhone17,5", "iPhone 16e", "A18", 8),
    _model("iPhone18,1", "iPhone 17 Pro", "A19 Pro", 12),
    _model("iPhone18,2", "iPhone 17 Pro Max", "A19 Pro", 12),
    _model("iPhone18,3", "iPhone 17", "A19", 8),
    _model("iPhone18,4", "iPhone Air", "A19 Pro", 12),
)

_BY_PRODUCT_TYPE = {m.product_type: m for m in _MODELS}


def all_iphones() -> tuple[IPhoneModel, ...]:
    """Every product type in the table, oldest first."""
    return _MODELS


def lookup_iphone(product_type: str) -> IPhoneModel | None:
    """The entry for ``product_type`` (``iPhone15,2``), or None when Pomar does not know it."""
    return _BY_PRODUCT_TYPE.get(product_type)


def marketing_name(product_type: str) -> str:
    """``iPhone 14 Pro`` for ``iPhone15,2``; the product type itself when unknown."""
    model = lookup_iphone(product_type)
    return model.marketing_name if model else product_type


def app_memory_limit_bytes(product_type: str) -> int | None:
    """The practical per-app memory limit on this product type, when known."""
    model = lookup_iphone(product_type)
    return model.app_memory_limit_bytes if model else None
