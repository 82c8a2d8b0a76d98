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
    assert str(error) == "Exercise 9.9 (x): not quite. `x` is 3, expected 4. Hint: add one."
    assert error.hint == "add one."
    # IPython shows the verdict in place of a traceback (a student's kernel, nbgrader's feedback)
    assert error._render_traceback_() == ["✘ Exercise 9.9 (x): not quite. `x` is 3, expected 4. Hint: add one."]


# ---------------------------------------------------------------- who sees a failure how

def test_checks_raise_outside_a_kernel_and_under_nbgrader(monkeypatch):
    text, image = unit_rows(4, 3), unit_rows(4, 3)
    assert checks.failures_raise()  # pytest: no IPython kernel
    with checks.raising(False):
        assert not checks.failures_raise()
        with checks.raising():
            assert checks.failures_raise()
    monkeypatch.setenv("GROUNDING_KIT_CHECKS", "print")
    assert not checks.failures_raise()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # nbgrader's autograder: the cell must fail
    assert checks.failures_raise()
    with pytest.raises(checks.NotDone):
        checks.check_similarity_matrix(..., text, image)


def test_a_student_sees_one_line_per_verdict_and_no_exception(capsys):
    text, image = unit_rows(4, 3), unit_rows(4, 3)
    with checks.raising(False):
        checks.check_similarity_matrix(..., text, image)
        checks.check_similarity_matrix(image @ text.T, text, image)
        checks.check_similarity_matrix(text @ image.T, text, image)
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "○ Exercise 1.1 (similarity matrix): not done yet. Write your answer in place of `...` and run the cell again.",
        "✔ Exercise 1.1 (similarity matrix): correct. S has shape (4, 4); its diagonal holds the true pairs."]
    assert len(err.splitlines()) == 1 and err.startswith("✘ Exercise 1.1 (similarity matrix): not quite.")
    assert "Traceback" not in out + err


def not_done(check, *args, **kwargs) -> None:
    with pytest.raises(checks.NotDone, match="not done yet"):
        check(*args, **kwargs)


def test_every_check_says_not_done_for_the_placeholder():
    t, v, P = unit_rows(4, 3), unit_rows(4, 3), RNG.normal(size=(4, 4, 2))
    report = EmapReport(pd.DataFrame({"score": [0.9, 0.6]}, index=["full model", "EMAP"]),
                        difference=0.3, difference_ci_low=0.2, difference_ci_high=0.4)
    fits = pd.DataFrame({"score": {"additive fit over keys, product of marginals": 0.7,
                                   "additive fit over keys, joint distribution": 0.9}})
    table = pd.DataFrame({"linear model": [0.7], "fancy method": [0.8], "fancy's EMAP": [0.8]})
    blind = pd.DataFrame({"question_only_after": [0.1], "chance": [0.2]}, index=["color"])
    calls = [(checks.check_similarity_matrix, t, v), (checks.check_retrieval_accuracy, t @ v.T),
             (checks.check_zero_shot, t @ v.T), (checks.check_additive_part, t @ v.T),
             (checks.check_recall_prediction, t @ v.T), (checks.check_additive_grid, t[:, 0], v[:, 0]),
             (checks.check_accuracy, P[0], np.zeros(4, dtype=int)), (checks.check_interaction_residual, P),
             (checks.check_blind_accuracy, QUESTIONS, ANSWERS), (checks.check_answer_entropy, ANSWERS),
             (checks.check_effects, ..., P), (checks.check_interaction_share, P),
             (checks.check_gap_prediction, report), (checks.check_emap_gap, report),
             (checks.check_ensemble_prediction, table), (checks.check_blind_prediction, blind),
             (checks.check_clip_loss, t, v, 10.0), (checks.check_additive_least_squares, P[..., 0]),
             (checks.check_projection_prediction, fits), (checks.check_questionnaire, "00")]
    for check, *inputs in calls:
        not_done(check, ..., *inputs)
    not_done(checks.check_columns_above, ..., TABLE, row="ours", baseline="sota")
    not_done(checks.check_emap_function, ...)
    not_done(checks.check_emap_function, lambda P: ...)  # the student copy's `return ...`
    not_done(checks.check_emap_function, _not_done)  # nbgrader's `raise NotImplementedError`
    not_done(checks.check_recall_prediction, 0.1, ...)  # S_add not done: the prediction cannot be scored
    not_done(checks.check_table_prediction, ..., {"synergy": True}, pd.DataFrame({"task": ["synergy"]}))
    not_done(checks.check_equivalence_claim, ..., report)  # before the report is read
    not_done(checks.check_interaction_index, ...)
    not_done(checks.check_interaction_index, lambda P: ...)


# ---------------------------------------------------------------- 01

def test_similarity_matrix(capsys):
    text, image = unit_rows(5, 4), unit_rows(5, 4)
    passes(capsys, checks.check_similarity_matrix, text @ image.T, text, image)
    fails("transposed", checks.check_similarity_matrix, image @ text.T, text, image)
    fails("100 times .*logit scale", checks.check_similarity_matrix, 100 * text @ image.T, text, image)
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


