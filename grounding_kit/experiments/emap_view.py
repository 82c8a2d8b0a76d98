"""The EMAP lab's experiment: for a task, a head kind, N and exact or Monte Carlo EMAP, the
``emap_report`` of the head's held-out predictions and the decomposition of its label-margin grid.
The widget (:mod:`grounding_kit.widgets.emap_lab`) only draws an :class:`EmapView`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grounding_kit.core.validation import check_positive_int
from grounding_kit.experiments.protocol import task_experiment

#: bootstrap resamples of the lab's report (the intervals of a live demo)
N_BOOT = 200


@dataclass(frozen=True)
class EmapView:
    """What the EMAP lab shows for one setting.

    Attributes
    ----------
    report : the ``EmapReport`` of the head on the first ``n`` held-out pairs
    verdict : ``gap_verdict(report)``, one or two sentences
    margin : (n, n) label margin grid, ``margin[i, j]`` = the logit of text i's label for (t_i, v_j)
        minus the mean logit over classes (``label_margin_grid``)
    additive : (n, n) its additive part (row mean + column mean - grand mean)
    interaction : (n, n) its interaction residual (``margin - additive``)
    interaction_share : the interaction's share of the grid's variance (functional ANOVA)
    """

    report: Any
    verdict: str
    margin: np.ndarray
    additive: np.ndarray
    interaction: np.ndarray
    interaction_share: float


def emap_view(clip: Any, task: str, kind: str, n: int, *, partners: int | None = None,
              interaction: float | None = None, n_max: int | None = None, n_train: int | None = None,
              seed: int = 0, n_boot: int = N_BOOT) -> EmapView:
    """The EMAP lab's numbers for one setting (the head and its N x N grid are fitted and evaluated
    once per task experiment, then read from the experiment memo).

    Parameters
    ----------
    clip : a CLIP from ``load_clip``; the head is fitted on its features
    task : a ``make_task`` name
    kind : a ``fit_head`` kind
    n : the first ``n`` held-out pairs are analysed (<= ``n_max``)
    partners : None for exact EMAP; K for Monte Carlo over K partners per pair (read from the grid)
    interaction : the ``mixed`` task's dial (None for the other tasks)
    n_max, n_train : evaluation and training pairs of the task experiment (default ``n_max = n``;
        see ``task_experiment``)
    seed : seeds data, head, bootstrap and Monte Carlo partners
    n_boot : bootstrap resamples of the report

    Returns
    -------
    EmapView

    Raises
    ------
    ValueError
        ``n`` < 2 or above ``n_max``, ``partners`` outside [1, n], or arguments ``task_experiment``
        refuses.
    """
    from grounding_kit.analysis import decompose, emap_report, gap_verdict
    from grounding_kit.analysis.margins import label_margin_grid
    from grounding_kit.core.arrays import to_numpy

    n_max = n if n_max is None else check_positive_int("n_max", n_max)
    n = check_positive_int("n", n, minimum=2)
    if n > n_max:
        raise ValueError(f"n must be at most n_max={n_max}, got {n}")
    dials = {} if interaction is None else {"interaction": float(interaction)}
    exp = task_experiment(clip, task, n_max, n_train=n_train, seed=seed, **dials)
    lookup, labels = exp.grid(kind), exp.labels_eval[:n]
    feats = lookup.features(n)
    report = emap_report(labels, lookup, feats, n_boot=n_boot, seed=seed,
                         partners=None if partners is None else min(int(partners), n))
    margin = label_margin_grid(labels, lookup.subgrid(feats))
    parts = decompose(margin)
    return EmapView(report=report, verdict=gap_verdict(report), margin=np.asarray(margin),
                    additive=to_numpy(parts.additive()), interaction=to_numpy(parts.interaction),
                    interaction_share=float(np.asarray(to_numpy(parts.interaction_share))))
