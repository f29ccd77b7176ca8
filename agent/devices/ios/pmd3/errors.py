"""pymobiledevice3 exceptions → ``pomar_core.errors``. Nothing outside this package catches a
pymobiledevice3 exception by name."""

from __future__ import annotations

import asyncio
import re

from pymobiledevice3.dtx import DTXNsError, QueueShutDown
from pymobiledevice3.dtx.ns_types import NSError
from pymobiledevice3.exceptions import (
    AccessDeniedError,
    AppInstallError,
    AppNotInstalledError,
    ArbitrationError,
    BadDevError,
    ChannelClosedError,
    ConnectionFailedError,
    ConnectionFailedToUsbmuxdError,
    ConnectionTerminatedError,
    DeveloperDiskImageNotFoundError,
    DeveloperModeError,
    DeveloperModeIsNotEnabledError,
    DeviceNotFoundError,
    IncorrectModeError,
    InvalidServiceError,
    MCProtectedError,
    MissingManifestError,
    MuxException,
    NoDeviceConnectedError,
    NoSuchBuildIdentityError,
    NotMountedError,
    NotPairedError,
    NotTrustedError,
    PairingError,
    PasscodeRequiredError,
    PasswordRequiredError,
    PskCipherNotSupportedError,
    PyMobileDevice3Exception,
    QuicProtocolNotSupportedError,
    RemoteXPCHandshakeTimeoutError,
    RSDRequiredError,
    StartServiceError,
    TSSError,
    TunneldConnectionError,
    UserspaceTunnelUnavailableError,
)

from pomar_core.errors import (
    AppNotInstalled,
    DeviceError,
    DeviceLost,
    DeviceNotReady,
    TransientDeviceError,
    TransportUnavailable,
)

PMD3 = "python -m pymobiledevice3"

CAUGHT: tuple[type[BaseException], ...] = (
    PyMobileDevice3Exception,
    OSError,  # includes TimeoutError, ConnectionResetError, AfcException
    asyncio.IncompleteReadError,
    EOFError,
    QueueShutDown,
    DTXNsError,
    AssertionError,  # ProcessControl.launch asserts a non-zero pid
)
"""Everything the library lets escape; the adapter boundary catches exactly these."""

_LOST = (
    DeviceNotFoundError,
    NoDeviceConnectedError,
    BadDevError,
    ConnectionTerminatedError,  # and StreamClosedError
    ChannelClosedError,
    QueueShutDown,
    asyncio.IncompleteReadError,
    EOFError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)
_LOCKED = (PasswordRequiredError, PasscodeRequiredError)
_NOT_PAIRED = (NotPairedError, NotTrustedError, PairingError)
_DEVELOPER_MODE = (DeveloperModeIsNotEnabledError, DeveloperModeError)
_DISK_IMAGE = (
    NotMountedError,
    DeveloperDiskImageNotFoundError,
    MissingManifestError,
    NoSuchBuildIdentityError,
    TSSError,
    InvalidServiceError,
    StartServiceError,
)
_TRANSPORT = (
    ConnectionFailedToUsbmuxdError,
    TunneldConnectionError,
    RSDRequiredError,
    UserspaceTunnelUnavailableError,
    RemoteXPCHandshakeTimeoutError,
    QuicProtocolNotSupportedError,
    PskCipherNotSupportedError,
    AccessDeniedError,
    ArbitrationError,
    ConnectionFailedError,
    MuxException,
)


_LOCK_WORDS = re.compile(r"\b(un)?lock(ed)?\b", re.IGNORECASE)  # not "block", "clock"


