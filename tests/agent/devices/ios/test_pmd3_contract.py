"""The adapter against the installed pymobiledevice3: every name it uses exists, with the
parameters it passes and the sync/async nature it assumes; every exception it names exists; its
imports are all in the contract table; nothing else in Pomar imports pymobiledevice3; and the
exception translation maps each family to the right Pomar error."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from agent.devices.ios.pmd3.contract import USED, Used

REPO = Path(__file__).resolve().parents[4]
ADAPTER = REPO / "agent" / "devices" / "ios" / "pmd3"


def resolve(target: str) -> tuple[Any, Any, str | None]:
    """(owner class or module, object, member name)."""
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    parts = path.split(".")
    obj = owner
    for part in parts[:-1]:
        obj = getattr(obj, part)
    owner = obj
    member = parts[-1]
    return owner, getattr(owner, member), member if len(parts) > 1 else None


def test_pymobiledevice3_is_the_pinned_version() -> None:
    from importlib.metadata import version

    assert version("pymobiledevice3") == "11.45.0"


@pytest.mark.parametrize("used", USED, ids=lambda u: u.target)
def test_every_used_name_exists_with_the_assumed_nature_and_parameters(used: Used) -> None:
    owner, obj, member = resolve(used.target)
    nature = used.nature
    if nature == "coroutine":
        assert inspect.iscoroutinefunction(obj), f"{used.target} is no longer async"
    elif nature == "returns_coroutine":
        assert not inspect.iscoroutinefunction(obj), f"{used.target} became a coroutine function"
        assert inspect.iscoroutinefunction(inspect.unwrap(obj)), f"{used.target} is not async"
    elif nature == "async_generator":
        assert inspect.isasyncgenfunction(obj), f"{used.target} is not an async generator"
    elif nature == "function":
        assert callable(obj)
        assert not inspect.iscoroutinefunction(obj)
        assert not inspect.isclass(obj)
    elif nature == "property":
        assert member is not None
        assert isinstance(inspect.getattr_static(owner, member), property)
    elif nature == "exception":
        assert inspect.isclass(obj)
        assert issubclass(obj, BaseException)
    elif nature in ("class", "async_context_manager"):
        assert inspect.isclass(obj)
        if nature == "async_context_manager":
            assert inspect.iscoroutinefunction(obj.__aenter__)
            assert inspect.iscoroutinefunction(obj.__aexit__)
    if used.params:
        signature = inspect.signature(obj)
        names = set(signature.parameters)
        takes_kwargs = any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
        )
        missing = [p for p in used.params if p not in names]
        assert takes_kwargs or not missing, f"{used.target} lost parameters {missing}"


def _pmd3_imports(path: Path) -> list[str]:
    """``module:Name`` for every pymobiledevice3 import in a file (``module:`` for modules)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pymobiledevice3"):
            for alias in node.names:
                module = f"{node.module}.{alias.name}"
                try:
                    importlib.import_module(module)
                    found.append(f"{module}:")  # a submodule import
                except ImportError:
                    found.append(f"{node.module}:{alias.name}")
        elif isinstance(node, ast.Import):
            found += [f"{a.name}:" for a in node.names if a.name.startswith("pymobiledevice3")]
    return found


def test_every_adapter_import_is_in_the_contract_table() -> None:
    targets = {u.target for u in USED}
    for path in sorted(ADAPTER.glob("*.py")):
        for imported in _pmd3_imports(path):
            module, _, name = imported.partition(":")
            if name:
                assert any(t == imported or t.startswith(imported + ".") for t in targets), (
                    f"{path.name} imports {imported}, which the contract table does not list"
                )
            else:
                assert any(t.startswith(f"{module}:") for t in targets), (
                    f"{path.name} imports module {module}, which the contract table does not use"
                )


def test_only_the_adapter_imports_pymobiledevice3() -> None:
    offenders = []
    for root in ("agent", "orchestrator"):
        for path in (REPO / root).rglob("*.py"):
            if ADAPTER in path.parents:
                continue
            if _pmd3_imports(path):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_importing_the_adapter_package_does_not_import_pymobiledevice3_eagerly() -> None:
    # agent.devices.ios (fake, runner, checks) must work where pymobiledevice3 is not installed.
    for path in (REPO / "agent" / "devices" / "ios").rglob("*.py"):
        if ADAPTER in path.parents:
            continue
        assert _pmd3_imports(path) == [], path.name


def _locked_launch_error() -> object:
    """The shape Xcode shows for launching on a locked phone: the reason only in the
    underlying error, which ``str(DTXNsError)`` cannot print (NSError has no ``__repr__``)."""
    from pymobiledevice3.dtx.ns_types import NSError

    underlying = NSError(
        7,
        "FBSOpenApplicationErrorDomain",
        {
            "NSLocalizedFailureReason": "Unable to launch org.pomar.harness because the device "
            "was not, or could not be, unlocked.",
            "BSErrorCodeDescription": "Locked",
        },
    )
    return NSError(
        1,
        "FBSOpenApplicationServiceErrorDomain",
        {
            "NSLocalizedDescription": 'The request to open "org.pomar.harness" failed.',
            "NSUnderlyingError": underlying,
        },
    )


