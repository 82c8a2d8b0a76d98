"""Metrics, emap_report, cross-validation, reshuffling and the exact perceptual score."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score

from grounding_kit.analysis import (METRICS, EmapReport, accuracy, cross_validate_emap, decompose, emap_model,
                                    emap_report, macro_auc, monte_carlo_spread, pairwise_logits, pairwise_ranking_accuracy,
                                    perceptual_score, reshuffle, reshuffle_average, score, shuffle_permutation,
                                    vqa_soft_accuracy, weighted_f1)
from grounding_kit.models.features import Features


rng = np.random.default_rng(0)


def match_task(n: int = 60, dim: int = 8, seed: int = 0):
    """Pairs whose label says whether text and image agree, and a model that checks exactly that."""
    g = torch.Generator().manual_seed(seed)
    text = torch.randn(n, dim, generator=g)
    label = torch.rand(n, generator=g) < 0.5
    image = torch.where(label[:, None], text, torch.randn(n, dim, generator=g))

    def model(t, v):
        agree = -((t - v) ** 2).sum(1, keepdim=True)
        return torch.cat([torch.zeros_like(agree), agree + 0.5], dim=1)

    return model, Features(text, image), label.long().numpy()


# -- metrics -------------------------------------------------------------------------------


@pytest.mark.parametrize("classes", [1, 2, 5])
def test_auc_and_f1_match_scikit_learn(classes):
    y = rng.integers(0, max(classes, 2), 200)
    z = rng.normal(size=(200, classes))
    z[np.arange(200), np.minimum(y, classes - 1)] += 1.0
    if classes == 1:
        expected = roc_auc_score(y, z[:, 0])
    elif classes == 2:
        expected = roc_auc_score(y, z[:, 1] - z[:, 0])
    else:
        probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        expected = roc_auc_score(y, probs, multi_class="ovr", average="macro")
        assert weighted_f1(y, z) == pytest.approx(f1_score(y, z.argmax(1), average="weighted"))
    assert macro_auc(y, z) == pytest.approx(expected)


def test_multi_hot_auc_matches_scikit_learn():
    y = (rng.random((150, 4)) < 0.3).astype(int)
    z = rng.normal(size=(150, 4)) + y
    assert macro_auc(y, z) == pytest.approx(roc_auc_score(y, z, average="macro"))


def test_pairwise_ranking_matches_brute_force_with_ties():
    t = rng.normal(size=120).round(1)
    s = (t + rng.normal(size=120)).round(1)
    pairs = [(i, j) for i in range(120) for j in range(i + 1, 120) if t[i] != t[j]]
    brute = np.mean([1.0 if np.sign(s[i] - s[j]) == np.sign(t[i] - t[j]) else 0.5 if s[i] == s[j] else 0.0
                     for i, j in pairs])
    assert pairwise_ranking_accuracy(t, s[:, None]) == pytest.approx(brute)


def test_vqa_soft_accuracy_from_counts_and_scores():
    counts = np.array([[3, 0, 7], [1, 2, 0], [0, 0, 10]])  # annotators per answer
    logits = np.array([[5.0, 0, 0], [0, 0, 5.0], [0, 5.0, 0]])  # picks answers 0, 2, 1
    assert vqa_soft_accuracy(counts, logits) == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert vqa_soft_accuracy(np.minimum(counts / 3, 1), np.array([[0, 0, 5.0]] * 3)) == pytest.approx((1 + 0 + 1) / 3)
    assert accuracy([0, 2, 1], logits) == 1.0


def test_metric_registry_and_errors():
    assert set(METRICS) == {"accuracy", "macro_auc", "weighted_f1", "pairwise_ranking", "vqa_soft_accuracy"}
    with pytest.raises(ValueError, match=r"metric='top5' is not valid; expected one of"):
        score("top5", [0, 1], np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: labels=3, logits=2"):
        accuracy([0, 1, 1], np.zeros((2, 2)))
    with pytest.raises(TypeError, match="labels must be .* numbers"):
        accuracy(["a", "b"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="soft scores in \\[0, 1\\]"):
        vqa_soft_accuracy(np.array([[2.5, 0.0]]), np.zeros((1, 2)))


# -- emap_report and cross-validation ------------------------------------------------------


def test_report_on_a_pure_interaction_model():
    model, feats, y = match_task(80)
    report = emap_report(y, model, feats, n_boot=200, seed=0)
    table = report.table
    assert list(table.index) == ["full model", "EMAP", "text-only marginal", "image-only marginal", "constant"]
    assert list(table.columns) == ["score", "ci_low", "ci_high"]
    assert table.loc["full model", "score"] == 1.0
    assert table.loc["EMAP", "score"] < 0.75
    assert (table["ci_low"] <= table["score"]).all() and (table["score"] <= table["ci_high"]).all()
    assert report.p_value < 0.01 and report.difference > 0.25
    assert report.method == "generic stream"


def test_report_on_an_additive_model_finds_no_difference():
    g, h = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    P = g[:, None, :] + h[None, :, :]
    y = rng.integers(0, 3, 50)
    report = emap_report(y, P, metric="macro_auc", n_boot=100)
    assert report.loc["full model", "score"] == pytest.approx(report.loc["EMAP", "score"])
    assert report.p_value == 1.0


def test_report_grid_and_model_agree():
    model, feats, y = match_task(30)
    P = pairwise_logits(model, feats)
    a = emap_report(y, model, feats, metric="weighted_f1", n_boot=50)
    b = emap_report(y, P, metric="weighted_f1", n_boot=50)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.method, b.method) == ("generic stream", "grid")
    assert {k: v for k, v in a.figures().items() if k != "method"} == {k: v for k, v in b.figures().items() if k != "method"}


def test_report_figures_survive_csv_pickle_and_repr(tmp_path):
    model, feats, y = match_task(30)
    report = emap_report(y, model, feats, n_boot=50, seed=0)
    path = tmp_path / "report.csv"
    report.to_csv(path)
    saved = pd.read_csv(path, index_col=0)
    for name in ("difference", "difference_ci_low", "difference_ci_high", "p_value", "monte_carlo_sd", "level"):
        assert saved[name].iloc[0] == pytest.approx(getattr(report, name)), name
    again = EmapReport.from_frame(saved)
    for name, value in report.figures().items():
        assert getattr(again, name) == (pytest.approx(value) if isinstance(value, float) else value), name
    pd.testing.assert_frame_equal(again.table, report.table, check_exact=False)
    unpickled = pickle.loads(pickle.dumps(report))
    assert unpickled.figures() == report.figures()
    pd.testing.assert_frame_equal(unpickled.table, report.table)
    text = repr(report)
    assert f"{report.difference:+.4f}" in text and f"p = {report.p_value:.3g}" in text and "full model" in text
    assert f"{report.difference:+.4f}" in report._repr_html_()
    with pytest.raises(ValueError, match=r"lacks the columns \['difference'"):
        EmapReport.from_frame(report.table.assign(p_value=0.5))


def interaction_task(n: int = 120, dim: int = 8, seed: int = 0):
    """Noisy labels from a model with a strong bilinear interaction and small additive effects."""
    g = torch.Generator().manual_seed(seed)
    text, image = torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g)

    def model(t, v):
        s = (t * v).sum(1, keepdim=True) + t[:, :1] + v[:, :1]
        return torch.cat([torch.zeros_like(s), s], dim=1)

    y = (model(text, image)[:, 1] + torch.randn(n, generator=g) > 0).long().numpy()
    return model, Features(text, image), y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_monte_carlo_report_interval_covers_the_monte_carlo_error(seed):
    model, feats, y = interaction_task(seed=seed)
    exact = emap_report(y, model, feats, n_boot=200, seed=0)
    assert exact.monte_carlo_sd == 0.0

    def width(table, key=None):
        low, high = table.difference_ci if key else table.loc["EMAP", ["ci_low", "ci_high"]]
        return high - low

    sampled = {k: emap_report(y, model, feats, n_boot=200, seed=0, partners=k) for k in (4, 30, 120)}
    for k in (4, 30):
        assert width(sampled[k]) >= width(exact) and width(sampled[k], "diff") >= width(exact, "diff")
        low, high = sampled[k].difference_ci
        assert low <= sampled[k].difference <= high
    spread = {k: t.monte_carlo_sd for k, t in sampled.items()}
    assert spread[4] > spread[30] > 0 and spread[120] == 0.0  # K = N is exact
    pd.testing.assert_frame_equal(sampled[120].table, exact.table, check_exact=False)


def test_monte_carlo_spread_is_zero_when_exact_and_grows_with_stderr():
    y = rng.integers(0, 2, 200)
    projection = rng.normal(size=(200, 2))
    assert monte_carlo_spread("accuracy", y, projection, np.zeros_like(projection)) == 0.0
    small = monte_carlo_spread("accuracy", y, projection, np.full_like(projection, 0.05))
    large = monte_carlo_spread("accuracy", y, projection, np.full_like(projection, 0.5))
    assert 0 < small < large
    with pytest.raises(ValueError, match="stderr has shape"):
        monte_carlo_spread("accuracy", y, projection, np.zeros((200, 3)))
    with pytest.raises(ValueError, match="partners=1"):
        monte_carlo_spread("accuracy", y, projection, np.full_like(projection, np.nan))


def test_report_refuses_one_partner():
    model, feats, y = match_task(20)
    with pytest.raises(ValueError, match="partners=1 gives no estimate"):
        emap_report(y, model, feats, partners=1)


def test_report_label_count_mismatch():
    model, feats, y = match_task(20)
    with pytest.raises(ValueError, match="inconsistent numbers of samples: labels=19, pairs=20"):
        emap_report(y[:19], model, feats)


def test_cross_validate_emap():
    model, feats, y = match_task(60)
    fitted = []

    def fit(train_feats, train_labels):
        fitted.append((len(train_feats), len(train_labels)))
        return model

    table = cross_validate_emap(y, fit, feats, folds=3, seeds=2)
    assert len(table) == 6 and fitted == [(40, 40)] * 6
    assert set(table.seed) == {0, 1} and (table.n_test == 20).all()
    assert (table["full model"] == 1.0).all() and (table["difference"] > 0).all()


def test_cross_validate_too_many_folds():
    model, feats, y = match_task(6)
    with pytest.raises(ValueError, match="folds=4 leaves fewer than 2 held-out pairs"):
        cross_validate_emap(y, lambda f, l: model, feats, folds=4)


# -- reshuffling and perceptual score ------------------------------------------------------


def test_shuffle_permutation_moves_the_requested_fraction():
    perm = shuffle_permutation(100, 0.3, seed=1)
    assert sorted(perm) == list(range(100)) and (perm != np.arange(100)).sum() == 30
    assert (shuffle_permutation(100, 0.0, seed=1) == np.arange(100)).all()


def test_reshuffle_fraction_zero_is_the_model_and_full_derangement_moves_everything():
    model, feats, _ = match_task(20)
    own = emap_model(model, feats).diagonal
    np.testing.assert_allclose(reshuffle(model, feats, 0.0, seed=0).double().numpy(), own.numpy(), atol=1e-6)
    shuffled = reshuffle(model, feats, 1.0, seed=0, shuffle="text")
    P = pairwise_logits(model, feats)
    perm = shuffle_permutation(20, 1.0, seed=0)
    torch.testing.assert_close(shuffled, P[perm, np.arange(20)])


def test_reshuffle_average_converges_to_the_emap_row_term():
    model, feats, _ = match_task(12)
    rows = emap_model(model, feats).text_marginal
    *_, last = reshuffle_average(model, feats, rounds=1500, seed=0)
    spread = decompose(pairwise_logits(model, feats).double()).interaction.std()
    assert float((last - rows).abs().max()) < 0.2 * float(spread)


def test_perceptual_score_is_exact_off_diagonal_average():
    model, feats, y = match_task(25)
    P = pairwise_logits(model, feats).numpy()
    correct_by_text = P.argmax(2) == y[:, None]
    off = ~np.eye(25, dtype=bool)
    result = perceptual_score(y, model, feats)
    assert result.model_score == 1.0
    assert result.image_shuffled_score == pytest.approx(correct_by_text[off].mean())
    assert result.text_shuffled_score == pytest.approx((P.argmax(2) == y[None, :])[off].mean())
    assert result.image == pytest.approx(1.0 - correct_by_text[off].mean())
    assert perceptual_score(y, P) == result
    empirical = np.mean([accuracy(y, reshuffle(model, feats, 1.0, seed=s)) for s in range(300)])
    assert empirical == pytest.approx(result.image_shuffled_score, abs=0.03)


def test_perceptual_score_needs_a_per_item_metric():
    model, feats, y = match_task(10)
    with pytest.raises(ValueError, match="metric='macro_auc' is not a mean over items"):
        perceptual_score(y, model, feats, metric="macro_auc")


def test_report_needs_features_for_a_model():
    model, _, y = match_task(10)
    with pytest.raises(TypeError, match="feats is required for a pair model"):
        emap_report(y, model)
    with pytest.raises(TypeError, match="feats is required for a pair model"):
        perceptual_score(y, model)


@pytest.mark.parametrize("call, error, message", [
    (lambda m, f, y: reshuffle(m, f, 1.5), ValueError, r"fraction must be in \[0.0, 1.0\], got 1.5"),
    (lambda m, f, y: reshuffle(m, f, 0.5, shuffle="audio"), ValueError, r"shuffle='audio' is not valid"),
    (lambda m, f, y: next(reshuffle_average(m, f, rounds=0)), ValueError, r"rounds must be >= 1, got 0"),
    (lambda m, f, y: emap_report(y, m, f, n_boot=0), ValueError, r"n_boot must be >= 1, got 0"),
    (lambda m, f, y: emap_report(y, m, f, level=95), ValueError, r"level must be in \[0.0, 1.0\], got 95"),
    (lambda m, f, y: pairwise_logits(m, f, batch_size=0), ValueError, r"batch_size must be >= 1, got 0"),
    (lambda m, f, y: cross_validate_emap(y, lambda a, b: m, f, folds=1), ValueError, r"folds must be >= 2"),
])
def test_argument_errors(call, error, message):
    model, feats, y = match_task(10)
    with pytest.raises(error, match=message):
        call(model, feats, y)