@pytest.mark.parametrize("interval, differences, right", [
    ((0.02, 0.08), [0.05, 0.04, 0.06, 0.05], "a"),     # interactions add
    ((-0.08, -0.02), [-0.05, -0.04, -0.06, -0.05], "b"),  # the projection scores higher
    ((-0.01, 0.01), [0.0, 0.001, -0.001, 0.0] * 50, "c"),  # tight around 0: equivalence within 0.03 shown
    ((-0.05, 0.06), [0.2, -0.2, 0.1, -0.15], "d"),     # wide around 0: nothing shown
])
def test_equivalence_claim_reads_the_interval_and_the_test(capsys, interval, differences, right):
    from grounding_kit.analysis.equivalence import tost

    test = tost(np.asarray(differences), margin=0.03)
    report = EmapReport(pd.DataFrame({"score": [0.7, 0.7]}, index=["full model", "EMAP"]), difference=0.0,
                        difference_ci_low=interval[0], difference_ci_high=interval[1], equivalence=test)
    if right in "cd":
        assert test.equivalent == (right == "c")
    passes(capsys, checks.check_equivalence_claim, right, report)
    for wrong in sorted(set("abcd") - {right}):
        fails("not what the measurement shows", checks.check_equivalence_claim, wrong, report)
    fails("one of", checks.check_equivalence_claim, "yes", report)


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


# ---------------------------------------------------------------- each exercise's typical mistakes

