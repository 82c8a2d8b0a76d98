"""Evaluate a pair model on chosen (text, image) combinations, by its fastest exact path.

``PairEvaluator`` hides the three structures of ``grounding_kit.models.contract``: for
``"bilinear"`` models the factors are computed once, for ``"first-layer-linear"`` models each
modality is projected once and only ``rest`` runs on pair sums, and any other callable is called
on gathered pair batches. The grid is visited in square-ish tiles ``rows x cols`` so that the
working set of one step stays small (and cache-friendly on CPU). ``pairwise_logits`` uses it to
materialize the whole grid ``P[i, j] = f(t_i, v_j)`` (N x N x C floats, guarded by a memory budget).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from grounding_kit.core.devices import check_device
from grounding_kit.models.features import Features, take
from grounding_kit.models.contract import BILINEAR, FIRST_LAYER_LINEAR, PairModel, structure_of
from grounding_kit.core.validation import check_memory, check_positive_int, describe

#: pairs per model call on the generic path (at most; see GATHER_BYTES)
GENERIC_PAIRS = 4096
#: bytes of the gathered text and image inputs per model call on the generic path: 4096 pairs of
#: 64 x 64 images are 200 MB per call, per Dask worker thread
GATHER_BYTES = 32 * 2**20
#: bytes of the (pairs, H) hidden block per ``rest`` call on the first-layer-linear path
HIDDEN_BYTES = 4 * 2**20
#: pairs per tile on the bilinear path (an einsum, no model call)
BILINEAR_PAIRS = 65536
#: default memory budget of ``pairwise_logits`` (bytes)
MAX_GRID_BYTES = 2**30
#: grids with at least this many pairs show a progress bar by default
PROGRESS_PAIRS = 250_000


def check_features(feats: Any, name: str = "feats") -> Features:
    """Check that ``feats`` is a ``Features`` of N >= 2 pairs; return it."""
    if not isinstance(feats, Features):
        raise TypeError(f"{name} must be a grounding_kit.Features(text, image), got {describe(feats)}")
    if len(feats) < 2:
        raise ValueError(f"{name} needs N >= 2 pairs to average over partners, got N={len(feats)}")
    return feats


def resolve_device(model: Any, device: Any) -> torch.device:
    """``device`` if given (checked: ``"gpu"`` or ``"cuda"`` without a GPU is refused with the valid
    options); else CUDA when available; else a wrapper's own ``.device``; else CPU."""
    if device is not None:
        return check_device(device)
    if torch.cuda.is_available() and (isinstance(model, torch.nn.Module) or not hasattr(model, "device")):
        return torch.device("cuda")
    if not isinstance(model, torch.nn.Module) and hasattr(model, "device"):
        return torch.device(model.device)
    return torch.device("cpu")


def _module_device(module: torch.nn.Module) -> torch.device | None:
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return None


@contextmanager
def evaluating(model: Any, device: torch.device) -> Iterator[None]:
    """Run ``model`` in eval mode under ``torch.no_grad()`` on ``device``; restore it afterwards.

    An ``nn.Module`` living elsewhere is moved to ``device`` for the computation and moved back.
    """
    module = model if isinstance(model, torch.nn.Module) else None
    home = _module_device(module) if module is not None else None
    was_training = getattr(model, "training", None)
    if module is not None and home is not None and home != device:
        module.to(device)
    if callable(getattr(model, "eval", None)):
        model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if module is not None and home is not None and home != device:
            module.to(home)
        if was_training is True and callable(getattr(model, "train", None)):
            model.train(True)


def _to_device(values: Any, device: torch.device) -> Any:
    return values.to(device) if isinstance(values, torch.Tensor) else values


def _row_bytes(values: Any) -> int:
    """Bytes of one row of a tensor or array of inputs (0 for a plain sequence, e.g. of strings)."""
    if hasattr(values, "nbytes") and len(values) > 0:  # torch tensor or numpy array
        return int(values[0].nbytes)
    return 0


def _gather(values: Any, index: torch.Tensor) -> Any:
    if isinstance(values, torch.Tensor):
        return values[index.to(values.device)]
    return take(values, index.cpu().numpy())


def _check_logits(out: Any, n_pairs: int, what: str) -> torch.Tensor:
    """A model output as a (n_pairs, C) float tensor, or a clear error."""
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{what} must return a torch tensor of logits (B, C), got {describe(out)}")
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != n_pairs:
        raise ValueError(f"{what} returned shape {tuple(out.shape)} for a batch of {n_pairs} pairs; "
                         f"expected ({n_pairs}, C) logits")
    if not out.is_floating_point():
        raise TypeError(f"{what} must return floating-point logits, got dtype {out.dtype}")
    return out


