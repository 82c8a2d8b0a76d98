"""The checks of the concept exercises and questionnaires of issue 23."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from grounding_kit.exercises import checks
from grounding_kit.exercises.checks import CheckFailed
from grounding_kit.exercises.questionnaires import QUESTIONNAIRES, questionnaire_markdown


def unit(rng, n, d):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_clip_loss_accepts_the_symmetric_cross_entropy_and_names_the_one_way_slip(capsys):
    rng = np.random.default_rng(0)
    text, image, scale = unit(rng, 8, 5), unit(rng, 8, 5), 20.0
    logits = scale * torch.tensor(text) @ torch.tensor(image).T
    target = torch.arange(8)
    rows = torch.nn.functional.cross_entropy(logits, target)
    cols = torch.nn.functional.cross_entropy(logits.T, target)
    checks.check_clip_loss(float((rows + cols) / 2), text, image, scale)
    assert "ClipLoss" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="one direction"):
        checks.check_clip_loss(float(rows), text, image, scale)
    with pytest.raises(CheckFailed, match="logit_scale"):
        unscaled = torch.tensor(text) @ torch.tensor(image).T
        checks.check_clip_loss(float((torch.nn.functional.cross_entropy(unscaled, target)
                                      + torch.nn.functional.cross_entropy(unscaled.T, target)) / 2),
                               text, image, scale)


def test_least_squares_check_accepts_lstsq_and_refuses_the_row_means_alone():
    P = np.random.default_rng(1).normal(size=(5, 5))
    n = len(P)
    X = np.zeros((n * n, 2 * n))
    for i in range(n):
        for j in range(n):
            X[i * n + j, i] = X[i * n + j, n + j] = 1.0
    fitted = (X @ np.linalg.lstsq(X, P.ravel(), rcond=None)[0]).reshape(n, n)
    checks.check_additive_least_squares(fitted, P)
    with pytest.raises(CheckFailed, match="differ"):
        checks.check_additive_least_squares(np.repeat(P.mean(axis=1, keepdims=True), n, axis=1), P)
    with pytest.raises(CheckFailed, match="shape"):
        checks.check_additive_least_squares(fitted.ravel(), P)


@pytest.mark.parametrize("product, joint, right", [(0.70, 0.90, "b"), (0.90, 0.70, "c"), (0.80, 0.82, "a")])
def test_projection_prediction_reads_the_table(product, joint, right):
    table = pd.DataFrame({"score": {"additive fit over keys, product of marginals": product,
                                    "additive fit over keys, joint distribution": joint}})
    checks.check_projection_prediction(right, table)
    wrong = next(k for k in checks.PROJECTION_OPTIONS if k != right)
    with pytest.raises(CheckFailed):
        checks.check_projection_prediction(wrong, table)


@pytest.mark.parametrize("notebook", sorted(QUESTIONNAIRES))
def test_each_questionnaire_passes_its_key_and_explains_a_wrong_answer(notebook):
    questions = QUESTIONNAIRES[notebook]
    key = {i: q.answer for i, q in enumerate(questions, start=1)}
    assert all(q.answer in q.options for q in questions)
    checks.check_questionnaire(key, notebook)
    wrong = dict(key)
    wrong[1] = next(option for option in questions[0].options if option != questions[0].answer)
    with pytest.raises(CheckFailed, match="question 1") as failure:
        checks.check_questionnaire(wrong, notebook)
    assert questions[0].why in str(failure.value)
    with pytest.raises(CheckFailed, match="no answer"):
        checks.check_questionnaire({}, notebook)
    assert questionnaire_markdown(notebook).count("\n") == len(questions) - 1


def test_questionnaire_refuses_unknown_notebooks_and_non_dicts():
    with pytest.raises(ValueError, match="no questionnaire"):
        questionnaire_markdown("99")
    with pytest.raises(CheckFailed, match="dict"):
        checks.check_questionnaire(["a"], "01")


def test_emap_example_is_the_papers_whole_grid():
    np.testing.assert_allclose(checks.EMAP_EXAMPLE, [[-1.3, 0.3, -0.2], [0.8, 3.0, 1.1], [1.1, -0.1, 0.7]])


def test_gap_verdict_says_what_the_interval_leaves_out():
    from grounding_kit.analysis.report import EmapReport

    table = pd.DataFrame({"score": [0.8, 0.79]}, index=["full model", "EMAP"])
    for bootstrap, says in (("items", "projection held fixed"), ("refit", "projection re-estimated")):
        report = EmapReport(table, difference=0.01, difference_ci_low=-0.02, difference_ci_high=0.04,
                            bootstrap=bootstrap)
        verdict = checks.gap_verdict(report)
        assert says in verdict and "one trained model" in verdict
        assert "not evidence" in verdict and "rule out" not in verdict
        assert "equivalence" in verdict
