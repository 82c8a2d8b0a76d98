"""Pure helpers behind the widgets' displays (numpy only, unit-tested in tests/test_widgets_helpers.py).

Display bookkeeping, not analysis: numpy copies for plotting, a ranking for a gallery. (Label
margins, one number per row of logits, live in ``grounding_kit.analysis.margins``.)
"""

from __future__ import annotations

import numpy as np

from grounding_kit.core.arrays import to_numpy

__all__ = ["ranking", "to_numpy"]


def ranking(scores: np.ndarray, top_k: int) -> np.ndarray:
    """Indices of the ``top_k`` highest scores, best first (ties keep the lower index first)."""
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind="stable")
    return order[: max(0, min(top_k, len(order)))]
