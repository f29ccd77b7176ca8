"""Pomar's coordinator side: wire models, model intake, reference, parity, stores, the CLI."""

__version__ = "0.1.0"
