"""How a pair model tells the EMAP engine which exact path is fastest.

Every pair model is a callable ``f(text_batch, image_batch) -> logits`` of shape (B, C),
evaluated on row-aligned pairs ``(text_batch[b], image_batch[b])``. A model may also declare a
``structure`` attribute with one of the values below and implement the matching method:

``"bilinear"`` (CLIP's scaled cosine, low-rank t^T W v)
    ``bilinear_factors(text, image) -> BilinearFactors`` such that
    ``f(t_i, v_j)[c] = sum_r left[i, r, c] * right[j, r] + text_bias[i, c] + image_bias[j, c]``.
    EMAP then has a closed form in O(N * R * C): no pair is ever evaluated.

``"first-layer-linear"`` (an MLP on [t; v])
    ``first_layer(text, image) -> (text_hidden (N, H), image_hidden (N, H))`` and
    ``rest(hidden (B, H)) -> logits (B, C)`` such that
    ``f(t_i, v_j) = rest(text_hidden[i] + image_hidden[j])`` (the bias sits in one of the two).
    Each modality is projected once; only ``rest`` runs on the N x N pairs.
    If ``rest`` is one ReLU layer and a linear read-out, ``rest(h) = relu(h) @ weight.T + bias``,
    the model may also implement ``relu_readout() -> (weight (C, H), bias (C,))``: then
    ``sum_j relu(a_i + b_j)`` is, per hidden unit, a sort and a prefix sum, and EMAP is exact in
    O(H * N log N) without evaluating any pair.

``"generic"`` (default; e.g. single-stream ViLT)
    Only the call itself: pairs are evaluated in batches.

The typing protocols :class:`PairModel`, :class:`BilinearModel`, :class:`FirstLayerLinearModel`
and :class:`ReluReadoutModel` spell this contract out for type checkers and readers; the
engine itself dispatches on ``structure_of(model)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

if TYPE_CHECKING:  # annotations only: importing this module stays free of torch
    import numpy as np
    import torch

    from grounding_kit.analysis.grid_model import GridModel

GENERIC = "generic"
FIRST_LAYER_LINEAR = "first-layer-linear"
BILINEAR = "bilinear"
STRUCTURES = (GENERIC, FIRST_LAYER_LINEAR, BILINEAR)


@runtime_checkable
class PairModel(Protocol):
    """Any pair model: ``f(text_batch, image_batch) -> (B, C)`` logits on row-aligned pairs.

    It may declare ``structure`` (default ``"generic"``) and then implements the matching
    protocol below; ``device`` (optional) says where its inputs should live.
    """

    def __call__(self, text_batch: Any, image_batch: Any) -> "torch.Tensor": ...


@runtime_checkable
class BilinearModel(PairModel, Protocol):
    """``structure = "bilinear"``: ``f(t_i, v_j)[c] = sum_r left[i, r, c] right[j, r] + biases``."""

    structure: str

    def bilinear_factors(self, text: Any, image: Any) -> "BilinearFactors": ...


@runtime_checkable
class FirstLayerLinearModel(PairModel, Protocol):
    """``structure = "first-layer-linear"``: ``f(t_i, v_j) = rest(text_hidden[i] + image_hidden[j])``."""

    structure: str

    def first_layer(self, text: Any, image: Any) -> "tuple[torch.Tensor, torch.Tensor]": ...

    def rest(self, hidden: "torch.Tensor") -> "torch.Tensor": ...


@runtime_checkable
class ReluReadoutModel(FirstLayerLinearModel, Protocol):
    """A first-layer-linear model whose ``rest(h) = relu(h) @ weight.T + bias``: EMAP in closed form."""

    def relu_readout(self) -> "tuple[torch.Tensor, torch.Tensor]": ...


#: what the analysis functions that accept a grid take as ``model``: a pair model, a
#: ``GridModel``, or an (N, N, C) / (N, N) array of logits (see ``analysis.grid_model.as_pair_model``)
ModelOrGrid = Union[PairModel, "GridModel", "np.ndarray", "torch.Tensor"]


@dataclass(frozen=True)
class BilinearFactors:
    """Factors of a bilinear pair model (torch tensors).

    left : (N, R, C), right : (N, R), text_bias : (N, C), image_bias : (N, C), with
    ``f(t_i, v_j)[c] = sum_r left[i, r, c] * right[j, r] + text_bias[i, c] + image_bias[j, c]``.
    """

    left: Any
    right: Any
    text_bias: Any
    image_bias: Any


def structure_of(model: PairModel) -> str:
    """The declared structure of ``model`` (``"generic"`` when it declares none)."""
    declared = getattr(model, "structure", GENERIC)
    if declared not in STRUCTURES:
        raise ValueError(f"model.structure={declared!r} is not valid; expected one of {list(STRUCTURES)}")
    return declared
