"""Is the model better than its additive projection? Tables with paired bootstrap intervals.

``emap_report`` scores five predictors on the same items: the full model ``f(t_i, v_i)``, its
EMAP, the text-only marginal ``mean_j f(t_i, v_j)``, the image-only marginal ``mean_j f(t_j, v_i)``
and the constant grand mean, and returns an :class:`EmapReport`: the table and the headline
figures (model minus EMAP, its interval, the p-value, ...), which survive ``to_csv``, pickling and
``repr``. :func:`gap_verdict` reads a report in one sentence. ``cross_validate_emap`` repeats
"fit on k-1 folds, project on the held-out fold" over folds and seeds, as Hessel & Lee do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy.special import erfinv
from threadpoolctl import threadpool_limits

from grounding_kit.models.features import Features
from grounding_kit.models.contract import ModelOrGrid, PairModel
from grounding_kit.core.validation import (check_choice, check_consistent_length, check_fraction, check_labels, check_memory,
                                           check_positive_int, check_seed, seed_int)
from grounding_kit.analysis.equivalence import EquivalenceResult, tost
from grounding_kit.analysis.grid_model import GridModel, as_pair_model
from grounding_kit.analysis.metrics import Metric, check_scorable, get_metric
from grounding_kit.analysis.model_emap import emap_model
from grounding_kit.analysis.pairs import check_features, pairwise_logits

PREDICTORS = ("full model", "EMAP", "text-only marginal", "image-only marginal", "constant")
#: what a bootstrap resample re-estimates: "items" (nothing: the projection is held fixed) or
#: "refit" (the marginals, hence the projection, inside each resample)
BOOTSTRAPS = ("items", "refit")
#: the fields of an ``EquivalenceResult`` saved as ``equivalence_*`` columns by ``EmapReport.to_frame``
_EQUIVALENCE_FIELDS = ("difference", "stderr", "margin", "alpha", "p_lower", "p_upper", "p_value", "equivalent",
                       "ci_low", "ci_high", "n")


@dataclass(frozen=True, eq=False)
class EmapReport:
    """What ``emap_report`` measured: a table of five predictors and the headline figures.

    Attributes
    ----------
    table : DataFrame indexed by predictor (``PREDICTORS``) with columns ``score``, ``ci_low``,
        ``ci_high`` (paired bootstrap intervals at ``level``)
    difference : score of the full model minus score of its EMAP
    difference_ci_low, difference_ci_high : the interval of ``difference`` at ``level``
    p_value : two-sided p-value of ``test`` (model vs EMAP)
    monte_carlo_sd : spread of the EMAP score caused by Monte Carlo partners (0.0 when exact)
    metric : the metric's name
    level : confidence level of the intervals
    n_boot : bootstrap resamples
    method : how the projection was computed (``EmapEstimate.method``)
    bootstrap : "items" (the projection held fixed while items are resampled) or "refit" (the
        marginals re-estimated inside each resample)
    test : the test behind ``p_value``
    equivalence : the TOST of "model minus EMAP within +-margin" when ``emap_report`` got a
        ``margin`` (:class:`~grounding_kit.analysis.equivalence.EquivalenceResult`), else None

    ``report.loc`` is ``report.table.loc`` (``report.loc["EMAP", "score"]``). :meth:`to_frame` (and
    :meth:`to_csv`) write the table with every headline figure as a column, and
    :meth:`from_frame` reads such a frame back (``EmapReport.from_frame(pd.read_csv(path, index_col=0))``).
    """

    table: pd.DataFrame
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    p_value: float = math.nan
    monte_carlo_sd: float = 0.0
    metric: str = "accuracy"
    level: float = 0.95
    n_boot: int = 0
    method: str = ""
    bootstrap: str = "items"
    test: str = ""
    equivalence: EquivalenceResult | None = None

    @property
    def difference_ci(self) -> tuple[float, float]:
        """``(difference_ci_low, difference_ci_high)``."""
        return self.difference_ci_low, self.difference_ci_high

    @property
    def loc(self) -> Any:
        """``table.loc``: ``report.loc["full model", "score"]``."""
        return self.table.loc

    def figures(self) -> dict[str, Any]:
        """The headline figures as a flat dict (the equivalence test's as ``equivalence_*``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("table", "equivalence")}
        if self.equivalence is not None:
            out.update({f"equivalence_{name}": getattr(self.equivalence, name) for name in _EQUIVALENCE_FIELDS})
        return out

    def to_frame(self) -> pd.DataFrame:
        """The table with each headline figure as a column (the same value on every row)."""
        return self.table.assign(**self.figures())

    def to_csv(self, path_or_buf: Any = None, **kwargs: Any) -> str | None:
        """``to_frame().to_csv(path_or_buf, **kwargs)``: the figures are saved with the table."""
        return self.to_frame().to_csv(path_or_buf, **kwargs)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "EmapReport":
        """The report saved by :meth:`to_frame` / :meth:`to_csv` (read back with ``index_col=0``).

        Raises
        ------
        ValueError
            ``frame`` lacks the table's columns or a headline figure.
        """
        names = [f.name for f in fields(cls) if f.name not in ("table", "equivalence")]
        missing = [c for c in ("score", "ci_low", "ci_high", *names) if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks the columns {missing} of an EmapReport.to_frame(); "
                             f"got columns {list(frame.columns)}")
        first = frame.iloc[0]
        values = {name: first[name] for name in names}
        for name in ("difference", "difference_ci_low", "difference_ci_high", "p_value", "monte_carlo_sd", "level"):
            values[name] = float(values[name])
        values["n_boot"] = int(values["n_boot"])
        for name in ("metric", "method", "bootstrap", "test"):
            values[name] = "" if pd.isna(values[name]) else str(values[name])
        table = frame[["score", "ci_low", "ci_high"]].copy()
        table.index.name = "predictor"
        equivalence = None
        if "equivalence_p_value" in frame.columns:
            saved = {name: first[f"equivalence_{name}"] for name in _EQUIVALENCE_FIELDS}
            equivalence = EquivalenceResult(**{name: (bool(v) if name == "equivalent" else int(v) if name == "n"
                                                      else float(v)) for name, v in saved.items()})
        return cls(table=table, equivalence=equivalence, **values)

    def headline(self) -> str:
        """One line: model minus EMAP, its interval, the p-value and the Monte Carlo spread."""
        mc = f", Monte Carlo sd {self.monte_carlo_sd:.3g}" if self.monte_carlo_sd else ""
        tost_part = f"; {self.equivalence.verdict()}" if self.equivalence is not None else ""
        return (f"{self.metric}: model - EMAP = {self.difference:+.4f}, {self.level:.0%} interval "
                f"[{self.difference_ci_low:+.4f}, {self.difference_ci_high:+.4f}] ({self.bootstrap} bootstrap, "
                f"n_boot={self.n_boot}), p = {self.p_value:.3g}{mc}; EMAP by {self.method or 'unknown method'}"
                f"{tost_part}")

    def __repr__(self) -> str:
        return f"EmapReport({self.headline()})\n{self.table!r}"

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(self.headline())}</p>" + self.table.to_html(float_format=lambda v: f"{v:.4f}")


