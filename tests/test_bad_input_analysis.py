"""Bad input to analysis (labels, metrics, sizes, overflow): the kit's convention is a clear error naming the argument, shape or file."""

from __future__ import annotations

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.core.validation import BudgetError


# ---------------------------------------------------------------- labels outside the classes


def _grid(n=8, c=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, n, c))


@pytest.mark.parametrize("bad", [5, -1, 2])
@pytest.mark.parametrize("metric", ["accuracy", "macro_auc", "weighted_f1", "vqa_soft_accuracy"])
def test_metrics_refuse_labels_outside_the_classes(bad, metric):
    from grounding_kit.analysis.metrics import score

    labels = [0, 1, 0, 1, 0, 1, 0, bad]
    with pytest.raises(ValueError, match=r"labels must be class indices in 0\.\.1.*labels\[7\]"):
        score(metric, labels, _grid()[0])


@pytest.mark.parametrize("bad", [5, -1])
def test_emap_report_and_perceptual_score_refuse_labels_outside_the_classes(bad):
    labels = [0, 1, 0, 1, 0, 1, 0, bad]
    with pytest.raises(ValueError, match=r"labels\[7\]"):
        gk.emap_report(labels, _grid(), n_boot=5)
    with pytest.raises(ValueError, match=r"labels\[7\]"):
        gk.perceptual_score(labels, _grid())
    with pytest.raises(ValueError, match="class indices in 0..2"):
        gk.perceptual_score([0, 1, 2, 3, 0, 1, 2, 0], _grid(c=3), metric="vqa_soft_accuracy")


def test_single_logit_column_means_two_classes():
    from grounding_kit.analysis.metrics import accuracy

    assert accuracy([0, 1], np.array([[-1.0], [2.0]])) == 1.0
    with pytest.raises(ValueError, match="0..1"):
        accuracy([0, 2], np.array([[-1.0], [2.0]]))


def test_checks_and_widget_helpers_refuse_labels_outside_the_classes():
    from grounding_kit.exercises import checks
    from grounding_kit.analysis.margins import label_margin, label_margin_grid

    logits = _grid()[0]
    with pytest.raises(ValueError, match="labels"):
        label_margin(np.array([0, 1, 0, 1, 0, 1, 0, -1]), logits)
    with pytest.raises(ValueError, match="labels"):
        label_margin_grid(np.array([0, 1, 0, 1, 0, 1, 0, 5]), _grid())
    with pytest.raises(ValueError, match="labels"):
        checks.check_accuracy(0.5, logits, np.array([0, 1, 0, 1, 0, 1, 0, 5]))

# ---------------------------------------------------------------- sizes refused up front


def test_emap_report_refuses_a_huge_n_boot_before_any_work():
    with pytest.raises(BudgetError, match=r"n_boot=10,000,000 on N=2,000 items would need about 447.0 GiB"):
        gk.emap_report(np.zeros(2000, dtype=int), np.zeros((2000, 2000, 1), dtype=np.float32), n_boot=10**7)


def test_decompose_streams_and_refuses_above_its_budget():
    P = _grid(40, 3)
    parts = gk.decompose(P)
    total = ((P - P.mean((0, 1))) ** 2).sum((0, 1))
    assert np.allclose(parts.interaction_share, (parts.interaction ** 2).sum((0, 1)) / total)
    with pytest.raises(BudgetError, match=r"decompose of a grid of shape \(40, 40, 3\).*emap_model"):
        gk.decompose(P, max_bytes=1000)
    with pytest.raises(BudgetError, match="decompose"):
        gk.decompose(P.astype(np.float32), max_bytes=40 * 40 * 3 * 8 + 1)   # float32 needs a float64 copy too


def test_decompose_peak_memory_is_about_one_grid_on_top_of_the_input():
    import tracemalloc

    P = _grid(1200, 2)
    tracemalloc.start()
    gk.decompose(P)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1.5 * P.nbytes   # was 2 grids of temporaries (measured 2.0x), now the interaction (1.23x)


