"""``embed``: CLIP features of a dataset, cached on disk.

The cache file is keyed by the model's name and weights hash, the dataset's fingerprint and
the column names, written atomically, and checked on load (row count, width, finiteness); a
file that fails any check is discarded and recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..cache import cache_key, cached
from ..features import Features
from ..paths import cache_dir
from ..validation import describe

CACHE_FORMAT = 1


def features_path(ds: Any, clip: Any, text_column: str = "text", image_column: str = "image") -> Path:
    """Where ``embed(ds, clip)`` caches its result."""
    key = cache_key(CACHE_FORMAT, clip.name, clip.weights_hash(), ds._fingerprint, text_column, image_column)
    return cache_dir("features") / f"{key}.safetensors"


def embed(ds: Any, clip: Any, batch_size: int = 64, *, text_column: str = "text",
          image_column: str = "image", progress: bool = True, cache: bool = True) -> Features:
    """Encode every row of ``ds`` with ``clip``: ``Features(text=(N, D), image=(N, D))``.

    Parameters
    ----------
    ds : a ``datasets.Dataset`` with a text column and an image column (PIL images).
    clip : a :class:`~grounding_kit.models.clip.ClipModel` (``load_clip(...)``).
    batch_size : images encoded per forward pass.
    cache : read and write the on-disk cache (``cache_dir("features")``).

    Returns
    -------
    Features with L2-normalised float tensors on CPU; row i is pair i of ``ds``.
    """
    missing = [c for c in (text_column, image_column) if c not in getattr(ds, "column_names", ())]
    if missing or not hasattr(ds, "_fingerprint"):
        raise ValueError(f"ds must be a datasets.Dataset with columns {[text_column, image_column]}; "
                         f"got {describe(ds)} with columns {getattr(ds, 'column_names', None)}")
    for name in ("encode_texts", "encode_images", "weights_hash"):
        if not hasattr(clip, name):
            raise TypeError(f"clip must be a ClipModel from load_clip(...), got {describe(clip)}")

    def build() -> Features:
        texts = ds[text_column]
        images = ds.select_columns([image_column])
        image_chunks = []
        for start in tqdm(range(0, len(ds), batch_size), desc="embedding images",
                          disable=not progress or len(ds) <= batch_size):
            batch = images[start:start + batch_size][image_column]
            image_chunks.append(clip.encode_images(batch, batch_size=batch_size, progress=False))
        text = clip.encode_texts(texts, progress=progress and len(ds) > 256)
        image = torch.cat(image_chunks) if image_chunks else torch.empty(0, clip.embed_dim)
        return Features(text=text, image=image)

    if not cache:
        return build()
    return cached(features_path(ds, clip, text_column, image_column), build, _save,
                  lambda path: _load(path, len(ds), clip.embed_dim))


def _save(feats: Features, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"text": feats.text.contiguous(), "image": feats.image.contiguous()}, str(path))


def _load(path: Path, n: int, width: int) -> Features:
    from safetensors.torch import load

    tensors = load(Path(path).read_bytes())  # in memory, not memory-mapped: the file may be replaced
    text, image = tensors["text"], tensors["image"]
    for name, value in (("text", text), ("image", image)):
        if tuple(value.shape) != (n, width):
            raise ValueError(f"cached {name} features have shape {tuple(value.shape)}, expected {(n, width)}")
        if not torch.isfinite(value).all():
            raise ValueError(f"cached {name} features hold NaN or infinity")
    return Features(text=text, image=image)
