"""Atomic, self-healing on-disk caches.

A cache file is written to a temporary name in the same folder and then renamed into place, so
a reader never sees half a file. A file that fails to load (truncated, corrupt, from an
incompatible version) is discarded with a warning and rebuilt: a cache never breaks the kit.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def cache_key(*parts: Any) -> str:
    """A short stable hex key for JSON-serialisable parts (argument values, names, hashes)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)``, then move the result to ``path`` in one rename.

    ``write`` may create a file or a folder at ``tmp_path``; the temporary is removed if it fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp = tmp_dir / path.name
    try:
        write(tmp)
        if path.is_dir():
            _remove(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp_dir)
    return path


def cached(path: Path, build: Callable[[], T], save: Callable[[T, Path], None],
           load: Callable[[Path], T]) -> T:
    """Load ``path`` if it holds a valid cache, else ``build()`` it and save it atomically.

    A cache that raises while loading is reported with a warning, deleted and rebuilt.
    """
    path = Path(path)
    if path.exists():
        try:
            return load(path)
        except Exception as err:  # noqa: BLE001 - any failure to load means "rebuild"
            warnings.warn(f"cache {path} is unreadable ({type(err).__name__}: {err}); rebuilding it",
                          RuntimeWarning, stacklevel=2)
            _remove(path)
    value = build()
    atomic_write(path, lambda tmp: save(value, tmp))
    return value


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()
