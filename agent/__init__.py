"""Pomar's agent side: device discovery, per-device workers, device backends, the emulator.

The agent imports only the wire models, the errors and the artifact interface from
``orchestrator``; it never touches the job store.
"""
