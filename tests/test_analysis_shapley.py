"""Modality Shapley values and interaction indices: against decompose (M = 2) and a known interaction (M = 3)."""

import numpy as np
import pytest
import torch

import grounding_kit as gk
from grounding_kit.analysis.shapley import coalition_values, interaction_matrix

N = 7


def test_two_modalities_match_the_anova_decomposition():
    P = np.random.default_rng(0).normal(size=(N, N, 3))
    s, d = gk.modality_shapley(P, target=None), gk.decompose(P)
    i = np.arange(N)
    np.testing.assert_allclose(s.interactions[:, 0, 1], d.interaction[i, i], atol=1e-12)
    np.testing.assert_allclose(s.values[:, 0], d.text_effect + d.interaction[i, i] / 2, atol=1e-12)
    np.testing.assert_allclose(s.values[:, 1], d.image_effect + d.interaction[i, i] / 2, atol=1e-12)
    # the prediction minus the interaction index is EMAP's prediction
    np.testing.assert_allclose(s.prediction - s.interactions[:, 0, 1], gk.emap(P), atol=1e-12)


def test_an_additive_grid_has_no_interaction_and_efficiency_holds():
    rng = np.random.default_rng(1)
    P = rng.normal(size=(N, 1, 2)) + rng.normal(size=(1, N, 2))
    s = gk.modality_shapley(P)
    np.testing.assert_allclose(s.interactions, 0, atol=1e-12)
    np.testing.assert_allclose(s.values.sum(1), s.prediction - s.baseline, atol=1e-12)
    assert gk.interaction_score(P) == pytest.approx(0, abs=1e-12)


def test_three_modalities_with_a_known_interaction():
    """f = x1 * x2 + x3 on balanced bits: modalities 1 and 2 interact by +-1/4 on every item, 3 is additive."""
    bits = np.array([0, 1] * 4, dtype=float)
    n = len(bits)
    P = bits[:, None, None] * bits[None, :, None] + bits[None, None, :]
    s = gk.modality_shapley(P, modalities=3)
    centred = bits - bits.mean()
    np.testing.assert_allclose(s.interactions[:, 0, 1], centred * centred, atol=1e-12)
    np.testing.assert_allclose(s.interactions[:, 0, 2], 0, atol=1e-12)
    np.testing.assert_allclose(s.interactions[:, 1, 2], 0, atol=1e-12)
    np.testing.assert_allclose(s.values[:, 2], centred, atol=1e-12)
    np.testing.assert_allclose(s.values.sum(1), s.prediction - s.baseline, atol=1e-12)
    assert s.values.shape == (n, 3) and s.interactions.shape == (n, 3, 3)


def test_xor_is_all_interaction_and_shares_are_even():
    bits = np.array([0, 1] * 5)
    P = np.zeros((10, 10, 2))
    P[..., 1] = np.where(bits[:, None] == bits[None, :], 2.0, -2.0)
    assert gk.interaction_score(P) == pytest.approx(1.0)
    np.testing.assert_allclose(gk.mm_shap(P), 0.5)
    matrix = interaction_matrix(gk.modality_shapley(P))
    np.testing.assert_allclose(matrix.sum((1, 2)), gk.modality_shapley(P).prediction - gk.modality_shapley(P).baseline)


def test_mm_shap_of_a_text_only_model_is_all_text():
    P = np.repeat(np.random.default_rng(2).normal(size=(N, 1, 2)), N, axis=1)
    np.testing.assert_allclose(gk.mm_shap(P)[:, 0], 1.0)


def test_torch_grids_and_coalitions():
    P = torch.arange(8.0).reshape(2, 2, 2)
    v = coalition_values(P, 3)
    assert v[frozenset()].tolist() == [3.5, 3.5] and v[frozenset({0, 1, 2})].tolist() == [0.0, 7.0]


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        gk.modality_shapley(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="modalities"):
        gk.modality_shapley(np.zeros((3, 3)), modalities=1)
    with pytest.raises(ValueError, match="target"):
        gk.modality_shapley(np.zeros((3, 3, 2)), target=5)
    with pytest.raises(ValueError, match="non-finite"):
        gk.modality_shapley(np.full((3, 3), np.nan))
    with pytest.raises(TypeError, match="numeric"):
        gk.modality_shapley([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="one output"):
        gk.mm_shap(np.zeros((3, 3, 2)), target=None)