class PairEvaluator:
    """Evaluate ``model`` on pairs ``(t_i, v_j)`` of ``feats`` (call inside ``evaluating``).

    Parameters
    ----------
    model : pair model (see ``grounding_kit.models.contract``)
    feats : Features of N pairs
    device : where features and computations live
    batch_size : pairs per model call (generic path) or per ``rest`` call (first-layer-linear
        path); None chooses a default (4096 pairs, or 4 MiB of hidden activations).
    """

    def __init__(self, model: PairModel, feats: Features, device: torch.device, batch_size: int | None = None) -> None:
        if not callable(model):
            raise TypeError(f"model must be a callable f(text_batch, image_batch) -> logits, got {describe(model)}")
        self.model = model
        self.n = len(feats)
        self.device = device
        self.structure = structure_of(model)
        self.text = _to_device(feats.text, device)
        self.image = _to_device(feats.image, device)
        if batch_size is not None:
            check_positive_int("batch_size", batch_size)
        if self.structure == BILINEAR:
            self._init_bilinear()
            self.pairs_per_call = batch_size or BILINEAR_PAIRS
        elif self.structure == FIRST_LAYER_LINEAR:
            self._init_first_layer()
            self.pairs_per_call = batch_size or max(256, HIDDEN_BYTES // (4 * self.text_hidden.shape[1]))
        else:
            per_pair = _row_bytes(self.text) + _row_bytes(self.image)
            self.pairs_per_call = batch_size or max(1, min(GENERIC_PAIRS, GATHER_BYTES // max(per_pair, 1)))

    def _init_bilinear(self) -> None:
        f = self.model.bilinear_factors(self.text, self.image)
        n = self.n
        ok = (f.left.ndim == 3 and f.left.shape[0] == n and f.right.shape == (n, f.left.shape[1])
              and f.text_bias.shape == (n, f.left.shape[2]) and f.image_bias.shape == (n, f.left.shape[2]))
        if not ok:
            raise ValueError("model.bilinear_factors returned inconsistent shapes: "
                             f"left {tuple(f.left.shape)}, right {tuple(f.right.shape)}, text_bias "
                             f"{tuple(f.text_bias.shape)}, image_bias {tuple(f.image_bias.shape)}; expected "
                             f"(N, R, C), (N, R), (N, C), (N, C) with N={n}")
        self.factors = f
        self.n_classes = f.left.shape[2]

    def _init_first_layer(self) -> None:
        text_hidden, image_hidden = self.model.first_layer(self.text, self.image)
        if text_hidden.ndim != 2 or text_hidden.shape != image_hidden.shape or text_hidden.shape[0] != self.n:
            raise ValueError("model.first_layer must return (text_hidden, image_hidden) of equal shape (N, H) "
                             f"with N={self.n}; got {tuple(text_hidden.shape)} and {tuple(image_hidden.shape)}")
        self.text_hidden, self.image_hidden = text_hidden, image_hidden
        probe = self.pairs(torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long))
        self.n_classes = probe.shape[1]

    @property
    def classes(self) -> int:
        """C, the number of logits per pair."""
        if not hasattr(self, "n_classes"):
            zero = torch.zeros(1, dtype=torch.long)
            self.n_classes = self.pairs(zero, zero).shape[1]
        return self.n_classes

    def pairs(self, text_index: torch.Tensor, image_index: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) of the pairs ``(t[text_index[b]], v[image_index[b]])``, in one call."""
        n_pairs = len(text_index)
        if self.structure == BILINEAR:
            f = self.factors
            t, v = text_index.to(f.left.device), image_index.to(f.left.device)
            return torch.einsum("brc,br->bc", f.left[t], f.right[v]) + f.text_bias[t] + f.image_bias[v]
        if self.structure == FIRST_LAYER_LINEAR:
            hidden = self.text_hidden[text_index.to(self.device)] + self.image_hidden[image_index.to(self.device)]
            return _check_logits(self.model.rest(hidden), n_pairs, "model.rest")
        out = self.model(_gather(self.text, text_index), _gather(self.image, image_index))
        return _check_logits(out, n_pairs, "model")

    def pairs_batched(self, text_index: torch.Tensor, image_index: torch.Tensor) -> torch.Tensor:
        """Like ``pairs`` for any number of pairs, in calls of at most ``pairs_per_call``."""
        step = self.pairs_per_call
        parts = [self.pairs(text_index[s:s + step], image_index[s:s + step]) for s in range(0, len(text_index), step)]
        return torch.cat(parts)

    def tile_shape(self) -> tuple[int, int]:
        """(rows, cols) of one tile: about ``pairs_per_call`` pairs, as square as N allows."""
        cols = min(self.n, max(1, math.isqrt(self.pairs_per_call)))
        rows = min(self.n, max(1, self.pairs_per_call // cols))
        return rows, cols

    def tiles(self) -> list[tuple[slice, slice]]:
        """The grid's tiles, row block by row block."""
        rows, cols = self.tile_shape()
        return [(slice(r, min(r + rows, self.n)), slice(c, min(c + cols, self.n)))
                for r in range(0, self.n, rows) for c in range(0, self.n, cols)]

    def _hidden_buffer(self) -> torch.Tensor:
        """One reused (rows * cols, H) block for pair sums (fresh large blocks cost page faults)."""
        if not hasattr(self, "_buffer"):
            rows, cols = self.tile_shape()
            self._buffer = self.text_hidden.new_empty(rows * cols, self.text_hidden.shape[1])
        return self._buffer

    def tile(self, rows: slice, cols: slice) -> torch.Tensor:
        """Logits (b, c, C) of all pairs ``(t_i, v_j)``, i in ``rows``, j in ``cols``."""
        b, c = rows.stop - rows.start, cols.stop - cols.start
        if self.structure == BILINEAR:
            f = self.factors
            return (torch.einsum("irc,jr->ijc", f.left[rows], f.right[cols])
                    + f.text_bias[rows, None, :] + f.image_bias[None, cols, :])
        if self.structure == FIRST_LAYER_LINEAR:
            hidden = torch.add(self.text_hidden[rows, None, :], self.image_hidden[None, cols, :],
                               out=self._hidden_buffer()[:b * c].view(b, c, -1))
            out = _check_logits(self.model.rest(hidden.view(b * c, -1)), b * c, "model.rest")
            return out.reshape(b, c, -1)
        text_index = torch.arange(rows.start, rows.stop).repeat_interleave(c)
        image_index = torch.arange(cols.start, cols.stop).repeat(b)
        return self.pairs(text_index, image_index).reshape(b, c, -1)


def diagonal_overlap(rows: slice, cols: slice) -> np.ndarray:
    """Indices k with k in both ``rows`` and ``cols`` (the tile's share of the diagonal)."""
    return np.arange(max(rows.start, cols.start), min(rows.stop, cols.stop))


def show_progress(progress: bool | None, n: int) -> bool:
    """Whether to show a bar over an N x N computation: ``progress``, or (None) when N * N >= 250,000."""
    return bool(progress) if progress is not None else n * n >= PROGRESS_PAIRS


def pairwise_logits(model: PairModel, feats: Features, batch_size: int | None = None, max_bytes: int = MAX_GRID_BYTES,
                    device: Any = None, progress: bool | None = None) -> torch.Tensor:
    """Evaluate ``model`` on all N x N text/image combinations.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C) logits`` (see ``grounding_kit.models.contract``)
    feats : Features of N pairs
    batch_size : pairs per model call (None: a default per structure)
    max_bytes : refuse when the (N, N, C) result would need more memory than this
    device : torch device for the computation (None: CUDA when available, else CPU)
    progress : show a progress bar (None: when N * N >= 250,000)

    Returns
    -------
    (N, N, C) CPU tensor in the model's output dtype, ``P[i, j] = f(t_i, v_j)``.

    Raises
    ------
    TypeError
        ``feats`` is not a ``Features``, or the model returns something other than float logits.
    ValueError
        N < 2, a bad ``max_bytes``/``batch_size``/``device``, or logits of the wrong shape.
    BudgetError
        The grid would need more than ``max_bytes``.
    """
    feats = check_features(feats)
    check_positive_int("max_bytes", max_bytes)
    device = resolve_device(model, device)
    n = len(feats)
    with evaluating(model, device):
        ev = PairEvaluator(model, feats, device, batch_size)
        zero = torch.zeros(1, dtype=torch.long)
        probe = ev.pairs(zero, zero)
        check_memory(f"pairwise_logits of the (N, N, C) = ({n}, {n}, {ev.classes}) {probe.dtype} grid",
                     n * n * ev.classes * probe.element_size(), budget=max_bytes,
                     hint="Use grounding_kit.emap_model(model, feats), which streams the same projection in "
                          "O(N * C) memory, or raise max_bytes.")
        grid = torch.empty((n, n, ev.classes), dtype=probe.dtype)
        for rows, cols in tqdm(ev.tiles(), desc="pair logits", disable=not show_progress(progress, n)):
            grid[rows, cols] = ev.tile(rows, cols).to("cpu", grid.dtype)
    return grid
