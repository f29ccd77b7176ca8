"""The device-side model cache: ``Documents/pomar/models/<sha256>/``, pushed once per content hash.

The index (``models/index.json``) lives on the device so a restarted agent, or another host the
phone is moved to, still knows what is there. A model is recorded in the index only after its push
completed: a folder without an index entry is a torn push and is pushed again. When adding a model
would exceed the byte budget, the least recently used models are evicted first (the one being added
is never evicted, even when it alone is over budget).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agent.devices.ios.services.files import AppFiles
from pomar_core.wire.harness import HARNESS_ROOT

MODELS_DIR = f"{HARNESS_ROOT}/models"
INDEX_PATH = f"{MODELS_DIR}/index.json"
DEFAULT_BUDGET_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class CachedModel:
    """Where the app finds a model, and what pushing it cost this time."""

    model_path: str
    """Relative to ``Documents/pomar``, as ``job.json`` wants it."""
    pushed_bytes: int
    evicted: tuple[str, ...] = ()


def _local_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def model_file_name(local: Path) -> str:
    """``model.mlpackage``, ``model.mlmodelc`` or ``model.mlmodel``: the app dispatches on it."""
    suffix = local.suffix.lower()
    if suffix not in (".mlpackage", ".mlmodelc", ".mlmodel"):
        raise ValueError(f"not a Core ML model path: {local}")
    return f"model{suffix}"


class ModelCache:
    """LRU cache of models in the harness app's Documents, keyed by sha256."""

    def __init__(self, bundle_id: str, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.bundle_id = bundle_id
        self.budget_bytes = budget_bytes

    def _load_index(self, session: AppFiles) -> dict[str, object]:
        raw = session.read_file(self.bundle_id, INDEX_PATH)
        if raw:
            try:
                index = json.loads(raw)
                if isinstance(index, dict) and isinstance(index.get("entries"), dict):
                    return index
            except json.JSONDecodeError:
                pass  # a corrupt index only costs a re-push
        return {"seq": 0, "entries": {}}

    def _save_index(self, session: AppFiles, index: dict[str, object]) -> None:
        data = json.dumps(index, sort_keys=True).encode()
        session.write_files(self.bundle_id, {INDEX_PATH: data})

    def entries(self, session: AppFiles) -> dict[str, dict[str, int | str]]:
        """sha256 → ``{"bytes", "last_used", "file"}`` as recorded on the device."""
        entries = self._load_index(session)["entries"]
        assert isinstance(entries, dict)
        return entries

    def ensure(self, session: AppFiles, sha256: str, local: Path) -> CachedModel:
        """Make sure the model is on the device; push it only if it is not."""
        index = self._load_index(session)
        entries = index["entries"]
        assert isinstance(entries, dict)
        seq = int(index.get("seq", 0)) + 1  # type: ignore[call-overload]
        index["seq"] = seq
        name = model_file_name(local)
        remote_dir = f"{MODELS_DIR}/{sha256}"
        entry = entries.get(sha256)
        # Trust the index only if the folder is still there (a reinstall wipes Documents).
        if (
            entry is not None
            and entry.get("file") == name
            and name in session.list_dir(self.bundle_id, remote_dir)
        ):
            entry["last_used"] = seq
            self._save_index(session, index)
            return CachedModel(f"models/{sha256}/{name}", 0)

        entries.pop(sha256, None)
        size = _local_size(local)
        evicted = []
        used = sum(int(e["bytes"]) for e in entries.values())
        for old_sha, _ in sorted(entries.items(), key=lambda kv: int(kv[1]["last_used"])):
            if used + size <= self.budget_bytes:
                break
            session.remove(self.bundle_id, f"{MODELS_DIR}/{old_sha}")
            used -= int(entries.pop(old_sha)["bytes"])
            evicted.append(old_sha)
        if evicted:
            self._save_index(session, index)  # evictions are durable even if the push fails
        session.remove(self.bundle_id, remote_dir)  # a torn push from an earlier attempt
        pushed = session.push_tree(self.bundle_id, local, f"{remote_dir}/{name}")
        entries[sha256] = {"bytes": size, "last_used": seq, "file": name}
        self._save_index(session, index)
        return CachedModel(f"models/{sha256}/{name}", pushed, tuple(evicted))
