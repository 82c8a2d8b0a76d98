"""Modality Shapley values, Shapley interaction indices and MM-SHAP: properties of a MODEL.

The players are the M modalities of one item. A coalition ``S`` keeps item i's own inputs for the
modalities in ``S``; every absent modality is marginalised over its empirical distribution, the
modalities independently (the product of the empirical marginals, the distribution EMAP projects
on). On a grid ``P[i1, ..., iM] = f(x1_i1, ..., xM_iM)`` (shape ``(N,)*M`` or ``(N,)*M + (C,)``, axis m
for modality m) the value of coalition ``S`` for item i is

    v_i(S) = mean of P over the axes not in S, read at index i on every axis in S

so ``v_i({}) `` is the grand mean and ``v_i(all)`` the model's own prediction ``P[i, ..., i]``.

- **Shapley value** of modality m (Shapley 1953; per item, as SHAP does, Lundberg & Lee 2017):
  ``phi_m = sum_{S not containing m} |S|! (M - |S| - 1)! / M! [v(S + m) - v(S)]``; the values add
  up to ``v(all) - v({})`` (efficiency).
- **Shapley interaction index** of modalities a and b (Grabisch & Roubens 1999):
  ``I_ab = sum_{S not containing a, b} |S|! (M - |S| - 2)! / (M - 1)! [v(S+a+b) - v(S+a) - v(S+b) + v(S)]``.
  InterSHAP (Wenderoth, Hemker, Simidjievski & Jamnik, "Measuring Cross-Modal Interactions in
  Multimodal Models", arXiv 2412.15828, 2024) builds its cross-modal interaction score from this
  index with each modality one player, as here; :func:`interaction_score` gives the share of the
  interaction terms in the absolute Shapley interaction values (the index split in halves between
  (a, b) and (b, a) off the diagonal, main effects on it, as in Lundberg et al.'s SHAP interaction
  values, 2020), a ratio of sums over items. It is InterSHAP-STYLE, not InterSHAP's own number: the
  authors' package (github.com/LauraWenderoth/intershap-python, ``Explainer``) replaces an absent
  modality by its mean input (here: averaged over its observed values), counts each pair's
  interaction value once and averages per-item ratios. Both are 0 for an additive model.
- **MM-SHAP** (Parcalabescu & Frank, "MM-SHAP: A Performance-agnostic Metric for Measuring
  Multimodal Contributions in Vision and Language Models & Tasks", ACL 2023): each modality's share
  ``|phi_m| / sum_k |phi_k|`` of the prediction, averaged over items. Parcalabescu & Frank take every
  text token and image patch as a player and sum the absolute Shapley values of each modality's
  players; here each modality is ONE player, the coarsest version of the same share (its value need
  not equal theirs).

**Two modalities and the functional-ANOVA decomposition** (``grounding_kit.analysis.decompose``):
with rows r_i = mean_j P[i, j], columns c_j = mean_i P[i, j] and grand mean g, ``decompose`` writes
``P[i, j] = g + (r_i - g) + (c_j - g) + A[i, j]`` with the interaction ``A[i, j] = P[i, j] - r_i - c_j + g``.
For item i the four coalition values are ``v({}) = g``, ``v({text}) = r_i``, ``v({image}) = c_i``,
``v({text, image}) = P[i, i]``. With M = 2 the interaction index has one term (S = {}, weight
0! 0! / 1! = 1):

    I_i = v({t, v}) - v({t}) - v({v}) + v({}) = P[i, i] - r_i - c_i + g = A[i, i]

the ANOVA interaction at the item's own cell (the diagonal of ``decompose(P).interaction``), and
the Shapley values split it evenly:

    phi_text,i  = 1/2 [(r_i - g) + (P[i, i] - c_i)] = text_effect[i]  + A[i, i] / 2
    phi_image,i = 1/2 [(c_i - g) + (P[i, i] - r_i)] = image_effect[i] + A[i, i] / 2

So an additive model (A = 0) has interaction index 0 on every item and Shapley values equal to its
ANOVA main effects, and ``P[i, i] - I_i`` is EMAP's prediction ``emap(P)[i]``. The index reads A on
the diagonal only, the observed pairs, while ``interaction_share`` weighs A over all N x N cells:
``mean_i I_i^2`` estimates the interaction's variance only when the diagonal cells are typical of
the grid (tests/test_analysis_shapley.py checks both identities).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np

from grounding_kit.core.validation import check_positive_int, describe

__all__ = ["ModalityShapley", "coalition_values", "interaction_matrix", "interaction_score", "mm_shap", "modality_shapley"]


def check_modality_grid(P: Any, modalities: int = 2, name: str = "P") -> np.ndarray:
    """A float64 grid of shape ``(N,)*M`` or ``(N,)*M + (C,)`` (the M-modality convention).

    Raises
    ------
    TypeError
        ``P`` is not a numeric array (numpy or torch).
    ValueError
        ``modalities`` < 2, a shape that is not ``(N,)*M`` or ``(N,)*M + (C,)``, N < 2, or
        non-finite entries.
    """
    modalities = check_positive_int("modalities", modalities, minimum=2)
    if hasattr(P, "detach"):
        P = P.detach().cpu().numpy()
    try:
        grid = np.asarray(P, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric grid, got {describe(P)}") from err
    shape = grid.shape
    if grid.ndim not in (modalities, modalities + 1) or len(set(shape[:modalities])) != 1:
        raise ValueError(f"{name} must have shape (N,)*{modalities} or (N,)*{modalities} + (C,) with "
                         f"{name}[i1, ..., i{modalities}] = f(x1_i1, ..., x{modalities}_i{modalities}), "
                         f"got shape {shape} (modalities={modalities})")
    if shape[0] < 2:
        raise ValueError(f"{name} needs N >= 2 items per modality, got shape {shape}")
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} holds non-finite values (NaN or inf)")
    return grid


def coalition_values(P: Any, modalities: int = 2) -> dict[frozenset, np.ndarray]:
    """``v(S)`` for every coalition S of modalities, each (N,) or (N, C) (item i's value).

    Absent modalities are averaged over all N of their values (the product of the empirical
    marginals); present ones are read at the item's own index.
    """
    grid = check_modality_grid(P, modalities)
    n = grid.shape[0]
    index = np.arange(n)
    rest = grid.shape[modalities:]
    values: dict[frozenset, np.ndarray] = {}
    for size in range(modalities + 1):
        for coalition in combinations(range(modalities), size):
            absent = tuple(m for m in range(modalities) if m not in coalition)
            mean = grid.mean(axis=absent) if absent else grid
            values[frozenset(coalition)] = (np.broadcast_to(mean, (n,) + rest).copy() if not coalition
                                            else mean[(index,) * size])
    return values


@dataclass(frozen=True)
class ModalityShapley:
    """Per-item Shapley attributions of a model's output to its M modalities.

    Attributes
    ----------
    values : (N, M) or (N, M, C): ``values[i, m]`` is modality m's Shapley value for item i.
    interactions : (N, M, M) or (N, M, M, C): ``interactions[i, a, b]`` the Shapley interaction
        index of modalities a and b for item i (symmetric, 0 on the diagonal).
    baseline : (N,) or (N, C): ``v({})``, the grand mean (of the output attributed for item i).
    prediction : (N,) or (N, C): ``v(all)``, the model's output on item i's own inputs;
        ``values.sum(1) == prediction - baseline`` (efficiency).
    """

    values: np.ndarray
    interactions: np.ndarray
    baseline: np.ndarray
    prediction: np.ndarray

    @property
    def modalities(self) -> int:
        """M, the number of modalities."""
        return int(self.values.shape[1])


def modality_shapley(P: Any, modalities: int = 2, *, target: str | int | None = "predicted") -> ModalityShapley:
    """Shapley values and pairwise Shapley interaction indices of the M modalities, per item.

    Parameters
    ----------
    P : grid of shape ``(N,)*M`` or ``(N,)*M + (C,)``, ``P[i1, ..., iM] = f(x1_i1, ..., xM_iM)``
        (two modalities: rows are texts, columns are images, ``P[i, j] = f(t_i, v_j)``).
    modalities : M (default 2).
    target : which output to attribute when P has a class axis. "predicted" (default): for item i
        the centred logit ``z_c - mean_k z_k`` of the class c the model predicts on the item's own
        inputs (centring removes the part of a logit that the softmax ignores); an int: that
        class's centred logit for every item; None: every logit, keeping the class axis.

    Returns
    -------
    ModalityShapley (float64 numpy arrays).

    Raises
    ------
    TypeError
        ``P`` is not numeric.
    ValueError
        a grid that does not follow the M-modality convention, or an invalid ``target``.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.add.outer([0.0, 2.0], [0.0, 1.0])      # additive: f(t, v) = a(t) + b(v)
    >>> s = modality_shapley(P)
    >>> s.values.tolist(), s.interactions[:, 0, 1].tolist()
    ([[-1.0, -0.5], [1.0, 0.5]], [0.0, 0.0])
    """
    grid = check_modality_grid(P, modalities)
    chosen = _target_classes(grid, modalities, target)
    if chosen is not None:  # centred logits; the value functions are linear, so attribute every class
        grid = grid - grid.mean(axis=-1, keepdims=True)  # and keep each item's chosen class at the end
    v = coalition_values(grid, modalities)
    players = range(modalities)
    n = grid.shape[0]
    rest = grid.shape[modalities:]
    values = np.zeros((n, modalities) + rest)
    interactions = np.zeros((n, modalities, modalities) + rest)
    for m in players:
        others = [k for k in players if k != m]
        for size in range(modalities):
            weight = factorial(size) * factorial(modalities - size - 1) / factorial(modalities)
            for s in combinations(others, size):
                values[:, m] += weight * (v[frozenset(s) | {m}] - v[frozenset(s)])
    for a, b in combinations(players, 2):
        others = [k for k in players if k not in (a, b)]
        total = np.zeros((n,) + rest)
        for size in range(modalities - 1):
            weight = factorial(size) * factorial(modalities - size - 2) / factorial(modalities - 1)
            for s in combinations(others, size):
                s = frozenset(s)
                total += weight * (v[s | {a, b}] - v[s | {a}] - v[s | {b}] + v[s])
        interactions[:, a, b] = interactions[:, b, a] = total
    baseline, prediction = v[frozenset()], v[frozenset(players)]
    if chosen is not None:
        def pick(x: np.ndarray) -> np.ndarray:  # item i keeps its own class's attribution
            return np.take_along_axis(x, chosen.reshape((n,) + (1,) * (x.ndim - 1)), axis=-1)[..., 0]

        values, interactions, baseline, prediction = (pick(x) for x in (values, interactions, baseline, prediction))
    return ModalityShapley(values=values, interactions=interactions, baseline=baseline, prediction=prediction)


def _target_classes(grid: np.ndarray, modalities: int, target: str | int | None) -> np.ndarray | None:
    """(N,) class attributed for each item, or None to keep every output."""
    if grid.ndim == modalities or target is None:
        return None
    classes = grid.shape[-1]
    n = grid.shape[0]
    if isinstance(target, str):
        if target != "predicted":
            raise ValueError(f"target must be 'predicted', a class index or None, got {target!r}")
        return grid[(np.arange(n),) * modalities].argmax(axis=-1)  # the class predicted on item i's own inputs
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and 0 <= target < classes:
        return np.full(n, int(target))
    raise ValueError(f"target must be 'predicted', a class index in [0, {classes}) or None, got {target!r}")


def _as_shapley(P: Any, modalities: int, target: str | int | None) -> ModalityShapley:
    return P if isinstance(P, ModalityShapley) else modality_shapley(P, modalities, target=target)


def mm_shap(P: Any, modalities: int = 2, *, target: str | int | None = "predicted") -> np.ndarray:
    """Each modality's share of each item's prediction (MM-SHAP, Parcalabescu & Frank 2023, with each
    modality one player rather than their tokens and patches; module docstring).

    ``share[i, m] = |phi_m(i)| / sum_k |phi_k(i)|``; Parcalabescu & Frank report the mean over
    items (``share.mean(0)``; for two modalities their T-SHAP and V-SHAP, which add up to 1).

    Parameters
    ----------
    P : an M-modality grid (see :func:`modality_shapley`) or a ``ModalityShapley`` already computed.
    modalities, target : as for :func:`modality_shapley` (ignored for a ``ModalityShapley``).

    Returns
    -------
    (N, M) shares, each row summing to 1 (an item whose Shapley values are all 0 gets 1/M each).

    Raises
    ------
    TypeError, ValueError
        as :func:`modality_shapley`; and a class axis kept (``target=None``), where a share is undefined.
    """
    s = _as_shapley(P, modalities, target)
    if s.values.ndim != 2:
        raise ValueError("mm_shap needs one output per item: pass target='predicted' or a class index, not None")
    magnitude = np.abs(s.values)
    total = magnitude.sum(1, keepdims=True)
    return np.divide(magnitude, total, out=np.full_like(magnitude, 1.0 / s.modalities), where=total > 0)


def interaction_matrix(s: ModalityShapley) -> np.ndarray:
    """(N, M, M) Shapley interaction values: the index split in halves off the diagonal
    (``I_ab / 2`` at (a, b) and (b, a)) and main effects ``phi_a - sum_b I_ab / 2`` on it, so each
    item's matrix adds up to ``prediction - baseline`` (Lundberg et al.'s SHAP interaction values)."""
    if s.values.ndim != 2:
        raise ValueError("interaction values need one output per item: target='predicted' or a class index")
    half = s.interactions / 2
    matrix = half.copy()
    m = s.modalities
    matrix[:, np.arange(m), np.arange(m)] = s.values - half.sum(2)
    return matrix


def interaction_score(P: Any, modalities: int = 2, *, target: str | int | None = "predicted",
                      per_item: bool = False) -> Any:
    """Share of cross-modal interactions in a model's behaviour (InterSHAP-style: each modality one
    player; how it differs from the authors' InterSHAP package is in the module docstring).

    ``sum |off-diagonal interaction values| / sum |all interaction values|`` of
    :func:`interaction_matrix`, summed over items (``per_item=False``: one number in [0, 1]) or per
    item ((N,) array). 0 for an additive model; 1 for a pure interaction such as XOR with
    balanced inputs.

    Raises
    ------
    TypeError, ValueError
        as :func:`modality_shapley`.
    """
    matrix = np.abs(interaction_matrix(_as_shapley(P, modalities, target)))
    m = matrix.shape[1]
    off = matrix.sum((1, 2)) - matrix[:, np.arange(m), np.arange(m)].sum(1)
    total = matrix.sum((1, 2))
    if per_item:
        return np.divide(off, total, out=np.zeros_like(off), where=total > 0)
    return float(off.sum() / total.sum()) if total.sum() > 0 else 0.0
