"""Where the kit keeps its shipped data and its caches.

- Shipped files (tiny model weights) live in the repository's ``data/`` folder, found next to
  the package in a clone or an editable install; ``GROUNDING_KIT_DATA`` overrides it.
- Caches (generated datasets, features) live in ``GROUNDING_KIT_CACHE`` if set, else in
  ``$XDG_CACHE_HOME/grounding_kit`` (``~/.cache/grounding_kit`` by default). Deleting the cache
  folder is always safe: everything in it is recomputed on demand.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


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


def cache_dir(*parts: str) -> Path:
    """The kit's cache folder (or a sub-folder of it), created on first use."""
    root = os.environ.get("GROUNDING_KIT_CACHE")
    if root:
        base = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = Path(xdg) / "grounding_kit"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
