"""A head over M modalities: ``f(x_1, ..., x_M) = W2 relu(sum_m A_m x_m + b) + c``.

Its first layer is linear in each modality and its readout linear after a ReLU, so
:func:`grounding_kit.analysis.multimodal.emap_multimodal` computes its exact EMAP in closed form
from the per-modality parts ``A_m x_m`` (``modality_parts``) and the readout (``relu_readout``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from grounding_kit.core.threads import single_thread
from grounding_kit.core.validation import check_choice, check_consistent_length, check_positive_int, describe, seed_int


class MultimodalHead(torch.nn.Module):
    """An MLP on M modalities with a linear first layer per modality.

    Parameters
    ----------
    dims : the feature sizes D_m of the M >= 2 modalities, in order.
    classes : C, the number of output logits.
    hidden : H, the hidden width.
    """

    def __init__(self, dims: Sequence[int], classes: int = 2, hidden: int = 64) -> None:
        super().__init__()
        if len(dims) < 2:
            raise ValueError(f"dims must give the feature sizes of M >= 2 modalities, got {list(dims)}")
        self.dims = tuple(check_positive_int("dims item", d) for d in dims)
        self.first = torch.nn.ModuleList(torch.nn.Linear(d, hidden, bias=m == 0) for m, d in enumerate(self.dims))
        self.readout = torch.nn.Linear(hidden, check_positive_int("classes", classes))

    def modality_parts(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """``[A_m x_m]`` (M tensors (N, H)); the bias rides on the first modality's part."""
        return [layer(x) for layer, x in zip(self.first, inputs)]

    def rest(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, H) summed first-layer parts -> (B, C) logits."""
        return self.readout(torch.relu(hidden))

    def relu_readout(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(weight (C, H), bias (C,))`` of the readout after the ReLU: ``rest(h) = weight @ relu(h) + bias``."""
        return self.readout.weight, self.readout.bias

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if len(inputs) != len(self.dims):
            raise ValueError(f"the head takes {len(self.dims)} modalities, got {len(inputs)} inputs")
        return self.rest(sum(self.modality_parts(inputs)))


class FirstLayerOnly(torch.nn.Module):
    """A :class:`MultimodalHead` seen without its ``relu_readout``: the EMAP engine then takes the
    first-layer-linear stream instead of the ReLU closed form (to compare the two paths on one head).
    Same outputs as the head."""

    def __init__(self, head: MultimodalHead) -> None:
        super().__init__()
        self.head = head

    def modality_parts(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return self.head.modality_parts(inputs)

    def rest(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head.rest(hidden)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(*inputs)


class PairwiseHead(torch.nn.Module):
    """An MLP on M modalities of one size D that also sees every pair's elementwise product:
    ``f = W2 relu(sum_m A_m x_m + sum_{a<b} B_ab (x_a * x_b) + b) + c``.

    The products let it compare two modalities (e.g. a caption and an image in CLIP's space) from
    few examples; the ReLU still lets it combine the pairs into interactions of higher order. It has
    no per-modality first layer, so its EMAP is streamed tuple by tuple (or estimated with partners).
    """

    def __init__(self, dims: Sequence[int], classes: int = 2, hidden: int = 64) -> None:
        super().__init__()
        if len(dims) < 2 or len(set(dims)) != 1:
            raise ValueError(f"dims must give M >= 2 equal feature sizes (products are elementwise), got {list(dims)}")
        self.dims = tuple(check_positive_int("dims item", d) for d in dims)
        self.pairs = [(a, b) for a in range(len(dims)) for b in range(a + 1, len(dims))]
        self.first = torch.nn.ModuleList(torch.nn.Linear(d, hidden, bias=m == 0) for m, d in enumerate(self.dims))
        self.products = torch.nn.ModuleList(torch.nn.Linear(self.dims[0], hidden, bias=False) for _ in self.pairs)
        self.readout = torch.nn.Linear(hidden, check_positive_int("classes", classes))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if len(inputs) != len(self.dims):
            raise ValueError(f"the head takes {len(self.dims)} modalities, got {len(inputs)} inputs")
        hidden = sum(layer(x) for layer, x in zip(self.first, inputs))
        hidden = hidden + sum(layer(inputs[a] * inputs[b]) for layer, (a, b) in zip(self.products, self.pairs))
        return self.readout(torch.relu(hidden))


#: head kinds of :func:`fit_multimodal_head`
MULTIMODAL_HEADS = {"mlp": MultimodalHead, "pairwise": PairwiseHead}


def fit_multimodal_head(inputs: Sequence[np.ndarray | torch.Tensor], labels: np.ndarray | Sequence[int], *,
                        kind: str = "mlp", hidden: int = 64, epochs: int = 400, lr: float = 1e-2,
                        weight_decay: float = 1e-4, seed: int = 0) -> torch.nn.Module:
    """Fit a head over M modalities to (inputs, labels) by full-batch AdamW on cross-entropy, on one thread.

    Parameters
    ----------
    inputs : M arrays (N, D_m), item i of each modality observed together.
    labels : (N,) integer class labels in 0..C-1 (C = max + 1, at least 2).
    kind : "mlp" (:class:`MultimodalHead`, exact EMAP in closed form) or "pairwise"
        (:class:`PairwiseHead`, which also sees each pair's elementwise product).
    seed : seeds the weights (same seed, same head).

    Raises
    ------
    TypeError
        If ``inputs`` is not a list or tuple of arrays.
    ValueError
        If the modalities and labels disagree on N, a label is negative, or ``kind`` is unknown.
    """
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
        raise TypeError(f"inputs must be a list or tuple of M >= 2 arrays (N, D_m), got {describe(inputs)}")
    xs = [torch.as_tensor(np.asarray(x, dtype=np.float32)) for x in inputs]
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    check_consistent_length(labels=y, **{f"inputs[{m}]": x for m, x in enumerate(xs)})
    check_choice("kind", kind, tuple(MULTIMODAL_HEADS))
    if y.min() < 0:
        raise ValueError(f"labels must be class indices >= 0, got {int(y.min())}")
    with single_thread():
        torch.manual_seed(seed_int(seed))
        head = MULTIMODAL_HEADS[kind]([x.shape[1] for x in xs], classes=max(2, int(y.max()) + 1), hidden=hidden)
        optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
        for _ in range(check_positive_int("epochs", epochs)):
            loss = torch.nn.functional.cross_entropy(head(*xs), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return head.eval()
