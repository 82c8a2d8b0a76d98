"""grounding_kit: a teaching kit on multimodal grounding and EMAP (Hessel & Lee, EMNLP 2020).

``import grounding_kit as gk`` is light: the public names below are imported on first use,
so torch, open_clip and transformers load only when a model or tensor is asked for.

Index convention everywhere: rows are texts, columns are images, ``P[i, j] = f(t_i, v_j)``,
logits (pre-softmax) in the last axis.
"""

from __future__ import annotations

from grounding_kit.core.lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # set-up
    "doctor": "grounding_kit.diagnostics",
    "Features": "grounding_kit.models.features",
    # the exceptions and warnings public functions raise (each function's Raises lists its own)
    "NotFittedError": "grounding_kit.core.validation",
    "BudgetError": "grounding_kit.core.validation",
    "CacheDirError": "grounding_kit.core.paths",
    "DataError": "grounding_kit.world.loaders",
    "IllPosedQuestion": "grounding_kit.world.vqa",
    "ProbabilityInputWarning": "grounding_kit.analysis.grids",
    # the EMAP engine
    "emap": "grounding_kit.analysis",
    "decompose": "grounding_kit.analysis",
    "pairwise_logits": "grounding_kit.analysis",
    "emap_model": "grounding_kit.analysis",
    "emap_details": "grounding_kit.analysis",
    "EmapEstimate": "grounding_kit.analysis",
    "GridModel": "grounding_kit.analysis",
    "Decomposition": "grounding_kit.analysis",
    "reshuffle_average": "grounding_kit.analysis",
    "reshuffle": "grounding_kit.analysis",
    "perceptual_score": "grounding_kit.analysis",
    "emap_report": "grounding_kit.analysis",
    "cross_validate_emap": "grounding_kit.analysis",
    "MultiDecomposition": "grounding_kit.analysis",
    "MultiEmapEstimate": "grounding_kit.analysis",
    "emap_multimodal": "grounding_kit.analysis",
    "tuple_logits": "grounding_kit.analysis",
    # the experiment protocol (split, embed, fit, analyse held-out pairs)
    "experiment": "grounding_kit.experiments.protocol",
    "task_experiment": "grounding_kit.experiments.protocol",
    "Experiment": "grounding_kit.experiments.protocol",
    # the grounding world and real data
    "make_task": "grounding_kit.world",
    "rebalance": "grounding_kit.world",
    "rebalance_report": "grounding_kit.world",
    "bayes_rates": "grounding_kit.world",
    "load_image_text_folder": "grounding_kit.world",
    "load_hub": "grounding_kit.world",
    "load_gallery": "grounding_kit.world",
    "make_audio_task": "grounding_kit.world",
    "scene_audio": "grounding_kit.world",
    # models
    "load_clip": "grounding_kit.models",
    "load_vqa": "grounding_kit.models",
    "embed": "grounding_kit.models",
    "fit_head": "grounding_kit.models",
    "load_head": "grounding_kit.models",
    "list_models": "grounding_kit.models",
    "load_audio_encoder": "grounding_kit.models",
    "encode_audio": "grounding_kit.models",
    "fit_multimodal_head": "grounding_kit.models",
    "vip_ant_table": "grounding_kit.models",
}

# sub-packages reachable as attributes, e.g. ``gk.world.render_scene``
_SUBMODULES = ("core", "world", "models", "analysis", "experiments", "course", "exercises", "widgets", "dashboard",
               "checks", "homework")  # the last two: deprecated re-exports

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, _SUBMODULES)
