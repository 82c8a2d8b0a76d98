"""The reshuffle experiment: break image-text pairs and watch what each predictor still gets right.

EMAP's text term is a text's average prediction over every image it could be paired with, so one
running average over image reshuffles converges to the text marginal (and one over text reshuffles
to the image marginal); their sum minus the grand mean converges to EMAP.

:class:`ReshuffleExperiment` holds the state and the steps of that experiment (the current pairs,
the running averages, the reset), computed with ``grounding_kit.analysis`` on the model's N x N logit
grid, which is computed once (or given precomputed, e.g. from
:func:`grounding_kit.experiments.grid_cache.task_grids`), so a step costs O(N) look-ups. The
reshuffle lab widget (:func:`grounding_kit.widgets.reshuffle_lab`) only binds controls and figures to
it; tests drive it without a browser.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from grounding_kit.analysis.grids import check_grid, is_array
from grounding_kit.analysis.margins import label_margin, margin_gap
from grounding_kit.analysis.metrics import accuracy
from grounding_kit.analysis.permutations import permuted_pairs, reshuffle_grid_average, shuffle_permutation
from grounding_kit.analysis.projection import row_col_grand
from grounding_kit.analysis.summaries import emap_from_marginals
from grounding_kit.core.validation import check_fraction, check_positive_int, check_seed, describe

#: the running averages are open-ended generators of this many rounds
ROUNDS = 10**9


class ReshuffleExperiment:
    """A model's pairs reshuffled step by step, with running averages that converge to EMAP.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C)`` logits, or its precomputed
        (N, N, C) grid ``grid[i, j] = f(t_i, v_j)`` (numpy or torch; then ``feats=None``, and no torch
        is imported).
    feats : Features of the N aligned pairs (None with a grid).
    labels : (N,) class ids of the aligned pairs.
    additive : optional additive pair model (or its grid, like ``model``) to compare with.
    seed : seeds the reshuffles (``seed=0`` by default; None for fresh randomness).
    name : the name of ``model`` among the predictors.

    Attributes
    ----------
    grid : (N, N, C) float64 logits of ``model``; ``additive`` likewise, or None.
    text_marginal, image_marginal : (N, C) exact marginals; ``grand`` (C,) the grand mean.
    emap : (N, C) the exact EMAP of the aligned pairs.
    perm : (N,) the current pairs: text i with image ``perm[i]``, drawn by
        ``shuffle_permutation(N, fraction, perm_seed)``.
    k : full reshuffles averaged so far; ``gaps`` the list of ``(k, mean |running - EMAP| margin)``.

    Raises
    ------
    ValueError
        Inconsistent numbers of pairs, or a grid given together with features.
    TypeError
        A pair model without features.
    """

    def __init__(self, model: Any, feats: Any, labels: Sequence[int], *, additive: Any = None,
                 seed: int | None = 0, name: str = "interactive") -> None:
        self.labels = np.asarray(labels, dtype=np.int64)
        self.n = len(self.labels)
        if feats is not None and len(feats) != self.n:
            raise ValueError(f"inconsistent numbers of samples: feats={len(feats)}, labels={self.n}")
        self.name = name
        self.grid = _grid_of(model, feats, "model", self.n)
        self.additive = None if additive is None else _grid_of(additive, feats, "additive", self.n)
        self.rng = np.random.default_rng(check_seed(seed, allow_none=True))
        self.text_marginal, self.image_marginal, self.grand = row_col_grand(self.grid)
        self.emap = emap_from_marginals(self.text_marginal, self.image_marginal, self.grand)
        self.predictors = ["text only", "image only", *(["additive"] if self.additive is not None else []),
                           name, "EMAP", "running average"]
        self.fraction = 0.0
        self.reset()

    # ------------------------------------------------------------------- steps
    def set_fraction(self, fraction: float) -> None:
        """Reshuffle ``fraction`` of the images among the texts (a fresh random choice)."""
        self.fraction = check_fraction("fraction", fraction)
        self.perm_seed = int(self.rng.integers(2**63))
        self.perm = shuffle_permutation(self.n, self.fraction, self.perm_seed)

    def reshuffle(self, times: int = 1) -> None:
        """``times`` more full reshuffles into the running averages, then new pairs at the current fraction."""
        times = check_positive_int("times", times)
        for _ in range(times):
            self._rows, self._cols = next(self._row_average), next(self._col_average)
            self.k += 1
        self.gaps.append((self.k, margin_gap(self.labels, self.running_emap(), self.emap)))
        self.set_fraction(self.fraction)

    def reset(self) -> None:
        """Forget the running averages and draw new pairs at the current fraction."""
        seed = int(self.rng.integers(2**63))
        self._row_average = reshuffle_grid_average(self.grid, ROUNDS, seed=seed, shuffle="image")
        self._col_average = reshuffle_grid_average(self.grid, ROUNDS, seed=seed + 1, shuffle="text")
        self._rows = self._cols = None
        self.k, self.gaps = 0, []
        self.set_fraction(self.fraction)

    # ---------------------------------------------------------------- readouts
    def running_emap(self) -> np.ndarray | None:
        """EMAP estimated from the k reshuffles so far: (N, C), or None before the first."""
        if self.k == 0:
            return None
        return emap_from_marginals(self._rows, self._cols)

    def predictions(self) -> dict[str, np.ndarray]:
        """Each predictor's logits (N, C) on the current pairs (text i, image ``perm[i]``)."""
        perm = self.perm
        preds = {"text only": self.text_marginal, "image only": self.image_marginal[perm]}
        if self.additive is not None:
            preds["additive"] = permuted_pairs(self.additive, perm)
        preds[self.name] = permuted_pairs(self.grid, perm)
        preds["EMAP"] = emap_from_marginals(self.text_marginal, self.image_marginal, self.grand, perm)
        if self.k:
            preds["running average"] = emap_from_marginals(self._rows, self._cols, perm=perm)
        return preds

    def accuracies(self) -> dict[str, float | None]:
        """Each predictor's accuracy on the current pairs against the aligned pairs' labels (None: no value yet)."""
        preds = self.predictions()
        return {key: accuracy(self.labels, preds[key]) if key in preds else None for key in self.predictors}

    def reshuffled(self) -> np.ndarray:
        """(N,) bool: which texts are paired with another image than their own now."""
        return self.perm != np.arange(self.n)

    def margins(self, m: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """The label margins of the first ``m`` pairs (all when None): exact EMAP's, and the running
        average's (None before the first reshuffle)."""
        m = self.n if m is None else min(self.n, check_positive_int("m", m))
        running = self.running_emap()
        exact = label_margin(self.labels, self.emap)[:m]
        return exact, None if running is None else label_margin(self.labels, running)[:m]


def _grid_of(model: Any, feats: Any, name: str, n: int) -> np.ndarray:
    """The float64 (N, N, C) grid of ``model``: a given grid checked (``feats`` must be None, as
    everywhere in the kit), or the model's ``pairwise_logits`` on ``feats`` (through ``GridModel``)."""
    if is_array(model):
        if feats is not None:
            raise ValueError(f"{name} is an array {describe(model)} and feats were given too; pass a precomputed "
                             "(N, N, C) grid with feats=None, or a pair model with its features")
        grid = check_grid(model, name=name)
        if len(grid) != n:
            raise ValueError(f"inconsistent numbers of samples: {name} grid={len(grid)}, labels={n}")
        return grid
    if feats is None:
        raise TypeError(f"feats is required for a pair model ({describe(model)}); only a precomputed (N, N, C) "
                        "grid can be passed without features")
    from grounding_kit.analysis import GridModel

    return GridModel.from_model(model, feats, progress=False).subgrid()
