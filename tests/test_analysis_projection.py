"""EMAP and decompose on materialized grids: golden example, properties, guardrails."""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from grounding_kit.analysis import ProbabilityInputWarning, decompose, emap

# The worked example of Hessel and Lee (EMNLP 2020, appendix): the whole 3 x 3 grid, rows texts,
# columns images. Hand check:
#   row means    r = [(-1.3+0.3-0.2)/3, (0.8+3.0+1.1)/3, (1.1-0.1+0.7)/3] = [-0.4, 1.6333, 0.5667]
#   column means c = [(-1.3+0.8+1.1)/3, (0.3+3.0-0.1)/3, (-0.2+1.1+0.7)/3] = [0.2, 1.0667, 0.5333]
#   grand mean   g = 5.4 / 9 = 0.6
#   r + c - g      = [-0.8, 2.1, 0.5]
WORKED_EXAMPLE = np.array([[-1.3, 0.3, -0.2],
                           [0.8, 3.0, 1.1],
                           [1.1, -0.1, 0.7]])

# hypothesis may draw grids whose class axis happens to sum to 1; the warning is tested below
pytestmark = pytest.mark.filterwarnings("ignore::grounding_kit.analysis.grids.ProbabilityInputWarning")

grids = st.integers(2, 7).flatmap(lambda n: st.integers(1, 3).flatmap(
    lambda c: arrays(np.float64, (n, n, c), elements=st.floats(-50, 50, allow_nan=False))))


def dict_reference(P: np.ndarray) -> np.ndarray:
    """EMAP the slow way, from a nested dict {text index: {image index: logits}}."""
    logits = {i: {j: P[i, j] for j in range(len(P))} for i in range(len(P))}
    by_image = collections.defaultdict(list)
    for i, row in logits.items():
        for j, value in row.items():
            by_image[j].append(value)
    grand = np.mean([v for row in logits.values() for v in row.values()], axis=0)
    return np.array([np.mean(list(logits[i].values()), axis=0) + np.mean(by_image[i], axis=0) - grand
                     for i in range(len(P))])


def test_golden_worked_example():
    assert np.allclose(np.diag(WORKED_EXAMPLE), [-1.3, 3.0, 0.7])
    np.testing.assert_allclose(emap(WORKED_EXAMPLE), [-0.8, 2.1, 0.5], atol=1e-12)


def test_golden_worked_example_torch_and_class_axis():
    out = emap(torch.tensor(WORKED_EXAMPLE[:, :, None], dtype=torch.float32))
    assert isinstance(out, torch.Tensor) and out.shape == (3, 1) and out.dtype == torch.float64
    np.testing.assert_allclose(out[:, 0].numpy(), [-0.8, 2.1, 0.5], atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(grids)
def test_matches_dict_of_dicts_reference(P):
    np.testing.assert_allclose(emap(P), dict_reference(P), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_additive_function_is_its_own_projection(n, c, seed):
    rng = np.random.default_rng(seed)
    g, h = rng.normal(size=(n, c)) * 5, rng.normal(size=(n, c)) * 5
    P = g[:, None, :] + h[None, :, :]
    np.testing.assert_allclose(emap(P), g + h, atol=1e-9)
    assert np.abs(decompose(P).interaction).max() < 1e-9


@settings(max_examples=40, deadline=None)
@given(grids)
def test_projection_is_idempotent(P):
    parts = decompose(P)
    additive_grid = parts.grand_mean + parts.text_effect[:, None, :] + parts.image_effect[None, :, :]
    np.testing.assert_allclose(emap(additive_grid), emap(P), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(grids)
def test_decomposition_is_exact_and_residual_is_double_centred(P):
    parts = decompose(P)
    rebuilt = parts.grand_mean + parts.text_effect[:, None] + parts.image_effect[None, :] + parts.interaction
    np.testing.assert_allclose(rebuilt, P, atol=1e-9)
    np.testing.assert_allclose(parts.interaction.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(parts.interaction.mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(parts.projection(), emap(P), atol=1e-9)
    assert np.all((parts.interaction_share >= 0) & (parts.interaction_share <= 1 + 1e-12))


def test_pure_interaction_has_share_one_and_constant_projection():
    P = np.where(np.eye(4, dtype=bool), 1.0, -1.0 / 3)  # matches vs mismatches, double-centred
    parts = decompose(P)
    assert parts.interaction_share == pytest.approx(1.0)
    np.testing.assert_allclose(emap(P), np.zeros(4), atol=1e-12)


def test_torch_in_torch_out_and_numpy_in_numpy_out():
    P = np.random.default_rng(0).normal(size=(5, 5, 2))
    assert isinstance(emap(P), np.ndarray)
    parts = decompose(torch.from_numpy(P).float())
    assert isinstance(parts.interaction, torch.Tensor) and parts.interaction.shape == (5, 5, 2)
    assert parts.grand_mean.shape == (2,) and parts.interaction_share.shape == (2,)


def test_float64_accumulation_survives_large_offsets():
    P = (np.random.default_rng(1).normal(size=(50, 50, 1)) + 1e6).astype(np.float32)
    np.testing.assert_allclose(emap(P), dict_reference(P.astype(np.float64)), atol=1e-6)


# -- guardrails: one test per message ------------------------------------------------------


def test_warns_on_probabilities():
    probs = np.random.default_rng(0).dirichlet(np.ones(3), size=(4, 4))
    with pytest.warns(ProbabilityInputWarning, match="defined on logits"):
        emap(probs)


@pytest.mark.filterwarnings("error")
def test_no_warning_on_logits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emap(np.random.default_rng(0).normal(size=(4, 4, 3)))


def test_non_square_grid():
    with pytest.raises(ValueError, match=r"P must be square.*shape \(3, 4, 2\)"):
        emap(np.zeros((3, 4, 2)))


def test_too_few_pairs():
    with pytest.raises(ValueError, match=r"N >= 2.*shape \(1, 1\)"):
        emap(np.zeros((1, 1)))


def test_wrong_number_of_axes():
    with pytest.raises(ValueError, match=r"shape \(N, N\) or \(N, N, C\).*shape \(4,\)"):
        decompose(np.zeros(4))


def test_empty_class_axis():
    with pytest.raises(ValueError, match="empty class axis"):
        emap(np.zeros((3, 3, 0)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf(bad):
    P = np.zeros((3, 3))
    P[1, 2] = bad
    with pytest.raises(ValueError, match=r"P must be finite.*first at index \(1, 2"):
        emap(P)


@pytest.mark.parametrize("P", [np.zeros((3, 3), dtype=int), np.zeros((3, 3), dtype=bool),
                               np.full((3, 3), "a"), np.zeros((3, 3), dtype=object),
                               torch.zeros(3, 3, dtype=torch.long)])
def test_non_float_dtype(P):
    with pytest.raises(TypeError, match="P must hold floating-point logits.*dtype"):
        emap(P)


def test_not_an_array():
    with pytest.raises(TypeError, match="numpy array or a torch tensor.*list of length 2"):
        emap([[0.0, 1.0], [1.0, 0.0]])
