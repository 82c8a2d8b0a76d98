"""One experiment protocol: split the pairs, embed them, fit heads on the train split, analyse
them on the held-out split, and keep all of it for the session.

Labs, checks and notebooks all ask this module for their data, so a figure in a widget and the
same figure in a notebook come from the same split, the same features and the same heads:

    exp = gk.experiment(clip, ds, test_size=0.5, seed=0)     # one dataset, split in two
    exp = gk.task_experiment(clip, "mixed", 200, interaction=0.5)   # two samples of a task
    head = exp.head("interactive")                 # fitted on exp.feats_train (memoised)
    grid = exp.grid("interactive")                 # GridModel of its logits on exp.feats_eval
    gk.emap_report(exp.labels_eval, grid)          # EMAP on pairs the head never saw

An experiment is memoised on the CLIP's identity and weights hash (as ``embed``'s cache is),
the datasets' fingerprints and the split, never on ``id()``, which Python reuses after garbage
collection; features come from ``embed``'s on-disk cache. The memo is bounded: it keeps the
:data:`MEMO_SIZE` experiments used last (each holds its datasets, features, fitted heads and N x N
grids), so a lab whose dial visits many values does not grow the kernel without end;
:func:`clear_experiments` empties it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from grounding_kit.core.validation import check_argument_order, check_fraction, check_positive_int, check_seed, describe, seed_int

#: experiments the memo keeps (the ones used last); a lab's dial revisits its last few values for free
MEMO_SIZE = 8


class _Memo:
    """At most ``size`` values, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[tuple, Any] = OrderedDict()

    def get(self, key: tuple, make: Callable[[], Any]) -> Any:
        if key in self._values:
            self._values.move_to_end(key)
            return self._values[key]
        value = self._values[key] = make()
        while len(self._values) > self.size:
            self._values.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        self._values.clear()


_EXPERIMENTS = _Memo(MEMO_SIZE)


def clear_experiments() -> None:
    """Forget every memoised experiment (their features stay in ``embed``'s on-disk cache)."""
    _EXPERIMENTS.clear()

#: train pairs of a task experiment when ``n_train`` is not given: at least this many
MIN_TASK_TRAIN = 800


