"""The EMAP lab's experiment, without a browser (experiments/emap_view.py)."""

from __future__ import annotations

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.analysis import decompose
from grounding_kit.analysis.margins import label_margin_grid
from grounding_kit.experiments.emap_view import emap_view
from grounding_kit.experiments.protocol import task_experiment

N = 80


@pytest.fixture(scope="module")
def clip():
    return gk.load_clip("tiny-shapes")


@pytest.mark.slow
def test_the_view_is_the_report_and_the_decomposition_of_the_heads_grid(clip):
    view = emap_view(clip, "mixed", "interactive", 50, n_max=N, n_train=240, interaction=0.5, seed=0)
    exp = task_experiment(clip, "mixed", N, n_train=240, seed=0, interaction=0.5)
    grid = exp.grid("interactive").grid.numpy()[:50, :50]
    labels = exp.labels_eval[:50]
    expected = gk.emap_report(labels, grid, n_boot=200, seed=0)
    np.testing.assert_allclose(view.report.table["score"], expected.table["score"])
    assert view.report.difference == pytest.approx(expected.difference)
    margin = label_margin_grid(labels, grid)
    np.testing.assert_allclose(view.margin, margin, atol=1e-6)  # the lab reads the float32 grid
    np.testing.assert_allclose(view.additive + view.interaction, view.margin, atol=1e-9)
    assert view.interaction_share == pytest.approx(float(np.mean(decompose(margin).interaction_share)))
    assert "interval of model - EMAP" in view.verdict
    monte_carlo = emap_view(clip, "mixed", "interactive", 50, n_max=N, n_train=240, interaction=0.5, seed=0,
                            partners=8)
    assert monte_carlo.report.method == "monte carlo"


def test_a_view_larger_than_its_experiment_is_refused(clip):
    with pytest.raises(ValueError, match="n must be at most n_max=40"):
        emap_view(clip, "additive", "interactive", 60, n_max=40)
