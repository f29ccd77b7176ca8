"""`pomar token create|list|revoke` on the store, and `pomar serve` without its extra."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from orchestrator.server.tables import engine_of
from orchestrator.server.tokens import Scope, TokenStore
from orchestrator.stores import open_store
from pomar.cli import main


@pytest.fixture(autouse=True)
def local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POMAR_DATA_DIR", str(tmp_path / "data"))
    for name in ("POMAR_BROKER_URL", "POMAR_STORE_URL", "POMAR_SERVER_URL", "POMAR_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _tokens(tmp_path: Path) -> TokenStore:
    return TokenStore(engine_of(open_store(f"sqlite:///{tmp_path / 'data' / 'pomar.sqlite3'}")))


def test_create_prints_the_token_once_and_the_store_keeps_only_its_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "--name", "ci", "--scope", "read,submit", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    tokens = _tokens(tmp_path)
    found = tokens.verify(made["token"])
    assert found is not None
    assert found.allows(Scope.SUBMIT)
    assert not found.allows(Scope.ADMIN)
    store_bytes = (tmp_path / "data" / "pomar.sqlite3").read_bytes()
    assert made["token"].encode() not in store_bytes
    assert main(["token", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["tokens"]
    assert [(t["name"], t["scopes"]) for t in listed] == [("ci", ["read", "submit"])]
    assert made["token"] not in json.dumps(listed)


def test_revoke_makes_the_token_invalid_and_unknown_ids_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "--name", "bob", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert main(["token", "revoke", made["token_id"]]) == 0
    assert _tokens(tmp_path).verify(made["token"]) is None
    assert main(["token", "revoke", "nope"]) == 2
    assert "no token 'nope'" in capsys.readouterr().err


def test_a_bad_scope_exits_2_naming_the_scopes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--name", "x", "--scope", "read,root"]) == 2
    assert "unknown scope 'root'" in capsys.readouterr().err


def test_serve_without_the_extra_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec

    def without_fastapi(name: str, *args: object) -> object:
        return None if name == "fastapi" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_fastapi)
    assert main(["serve"]) == 2
    assert "pip install 'pomar[serve]'" in capsys.readouterr().err


def test_the_cli_does_not_import_the_server_until_asked() -> None:
    import subprocess
    import sys

    code = "import sys, pomar.cli; print('fastapi' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_remote_mode_without_the_extra_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec

    def without_httpx(name: str, *args: object) -> object:
        return None if name == "httpx" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_httpx)
    monkeypatch.setenv("POMAR_SERVER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("POMAR_TOKEN", "pomar_000000000000_x")
    assert main(["status"]) == 2
    assert "pip install 'pomar[serve]'" in capsys.readouterr().err


def test_an_unreachable_server_exits_3_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.conftest import free_port

    monkeypatch.setenv("POMAR_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("POMAR_TOKEN", "pomar_000000000000_x")
    assert main(["devices"]) == 3
    assert "cannot reach the Pomar server" in capsys.readouterr().err
