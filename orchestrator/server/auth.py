"""Who is calling: a bearer token (``Authorization: Bearer pomar_…``), or the dashboard's
cookie holding the same token. No token or a bad one is 401, a token without the scope 403.

Tokens are only ever read from a header or a cookie, never from a URL, so access logs (which
print the request line) cannot show one.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.server.tokens import Scope, Token, TokenStore

COOKIE = "pomar_token"
_bearer = HTTPBearer(auto_error=False, description="An API token: `pomar token create`.")


class NotLoggedIn(Exception):
    """A dashboard page without a valid cookie: redirect to the log-in page."""


def token_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return request.cookies.get(COOKIE)


def require(scope: Scope) -> Callable[..., Token]:
    """A dependency giving the caller's token when it has ``scope``."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> Token:
        tokens: TokenStore = request.app.state.service.tokens
        plain = token_of(request, credentials)
        if not plain:
            raise HTTPException(
                401,
                "no API token: send Authorization: Bearer <token> (pomar token create)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token = tokens.verify(plain)
        if token is None:
            raise HTTPException(
                401,
                "the API token is unknown or revoked: ask an admin for a new one",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not token.allows(scope):
            raise HTTPException(
                403,
                f"token '{token.name}' lacks the '{scope.value}' scope "
                f"(it has {', '.join(s.value for s in token.scopes)})",
            )
        request.state.token = token
        return token

    return dependency


def page_token(request: Request) -> Token:
    """The dashboard's dependency: the cookie's token with ``read``, else the log-in page."""
    tokens: TokenStore = request.app.state.service.tokens
    plain = request.cookies.get(COOKIE)
    token = tokens.verify(plain) if plain else None
    if token is None or not token.allows(Scope.READ):
        raise NotLoggedIn()
    return token
