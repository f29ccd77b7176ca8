"""The narrow services an iPhone session offers, one Protocol per module.

``status`` (facts, readiness), ``apps`` (install), ``files`` (the app's Documents), ``processes``
(launch, kill, poll), ``sampling`` (memory/CPU of one process) and ``reports`` (crash reports,
the log). ``agent.devices.ios.transport.DeviceSession`` is all of them at once; callers depend
only on the ones they use (``HarnessRunner``, ``ModelCache``, ``check_session``). The
pymobiledevice3 adapter (``agent.devices.ios.pmd3``) implements each in a module of the same
name, and so does the fake (``agent.devices.ios.fake``); ``tests/agent/devices/ios/contract``
runs the same cases against both.

Every verb raises only ``pomar_core.errors.DeviceError`` subclasses (with ``device_udid``).
"""
