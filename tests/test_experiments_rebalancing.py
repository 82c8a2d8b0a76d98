"""The rebalancing lab's experiment, without a browser (experiments/rebalancing.py)."""

from __future__ import annotations

import pytest

from grounding_kit.analysis.summaries import accuracy_by_type
from grounding_kit.experiments.rebalancing import answer_shares, predicted_answers, rebalancing_study
from grounding_kit.world import make_task, rebalance


@pytest.fixture(scope="module")
def vqa():
    from grounding_kit.models import load_vqa

    return load_vqa()


def test_answer_shares_count_each_type_separately():
    shares = answer_shares(["color", "color", "color", "count"], ["red", "red", "blue", "2"],
                           {"color": ["red", "blue", "green"], "count": ["1", "2"], "shape": ["circle"]})
    assert shares == {"color": [2 / 3, 1 / 3, 0.0], "count": [0.0, 1.0], "shape": [0.0]}


@pytest.mark.slow
def test_the_study_summarises_each_prior_before_and_after_rebalancing(vqa):
    study = rebalancing_study(vqa, priors=(0.0, 0.9), n=60, seed=0)
    assert sorted(study) == [(0.0, False), (0.0, True), (0.9, False), (0.9, True)]
    for setting, snapshot in study.items():
        for kind, shares in snapshot.shares.items():  # every type is asked: each histogram sums to 1
            assert sum(shares) == pytest.approx(1.0), (setting, kind)
    # the model's accuracy is the one accuracy_by_type gives on its own answers
    before = make_task("vqa", n=60, seed=0, prior=0.9)
    after = rebalance(before, seed=0)
    expected = accuracy_by_type(after["answer"], predicted_answers(vqa, after), after["question_type"])
    assert study[(0.9, True)].full["all"] == pytest.approx(expected["all"]["accuracy"])
    assert study[(0.9, True)].rows == len(after) > study[(0.9, False)].rows == 60
    # the talk's point: a strong prior lets the blind baseline score; rebalancing takes that away
    assert study[(0.9, False)].blind["all"] > study[(0.9, True)].blind["all"]
