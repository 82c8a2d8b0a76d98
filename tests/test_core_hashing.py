"""One weights hash for feature caches, grid caches and distributed checkpoints (core.hashing)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from grounding_kit.core.hashing import weights_hash


class Deep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.outer = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), nn.Sequential(nn.Linear(4, 2))))
        self.register_buffer("scale", torch.ones(2), persistent=False)

    def forward(self, t, v):
        return self.outer(t + v) * self.scale


def deep_pair() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    a = Deep()
    b = copy.deepcopy(a)
    with torch.no_grad():
        b.outer[1][1][0].weight[1, 3] += 1e-6  # one weight, three submodules down
    return a, b


def test_two_models_differing_in_one_deep_weight_get_different_identities(tmp_path):
    a, b = deep_pair()
    assert weights_hash(a) == weights_hash(copy.deepcopy(a)) and len(weights_hash(a)) == 16
    assert weights_hash(a) != weights_hash(b)
    from grounding_kit.analysis.distributed import _manifest
    from grounding_kit.models.features import Features

    feats = Features(torch.zeros(3, 4), torch.zeros(3, 4))
    assert _manifest(a, feats, [], {})["weights_hash"] != _manifest(b, feats, [], {})["weights_hash"]


def test_buffers_dtypes_shapes_and_names_count():
    a, _ = deep_pair()
    b = copy.deepcopy(a)
    b.scale.mul_(2)  # a non-persistent buffer (not in state_dict)
    assert weights_hash(a) != weights_hash(b)
    x = torch.arange(4, dtype=torch.int32)
    assert weights_hash(x) != weights_hash(x.float().view(torch.int32))  # same count, other bytes
    assert weights_hash(x) != weights_hash(x.reshape(2, 2))  # same bytes, other shape
    assert weights_hash(x) != weights_hash(x.view(torch.float32))  # same bytes, other dtype
    assert weights_hash({"w": x}) != weights_hash({"v": x})  # same tensor, other name
    assert weights_hash(x) == weights_hash(x.clone()) and weights_hash(np.arange(3)) == weights_hash(np.arange(3))


def test_a_wrapper_is_hashed_through_its_attributes():
    a, b = deep_pair()

    class Wrapper:
        def __init__(self, module, batch_size):
            self.module, self.batch_size = module, batch_size

    assert weights_hash(Wrapper(a, 8)) == weights_hash(Wrapper(copy.deepcopy(a), 8))
    assert weights_hash(Wrapper(a, 8)) != weights_hash(Wrapper(b, 8))
    assert weights_hash(Wrapper(a, 8)) != weights_hash(Wrapper(a, 16))


@pytest.mark.parametrize("thing", [lambda t, v: t + v, print, np.array([object()]), Exception])
def test_what_it_cannot_hash_is_refused_not_named(thing):
    with pytest.raises(TypeError, match="weights_hash cannot hash"):
        weights_hash(thing)
    with pytest.raises(TypeError, match=r"weights_hash cannot hash obj\[1\]"):
        weights_hash([torch.zeros(1), thing])