def _predictors(model: Any, feats: Any, partners: int | None, seed: int | None,
                batch_size: int | None, device: Any) -> tuple[dict[str, np.ndarray], str, np.ndarray]:
    """The five predictors (N, C) as float64 numpy, the method and EMAP's stderr (N, C), from
    ``emap_model`` (a grid reads its means)."""
    if partners == 1:
        raise ValueError("partners=1 gives no estimate of the Monte Carlo error (one partner per item "
                         "has no spread); use partners >= 2, or None for the exact projection")
    est = emap_model(model, feats, partners=partners, seed=seed, batch_size=batch_size, device=device)
    rows, cols, grand, diagonal = (t.numpy() for t in (est.text_marginal, est.image_marginal,
                                                       est.grand_mean, est.diagonal))
    values = (diagonal, est.projection.numpy(), rows, cols, np.broadcast_to(grand, rows.shape))
    return dict(zip(PREDICTORS, values)), est.method, est.stderr.numpy()


def monte_carlo_spread(metric: Any, labels: Any, projection: np.ndarray, stderr: np.ndarray,
                       rounds: int = 200, seed: int = 0) -> float:
    """Standard deviation of a score caused by the Monte Carlo error of an estimated projection.

    Parameters
    ----------
    metric : a metric name, callable or ``Metric`` (as for ``emap_report``)
    labels : (N,) or (N, C) labels
    projection : (N, C) estimated EMAP predictions
    stderr : (N, C) their Monte Carlo standard errors (``EmapEstimate.stderr``)
    rounds : number of simulated projections
    seed : seed of the simulation

    Returns
    -------
    The standard deviation of ``metric(labels, projection + stderr * Z)`` over ``rounds`` draws of
    independent standard normal ``Z`` (N, C): how much the score would move with other partner draws,
    holding the items fixed. 0.0 when ``stderr`` is all zero (an exact projection).

    Raises
    ------
    TypeError
        Non-numeric labels or an old argument order.
    ValueError
        ``projection`` and ``stderr`` of different shapes, NaN or negative ``stderr``, ``rounds`` < 2.
    """
    scorer = metric if isinstance(metric, Metric) else get_metric(metric)
    rounds = check_positive_int("rounds", rounds, minimum=2)
    y = check_labels(labels, call="monte_carlo_spread(metric, labels, projection, stderr)")
    projection, stderr = np.asarray(projection, dtype=np.float64), np.asarray(stderr, dtype=np.float64)
    if projection.shape != stderr.shape:
        raise ValueError(f"projection has shape {projection.shape} but stderr has shape {stderr.shape}; "
                         "expected the same (N, C)")
    if not np.isfinite(stderr).all() or (stderr < 0).any():
        raise ValueError("stderr must be finite and non-negative (partners=1 gives NaN standard errors; "
                         "use partners >= 2)")
    if not stderr.any():
        return 0.0
    rng = np.random.default_rng(seed)
    draws = [scorer.fn(y, projection + stderr * rng.standard_normal(projection.shape)) for _ in range(rounds)]
    return float(np.std(draws, ddof=1))


