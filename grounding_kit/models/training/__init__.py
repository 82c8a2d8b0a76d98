"""Training recipes of the embedded tiny models (``grounding-kit train tiny-clip|tiny-vqa|tiny-audio|tiny-audio-supervised``).

One module per recipe family, one function per recipe:

- :mod:`~grounding_kit.models.training.common`: the step loop every recipe shares
  (:func:`run_steps`), the learning-rate schedule and the ``training.json`` record;
- :mod:`~grounding_kit.models.training.clip`: :func:`train_tiny_clip`, whose recipes are
  :func:`train_descriptions` (version 1) and :func:`train_typed_queries` (version 2), and
  :func:`evaluate_clip`;
- :mod:`~grounding_kit.models.training.vqa`: :func:`train_tiny_vqa` and :func:`evaluate_vqa`;
- :mod:`~grounding_kit.models.training.audio`: :func:`train_tiny_audio`, the audio encoders
  (``target="image"``: tiny-audio, aligned to the tiny CLIP's images only; ``target="text"``:
  tiny-audio-supervised, the upper bound);
- :mod:`~grounding_kit.models.training.losses`: the losses beyond the contrastive and answer
  losses, and their targets.

Every run is deterministic for a given seed (one CPU thread inside
:func:`~grounding_kit.core.threads.single_thread`, seeded data) and writes safetensors weights, a
``training.json`` record of the recipe and the measured quality, and the model card rendered from it.
"""

from __future__ import annotations

from grounding_kit.models.training.audio import train_tiny_audio
from grounding_kit.models.training.clip import (CLIP_ARCHITECTURES, CLIP_RECIPES, CLIP_STEPS, CLIP_TRAINERS,
                                                description_batch, evaluate_clip, match_auc, shipped_clip_recipe,
                                                train_descriptions, train_tiny_clip, train_typed_queries,
                                                typed_query_batch, write_clip_card)
from grounding_kit.models.training.common import EVAL_SEED, run_steps, shipped_record
from grounding_kit.models.training.losses import (IGNORED, calibration_loss, description_truth, hard_text_loss,
                                                  layout_heads, layout_loss, layout_targets, match_pair_loss,
                                                  multi_positive_clip_loss, relation_targets)
from grounding_kit.models.training.vqa import (CELL_CLASSES, VQA_RECIPE, VQA_VERSION, evaluate_vqa, grounding_targets,
                                               question_words, tiny_vilt, train_tiny_vqa, vqa_batches, vqa_loss,
                                               write_vqa_card)

__all__ = ["train_tiny_audio", "CELL_CLASSES", "CLIP_ARCHITECTURES", "CLIP_RECIPES", "CLIP_STEPS", "CLIP_TRAINERS", "EVAL_SEED", "IGNORED",
           "VQA_RECIPE", "VQA_VERSION", "calibration_loss", "description_batch", "description_truth",
           "evaluate_clip", "evaluate_vqa", "grounding_targets", "hard_text_loss", "layout_heads", "layout_loss",
           "layout_targets", "match_auc", "match_pair_loss", "multi_positive_clip_loss", "question_words",
           "relation_targets", "run_steps", "shipped_clip_recipe", "shipped_record", "tiny_vilt",
           "train_descriptions", "train_tiny_clip", "train_tiny_vqa", "train_typed_queries", "typed_query_batch",
           "vqa_batches", "vqa_loss", "write_clip_card", "write_vqa_card"]
