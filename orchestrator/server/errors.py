"""The server's own errors, each a :class:`~pomar_core.errors.UsageError` with an HTTP status
(:mod:`orchestrator.server.handlers` maps the whole tree)."""

from __future__ import annotations

from pomar_core.errors import UsageError


class NotFound(UsageError):
    """An id the farm does not know (HTTP 404)."""


class UploadTooLarge(UsageError):
    """More bytes than the server's upload limit (HTTP 413)."""


class DigestMismatch(UsageError):
    """The bytes do not hash to the sha256 they were uploaded as (HTTP 422)."""


class IdempotencyConflict(UsageError):
    """An idempotency key already used for a different request (HTTP 409)."""
