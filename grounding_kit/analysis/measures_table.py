"""One table of every interaction measure, each with its interval and what it describes.

"Does this task need cross-modal interactions?" is a question about the DATA; "does this model use
them?" is a question about a MODEL. The field answers them with different measures, and a student
who reads them side by side without knowing which is which will find contradictions where there are
none (on a synergistic task, an additive head trained by cross-entropy scores near chance: PID says
the data needs interactions, EMAP says the model uses none, and both are right).
:func:`interaction_table` puts them in one table, with a ``describes`` column.

===============================================  =========  ==============================================================================
measure                                          describes  the question it answers
===============================================  =========  ==============================================================================
PID redundancy                                   data       bits about the label that text and image each carry (BROJA, Liang et al. 2023)
PID unique text / image                          data       bits only the text (image) carries
PID synergy                                      data       bits only the two together carry: the interaction the task needs
accuracy                                         model      how often the model is right
EMAP accuracy                                    model      how often the model's additive projection is right (Hessel & Lee 2020)
accuracy - EMAP                                  model      accuracy the model owes to its interactions
interaction share                                model      share of the logit grid's variance no additive function explains
perceptual score (text)                          model      relative accuracy lost when the texts are permuted (Gat et al. 2021)
perceptual score (image)                         model      the same for the images
MM-SHAP text share (one player per modality)     model      the text's share of the prediction (after Parcalabescu & Frank 2023)
InterSHAP-style score (one player per modality)  model      share of cross-modal interaction in the Shapley interaction values
===============================================  =========  ==============================================================================

The two Shapley rows are computed with each modality as ONE player (:mod:`grounding_kit.analysis.shapley`),
an absent modality averaged over its N observed values:

- MM-SHAP (Parcalabescu & Frank, ACL 2023) takes every text token and every image patch as a player
  and sums the absolute Shapley values of each modality's players; one player per modality is the
  coarsest version of that share, and its value need not equal theirs.
- InterSHAP (Wenderoth, Hemker, Simidjievski & Jamnik, arXiv 2412.15828, 2024) also takes each
  modality as one player. The authors' package (github.com/LauraWenderoth/intershap-python,
  ``Explainer``) replaces an absent modality by its mean input, counts each pair's interaction value
  once and averages the per-item ratios; here an absent modality is averaged over its observed
  values, the interaction matrix is Lundberg et al.'s symmetric one and the ratio is taken of sums
  over items (:func:`~grounding_kit.analysis.shapley.interaction_score`). Both are 0 for an additive
  model; elsewhere their values need not agree, hence "InterSHAP-style".

Two modalities only: the PID (BROJA) is defined for two sources, and the perceptual scores,
accuracies and model evaluation here read ``Features.text`` and ``Features.image``. For M modalities
the kit has the model measures without the table: ``modality_shapley(P, M)``, ``mm_shap``,
``interaction_score``, ``decompose(P, modalities=M)`` and ``emap_multimodal`` on a list of M
feature arrays (``tuple_logits`` gives the grid).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from grounding_kit.core.validation import check_consistent_length, check_fraction, check_labels, check_positive_int, seed_int

DATA, MODEL = "data", "model"
#: the Shapley rows' labels: each modality is one player (module docstring)
MM_SHAP_TEXT = "MM-SHAP text share (one player per modality)"
INTERSHAP = "InterSHAP-style score (one player per modality)"
#: measure -> (describes, unit, the question it answers)
MEASURES: dict[str, tuple[str, str, str]] = {
    "PID redundancy": (DATA, "bits", "what text and image each tell about the label"),
    "PID unique text": (DATA, "bits", "what only the text tells"),
    "PID unique image": (DATA, "bits", "what only the image tells"),
    "PID synergy": (DATA, "bits", "what only text and image together tell"),
    "accuracy": (MODEL, "fraction", "how often the model is right"),
    "EMAP accuracy": (MODEL, "fraction", "how often its additive projection is right"),
    "accuracy - EMAP": (MODEL, "fraction", "accuracy the model owes to interactions"),
    "interaction share": (MODEL, "fraction", "share of logit variance that is interaction"),
    "perceptual score (text)": (MODEL, "fraction", "relative accuracy lost when texts are permuted"),
    "perceptual score (image)": (MODEL, "fraction", "relative accuracy lost when images are permuted"),
    MM_SHAP_TEXT: (MODEL, "fraction", "the text's share of the prediction"),
    INTERSHAP: (MODEL, "fraction", "share of cross-modal interaction in the prediction"),
}
COLUMNS = ["measure", "describes", "model", "value", "ci_low", "ci_high", "unit", "question"]


def _percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    return float(np.nanpercentile(values, tail)), float(np.nanpercentile(values, 100 - tail))


def _pid_rows(text: np.ndarray, image: np.ndarray, y: np.ndarray, clusters: int, n_boot: int, level: float,
              rng: np.random.Generator, seed: int) -> list[dict[str, Any]]:
    """The four PID parts of (text cluster, image cluster, label) with a bootstrap interval over pairs."""
    from grounding_kit.analysis.partial_information import discretize, pid

    codes_t, codes_v = discretize(text, clusters, seed, "text"), discretize(image, clusters, seed, "image")
    names = ("PID redundancy", "PID unique text", "PID unique image", "PID synergy")
    parts = lambda r: (r.redundancy, r.unique_1, r.unique_2, r.synergy)  # noqa: E731
    point = parts(pid(codes_t, codes_v, y))
    boot = np.array([parts(pid(codes_t[b], codes_v[b], y[b])) for b in rng.integers(0, len(y), (n_boot, len(y)))])
    return [_row(name, None, point[k], *_percentile_interval(boot[:, k], level)) for k, name in enumerate(names)]


def _row(measure: str, model: str | None, value: float, low: float, high: float) -> dict[str, Any]:
    describes, unit, question = MEASURES[measure]
    return {"measure": measure, "describes": describes, "model": "(the data)" if model is None else model,
            "value": float(value), "ci_low": float(low), "ci_high": float(high), "unit": unit, "question": question}


def _interaction_share(grid: np.ndarray) -> float:
    """Interaction share of the centred logits (the part the softmax sees), averaged over classes."""
    from grounding_kit.analysis.projection import decompose

    centred = grid - grid.mean(axis=-1, keepdims=True)
    return float(np.mean(decompose(centred).interaction_share))


def _model_rows(name: str, y: np.ndarray, grid: np.ndarray, rounds: int, n_boot: int, level: float,
                rng: np.random.Generator, seed: int, metric: str) -> list[dict[str, Any]]:
    from grounding_kit.analysis.perceptual import perceptual_score_interval
    from grounding_kit.analysis.report import emap_report
    from grounding_kit.analysis.shapley import interaction_matrix, mm_shap, modality_shapley

    report = emap_report(y, grid, metric=metric, n_boot=n_boot, seed=seed, level=level)
    rows = [_row("accuracy", name, *report.loc["full model", ["score", "ci_low", "ci_high"]]),
            _row("EMAP accuracy", name, *report.loc["EMAP", ["score", "ci_low", "ci_high"]]),
            _row("accuracy - EMAP", name, report.difference, *report.difference_ci)]
    n = len(y)
    resamples = rng.integers(0, n, (n_boot, n))
    shares = [_interaction_share(grid[b][:, b]) for b in resamples[: max(2, n_boot // 4)]]  # O(N^2) each
    rows.append(_row("interaction share", name, _interaction_share(grid), *_percentile_interval(np.array(shares), level)))
    for side, measure in (("text", "perceptual score (text)"), ("image", "perceptual score (image)")):
        ps = perceptual_score_interval(y, grid, shuffle=side, rounds=rounds, seed=seed, level=level, metric=metric,
                                       n_boot=n_boot)
        rows.append(_row(measure, name, ps.score, ps.ci_low, ps.ci_high))
    shapley = modality_shapley(grid, 2, target="predicted")
    text_share = mm_shap(shapley)[:, 0]
    rows.append(_row(MM_SHAP_TEXT, name, text_share.mean(),
                     *_percentile_interval(text_share[resamples].mean(1), level)))
    matrix = np.abs(interaction_matrix(shapley))
    total = matrix.sum((1, 2))
    off = total - matrix[:, 0, 0] - matrix[:, 1, 1]

    def ratio(index: Any) -> np.ndarray:
        denominator = total[index].sum(-1)
        return np.divide(off[index].sum(-1), denominator, out=np.zeros_like(denominator), where=denominator > 0)

    rows.append(_row(INTERSHAP, name, float(ratio(slice(None))), *_percentile_interval(ratio(resamples), level)))
    return rows


def _grid_of(model: Any, feats: Any) -> np.ndarray:
    from grounding_kit.analysis.grid_model import GridModel
    from grounding_kit.analysis.pairs import pairwise_logits

    if isinstance(model, GridModel):
        return model.subgrid()
    grid = pairwise_logits(model, feats, progress=False)
    return np.asarray(grid.double().numpy() if hasattr(grid, "double") else grid, dtype=np.float64)


def interaction_table(labels: Any, models: Any, feats: Any, *, clusters: int = 6, rounds: int = 50,
                      n_boot: int = 200, seed: int | None = 0, level: float = 0.95, metric: str = "accuracy") -> pd.DataFrame:
    """Every interaction measure on one dataset of two modalities, for one or several models, with intervals.

    Two modalities only (text and image; the module docstring says why and what serves M modalities).

    Parameters
    ----------
    labels : (N,) class indices of the N pairs.
    models : a pair model (a fitted head, a ``GridModel`` of the same N pairs), or a dict
        ``{name: model}`` (e.g. ``{"additive": head_a, "interactive": head_i}``).
    feats : ``Features`` of the N pairs (``text`` (N, D1), ``image`` (N, D2)): the data measures read
        them, the models are evaluated on all N x N combinations of them.
    clusters : k-means clusters per modality for the PID of the features
        (:func:`grounding_kit.analysis.partial_information.pid_features`; its docstring gives the bias).
    rounds : permutations of the perceptual scores.
    n_boot : bootstrap resamples of the pairs for the intervals (the interaction share uses a
        quarter of them: each costs a decomposition of an N x N grid).
    seed : seed of every resample, permutation and clustering (None: fresh randomness).
    level : confidence level of the intervals.
    metric : a per-item metric for the accuracies and perceptual scores.

    Returns
    -------
    DataFrame, one row per (measure, model) with columns ``measure``, ``describes`` ("data" or
    "model"), ``model`` ("(the data)" for data rows), ``value``, ``ci_low``, ``ci_high``, ``unit``,
    ``question``. PID rows: bootstrap percentile intervals over pairs (clusters fixed). Accuracy,
    EMAP accuracy and their difference: ``emap_report``'s paired bootstrap. Perceptual scores: the
    mean over ``rounds`` permutations with the bootstrap interval of that mean
    (:func:`~grounding_kit.analysis.perceptual.perceptual_score_interval`'s ``score``, ``ci_low``,
    ``ci_high``). Shapley rows (one player per modality): bootstrap over pairs with the marginalising
    background fixed.

    Raises
    ------
    ValueError
        labels that do not match the pairs, ``clusters`` above N, ``rounds`` < 2, a bad ``level``.
    TypeError
        ``feats`` without ``text`` and ``image`` features (e.g. a list of M feature arrays).
    """
    y = check_labels(labels, call="interaction_table(labels, models, feats, ...)")
    level = check_fraction("level", level)
    n_boot = check_positive_int("n_boot", n_boot, minimum=2)
    clusters = check_positive_int("clusters", clusters)
    seed = seed_int(np.random.default_rng() if seed is None else seed)  # None: fresh randomness
    if not hasattr(feats, "text") or not hasattr(feats, "image"):
        raise TypeError(f"feats must be Features with text and image arrays (interaction_table takes two modalities), "
                        f"got {type(feats).__name__}; for M modalities use modality_shapley, mm_shap, interaction_score, "
                        "decompose(P, modalities=M) and emap_multimodal")
    text, image = (np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x) for x in (feats.text, feats.image))
    check_consistent_length(labels=y, text=text, image=image)
    named = dict(models) if isinstance(models, Mapping) else {"model": models}
    rng = np.random.default_rng(seed)
    rows = _pid_rows(text, image, y, clusters, n_boot, level, rng, seed)
    for name, model in named.items():
        rows += _model_rows(name, y, _grid_of(model, feats), rounds, n_boot, level, rng, seed, metric)
    return pd.DataFrame(rows, columns=COLUMNS)
