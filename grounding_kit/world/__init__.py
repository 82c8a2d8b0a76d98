"""The grounding world: synthetic shape scenes and tasks with known answers, rebalancing, and
loaders that bring real image-text data into the same columns.

- scenes: ``sample_scene(rng, n_objects)``, ``sample_scenes(n, seed)``, ``render_scene(scene, size)``,
  ``describe(scene)``, ``single_object_caption(obj)``, ``caption_templates()`` (36 captions).
- tasks: ``make_task(name, n, seed, size, **dials)`` for "additive", "match", "mixed", "vqa";
  ``bayes_rates(name, **dials)``; ``VQA_ANSWERS`` (the shared closed answer vocabulary).
- rebalancing: ``rebalance(ds, seed, mode)``, ``rebalance_report(before, after)``,
  ``question_only_accuracy(ds)``, ``majority_answer_accuracy(questions, answers)``, ``entropy_bits(values)``.
- real data: ``load_image_text_folder(path)``, ``load_hub(name, split, n)``, ``load_gallery(size)``.

Only the light scene API is imported eagerly (numpy and PIL); ``datasets`` loads on first use
of a task or loader.
"""

from __future__ import annotations

from grounding_kit.core.lazy import lazy_exports

from grounding_kit.world.render import render_scene, render_scenes
from grounding_kit.world.scenes import (COLOR_RGB, COLORS, SHAPES, SIZES, WARM_COLORS, Scene,
                                        SceneObject, caption_templates, describe, sample_scene,
                                        sample_scenes, single_object_caption)

_LAZY: dict[str, str] = {
    "make_task": "grounding_kit.world.tasks",
    "bayes_rates": "grounding_kit.world.tasks",
    "TASKS": "grounding_kit.world.tasks",
    "PID_TASKS": "grounding_kit.world.pid_tasks",
    "make_pid_task": "grounding_kit.world.pid_tasks",
    "pid_joint": "grounding_kit.world.pid_tasks",
    "VQA_ANSWERS": "grounding_kit.world.vqa",
    "QUESTION_TYPES": "grounding_kit.world.vqa",
    "rebalance": "grounding_kit.world.rebalancing",
    "rebalance_report": "grounding_kit.world.rebalancing",
    "question_only_accuracy": "grounding_kit.world.rebalancing",
    "majority_answer_accuracy": "grounding_kit.world.rebalancing",
    "entropy_bits": "grounding_kit.world.rebalancing",
    "load_image_text_folder": "grounding_kit.world.loaders",
    "load_hub": "grounding_kit.world.loaders",
    "load_gallery": "grounding_kit.world.loaders",
    "DataError": "grounding_kit.world.loaders",
    "HUB_DATASETS": "grounding_kit.world.loaders",
}

__all__ = ["COLOR_RGB", "COLORS", "SHAPES", "SIZES", "WARM_COLORS", "Scene", "SceneObject",
           "caption_templates", "describe", "render_scene", "render_scenes", "sample_scene",
           "sample_scenes", "single_object_caption", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
