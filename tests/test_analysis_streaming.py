"""Streamed, materialized, closed-form and Monte Carlo EMAP agree; guardrails of the model path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grounding_kit.analysis import EmapEstimate, accuracy, emap, emap_model, pairwise_logits
from grounding_kit.models.features import Features
from grounding_kit.models.contract import BilinearFactors


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: small tiles, one thread


class MLPHead(torch.nn.Module):
    """An MLP on [t; v] that declares its linear first layer."""

    structure = "first-layer-linear"

    def __init__(self, dim: int = 6, hidden: int = 12, classes: int = 3):
        super().__init__()
        self.dim = dim
        self.first = torch.nn.Linear(2 * dim, hidden)
        self.second = torch.nn.Linear(hidden, hidden)
        self.out = torch.nn.Linear(hidden, classes)

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.rest(self.first(torch.cat([text, image], dim=1)))

    def first_layer(self, text, image):
        w = self.first.weight
        return text @ w[:, :self.dim].T + self.first.bias, image @ w[:, self.dim:].T

    def rest(self, hidden):
        return self.out(torch.tanh(self.second(torch.relu(hidden))))


class ReluHead(MLPHead):
    """One hidden ReLU layer and a linear read-out, declared with ``relu_readout``."""

    def rest(self, hidden):
        return self.out(torch.relu(hidden))

    def relu_readout(self):
        return self.out.weight, self.out.bias


class LowRankBilinear(torch.nn.Module):
    """f(t, v)[c] = t^T A_c^T B v + a_c^T t + b_c^T v, declaring its factors."""

    structure = "bilinear"

    def __init__(self, dim: int = 6, rank: int = 2, classes: int = 3):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(classes, rank, dim))
        self.b = torch.nn.Linear(dim, rank, bias=False)
        self.text_bias = torch.nn.Linear(dim, classes)
        self.image_bias = torch.nn.Linear(dim, classes, bias=False)

    def forward(self, text, image):
        return (torch.einsum("crd,bd,br->bc", self.a, text, self.b(image))
                + self.text_bias(text) + self.image_bias(image))

    def bilinear_factors(self, text, image):
        return BilinearFactors(torch.einsum("crd,nd->nrc", self.a, text), self.b(image),
                               self.text_bias(text), self.image_bias(image))


class GenericHead(torch.nn.Module):
    """Declares no structure: a multiplicative interaction nothing can factor."""

    def __init__(self, dim: int = 6, classes: int = 3):
        super().__init__()
        self.mix = torch.nn.Linear(dim, classes)

    def forward(self, text, image):
        return self.mix(torch.sin(text * image)) + text[:, :1]


def brute_force(model, feats: Features) -> torch.Tensor:
    """P[i, j] one pair at a time."""
    n = len(feats)
    with torch.no_grad():
        return torch.stack([torch.cat([model(feats.text[i:i + 1], feats.image[j:j + 1]) for j in range(n)])
                            for i in range(n)])


def random_case(seed: int, n: int, head: str):
    torch.manual_seed(seed)
    model = {"mlp": MLPHead, "relu": ReluHead, "bilinear": LowRankBilinear, "generic": GenericHead}[head]()
    return model, Features(torch.randn(n, 6), torch.randn(n, 6))


HEADS = ["mlp", "relu", "bilinear", "generic"]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 40), st.sampled_from(HEADS), st.sampled_from([None, 1, 7, 64]))
def test_streamed_equals_materialized_equals_brute_force(seed, n, head, batch_size):
    model, feats = random_case(seed, n, head)
    P = pairwise_logits(model, feats, batch_size=batch_size)
    torch.testing.assert_close(P, brute_force(model, feats), atol=1e-5, rtol=1e-5)
    details = emap_model(model, feats, batch_size=batch_size)
    np.testing.assert_allclose(details.projection.numpy(), emap(P.double()).numpy(), atol=1e-6)
    np.testing.assert_allclose(details.diagonal.numpy(), P.double()[range(n), range(n)].numpy(), atol=1e-6)
    assert details.exact and details.method == {"mlp": "first-layer-linear stream", "relu": "relu closed form",
                                                 "bilinear": "bilinear closed form", "generic": "generic stream"}[head]


def test_relu_closed_form_handles_ties_and_dead_units():
    """Partners exactly at -a_i contribute relu(0) = 0; a unit that never fires contributes nothing."""
    model, _ = random_case(0, 2, "relu")
    text = torch.tensor([[1.0, -2.0, 0.5, 0.0, 0.0, 0.0]] * 3 + [[0.0] * 6])
    feats = Features(text, -text.flip(0))
    np.testing.assert_allclose(emap_model(model, feats).projection.numpy(),
                               emap(pairwise_logits(model, feats).double()).numpy(), atol=1e-6)


@pytest.mark.parametrize("head", ["mlp", "relu", "bilinear"])
def test_structured_paths_equal_the_generic_path(head):
    model, feats = random_case(3, 33, head)
    fast = emap_model(model, feats).projection
    generic = emap_model(lambda t, v: model(t, v), feats).projection  # a plain callable hides the structure
    assert isinstance(fast, torch.Tensor) and fast.shape == (33, 3) and fast.dtype == torch.float64
    np.testing.assert_allclose(fast.numpy(), generic.numpy(), atol=1e-6)


def test_list_features_are_gathered():
    """A single-stream model that takes lists (e.g. strings and image ids) uses the generic path."""
    words = ["red", "blue", "green", "tiny", "big"]
    images = [0.5, -1.0, 2.0, 0.0, 3.0]

    def model(text_batch, image_batch):
        lengths = torch.tensor([len(w) for w in text_batch], dtype=torch.float64)
        values = torch.tensor(image_batch, dtype=torch.float64)
        return torch.stack([lengths * values, lengths + values], dim=1)

    feats = Features(words, images)
    P = pairwise_logits(model, feats, batch_size=3)
    assert P[1, 2].tolist() == [8.0, 6.0]
    np.testing.assert_allclose(emap_model(model, feats, batch_size=2).projection.numpy(), emap(P).numpy(), atol=1e-12)


def test_monte_carlo_at_all_partners_is_exact():
    model, feats = random_case(1, 25, "generic")
    est = emap_model(model, feats, partners=25, seed=0)
    assert isinstance(est, EmapEstimate) and est.exact and est.partners == 25
    np.testing.assert_allclose(est.projection.numpy(), emap_model(model, feats).projection.numpy(), atol=1e-6)
    assert float(est.stderr.abs().max()) == 0.0


def test_monte_carlo_is_seeded():
    model, feats = random_case(1, 30, "mlp")
    a, b = (emap_model(model, feats, partners=5, seed=7).projection for _ in range(2))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, emap_model(model, feats, partners=5, seed=8).projection)


def test_monte_carlo_intervals_cover_at_nominal_rate():
    model, feats = random_case(2, 40, "generic")
    exact = emap_model(model, feats).projection
    covered = []
    for seed in range(120):
        low, high = emap_model(model, feats, partners=16, seed=seed).interval(0.9)
        covered.append(((low <= exact) & (exact <= high)).double().mean().item())
    rate = float(np.mean(covered))
    assert 0.85 <= rate <= 0.95, rate


def test_model_is_left_in_training_mode_and_on_its_device():
    model, feats = random_case(0, 5, "mlp")
    model.train()
    emap_model(model, feats, device="cpu")
    assert model.training


# -- guardrails: one test per message ------------------------------------------------------


def test_refuses_a_grid_above_the_memory_budget():
    model, feats = random_case(0, 50, "mlp")
    with pytest.raises(ValueError, match=r"\(50, 50, 3\).*would need about .* KiB.*max_bytes=1000\).*emap_model"):
        pairwise_logits(model, feats, max_bytes=1000)


def test_partners_out_of_range():
    model, feats = random_case(0, 10, "mlp")
    with pytest.raises(ValueError, match="partners must be between 1 and N=10"):
        emap_model(model, feats, partners=11)
    with pytest.raises(ValueError, match="partners must be >= 1"):
        emap_model(model, feats, partners=0)
    with pytest.raises(TypeError, match="partners must be an integer"):
        emap_model(model, feats, partners=2.5)


def test_features_must_be_features():
    model, _ = random_case(0, 4, "mlp")
    with pytest.raises(TypeError, match="feats must be a grounding_kit.Features.*Tensor of shape"):
        emap_model(model, torch.zeros(4, 6))


def test_features_need_two_pairs():
    model, _ = random_case(0, 4, "mlp")
    with pytest.raises(ValueError, match="N >= 2 pairs.*N=1"):
        pairwise_logits(model, Features(torch.zeros(1, 6), torch.zeros(1, 6)))


def test_model_output_of_wrong_shape():
    feats = Features(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"model returned shape \(1, 2, 2\) for a batch of 1 pairs"):
        emap_model(lambda t, v: torch.zeros(len(t), 2, 2), feats)


def test_model_output_not_a_tensor():
    feats = Features(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(TypeError, match="model must return a torch tensor of logits"):
        emap_model(lambda t, v: np.zeros((len(t), 2)), feats)


def test_model_returning_nan():
    feats = Features(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="NaN or inf logits"):
        emap_model(lambda t, v: torch.full((len(t), 2), float("nan")), feats)


def test_model_not_callable():
    with pytest.raises(TypeError, match="model must be a callable"):
        emap_model("clip", Features(torch.zeros(4, 2), torch.zeros(4, 2)))


def test_bad_structure_declaration():
    class Odd:
        structure = "quadratic"

        def __call__(self, t, v):
            return t

    with pytest.raises(ValueError, match="model.structure='quadratic' is not valid"):
        emap_model(Odd(), Features(torch.zeros(4, 2), torch.zeros(4, 2)))


def test_warns_when_the_model_outputs_probabilities():
    from grounding_kit.analysis import ProbabilityInputWarning

    model, feats = random_case(0, 6, "mlp")
    with pytest.warns(ProbabilityInputWarning, match="the model's output looks like probabilities"):
        emap_model(lambda t, v: torch.softmax(model(t, v), dim=1), feats)


def test_an_estimate_is_its_projection_for_numpy_and_torch():
    """The design's ``proj = gk.emap_model(head, feats)`` is the (N, C) projection, as ``gk.emap(P)`` is."""
    model, feats = random_case(5, 9, "mlp")
    est = emap_model(model, feats)
    proj = emap(pairwise_logits(model, feats).double())
    as_numpy = np.asarray(est)
    assert as_numpy.shape == tuple(proj.shape) == (9, 3) and as_numpy.dtype == np.float64
    np.testing.assert_allclose(as_numpy, proj.numpy(), atol=1e-6)
    assert np.asarray(est, dtype=np.float32).dtype == np.float32
    assert not np.shares_memory(np.array(est, copy=True), est.projection.numpy())
    assert np.shares_memory(np.array(est, copy=False), est.projection.numpy())  # numpy 2's copy=False: a view
    with pytest.raises(ValueError, match="needs a copy"):
        np.array(est, dtype=np.float32, copy=False)
    as_torch = torch.as_tensor(est)
    assert isinstance(as_torch, torch.Tensor) and as_torch.shape == (9, 3) and as_torch.dtype == torch.float64
    torch.testing.assert_close(as_torch, est.projection, rtol=0, atol=0)
    assert torch.as_tensor(est, dtype=torch.float32).dtype == torch.float32
    assert est.shape == (9, 3) and len(est) == 9
    np.testing.assert_allclose(np.asarray(est).argmax(1), proj.numpy().argmax(1))
    labels = np.arange(9) % 3
    assert accuracy(labels, est) == accuracy(labels, est.projection)  # usable wherever logits go
