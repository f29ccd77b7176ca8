"""``pomar token create|list|revoke``: API tokens of ``pomar serve``, in the job store.

Run on a host that has the store's credentials (POMAR_STORE_URL): that is what makes one an
admin. The token's text is printed once, by ``create``; the store keeps only its digest.
"""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from orchestrator.server.tables import engine_of
from orchestrator.server.tokens import TokenStore, parse_scopes
from orchestrator.stores import open_store
from pomar_core.settings import Settings


def _tokens(settings: Settings) -> TokenStore:
    return TokenStore(engine_of(open_store(settings.resolved_store_url)))


@click.group()
def token() -> None:
    """Create, list and revoke the API tokens of `pomar serve`."""


@token.command()
@click.option("--name", required=True, help="Who or what uses it: alice, ci-nightly.")
@click.option(
    "--scope",
    "scopes",
    default="read,submit",
    show_default=True,
    help="Comma-separated: read (look), submit (submit and cancel jobs), admin (tokens).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def create(settings: Settings, name: str, scopes: str, as_json: bool) -> int:
    """Create a token and print it (once: only its digest is kept)."""
    plain, made = _tokens(settings).create(name, parse_scopes(scopes))
    if as_json:
        click.echo(json.dumps({"token": plain, "token_id": made.token_id, "scopes": scopes}))
    else:
        click.echo(plain)
        click.echo(
            f"token {made.token_id} for {made.name} ({', '.join(made.scopes)}): "
            "shown once, store it now (export POMAR_TOKEN=…)",
            err=True,
        )
    return 0


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_tokens(settings: Settings, as_json: bool) -> int:
    """Every token: id, name, scopes, when made and last used, and whether revoked."""
    tokens = _tokens(settings).list()
    if as_json:
        click.echo(json.dumps({"tokens": [t.model_dump(mode="json") for t in tokens]}))
        return 0
    table = Table(title="API tokens")
    for column in ("id", "name", "scopes", "created", "last used", "revoked"):
        table.add_column(column)
    for t in tokens:
        table.add_row(
            t.token_id,
            t.name,
            ",".join(t.scopes),
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    Console().print(table)
    return 0


@token.command()
@click.argument("token_id")
@click.pass_obj
def revoke(settings: Settings, token_id: str) -> int:
    """Revoke TOKEN_ID (as `pomar token list` shows it): every request with it is then 401."""
    revoked = _tokens(settings).revoke(token_id)
    click.echo(f"revoked token {revoked.token_id} ({revoked.name})")
    return 0