def _widen(score: float, low: float, high: float, spread: float, z: float) -> tuple[float, float]:
    """Add ``z * spread`` in quadrature to both half-widths of the interval [low, high] around ``score``."""
    below, above = max(score - low, 0.0), max(high - score, 0.0)
    return score - float(np.hypot(below, z * spread)), score + float(np.hypot(above, z * spread))


def _bootstrap(metric: Any, y: np.ndarray, preds: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    """Metric of each predictor on each bootstrap resample (rows of ``index``)."""
    if metric.per_item is not None:
        return {name: metric.per_item(y, p)[index].mean(axis=1) for name, p in preds.items()}
    return {name: np.array([metric.fn(y[i], p[i]) for i in index]) for name, p in preds.items()}


def _refit_bootstrap(metric: Any, y: np.ndarray, grid: np.ndarray, index: np.ndarray,
                     block: int = 64) -> dict[str, np.ndarray]:
    """Metric of each predictor on each resample, the marginals re-estimated on the resample.

    A resample with item counts ``w`` (``w[j]`` copies of pair j, ``sum w = N``) has the empirical
    distribution ``w / N``: its text marginal is ``rows[i] = sum_j w[j] / N * grid[i, j]`` (text i
    averaged over the resample's images), its image marginal ``cols[j] = sum_i w[i] / N * grid[i, j]``,
    its grand mean ``sum_i w[i] / N * rows[i]``; each resampled item is then scored with the
    resample's own projection. ``block`` resamples are done per matrix product (O(N^2 C) each).
    """
    n, _, c = grid.shape
    by_image = grid.transpose(1, 0, 2).reshape(n, n * c)  # by_image[j, i * C + k] = grid[i, j, k]
    by_text = grid.reshape(n, n * c)                       # by_text[i, j * C + k] = grid[i, j, k]
    diagonal = grid[np.arange(n), np.arange(n)]
    out = {name: np.empty(len(index)) for name in PREDICTORS}
    with threadpool_limits(1, user_api="blas"):  # small products: BLAS threads only wait on a shared CPU
        for start in range(0, len(index), block):
            _refit_block(metric, y, index[start:start + block], start, diagonal, by_image, by_text, out)
    return out


def _refit_block(metric: Any, y: np.ndarray, chunk: np.ndarray, start: int, diagonal: np.ndarray,
                 by_image: np.ndarray, by_text: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """Scores of the resamples ``chunk`` (b, N) into ``out[name][start:start + b]`` (see ``_refit_bootstrap``)."""
    n, c = diagonal.shape
    b = len(chunk)
    weights = np.stack([np.bincount(idx, minlength=n) / n for idx in chunk])  # (b, N)
    rows = (weights @ by_image).reshape(b, n, c)  # rows[r, i] = sum_j w[r, j] grid[i, j]
    cols = (weights @ by_text).reshape(b, n, c)   # cols[r, j] = sum_i w[r, i] grid[i, j]
    grand = np.einsum("rn,rnc->rc", weights, rows)
    at = (np.arange(b)[:, None], chunk)
    preds = {"full model": diagonal[chunk], "EMAP": rows[at] + cols[at] - grand[:, None, :],
             "text-only marginal": rows[at], "image-only marginal": cols[at],
             "constant": np.broadcast_to(grand[:, None, :], (b, n, c))}
    labels = y[chunk]                                                           # (b, N) or (b, N, C)
    for name, p in preds.items():
        if metric.per_item is not None:  # one call for the whole block
            flat = metric.per_item(labels.reshape(b * n, *y.shape[1:]), p.reshape(b * n, c))
            out[name][start:start + b] = flat.reshape(b, n).mean(axis=1)
        else:
            out[name][start:start + b] = [metric.fn(labels[r], p[r]) for r in range(b)]


def _grid_of(model: Any, feats: Any, batch_size: int | None, device: Any) -> np.ndarray:
    """The float64 (N, N, C) grid of ``model`` on ``feats``: read from a ``GridModel``, else evaluated."""
    if isinstance(model, GridModel):
        return model.subgrid(feats)
    return pairwise_logits(model, feats, batch_size=batch_size, device=device, progress=False).double().numpy()


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


def emap_report(labels: Any, model: ModelOrGrid, feats: Features | None = None, metric: str | Callable = "accuracy",
                n_boot: int = 1000, seed: int = 0, level: float = 0.95, partners: int | None = None,
                batch_size: int | None = None, device: Any = None, *, bootstrap: str = "items",
                margin: float | None = None) -> EmapReport:
    """Full model vs EMAP vs unimodal marginals vs constant, with paired bootstrap intervals.

    Parameters
    ----------
    labels : (N,) class indices / targets or (N, C) label rows (soft or multi-hot for VQA)
    model : pair model, a ``GridModel``, or a precomputed grid (N, N, C) with
        ``grid[i, j] = f(t_i, v_j)`` (see ``grounding_kit.analysis.grid_model.as_pair_model``)
    feats : Features of N pairs (None for a grid: all its pairs)
    metric : "accuracy", "macro_auc", "weighted_f1", "pairwise_ranking", "vqa_soft_accuracy",
        or a callable ``(labels, logits) -> float``
    n_boot : bootstrap resamples (the same resamples for every row: intervals are paired)
    seed : seed of the resamples, the permutation test and Monte Carlo partners
    level : confidence level of the intervals
    partners : None for exact EMAP; K >= 2 for Monte Carlo EMAP (see ``emap_model``). The EMAP row's
        interval and ``difference_ci`` then cover both sources of error: the paired bootstrap
        half-widths (resampling items) are combined in quadrature with ``z * s``, where ``s`` is
        ``monte_carlo_sd``, the spread of the score over simulated projections
        ``projection + stderr * Z`` (``monte_carlo_spread``; the two errors are independent, so their
        variances add). ``s`` shrinks as K grows and is 0 at K = N. The marginal rows' intervals
        and ``p_value`` cover item resampling only.
    bootstrap : what each resample re-estimates. ``"items"`` (default): the items are resampled
        and the projection, estimated once on all N items, is held fixed, so the intervals leave out
        the error of estimating the marginals. ``"refit"``: inside each resample the text marginal,
        image marginal and grand mean are re-estimated on the resample's own pairs (its empirical
        text and image distributions, from the N x N grid, computed once: ``pairwise_logits``
        memory applies), so the intervals of every row and of the difference include that error.
        Exact EMAP only (``partners=None``). The training seed's spread is in neither: see
        ``cross_validate_emap``.
    margin : an equivalence margin fixed before looking at the data: the report then carries
        ``equivalence``, the two one-sided tests (TOST) of ``|model - EMAP| < margin`` on the paired
        per-item scores (:func:`grounding_kit.analysis.equivalence.equivalence_test`; per-item
        metrics only), each one-sided test at ``alpha = (1 - level) / 2``, so that its
        ``1 - 2 * alpha`` interval has the report's ``level``

    Returns
    -------
    EmapReport: ``.table``, a DataFrame indexed by predictor with columns ``score``, ``ci_low``,
    ``ci_high``, and the headline figures ``difference`` (model minus EMAP), its interval
    ``difference_ci_low`` / ``difference_ci_high``, ``monte_carlo_sd`` (0.0 for an exact projection),
    ``p_value`` (a paired randomization test of model vs EMAP, per-item swaps, ``n_boot`` rounds),
    ``metric``, ``level``, ``n_boot``, ``method``. ``report.to_csv(path)`` saves the figures as columns
    beside the table; the report pickles, and its ``repr`` starts with the figures.

    Raises
    ------
    TypeError
        Arguments in an old order (labels not first; the message names the order), non-numeric
        labels, ``feats`` not a ``Features``, a non-numeric ``margin``.
    ValueError
        Inconsistent lengths, labels outside the model's classes, a metric undefined on the labels
        (``macro_auc`` on single-class labels, named with the classes), ``partners=1``,
        ``bootstrap="refit"`` with ``partners``, a ``margin`` with a metric that is not per item.
    BudgetError
        The bootstrap (or, for ``"refit"``, the grid) would need more memory than the budget.
    """
    scorer = get_metric(metric)
    check_choice("bootstrap", bootstrap, BOOTSTRAPS)
    if bootstrap == "refit" and partners is not None:
        raise ValueError("bootstrap='refit' re-estimates the marginals from the exact N x N grid; it does not "
                         "combine with Monte Carlo partners: pass partners=None")
    if margin is not None and scorer.per_item is None:
        raise ValueError(f"margin (the equivalence test) needs a per-item metric ('accuracy' or "
                         f"'vqa_soft_accuracy'), got metric={metric!r}")
    n_boot = check_positive_int("n_boot", n_boot)
    level = check_fraction("level", level)
    seed = seed_int(seed)  # one int: the resamples and the Monte Carlo partners both derive from it
    y = check_labels(labels, call="emap_report(labels, model, feats, ...)")
    model, feats = as_pair_model(model, feats)
    n = len(check_features(feats))
    check_consistent_length(labels=y, pairs=range(n))
    # the (n_boot, N) resample indices plus one (n_boot, N) float64 block at a time, and the test's flips
    check_memory(f"emap_report with n_boot={n_boot:,} on N={n:,} items", 24 * n_boot * n,
                 hint="n_boot=1000 to 10,000 gives intervals to two digits.")
    preds, method, stderr = _predictors(model, feats, partners, seed, batch_size, device)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(n_boot, n))
    if bootstrap == "refit":
        boot = _refit_bootstrap(scorer, y, _grid_of(model, feats, batch_size, device), index)
    else:
        boot = _bootstrap(scorer, y, preds, index)
    scores = [scorer.fn(y, p) for p in preds.values()]
    check_scorable(metric, y, scores[0])  # e.g. macro_auc on single-class labels: refused, not a NaN table
    tail = 100 * (1 - level) / 2
    table = pd.DataFrame(
        {"score": scores,
         "ci_low": [np.nanpercentile(boot[k], tail) for k in preds],
         "ci_high": [np.nanpercentile(boot[k], 100 - tail) for k in preds]},
        index=pd.Index(list(preds), name="predictor"))
    diff = boot["full model"] - boot["EMAP"]
    difference = float(table.loc["full model", "score"] - table.loc["EMAP", "score"])
    difference_ci = (float(np.nanpercentile(diff, tail)), float(np.nanpercentile(diff, 100 - tail)))
    p_value = _paired_test(scorer, y, preds["full model"], preds["EMAP"], n_boot, rng)
    spread = monte_carlo_spread(scorer, y, preds["EMAP"], stderr, seed=seed)
    if spread > 0:
        z = float(np.sqrt(2.0) * erfinv(level))
        emap_score = float(table.loc["EMAP", "score"])
        table.loc["EMAP", ["ci_low", "ci_high"]] = _widen(emap_score, table.loc["EMAP", "ci_low"],
                                                          table.loc["EMAP", "ci_high"], spread, z)
        difference_ci = _widen(difference, *difference_ci, spread, z)
    equivalence = None
    if margin is not None:
        differences = scorer.per_item(y, preds["full model"]) - scorer.per_item(y, preds["EMAP"])
        equivalence = tost(differences, margin, alpha=(1 - level) / 2)
    return EmapReport(table=table, difference=difference, difference_ci_low=difference_ci[0],
                      difference_ci_high=difference_ci[1], p_value=p_value, monte_carlo_sd=spread,
                      metric=metric if isinstance(metric, str) else getattr(metric, "__name__", "custom"),
                      level=level, n_boot=n_boot, method=method, bootstrap=bootstrap,
                      test="paired randomization test of full model vs EMAP (per-item swaps, projection fixed)",
                      equivalence=equivalence)


def cross_validate_emap(labels: Any, fit: Callable[[Features, np.ndarray], PairModel], feats: Features,
                        folds: int = 5, seeds: int | Sequence[int] = (0,), metric: str | Callable = "accuracy",
                        partners: int | None = None, batch_size: int | None = None,
                        device: Any = None) -> pd.DataFrame:
    """Fit on k-1 folds, score model and EMAP on the held-out fold, over folds and seeds.

    Parameters
    ----------
    labels : (N,) or (N, C) labels (as for ``emap_report``)
    fit : ``fit(train_feats, train_labels) -> model``, a pair model
    feats : Features of N pairs
    folds : number of folds k (>= 2)
    seeds : seeds of the fold shuffles (an int s means ``range(s)``)
    metric : as for ``emap_report``

    Returns
    -------
    DataFrame, one row per (seed, fold): ``seed``, ``fold``, ``n_train``, ``n_test`` and the
    held-out scores ``full model``, ``EMAP``, ``text-only marginal``, ``image-only marginal``,
    ``constant``, and ``difference`` (model minus EMAP). EMAP uses the held-out fold's own grid.

    Raises
    ------
    TypeError
        Arguments in the old order ``(fit, feats, labels)`` (named in the message), ``feats`` not a
        ``Features``, or non-numeric labels.
    ValueError
        Inconsistent lengths, ``folds`` < 2 or too many for N, or bad labels (see ``check_labels``).
    """
    from sklearn.model_selection import KFold

    y = check_labels(labels, call="cross_validate_emap(labels, fit, feats, ...)")
    if not callable(fit):
        raise TypeError(f"fit must be a function fit(train_feats, train_labels) -> model, got {type(fit).__name__}; "
                        "the argument order is cross_validate_emap(labels, fit, feats, ...)")
    scorer = get_metric(metric)
    feats = check_features(feats)
    check_consistent_length(labels=y, feats=feats)
    folds = check_positive_int("folds", folds, minimum=2)
    if folds > len(y) // 2:
        raise ValueError(f"folds={folds} leaves fewer than 2 held-out pairs per fold with N={len(y)}")
    seed_list = ([check_seed(s, "seeds item") for s in seeds] if isinstance(seeds, (list, tuple, range, np.ndarray))
                 else list(range(check_positive_int("seeds", seeds))))
    records = []
    for seed in seed_list:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=int(seed))
        for fold, (train, test) in enumerate(splitter.split(np.arange(len(y)))):
            model = fit(feats.take(train), y[train])
            preds, _, _ = _predictors(model, feats.take(test), partners, int(seed), batch_size, device)
            scores = {name: scorer.fn(y[test], p) for name, p in preds.items()}
            records.append({"seed": seed, "fold": fold, "n_train": len(train), "n_test": len(test), **scores,
                            "difference": scores["full model"] - scores["EMAP"]})
    return pd.DataFrame.from_records(records)


