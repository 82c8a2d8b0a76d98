"""The conventions every public analysis function follows: labels first (an old order is refused by
name), seed=0 by default, one labels contract (shared with fit_head), exceptions exported at gk."""

from __future__ import annotations

import importlib
import sys
import warnings

import numpy as np
import pytest
import torch

import grounding_kit as gk
from grounding_kit.analysis import (accuracy, cross_validate_emap, emap_model, emap_report, label_margin,
                                    label_margin_grid, margin_gap, perceptual_score, reshuffle, reshuffle_average,
                                    reshuffle_grid, reshuffle_grid_average, shuffle_permutation)
from grounding_kit.core.validation import check_labels


def pairs(n: int = 12, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    feats = gk.Features(torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g))

    def model(t, v):
        s = (t * v).sum(1, keepdim=True) + t[:, :1]
        return torch.cat([torch.zeros_like(s), s], dim=1)

    labels = (model(feats.text, feats.image)[:, 1] > 0).long().numpy()
    return model, feats, labels


# ---------------------------------------------------------------- labels first

def test_a_call_in_the_old_argument_order_is_refused_by_name():
    model, feats, y = pairs()
    grid = gk.pairwise_logits(model, feats).numpy()
    logits = grid[np.arange(12), np.arange(12)]
    calls = {
        r"emap_report\(labels, model, feats": lambda: emap_report(model, feats, y),
        r"emap_report\(labels, model, feats": lambda: emap_report(grid, y),
        r"perceptual_score\(labels, model, feats": lambda: perceptual_score(model, feats, y),
        r"cross_validate_emap\(labels, fit, feats": lambda: cross_validate_emap(lambda f, l: model, feats, y),
        r"label_margin\(labels, logits\)": lambda: label_margin(logits, y),
        r"label_margin_grid\(labels, grid\)": lambda: label_margin_grid(grid, y),
        r"margin_gap\(labels, logits, reference\)": lambda: margin_gap(logits, logits, y),
        r"accuracy\(labels, logits\)": lambda: accuracy(logits, y),
        r"fit_head\(kind, feats, labels\)": lambda: check_labels(feats, call="fit_head(kind, feats, labels)"),
    }
    for order, call in calls.items():
        with pytest.raises(TypeError, match=order):
            call()
    with pytest.raises(TypeError, match=r"emap_report\(labels, model, feats"):
        emap_report(grid, y)


def test_the_new_order_gives_the_old_answers():
    model, feats, y = pairs()
    grid = gk.pairwise_logits(model, feats).numpy()
    logits = grid[np.arange(12), np.arange(12)]
    expected = logits[np.arange(12), y] - logits.mean(1)
    np.testing.assert_allclose(label_margin(y, logits), expected)
    np.testing.assert_allclose(np.diagonal(label_margin_grid(y, grid)), expected)
    assert margin_gap(y, logits, logits + 1.0) == pytest.approx(0.0, abs=1e-6)  # a constant shift moves no margin


# ---------------------------------------------------------------- seed=0 by default

def test_randomised_functions_are_reproducible_by_default_and_fresh_on_request():
    model, feats, _ = pairs(40)
    grid = gk.pairwise_logits(model, feats).numpy()
    same = {
        "emap_model": lambda **s: emap_model(model, feats, partners=5, **s).projection.numpy(),
        "reshuffle": lambda **s: reshuffle(model, feats, 0.5, **s).numpy(),
        "reshuffle_average": lambda **s: list(reshuffle_average(model, feats, 2, **s))[-1].numpy(),
        "shuffle_permutation": lambda **s: shuffle_permutation(40, 0.5, **s),
        "reshuffle_grid": lambda **s: reshuffle_grid(grid, 0.5, **s),
        "reshuffle_grid_average": lambda **s: list(reshuffle_grid_average(grid, 2, **s))[-1],
    }
    for name, call in same.items():
        np.testing.assert_array_equal(call(), call(), err_msg=name)
        np.testing.assert_array_equal(call(), call(seed=0), err_msg=name)
        draws = [call(seed=None) for _ in range(3)]
        assert any(not np.array_equal(draws[0], d) for d in draws[1:]), name


# ---------------------------------------------------------------- one labels contract

def test_boolean_labels_are_0_1_everywhere():
    model, feats, y = pairs(30)
    as_bool = y.astype(bool)
    np.testing.assert_array_equal(check_labels(as_bool), y)
    assert check_labels(np.eye(3, dtype=bool)).dtype == np.float64
    a, b = emap_report(as_bool, model, feats, n_boot=20), emap_report(y, model, feats, n_boot=20)
    assert a.figures() == b.figures()
    head_bool = gk.fit_head("additive", feats, as_bool, epochs=5, seed=0)
    head_int = gk.fit_head("additive", feats, y, epochs=5, seed=0)
    torch.testing.assert_close(head_bool(feats.text, feats.image), head_int(feats.text, feats.image))
    assert perceptual_score(as_bool, model, feats) == perceptual_score(y, model, feats)


def test_single_class_labels_with_macro_auc_are_refused_by_name_without_warnings():
    model, feats, _ = pairs(20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"metric='macro_auc' is undefined.*only the class\(es\).*\[1\]"):
            emap_report(np.ones(20, dtype=int), model, feats, metric="macro_auc", n_boot=20)


def test_non_numeric_and_empty_labels():
    with pytest.raises(TypeError, match="labels must be .* of numbers"):
        check_labels(["cat", "dog"])
    with pytest.raises(ValueError, match="N >= 1"):
        check_labels(np.zeros(0))
    with pytest.raises(ValueError, match="must be finite"):
        check_labels(np.array([0.0, np.nan]))


# ---------------------------------------------------------------- exceptions and extras

def test_the_exceptions_of_the_analysis_functions_are_exported():
    for name in ("BudgetError", "ProbabilityInputWarning", "NotFittedError", "DataError"):
        assert isinstance(getattr(gk, name), type) and name in gk.__all__


def test_a_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    monkeypatch.delitem(sys.modules, "grounding_kit.analysis.distributed", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'grounding_kit\[dask\]'"):
        importlib.import_module("grounding_kit.analysis.distributed")
    model, feats, _ = pairs()
    with pytest.raises(ImportError, match=r"pip install 'grounding_kit\[dask\]'"):
        emap_model(model, feats, checkpoint="unused-folder")
