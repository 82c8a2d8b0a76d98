"""The logit grids of a task experiment's heads, computed once and cached on disk as ``.npz``.

:func:`task_grids` runs the experiment protocol (``task_experiment``: two samples of a task,
embedded by a CLIP, heads fitted on the train sample) and keeps what a lab shows about the
evaluation pairs: each head's (N, N, C) logit grid ``grid[i, j] = f(t_i, v_j)``, the labels, the
captions and the images (PNG). Read back, it needs numpy only: a lab built from it
(``reshuffle_lab(grid, None, labels, ...)``) starts without importing torch or open_clip, which
is what lets the dashboard show its first lab within seconds.

The cache file is named by a key of everything that changes the result: the file format, the
kit's version, the world's generator version, the CLIP's identity (its name and the SHA-256 of
the files of its folder for a local model, or of its weights for a loaded ``ClipModel``: a
retrained model never reuses another's grids), the task and its dials, N, the train size, the
seed, the image size and the head kinds. It is written atomically (``grounding_kit.core.cache``); a
file that fails to load or to pass its checks (key, shapes, finite values) is recomputed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from grounding_kit import __version__
from grounding_kit.core.cache import cache_key, cached_in
from grounding_kit.core.paths import cache_dir
from grounding_kit.experiments.protocol import MIN_TASK_TRAIN
from grounding_kit.core.validation import check_choice, check_positive_int, describe, seed_int

CACHE_FORMAT = 1
CACHE_FOLDER = "grids"
KINDS = ("interactive", "additive")
#: files of a model folder that do not change the model (its card)
NOT_WEIGHTS = ("README.md",)


@dataclass(frozen=True)
class TaskGrids:
    """What a lab shows about the N evaluation pairs of a task experiment.

    Attributes
    ----------
    grids : head kind -> (N, N, C) float array, ``grids[kind][i, j] = f_kind(t_i, v_j)``.
    labels : (N,) int64 class ids of the evaluation pairs.
    texts : N captions.
    images : N PNG images (bytes).
    key : the cache key (see the module docstring).
    """

    grids: dict[str, np.ndarray]
    labels: np.ndarray
    texts: list[str]
    images: list[bytes]
    key: str

    def grid(self, kind: str) -> np.ndarray:
        """The (N, N, C) grid of the head ``kind``."""
        if kind not in self.grids:
            raise ValueError(f"kind must be one of the cached heads {sorted(self.grids)}, got {kind!r}")
        return self.grids[kind]


def files_hash(folder: Path) -> str:
    """SHA-256 prefix of the names and bytes of every file in ``folder`` but its model card."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file() and p.name not in NOT_WEIGHTS):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _local_folder(name: str) -> Path | None:
    from grounding_kit.models.registry import LOCAL_DIR, TINY_CLIP, embedded_path

    folder = embedded_path(name) if name == TINY_CLIP else Path(name.removeprefix(LOCAL_DIR)).expanduser()
    return folder if folder.is_dir() else None


def clip_identity(clip: Any) -> tuple[str, str]:
    """(name, weights id) of a CLIP, for cache keys.

    Parameters
    ----------
    clip : a ``ClipModel`` (``load_clip``): its name and ``weights_hash()``; or a model name: for
        the embedded ``"tiny-shapes"`` or a local folder, the name and :func:`files_hash` of the
        folder (no torch needed); any other name is loaded with ``load_clip`` to hash its weights.
    """
    if isinstance(clip, str):
        folder = _local_folder(clip)
        if folder is not None:
            return clip, "files:" + files_hash(folder)
        from grounding_kit.models import load_clip

        clip = load_clip(clip)
    if not hasattr(clip, "weights_hash") or not hasattr(clip, "name"):
        raise TypeError(f"clip must be a ClipModel from load_clip(...) or a model name, got {describe(clip)}")
    return clip.name, "weights:" + clip.weights_hash()


def _request(clip: Any, task: str, n: int, n_train: int | None, seed: int, size: int, kinds: Sequence[str],
             dials: dict[str, Any]) -> dict[str, Any]:
    from grounding_kit.world.storage import WORLD_VERSION
    from grounding_kit.world.tasks import TASKS

    check_choice("task", task, TASKS)
    if isinstance(kinds, str) or not kinds or not all(isinstance(kind, str) for kind in kinds):
        raise TypeError(f"kinds must be a non-empty sequence of head kinds, e.g. {KINDS}, got {describe(kinds)}")
    n = check_positive_int("n", n, minimum=2)
    return {"format": CACHE_FORMAT, "kit": __version__, "world": WORLD_VERSION, "clip": list(clip_identity(clip)),
            "task": task, "n": n,
            "n_train": max(n, MIN_TASK_TRAIN) if n_train is None else check_positive_int("n_train", n_train, minimum=2),
            "seed": seed_int(seed), "size": check_positive_int("size", size), "kinds": list(kinds),
            "dials": {name: dials[name] for name in sorted(dials)}}


