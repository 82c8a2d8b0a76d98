"""Linear probes: how much of a known property a set of frozen features makes linearly readable.

A probe answers a question about the *features*, not about a head trained on them: if a
cross-validated logistic regression cannot read the property off the features, no head that
starts with a linear layer on them will use it well either.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from grounding_kit.core.validation import check_consistent_length, check_positive_int, seed_int


@dataclass(frozen=True)
class ProbeResult:
    """Cross-validated accuracy of a linear probe.

    Attributes
    ----------
    accuracy : mean held-out accuracy over the folds
    chance : accuracy of always answering the most frequent value (the probe's floor)
    folds : number of stratified folds
    classes : number of distinct target values
    """

    accuracy: float
    chance: float
    folds: int
    classes: int


def linear_probe(features: Any, targets: Any, folds: int = 5, seed: int = 0) -> ProbeResult:
    """Held-out accuracy of a logistic regression that reads ``targets`` off ``features``.

    Parameters
    ----------
    features : (N, D) array or tensor, e.g. ``Features.text`` of ``gk.embed``
    targets : (N,) the property to read (class labels; strings, ints or bools)
    folds : stratified folds (each target value needs at least ``folds`` examples)
    seed : seed of the fold shuffle

    Returns
    -------
    ProbeResult with the mean held-out accuracy and the majority-class chance level.

    Raises
    ------
    ValueError
        Features not (N, D), targets not (N,), inconsistent lengths, ``folds`` < 2, a single target value, or a value rarer than ``folds``.
    TypeError
        ``folds`` not an int or a bad seed type.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    if hasattr(features, "detach"):
        features = features.detach().cpu().numpy()
    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {X.shape}")
    y = np.asarray(targets)
    if y.ndim != 1:
        raise ValueError(f"targets must be (N,), got shape {y.shape}")
    check_consistent_length(features=X, targets=y)
    folds = check_positive_int("folds", folds, minimum=2)
    counts = Counter(y.tolist())
    if len(counts) < 2:
        raise ValueError(f"targets has a single value ({next(iter(counts))!r}); a probe needs at least two")
    rarest, fewest = min(counts.items(), key=lambda kv: kv[1])
    if fewest < folds:
        raise ValueError(f"targets value {rarest!r} occurs {fewest} times, fewer than folds={folds}")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed_int(seed))
    scores = cross_val_score(LogisticRegression(max_iter=2000), X, y, cv=splitter)
    return ProbeResult(accuracy=float(scores.mean()), chance=max(counts.values()) / len(y), folds=folds,
                       classes=len(counts))
