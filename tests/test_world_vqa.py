"""Questions about scenes: answers computed from the scene, edits that flip them (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grounding_kit.world import VQA_ANSWERS, Scene, SceneObject
from grounding_kit.world.vqa import (ANSWERS_BY_TYPE, QUESTION_TYPES, IllPosedQuestion, answer,
                                     edit_to_answer, favoured_answer, question_text, sample_question)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(QUESTION_TYPES), prior=st.floats(0, 1))
def test_every_other_answer_is_one_minimal_edit_away(seed, kind, prior):
    rng = np.random.default_rng(seed)
    scene, spec, truth = sample_question(rng, kind, prior)
    assert answer(scene, spec) == truth and truth in ANSWERS_BY_TYPE[kind]
    for target in ANSWERS_BY_TYPE[kind]:
        if target != truth:
            edited = edit_to_answer(rng, scene, spec, target)
            assert answer(edited, spec) == target
            assert question_text(spec).endswith("?")


def test_answer_vocabulary_is_closed_and_shared():
    assert len(VQA_ANSWERS) == len(set(VQA_ANSWERS)) == 15
    assert all(set(options) <= set(VQA_ANSWERS) for options in ANSWERS_BY_TYPE.values())


def test_worded_questions_and_their_answers():
    circle = SceneObject("circle", "red", "large", 0.25, 0.25)
    square = SceneObject("square", "blue", "small", 0.75, 0.75)
    scene = Scene((circle, square))
    cases = [
        ({"type": "color", "shape": "circle"}, "what color is the circle?", "red"),
        ({"type": "shape", "color": "blue"}, "what shape is the blue object?", "square"),
        ({"type": "count"}, "how many objects are there?", "2"),
        ({"type": "exists", "color": "orange", "shape": "square"}, "is there an orange square?", "no"),
        ({"type": "left_right", "relation": "left", "a": {"color": "red", "shape": "circle"},
          "b": {"color": "blue", "shape": "square"}}, "is the red circle left of the blue square?", "yes"),
        ({"type": "left_right", "relation": "right", "a": {"color": "red", "shape": "circle"},
          "b": {"color": "blue", "shape": "square"}}, "is the red circle right of the blue square?", "no"),
    ]
    for spec, text, truth in cases:
        assert question_text(spec) == text and answer(scene, spec) == truth


def test_ill_posed_questions_are_refused():
    two_circles = Scene((SceneObject("circle", "red", "large", 0.25, 0.25),
                         SceneObject("circle", "blue", "large", 0.75, 0.25)))
    with pytest.raises(IllPosedQuestion, match="2 objects match"):
        answer(two_circles, {"type": "color", "shape": "circle"})
    same_column = Scene((SceneObject("circle", "red", "large", 0.25, 0.25),
                         SceneObject("square", "blue", "large", 0.25, 0.75)))
    with pytest.raises(IllPosedQuestion, match="same column"):
        answer(same_column, {"type": "left_right", "relation": "left", "a": {"color": "red", "shape": "circle"},
                             "b": {"color": "blue", "shape": "square"}})


def test_prior_pushes_answers_to_the_favoured_one():
    rng = np.random.default_rng(0)
    for kind in QUESTION_TYPES:
        hits = [favoured_answer(spec) == truth
                for _, spec, truth in (sample_question(rng, kind, 0.9) for _ in range(200))]
        assert np.mean(hits) > 0.85