def split(n: int, test_size: float | int = 0.5, *, shuffle: bool = True, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices of ``n`` pairs, each sorted.

    Parameters
    ----------
    n : number of pairs (>= 2)
    test_size : a fraction in (0, 1) (the train split has ``floor(n * (1 - test_size))`` pairs)
        or a number of test pairs in [1, n - 1]
    shuffle : draw the test pairs at random (``numpy.random.default_rng(seed).permutation``);
        False keeps the order: the first pairs train, the last ones test
    seed : seed of the shuffle

    Returns
    -------
    (train (n_train,), test (n_test,)) int64 index arrays, disjoint, covering ``range(n)``.
    """
    n = check_positive_int("n", n, minimum=2)
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = check_positive_int("test_size", test_size)
        if n_test >= n:
            raise ValueError(f"test_size={n_test} leaves no train pairs out of n={n}")
        n_train = n - n_test
    else:
        fraction = check_fraction("test_size", test_size)
        n_train = int(np.floor(n * (1 - fraction)))
        if not 1 <= n_train <= n - 1:
            raise ValueError(f"test_size={test_size} leaves {n_train} train and {n - n_train} test pairs out of "
                             f"n={n}; both need at least 1")
    order = np.random.default_rng(check_seed(seed)).permutation(n) if shuffle else np.arange(n)
    return np.sort(order[:n_train]), np.sort(order[n_train:])


@dataclass
class Experiment:
    """Embedded train and test pairs, and the heads fitted on them (memoised per kind).

    Attributes
    ----------
    clip : the CLIP that embedded the pairs.
    train_ds, eval_ds : ``datasets.Dataset`` of the train and evaluation pairs.
    feats_train, feats_eval : ``Features`` of those pairs (``embed``).
    labels_train, labels_eval : (N_train,) and (N_test,) label arrays (or (N, C) label rows).
    train_index, eval_index : rows of the split dataset in each split (None for two datasets).
    """

    clip: Any
    train_ds: Any
    eval_ds: Any
    feats_train: Any
    feats_eval: Any
    labels_train: np.ndarray
    labels_eval: np.ndarray
    train_index: np.ndarray | None = None
    eval_index: np.ndarray | None = None
    heads: dict[tuple, Any] = field(default_factory=dict, repr=False)
    grids: dict[tuple, Any] = field(default_factory=dict, repr=False)

    def head(self, kind: str, seed: int = 0, **options: Any) -> Any:
        """The head of ``kind`` fitted on the train split (``fit_head(kind, ..., seed=seed, **options)``, once)."""
        key = (kind, seed, tuple(sorted(options.items())))
        if key not in self.heads:
            from grounding_kit.models import fit_head

            options.setdefault("progress", False)
            self.heads[key] = fit_head(kind, self.feats_train, self.labels_train, seed=seed, **options)
        return self.heads[key]

    def grid(self, kind: str, seed: int = 0, **options: Any) -> Any:
        """A :class:`~grounding_kit.analysis.grid_model.GridModel` of :meth:`head`'s logits on every
        test pair, ``grid[i, j] = f(t_i, v_j)`` over the test split (computed once)."""
        key = (kind, seed, tuple(sorted(options.items())))
        if key not in self.grids:
            from grounding_kit.analysis import GridModel

            self.grids[key] = GridModel.from_model(self.head(kind, seed, **options), self.feats_eval, progress=False)
        return self.grids[key]


def _identity(clip: Any) -> tuple[str, str]:
    if not hasattr(clip, "weights_hash") or not hasattr(clip, "name"):
        raise TypeError(f"clip must be a ClipModel from load_clip(...), got {describe(clip)}")
    return clip.name, clip.weights_hash()


def _fingerprint(ds: Any, name: str) -> str:
    fingerprint = getattr(ds, "_fingerprint", None)
    if fingerprint is None or not hasattr(ds, "select"):
        raise TypeError(f"{name} must be a datasets.Dataset (make_task, load_image_text_folder, ...), got {describe(ds)}")
    return fingerprint


def _check_labels(label_column: str, **datasets: Any) -> None:
    for name, ds in datasets.items():
        if label_column not in ds.column_names:
            raise ValueError(f"{name} has no {label_column!r} column; columns: {ds.column_names}")


def _build(clip: Any, train_ds: Any, eval_ds: Any, label_column: str) -> Experiment:
    from grounding_kit.models import embed

    _check_labels(label_column, data=train_ds, eval_ds=eval_ds)
    return Experiment(clip=clip, train_ds=train_ds, eval_ds=eval_ds,
                      feats_train=embed(clip, train_ds, progress=False), feats_eval=embed(clip, eval_ds, progress=False),
                      labels_train=np.asarray(train_ds[label_column]), labels_eval=np.asarray(eval_ds[label_column]))


def experiment(clip: Any, data: Any, eval_ds: Any = None, *, test_size: float | int = 0.5,
               shuffle: bool = True, seed: int = 0, label_column: str = "label") -> Experiment:
    """The memoised :class:`Experiment` of ``data`` embedded with ``clip``.

    Parameters
    ----------
    clip : a ClipModel (``load_clip``).
    data : a ``datasets.Dataset`` with image, text and ``label_column`` columns.
    eval_ds : a second dataset to test on; None splits ``data`` with :func:`split`.
    test_size, shuffle, seed : the split of ``data`` (ignored when ``eval_ds`` is given).
    label_column : the column holding the labels.

    Returns
    -------
    Experiment; the same object for the same CLIP (name and weights hash), datasets
    (fingerprints) and split.
    """
    check_argument_order("experiment", "clip, data", hasattr(clip, "column_names") and hasattr(data, "encode_texts"))
    identity = _identity(clip)
    if eval_ds is not None:
        key = (identity, _fingerprint(data, "data"), _fingerprint(eval_ds, "eval_ds"), label_column)
        return _EXPERIMENTS.get(key, lambda: _build(clip, data, eval_ds, label_column))
    key = (identity, _fingerprint(data, "data"), test_size, shuffle, seed, label_column)
    return _EXPERIMENTS.get(key, lambda: _split_experiment(clip, data, test_size, shuffle, seed, label_column))


def _split_experiment(clip: Any, data: Any, test_size: float | int, shuffle: bool, seed: int,
                      label_column: str) -> Experiment:
    from grounding_kit.models import embed

    train, test = split(len(data), test_size, shuffle=shuffle, seed=seed)
    _check_labels(label_column, data=data)
    feats, labels = embed(clip, data, progress=False), np.asarray(data[label_column])  # embedded once, cached
    return Experiment(clip=clip, train_ds=data.select(train), eval_ds=data.select(test),
                      feats_train=feats.take(train), feats_eval=feats.take(test),
                      labels_train=labels[train], labels_eval=labels[test], train_index=train, eval_index=test)


def task_experiment(clip: Any, task: str, n: int, *, n_train: int | None = None, seed: int = 0,
                    size: int = 64, **dials: Any) -> Experiment:
    """An :class:`Experiment` on two independent samples of a synthetic task.

    The train sample is ``make_task(task, n=n_train, seed=seed, size=size, **dials)`` (``n_train``
    default ``max(n, 800)``), the evaluation sample the same with ``n`` pairs and ``seed + 1``, so
    heads are analysed on pairs they never saw. Memoised like :func:`experiment`.
    """
    from grounding_kit.world import make_task

    n = check_positive_int("n", n, minimum=2)
    n_train = max(n, MIN_TASK_TRAIN) if n_train is None else check_positive_int("n_train", n_train, minimum=2)
    seed = seed_int(seed)
    key = ("task", _identity(clip), task, n, n_train, seed, size, tuple(sorted(dials.items())))

    def build() -> Experiment:
        train = make_task(task, n=n_train, seed=seed, size=size, **dials)
        test = make_task(task, n=n, seed=seed + 1, size=size, **dials)
        return _build(clip, train, test, "label")

    return _EXPERIMENTS.get(key, build)  # a repeated request (a widget callback) costs a dict look-up
