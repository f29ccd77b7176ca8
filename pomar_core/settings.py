"""Settings read from ``POMAR_*`` environment variables, at the entry points only.

Modules below the CLI and the worker entry points receive a :class:`Settings` object; they
never read the environment themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "pomar"


class Settings(BaseSettings):
    """Where Pomar keeps its data and which servers it talks to."""

    model_config = SettingsConfigDict(env_prefix="POMAR_", frozen=True, extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Artifacts, the SQLite store and caches live here."""

    broker_url: str | None = None
    """A Celery broker (``redis://…``). Unset: run embedded, in process."""

    store_url: str | None = None
    """SQLAlchemy URL of the job store. Unset: SQLite under ``data_dir``."""

    artifacts_url: str | None = None
    """Where artifacts live in a farm (a shared directory). Unset: ``data_dir/artifacts``."""

    localise_max_runs: int = Field(default=12, ge=1)
    """Device runs one localisation may spend (``pomar localise --max-runs`` overrides)."""

    localise_auto: bool = True
    """The coordinator localises every run triage blames on the engine or the compute unit."""

    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Serve Prometheus metrics on this port (coordinator and agents; needs ``pomar[ops]``).
    Unset: no metrics endpoint."""

    metrics_address: str = "127.0.0.1"
    """The address the metrics endpoint listens on (``0.0.0.0`` for a remote Prometheus)."""

    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per log line, with the job, run and device ids."""

    server_url: str | None = None
    """A ``pomar serve`` front door (``https://pomar.example:8700``). Set with ``token``: the
    farm commands go through its HTTP API and need no broker or store credentials."""

    token: str | None = Field(default=None, repr=False)
    """The API token for ``server_url`` (``pomar token create``); never printed."""

    upload_limit_mb: float = Field(default=2048.0, gt=0)
    """``pomar serve``: the largest upload (a model or an input set) it accepts, in MiB."""

    @property
    def remote(self) -> bool:
        """True when the farm commands go through a ``pomar serve`` API."""
        return bool(self.server_url)

    @property
    def embedded(self) -> bool:
        """True when no broker is configured and everything runs in this process."""
        return not self.broker_url

    @property
    def artifacts_dir(self) -> Path:
        if self.artifacts_url:
            return Path(self.artifacts_url.removeprefix("file://"))
        return self.data_dir / "artifacts"

    @property
    def resolved_store_url(self) -> str:
        if self.store_url:
            return self.store_url
        return f"sqlite:///{self.data_dir / 'pomar.sqlite3'}"
