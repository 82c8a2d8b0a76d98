"""``to_numpy``: a float64 numpy copy of whatever array a user or a model hands over."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(values: Any) -> np.ndarray:
    """A float64 numpy copy of a numpy array, a torch tensor (any device) or nested lists."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)