def gap_verdict(report: EmapReport) -> str:
    """What an ``emap_report`` says about the gain from interactions, in one or two sentences.

    Reads the interval of model minus EMAP (``report.difference_ci`` at ``report.level``) and, when
    the report was made with a ``margin``, its equivalence test (``report.equivalence``):

    - interval above 0: on this data the model's interactions add at least its lower end;
    - interval below 0: the additive projection scores higher than the model;
    - interval containing 0: the data show no gain. That alone is not evidence that interactions
      are not needed: only the equivalence test (two one-sided tests against a margin fixed before
      looking) can show that the difference lies within +-margin, and the sentence says whether it
      did, or that no margin was given.

    The interval names what it resampled (``report.bootstrap``: the items with the projection held
    fixed, or the projection re-estimated too) and that it describes one trained model: the spread
    over training seeds is never in it.

    Parameters
    ----------
    report : an :class:`EmapReport` (or the frame of its ``to_frame()``)

    Raises
    ------
    TypeError
        ``report`` is neither an ``EmapReport`` nor a frame saved by ``EmapReport.to_frame``.
    ValueError
        A frame without the report's columns.
    """
    if isinstance(report, pd.DataFrame):
        report = EmapReport.from_frame(report)
    if not isinstance(report, EmapReport):
        raise TypeError(f"report must be the EmapReport returned by gk.emap_report, got {type(report).__name__}")
    low, high = report.difference_ci
    resampled = ("items resampled, projection held fixed" if report.bootstrap == "items"
                 else "projection re-estimated in every resample")
    interval = f"{report.level:.0%} interval of model - EMAP [{low:+.3f}, {high:+.3f}] ({resampled}; one trained model)"
    tost_part = f" {report.equivalence.verdict()}" if report.equivalence is not None else ""
    if low > 0:
        return (f"{interval} lies above 0: on this data the model's interactions add at least "
                f"{low:+.3f} to the score.{tost_part}")
    if high < 0:
        return f"{interval} lies below 0: the additive projection scores higher than the model.{tost_part}"
    if report.equivalence is None:
        return (f"{interval} contains 0: the data show no gain from interactions. That is not evidence that "
                "none is needed: fix a margin before looking and test equivalence "
                "(gk.emap_report(..., margin=m) or gk.analysis.equivalence_test).")
    return f"{interval} contains 0: the data show no gain from interactions.{tost_part}"
