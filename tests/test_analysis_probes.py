"""Linear probes read a property off features exactly when it is linearly there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grounding_kit.analysis import linear_probe

rng = np.random.default_rng(0)


def test_probe_reads_a_linear_property_and_not_noise():
    X = rng.normal(size=(300, 6))
    readable = linear_probe(torch.from_numpy(X), np.where(X[:, 0] > 0, "warm", "cool"))
    assert readable.accuracy > 0.95 and readable.classes == 2
    coin = rng.integers(0, 2, 300)
    noise = linear_probe(X, coin)
    assert abs(noise.accuracy - 0.5) < 0.1
    assert noise.chance == pytest.approx(np.bincount(coin).max() / 300)


def test_probe_cannot_read_xor_linearly():
    X = rng.choice([-1.0, 1.0], size=(400, 2)) + rng.normal(scale=0.1, size=(400, 2))
    xor = (X[:, 0] > 0) ^ (X[:, 1] > 0)
    assert linear_probe(X, xor).accuracy < 0.65


@pytest.mark.parametrize("features, targets, error, message", [
    (np.zeros((10, 2, 2)), np.zeros(10), ValueError, r"features must be \(N, D\)"),
    (np.zeros((10, 2)), np.zeros(9), ValueError, "inconsistent numbers of samples"),
    (np.zeros((10, 2)), np.zeros(10), ValueError, "single value"),
    (np.zeros((10, 2)), np.array([0] * 8 + [1] * 2), ValueError, "occurs 2 times, fewer than folds=5"),
])
def test_probe_argument_errors(features, targets, error, message):
    with pytest.raises(error, match=message):
        linear_probe(features, targets)
