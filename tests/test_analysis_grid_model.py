"""A precomputed grid is a pair model: GridModel and the one rule that reads an array as a grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grounding_kit.analysis import GridModel, emap, emap_model, pairwise_logits, reshuffle
from grounding_kit.analysis.grid_model import as_pair_model
from grounding_kit.models.features import Features


def interacting_model(t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """A generic model with an interaction: logits (B, 2)."""
    return torch.stack([(t * v).sum(1), torch.tanh(t[:, 0] - v[:, 1])], dim=1)


def pairs(n: int = 12, dim: int = 3, seed: int = 0) -> Features:
    g = torch.Generator().manual_seed(seed)
    return Features(torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g))


def test_grid_model_reads_the_grid_and_rejects_non_grids():
    grid = torch.arange(2 * 2 * 3, dtype=torch.float32).reshape(2, 2, 3)
    model = GridModel(grid)
    assert torch.equal(model(torch.tensor([0, 1]), torch.tensor([1, 0])), grid[[0, 1], [1, 0]])
    assert len(model.features()) == 2 and model.features(1).text.tolist() == [0]
    assert GridModel(torch.zeros(3, 3)).grid.shape == (3, 3, 1)
    with pytest.raises(ValueError, match="square"):
        GridModel(torch.zeros(2, 3, 1))
    with pytest.raises(TypeError, match="floating"):
        GridModel(torch.zeros(2, 2, 1, dtype=torch.long))
    with pytest.raises(TypeError, match="integer torch tensor"):
        model(torch.tensor([0.0]), torch.tensor([1]))
    with pytest.raises(ValueError, match=r"outside \[0, 2\)"):
        model(torch.tensor([2]), torch.tensor([0]))
    with pytest.raises(ValueError, match="between 1 and N=2"):
        model.features(3)


def test_emap_of_a_grid_model_is_read_from_the_grid_and_matches_the_model():
    feats = pairs()
    grid = GridModel.from_model(interacting_model, feats)
    est = emap_model(grid, grid.features())
    assert est.method == "grid" and est.exact
    expected = emap_model(interacting_model, feats)
    torch.testing.assert_close(est.projection, expected.projection)
    torch.testing.assert_close(est.diagonal, expected.diagonal)
    torch.testing.assert_close(est.text_marginal, expected.text_marginal)
    np.testing.assert_allclose(emap_model(grid, grid.features()).projection.numpy(), emap(pairwise_logits(interacting_model, feats).numpy()))


def test_index_features_of_a_subset_give_the_subsets_own_grid():
    feats = pairs(10)
    grid = GridModel.from_model(interacting_model, feats)
    sub = grid.features(6)
    est = emap_model(grid, sub)
    torch.testing.assert_close(est.projection, emap_model(interacting_model, feats.take(range(6))).projection)
    shuffled = Features(torch.tensor([3, 1, 4]), torch.tensor([3, 1, 4]))
    np.testing.assert_allclose(grid.subgrid(shuffled),
                               pairwise_logits(interacting_model, feats.take([3, 1, 4])).double().numpy())


def test_monte_carlo_and_reshuffles_run_on_the_grid_with_the_models_values():
    feats = pairs(16)
    grid = GridModel.from_model(interacting_model, feats)
    a = emap_model(grid, grid.features(), partners=5, seed=3)
    b = emap_model(interacting_model, feats, partners=5, seed=3)
    torch.testing.assert_close(a.projection, b.projection)
    torch.testing.assert_close(reshuffle(grid, grid.features(), 0.5, seed=1), reshuffle(interacting_model, feats, 0.5, seed=1))


def test_one_rule_reads_an_array_as_a_grid():
    P = np.random.default_rng(0).normal(size=(4, 4, 2))
    model, feats = as_pair_model(P, None)
    assert isinstance(model, GridModel) and len(feats) == 4
    model2, feats2 = as_pair_model(model, None)
    assert model2 is model and feats2.text.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="feats were given too"):
        as_pair_model(P, pairs(4))
    with pytest.raises(TypeError, match="feats is required"):
        as_pair_model(interacting_model, None)
    with pytest.raises(TypeError, match="already a GridModel"):
        GridModel(model)


def test_the_generic_path_gathers_at_most_its_byte_budget_per_call():
    """Image-sized inputs: each model call sees at most GATHER_BYTES of gathered inputs (4096 pairs of
    64 x 64 RGB images were 200 MB per call), and the grid is the same as pair by pair."""
    from grounding_kit.analysis import pairs as pair_engine

    images = torch.randn(40, 3, 64, 64)
    texts = torch.randn(40, 8)
    seen = []

    def model(t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        seen.append(t.nbytes + v.nbytes)
        return torch.stack([t.sum(1) * v.mean((1, 2, 3)), v[:, 0, 0, 0]], dim=1)

    evaluator = pair_engine.PairEvaluator(model, Features(texts, images), torch.device("cpu"))
    per_pair = texts[0].nbytes + images[0].nbytes
    assert evaluator.pairs_per_call == pair_engine.GATHER_BYTES // per_pair < pair_engine.GENERIC_PAIRS
    grid = pairwise_logits(model, Features(texts, images), progress=False)
    assert max(seen) <= pair_engine.GATHER_BYTES
    one_by_one = torch.stack([torch.cat([model(texts[[i]], images[[j]]) for j in range(40)]) for i in range(40)])
    assert torch.allclose(torch.as_tensor(grid), one_by_one, atol=1e-5)
    assert pair_engine.PairEvaluator(model, Features(texts, images), torch.device("cpu"), batch_size=7).pairs_per_call == 7
