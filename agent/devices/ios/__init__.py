"""The iPhone backend (``backend.py``): an agent-owned transport and narrow session services
(``transport.py``, ``services/``), their pymobiledevice3 adapter (``agent.devices.ios.pmd3``, the
only code importing pymobiledevice3), a scripted fake (``fake/``), the harness protocol runner,
the device-side model cache, jetsam parsing, device checks and quarantine."""
