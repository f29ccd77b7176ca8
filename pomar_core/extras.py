"""Optional dependencies: each belongs to one extra of the ``pomar`` package, and a feature
that needs one says which to install before doing any work."""

from __future__ import annotations

import importlib.util

from pomar_core.errors import MissingExtra


def require_extra(extra: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` (exit 2) naming ``pip install 'pomar[extra]'`` when any of
    ``modules`` cannot be imported."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise MissingExtra(extra, module)
