"""Train/evaluation data, features and fitted heads for a task, memoised for the widgets.

Only composes kit calls (``make_task``, ``embed``, ``fit_head``, ``pairwise_logits``); a
scenario is computed once per process and then shared by every widget that asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


_SCENARIOS: dict[tuple, "Scenario"] = {}


@dataclass
class Scenario:
    """A task's train split (to fit heads) and evaluation split (to analyse them).

    ``feats_*`` are ``Features`` from ``embed``; ``labels_*`` (N,) int arrays; ``eval_ds`` the
    evaluation ``datasets.Dataset`` (images, texts, metadata).
    """

    task: str
    dials: dict[str, Any]
    feats_train: Any
    labels_train: np.ndarray
    feats_eval: Any
    labels_eval: np.ndarray
    eval_ds: Any
    heads: dict[str, Any] = field(default_factory=dict)
    lookups: dict[str, Any] = field(default_factory=dict)
    margins: dict[str, np.ndarray] = field(default_factory=dict)

    def head(self, kind: str, seed: int = 0) -> Any:
        """The head of this ``kind`` fitted on the train split (fitted on first request)."""
        if kind not in self.heads:
            from grounding_kit.models import fit_head

            self.heads[kind] = fit_head(kind, self.feats_train, self.labels_train, seed=seed, progress=False)
        return self.heads[kind]

    def lookup(self, kind: str):
        """The ``kind`` head's logits on every evaluation pair, as a
        :class:`~grounding_kit.analysis.grid_model.GridModel` (computed once)."""
        if kind not in self.lookups:
            from grounding_kit.analysis import GridModel

            self.lookups[kind] = GridModel.from_model(self.head(kind), self.feats_eval, progress=False)
        return self.lookups[kind]


    def margin(self, kind: str) -> np.ndarray:
        """(N, N) label margins of the ``kind`` head's grid (see ``label_margin_grid``), computed once."""
        if kind not in self.margins:
            from grounding_kit.widgets.helpers import label_margin_grid

            self.margins[kind] = label_margin_grid(self.lookup(kind).grid.numpy(), self.labels_eval)
        return self.margins[kind]


def scenario(clip: Any, task: str, n: int, *, n_train: int | None = None, seed: int = 0,
             size: int = 64, **dials: Any) -> Scenario:
    """The memoised :class:`Scenario` of ``make_task(task, ...)`` embedded with ``clip``.

    The train split uses ``seed`` and ``n_train`` rows (default ``max(n, 800)``); the evaluation
    split uses ``seed + 1`` and ``n`` rows, so heads are analysed on pairs they never saw.
    """
    from grounding_kit.models import embed
    from grounding_kit.world import make_task

    n_train = max(n, 800) if n_train is None else n_train
    key = (id(clip), task, n, n_train, seed, size, tuple(sorted(dials.items())))
    if key not in _SCENARIOS:
        train = make_task(task, n=n_train, seed=seed, size=size, **dials)
        test = make_task(task, n=n, seed=seed + 1, size=size, **dials)
        _SCENARIOS[key] = Scenario(task=task, dials=dict(dials), feats_train=embed(train, clip, progress=False),
                                   labels_train=np.asarray(train["label"]), feats_eval=embed(test, clip, progress=False),
                                   labels_eval=np.asarray(test["label"]), eval_ds=test)
    return _SCENARIOS[key]
