"""Repro bundles: one portable archive holding a job (spec, model, inputs, reference) and its
runs (results and output tensors), to move a failure from one farm to another.

- ``manifest.py``: what the archive says it holds (:class:`ReproManifest`) and its limits;
- ``archive.py``: writing the archive, and reading it back member by member, refusing path
  escapes, links, oversized members and bytes that do not hash to their names;
- ``export.py`` / ``importer.py``: from a store to an archive and back into another store.
"""

from orchestrator.repro.archive import read_bundle
from orchestrator.repro.export import export_bundle
from orchestrator.repro.importer import import_bundle
from orchestrator.repro.manifest import BundleLimits, ReproManifest

__all__ = ["BundleLimits", "ReproManifest", "export_bundle", "import_bundle", "read_bundle"]
