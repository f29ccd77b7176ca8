"""Which device sources ``pomar agent``'s options choose."""

from __future__ import annotations

import pytest

from agent.launch import DeviceChoice, chosen_sources
from pomar_core.errors import UsageError


def test_emulated_devices_are_numbered_from_the_first_index() -> None:
    (source,) = chosen_sources(DeviceChoice(emulated=2, emulated_first=3, ios=False))
    assert [d.info.udid for d in source()] == ["emulated-3", "emulated-4"]


def test_every_chosen_backend_is_one_source_and_iphones_are_not_implied() -> None:
    sources = chosen_sources(DeviceChoice(emulated=1, fake_ios=2))
    assert [len(s()) for s in sources] == [1, 2]


def test_nothing_to_serve_is_bad_usage_that_names_every_option() -> None:
    with pytest.raises(UsageError) as caught:
        chosen_sources(DeviceChoice(ios=False))
    line = caught.value.one_line()
    for option in ("--ios", "--mac", "--emulated N", "--fake-ios N", "--devices-from"):
        assert option in line


def test_a_bad_factory_spec_is_bad_usage() -> None:
    with pytest.raises(UsageError, match="bad device source"):
        chosen_sources(DeviceChoice(factories=("no-colon",)))
