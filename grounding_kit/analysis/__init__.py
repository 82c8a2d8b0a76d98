"""The EMAP engine: exact, streamed, sampled, decomposed and reported.

Index convention: rows are texts, columns are images, ``P[i, j] = f(t_i, v_j)``, logits in the
last axis. Submodules load on first use, so ``import grounding_kit.analysis`` stays light
(numpy-only ``emap``/``decompose`` never import torch).
"""

from __future__ import annotations

from grounding_kit.core.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "emap": "projection",
    "decompose": "projection",
    "Decomposition": "projection",
    "MultiDecomposition": "multimodal",
    "MultiEmapEstimate": "multimodal",
    "decompose_modalities": "multimodal",
    "emap_multimodal": "multimodal",
    "tuple_logits": "multimodal",
    "GridModel": "grid_model",
    "label_margin": "margins",
    "emap_from_marginals": "summaries",
    "recall_at_k": "summaries",
    "accuracy_by_type": "summaries",
    "label_margin_grid": "margins",
    "margin_gap": "margins",
    "ProbabilityInputWarning": "grids",
    "pairwise_logits": "pairs",
    "emap_model": "model_emap",
    "emap_distributed": "distributed",
    "EmapEstimate": "estimate",
    "reshuffle": "shuffling",
    "reshuffle_average": "shuffling",
    "shuffle_permutation": "permutations",
    "reshuffle_grid": "permutations",
    "reshuffle_grid_average": "permutations",
    "perceptual_score": "shuffling",
    "PerceptualScore": "shuffling",
    "perceptual_score_interval": "perceptual",
    "PerceptualScoreInterval": "perceptual",
    "pid": "partial_information",
    "pid_features": "partial_information",
    "PID": "partial_information",
    "modality_shapley": "shapley",
    "ModalityShapley": "shapley",
    "mm_shap": "shapley",
    "interaction_score": "shapley",
    "interaction_table": "measures_table",
    "METRICS": "metrics",
    "score": "metrics",
    "accuracy": "metrics",
    "macro_auc": "metrics",
    "weighted_f1": "metrics",
    "pairwise_ranking_accuracy": "metrics",
    "vqa_soft_accuracy": "metrics",
    "emap_report": "report",
    "EmapReport": "report",
    "gap_verdict": "report",
    "equivalence_test": "equivalence",
    "tost": "equivalence",
    "EquivalenceResult": "equivalence",
    "cross_validate_emap": "report",
    "fit_additive": "additive_fit",
    "AdditiveFit": "additive_fit",
    "additive_comparison": "additive_fit",
    "monte_carlo_spread": "report",
    "linear_probe": "probes",
    "interaction_profile": "profiles",
    "profile_interaction_share": "profiles",
    "ProbeResult": "probes",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
