"""EMAP and the functional-ANOVA decomposition for M >= 2 modalities, against brute force."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import grounding_kit as gk
from grounding_kit.analysis.multimodal import (MultiDecomposition, decompose_modalities, emap_grid, emap_multimodal,
                                               monte_carlo_error, tuple_logits)
from grounding_kit.models.multimodal_head import FirstLayerOnly, MultimodalHead, fit_multimodal_head


def brute_force_emap(P: np.ndarray, m: int) -> np.ndarray:
    """The additive projection by its definition, one tuple at a time: sum of partial dependences - (M-1) grand."""
    n = P.shape[0]
    grand = np.mean([P[idx] for idx in itertools.product(range(n), repeat=m)], axis=0)
    out = []
    for i in range(n):
        value = -(m - 1) * grand
        for a in range(m):
            cells = [P[idx] for idx in itertools.product(range(n), repeat=m) if idx[a] == i]
            value = value + np.mean(cells, axis=0)
        out.append(value)
    return np.array(out)


def diagonal(P: np.ndarray, m: int) -> np.ndarray:
    idx = np.arange(P.shape[0])
    return P[(idx,) * m]


def additive_grid(rng: np.random.Generator, n: int, m: int, c: int) -> np.ndarray:
    effects = rng.normal(size=(m, n, c))
    grid = np.zeros((n,) * m + (c,))
    for a in range(m):
        shape = [1] * m + [c]
        shape[a] = n
        grid = grid + effects[a].reshape(shape)
    return grid + 3.0


@pytest.mark.parametrize("m", [3, 4])
def test_emap_matches_brute_force(m):
    rng = np.random.default_rng(m)
    P = rng.normal(size=(4,) * m + (2,))
    np.testing.assert_allclose(gk.emap(P, modalities=m), brute_force_emap(P, m), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(2, 4), n=st.integers(2, 5), c=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_additive_function_is_its_own_projection(m, n, c, seed):
    P = additive_grid(np.random.default_rng(seed), n, m, c)
    np.testing.assert_allclose(gk.emap(P, modalities=m), diagonal(P, m), atol=1e-12)
    parts = gk.decompose(P, modalities=m) if m > 2 else decompose_modalities(P, 2)
    np.testing.assert_allclose(parts.interaction_share, 0.0, atol=1e-12)


def test_multiviz_style_single_grand_mean_is_wrong_for_three():
    """The issue's point: subtracting the grand mean once leaves (M - 2) grand means over for M = 3."""
    P = additive_grid(np.random.default_rng(0), 5, 3, 1)
    once = sum(P.mean(axis=tuple(b for b in range(3) if b != a)) for a in range(3)) - P.mean(axis=(0, 1, 2))
    assert not np.allclose(once, diagonal(P, 3))
    np.testing.assert_allclose(gk.emap(P, modalities=3), diagonal(P, 3), atol=1e-12)


def test_text_audio_interaction_lands_in_its_pair():
    rng = np.random.default_rng(1)
    n = 6
    P = additive_grid(rng, n, 3, 2) + rng.normal(size=(n, 1, n, 2))  # text (axis 0) x audio (axis 2) only
    parts = gk.decompose(P, modalities=3, order=2)
    assert isinstance(parts, MultiDecomposition)
    table = parts.share_table()
    assert table["text x audio"] > 0.05
    np.testing.assert_allclose(parts.shares[(0, 2)], parts.interaction_share, atol=1e-12)
    for key in [(0, 1), (1, 2), "remainder"]:
        np.testing.assert_allclose(parts.shares[key], 0.0, atol=1e-12)


@pytest.mark.parametrize("m,order", [(3, 2), (3, 1), (4, 2), (4, 3), (3, 3)])
def test_terms_orthogonal_and_reconstruct(m, order):
    rng = np.random.default_rng(10 * m + order)
    n, c = 4, 2
    P = rng.normal(size=(n,) * m + (c,)) ** 3
    parts = gk.decompose(P, modalities=m, order=order)
    full = []  # every term broadcast to the grid
    for a, effect in enumerate(parts.main_effects):
        shape = [1] * m + [c]
        shape[a] = n
        full.append(np.broadcast_to(effect.reshape(shape), P.shape))
    for subset, term in parts.interactions.items():
        assert len(subset) <= order
        shape = [n if a in subset else 1 for a in range(m)] + [c]
        full.append(np.broadcast_to(term.reshape(shape), P.shape))
    full.append(parts.remainder)
    np.testing.assert_allclose(parts.grand_mean + sum(full), P, atol=1e-10)
    for x, y in itertools.combinations(full, 2):  # orthogonal under the uniform product measure
        np.testing.assert_allclose((x * y).reshape(-1, c).mean(0), 0.0, atol=1e-10)
    np.testing.assert_allclose(sum(parts.shares.values()), 1.0, atol=1e-12)
    assert len(parts.interactions) == sum(len(list(itertools.combinations(range(m), k))) for k in range(2, order + 1))


