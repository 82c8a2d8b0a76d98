"""Scores of (N, C) logits against labels: the metrics of Hessel & Lee's tasks plus VQA's.

Every metric is ``metric(labels, logits) -> float`` (higher is better). Metrics that are a mean
of per-item scores (accuracy, VQA soft accuracy) also have a per-item form, which makes
bootstraps and exact perceptual scores cheap.

Labels are class indices (N,), or (N, C) one-hot / soft / multi-hot rows; for VQA soft accuracy,
(N, C) answer counts (ints: how many of the annotators gave each answer) or soft scores in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from grounding_kit.core.validation import (check_choice, check_consistent_length, check_finite, check_labels,
                                           check_labels_in_range, check_sum_fits, describe)
from grounding_kit.analysis.grids import to_float64


def as_logits(logits: Any, name: str = "logits") -> np.ndarray:
    """Logits as float64 numpy of shape (N, C) ((N,) becomes (N, 1))."""
    values = to_float64(name, logits)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"{name} must have shape (N, C), got {describe(logits)}")
    check_finite(name, values)
    check_sum_fits(name, values, 2)  # margins logit[1] - logit[0] must stay finite
    return values


def predicted_class(logits: np.ndarray) -> np.ndarray:
    """argmax over classes; for a single logit column, 1 where the logit is positive."""
    return (logits[:, 0] > 0).astype(int) if logits.shape[1] == 1 else logits.argmax(axis=1)


def class_indices(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """(N,) class indices from (N,) indices or (N, C) one-hot / soft rows (their argmax).

    With ``n_classes``, (N,) indices outside ``0 .. n_classes - 1`` raise ``ValueError``: a label
    the model cannot predict would otherwise be scored silently as a miss.
    """
    if labels.ndim == 2:
        return labels.argmax(axis=1)
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise TypeError(f"class labels must be integers, got non-integer floats ({describe(labels)})")
    if n_classes is not None:
        check_labels_in_range(labels, n_classes)
    return labels.astype(int)


def n_classes_of(logits: np.ndarray) -> int:
    """Classes a (N, C) logit array predicts: C, or 2 for a single logit column (positive = class 1)."""
    return max(2, logits.shape[1])


def _checked(labels: Any, logits: Any, call: str = "metric(labels, logits)") -> tuple[np.ndarray, np.ndarray]:
    """Labels (checked by ``check_labels``) and (N, C) float64 logits of one metric call.

    Logits given first (float (N, C)) with integer labels second is the swapped order: refused by name.
    """
    if (getattr(logits, "ndim", None) == 1 and getattr(labels, "ndim", None) == 2
            and str(getattr(logits, "dtype", "")).replace("torch.", "").startswith(("int", "uint", "bool"))
            and str(getattr(labels, "dtype", "")).replace("torch.", "").startswith("float")):
        raise TypeError(f"got float (N, C) logits where labels go and integer labels where logits go; "
                        f"the argument order is {call}: labels first")
    y, z = check_labels(labels, call=call), as_logits(logits)
    check_consistent_length(labels=y, logits=z)
    if y.ndim == 2 and y.shape[1] != z.shape[1]:
        raise ValueError(f"labels has {y.shape[1]} columns but logits has {z.shape[1]} classes; "
                         f"expected (N, C) labels matching (N, C) logits")
    return y, z


def accuracy_per_item(labels: Any, logits: Any) -> np.ndarray:
    """1.0 where the predicted class is the label's class, else 0.0; shape (N,)."""
    y, z = _checked(labels, logits, "accuracy(labels, logits)")
    return (predicted_class(z) == class_indices(y, n_classes_of(z))).astype(float)


def vqa_soft_scores(labels: np.ndarray) -> np.ndarray:
    """VQA answer scores min(#annotators who gave the answer / 3, 1) from counts, or soft scores as is."""
    if labels.dtype.kind in "iub":
        return np.minimum(labels / 3.0, 1.0)
    if labels.min() < 0 or labels.max() > 1:
        raise ValueError(f"float VQA labels must be soft scores in [0, 1] (or pass integer answer counts), "
                         f"got values in [{labels.min()}, {labels.max()}]")
    return labels.astype(float)


