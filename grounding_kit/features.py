"""``Features``: the text and image side of N aligned pairs, the input of heads and of EMAP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .validation import check_consistent_length, describe


@dataclass(frozen=True)
class Features:
    """Row-aligned inputs of N image-text pairs: ``(text[i], image[i])`` is pair i.

    Attributes
    ----------
    text : (N, Dt) torch tensor of text features, or any length-N sequence a model accepts
        (e.g. a list of questions for a single-stream VQA model).
    image : (N, Dv) torch tensor of image features, or a length-N sequence
        (e.g. preprocessed pixel tensors of shape (N, 3, H, W)).
    """

    text: Any
    image: Any

    def __post_init__(self) -> None:
        for name in ("text", "image"):
            value = getattr(self, name)
            if not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
                raise TypeError(f"Features.{name} must be a tensor or a sequence, got {describe(value)}")
        check_consistent_length(text=self.text, image=self.image)

    def __len__(self) -> int:
        return len(self.text)

    def take(self, index: Sequence[int] | np.ndarray) -> "Features":
        """The pairs at ``index``, in that order (tensors are indexed, sequences gathered)."""
        return Features(text=take(self.text, index), image=take(self.image, index))


def take(values: Any, index: Sequence[int] | np.ndarray) -> Any:
    """Gather ``values[index]`` for a tensor, an array or a plain sequence."""
    if hasattr(values, "shape"):
        if hasattr(values, "detach"):  # torch tensor: index with a tensor on its device
            import torch

            return values[torch.as_tensor(np.asarray(index), dtype=torch.long, device=values.device)]
        return values[np.asarray(index)]
    return [values[int(i)] for i in index]
