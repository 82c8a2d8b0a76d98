"""Atomic, self-healing on-disk caches.

A cache file is written to a temporary name in the same folder and then renamed into place, so
a reader never sees half a file. A file that fails to load (truncated, corrupt, from an
incompatible version) is discarded with a warning and rebuilt: a cache never breaks the kit.
A cache that cannot be written (read-only, full, or ``GROUNDING_KIT_CACHE`` pointing at a file)
gives the computed result back with a warning: work is never thrown away.

Temporaries are named ``.<name>.tmp-<host>-<pid>-<random>``; a process killed mid-write leaves
one behind, and the next write into the same folder removes it (its process is gone, or it is
older than a day).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, TypeVar

from grounding_kit.core.paths import CacheDirError, cache_dir

T = TypeVar("T")
TMP_MARK = ".tmp-"
#: a temporary older than this is stale even if its process id is alive again (reused)
STALE_SECONDS = 86400


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
    clean_stale_temporaries(path.parent)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}{TMP_MARK}{socket.gethostname()}-{os.getpid()}-",
                                    dir=path.parent))
    tmp = tmp_dir / path.name
    try:
        write(tmp)
        if path.is_dir():
            _remove(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp_dir)
    return path


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep it
    return True


def is_stale_temporary(entry: Path, now: float | None = None) -> bool:
    """Whether ``entry`` is a temporary of :func:`atomic_write` whose writer is gone.

    Stale: its process (on this host) no longer runs, or it is older than ``STALE_SECONDS``.
    Temporaries of earlier kit versions (``.<name>.<random>`` folders holding ``<name>``, no
    process id) are stale once older than ``STALE_SECONDS``.
    """
    name = entry.name
    if not name.startswith("."):
        return False
    if TMP_MARK not in name:
        try:
            legacy = entry.is_dir() and "." in name[1:] and all(
                child.name == name[1:].rsplit(".", 1)[0] for child in entry.iterdir())
            return legacy and (time.time() if now is None else now) - entry.lstat().st_mtime > STALE_SECONDS
        except OSError:
            return False
    try:
        host, pid, _ = name.rsplit(TMP_MARK, 1)[1].rsplit("-", 2)
        age = (time.time() if now is None else now) - entry.lstat().st_mtime
    except (ValueError, OSError):
        return False
    if age > STALE_SECONDS:
        return True
    return host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid))


def clean_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the stale temporaries (see :func:`is_stale_temporary`) in ``folder``; return them."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if is_stale_temporary(entry):
            try:
                _remove(entry)
                removed.append(entry)
            except OSError:  # another process cleans it at the same time, or it is read-only
                pass
    return removed


def cached(path: Path, build: Callable[[], T], save: Callable[[T, Path], None],
           load: Callable[[Path], T], *, reload: bool = False) -> T:
    """Load ``path`` if it holds a valid cache, else ``build()`` it and save it atomically.

    A cache that raises while loading is reported with a warning, deleted and rebuilt. A cache
    that cannot be written gives the built value back with a warning. With ``reload=True`` a
    freshly written value is returned as loaded from ``path``, so the first call and later ones
    return the same thing (e.g. a dataset with the same fingerprint).
    """
    path = Path(path)
    if path.exists():
        try:
            return load(path)
        except Exception as err:  # noqa: BLE001 - any failure to load means "rebuild"
            warnings.warn(f"cache {path} is unreadable ({type(err).__name__}: {err}); rebuilding it",
                          RuntimeWarning, stacklevel=2)
            try:
                _remove(path)
            except OSError:
                pass  # read-only: the write below warns
    value = build()
    try:
        atomic_write(path, lambda tmp: save(value, tmp))
    except OSError as err:
        warnings.warn(f"could not write the cache {path} ({type(err).__name__}: {err}): the cache folder "
                      f"is unusable (set GROUNDING_KIT_CACHE to a writable folder); the result is returned "
                      "but not cached", RuntimeWarning, stacklevel=2)
        return value
    if reload:
        try:
            return load(path)
        except Exception:  # noqa: BLE001 - replaced meanwhile or unreadable: the built value is as good
            return value
    return value


def cached_in(folder: str, filename: str, build: Callable[[], T], save: Callable[[T, Path], None],
              load: Callable[[Path], T], *, reload: bool = False) -> T:
    """:func:`cached` for ``cache_dir(folder) / filename``; an unusable cache folder means "build, warn".
    """
    try:
        path = cache_dir(folder) / filename
    except CacheDirError as err:
        warnings.warn(f"{err}; the result is computed but not cached", RuntimeWarning, stacklevel=2)
        return build()
    return cached(path, build, save, load, reload=reload)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()
