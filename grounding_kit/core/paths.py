"""Where the kit keeps its shipped data and its caches.

- Shipped files (tiny model weights) live in the repository's ``data/`` folder, found next to
  the package in a clone or an editable install; ``GROUNDING_KIT_DATA`` overrides it.
- Caches (generated datasets, features) live in ``GROUNDING_KIT_CACHE`` if set, else in
  ``$XDG_CACHE_HOME/grounding_kit`` (``~/.cache/grounding_kit`` by default). Deleting the cache
  folder is always safe: everything in it is recomputed on demand.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # grounding_kit/, above core/


def data_dir() -> Path:
    """The folder of shipped data (``data/`` at the repository root)."""
    override = os.environ.get("GROUNDING_KIT_DATA")
    if override:
        return Path(override).expanduser()
    return PACKAGE_DIR.parent / "data"


def models_dir() -> Path:
    """The folder of shipped model weights, ``data/models``."""
    return data_dir() / "models"


def configs_dir() -> Path:
    """Architecture configs (JSON) that ship inside the package."""
    return PACKAGE_DIR / "configs"


class CacheDirError(OSError):
    """The cache folder cannot be created or written (a file, a read-only place)."""


def cache_dir(*parts: str) -> Path:
    """The kit's cache folder (or a sub-folder of it), created on first use.

    Raises ``CacheDirError`` (an ``OSError``) naming the variable that chose the folder when it
    cannot be created: a file in the way, or a read-only parent.
    """
    root = os.environ.get("GROUNDING_KIT_CACHE")
    if root:
        base, source = Path(root).expanduser(), f"GROUNDING_KIT_CACHE={root!r}"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = Path(xdg) / "grounding_kit"
        source = f"the default cache folder {base} (set GROUNDING_KIT_CACHE to choose another)"
    path = base.joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        blocker = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker else f"{type(err).__name__}: {err.strerror or err}"
        raise CacheDirError(f"{source} points somewhere unusable: cannot create {path} ({why})") from err
    return path


# ---------------------------------------------------------------- where training may write

#: the file every training run writes into its output folder
TRAINING_RECORD = "training.json"


def is_shipped(path: str | Path) -> bool:
    """Whether ``path`` lies inside the shipped data folder (``data_dir()`` or the clone's ``data/``)."""
    target = Path(path).expanduser().resolve()
    for root in {data_dir().resolve(), (PACKAGE_DIR.parent / "data").resolve()}:
        if target == root or root in target.parents:
            return True
    return False


def check_output_dir(output_dir: str | Path | None, shipped: Path, *, overwrite_shipped: bool = False,
                     option: str = "output_dir") -> Path:
    """Check where a training run will save its model, before any training starts; return the folder.

    Accepted: a new folder under a writable one, an empty folder, or a previous training output
    (it holds ``training.json``), which is replaced. The shipped folder (``shipped``, also the
    default when ``output_dir`` is None) and anything else inside the shipped data folder only
    with ``overwrite_shipped=True``.

    Raises ``ValueError`` (no output folder, or the shipped data without ``overwrite_shipped``),
    ``NotADirectoryError`` (a file in the way), ``FileExistsError`` (a non-empty folder that is
    not a training output) or ``PermissionError`` (not writable).
    """
    if output_dir is None:
        if not overwrite_shipped:
            raise ValueError(f"no {option} given: training never writes into the shipped models ({shipped}) "
                             f"unless overwrite_shipped=True (CLI: --overwrite-shipped); pass {option}=<a new folder>")
        output_dir = shipped
    if isinstance(output_dir, str) and not output_dir.strip():
        raise ValueError(f"{option} is an empty string; pass a folder path")
    if not isinstance(output_dir, (str, os.PathLike)):
        raise TypeError(f"{option} must be a folder path, got {type(output_dir).__name__}")
    out = Path(output_dir).expanduser()
    if is_shipped(out) and not overwrite_shipped:
        raise ValueError(f"{option}={str(out)!r} lies inside the shipped data folder {data_dir()}: training "
                         "would overwrite what the kit ships; pass overwrite_shipped=True (CLI: "
                         "--overwrite-shipped) to do that on purpose, or choose another folder")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{option}={str(out)!r} is a file; training saves a folder there: choose a "
                                 "new folder path")
    if out.is_dir() and any(out.iterdir()) and not (out / TRAINING_RECORD).is_file():
        raise FileExistsError(f"{option}={str(out)!r} is a folder that is not empty and is not a previous "
                              f"training output (no {TRAINING_RECORD}); choose a new or empty folder")
    existing = next(p for p in [out, *out.parents] if p.exists())
    if not existing.is_dir():
        raise NotADirectoryError(f"{option}={str(out)!r} cannot be created: {existing} is a file")
    try:
        probe = tempfile.mkdtemp(prefix=".gk-write-test-", dir=existing)
        os.rmdir(probe)
    except OSError as err:
        raise PermissionError(f"{option}={str(out)!r} is not writable: cannot create files in {existing} "
                              f"({err.strerror or err})") from err
    return out