def vqa_soft_accuracy_per_item(labels: Any, logits: Any) -> np.ndarray:
    """VQA accuracy of each item's top answer: min(#annotators who gave it / 3, 1); shape (N,)."""
    y, z = _checked(labels, logits, "vqa_soft_accuracy(labels, logits)")
    if y.ndim == 1:
        return (predicted_class(z) == class_indices(y, n_classes_of(z))).astype(float)
    return vqa_soft_scores(y)[np.arange(len(y)), predicted_class(z)]


def accuracy(labels: Any, logits: Any) -> float:
    """Fraction of items whose predicted class is the labelled one.

    Raises
    ------
    TypeError
        Labels and logits in swapped order (named in the message), non-numeric labels or non-float logits.
    ValueError
        Inconsistent lengths, non-finite values, or class labels outside the logits' classes.
    """
    return float(accuracy_per_item(labels, logits).mean())


def vqa_soft_accuracy(labels: Any, logits: Any) -> float:
    """Mean VQA soft accuracy (Antol et al. 2015): min(#annotators who gave the top answer / 3, 1).

    Raises
    ------
    TypeError
        Swapped arguments, non-numeric labels or non-float logits.
    ValueError
        Inconsistent lengths or shapes, float labels outside [0, 1], labels outside the classes.
    """
    return float(vqa_soft_accuracy_per_item(labels, logits).mean())


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count 1/2); NaN without both classes."""
    from scipy.stats import rankdata

    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auc(labels: Any, logits: Any) -> float:
    """Macro-averaged one-vs-rest ROC AUC (binary: AUC of the positive-class margin).

    Multi-class: the mean over the classes present of the AUC of the class's softmax
    probability (scikit-learn's ``multi_class="ovr"``). (N, C) multi-hot labels: the mean over
    label columns with both positives and negatives. NaN when no class can be scored.

    Raises
    ------
    TypeError
        Swapped arguments, non-numeric labels or non-float logits.
    ValueError
        Inconsistent lengths or shapes, labels outside the classes.
    """
    y, z = _checked(labels, logits, "macro_auc(labels, logits)")
    if y.ndim == 2 and z.shape[1] > 1 and set(np.unique(y)) <= {0, 1} and (y.sum(1) != 1).any():
        aucs = [_binary_auc(y[:, c] == 1, z[:, c]) for c in range(z.shape[1])]
    else:
        classes = class_indices(y, n_classes_of(z))
        if z.shape[1] <= 2:
            return _binary_auc(classes == 1, z[:, 0] if z.shape[1] == 1 else z[:, 1] - z[:, 0])
        probs = _softmax(z)
        aucs = [_binary_auc(classes == c, probs[:, c]) for c in np.unique(classes)]
    aucs = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def weighted_f1(labels: Any, logits: Any) -> float:
    """F1 per class averaged with weights proportional to class support (scikit-learn's 'weighted').

    Raises
    ------
    TypeError
        Swapped arguments, non-numeric labels or non-float logits.
    ValueError
        Inconsistent lengths or shapes, labels outside the classes.
    """
    y, z = _checked(labels, logits, "weighted_f1(labels, logits)")
    truth, pred = class_indices(y, n_classes_of(z)), predicted_class(z)
    size = max(truth.max(), pred.max()) + 1
    true_pos = np.bincount(truth[truth == pred], minlength=size)
    support, predicted = np.bincount(truth, minlength=size), np.bincount(pred, minlength=size)
    denominator = support + predicted
    f1 = np.divide(2 * true_pos, denominator, out=np.zeros(size), where=denominator > 0)
    return float((f1 * support).sum() / support.sum())


def _tied_pairs(*columns: np.ndarray) -> int:
    """Number of item pairs equal in every column."""
    _, counts = np.unique(np.stack(columns, axis=1), axis=0, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_ranking_accuracy(labels: Any, logits: Any) -> float:
    """Fraction of item pairs with different targets that the scores order correctly (ties: 1/2).

    Labels are real targets (N,) (e.g. popularity); the score is the single logit, or the
    margin ``logit[1] - logit[0]`` for two columns. Computed in O(N log N) from Kendall's
    concordant-minus-discordant count; for binary targets it equals the ROC AUC.

    Raises
    ------
    TypeError
        Swapped arguments, non-numeric labels or non-float logits.
    ValueError
        Labels that are not (N,) targets, or logits with more than 2 columns.
    """
    from scipy.stats import kendalltau

    y, z = _checked(labels, logits, "pairwise_ranking_accuracy(labels, logits)")
    if y.ndim != 1 or z.shape[1] > 2:
        raise ValueError(f"pairwise_ranking needs (N,) targets and (N, 1) or (N, 2) logits, got labels "
                         f"{describe(y)} and logits {describe(z)}")
    s = z[:, 0] if z.shape[1] == 1 else z[:, 1] - z[:, 0]
    y = y.astype(float)
    n = len(y)
    total = n * (n - 1) // 2
    ties_s, ties_y, ties_both = _tied_pairs(s), _tied_pairs(y), _tied_pairs(s, y)
    untied_y = total - ties_y
    if untied_y == 0:
        return float("nan")
    tied_s_only = ties_s - ties_both
    if ties_s == total:
        return 0.5
    tau_b = kendalltau(s, y).statistic
    concordant_minus_discordant = tau_b * np.sqrt(float(total - ties_s) * float(total - ties_y))
    concordant = (untied_y - tied_s_only + concordant_minus_discordant) / 2
    return float((concordant + 0.5 * tied_s_only) / untied_y)


@dataclass(frozen=True)
class Metric:
    """A metric ``fn(labels, logits) -> float`` and, if it is a mean over items, its per-item form."""

    fn: Callable[[Any, Any], float]
    per_item: Callable[[Any, Any], np.ndarray] | None = None


METRICS: dict[str, Metric] = {
    "accuracy": Metric(accuracy, accuracy_per_item),
    "macro_auc": Metric(macro_auc),
    "weighted_f1": Metric(weighted_f1),
    "pairwise_ranking": Metric(pairwise_ranking_accuracy),
    "vqa_soft_accuracy": Metric(vqa_soft_accuracy, vqa_soft_accuracy_per_item),
}


def get_metric(metric: str | Callable[[Any, Any], float]) -> Metric:
    """The ``Metric`` named ``metric`` (one of ``METRICS``), or a callable wrapped as one."""
    if callable(metric):
        return Metric(metric)
    check_choice("metric", metric, list(METRICS))
    return METRICS[metric]


def score(metric: str | Callable[[Any, Any], float], labels: Any, logits: Any) -> float:
    """``metric`` (a name in ``METRICS`` or a callable) of (N, C) ``logits`` against ``labels``.

    Raises
    ------
    TypeError
        As the metric (swapped arguments, non-numeric labels, non-float logits).
    ValueError
        An unknown metric name, or bad labels / logits (see the metric).
    """
    return float(get_metric(metric).fn(labels, logits))


def check_scorable(metric: str | Callable[[Any, Any], float], labels: np.ndarray, value: float) -> None:
    """Refuse a metric that is undefined on ``labels`` (its score on them came back NaN).

    ``macro_auc`` needs two classes (a class with both positives and negatives), pairwise ranking
    two different targets: on single-class labels the score is undefined, and a table of NaN would
    hide that.

    Raises
    ------
    ValueError
        ``value`` is NaN; the message names the metric and the classes the labels hold.
    """
    if not np.isnan(value):
        return
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "custom")
    if labels.ndim == 1:
        found = np.unique(labels).tolist()
        what = f"they hold only the class(es) / target(s) {found[:10]}"
    else:
        what = f"none of their {labels.shape[1]} label columns holds both positives and negatives"
    raise ValueError(f"metric={name!r} is undefined on these labels: {what} (N={len(labels)}). It needs "
                     "at least two classes (two different targets); score these items with metric='accuracy', "
                     "or add items of another class")