def task_grids_path(clip: Any, task: str, n: int, *, n_train: int | None = None, seed: int = 0, size: int = 64,
                    kinds: Sequence[str] = KINDS, **dials: Any) -> Path:
    """Where :func:`task_grids` caches its result for these arguments (the file may not exist)."""
    request = _request(clip, task, n, n_train, seed, size, kinds, dials)
    return cache_dir(CACHE_FOLDER) / f"{task}-{cache_key(request)}.npz"


def task_grids(clip: Any, task: str, n: int, *, n_train: int | None = None, seed: int = 0, size: int = 64,
               kinds: Sequence[str] = KINDS, progress: bool = True, **dials: Any) -> TaskGrids:
    """The heads' logit grids on a task's evaluation pairs, from the on-disk cache or computed.

    Parameters
    ----------
    clip : a ``ClipModel`` or a model name (default models are named, not loaded: see
        :func:`clip_identity`); loaded with ``load_clip`` only when the cache misses.
    task, n, n_train, seed, size, dials : the experiment, as for
        :func:`grounding_kit.experiments.protocol.task_experiment` (``n`` evaluation pairs, ``n_train``
        training pairs, default ``max(n, 800)``).
    kinds : the heads (``fit_head`` kinds), each fitted with the protocol's defaults.
    progress : a progress bar while computing.

    Returns
    -------
    TaskGrids: ``grids[kind]`` (N, N, C) equals ``task_experiment(...).grid(kind).grid`` (the
    head's ``pairwise_logits`` on the evaluation pairs), with the labels, captions and PNG images
    of those pairs.
    """
    request = _request(clip, task, n, n_train, seed, size, kinds, dials)
    key = cache_key(request)

    def build() -> TaskGrids:
        return _compute(clip, request, key, progress)

    return cached_in(CACHE_FOLDER, f"{task}-{key}.npz", build, lambda value, path: _save(value, request, path),
                     lambda path: _load(path, key))


def _compute(clip: Any, request: dict[str, Any], key: str, progress: bool) -> TaskGrids:
    from grounding_kit.models import load_clip
    from grounding_kit.experiments.protocol import task_experiment
    from grounding_kit.world.storage import png_record

    steps = tqdm(total=1 + len(request["kinds"]), desc=f"{request['task']} logit grids", disable=not progress)
    model = load_clip(clip) if isinstance(clip, str) else clip
    exp = task_experiment(model, request["task"], request["n"], n_train=request["n_train"], seed=request["seed"],
                          size=request["size"], **request["dials"])
    steps.update()
    grids = {}
    for kind in request["kinds"]:
        grids[kind] = exp.grid(kind).grid.detach().cpu().numpy()
        steps.update()
    steps.close()
    return TaskGrids(grids=grids, labels=np.asarray(exp.labels_eval, dtype=np.int64), texts=list(exp.eval_ds["text"]),
                     images=[png_record(image)["bytes"] for image in exp.eval_ds["image"]], key=key)


def _save(value: TaskGrids, request: dict[str, Any], path: Path) -> None:
    offsets = np.cumsum([0, *map(len, value.images)])
    arrays = {f"grid_{kind}": grid for kind, grid in value.grids.items()}
    with open(path, "wb") as out:  # a file object: np.savez would append ".npz" to a temporary's name
        np.savez(out, key=np.array(value.key), request=np.array(json.dumps(request)), kinds=np.array(list(value.grids)), labels=value.labels,
                 texts=np.array(value.texts, dtype=str), png=np.frombuffer(b"".join(value.images), dtype=np.uint8),
                 png_offsets=offsets, **arrays)


def _load(path: Path, key: str) -> TaskGrids:
    with np.load(path, allow_pickle=False) as data:
        if str(data["key"]) != key:
            raise ValueError(f"holds the grids of key {str(data['key'])!r}, expected {key!r}")
        labels, texts, offsets, png = data["labels"], data["texts"].tolist(), data["png_offsets"], data["png"]
        grids = {str(kind): data[f"grid_{kind}"] for kind in data["kinds"]}
    n = len(labels)
    for kind, grid in grids.items():
        if grid.ndim != 3 or grid.shape[:2] != (n, n) or grid.dtype.kind != "f" or not np.isfinite(grid).all():
            raise ValueError(f"grid {kind!r} must be finite floats of shape (N, N, C) with N={n}, got "
                             f"{describe(grid)}")
    if len(texts) != n or offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != len(png) or \
            (np.diff(offsets) < 0).any():
        raise ValueError(f"texts ({len(texts)}) and images ({len(offsets) - 1}) must be one per pair (N={n})")
    images = [png[offsets[i]:offsets[i + 1]].tobytes() for i in range(n)]
    return TaskGrids(grids=grids, labels=labels, texts=texts, images=images, key=key)