def _mistakes():
    """``(id, check, wrong answer, inputs, the hint it must get)``: the slips students make most."""
    square_t, square_v = unit_rows(6, 6), unit_rows(6, 6)  # N = D, as notebook 01's batch of 64
    t, v = unit_rows(5, 3), unit_rows(5, 3)
    S = RNG.normal(size=(6, 6))
    rows, cols, grand = S.mean(1, keepdims=True), S.mean(0, keepdims=True), S.mean()
    S_zs = RNG.normal(size=(4, 4))  # as many prompts as images: axis 1 has the right shape
    f_t, f_v = np.array([2.0, -1.0, 0.5, 0.0]), np.array([0.3, 1.2, -0.7, 0.1])  # notebook 02's
    logits, labels = RNG.normal(size=(30, 3)), RNG.integers(3, size=30)
    right = np.mean(logits.argmax(-1) == labels)
    P2 = RNG.normal(size=(4, 4))
    P3 = RNG.normal(size=(5, 5, 3)) + np.array([0.0, 2.0, -1.0])
    g3 = P3.mean((0, 1))
    residual3 = P3 - P3.mean(1, keepdims=True) - P3.mean(0, keepdims=True) + g3
    share = (residual3 ** 2).sum((0, 1)) / ((P3 - g3) ** 2).sum((0, 1))
    p = np.array(list(Counter(ANSWERS).values())) / len(ANSWERS)
    bits = float(-(p * np.log2(p)).sum())
    counts = np.array(list(Counter(ANSWERS).values()), dtype=float)
    return [
        ("1.1 missing transpose, N = D", checks.check_similarity_matrix, square_t @ square_v,
         (square_t, square_v), r"`text_emb @ image_emb` pairs each text with a \*column\*"),
        ("1.1 transposed, N = D", checks.check_similarity_matrix, square_v @ square_t.T,
         (square_t, square_v), "transposed"),
        ("1.1 element-wise, N = D", checks.check_similarity_matrix, square_t * square_v,
         (square_t, square_v), "element by element"),
        ("1.1 halved", checks.check_similarity_matrix, t @ v.T / 2, (t, v),
         r"0\.5 times the cosine similarities\. Leave out the division"),
        ("1.1 logit scale", checks.check_similarity_matrix, 100 * t @ v.T, (t, v), "logit scale"),
        ("1.1 dimensions", checks.check_similarity_matrix, t.T @ v, (t, v),
         r"shape \(3, 3\), expected \(5, 5\)\. Hint: `text_emb\.T @ image_emb` sums over the pairs"),
        ("1.1 element-wise, N != D", checks.check_similarity_matrix, t * v, (t, v), "element by element"),
        ("1.1 texts with texts", checks.check_similarity_matrix, t @ t.T, (t, v), "compares the texts with each other"),
        ("1.2 wrong axis", checks.check_retrieval_accuracy, recall(S.T), (S,), "argmax over axis 0"),
        ("1.2 percentage", checks.check_retrieval_accuracy, 100 * recall(S), (S,), "percentage"),
        ("1.2 misses", checks.check_retrieval_accuracy, 1 - recall(S), (S,), r"\*not\* their own"),
        ("1.2 mean similarity", checks.check_retrieval_accuracy, np.mean(np.diag(S)), (S,), "mean similarity of the true pairs"),
        ("1.3 wrong axis, square", checks.check_zero_shot, S_zs.argmax(1), (S_zs,), "for each prompt \\(row\\), its best image"),
        ("1.3 argmin", checks.check_zero_shot, S_zs.argmin(0), (S_zs,), "argmin"),
        ("1.4 missing keepdims", checks.check_additive_part, S.mean(1) + S.mean(0) - grand, (S,), "keepdims=True"),
        ("1.4 half keepdims", checks.check_additive_part, S.mean(1) + cols - grand, (S,), "keepdims=True"),
        ("1.4 swapped means", checks.check_additive_part, cols.T + rows.T - grand, (S,), "swapped places"),
        ("1.4 no grand mean", checks.check_additive_part, rows + cols, (S,), "forgot to subtract the grand mean"),
        ("1.4 wrong mean sign", checks.check_additive_part, rows + cols + grand, (S,), "don't add it"),
        ("1.4 residual", checks.check_additive_part, S - (rows + cols - grand), (S,), "interaction residual"),
        ("2.1 missing axis", checks.check_additive_grid, f_t + f_v, (f_t, f_v), "element by element"),
        ("2.1 transposed", checks.check_additive_grid, f_v[:, None] + f_t[None, :], (f_t, f_v), "transposed"),
        ("2.1 averaged", checks.check_additive_grid, (f_t[:, None] + f_v) / 2, (f_t, f_v), "averaged"),
        ("2.1 multiplied", checks.check_additive_grid, np.outer(f_t, f_v), (f_t, f_v), "multiplied"),
        ("2.2 missing keepdims", checks.check_interaction_residual, P2 - P2.mean(1) - P2.mean(0) + P2.mean(),
         (P2,), "keepdims=True"),
        ("2.2 grand mean not added back", checks.check_interaction_residual,
         P2 - P2.mean(1, keepdims=True) - P2.mean(0, keepdims=True), (P2,), "add the grand mean back"),
        ("2.2 additive part", checks.check_interaction_residual,
         P2.mean(1, keepdims=True) + P2.mean(0, keepdims=True) - P2.mean(), (P2,), "that is the additive part"),
        ("2.2 grand mean over classes", checks.check_interaction_residual,
         P3 - P3.mean(1, keepdims=True) - P3.mean(0, keepdims=True) + P3.mean(), (P3,), "over the classes too"),
        ("2.3 error rate", checks.check_accuracy, 1 - right, (logits, labels), "error rate"),
        ("2.3 count", checks.check_accuracy, float(np.sum(logits.argmax(-1) == labels)), (logits, labels), "more than 1"),
        ("2.3 argmin", checks.check_accuracy, np.mean(logits.argmin(-1) == labels), (logits, labels), "argmin"),
        ("3.1 one answer for all", checks.check_blind_accuracy, 3 / 8, (QUESTIONS, ANSWERS), "single most common answer"),
        ("3.2 nats", checks.check_answer_entropy, bits * np.log(2), (ANSWERS,), "nats"),
        ("3.2 log10", checks.check_answer_entropy, bits * np.log10(2), (ANSWERS,), "base 10"),
        ("3.2 sign", checks.check_answer_entropy, -bits, (ANSWERS,), "sign is flipped"),
        ("3.2 counts", checks.check_answer_entropy, float(-(counts * np.log2(counts)).sum()), (ANSWERS,),
         "probabilities first"),
        ("4.1 no grand mean", checks.check_emap_function, lambda G: G.mean(1) + G.mean(0), (), "forgot to subtract"),
        ("4.1 grand mean over classes", checks.check_emap_function,
         lambda G: G.mean(1) + G.mean(0) - G.mean(), (), "over the classes too"),
        ("4.1 diagonal", checks.check_emap_function, lambda G: np.stack([G[i, i] for i in range(len(G))]), (),
         "original predictions"),
        ("4.2 swapped axes", checks.check_effects, P3.mean(0) - g3, (P3.mean(1) - g3, P3), "rows are texts"),
        ("4.2 no grand mean", checks.check_effects, P3.mean(1), (P3.mean(0) - g3, P3), "subtract the grand mean"),
        ("4.2 keepdims", checks.check_effects, P3.mean(1, keepdims=True) - g3, (P3.mean(0) - g3, P3), "drop keepdims"),
        ("4.3 additive share", checks.check_interaction_share, 1 - share, (P3,), "additive share"),
        ("4.3 one share for all classes", checks.check_interaction_share, share.mean(), (P3,), "one share per class"),
    ]


def recall(S):
    return float(np.mean(S.argmax(1) == np.arange(len(S))))


MISTAKES = _mistakes()


@pytest.mark.parametrize("case", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_typical_mistake_gets_its_own_hint(case):
    _, check, answer, inputs, hint = case
    error = fails(hint, check, answer, *inputs)
    assert error.hint and re.search(hint, f"{error.problem} Hint: {error.hint}")
