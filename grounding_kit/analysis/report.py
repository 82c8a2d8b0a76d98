"""Is the model better than its additive projection? Tables with paired bootstrap intervals.

``emap_report`` scores five predictors on the same items: the full model ``f(t_i, v_i)``, its
EMAP, the text-only marginal ``mean_j f(t_i, v_j)``, the image-only marginal ``mean_j f(t_j, v_i)``
and the constant grand mean. ``cross_validate_emap`` repeats "fit on k-1 folds, project on the
held-out fold" over folds and seeds, as Hessel & Lee do.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..validation import check_consistent_length, check_fraction, check_positive_int
from .grids import check_grid
from .metrics import as_labels, get_metric
from .pairs import check_features

PREDICTORS = ("full model", "EMAP", "text-only marginal", "image-only marginal", "constant")


def _predictors(model: Any, feats: Any, partners: int | None, seed: int | None,
                batch_size: int | None, device: Any) -> tuple[dict[str, np.ndarray], str]:
    """The five predictors (N, C) as float64 numpy, from a grid or streamed from a model."""
    if feats is None and hasattr(model, "shape"):
        grid = check_grid(model, name="model")
        rows, cols = grid.mean(axis=1), grid.mean(axis=0)
        grand = rows.mean(axis=0)
        diagonal, method = grid[np.arange(len(grid)), np.arange(len(grid))], "grid"
    else:
        from .streaming import emap_details

        est = emap_details(model, feats, partners=partners, seed=seed, batch_size=batch_size, device=device)
        rows, cols, grand, diagonal = (t.numpy() for t in (est.text_marginal, est.image_marginal,
                                                           est.grand_mean, est.diagonal))
        method = est.method
    values = (diagonal, rows + cols - grand, rows, cols, np.broadcast_to(grand, rows.shape))
    return dict(zip(PREDICTORS, values)), method


def _bootstrap(metric: Any, y: np.ndarray, preds: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    """Metric of each predictor on each bootstrap resample (rows of ``index``)."""
    if metric.per_item is not None:
        return {name: metric.per_item(y, p)[index].mean(axis=1) for name, p in preds.items()}
    return {name: np.array([metric.fn(y[i], p[i]) for i in index]) for name, p in preds.items()}


def _paired_test(metric: Any, y: np.ndarray, a: np.ndarray, b: np.ndarray, rounds: int,
                 rng: np.random.Generator) -> float:
    """Two-sided p-value of a paired randomization test: swap a/b per item at random."""
    observed = metric.fn(y, a) - metric.fn(y, b)
    if metric.per_item is not None:
        d = metric.per_item(y, a) - metric.per_item(y, b)
        flips = rng.choice([-1.0, 1.0], size=(rounds, len(d)))
        null = (flips * d).mean(axis=1)
    else:
        null = np.empty(rounds)
        for r in range(rounds):
            swap = rng.random(len(y)) < 0.5
            null[r] = metric.fn(y, np.where(swap[:, None], b, a)) - metric.fn(y, np.where(swap[:, None], a, b))
    return float((1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (rounds + 1))


def emap_report(labels: Any, model: Any, feats: Any = None, metric: str | Callable = "accuracy",
                n_boot: int = 1000, seed: int = 0, level: float = 0.95, partners: int | None = None,
                batch_size: int | None = None, device: Any = None) -> pd.DataFrame:
    """Full model vs EMAP vs unimodal marginals vs constant, with paired bootstrap intervals.

    Parameters
    ----------
    labels : (N,) class indices / targets or (N, C) label rows (soft or multi-hot for VQA)
    model : pair model, or a precomputed grid (N, N, C) with ``grid[i, j] = f(t_i, v_j)``
    feats : Features of N pairs (None when ``model`` is a grid)
    metric : "accuracy", "macro_auc", "weighted_f1", "pairwise_ranking", "vqa_soft_accuracy",
        or a callable ``(labels, logits) -> float``
    n_boot : bootstrap resamples (the same resamples for every row: intervals are paired)
    seed : seed of the resamples, the permutation test and Monte Carlo partners
    level : confidence level of the intervals
    partners : None for exact EMAP; K for Monte Carlo EMAP (see ``emap_model``); the bootstrap
        intervals then cover resampling of items only, not the Monte Carlo error of the marginals

    Returns
    -------
    DataFrame indexed by predictor with columns ``score``, ``ci_low``, ``ci_high``; ``attrs`` hold
    ``metric``, ``level``, ``n_boot``, ``method``, ``difference`` (model minus EMAP), its interval
    ``difference_ci`` and ``p_value``, a paired randomization test of model vs EMAP
    (per-item swaps, ``n_boot`` rounds).
    """
    scorer = get_metric(metric)
    n_boot = check_positive_int("n_boot", n_boot)
    level = check_fraction("level", level)
    y = as_labels(labels)
    n = len(model) if feats is None and hasattr(model, "shape") else len(check_features(feats))
    check_consistent_length(labels=y, pairs=range(n))
    preds, method = _predictors(model, feats, partners, seed, batch_size, device)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(n_boot, n))
    boot = _bootstrap(scorer, y, preds, index)
    tail = 100 * (1 - level) / 2
    table = pd.DataFrame(
        {"score": [scorer.fn(y, p) for p in preds.values()],
         "ci_low": [np.nanpercentile(boot[k], tail) for k in preds],
         "ci_high": [np.nanpercentile(boot[k], 100 - tail) for k in preds]},
        index=pd.Index(list(preds), name="predictor"))
    diff = boot["full model"] - boot["EMAP"]
    table.attrs.update(
        metric=metric if isinstance(metric, str) else getattr(metric, "__name__", "custom"), level=level,
        n_boot=n_boot, method=method, difference=float(table.loc["full model", "score"] - table.loc["EMAP", "score"]),
        difference_ci=(float(np.nanpercentile(diff, tail)), float(np.nanpercentile(diff, 100 - tail))),
        p_value=_paired_test(scorer, y, preds["full model"], preds["EMAP"], n_boot, rng),
        test="paired randomization test of full model vs EMAP (per-item swaps)")
    return table


def cross_validate_emap(fit: Callable[[Any, np.ndarray], Any], feats: Any, labels: Any, folds: int = 5,
                        seeds: int | Sequence[int] = (0,), metric: str | Callable = "accuracy",
                        partners: int | None = None, batch_size: int | None = None,
                        device: Any = None) -> pd.DataFrame:
    """Fit on k-1 folds, score model and EMAP on the held-out fold, over folds and seeds.

    Parameters
    ----------
    fit : ``fit(train_feats, train_labels) -> model``, a pair model
    feats : Features of N pairs
    labels : (N,) or (N, C) labels (as for ``emap_report``)
    folds : number of folds k (>= 2)
    seeds : seeds of the fold shuffles (an int s means ``range(s)``)
    metric : as for ``emap_report``

    Returns
    -------
    DataFrame, one row per (seed, fold): ``seed``, ``fold``, ``n_train``, ``n_test`` and the
    held-out scores ``full model``, ``EMAP``, ``text-only marginal``, ``image-only marginal``,
    ``constant``, and ``difference`` (model minus EMAP). EMAP uses the held-out fold's own grid.
    """
    from sklearn.model_selection import KFold

    scorer = get_metric(metric)
    feats = check_features(feats)
    y = as_labels(labels)
    check_consistent_length(labels=y, feats=feats)
    folds = check_positive_int("folds", folds, minimum=2)
    if folds > len(y) // 2:
        raise ValueError(f"folds={folds} leaves fewer than 2 held-out pairs per fold with N={len(y)}")
    seed_list = list(range(check_positive_int("seeds", seeds))) if isinstance(seeds, (int, np.integer)) else list(seeds)
    records = []
    for seed in seed_list:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=int(seed))
        for fold, (train, test) in enumerate(splitter.split(np.arange(len(y)))):
            model = fit(feats.take(train), y[train])
            preds, _ = _predictors(model, feats.take(test), partners, int(seed), batch_size, device)
            scores = {name: scorer.fn(y[test], p) for name, p in preds.items()}
            records.append({"seed": seed, "fold": fold, "n_train": len(train), "n_test": len(test), **scores,
                            "difference": scores["full model"] - scores["EMAP"]})
    return pd.DataFrame.from_records(records)
