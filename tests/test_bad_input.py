"""Bad input at the public boundary (issue 10, part 2): every case gets a clear kit error naming
the argument, file or shape, and nothing is lost or silently wrong.

Groups: seeds, labels outside the model's classes, sizes refused up front, overflow, caches,
folders (encodings, BOM, image modes, in-place edits), embed, the CLI (run as a subprocess
against a copy of data/).
"""

from __future__ import annotations

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.validation import BudgetError, check_seed, seed_int

# ---------------------------------------------------------------- seeds

BAD_SEEDS = [("abc", TypeError), (1.5, TypeError), (1.7, TypeError), (-1, ValueError), (True, TypeError),
             (None, TypeError), (2**64, ValueError), (np.float64(2.0), TypeError), ([1], TypeError)]


@pytest.mark.parametrize("seed, error", BAD_SEEDS)
def test_check_seed_refuses(seed, error):
    with pytest.raises(error, match="seed must be an integer"):
        check_seed(seed)


def test_check_seed_accepts_ints_and_generators():
    assert check_seed(np.int64(7)) == 7 and type(check_seed(np.int64(7))) is int
    rng = np.random.default_rng(0)
    assert check_seed(rng) is rng
    assert check_seed(None, allow_none=True) is None
    assert seed_int(np.random.default_rng(1)) == seed_int(np.random.default_rng(1))


def _small_vqa():
    return gk.make_task("vqa", n=6, seed=0, cache=False)


def _feats(n=6, d=4):
    import torch

    g = torch.Generator().manual_seed(0)
    return gk.Features(text=torch.randn(n, d, generator=g), image=torch.randn(n, d, generator=g))


def _bilinear_model(feats):
    import torch

    def model(t, v):
        return torch.stack([(t * v).sum(1), -(t * v).sum(1)], dim=1)
    return model


SEED_CALLS = {
    "make_task": lambda seed: gk.make_task("match", n=4, seed=seed, cache=False),
    "rebalance": lambda seed: gk.rebalance(_small_vqa(), seed=seed, cache=False),
    "sample_scenes": lambda seed: gk.world.sample_scenes(2, seed=seed),
    "reshuffle": lambda seed: gk.reshuffle(_bilinear_model(None), _feats(), 0.5, seed=seed),
    "shuffle_permutation": lambda seed: gk.analysis.shuffle_permutation(6, 0.5, seed=seed),
    "reshuffle_average": lambda seed: next(iter(gk.reshuffle_average(_bilinear_model(None), _feats(), 1, seed=seed))),
    "emap_model": lambda seed: gk.emap_model(_bilinear_model(None), _feats(), partners=2, seed=seed),
    "emap_report": lambda seed: gk.emap_report([0, 1, 0, 1, 0, 1], np.zeros((6, 6, 2)), n_boot=5, seed=seed),
}


@pytest.mark.parametrize("name", sorted(SEED_CALLS))
@pytest.mark.parametrize("seed, error", [("abc", TypeError), (1.5, TypeError), (1.7, TypeError),
                                         (-1, ValueError), (True, TypeError)])
def test_public_functions_share_the_seed_validator(name, seed, error):
    with pytest.raises(error, match="seed must be an integer"):
        SEED_CALLS[name](seed)


@pytest.mark.parametrize("name", ["make_task", "rebalance", "shuffle_permutation", "emap_report"])
def test_a_generator_is_a_valid_seed(name):
    SEED_CALLS[name](np.random.default_rng(3))


def test_rebalance_no_longer_truncates_a_float_seed():
    ds = _small_vqa()
    with pytest.raises(TypeError):
        gk.rebalance(ds, seed=1.7, cache=False)
    assert gk.rebalance(ds, seed=1, cache=False)["text"] == gk.rebalance(ds, seed=np.int64(1), cache=False)["text"]


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
    from grounding_kit import checks
    from grounding_kit.widgets.helpers import label_margin, label_margin_grid

    logits = _grid()[0]
    with pytest.raises(ValueError, match="labels"):
        label_margin(logits, np.array([0, 1, 0, 1, 0, 1, 0, -1]))
    with pytest.raises(ValueError, match="labels"):
        label_margin_grid(_grid(), np.array([0, 1, 0, 1, 0, 1, 0, 5]))
    with pytest.raises(ValueError, match="labels"):
        checks.check_accuracy(0.5, logits, np.array([0, 1, 0, 1, 0, 1, 0, 5]))
