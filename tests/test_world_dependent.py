"""The world whose text and image are dependent beyond the label."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from grounding_kit.world.dependent import SUPPORT, fits, make_dependent_task


def combinations(ds):
    return Counter(zip(ds["mood"], ds["warmth"]))


def test_at_full_dependence_one_combination_never_occurs():
    ds = make_dependent_task(300, seed=0, cache=False)
    seen = combinations(ds)
    assert set(seen) == set(SUPPORT) and ("negative", "warm") not in seen
    for cell, probability in SUPPORT.items():  # a half, a quarter, a quarter
        assert abs(seen[cell] / 300 - probability) < 0.08, (cell, seen[cell])


def test_without_dependence_every_combination_occurs():
    assert len(combinations(make_dependent_task(200, seed=1, dependence=0.0, cache=False))) == 4


def test_columns_agree_with_the_rule():
    ds = make_dependent_task(400, seed=2, flip=0.1, cache=False)
    mood, warmth = np.array(ds["mood"]), np.array(ds["warmth"])
    assert np.all((np.array(ds["text_score"]) > 0) == (mood == "positive"))
    assert np.all((np.array(ds["image_score"]) > 0) == (warmth == "warm"))
    rule = np.array([fits(m, w) for m, w in zip(mood, warmth)])
    agree = np.mean(np.array(ds["label"]) == rule)
    assert 0.85 < agree < 0.95  # 10% of the labels flipped
    assert all(word not in text for text in ds["text"] for word in ("red", "blue", "warm", "cool"))


def test_bad_dials_are_refused():
    with pytest.raises(ValueError, match="dependence"):
        make_dependent_task(10, dependence=1.5, cache=False)
    with pytest.raises(ValueError, match="flip"):
        make_dependent_task(10, flip=-0.1, cache=False)
    with pytest.raises(ValueError, match="max_objects"):
        make_dependent_task(10, max_objects=9, cache=False)
