"""The numbers the labs show, computed here so that no widget does arithmetic on logits.

- :func:`emap_from_marginals`: EMAP's formula on (possibly estimated) marginals, also for the
  reshuffled pairs ``(t_i, v_perm[i])``.
- :func:`recall_at_k`: retrieval recall@k of a text x image score matrix.
- :func:`accuracy_by_type`: VQA accuracy per question type with the chance level of each type
  (shared by the rebalancing lab and ``models.training.evaluate_vqa``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from grounding_kit.core.validation import check_consistent_length, check_positive_int, describe


def _as_2d(name: str, values: Any) -> np.ndarray:
    array = values.detach().cpu().numpy() if hasattr(values, "detach") else np.asarray(values)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a numeric array, got {describe(values)}")
    array = array.astype(np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (N, C), got {describe(values)}")
    return array


def _as_perm(perm: Any, n: int) -> np.ndarray:
    if perm is None:
        return np.arange(n)
    perm = np.asarray(perm)
    if perm.dtype.kind not in "iu" or perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        raise ValueError(f"perm must be a permutation of range({n}) (shape ({n},), integers), got {describe(perm)}")
    return perm


def emap_from_marginals(text_marginal: Any, image_marginal: Any, grand_mean: Any = None,
                        perm: Any = None) -> np.ndarray:
    """EMAP's prediction from the two marginals: ``text_marginal[i] + image_marginal[perm[i]] - grand_mean``.

    Parameters
    ----------
    text_marginal : (N, C), ``mean_j f(t_i, v_j)`` (exact, or a running reshuffle average)
    image_marginal : (N, C), ``mean_j f(t_j, v_i)``
    grand_mean : (C,); None uses ``text_marginal.mean(axis=0)``, which equals the grand mean
        when the marginals are exact
    perm : (N,) permutation; EMAP of the pairs ``(t_i, v_perm[i])`` (None: the true pairs)

    Returns
    -------
    (N, C) float64: the additive projection of each (possibly reshuffled) pair.

    Raises
    ------
    TypeError
        Non-numeric marginals.
    ValueError
        Marginals of different shapes, a ``grand_mean`` of the wrong shape, ``perm`` not a permutation.
    """
    rows, cols = _as_2d("text_marginal", text_marginal), _as_2d("image_marginal", image_marginal)
    if rows.shape != cols.shape:
        raise ValueError(f"text_marginal and image_marginal must have the same shape (N, C), got "
                         f"{rows.shape} and {cols.shape}")
    grand = rows.mean(axis=0) if grand_mean is None else np.asarray(grand_mean, dtype=np.float64).reshape(-1)
    if grand.shape != (rows.shape[1],):
        raise ValueError(f"grand_mean must have shape ({rows.shape[1]},), got {describe(grand_mean)}")
    return rows + cols[_as_perm(perm, len(rows))] - grand


def recall_at_k(scores: Any, k: int = 1, targets: Any = None) -> float:
    """Retrieval recall@k: the share of rows whose target column is among the row's ``k`` best.

    Parameters
    ----------
    scores : (Nq, Ng) with ``scores[i, j]`` the score of gallery item j for query i (e.g. CLIP's
        ``similarity(texts, images)``: text -> image retrieval; pass ``scores.T`` for image -> text)
    k : how many of the best-scored gallery items count as retrieved (1 <= k <= Ng)
    targets : (Nq,) the correct gallery index of each query (None: query i's target is item i)

    Returns
    -------
    float in [0, 1]. Ties are broken by index, as ``argmax`` and a stable sort do: at k = 1 this is
    ``mean(scores.argmax(axis=1) == targets)``.

    Raises
    ------
    TypeError
        Non-numeric scores, ``k`` not an int.
    ValueError
        ``k`` outside [1, Ng], ``targets`` not (Nq,) gallery indices, no rows.
    """
    matrix = _as_2d("scores", scores)
    n_query, n_gallery = matrix.shape
    k = check_positive_int("k", k)
    if k > n_gallery:
        raise ValueError(f"k={k} is larger than the gallery ({n_gallery} items)")
    target = np.arange(n_query) if targets is None else np.asarray(targets)
    if target.dtype.kind not in "iu" or target.shape != (n_query,) or (len(target) and
                                                                       (target.min() < 0 or target.max() >= n_gallery)):
        raise ValueError(f"targets must be ({n_query},) gallery indices in [0, {n_gallery}), got {describe(targets)}")
    if n_query == 0:
        raise ValueError("scores has no rows (queries)")
    own = matrix[np.arange(n_query), target]
    columns = np.arange(n_gallery)[None, :]
    better = ((matrix > own[:, None]) | ((matrix == own[:, None]) & (columns < target[:, None]))).sum(axis=1)
    return float((better < k).mean())


def accuracy_by_type(answers: Sequence[str], predicted: Sequence[str], question_types: Sequence[str],
                     answers_by_type: Mapping[str, Sequence[str]] | None = None) -> dict[str, dict[str, float]]:
    """VQA accuracy per question type, with the chance level of each type.

    Parameters
    ----------
    answers : (N,) the true answers (the labels: first, as in every metric of the kit)
    predicted : (N,) the model's answers
    question_types : (N,) the type of each question
    answers_by_type : the possible answers of each type (default: the grounding world's,
        ``world.vqa.ANSWERS_BY_TYPE``); chance for a type is ``1 / len(answers_by_type[type])``,
        a uniform guess among its answers

    Returns
    -------
    dict: for each type present (sorted) and ``"all"``, ``{"accuracy", "chance", "n"}``; the
    chance of ``"all"`` is the mean chance of its questions.

    Raises
    ------
    ValueError
        Lengths that differ, no question, or a question type without an answer list.
    """
    check_consistent_length(answers=answers, predicted=predicted, question_types=question_types)
    if len(answers) == 0:
        raise ValueError("accuracy_by_type needs at least one question")
    if answers_by_type is None:
        from grounding_kit.world.vqa import ANSWERS_BY_TYPE as answers_by_type
    types = np.asarray(question_types, dtype=object)
    unknown = sorted(set(types) - set(answers_by_type))
    if unknown:
        raise ValueError(f"question types {unknown} have no answer list in answers_by_type "
                         f"(known: {sorted(answers_by_type)})")
    correct = np.array([p == a for p, a in zip(predicted, answers)], dtype=float)
    chance = np.array([1.0 / len(answers_by_type[t]) for t in types])
    out = {str(t): {"accuracy": float(correct[types == t].mean()), "chance": float(chance[types == t][0]),
                    "n": int((types == t).sum())} for t in sorted(set(types))}
    out["all"] = {"accuracy": float(correct.mean()), "chance": float(chance.mean()), "n": len(correct)}
    return out
