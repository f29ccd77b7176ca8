"""API tokens: created once (the plain token is shown once), stored as a sha256 digest, with
scopes, revocable.

A token is ``pomar_<id>_<secret>`` with 32 random bytes of secret. Because the secret is
random and long, one sha256 is enough (a slow password hash protects guessable passwords; it
would only make every request slower here). The id is not secret: it names the token in
``pomar token list`` and in logs, which never see the token itself.

Scopes nest: ``admin`` can do what ``submit`` can, ``submit`` what ``read`` can.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from orchestrator.server.errors import NotFound
from orchestrator.server.tables import TokenRow
from pomar_core.errors import UsageError
from pomar_core.wire import WireModel

PREFIX = "pomar_"


class Scope(StrEnum):
    READ = "read"
    SUBMIT = "submit"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        order = (Scope.READ, Scope.SUBMIT, Scope.ADMIN)
        return order.index(self) >= order.index(needed)


class Token(WireModel):
    """A token as the store knows it: never the secret."""

    token_id: str
    name: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def allows(self, needed: Scope) -> bool:
        return self.revoked_at is None and any(s.allows(needed) for s in self.scopes)


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """``read,submit`` → scopes; ``UsageError`` naming the bad one."""
    scopes = []
    for word in (w.strip() for w in text.split(",") if w.strip()):
        try:
            scopes.append(Scope(word))
        except ValueError:
            raise UsageError(
                f"unknown scope '{word}'", hint="scopes are read, submit and admin"
            ) from None
    if not scopes:
        raise UsageError("a token needs at least one scope", hint="--scope read,submit")
    return tuple(dict.fromkeys(scopes))


def _token(row: TokenRow) -> Token:
    return Token(
        token_id=row.token_id,
        name=row.name,
        scopes=tuple(Scope(s) for s in row.scopes.split(",")),
        created_at=_aware(row.created_at),
        last_used_at=_aware(row.last_used_at) if row.last_used_at else None,
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class TokenStore:
    """Tokens in the job store's database (table ``api_tokens``)."""

    def __init__(self, engine: Engine) -> None:
        self._session = sessionmaker(engine, expire_on_commit=False)

    def create(self, name: str, scopes: tuple[Scope, ...]) -> tuple[str, Token]:
        """A new token: the plain text (shown once, never stored) and its record."""
        if not name.strip():
            raise UsageError("a token needs a name", hint="pomar token create --name ci-nightly")
        token_id = secrets.token_hex(6)
        plain = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        row = TokenRow(
            token_id=token_id,
            name=name.strip(),
            digest=digest_of(plain),
            scopes=",".join(s.value for s in scopes),
            created_at=datetime.now(UTC),
        )
        with self._session.begin() as s:
            s.add(row)
        return plain, _token(row)

    def verify(self, plain: str) -> Token | None:
        """The live token ``plain`` is, or None (unknown, malformed, or revoked)."""
        if not plain.startswith(PREFIX):
            return None
        digest = digest_of(plain)
        with self._session.begin() as s:
            row = s.scalars(select(TokenRow).where(TokenRow.digest == digest)).first()
            if row is None or not hmac.compare_digest(row.digest, digest):
                return None
            if row.revoked_at is not None:
                return None
            now = datetime.now(UTC)
            # At most one write a minute per token: 50 pollers must not queue on one row.
            if row.last_used_at is None or (now - _aware(row.last_used_at)).total_seconds() > 60:
                row.last_used_at = now
            return _token(row)

    def list(self) -> list[Token]:
        with self._session() as s:
            rows = s.scalars(select(TokenRow).order_by(TokenRow.created_at))
            return [_token(r) for r in rows]

    def revoke(self, token_id: str) -> Token:
        """Revoke by id (what ``pomar token list`` shows); ``UsageError`` if unknown."""
        with self._session.begin() as s:
            s.execute(
                update(TokenRow)
                .where(TokenRow.token_id == token_id, TokenRow.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            row = s.get(TokenRow, token_id)
            if row is None:
                raise NotFound(f"no token '{token_id}'", hint="list tokens with `pomar token list`")
            return _token(row)
