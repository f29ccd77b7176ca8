"""The device backends are registered once (``agent.devices.REGISTERED``), and ``pomar agent``
and embedded runs reach every one of them, a new one included, through that list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import devices
from agent.backend import Backend
from agent.launch import DeviceChoice, chosen_sources
from agent.local import local_devices
from pomar.cli import main
from pomar_core.errors import SelectorError, UsageError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def with_toy_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The registry with one more line: ``tests.agent.toy_backend``."""
    monkeypatch.setattr(devices, "REGISTERED", (*devices.REGISTERED, "tests.agent.toy_backend"))
    devices.backends.cache_clear()
    yield
    devices.backends.cache_clear()


def test_every_registered_backend_lives_in_its_package_under_one_kind() -> None:
    kinds = [b.kind for b in devices.backends()]
    assert kinds == ["emulated", "mac", "ios", "fake-ios"]
    for module in devices.REGISTERED:
        assert module.startswith("agent.devices."), module
        assert module.endswith(".backend"), module
        assert (REPO / (module.replace(".", "/") + ".py")).is_file()
    assert all(isinstance(b, Backend) and b.summary for b in devices.backends())


def test_an_unknown_kind_is_bad_usage_naming_the_registered_ones() -> None:
    with pytest.raises(UsageError, match="no device backend 'nope'") as caught:
        devices.backend("nope")
    assert "emulated, mac, ios, fake-ios" in (caught.value.hint or "")


def test_serve_reaches_a_backend_by_kind_with_a_count() -> None:
    emulated, fakes = chosen_sources(DeviceChoice(serve=("emulated=2", "fake-ios"), ios=False))
    assert [d.info.udid for d in emulated()] == ["emulated-0", "emulated-1"]
    assert len(fakes()) == 1


@pytest.mark.parametrize("spec", ["emulated=two", "nope=1"])
def test_a_bad_serve_spec_is_bad_usage(spec: str) -> None:
    with pytest.raises(UsageError):
        chosen_sources(DeviceChoice(serve=(spec,), ios=False))


def test_local_ids_come_from_the_backends_and_others_say_what_this_host_offers() -> None:
    assert [d.info.udid for d in local_devices(["emulated", "emulator", "emulated-3"])] == [
        "emulated-0",
        "emulated-3",
    ]
    with pytest.raises(SelectorError, match=r"this host offers: emulated-N"):
        local_devices(["iphone-1"])


def test_a_new_backend_is_one_registry_line_away_from_agent_and_local_runs(
    with_toy_backend: None,
) -> None:
    (toys,) = chosen_sources(DeviceChoice(serve=("toy=2",), ios=False))
    assert [d.info.udid for d in toys()] == ["emulated-100", "emulated-101"]
    assert [d.info.udid for d in local_devices(["toy"])] == ["emulated-100"]
    with pytest.raises(SelectorError, match=r"this host offers: .*toy"):
        local_devices(["nothing"])


def test_pomar_agent_with_an_unknown_kind_exits_2_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POMAR_BROKER_URL", "redis://127.0.0.1:9/0")  # never reached
    assert main(["agent", "--serve", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no device backend 'nope'" in err