def test_two_modalities_equal_todays_results():
    rng = np.random.default_rng(2)
    for shape in [(6, 6, 3), (5, 5)]:
        P = rng.normal(size=shape)
        today = gk.decompose(P)
        general = decompose_modalities(P, 2)
        # the M-modality path called directly with M = 2 against the pair path (gk.emap's default)
        np.testing.assert_allclose(emap_grid(P, modalities=2), gk.emap(P), atol=1e-12)
        np.testing.assert_allclose(general.projection(), gk.emap(P), atol=1e-12)
        np.testing.assert_allclose(general.main_effects[0], today.text_effect, atol=1e-12)
        np.testing.assert_allclose(general.main_effects[1], today.image_effect, atol=1e-12)
        np.testing.assert_allclose(general.interactions[(0, 1)], today.interaction, atol=1e-12)
        np.testing.assert_allclose(general.interaction_share, today.interaction_share, atol=1e-12)
        np.testing.assert_allclose(general.remainder, 0.0, atol=1e-12)


def test_torch_in_torch_out_and_bad_input():
    P = torch.randn(3, 3, 3, 2, dtype=torch.float64)
    out = gk.emap(P, modalities=3)
    assert isinstance(out, torch.Tensor) and out.shape == (3, 2)
    with pytest.raises(ValueError, match="modalities=3"):
        gk.emap(np.zeros((3, 3)), modalities=3)
    with pytest.raises(ValueError, match="same length N"):
        gk.emap(np.zeros((3, 4, 3)), modalities=3)
    with pytest.raises(ValueError, match=">= 2"):
        gk.emap(np.zeros((3, 3, 3)), modalities=1)
    with pytest.raises(TypeError, match="modalities"):
        gk.emap(np.zeros((3, 3, 3)), modalities="3")
    with pytest.raises(ValueError, match="order"):
        gk.decompose(np.zeros((3, 3, 3)), modalities=3, order=4)
    with pytest.raises(ValueError, match="finite"):
        gk.emap(np.full((3, 3, 3), np.nan), modalities=3)


class PlainModel(torch.nn.Module):
    """The head without its structure: the generic stream evaluates it tuple by tuple."""

    def __init__(self, head: MultimodalHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(*inputs)


@pytest.fixture(scope="module")
def head_and_inputs():
    torch.manual_seed(0)
    xs = [torch.randn(9, d) for d in (5, 4, 3)]
    return MultimodalHead([5, 4, 3], classes=3, hidden=16), xs


def test_model_emap_brute_force_equals_streamed(head_and_inputs):
    head, xs = head_and_inputs
    grid = tuple_logits(head, xs)
    reference = gk.emap(grid, modalities=3)
    closed = emap_multimodal(head, xs)
    structured = emap_multimodal(FirstLayerOnly(head), xs)
    generic = emap_multimodal(PlainModel(head), xs)
    assert closed.method == "relu closed form"
    assert structured.method == "first-layer-linear stream" and generic.method == "generic stream"
    np.testing.assert_allclose(generic.projection, reference, atol=1e-12)
    for estimate in (closed, structured):  # float32 first layer
        np.testing.assert_allclose(estimate.projection, reference, atol=1e-5)
        np.testing.assert_allclose(estimate.diagonal, diagonal(grid, 3), atol=1e-5)
    for a in range(3):
        np.testing.assert_allclose(closed.marginals[a], grid.mean(axis=tuple(b for b in range(3) if b != a)),
                                   atol=1e-5)
    # the gk.emap_model entry point takes the M inputs too
    np.testing.assert_allclose(gk.emap_model(PlainModel(head), xs).projection, reference, atol=1e-12)


def test_model_emap_two_modalities_equals_pair_path(head_and_inputs):
    head2 = MultimodalHead([5, 4], classes=2, hidden=8)
    xs = head_and_inputs[1][:2]
    grid = tuple_logits(head2, xs)
    np.testing.assert_allclose(emap_multimodal(PlainModel(head2), xs).projection, gk.emap(grid), atol=1e-12)


def test_monte_carlo_unbiased_and_reproducible(head_and_inputs):
    head, xs = head_and_inputs
    exact = emap_multimodal(head, xs).projection
    draws = np.stack([emap_multimodal(head, xs, partners=4, seed=s).projection for s in range(400)])
    spread = draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(0) - exact) < 5 * spread + 1e-9)
    first, again = (emap_multimodal(head, xs, partners=4, seed=7) for _ in range(2))
    np.testing.assert_array_equal(first.projection, again.projection)
    assert not np.array_equal(first.projection, emap_multimodal(head, xs, partners=4, seed=8).projection)
    # the claimed standard errors are of the size of the actual spread (not wildly off)
    ratio = np.mean(first.stderr) / np.mean(draws.std(0))
    assert 0.5 < ratio < 2.0, ratio
    errors = monte_carlo_error(head, xs, [2, 8], seed=0)
    assert errors[8]["rms_error"] < errors[2]["rms_error"]


