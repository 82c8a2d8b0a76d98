"""The additive fit under a chosen distribution of pairs (backfitting) and its comparison with EMAP."""

from __future__ import annotations

import numpy as np
import pytest

from grounding_kit.analysis import additive_comparison, emap, fit_additive


def weighted_least_squares(t, v, y, w):
    """Fitted values of y ~ g[t] + h[v] by weighted least squares on indicator columns (the slow way)."""
    kt, kv = t.max() + 1, v.max() + 1
    X = np.zeros((len(y), kt + kv))
    X[np.arange(len(y)), t] = 1.0
    X[np.arange(len(y)), kt + v] = 1.0
    root = np.sqrt(w)[:, None]
    beta = np.linalg.lstsq(X * root, y * root, rcond=None)[0]
    return X @ beta


@pytest.mark.parametrize("seed", range(5))
def test_fit_matches_weighted_least_squares(seed):
    rng = np.random.default_rng(seed)
    t, v = rng.integers(0, 4, 60), rng.integers(0, 3, 60)
    y, w = rng.normal(size=(60, 2)), rng.uniform(0.1, 2.0, 60)
    fit = fit_additive(t, v, y, weights=w)
    np.testing.assert_allclose(fit.predict(t, v), weighted_least_squares(t, v, y, w), atol=1e-8)


@pytest.mark.parametrize("seed", range(3))
def test_on_every_pair_of_a_grid_it_is_emap(seed):
    # each text its own key, each image its own key, every (i, j) once: the product of the marginals
    P = np.random.default_rng(seed).normal(size=(7, 7, 3))
    n = len(P)
    fit = fit_additive(np.repeat(np.arange(n), n), np.tile(np.arange(n), n), P.reshape(n * n, 3))
    np.testing.assert_allclose(fit.predict(np.arange(n), np.arange(n)), emap(P), atol=1e-9)


def test_additive_outputs_are_reproduced_even_with_a_combination_missing():
    g, h = {"a": 1.0, "b": -2.0}, {"x": 0.5, "y": 3.0}
    pairs = [("a", "x"), ("a", "y"), ("b", "x")] * 5  # ("b", "y") never occurs
    t, v = [p[0] for p in pairs], [p[1] for p in pairs]
    fit = fit_additive(t, v, [g[a] + h[b] for a, b in pairs])
    np.testing.assert_allclose(fit.predict(["b"], ["y"]), [[g["b"] + h["y"]]], atol=1e-9)
    assert fit.text_levels_ == ("a", "b") and fit.image_levels_ == ("x", "y")
    assert fit.grid().shape == (2, 2, 1)


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="not seen in fitting"):
        fit_additive(["a", "b"], ["x", "y"], [1.0, 2.0]).predict(["c"], ["x"])
    with pytest.raises(ValueError, match="inconsistent"):
        fit_additive(["a", "b"], ["x"], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        fit_additive(["a", "b"], ["x", "y"], [1.0, np.nan])
    with pytest.raises(ValueError, match="weights"):
        fit_additive(["a", "b"], ["x", "y"], [1.0, 2.0], weights=[-1.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        fit_additive(["a"], ["x"], np.zeros((1, 1, 1)))


def xor_world(n_per_cell: int = 10):
    """Grid of an XOR rule (yes when the keys agree) on items whose keys never pair as (1, 0).

    Under the product of the marginals the cells weigh 2/9, 4/9, 1/9 (the empty one) and 2/9; the
    additive fit there is -2/3 in every observed cell, right only on (0, 1): accuracy 1/3.
    """
    cells = [(0, 0), (0, 1), (1, 1)] * n_per_cell  # text key 1 with image key 0 never occurs
    text_keys = np.array([c[0] for c in cells])
    image_keys = np.array([c[1] for c in cells])
    yes = np.where(text_keys[:, None] == image_keys[None, :], 2.0, -2.0)  # the model's yes margin
    yes[np.ix_(text_keys == 1, image_keys == 0)] = -6.0  # confident "no" where no pair occurs
    grid = np.stack([np.zeros_like(yes), yes], axis=-1)  # (N, N, 2) logits
    labels = (text_keys == image_keys).astype(int)
    return grid, labels, text_keys, image_keys


def test_comparison_on_a_dependent_world_separates_the_two_weightings():
    grid, labels, t, v = xor_world()
    table = additive_comparison(labels, grid, None, t, v)
    scores = table["score"]
    assert scores["full model"] == 1.0
    # under the joint distribution the three observed cells are additive: the fit is exact there
    assert scores["additive fit over keys, joint distribution"] == 1.0
    # the product of marginals also weighs the never-observed cell, and an additive table cannot
    # fit the XOR there and on the observed cells at once
    assert scores["additive fit over keys, product of marginals"] == pytest.approx(1 / 3)
    cells = table.attrs["cells"]
    assert cells.loc[(1, 0), "pairs"] == 0 and cells.loc[(0, 0), "pairs"] == 10
    assert cells.loc[(1, 0), "model"][1] == -6.0  # the model's margin where no pair occurs
    np.testing.assert_allclose(cells.loc[(1, 1), "product fit"][1], -2 / 3, atol=1e-9)


def test_comparison_refuses_keys_of_another_length():
    grid, labels, t, v = xor_world()
    with pytest.raises(ValueError, match="inconsistent"):
        additive_comparison(labels, grid, None, t[:-1], v)
