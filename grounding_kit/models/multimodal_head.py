"""A head over M modalities: ``f(x_1, ..., x_M) = W2 relu(sum_m A_m x_m + b) + c``.

Its first layer is linear in each modality, so :func:`grounding_kit.analysis.multimodal.emap_multimodal`
streams its EMAP on the per-modality parts ``A_m x_m`` (``modality_parts``) and ``rest`` (the ReLU
and the readout), projecting each modality once instead of once per tuple.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from grounding_kit.core.threads import single_thread
from grounding_kit.core.validation import check_consistent_length, check_positive_int, describe, seed_int


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

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if len(inputs) != len(self.dims):
            raise ValueError(f"the head takes {len(self.dims)} modalities, got {len(inputs)} inputs")
        return self.rest(sum(self.modality_parts(inputs)))


def fit_multimodal_head(inputs: Sequence[np.ndarray | torch.Tensor], labels: np.ndarray | Sequence[int], *,
                        hidden: int = 64, epochs: int = 400, lr: float = 1e-2, weight_decay: float = 1e-4,
                        seed: int = 0) -> MultimodalHead:
    """Fit a :class:`MultimodalHead` to (inputs, labels) by full-batch AdamW on cross-entropy, on one thread.

    Parameters
    ----------
    inputs : M arrays (N, D_m), item i of each modality observed together.
    labels : (N,) integer class labels in 0..C-1 (C = max + 1, at least 2).
    seed : seeds the weights (same seed, same head).

    Raises
    ------
    TypeError
        If ``inputs`` is not a list or tuple of arrays.
    ValueError
        If the modalities and labels disagree on N, or a label is negative.
    """
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
        raise TypeError(f"inputs must be a list or tuple of M >= 2 arrays (N, D_m), got {describe(inputs)}")
    xs = [torch.as_tensor(np.asarray(x, dtype=np.float32)) for x in inputs]
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    check_consistent_length(labels=y, **{f"inputs[{m}]": x for m, x in enumerate(xs)})
    if y.min() < 0:
        raise ValueError(f"labels must be class indices >= 0, got {int(y.min())}")
    with single_thread():
        torch.manual_seed(seed_int(seed))
        head = MultimodalHead([x.shape[1] for x in xs], classes=max(2, int(y.max()) + 1), hidden=hidden)
        optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
        for _ in range(check_positive_int("epochs", epochs)):
            loss = torch.nn.functional.cross_entropy(head(*xs), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return head.eval()
