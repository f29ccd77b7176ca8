"""Pomar's one error tree.

Every error Pomar raises on purpose derives from :class:`PomarError`. The CLI turns one into a
single line and the exit code of its branch; a traceback that reaches a user is a bug.

::

    PomarError                          exit 3 unless a branch says otherwise
    ├── UsageError                      exit 2: bad usage or bad input, the user can fix it
    │   ├── ModelError                  model missing, corrupt, or not a model Pomar accepts
    │   │   ├── ConversionError         coremltools could not convert a source model
    │   │   └── UnsupportedOpError      the emulator cannot run an op (names op and opset)
    │   ├── InputsError                 an input set that does not fit the model
    │   ├── ToleranceError              a tolerance policy that does not parse or validate
    │   ├── FarmFileError               a farm file that does not parse (carries file, line, field)
    │   ├── SelectorError               a device/pool selector that matches nothing
    │   └── MissingExtra                an optional dependency is not installed (names the extra)
    ├── JobRefused                      exit 1: preflight says the job cannot succeed
    ├── InfrastructureError             exit 3: the farm, not the model, failed
    │   ├── BrokerError                 Celery broker or result transport unavailable
    │   ├── StoreError                  job store or artifact store failure
    │   │   └── ArtifactNotFound        a content address with no bytes behind it
    │   ├── RunTimeoutError             a run or a wait exceeded its deadline
    │   └── DeviceError                 a device misbehaved (carries device_udid)
    │       ├── DeviceLost              disconnected mid-run; retried elsewhere
    │       ├── DeviceNotReady          locked, not paired, developer mode or DDI missing
    │       ├── AppNotInstalled         the harness app is missing on the device
    │       ├── TransportUnavailable    usbmux / tunnel / DVT unavailable
    │       └── TransientDeviceError    worth one more try on the same device
    └── ProtocolError                   exit 3: a message or harness file that does not parse

Errors carry fields (``run_id``, ``device_udid``) and a ``hint``: what to do next.
"""

from __future__ import annotations


class PomarError(Exception):
    """Root of every error Pomar raises on purpose."""

    exit_code: int = 3

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        run_id: str | None = None,
        device_udid: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.run_id = run_id
        self.device_udid = device_udid

    def one_line(self) -> str:
        """The message and the hint on one line, as the CLI prints it."""
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} — {' '.join(self.hint.split())}"
        return text


class UsageError(PomarError):
    """Bad usage or bad input that the user can fix."""

    exit_code = 2


class ModelError(UsageError):
    """The model is missing, corrupt, or not a kind Pomar accepts."""


class ConversionError(ModelError):
    """coremltools could not convert a source model."""


class UnsupportedOpError(ModelError):
    """The emulator cannot run an op of this program."""

    def __init__(self, op_type: str, opset: str | None = None, *, detail: str = "") -> None:
        where = f" (opset {opset})" if opset else ""
        extra = f": {detail}" if detail else ""
        super().__init__(
            f"the emulator cannot run op '{op_type}'{where}{extra}",
            hint="run on a real device or Mac, or open an issue with the op name",
        )
        self.op_type = op_type
        self.opset = opset


class InputsError(UsageError):
    """An input set does not fit the model."""


class ToleranceError(UsageError):
    """A tolerance policy does not parse or validate."""


class FarmFileError(UsageError):
    """A farm file (schedules as code) does not parse or validate."""

    def __init__(
        self, message: str, *, file: str, line: int | None, field: str | None, hint: str
    ) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}", hint=hint)
        self.file = file
        self.line = line
        self.field = field


class SelectorError(UsageError):
    """A device or pool selector matches nothing."""


class MissingExtra(UsageError):
    """A feature needs an optional dependency that is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this needs the '{extra}' extra ({module} is not installed)",
            hint=f"pip install 'pomar[{extra}]'",
        )
        self.extra = extra
        self.module = module


class JobRefused(PomarError):
    """Preflight found that the job cannot succeed (unconvertible, will be killed)."""

    exit_code = 1


class InfrastructureError(PomarError):
    """The farm, not the model, failed."""

    exit_code = 3


class BrokerError(InfrastructureError):
    """The Celery broker or result transport is unavailable."""


class StoreError(InfrastructureError):
    """The job store or the artifact store failed."""


class ArtifactNotFound(StoreError):
    """A content address has no bytes behind it."""


class RunTimeoutError(InfrastructureError):
    """A run, or a wait for results, exceeded its deadline."""


class DeviceError(InfrastructureError):
    """A device misbehaved."""


class DeviceLost(DeviceError):
    """The device disconnected; the run is retried on another device."""


class DeviceNotReady(DeviceError):
    """Locked, not paired/trusted, developer mode off, or no developer disk image."""


class AppNotInstalled(DeviceError):
    """The harness app is not installed on the device."""


class TransportUnavailable(DeviceError):
    """usbmux, the tunnel or the DVT service is unavailable."""


class TransientDeviceError(DeviceError):
    """A glitch worth one more try on the same device."""


class ProtocolError(PomarError):
    """A wire message or harness file that does not parse or has the wrong version."""

    exit_code = 3
