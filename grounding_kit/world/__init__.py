"""The grounding world: synthetic shape scenes and tasks with known answers, rebalancing, and
loaders that bring real image-text data into the same columns.

- scenes: ``sample_scene(rng, n_objects)``, ``sample_scenes(n, seed)``, ``render_scene(scene, size)``,
  ``describe(scene)``, ``single_object_caption(obj)``, ``caption_templates()`` (36 captions),
  ``single_object_scene(rng, caption_index)``.
- texts: ``world_texts(seed, queries)`` (every text the world produces), ``all_questions()``.
- tasks: ``make_task(name, n, seed, size, **dials)`` for "additive", "match", "mixed", "vqa";
  ``bayes_rates(name, **dials)``; ``VQA_ANSWERS`` (the shared closed answer vocabulary).
- dependent: ``make_dependent_task(n, seed, dependence=1.0)``, text and image dependent beyond the
  label (one combination of mood and warmth never occurs).
- rebalancing: ``rebalance(ds, seed, mode)``, ``rebalance_report(before, after)``,
  ``question_only_accuracy(ds)``, ``majority_answer_accuracy(questions, answers)``, ``entropy_bits(values)``.
- sound: ``scene_audio(scene)`` (1 s at 16 kHz, :mod:`grounding_kit.world.audio`),
  ``make_audio_task(name, n, seed)`` for "text_image", "image_audio", "all_three".
- real data: ``load_image_text_folder(path)``, ``load_hub(name, split, n)``, ``load_gallery(size)``.

Only the light scene API is imported eagerly (numpy and PIL); ``datasets`` loads on first use
of a task or loader.
"""

from __future__ import annotations

from grounding_kit.core.lazy import lazy_exports

from grounding_kit.world.render import render_scene, render_scenes
from grounding_kit.world.scenes import (BACKGROUNDS, COLOR_RGB, COLORS, SHAPES, SIZES, WARM_COLORS, Scene,
                                        SceneObject, caption_templates, describe, sample_scene,
                                        sample_scenes, single_object_caption, single_object_scene)

_LAZY: dict[str, str] = {
    "make_task": "grounding_kit.world.tasks",
    "bayes_rates": "grounding_kit.world.tasks",
    "make_dependent_task": "grounding_kit.world.dependent",
    "TASKS": "grounding_kit.world.tasks",
    "world_texts": "grounding_kit.world.texts",
    "all_questions": "grounding_kit.world.texts",
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
    "make_audio_task": "grounding_kit.world.audio_tasks",
    "AUDIO_TASKS": "grounding_kit.world.audio_tasks",
    "scene_audio": "grounding_kit.world.audio",
    "decode_audio": "grounding_kit.world.audio",
}

__all__ = ["BACKGROUNDS", "COLOR_RGB", "COLORS", "SHAPES", "SIZES", "WARM_COLORS", "Scene", "SceneObject",
           "caption_templates", "describe", "render_scene", "render_scenes", "sample_scene",
           "sample_scenes", "single_object_caption", "single_object_scene", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
