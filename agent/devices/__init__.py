"""Device backends implementing :class:`agent.device.Device`: ``emulated`` (any OS), ``ios``
(pymobiledevice3 + the harness app), ``mac`` (Core ML on the host, macOS only)."""
