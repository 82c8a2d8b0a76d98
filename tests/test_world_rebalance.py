"""rebalance: complementary scenes (Goyal et al. 2017) remove the language prior."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.world import QUESTION_TYPES, Scene, rebalance_report
from grounding_kit.world.vqa import ANSWERS_BY_TYPE, answer


@pytest.fixture(scope="module")
def skewed():
    return gk.make_task("vqa", n=600, seed=11, prior=0.9)


@pytest.fixture(scope="module")
def complete(skewed):
    return gk.rebalance(skewed, seed=0)


def changed_objects(before: Scene, after: Scene) -> int:
    """How many objects differ between two scenes (objects matched by position)."""
    old = {(o.x, o.y): o for o in before.objects}
    new = {(o.x, o.y): o for o in after.objects}
    return sum(old.get(p) != new.get(p) for p in set(old) | set(new))


def test_pairs_give_each_row_a_minimal_complement_with_another_answer(skewed):
    pairs = gk.rebalance(skewed, seed=0, mode="pairs")
    assert len(pairs) == 2 * len(skewed)
    assert pairs.select(range(len(skewed)))["text"] == skewed["text"]
    tail = pairs.select(range(len(skewed), len(pairs)))
    assert set(tail["source"]) == {"complement"} and sorted(tail["pair_of"]) == list(range(len(skewed)))
    for row in tail:
        original = skewed[row["pair_of"]]
        spec = json.loads(row["question_spec"])
        assert row["text"] == original["text"] and row["answer"] != original["answer"]
        scene = Scene.from_dicts(json.loads(row["objects"]))
        assert answer(scene, spec) == row["answer"]
        edits = changed_objects(Scene.from_dicts(json.loads(original["objects"])), scene)
        limit = 3 if spec["type"] == "count" else 2  # a swap moves two objects; a count edit may add 3
        assert 1 <= edits <= limit, (original["scene"], row["scene"])
    for t in ("exists", "left_right"):  # yes/no questions end up exactly balanced
        answers = Counter(a for a, q in zip(pairs["answer"], pairs["question_type"]) if q == t)
        assert answers["yes"] == answers["no"]


def test_complete_mode_balances_every_question(complete):
    by_question, kind_of = defaultdict(Counter), {}
    for question, ans, kind in zip(complete["text"], complete["answer"], complete["question_type"]):
        by_question[question][ans] += 1
        kind_of[question] = kind
    for question, counts in by_question.items():
        kind = kind_of[question]
        assert {counts[a] for a in ANSWERS_BY_TYPE[kind]} == {max(counts.values())}, question


def test_report_shows_the_prior_gone(skewed, complete):
    report = rebalance_report(skewed, complete)
    assert list(report.index) == [*QUESTION_TYPES, "all"]
    for t in QUESTION_TYPES:
        row = report.loc[t]
        assert row["question_only_before"] > 0.8
        assert row["question_only_after"] <= row["chance"] + 0.08
        assert row["entropy_after"] == pytest.approx(row["max_entropy"], abs=0.01)
        assert row["entropy_before"] < row["entropy_after"]
        assert row["given_question_before"] < 0.5 * row["max_entropy"]
        assert row["given_question_after"] == pytest.approx(row["max_entropy"], abs=0.01)
        assert row["rows_after"] > row["rows_before"]


def test_rebalance_is_deterministic_and_cached(skewed, complete):
    again = gk.rebalance(skewed, seed=0)
    assert again["scene"] == complete["scene"]
    assert all(np.array_equal(np.asarray(a), np.asarray(b))
               for a, b in zip(again.select(range(600, 640))["image"], complete.select(range(600, 640))["image"]))
    assert gk.rebalance(skewed, seed=1)["scene"] != complete["scene"]


def test_rebalance_rejects_what_it_cannot_edit(skewed):
    with pytest.raises(ValueError, match=r"lacks the columns \['answer'"):
        gk.rebalance(gk.make_task("match", n=10))
    with pytest.raises(TypeError, match="must be a datasets.Dataset"):
        gk.rebalance([{"text": "what color is the circle?"}])
    with pytest.raises(ValueError, match="mode='all'"):
        gk.rebalance(skewed, mode="all")
    with pytest.raises(ValueError, match="is empty"):
        gk.rebalance(skewed.select([]))
