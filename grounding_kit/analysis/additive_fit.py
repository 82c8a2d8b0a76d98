"""The best additive approximation of a model under the joint distribution of its observed pairs.

EMAP projects a model onto additive functions under the **product** of the empirical marginals:
every test text with every test image, each combination weighted equally, including pairs that
never occur together in the data. When text and image are dependent, Hooker (2007, "Generalized
functional ANOVA diagnostics for high-dimensional functions of dependent variables", JCGS 16(3))
argues for weighting by the **joint** distribution instead, so that the decomposition does not
rest on the model's extrapolation to combinations the data never show.

``fit_additive`` fits ``g(text key) + h(image key)`` by weighted least squares to outputs observed
on pairs (backfitting, Hastie and Tibshirani, 1990: alternate group means of the partial
residuals until they stop changing). ``additive_comparison`` applies it to a model's own logits
on the observed pairs (the keys coarsen each text and each image to a category, which makes the
fit estimable from one observation per pair) and scores it beside the model and its EMAP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

import numpy as np
import pandas as pd

from grounding_kit.core.validation import check_consistent_length, check_labels, check_positive_int
from grounding_kit.analysis.metrics import get_metric


@dataclass(frozen=True)
class AdditiveFit:
    """A fitted ``intercept + text_effect[text key] + image_effect[image key]``.

    Attributes
    ----------
    text_levels_ : (K_t,) the distinct text keys, sorted
    image_levels_ : (K_v,) the distinct image keys, sorted
    intercept_ : (C,) the weighted mean of the outputs
    text_effect_ : (K_t, C) one effect per text key, weighted mean 0 over the observations
    image_effect_ : (K_v, C) one effect per image key, weighted mean 0 over the observations
    n_iter_ : backfitting sweeps until convergence
    """

    text_levels_: tuple
    image_levels_: tuple
    intercept_: np.ndarray
    text_effect_: np.ndarray
    image_effect_: np.ndarray
    n_iter_: int

    def predict(self, text_keys: Sequence[Hashable], image_keys: Sequence[Hashable]) -> np.ndarray:
        """The fitted values (n, C) for pairs of keys.

        Raises
        ------
        ValueError
            If a key was not seen in fitting, or the two key lists differ in length.
        """
        t = _codes("text_keys", text_keys, self.text_levels_)
        v = _codes("image_keys", image_keys, self.image_levels_)
        check_consistent_length(text_keys=t, image_keys=v)
        return self.intercept_ + self.text_effect_[t] + self.image_effect_[v]

    def grid(self) -> np.ndarray:
        """The fit on every combination of keys (K_t, K_v, C), rows text keys, columns image keys."""
        return self.intercept_ + self.text_effect_[:, None, :] + self.image_effect_[None, :, :]


def _codes(name: str, keys: Sequence[Hashable], levels: tuple) -> np.ndarray:
    index = {level: i for i, level in enumerate(levels)}
    unknown = sorted({str(k) for k in keys if k not in index})
    if unknown:
        raise ValueError(f"{name} holds keys not seen in fitting: {unknown[:5]}; known: {list(levels)}")
    return np.array([index[k] for k in keys], dtype=int)


def fit_additive(text_keys: Sequence[Hashable], image_keys: Sequence[Hashable], outputs: Any, *,
                 weights: Any = None, max_iter: int = 500, tol: float = 1e-12) -> AdditiveFit:
    """Weighted least-squares fit of ``outputs ~ intercept + g(text key) + h(image key)`` by backfitting.

    Parameters
    ----------
    text_keys : (n,) hashable category of each observation's text
    image_keys : (n,) hashable category of each observation's image
    outputs : (n,) or (n, C) the values to approximate (e.g. a model's logits on its observed pairs)
    weights : (n,) non-negative weights (default 1 each: the empirical joint distribution)
    max_iter : at most this many sweeps
    tol : stop when no effect moves by more than ``tol``

    Returns
    -------
    AdditiveFit; its effects minimise ``sum_k w_k (outputs_k - fit_k)^2``.

    Raises
    ------
    ValueError
        If the lengths differ, ``outputs`` is not 1-D or 2-D or not finite, a weight is negative or
        all are 0, or the sweeps do not converge within ``max_iter``.
    """
    y = np.asarray(outputs, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"outputs must have shape (n,) or (n, C), got {np.shape(outputs)}")
    if not np.isfinite(y).all():
        raise ValueError("outputs holds NaN or infinite values")
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    check_consistent_length(text_keys=text_keys, image_keys=image_keys, outputs=y, weights=w)
    if w.ndim != 1 or (w < 0).any() or not w.sum() > 0:
        raise ValueError("weights must be a 1-D array of non-negative numbers, not all 0")
    max_iter = check_positive_int("max_iter", max_iter)
    text_levels, t = np.unique(np.asarray(list(text_keys), dtype=object).astype(str), return_inverse=True)
    image_levels, v = np.unique(np.asarray(list(image_keys), dtype=object).astype(str), return_inverse=True)
    # keep the caller's key objects (np.unique sorted their string forms)
    text_levels = tuple(_first_of(text_keys, t, len(text_levels)))
    image_levels = tuple(_first_of(image_keys, v, len(image_levels)))
    intercept = np.average(y, axis=0, weights=w)
    g, h = np.zeros((len(text_levels), y.shape[1])), np.zeros((len(image_levels), y.shape[1]))
    for sweep in range(1, max_iter + 1):
        g_new = _group_mean(y - intercept - h[v], t, w, len(text_levels))
        g_new -= np.average(g_new[t], axis=0, weights=w)
        h_new = _group_mean(y - intercept - g_new[t], v, w, len(image_levels))
        h_new -= np.average(h_new[v], axis=0, weights=w)
        change = max(np.abs(g_new - g).max(), np.abs(h_new - h).max())
        g, h = g_new, h_new
        if change <= tol:
            return AdditiveFit(text_levels, image_levels, intercept, g, h, sweep)
    raise ValueError(f"backfitting did not converge in max_iter={max_iter} sweeps (last change {change:.2e}); "
                     "raise max_iter")


def _first_of(keys: Sequence[Hashable], codes: np.ndarray, k: int) -> list:
    keys = list(keys)
    first = {}
    for key, code in zip(keys, codes):
        first.setdefault(int(code), key)
    return [first[c] for c in range(k)]


def _group_mean(values: np.ndarray, codes: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    total = np.zeros((k, values.shape[1]))
    np.add.at(total, codes, w[:, None] * values)
    mass = np.bincount(codes, weights=w, minlength=k)
    return total / np.where(mass > 0, mass, 1.0)[:, None]


def additive_comparison(labels: Any, model: Any, feats: Any, text_keys: Sequence[Hashable],
                        image_keys: Sequence[Hashable], metric: str | Callable = "accuracy") -> pd.DataFrame:
    """A model, its EMAP and its additive fits over keys under two distributions, scored.

    Parameters
    ----------
    labels : (N,) labels of the N observed pairs
    model : pair model (or a precomputed grid, as for ``emap_report``)
    feats : Features of the N pairs (None for a grid)
    text_keys, image_keys : (N,) category of each pair's text and image (the keys of ``fit_additive``)
    metric : as for ``emap_report``

    Returns
    -------
    DataFrame indexed by predictor with column ``score``:

    - ``"full model"``: ``f(t_i, v_i)``;
    - ``"EMAP"``: the kit's EMAP, item by item, under the product of the empirical marginals;
    - ``"additive fit over keys, product of marginals"``: ``fit_additive`` on all N x N pairs
      ``(t_i, v_j)`` with equal weights, i.e. also on combinations of keys that never occur;
    - ``"additive fit over keys, joint distribution"``: ``fit_additive`` on the N observed pairs only.

    The last two use the same keys and the same model; only the weighting differs. ``attrs["cells"]``
    is a DataFrame with one row per (text key, image key) combination: ``pairs`` (observed pairs in
    it; 0 for a combination that never co-occurs), ``model`` (the model's mean over the N x N grid's
    pairs in it), ``product fit`` and ``joint fit`` (the two fits there), each a list of C logits.

    Raises
    ------
    ValueError
        If the lengths of labels, pairs and keys differ (and as ``fit_additive``).
    """
    from grounding_kit.analysis.grid_model import as_pair_model
    from grounding_kit.analysis.pairs import check_features, pairwise_logits

    scorer = get_metric(metric)
    y = check_labels(labels, call="additive_comparison(labels, model, feats, text_keys, image_keys, ...)")
    model, feats = as_pair_model(model, feats)
    n = len(check_features(feats))
    text_keys, image_keys = list(text_keys), list(image_keys)
    check_consistent_length(labels=y, pairs=range(n), text_keys=text_keys, image_keys=image_keys)
    grid = np.asarray(pairwise_logits(model, feats), dtype=float)
    if grid.ndim == 2:
        grid = grid[..., None]
    c = grid.shape[-1]
    diagonal = grid[np.arange(n), np.arange(n)]
    projection = grid.mean(axis=1) + grid.mean(axis=0) - grid.mean(axis=(0, 1))
    joint = fit_additive(text_keys, image_keys, diagonal)
    all_text = [k for k in text_keys for _ in range(n)]  # row i of the grid: text i with every image
    product = fit_additive(all_text, image_keys * n, grid.reshape(n * n, c))
    preds = {"full model": diagonal, "EMAP": projection,
             "additive fit over keys, product of marginals": product.predict(text_keys, image_keys),
             "additive fit over keys, joint distribution": joint.predict(text_keys, image_keys)}
    table = pd.DataFrame({"score": [scorer.fn(y, p) for p in preds.values()]},
                         index=pd.Index(list(preds), name="predictor"))
    t, v = _codes("text_keys", text_keys, joint.text_levels_), _codes("image_keys", image_keys, joint.image_levels_)
    records = []
    for a, text_level in enumerate(joint.text_levels_):
        for b, image_level in enumerate(joint.image_levels_):
            block = grid[np.ix_(t == a, v == b)].reshape(-1, c)
            records.append({"text key": text_level, "image key": image_level,
                            "pairs": int(((t == a) & (v == b)).sum()),
                            "model": block.mean(axis=0).tolist() if len(block) else [float("nan")] * c,
                            "product fit": product.predict([text_level], [image_level])[0].tolist(),
                            "joint fit": joint.grid()[a, b].tolist()})
    table.attrs["cells"] = pd.DataFrame.from_records(records).set_index(["text key", "image key"])
    return table
