"""``Features`` and ``embed``: CLIP features of N aligned text-image pairs, cached on disk.

``Features(text=(N, D), image=(N, D))`` is the input of heads and of EMAP. ``embed(clip, ds)`` computes
it for a dataset. The cache file is keyed by the model's name and weights hash, the dataset's
fingerprint, the column names and, for images stored as file paths (``load_image_text_folder``),
every file's size and modification time: an image edited in place gives a new key. It is written
atomically and checked on load (row count, width, finiteness); a file that fails any check is
discarded and recomputed. ``import grounding_kit.models.features`` does not import torch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from grounding_kit.core.cache import cache_key, cached_in
from grounding_kit.core.paths import cache_dir
from grounding_kit.core.validation import check_argument_order, check_consistent_length, check_memory, check_positive_int, describe


@dataclass(frozen=True)
class Features:
    """Row-aligned inputs of N image-text pairs: ``(text[i], image[i])`` is pair i.

    Attributes
    ----------
    text : (N, Dt) torch tensor of text features, or any length-N sequence a model accepts
        (e.g. a list of questions for a single-stream VQA model).
    image : (N, Dv) torch tensor of image features, or a length-N sequence
        (e.g. preprocessed pixel tensors of shape (N, 3, H, W)).
    """

    text: Any
    image: Any

    def __post_init__(self) -> None:
        for name in ("text", "image"):
            value = getattr(self, name)
            if not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
                raise TypeError(f"Features.{name} must be a tensor or a sequence, got {describe(value)}")
        check_consistent_length(text=self.text, image=self.image)

    def __len__(self) -> int:
        return len(self.text)

    def take(self, index: Sequence[int] | np.ndarray) -> "Features":
        """The pairs at ``index``, in that order (tensors are indexed, sequences gathered)."""
        return Features(text=take(self.text, index), image=take(self.image, index))


def take(values: Any, index: Sequence[int] | np.ndarray) -> Any:
    """Gather ``values[index]`` for a tensor, an array or a plain sequence."""
    if hasattr(values, "shape"):
        if hasattr(values, "detach"):  # torch tensor: index with a tensor on its device
            import torch

            return values[torch.as_tensor(np.asarray(index), dtype=torch.long, device=values.device)]
        return values[np.asarray(index)]
    return [values[int(i)] for i in index]


CACHE_FORMAT = 2
#: bytes per row while embedding, besides the features: the row's text and bookkeeping (estimate)
ROW_OVERHEAD_BYTES = 512


def image_files_stamp(ds: Any, image_column: str = "image") -> str:
    """A hash of (path, size, mtime) of every image ``ds`` stores as a file path rather than bytes.

    "" when every image is stored as bytes (then the dataset's fingerprint covers the pixels).
    A missing file enters as missing. Reads the Arrow column without decoding any image.
    """
    import pyarrow.compute as pc

    column = ds.data.column(image_column)
    if not hasattr(column.type, "get_field_index") or column.type.get_field_index("path") < 0:
        return ""
    paths = pc.struct_field(column, "path").to_pylist()
    stored = pc.is_valid(pc.struct_field(column, "bytes")).to_pylist()
    digest, files = hashlib.sha256(), 0
    for path, has_bytes in zip(paths, stored):
        if has_bytes or not path:
            continue
        try:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
        files += 1
    return digest.hexdigest()[:16] if files else ""


def _key(clip: Any, ds: Any, text_column: str, image_column: str) -> str:
    return cache_key(CACHE_FORMAT, clip.name, clip.weights_hash(), ds._fingerprint, text_column, image_column,
                     image_files_stamp(ds, image_column))


def features_path(clip: Any, ds: Any, text_column: str = "text", image_column: str = "image") -> Path:
    """Where ``embed(clip, ds)`` caches its result (see the module docstring for the key)."""
    return cache_dir("features") / f"{_key(clip, ds, text_column, image_column)}.safetensors"


def _check_texts(texts: list[Any], text_column: str) -> None:
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ValueError(f"ds[{text_column!r}] must hold a string in every row, but {len(bad)} rows do not "
                         f"(first: row {bad[0]} is {texts[bad[0]]!r}); drop or fill them, e.g. "
                         f"ds.filter(lambda row: row[{text_column!r}] is not None)")


def _check_images(batch: list[Any], start: int, image_column: str) -> None:
    """Refuse rows of ``batch`` (rows ``start``, ``start + 1``, ...) that hold no PIL image, naming
    the column and the first such row: ValueError for a missing image, TypeError for another type
    (e.g. a file path string)."""
    missing = [start + k for k, image in enumerate(batch) if image is None]
    if missing:
        raise ValueError(f"ds[{image_column!r}] has no image in row {missing[0]}"
                         f"{f' (and {len(missing) - 1} more in rows {start}..{start + len(batch) - 1})' if len(missing) > 1 else ''}; "
                         f"drop such rows, e.g. ds.filter(lambda row: row[{image_column!r}] is not None)")
    wrong = [(start + k, image) for k, image in enumerate(batch) if not hasattr(image, "convert")]
    if wrong:
        row, value = wrong[0]
        hint = (f"; a column of file paths becomes images with ds.cast_column({image_column!r}, datasets.Image())"
                if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__") else "")
        raise TypeError(f"ds[{image_column!r}] must hold a PIL image in every row, but row {row} holds "
                        f"{describe(value)} ({value!r:.60}){hint}")


def embed(clip: Any, ds: Any, batch_size: int = 64, *, text_column: str = "text",
          image_column: str = "image", progress: bool = True, cache: bool = True) -> Features:
    """Encode every row of ``ds`` with ``clip``: ``Features(text=(N, D), image=(N, D))``.

    Parameters
    ----------
    clip : a :class:`~grounding_kit.models.clip.ClipModel` (``load_clip(...)``).
    ds : a ``datasets.Dataset`` with a text column and an image column (PIL images).
    batch_size : images encoded per forward pass (an integer >= 1).
    cache : read and write the on-disk cache (``cache_dir("features")``).

    Returns
    -------
    Features with L2-normalised float tensors on CPU; row i is pair i of ``ds``.

    Raises
    ------
    ValueError for a dataset without the columns, a row without a text or an image (the column
    and row are named); TypeError for a ``clip`` that is not a ClipModel or an image column that
    holds something else than PIL images, e.g. file path strings (the column and row are named).
    """
    import torch
    from tqdm.auto import tqdm

    check_argument_order("embed", "clip, ds", hasattr(clip, "column_names") and hasattr(ds, "encode_texts"))
    missing = [c for c in (text_column, image_column) if c not in getattr(ds, "column_names", ())]
    if missing or not hasattr(ds, "_fingerprint"):
        raise ValueError(f"ds must be a datasets.Dataset with columns {[text_column, image_column]}; "
                         f"got {describe(ds)} with columns {getattr(ds, 'column_names', None)}")
    for name in ("encode_texts", "encode_images", "weights_hash"):
        if not hasattr(clip, name):
            raise TypeError(f"clip must be a ClipModel from load_clip(...), got {describe(clip)}")
    batch_size = check_positive_int("batch_size", batch_size)
    check_memory(f"embed of {len(ds):,} rows", len(ds) * (2 * 4 * clip.embed_dim + ROW_OVERHEAD_BYTES),
                 hint="Embed the dataset in parts (ds.shard or ds.select) and concatenate the Features.")

    def build() -> Features:
        texts = ds[text_column]
        _check_texts(texts, text_column)
        images = ds.select_columns([image_column])
        image_chunks = []
        for start in tqdm(range(0, len(ds), batch_size), desc="embedding images",
                          disable=not progress or len(ds) <= batch_size):
            batch = images[start:start + batch_size][image_column]
            _check_images(batch, start, image_column)
            image_chunks.append(clip.encode_images(batch, batch_size=batch_size, progress=False))
        text = clip.encode_texts(texts, progress=progress and len(ds) > 256)
        image = torch.cat(image_chunks) if image_chunks else torch.empty(0, clip.embed_dim)
        return Features(text=text, image=image)

    if not cache:
        return build()
    return cached_in("features", f"{_key(clip, ds, text_column, image_column)}.safetensors", build, _save,
                     lambda path: _load(path, len(ds), clip.embed_dim))


def _save(feats: Features, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"text": feats.text.contiguous(), "image": feats.image.contiguous()}, str(path))


def _load(path: Path, n: int, width: int) -> Features:
    import torch
    from safetensors.torch import load

    tensors = load(Path(path).read_bytes())  # in memory, not memory-mapped: the file may be replaced
    text, image = tensors["text"], tensors["image"]
    for name, value in (("text", text), ("image", image)):
        if tuple(value.shape) != (n, width):
            raise ValueError(f"cached {name} features have shape {tuple(value.shape)}, expected {(n, width)}")
        if not torch.isfinite(value).all():
            raise ValueError(f"cached {name} features hold NaN or infinity")
    return Features(text=text, image=image)