class SlowPairs:
    """A generic (callable) pair model that takes about ``seconds`` per call of any size."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, t, v):
        import time

        import torch

        time.sleep(self.seconds)
        return torch.stack([(t * v).sum(1), (t - v).sum(1)], dim=1)


def test_emap_model_refuses_a_long_stream_with_the_estimate_and_partners(monkeypatch):
    import math
    import time

    import torch

    from grounding_kit.analysis import streaming

    monkeypatch.setattr(streaming, "ESTIMATE_FROM_PAIRS", 10_000)   # N=200 -> 40,000 pair evaluations
    g = torch.Generator().manual_seed(0)
    feats = gk.Features(text=torch.randn(200, 4, generator=g), image=torch.randn(200, 4, generator=g))
    start = time.perf_counter()
    with pytest.raises(BudgetError, match=r"N=200 pairs \(40,000 pair evaluations.*above the budget of 0.1 s.*"
                                          r"partners=32 would take about .*max_seconds=math.inf"):
        gk.emap_model(SlowPairs(0.02), feats, batch_size=400, max_seconds=0.1)
    assert time.perf_counter() - start < 2
    with pytest.raises(BudgetError, match="Use fewer partners"):
        gk.emap_model(SlowPairs(0.02), feats, partners=100, seed=0, batch_size=400, max_seconds=0.1)
    monkeypatch.setenv("GROUNDING_KIT_MAX_SECONDS", "0.1")
    with pytest.raises(BudgetError, match="GROUNDING_KIT_MAX_SECONDS"):
        gk.emap_model(SlowPairs(0.02), feats, batch_size=400)
    with pytest.raises(BudgetError, match="exact perceptual score.*reshuffle"):
        gk.perceptual_score(np.zeros(200, dtype=int), SlowPairs(0.02), feats, batch_size=400)
    fast = gk.emap_model(SlowPairs(0.0), feats, batch_size=4000, max_seconds=math.inf)
    assert fast.projection.shape == (200, 2)

# ---------------------------------------------------------------- sums that overflow


@pytest.mark.parametrize("value", [1e308, -1e308, 5e307])
def test_a_finite_grid_whose_sums_overflow_is_a_kit_error_not_nan(value):
    import warnings

    P = np.full((4, 4, 2), value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no numpy RuntimeWarning on the way
        for call in (gk.emap, gk.decompose, lambda P: gk.emap_report([0, 1, 0, 1], P, n_boot=5),
                     lambda P: gk.perceptual_score([0, 1, 0, 1], P)):
            with pytest.raises(ValueError, match="overflows float64.*rescale"):
                call(P)


def test_large_but_summable_grids_still_work():
    P = _grid(6, 2) * 1e200                  # squares overflow, sums do not: decompose rescales
    share = gk.decompose(P).interaction_share
    assert np.isfinite(share).all() and np.allclose(share, gk.decompose(P / 1e200).interaction_share)


def test_emap_model_names_an_overflow_of_the_streamed_sums():
    import torch

    feats = gk.Features(text=torch.ones(4, 2), image=torch.ones(4, 2))
    huge = lambda t, v: torch.full((len(t), 2), 1e308, dtype=torch.float64)   # noqa: E731
    with pytest.raises(ValueError, match="overflow float64 when summed"):
        gk.emap_model(huge, feats)
    with pytest.raises(ValueError, match="overflow float64 when summed"):
        gk.emap_model(huge, feats, partners=3, seed=0)


def test_metrics_refuse_logits_whose_margins_overflow():
    from grounding_kit.analysis.metrics import pairwise_ranking_accuracy

    with pytest.raises(ValueError, match="overflows float64"):
        pairwise_ranking_accuracy([0.0, 1.0], np.array([[-1e308, 1e308], [0.0, 1.0]]))
