"""Is the model's gain over its EMAP within a margin? An equivalence test (two one-sided tests).

A difference interval that contains 0 does not show that a model needs no interactions: it only
fails to show that it does. The claim "model minus EMAP lies within +-margin" is tested by
Schuirmann's two one-sided tests (TOST, 1987), with the margin fixed before looking at the data:
``H0-: difference <= -margin`` and ``H0+: difference >= +margin`` are each tested one-sided at
``alpha`` on the paired per-item score differences (``scipy.stats.ttest_1samp``); equivalence is
shown when both are rejected, i.e. when the ``1 - 2 * alpha`` interval of the mean difference lies
inside (-margin, +margin).

What the test holds fixed: the items are the sample, the model and its projection are fixed (as in
``emap_report(..., bootstrap="items")``). The error of re-estimating the marginals and the spread
over training seeds are not in it; see ``emap_report(..., bootstrap="refit")`` and
``cross_validate_emap`` for those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from grounding_kit.core.validation import check_consistent_length, check_fraction, check_labels, describe
from grounding_kit.models.contract import ModelOrGrid
from grounding_kit.models.features import Features
from grounding_kit.analysis.grid_model import as_pair_model
from grounding_kit.analysis.metrics import get_metric
from grounding_kit.analysis.model_emap import emap_model
from grounding_kit.analysis.pairs import check_features


@dataclass(frozen=True)
class EquivalenceResult:
    """A TOST of "the mean paired difference lies within +-margin".

    Attributes
    ----------
    difference : mean of the paired differences (model minus EMAP, per item)
    stderr : its standard error (sample standard deviation / sqrt(N))
    margin : the equivalence margin, fixed by the caller before looking
    alpha : level of each one-sided test
    p_lower : p-value of ``H0: difference <= -margin`` (one-sided t-test, alternative "greater")
    p_upper : p-value of ``H0: difference >= +margin`` (one-sided t-test, alternative "less")
    p_value : ``max(p_lower, p_upper)``, the TOST p-value
    equivalent : ``p_value < alpha``: the difference is shown to lie within +-margin
    ci_low, ci_high : the ``1 - 2 * alpha`` t interval of the difference (inside +-margin iff equivalent)
    n : number of items
    """

    difference: float
    stderr: float
    margin: float
    alpha: float
    p_lower: float
    p_upper: float
    p_value: float
    equivalent: bool
    ci_low: float
    ci_high: float
    n: int

    def verdict(self) -> str:
        """One sentence: equivalent within +-margin or not, with the two p-values."""
        test = (f"TOST at margin +-{self.margin:.3g}: p = {self.p_lower:.3g} (difference <= -margin), "
                f"{self.p_upper:.3g} (difference >= +margin); {1 - 2 * self.alpha:.0%} interval "
                f"[{self.ci_low:+.3f}, {self.ci_high:+.3f}]")
        if self.equivalent:
            return f"{test}: within +-{self.margin:.3g}, equivalence shown at level {self.alpha:g}."
        return f"{test}: equivalence within +-{self.margin:.3g} is not shown."


def _check_margin(margin: Any) -> float:
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.integer, np.floating)):
        raise TypeError(f"margin must be a positive number fixed before looking at the data, got {describe(margin)}")
    if not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a positive finite number, got {margin}")
    return float(margin)


def tost(differences: Any, margin: float, alpha: float = 0.05) -> EquivalenceResult:
    """Two one-sided t-tests that the mean of paired ``differences`` lies within ``+-margin``.

    Parameters
    ----------
    differences : (N,) paired per-item differences (e.g. per-item accuracy of the model minus of
        its EMAP), N >= 2
    margin : the equivalence margin (> 0), fixed before looking at the data
    alpha : level of each one-sided test, in (0, 0.5)

    Returns
    -------
    EquivalenceResult

    Raises
    ------
    TypeError
        ``margin`` or ``alpha`` is not a number, ``differences`` not numeric.
    ValueError
        ``margin`` <= 0, ``alpha`` outside (0, 0.5), fewer than 2 differences or non-finite ones.
    """
    margin = _check_margin(margin)
    alpha = check_fraction("alpha", alpha, low=0.0, high=0.5)
    if alpha in (0.0, 0.5):
        raise ValueError(f"alpha must lie strictly between 0 and 0.5, got {alpha}")
    d = np.asarray(differences)
    if d.dtype.kind not in "biuf" or d.ndim != 1:
        raise TypeError(f"differences must be a (N,) array of numbers, got {describe(differences)}")
    d = d.astype(np.float64)
    if len(d) < 2 or not np.isfinite(d).all():
        raise ValueError(f"differences must hold N >= 2 finite values, got {describe(d)}")
    n, mean = len(d), float(d.mean())
    stderr = float(d.std(ddof=1) / math.sqrt(n))
    if stderr == 0.0:  # every item differs by the same amount: the tests are decided by the mean alone
        p_lower, p_upper, half = float(mean <= -margin), float(mean >= margin), 0.0
    else:
        p_lower = float(stats.ttest_1samp(d, -margin, alternative="greater").pvalue)
        p_upper = float(stats.ttest_1samp(d, margin, alternative="less").pvalue)
        half = float(stats.t.ppf(1 - alpha, n - 1)) * stderr
    p_value = max(p_lower, p_upper)
    return EquivalenceResult(difference=mean, stderr=stderr, margin=margin, alpha=alpha, p_lower=p_lower,
                             p_upper=p_upper, p_value=p_value, equivalent=p_value < alpha,
                             ci_low=mean - half, ci_high=mean + half, n=n)


def equivalence_test(labels: Any, model: ModelOrGrid, feats: Features | None = None, *, margin: float,
                     metric: str = "accuracy", alpha: float = 0.05, partners: int | None = None, seed: int | None = 0,
                     batch_size: int | None = None, device: Any = None) -> EquivalenceResult:
    """TOST of "model minus EMAP lies within +-margin" on a per-item metric.

    Parameters
    ----------
    labels : (N,) class indices or (N, C) label rows (as for ``emap_report``)
    model : pair model, ``GridModel`` or (N, N, C) grid (as for ``emap_report``)
    feats : Features of N pairs (None for a grid)
    margin : the largest difference in ``metric`` (model minus EMAP) that counts as "no gain from
        interactions" (e.g. 0.02 accuracy), fixed before looking at the data
    metric : a per-item metric: "accuracy" or "vqa_soft_accuracy"
    alpha : level of each one-sided test
    partners, seed, batch_size, device : as for ``emap_model`` (Monte Carlo EMAP with partners=K;
        its Monte Carlo error is not in the test: prefer the exact projection)

    Returns
    -------
    EquivalenceResult: ``difference`` (model minus EMAP), the two one-sided p-values, ``equivalent``.

    Raises
    ------
    TypeError
        Arguments in an old order (labels not first), a non-numeric margin.
    ValueError
        A metric that is not a mean over items, ``margin`` <= 0, inconsistent lengths, bad labels.
    """
    y = check_labels(labels, call="equivalence_test(labels, model, feats, margin=...)")
    margin = _check_margin(margin)
    per_item = get_metric(metric).per_item
    if per_item is None:
        raise ValueError(f"metric={metric!r} is not a mean over items, so it has no paired per-item differences; "
                         "use 'accuracy' or 'vqa_soft_accuracy'")
    model, feats = as_pair_model(model, feats)
    check_consistent_length(labels=y, pairs=range(len(check_features(feats))))
    est = emap_model(model, feats, partners=partners, seed=seed, batch_size=batch_size, device=device)
    differences = per_item(y, est.diagonal.numpy()) - per_item(y, est.projection.numpy())
    return tost(differences, margin, alpha)
