"""Every text the world produces: the corpus the tiny models' vocabularies are fitted on.

- ``world_texts(seed, queries)``: captions, scene descriptions, every task's texts, and typed queries;
- ``all_questions()``: every question of the ``vqa`` task, each question type over all its referents.
"""

from __future__ import annotations

from itertools import permutations, product


def world_texts(seed: int = 0, queries: bool = False) -> list[str]:
    """Every kind of text the world produces (the 36 caption templates, with ``queries`` the
    example typed queries, descriptions of 500 scenes and the texts of 300 rows of each task,
    drawn with ``seed``): the tiny CLIP's vocabulary is fitted on them."""
    from grounding_kit.world.queries import example_texts
    from grounding_kit.world.scenes import caption_templates, describe, sample_scenes
    from grounding_kit.world.tasks import make_task

    texts = caption_templates() + (example_texts() if queries else [])
    texts += [describe(s) for s in sample_scenes(500, seed=seed)]
    for task in ("additive", "match", "mixed", "vqa"):
        texts += list(make_task(task, n=300, seed=seed)["text"])
    return texts


def all_questions() -> list[str]:
    """Every question of the world's vqa task, each question type over all its referents."""
    from grounding_kit.world.scenes import COLORS, SHAPES
    from grounding_kit.world.vqa import question_text

    objects = [{"color": c, "shape": s} for c, s in product(COLORS, SHAPES)]
    specs = [{"type": "color", "shape": s} for s in SHAPES] + [{"type": "shape", "color": c} for c in COLORS]
    specs += [{"type": "count"}] + [{"type": "exists", **o} for o in objects]
    specs += [{"type": "left_right", "a": a, "b": b, "relation": r}
              for a, b in permutations(objects, 2) for r in ("left", "right")]
    return [question_text(spec) for spec in specs]