def test_a_locked_launch_reason_hides_in_the_underlying_error_where_str_cannot_see_it() -> None:
    from pymobiledevice3.dtx import DTXNsError

    from agent.devices.ios.pmd3.errors import ns_error_text

    error = _locked_launch_error()
    assert "unlocked" not in str(DTXNsError(error))  # type: ignore[arg-type]
    assert "could not be, unlocked" in ns_error_text(error)


def _translations() -> list[tuple[BaseException, str]]:
    from pymobiledevice3 import exceptions as e
    from pymobiledevice3.dtx import DTXNsError, QueueShutDown
    from pymobiledevice3.dtx.ns_types import NSError

    return [
        (e.ConnectionTerminatedError(), "DeviceLost"),
        (e.DeviceNotFoundError("X"), "DeviceLost"),
        (QueueShutDown(), "DeviceLost"),
        (asyncio.IncompleteReadError(b"", 4), "DeviceLost"),
        (ConnectionResetError(), "DeviceLost"),
        (e.PasswordRequiredError("locked"), "DeviceNotReady"),
        (e.NotPairedError(), "DeviceNotReady"),
        (e.UserDeniedPairingError(), "DeviceNotReady"),
        (e.DeveloperModeIsNotEnabledError(), "DeviceNotReady"),
        (e.InvalidServiceError("InvalidService", "X", "17.0"), "DeviceNotReady"),
        (e.StartServiceError("com.apple.instruments.dtservicehub", "x"), "DeviceNotReady"),
        (e.AppNotInstalledError("x"), "AppNotInstalled"),
        (e.AppInstallError("ApplicationVerificationFailed"), "AppNotInstalled"),
        (e.PyMobileDevice3Exception("refused: InstallationLookupFailed"), "AppNotInstalled"),
        (e.ConnectionFailedToUsbmuxdError(), "TransportUnavailable"),
        (e.TunneldConnectionError(), "TransportUnavailable"),
        (e.RSDRequiredError("X", "17.0"), "TransportUnavailable"),
        (e.PskCipherNotSupportedError(), "TransportUnavailable"),
        (
            DTXNsError(
                NSError(1, "DTXMessage", {"NSLocalizedDescription": "The device is locked"})
            ),
            "DeviceNotReady",
        ),
        (DTXNsError(_locked_launch_error()), "DeviceNotReady"),
        (
            DTXNsError(NSError(1, "DTXMessage", {"NSLocalizedDescription": "read blocked"})),
            "TransientDeviceError",
        ),
        (AssertionError(), "TransientDeviceError"),
        (e.AfcException("x", None), "TransientDeviceError"),
        (TimeoutError(), "TransientDeviceError"),
    ]


def test_every_library_exception_family_translates_to_the_right_pomar_error() -> None:
    from agent.devices.ios.pmd3.errors import CAUGHT, translate

    for exc, expected in _translations():
        assert isinstance(exc, CAUGHT), f"{type(exc).__name__} would escape the adapter"
        error = translate(exc, "UDID-1", "doing it")
        assert type(error).__name__ == expected, f"{type(exc).__name__} → {type(error).__name__}"
        assert error.device_udid == "UDID-1"
        assert error.hint


def test_listing_without_usbmuxd_raises_transport_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from agent.devices.ios.pmd3 import Pmd3Transport
    from pomar_core.errors import TransportUnavailable

    monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", str(tmp_path / "no-usbmuxd.sock"))
    transport = Pmd3Transport()
    try:
        with pytest.raises(TransportUnavailable, match="usbmuxd"):
            transport.list_devices()
    finally:
        transport.close()


def test_loop_thread_runs_coroutines_and_times_out() -> None:
    from agent.devices.ios.pmd3.loop import LoopThread

    loop = LoopThread("test")
    try:

        async def answer() -> int:
            return 42

        assert loop.run(answer(), 5) == 42
        with pytest.raises(TimeoutError):
            loop.run(asyncio.sleep(10), 0.05)
    finally:
        loop.close()


@pytest.mark.parametrize("refusal", ["MissingValueError", "GetProhibitedError", None])
def test_free_space_that_lockdown_will_not_give_is_unknown_not_a_failure(
    refusal: str | None,
) -> None:
    from pymobiledevice3 import exceptions as e

    from agent.devices.ios.pmd3.status import free_bytes

    class Lockdown:
        async def get_value(self, domain: str, key: str) -> object:
            if refusal is not None:
                raise getattr(e, refusal)("refused", "UDID-1", "17.5", error=refusal)
            return None

    assert asyncio.run(free_bytes(Lockdown())) is None
