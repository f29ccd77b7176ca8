"""The iPhone backend: an agent-owned transport interface, its pymobiledevice3 adapter
(``agent.devices.ios.pmd3``, the only code importing pymobiledevice3), a scripted fake, the harness
protocol runner, jetsam parsing, device checks and quarantine."""
