"""Every exercise check passes the reference answer and explains a wrong one in plain words."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch

from grounding_kit.analysis import EmapReport
from grounding_kit.exercises import checks
from grounding_kit.exercises.checks import CheckFailed

RNG = np.random.default_rng(0)


def unit_rows(n: int, d: int) -> torch.Tensor:
    x = torch.as_tensor(RNG.normal(size=(n, d)))
    return x / x.norm(dim=1, keepdim=True)


def fails(match: str, check, *args, **kwargs) -> CheckFailed:
    """Run a check that must fail; return the error after matching its message."""
    with pytest.raises(CheckFailed, match=match) as info:
        check(*args, **kwargs)
    message = str(info.value)
    assert message.startswith("Exercise "), message
    assert "not quite" in message
    return info.value


def passes(capsys, check, *args, **kwargs) -> str:
    check(*args, **kwargs)
    out = capsys.readouterr().out
    assert out.startswith("✔ Exercise ") and "correct" in out
    return out


def test_check_failed_is_an_assertion_error_with_a_hint():
    error = CheckFailed("Exercise 9.9 (x)", "`x` is 3, expected 4.", "add one.")
    assert isinstance(error, AssertionError)
    assert str(error) == "Exercise 9.9 (x): not quite. `x` is 3, expected 4.\nHint: add one."
    assert error.hint == "add one."


# ---------------------------------------------------------------- 01

def test_similarity_matrix(capsys):
    text, image = unit_rows(5, 4), unit_rows(5, 4)
    passes(capsys, checks.check_similarity_matrix, text @ image.T, text, image)
    fails("transposed", checks.check_similarity_matrix, image @ text.T, text, image)
    fails("drop the logit scale", checks.check_similarity_matrix, 100 * text @ image.T, text, image)
    fails("`S` is None", checks.check_similarity_matrix, None, text, image)
    err = fails("shape", checks.check_similarity_matrix, (text @ image.T)[:3], text, image)
    assert "(3, 5)" in str(err) and "(5, 5)" in str(err)


def test_retrieval_accuracy(capsys):
    S = np.array([[1.0, 5.0, 4.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])  # captions 2/3 right, images 1/3
    passes(capsys, checks.check_retrieval_accuracy, 2 / 3, S)
    fails("argmax over axis 0", checks.check_retrieval_accuracy, 1 / 3, S)
    fails("more than 1", checks.check_retrieval_accuracy, 5, S)
    fails("single number", checks.check_retrieval_accuracy, S.argmax(1), S)


def test_zero_shot(capsys):
    S = RNG.normal(size=(3, 10))
    passes(capsys, checks.check_zero_shot, S.argmax(axis=0), S)
    fails(r"shape \(3,\), expected \(10,\)", checks.check_zero_shot, S.argmax(axis=1), S)
    wrong = S.argmax(axis=0).copy()
    wrong[4] = (wrong[4] + 1) % 3
    fails("1 of 10 predictions differ .*image 4", checks.check_zero_shot, wrong, S)
    fails("whole numbers", checks.check_zero_shot, S.max(axis=0), S)


# ---------------------------------------------------------------- 02

def test_additive_part(capsys):
    S = np.random.default_rng(0).normal(size=(5, 5))
    rows, cols = S.mean(axis=1, keepdims=True), S.mean(axis=0, keepdims=True)
    passes(capsys, checks.check_additive_part, rows + cols - S.mean(), S)
    fails("forgot to subtract the grand mean", checks.check_additive_part, rows + cols, S)
    fails("interaction residual", checks.check_additive_part, S - (rows + cols - S.mean()), S)
    fails(r"shape \(5,\)", checks.check_additive_part, rows[:, 0], S)


def test_additive_grid(capsys):
    f_t, f_v = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, 2.0])
    passes(capsys, checks.check_additive_grid, f_t[:, None] + f_v[None, :], f_t, f_v)
    fails("transposed", checks.check_additive_grid, f_v[:, None] + f_t[None, :], f_t, f_v)
    fails("averaged", checks.check_additive_grid, (f_t[:, None] + f_v[None, :]) / 2, f_t, f_v)
    fails("shape", checks.check_additive_grid, f_t + f_v, f_t, f_v)


def test_accuracy(capsys):
    logits, labels = RNG.normal(size=(20, 3)), RNG.integers(3, size=20)
    passes(capsys, checks.check_accuracy, np.mean(logits.argmax(-1) == labels), logits, labels)
    fails("more than 1", checks.check_accuracy, int(np.sum(logits.argmax(-1) == labels)) + 2, logits, labels)
    fails("expected", checks.check_accuracy, 1.0 - np.mean(logits.argmax(-1) == labels) + 1e-3, logits, labels)


def test_interaction_residual(capsys):
    P = np.array([[2.0, -2.0], [-2.0, 2.0]]) + np.array([[0.5], [1.0]])
    rows, cols, grand = P.mean(1, keepdims=True), P.mean(0, keepdims=True), P.mean()
    passes(capsys, checks.check_interaction_residual, P - rows - cols + grand, P)
    fails("forgot to add the grand mean back", checks.check_interaction_residual, P - rows - cols, P)
    fails("sign of the grand mean", checks.check_interaction_residual, P - rows - cols - grand, P)
    fails("NaN", checks.check_interaction_residual, np.full_like(P, np.nan), P)


# ---------------------------------------------------------------- 03

QUESTIONS = ["what color?"] * 5 + ["how many?"] * 3
ANSWERS = ["red", "red", "red", "blue", "green", "2", "3", "3"]


def test_blind_accuracy(capsys):
    passes(capsys, checks.check_blind_accuracy, 5 / 8, QUESTIONS, ANSWERS)
    fails("single most common answer", checks.check_blind_accuracy, 3 / 8, QUESTIONS, ANSWERS)
    fails("8 questions but 7 answers", checks.check_blind_accuracy, 0.5, QUESTIONS, ANSWERS[:7])


def test_answer_entropy(capsys):
    p = np.array(list(Counter(ANSWERS[:5]).values())) / 5
    bits = float(-(p * np.log2(p)).sum())
    passes(capsys, checks.check_answer_entropy, bits, ANSWERS[:5])
    fails("nats", checks.check_answer_entropy, bits * np.log(2), ANSWERS[:5])
    fails("sign is flipped", checks.check_answer_entropy, -bits, ANSWERS[:5])


# ---------------------------------------------------------------- 04

def reference_emap(P):
    P = np.asarray(P, dtype=float)
    return P.mean(1) + P.mean(0) - P.mean((0, 1))


def test_emap_function(capsys):
    passes(capsys, checks.check_emap_function, reference_emap)
    fails("forgot to subtract the grand mean", checks.check_emap_function,
          lambda P: np.asarray(P).mean(1) + np.asarray(P).mean(0))
    fails("both the text effect", checks.check_emap_function, lambda P: np.asarray(P).mean(1))
    fails("original predictions", checks.check_emap_function,
          lambda P: np.stack([P[i, i] for i in range(len(P))]))
    fails("keeping the class axis", checks.check_emap_function, lambda P: reference_emap(P).sum(-1)[:, None, None])
    fails("NotImplementedError", checks.check_emap_function, _not_done)
    fails("should be a function", checks.check_emap_function, np.zeros(3))


def _not_done(P):
    raise NotImplementedError


def test_emap_example_projects_to_the_papers_numbers():
    np.testing.assert_allclose(np.diag(checks.EMAP_EXAMPLE), [-1.3, 3.0, 0.7])
    np.testing.assert_allclose(reference_emap(checks.EMAP_EXAMPLE), [-0.8, 2.1, 0.5], atol=1e-12)


def test_effects(capsys):
    P = RNG.normal(size=(6, 6, 2))
    grand = P.mean((0, 1))
    passes(capsys, checks.check_effects, P.mean(1) - grand, P.mean(0) - grand, P)
    fails("subtract the grand mean", checks.check_effects, P.mean(1), P.mean(0) - grand, P)
    fails("rows are texts", checks.check_effects, P.mean(0) - grand, P.mean(1) - grand, P)


def test_interaction_share(capsys):
    P = RNG.normal(size=(5, 5, 2))
    residual = P - P.mean(1, keepdims=True) - P.mean(0, keepdims=True) + P.mean((0, 1))
    share = (residual ** 2).sum((0, 1)) / ((P - P.mean((0, 1))) ** 2).sum((0, 1))
    passes(capsys, checks.check_interaction_share, share, P)
    fails("must lie in", checks.check_interaction_share, share + 1, P)
    fails("expected", checks.check_interaction_share, share * 0.9, P)
    fails("one share per class", checks.check_interaction_share, share[:1], P)


# ---------------------------------------------------------------- 05

TABLE = pd.DataFrame([[57.8, 67.6, None], [54.4, 80.2, 75.2]], index=["ours", "sota"],
                     columns=["OKVQA", "VQAv2", "VisDial"])


def test_columns_above(capsys):
    passes(capsys, checks.check_columns_above, ["OKVQA"], TABLE, row="ours", baseline="sota")
    fails("1 missing .*OKVQA", checks.check_columns_above, [], TABLE, row="ours", baseline="sota")
    fails("(?s)not wins.*NaN", checks.check_columns_above, ["OKVQA", "VisDial"], TABLE, row="ours", baseline="sota")
    fails("not columns", checks.check_columns_above, ["COCO"], TABLE, row="ours", baseline="sota")
    fails("list of column names", checks.check_columns_above, "OKVQA", TABLE, row="ours", baseline="sota")
    fails("Exercise 5.2", checks.check_columns_above, [], TABLE, row="ours", baseline="sota", exercise="Exercise 5.2")


def test_emap_gap(capsys):
    report = EmapReport(pd.DataFrame({"score": [0.9, 0.6, 0.5]}, index=["full model", "EMAP", "constant"]),
                        difference=0.3, difference_ci_low=0.2, difference_ci_high=0.4)
    passes(capsys, checks.check_emap_gap, 0.3, report)
    fails("sign is flipped", checks.check_emap_gap, -0.3, report)
    fails(r"report.loc\['full model', 'score'\]", checks.check_emap_gap, 0.4, report)


@pytest.mark.parametrize("interval, says", [
    ((0.02, 0.10), r"lies above 0: .* at least \+0\.020"),
    ((-0.10, -0.02), "lies below 0: the additive projection scores higher"),
    ((-0.03, 0.05), r"contains 0: the data show no gain .*not evidence that none is needed.*margin"),
])
def test_gap_verdict_reads_the_interval_not_the_point_estimate(interval, says):
    report = EmapReport(pd.DataFrame({"score": [0.61, 0.60]}, index=["full model", "EMAP"]),
                        difference=0.01, difference_ci_low=interval[0], difference_ci_high=interval[1])
    assert re.search(says, checks.gap_verdict(report))


def test_gap_verdict_claims_no_need_for_interactions_only_from_an_equivalence_test():
    from grounding_kit.analysis import tost

    table = pd.DataFrame({"score": [0.61, 0.60]}, index=["full model", "EMAP"])
    close = tost(np.random.default_rng(0).normal(0.0, 0.1, 2000), margin=0.02, alpha=0.025)
    far = tost(np.random.default_rng(0).normal(0.0, 0.5, 200), margin=0.02, alpha=0.025)
    report = EmapReport(table, difference=0.0, difference_ci_low=-0.03, difference_ci_high=0.05, equivalence=close)
    assert re.search(r"contains 0.*equivalence shown", checks.gap_verdict(report))
    report = EmapReport(table, difference=0.0, difference_ci_low=-0.03, difference_ci_high=0.05, equivalence=far)
    assert re.search(r"contains 0.*equivalence within \+-0\.02 is not shown", checks.gap_verdict(report))
    assert "rule out" not in checks.gap_verdict(report)


def test_gap_verdict_names_a_table_without_an_interval():
    with pytest.raises(ValueError, match="lacks the columns.*difference"):
        checks.gap_verdict(pd.DataFrame({"score": [0.9], "ci_low": [0.8], "ci_high": [1.0]}, index=["full model"]))
    with pytest.raises(TypeError, match="EmapReport returned by gk.emap_report"):
        checks.gap_verdict({"difference_ci": (0.0, 0.1)})


def test_grand_mean_over_the_classes_gets_its_own_hint():
    P = np.random.default_rng(1).normal(size=(6, 6, 3)) + np.array([0.0, 2.0, -1.0])
    rows, cols = P.mean(axis=1), P.mean(axis=0)
    hint = r"grand mean over the classes too .*P\.mean\(axis=\(0, 1\)\)"
    fails(hint, checks.check_emap_function, lambda G: G.mean(axis=1) + G.mean(axis=0) - G.mean())
    fails(hint, checks.check_effects, rows - P.mean(), cols - P.mean(axis=(0, 1)), P)
    residual = P - P.mean(axis=1, keepdims=True) - P.mean(axis=0, keepdims=True) + P.mean()
    fails(hint, checks.check_interaction_residual, residual, P)


def test_ensemble_prediction(capsys):
    table = pd.DataFrame({"linear model": [0.76, 0.77], "fancy method": [0.82, 0.83],
                          "fancy's EMAP": [0.82, 0.82]})
    passes(capsys, checks.check_ensemble_prediction, "c", table)
    fails("not what the measurement shows", checks.check_ensemble_prediction, "b", table)
    fails("one of", checks.check_ensemble_prediction, "fancy", table)
    fallen = table.assign(**{"fancy's EMAP": [0.76, 0.77]})  # back to the linear model
    passes(capsys, checks.check_ensemble_prediction, "b", fallen)
    passes(capsys, checks.check_ensemble_prediction, "a", table.assign(**{"fancy method": [0.76, 0.83]}))


def test_blind_prediction(capsys):
    report = pd.DataFrame({"question_only_after": [0.135, 0.5], "chance": [1 / 6, 0.5]}, index=["color", "exists"])
    passes(capsys, checks.check_blind_prediction, "below", report)
    passes(capsys, checks.check_blind_prediction, "at", report, question_type="exists")
    fails("not what the measurement shows", checks.check_blind_prediction, "at", report)
    fails("one of", checks.check_blind_prediction, 0.13, report)


def test_gap_prediction(capsys):
    report = EmapReport(pd.DataFrame({"score": [0.65, 0.65]}, index=["full model", "EMAP"]),
                        difference=0.0, difference_ci_low=-0.01, difference_ci_high=0.01)
    passes(capsys, checks.check_gap_prediction, 0, report)
    fails("perceptual score", checks.check_gap_prediction, 0.19, report, perceptual=0.19)
    fails("what does EMAP remove", checks.check_gap_prediction, 0.5, report)


def test_recall_prediction(capsys):
    S = np.random.default_rng(2).normal(size=(20, 20))
    additive = S.mean(axis=1, keepdims=True) + S.mean(axis=0, keepdims=True) - S.mean()
    passes(capsys, checks.check_recall_prediction, 0.05, additive)
    fails("the measured recall@1 is not 0.500", checks.check_recall_prediction, 0.5, additive)
    fails("more than 1", checks.check_recall_prediction, 5, additive)


def test_every_check_is_tested_here():
    from pathlib import Path

    source = Path(__file__).read_text()
    untested = [name for name in checks.__all__ if name.startswith("check_") and f"checks.{name}," not in source]
    assert not untested, f"add pass/fail tests for {untested}"


def test_concept_checks_of_issue_23(capsys):
    # the detailed cases are in test_checks_concepts.py
    rng = np.random.default_rng(3)
    text = rng.normal(size=(4, 3))
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    logits = 10.0 * text @ text.T
    shifted = logits - logits.max(axis=1, keepdims=True)
    rows = float(np.mean(np.log(np.exp(shifted).sum(axis=1)) - np.diag(shifted)))  # symmetric: rows == columns
    passes(capsys, checks.check_clip_loss, rows, text, text, 10.0)
    fails("ClipLoss gives", checks.check_clip_loss, rows + 1.0, text, text, 10.0)
    P = rng.normal(size=(4, 4))
    additive = P.mean(axis=1, keepdims=True) + P.mean(axis=0, keepdims=True) - P.mean()
    passes(capsys, checks.check_additive_least_squares, additive, P)
    fails("differ", checks.check_additive_least_squares, P, P)
    table = pd.DataFrame({"score": {"additive fit over keys, product of marginals": 0.7,
                                    "additive fit over keys, joint distribution": 0.9}})
    passes(capsys, checks.check_projection_prediction, "b", table)
    fails("not what the measurement shows", checks.check_projection_prediction, "a", table)
    passes(capsys, checks.check_questionnaire, {1: "b", 2: "b", 3: "b"}, "00")
    fails("question 2", checks.check_questionnaire, {1: "b", 2: "a", 3: "b"}, "00")
