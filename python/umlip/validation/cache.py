"""The on-disk cache that makes validation runs resumable.

Every finished piece of work (one relaxation, one NEB, one MD trajectory, ...) is stored as
one JSON file ``<cache root>/<key>.json``; a rerun finds it and skips the work. Writes are
atomic (temporary file + rename), so a killed run never leaves a half-written piece.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from umlip.io import PathLike, payload_sha256, read_json, to_jsonable, write_json

__all__ = ["Cache", "fingerprint"]


def fingerprint(obj: Any, n: int = 12) -> str:
    """Short sha256 of the canonical JSON of ``obj`` (used to key caches by settings)."""
    return payload_sha256(to_jsonable(obj))[:n]


class Cache:
    """Key -> JSON document store; ``root=None`` keeps everything in memory (no resuming).

    Keys may contain ``/`` (sub-directories). ``child(name)`` returns a cache rooted in a
    sub-directory, used to separate runs with different settings.
    """

    def __init__(self, root: Optional[PathLike] = None):
        self.root = Path(root) if root is not None else None
        self._mem: Dict[str, Any] = {}

    def child(self, name: str) -> "Cache":
        if self.root is None:
            c = Cache(None)
            c._mem = self._mem.setdefault("__child__/" + name, {})  # type: ignore[assignment]
            return c
        return Cache(self.root / name)

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / f"{key}.json"

    def empty(self) -> bool:
        """No piece stored yet (in this cache or its children)."""
        if self.root is None:
            return not self._mem
        return not any(self.root.rglob("*.json"))

    def written_before(self, t: float) -> bool:
        """Some piece (in this cache or its children) was stored before epoch time ``t``
        (in memory: any piece)."""
        if self.root is None:
            return not self.empty()
        return any(p.stat().st_mtime < t for p in self.root.rglob("*.json"))

    def get(self, key: str) -> Optional[Any]:
        if self.root is None:
            return self._mem.get(key)
        p = self._path(key)
        if p.is_file():
            try:
                return read_json(p)
            except (json.JSONDecodeError, OSError):  # a damaged piece is recomputed
                return None
        return None

    def put(self, key: str, value: Any) -> Any:
        value = to_jsonable(value)
        if self.root is None:
            self._mem[key] = value
        else:
            write_json(self._path(key), value)
        return value

    def put_first(self, key: str, value: Any) -> Any:
        """Store ``value`` unless ``key`` exists; return the stored value. Two processes
        computing the same piece (shards that both need the relaxed slab) end up using the
        same one: the first written, never a mix."""
        value = to_jsonable(value)
        if self.root is None:
            return self._mem.setdefault(key, value)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = write_json(path.with_name(path.name + f".new{os.getpid()}"), value)
        try:
            os.link(tmp, path)              # atomic, and fails if the piece exists
        except FileExistsError:
            stored = self.get(key)
            if stored is not None:
                os.unlink(tmp)
                return stored
            os.replace(tmp, path)           # the existing file was damaged: replace it
            return value
        except OSError:                     # no hard links on this file system
            os.replace(tmp, path)
            return value
        os.unlink(tmp)
        return value

    def compute(self, key: str, fn: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing and storing ``fn()`` if absent (if another
        process stored it meanwhile, its value)."""
        hit = self.get(key)
        if hit is not None:
            return hit
        return self.put_first(key, fn())
