"""Turning rendered rows into a ``datasets.Dataset`` and keeping it in the kit's cache.

A cached dataset is a ``save_to_disk`` folder plus ``gk_checksums.json``, the SHA-256 of every
file in it. Loading recomputes them, so a truncated or overwritten file means "rebuild", never
silently wrong data.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from grounding_kit.core.cache import cache_key, cached_in

CHECKSUM_FILE = "gk_checksums.json"
# bump when generation changes, so old caches are not reused
WORLD_VERSION = "world-v1"


def png_record(image: Image.Image) -> dict[str, Any]:
    """An ``Image()`` feature value holding PNG bytes (fast, lossless, deterministic)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return {"bytes": buffer.getvalue(), "path": None}


def _checksums(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != CHECKSUM_FILE}


def save_dataset(ds, folder: Path) -> None:
    """``ds.save_to_disk(folder)`` (quietly) plus a checksum file."""
    from datasets import utils as datasets_tqdm

    was_disabled = datasets_tqdm.are_progress_bars_disabled()
    datasets_tqdm.disable_progress_bars()
    try:
        ds.save_to_disk(str(folder))
    finally:
        if not was_disabled:
            datasets_tqdm.enable_progress_bars()
    folder = Path(folder)
    (folder / CHECKSUM_FILE).write_text(json.dumps(_checksums(folder), indent=1))


def load_dataset_verified(folder: Path):
    """Load a folder written by :func:`save_dataset`; raise ``ValueError`` if any file changed."""
    from datasets import load_from_disk

    folder = Path(folder)
    expected = json.loads((folder / CHECKSUM_FILE).read_text())
    found = _checksums(folder)
    if found != expected:
        bad = sorted(name for name in set(found) | set(expected) if found.get(name) != expected.get(name))
        raise ValueError(f"cached dataset {folder} does not match its checksums: {bad}")
    return load_from_disk(str(folder))


def cached_dataset(name: str, key_parts: tuple, build: Callable[[], Any], cache: bool = True):
    """The dataset cached under ``cache_dir('datasets')`` for ``key_parts``, built if absent or corrupt.

    With ``cache=False`` it is built in memory and nothing is written (e.g. throw-away training chunks).
    """
    if not cache:
        return build()
    # reload: the first call returns the on-disk dataset too, so its fingerprint (and every cache
    # keyed by it, e.g. embed's) is the same as on later calls
    return cached_in("datasets", f"{name}-{cache_key(WORLD_VERSION, name, *key_parts)}", build, save_dataset,
                     load_dataset_verified, reload=True)
