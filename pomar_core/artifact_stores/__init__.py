"""Artifact store implementations: a local directory (also a shared one in a small farm) and
an in-memory fake."""
