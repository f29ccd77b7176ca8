"""A missing optional dependency is bad usage (exit 2) naming the extra to install: where a
feature checks first (require_extra) and, as a last resort, wherever an import fails."""

from __future__ import annotations

import socket
import sys

import click
import pytest

from pomar.cli import cli, main


def _hide(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails


def test_selftest_on_the_emulator_without_torch_names_the_torch_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _hide(monkeypatch, "torch")
    assert main(["selftest", "--device", "emulated"]) == 2
    assert "pip install 'pomar[torch]'" in capsys.readouterr().err


def test_a_metrics_port_without_prometheus_client_names_the_ops_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("POMAR_BROKER_URL", f"redis://127.0.0.1:{port}/0")  # never reached
    monkeypatch.setenv("POMAR_METRICS_PORT", str(port))
    _hide(monkeypatch, "prometheus_client")
    assert main(["agent", "--emulated", "1"]) == 2
    err = capsys.readouterr().err
    assert "this needs the 'ops' extra (prometheus_client is not installed)" in err
    assert "pip install 'pomar[ops]'" in err


def test_any_command_whose_import_of_an_optional_module_fails_exits_2_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @click.command("needs-plots")
    def needs_plots() -> int:
        import matplotlib  # noqa: F401

        return 0

    monkeypatch.setitem(cli.commands, "needs-plots", needs_plots)
    _hide(monkeypatch, "matplotlib")
    assert main(["needs-plots"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "pomar: error: this needs the 'reports' extra (matplotlib is not installed) "
        "— pip install 'pomar[reports]'"
    )