#: run in a fresh interpreter, so that its peak resident memory is the Monte Carlo call's alone
LARGE_N_MONTE_CARLO = """
import resource, sys
import numpy as np, torch
from grounding_kit.analysis.multimodal import emap_multimodal


class Additive(torch.nn.Module):  # a cheap model: f = sum of per-modality effects, 2 classes
    def forward(self, *xs):
        return torch.cat([sum(x.sum(1, keepdim=True) for x in xs), sum(x[:, :1] for x in xs)], 1)


n = int(sys.argv[1])
xs = [torch.randn(n, 2, generator=torch.Generator().manual_seed(m)) for m in range(3)]
emap_multimodal(Additive(), [x[:50] for x in xs], partners=4)  # warm up (lazy imports, allocator)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
est = emap_multimodal(Additive(), xs, partners=4, seed=0)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
# an additive model is its own projection: the estimate's error is of the size its stderr claims
ratio = np.mean((est.projection - est.diagonal) ** 2) / np.mean(est.stderr ** 2)
print(grown, ratio, est.projection.shape)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB is Linux's")
def test_monte_carlo_at_large_n_needs_no_n_by_n_memory():
    """N = 20000, K = 4: an N x N array of keys would be 1.6 GB (float32) per pair of modalities."""
    n = 20_000
    done = subprocess.run([sys.executable, "-c", LARGE_N_MONTE_CARLO, str(n)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    grown_kib, ratio, shape = done.stdout.split(maxsplit=2)
    assert shape.strip() == f"({n}, 2)"
    assert int(grown_kib) < 64 * 1024, f"peak memory grew by {int(grown_kib) / 1024:.0f} MiB"  # 3 * 4 * N tuples
    assert 0.7 < float(ratio) < 1.4, ratio


def test_model_emap_bad_input(head_and_inputs):
    head, xs = head_and_inputs
    with pytest.raises(TypeError, match="list or tuple"):
        emap_multimodal(head, xs[0])
    with pytest.raises(ValueError, match="inconsistent"):
        emap_multimodal(head, [xs[0], xs[1][:5], xs[2]])
    with pytest.raises(ValueError, match="partners"):
        emap_multimodal(head, xs, partners=100)


def test_fit_multimodal_head_learns_an_image_audio_rule():
    rng = np.random.default_rng(0)
    n = 300
    text, image = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    audio = image + 0.1 * rng.normal(size=(n, 3))
    flip = rng.random(n) < 0.5
    audio[flip] = rng.normal(size=(int(flip.sum()), 3))
    labels = (~flip).astype(int)  # does the audio go with the image?
    head = fit_multimodal_head([text, image, audio], labels, epochs=300, seed=0)
    accuracy = (head(*(torch.tensor(x, dtype=torch.float32) for x in (text, image, audio))).argmax(1).numpy()
                == labels).mean()
    assert accuracy > 0.8
    sample = [torch.tensor(x[:12], dtype=torch.float32) for x in (text, image, audio)]
    logit = tuple_logits(head, sample)
    parts = gk.decompose(logit[..., 1] - logit[..., 0], modalities=3)
    table = parts.share_table()
    assert table["image x audio"] > max(table["text x image"], table["text x audio"])
