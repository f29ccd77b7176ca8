"""Every pymobiledevice3 name, method and exception this adapter relies on, and how it calls it.

``tests/agent/devices/ios/test_pmd3_contract.py`` checks each entry against the installed library
(existence, sync/async nature, keyword parameters) and checks that the adapter's imports are all
listed here. Update this table together with the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Nature = Literal[
    "coroutine",  # an ``async def``
    "returns_coroutine",  # a plain function returning an awaitable (``@path_to_str`` wrappers)
    "async_generator",  # ``async def`` with ``yield``: iterate with ``async for``
    "function",
    "class",
    "async_context_manager",  # a class used with ``async with``
    "property",
    "exception",
]


@dataclass(frozen=True)
class Used:
    target: str
    """``module:Name`` or ``module:Class.member``."""
    nature: Nature
    params: tuple[str, ...] = ()
    """Parameter names the adapter passes (by keyword or position)."""


USED: tuple[Used, ...] = (
    # usbmux
    Used("pymobiledevice3.usbmux:list_devices", "coroutine", ("usbmux_address",)),
    Used("pymobiledevice3.usbmux:MuxDevice.matches_udid", "function", ("udid",)),
    Used("pymobiledevice3.usbmux:MuxDevice.is_usb", "property"),
    # lockdown
    Used("pymobiledevice3.lockdown:create_using_usbmux", "coroutine", ("serial", "autopair")),
    Used("pymobiledevice3.lockdown:LockdownClient.get_value", "coroutine", ("domain", "key")),
    Used("pymobiledevice3.lockdown:LockdownClient.close", "coroutine"),
    Used("pymobiledevice3.lockdown:LockdownClient.product_version", "property"),
    Used("pymobiledevice3.lockdown:LockdownClient.display_name", "property"),
    Used("pymobiledevice3.lockdown:LockdownClient.has_developer_mode", "property"),
    Used("pymobiledevice3.lockdown:LockdownClient.get_developer_mode_status", "coroutine"),
    # tunnels
    Used(
        "pymobiledevice3.tunneld.api:get_tunneld_device_by_udid",
        "coroutine",
        ("udid", "tunneld_address"),
    ),
    Used(
        "pymobiledevice3.remote.userspace_tunnel:UserspaceRsdTunnel",
        "class",
        ("serial", "autopair"),
    ),
    Used("pymobiledevice3.remote.userspace_tunnel:UserspaceRsdTunnel.aopen", "coroutine"),
    Used("pymobiledevice3.remote.userspace_tunnel:UserspaceRsdTunnel.aclose", "coroutine"),
    Used(
        "pymobiledevice3.remote.remote_service_discovery:RemoteServiceDiscoveryService.close",
        "coroutine",
    ),
    # battery
    Used(
        "pymobiledevice3.services.diagnostics:DiagnosticsService",
        "async_context_manager",
        ("lockdown",),
    ),
    Used("pymobiledevice3.services.diagnostics:DiagnosticsService.get_battery", "coroutine"),
    # developer disk image
    Used(
        "pymobiledevice3.services.mobile_image_mounter:MobileImageMounterService",
        "async_context_manager",
        ("lockdown",),
    ),
    Used(
        "pymobiledevice3.services.mobile_image_mounter:MobileImageMounterService.is_image_mounted",
        "coroutine",
        ("image_type",),
    ),
    Used(
        "pymobiledevice3.services.mobile_image_mounter:image_type_for_device",
        "function",
        ("lockdown",),
    ),
    Used("pymobiledevice3.services.mobile_image_mounter:auto_mount", "coroutine", ("lockdown",)),
    # apps
    Used(
        "pymobiledevice3.services.installation_proxy:InstallationProxyService",
        "async_context_manager",
        ("lockdown",),
    ),
    Used(
        "pymobiledevice3.services.installation_proxy:InstallationProxyService.get_apps",
        "coroutine",
        ("application_type", "bundle_identifiers"),
    ),
    Used(
        "pymobiledevice3.services.installation_proxy:InstallationProxyService.install_from_local",
        "returns_coroutine",
        ("package_path",),
    ),
    # files
    Used(
        "pymobiledevice3.services.house_arrest:HouseArrestService.create",
        "coroutine",
        ("lockdown", "bundle_id", "documents_only"),
    ),
    Used("pymobiledevice3.services.house_arrest:HouseArrestService", "async_context_manager"),
    Used("pymobiledevice3.services.afc:AfcService.makedirs", "returns_coroutine", ("filename",)),
    Used(
        "pymobiledevice3.services.afc:AfcService.set_file_contents",
        "returns_coroutine",
        ("filename", "data"),
    ),
    Used(
        "pymobiledevice3.services.afc:AfcService.get_file_contents",
        "returns_coroutine",
        ("filename",),
    ),
    Used("pymobiledevice3.services.afc:AfcService.listdir", "returns_coroutine", ("filename",)),
    Used("pymobiledevice3.services.afc:AfcService.rm", "returns_coroutine", ("filename", "force")),
    Used("pymobiledevice3.services.afc:AfcService.stat", "returns_coroutine", ("filename",)),
    # DVT
    Used(
        "pymobiledevice3.services.dvt.instruments.dvt_provider:DvtProvider",
        "async_context_manager",
        ("lockdown",),
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.process_control:ProcessControl",
        "async_context_manager",
        ("provider",),
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.process_control:ProcessControl.launch",
        "coroutine",
        ("bundle_id", "arguments", "kill_existing"),
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.process_control:ProcessControl.kill",
        "coroutine",
        ("pid",),
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.device_info:DeviceInfo",
        "async_context_manager",
        ("provider",),
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.device_info:DeviceInfo.is_running_pid",
        "coroutine",
        ("pid",),
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.device_info:DeviceInfo.sysmon_process_attributes",
        "coroutine",
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.device_info:DeviceInfo.sysmon_system_attributes",
        "coroutine",
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.sysmontap:Sysmontap",
        "async_context_manager",
        ("dvt", "process_attributes", "system_attributes", "interval_ms"),
    ),
    Used(
        "pymobiledevice3.services.dvt.instruments.sysmontap:Sysmontap.iter_processes",
        "async_generator",
    ),
    # crash reports and logs
    Used(
        "pymobiledevice3.services.crash_reports:CrashReportsManager",
        "async_context_manager",
        ("lockdown",),
    ),
    Used("pymobiledevice3.services.crash_reports:CrashReportsManager.flush", "coroutine"),
    Used(
        "pymobiledevice3.services.crash_reports:CrashReportsManager.ls",
        "coroutine",
        ("path", "depth"),
    ),
    Used(
        "pymobiledevice3.services.os_trace:OsTraceService", "async_context_manager", ("lockdown",)
    ),
    Used("pymobiledevice3.services.os_trace:OsTraceService.syslog", "async_generator", ("pid",)),
    Used("pymobiledevice3.services.os_trace:SyslogEntry", "class", ("pid", "message", "timestamp")),
    # exceptions the adapter names
    *(
        Used(f"pymobiledevice3.exceptions:{name}", "exception")
        for name in (
            "AccessDeniedError",
            "AfcFileNotFoundError",
            "AlreadyMountedError",
            "AppInstallError",
            "AppNotInstalledError",
            "ArbitrationError",
            "BadDevError",
            "ChannelClosedError",
            "ConnectionFailedError",
            "ConnectionFailedToUsbmuxdError",
            "ConnectionTerminatedError",
            "DeveloperDiskImageNotFoundError",
            "DeveloperModeError",
            "DeveloperModeIsNotEnabledError",
            "DeviceNotFoundError",
            "GetProhibitedError",
            "IncorrectModeError",
            "InvalidServiceError",
            "MCProtectedError",
            "MissingManifestError",
            "MissingValueError",
            "MuxException",
            "NoDeviceConnectedError",
            "NoSuchBuildIdentityError",
            "NotMountedError",
            "NotPairedError",
            "NotTrustedError",
            "PairingError",
            "PasscodeRequiredError",
            "PasswordRequiredError",
            "PskCipherNotSupportedError",
            "PyMobileDevice3Exception",
            "QuicProtocolNotSupportedError",
            "RemoteXPCHandshakeTimeoutError",
            "RSDRequiredError",
            "StartServiceError",
            "TSSError",
            "TunneldConnectionError",
            "UserspaceTunnelUnavailableError",
        )
    ),
    Used("pymobiledevice3.dtx:DTXNsError", "exception"),
    Used("pymobiledevice3.dtx.ns_types:NSError", "class", ("code", "domain", "user_info")),
    Used("pymobiledevice3.dtx:QueueShutDown", "exception"),
)
