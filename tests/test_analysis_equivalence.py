"""Issue 23's two library pieces: the refit bootstrap of emap_report and the equivalence test (TOST)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

import grounding_kit as gk
from grounding_kit.analysis import EmapReport, emap_report, equivalence_test, gap_verdict, tost


def noisy_interaction(seed: int, n: int = 60, scale: float = 6.0):
    """Labels from an additive rule; a model that adds a large text x image interaction on top, whose
    marginals are therefore noisy estimates on N=60 pairs."""
    g = torch.Generator().manual_seed(seed)
    text, image = torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g)

    def model(t, v):
        s = scale * (t * v).sum(1, keepdim=True) + 2 * t[:, :1] + 2 * v[:, :1]
        return torch.cat([torch.zeros_like(s), s], dim=1)

    labels = (2 * text[:, 0] + 2 * image[:, 0] + torch.randn(n, generator=g) > 0).long().numpy()
    return gk.pairwise_logits(model, gk.Features(text, image)).numpy(), labels


def additive_grid(n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    grid = rng.normal(size=(n, 1, 2)) + rng.normal(size=(1, n, 2))
    labels = (grid[np.arange(n), np.arange(n)].argmax(1) ^ (rng.random(n) < 0.2)).astype(int)
    return grid, labels


def width(low, high):
    return float(high - low)


# ---------------------------------------------------------------- bootstrap="refit"

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refitting_the_marginals_widens_the_intervals_of_a_model_with_noisy_marginals(seed):
    grid, y = noisy_interaction(seed)
    items = emap_report(y, grid, n_boot=300, seed=0)
    refit = emap_report(y, grid, n_boot=300, seed=0, bootstrap="refit")
    assert (items.bootstrap, refit.bootstrap) == ("items", "refit")
    pd.testing.assert_series_equal(items.table["score"], refit.table["score"])  # same point estimates
    assert refit.difference == items.difference and refit.p_value == items.p_value
    emap_items, emap_refit = (width(*r.loc["EMAP", ["ci_low", "ci_high"]]) for r in (items, refit))
    assert emap_refit > 1.2 * emap_items
    assert width(*refit.difference_ci) >= width(*items.difference_ci)
    # the full model's predictions do not depend on the marginals: its interval does not move
    assert tuple(refit.loc["full model", ["ci_low", "ci_high"]]) == tuple(items.loc["full model", ["ci_low", "ci_high"]])


def test_an_additive_model_is_its_own_projection_in_every_resample():
    grid, y = additive_grid()
    items = emap_report(y, grid, n_boot=200, seed=0)
    refit = emap_report(y, grid, n_boot=200, seed=0, bootstrap="refit")
    for report in (items, refit):
        assert report.difference_ci == (0.0, 0.0)
        assert tuple(report.loc["EMAP", ["ci_low", "ci_high"]]) == tuple(report.loc["full model", ["ci_low", "ci_high"]])
    pd.testing.assert_frame_equal(items.table.loc[["full model", "EMAP"]], refit.table.loc[["full model", "EMAP"]])


def test_refit_reads_a_model_as_its_grid_and_refuses_monte_carlo():
    g = torch.Generator().manual_seed(0)
    feats = gk.Features(torch.randn(20, 3, generator=g), torch.randn(20, 3, generator=g))

    def model(t, v):
        s = (t * v).sum(1, keepdim=True)
        return torch.cat([-s, s], dim=1)

    y = (model(feats.text, feats.image)[:, 1] > 0).long().numpy()
    via_model = emap_report(y, model, feats, n_boot=50, bootstrap="refit")
    via_grid = emap_report(y, gk.pairwise_logits(model, feats), n_boot=50, bootstrap="refit")
    pd.testing.assert_frame_equal(via_model.table, via_grid.table)
    with pytest.raises(ValueError, match="does not combine with Monte Carlo"):
        emap_report(y, model, feats, n_boot=50, bootstrap="refit", partners=5)
    with pytest.raises(ValueError, match=r"bootstrap='bootstrap' is not valid"):
        emap_report(y, model, feats, n_boot=50, bootstrap="bootstrap")


# ---------------------------------------------------------------- two one-sided tests

def test_tost_matches_the_two_one_sided_t_tests_written_out():
    d = np.random.default_rng(0).normal(0.01, 0.2, size=400)
    result = tost(d, margin=0.05, alpha=0.05)
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert result.p_lower == pytest.approx(stats.t.sf((d.mean() + 0.05) / se, len(d) - 1))
    assert result.p_upper == pytest.approx(stats.t.cdf((d.mean() - 0.05) / se, len(d) - 1))
    assert result.p_value == max(result.p_lower, result.p_upper)
    half = stats.t.ppf(0.95, len(d) - 1) * se
    assert (result.ci_low, result.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert result.equivalent == (-0.05 < result.ci_low and result.ci_high < 0.05)


@pytest.mark.parametrize("mean, equivalent", [(0.0, True), (0.02, True), (0.08, False), (-0.08, False)])
def test_tost_on_differences_with_a_known_mean(mean, equivalent):
    d = np.random.default_rng(1).normal(mean, 0.1, size=2000)
    assert tost(d, margin=0.05).equivalent is equivalent


def test_tost_needs_a_positive_margin_and_enough_differences():
    with pytest.raises(ValueError, match="margin must be a positive"):
        tost(np.zeros(5), margin=0.0)
    with pytest.raises(TypeError, match="margin must be a positive number"):
        tost(np.zeros(5), margin="0.05")
    with pytest.raises(ValueError, match="N >= 2"):
        tost(np.zeros(1), margin=0.05)
    with pytest.raises(ValueError, match="strictly between 0 and 0.5"):
        tost(np.zeros(5), margin=0.05, alpha=0.5)


def test_an_additive_model_is_equivalent_to_its_emap_and_an_interactive_one_is_not():
    grid, y = additive_grid(200)
    additive = equivalence_test(y, grid, margin=0.02)
    assert additive.equivalent and additive.difference == 0.0 and additive.p_value == 0.0
    g = torch.Generator().manual_seed(0)
    text = torch.randn(200, 8, generator=g)
    same = torch.rand(200, generator=g) < 0.5
    image = torch.where(same[:, None], text, torch.randn(200, 8, generator=g))

    def match(t, v):
        agree = -((t - v) ** 2).sum(1, keepdim=True)
        return torch.cat([torch.zeros_like(agree), agree + 0.5], dim=1)

    interactive = equivalence_test(same.long().numpy(), match, gk.Features(text, image), margin=0.02)
    assert not interactive.equivalent and interactive.difference > 0.2 and interactive.p_upper > 0.5
    assert interactive.p_lower < 1e-6  # it is certainly not worse than -margin: the failing side is the gain
    with pytest.raises(TypeError, match=r"equivalence_test\(labels, model, feats"):
        equivalence_test(match, gk.Features(text, image), same.long().numpy(), margin=0.02)
    with pytest.raises(ValueError, match="not a mean over items"):
        equivalence_test(y, grid, margin=0.02, metric="macro_auc")


# ---------------------------------------------------------------- the report and its verdict

def test_a_report_with_a_margin_carries_the_test_and_the_verdict_uses_it(tmp_path):
    grid, y = additive_grid(200)
    report = emap_report(y, grid, n_boot=100, margin=0.02)
    assert report.equivalence is not None and report.equivalence.equivalent
    assert report.equivalence.alpha == pytest.approx(0.025)  # its 95% interval matches the report's level
    verdict = gap_verdict(report)
    assert "contains 0" in verdict and "equivalence shown" in verdict and "rule out" not in verdict
    path = tmp_path / "r.csv"
    report.to_csv(path)
    again = EmapReport.from_frame(pd.read_csv(path, index_col=0))
    assert again.equivalence == report.equivalence
    assert pickle.loads(pickle.dumps(report)).equivalence == report.equivalence
    assert "TOST at margin" in repr(report)
    plain = emap_report(y, grid, n_boot=100)
    assert plain.equivalence is None and "not evidence that none is needed" in gap_verdict(plain)
    with pytest.raises(ValueError, match="per-item metric"):
        emap_report(y, grid, n_boot=100, margin=0.02, metric="macro_auc")
