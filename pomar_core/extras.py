"""Optional dependencies: each belongs to one extra of the ``pomar`` package, and a feature
that needs one says which to install before doing any work."""

from __future__ import annotations

import importlib.util

from pomar_core.errors import MissingExtra

EXTRA_OF_MODULE = {
    "torch": "torch",
    "pymobiledevice3": "ios",
    "matplotlib": "reports",
    "psycopg": "farm",
    "boto3": "s3",
    "botocore": "s3",
    "prometheus_client": "ops",
    "fastapi": "serve",
    "uvicorn": "serve",
    "httpx": "serve",
    "jinja2": "serve",
    "multipart": "serve",
}
"""The extra that installs each optional top-level module (``pyproject.toml``)."""


def missing_extra(exc: ModuleNotFoundError) -> MissingExtra | None:
    """The :class:`MissingExtra` an import failure means, when the module is an optional one;
    the CLI's last resort, for code paths that do not call :func:`require_extra` first."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    return MissingExtra(extra, top) if extra else None


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