def ns_error_text(error: object, depth: int = 0) -> str:
    """Domain, code and every string in an NSError's user_info, underlying errors included.

    ``str(DTXNsError)`` is ``f"{domain} (code {code}, user_info={user_info})"``
    (dtx/exceptions.py) and ``NSError`` has no ``__repr__`` (dtx/ns_types.py), so a nested
    ``NSUnderlyingError`` prints as ``<NSError object at 0x…>`` and its text is lost. FrontBoard
    puts the reason a launch failed there, so walk it.
    """
    if depth > 4:
        return ""
    if isinstance(error, NSError):
        inner = ns_error_text(error.user_info or {}, depth + 1)
        return f"{error.domain} {error.code} {inner}"
    if isinstance(error, dict):
        return " ".join(f"{k}={ns_error_text(v, depth + 1)}" for k, v in error.items())
    if isinstance(error, list | tuple):
        return " ".join(ns_error_text(v, depth + 1) for v in error)
    return str(error)


def translate(exc: BaseException, udid: str | None, doing: str) -> DeviceError:
    """The Pomar error for a library exception raised while ``doing`` something on ``udid``."""
    text = f"{doing}: {type(exc).__name__}: {exc}".rstrip(": ")

    def make(cls: type[DeviceError], hint: str) -> DeviceError:
        return cls(text, hint=hint, device_udid=udid)

    if isinstance(exc, _LOST):
        return make(DeviceLost, "check the cable; the run is retried on another device")
    if isinstance(exc, _LOCKED):
        return make(DeviceNotReady, "unlock the iPhone and set Auto-Lock to Never")
    if isinstance(exc, _NOT_PAIRED):
        return make(DeviceNotReady, f"unlock the iPhone, run `{PMD3} lockdown pair`, tap Trust")
    if isinstance(exc, _DEVELOPER_MODE):
        return make(
            DeviceNotReady,
            f"`{PMD3} amfi reveal-developer-mode`, then Settings > Privacy & Security > "
            "Developer Mode",
        )
    if isinstance(exc, IncorrectModeError):
        return make(DeviceNotReady, "the iPhone is in recovery/restore mode: reboot it")
    if isinstance(exc, MCProtectedError):
        return make(DeviceNotReady, "a configuration profile forbids this; check MDM settings")
    if isinstance(exc, _DISK_IMAGE):
        return make(
            DeviceNotReady,
            f"`{PMD3} mounter auto-mount`; on iOS 17+ also `sudo {PMD3} remote tunneld`",
        )
    if isinstance(exc, AppNotInstalledError):
        return make(AppNotInstalled, "`pomar devices --check --install`")
    if isinstance(exc, AppInstallError):
        return make(
            AppNotInstalled,
            "the harness did not install: check its signing and provisioning profile "
            "(the device must be registered in the team)",
        )
    if isinstance(exc, _TRANSPORT):
        return make(
            TransportUnavailable,
            f"is usbmuxd running? on iOS 17+ start `sudo {PMD3} remote tunneld`",
        )
    message = str(exc)
    # UNVERIFIED on a device: a locked iPhone's launch is expected to fail with an NSError whose
    # underlying FrontBoard error says "... could not be, unlocked" / BSErrorCodeDescription
    # "Locked" (as Xcode shows it). VERIFIED from source: such a reply raises DTXNsError
    # (dtx/channel.py), which is not a PyMobileDevice3Exception, and ProcessControl.launch adds
    # no handling (services/dvt/instruments/process_control.py).
    if isinstance(exc, DTXNsError) and _LOCK_WORDS.search(ns_error_text(exc.error)):
        return make(DeviceNotReady, "unlock the iPhone and set Auto-Lock to Never")
    if "InstallationLookupFailed" in message:
        return make(
            AppNotInstalled,
            "house_arrest refused the container: install a development-signed harness with "
            "UIFileSharingEnabled",
        )
    if "userspace tunnel is already active" in message:
        return make(
            TransportUnavailable,
            f"one userspace tunnel per process: run one worker per device or "
            f"`sudo {PMD3} remote tunneld`",
        )
    # DTXNsError, a failed launch (AssertionError), DvtException, AfcException, OSError, and
    # any other PyMobileDevice3Exception: worth one more try on the same device.
    return make(TransientDeviceError, "retry; if it persists, reboot the iPhone")
