"""Interaction profiles: parallel lines exactly for additive grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grounding_kit.analysis import interaction_profile, profile_interaction_share

rng = np.random.default_rng(0)
groups_t, groups_v = rng.integers(0, 3, 40), rng.choice(["a", "b", "c", "d"], 40)


def test_additive_grid_gives_parallel_lines():
    grid = rng.normal(size=40)[:, None] + rng.normal(size=40)[None, :]
    profile = interaction_profile(torch.from_numpy(grid), groups_t, groups_v)
    assert profile.shape == (3, 4) and list(profile.columns) == ["a", "b", "c", "d"]
    differences = profile.to_numpy() - profile.to_numpy()[:1]
    np.testing.assert_allclose(differences, differences[:, :1].repeat(4, axis=1), atol=1e-12)  # shifted copies
    assert profile_interaction_share(profile) < 1e-20


def test_matching_grid_gives_crossing_lines_and_cell_means():
    same = (groups_t[:, None] == np.array([ord(g) - ord("a") for g in groups_v])[None, :]).astype(float)
    grid = np.stack([np.zeros_like(same), same], axis=-1)
    profile = interaction_profile(grid, groups_t, groups_v, cls=1)
    np.testing.assert_allclose(profile.loc[1, "b"], 1.0)
    assert profile.loc[0, "b"] == 0.0
    assert profile_interaction_share(profile) > 0.5


@pytest.mark.parametrize("grid, kwargs, message", [
    (np.zeros((40, 40, 2)), {}, "pass cls="),
    (np.zeros((40, 40, 2)), {"cls": 2}, r"cls must be a class index in \[0, 2\)"),
    (np.zeros((40, 40)), {"cls": 0}, "no class axis"),
    (np.zeros((40, 39)), {}, r"\(N, N\) or \(N, N, C\)"),
])
def test_profile_argument_errors(grid, kwargs, message):
    with pytest.raises(ValueError, match=message):
        interaction_profile(grid, groups_t, groups_v, **kwargs)


def test_profile_group_length_mismatch_and_empty_cells():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        interaction_profile(np.zeros((40, 40)), groups_t[:39], groups_v)
    profile = interaction_profile(np.zeros((2, 2)), [0, 1], ["a", "b"])
    profile.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="empty group pairs"):
        profile_interaction_share(profile)
