"""The N x N CLIP similarity matrix of a batch, and what reshuffling the pairs does to it."""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from grounding_kit.core.validation import check_seed
from grounding_kit.widgets import components as ui
from grounding_kit.widgets.helpers import to_numpy


class SimilarityWidget(w.VBox):
    """See :func:`similarity_widget`. Callbacks: :meth:`set_fraction`, :meth:`reshuffle`."""

    def __init__(self, clip: Any, images: Sequence[Any], texts: Sequence[str], *, seed: int = 0) -> None:
        seed = check_seed(seed)
        if len(images) != len(texts) or len(texts) < 2:
            raise ValueError(f"need at least 2 aligned pairs, got {len(images)} images and {len(texts)} texts")
        self.texts = list(texts)
        # precomputed once: S[i, j] = CLIP's scaled cosine of text i and image j
        self.sim = to_numpy(clip.similarity(self.texts, list(images)))
        self.n = len(self.texts)
        self.rng = np.random.default_rng(seed)
        self.perm = np.arange(self.n)
        self.fraction = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.1, description="reshuffled",
                                      continuous_update=False, readout_format=".0%")
        self.button = w.Button(description="reshuffle", button_style="primary")
        self.button.add_class("gk-reshuffle")
        self.fraction.observe(lambda change: self.set_fraction(change["new"]), names="value")
        self.button.on_click(lambda _: self.reshuffle())
        labels = [f"t{i}" for i in range(self.n)]
        self.fig = ui.figure([go.Heatmap(z=self.sim, x=[f"v{j}" for j in range(self.n)], y=labels,
                                         colorscale="Viridis", colorbar=dict(title="sim"))],
                             title="", height=460, yaxis=dict(autorange="reversed", title="texts"),
                             xaxis=dict(title="images (column j holds the image paired with text j)"))
        self.status = ui.status()
        super().__init__([ui.title("Similarity of every caption with every image",
                                   "Aligned pairs sit on the diagonal; reshuffling moves the images."),
                          w.HBox([self.fraction, self.button]), self.fig, self.status])
        self._refresh()
        ui.publish(self)

    @ui.callback
    def set_fraction(self, fraction: float) -> None:
        """Pair ``fraction`` of the texts with other images (fresh random choice)."""
        from grounding_kit.analysis import shuffle_permutation

        self.perm = shuffle_permutation(self.n, fraction, int(self.rng.integers(2**63)))
        self._refresh()

    def reshuffle(self) -> None:
        """A new random reshuffle at the current fraction."""
        self.set_fraction(self.fraction.value)

    def top1(self) -> float:
        """Share of texts whose most similar image is the one they are paired with now (recall@1)."""
        from grounding_kit.analysis import recall_at_k

        return recall_at_k(self.sim, 1, targets=self.perm)

    def _refresh(self) -> None:
        top1 = self.top1()
        with self.fig.batch_update():
            self.fig.data[0].z = self.sim[:, self.perm]
            self.fig.layout.title.text = f"text -> image top-1 on the current pairs: {top1:.0%}"
        moved = int((self.perm != np.arange(self.n)).sum())
        self.status.value = f"{moved} of {self.n} images moved to another caption"


def similarity_widget(clip: Any, images: Sequence[Any], texts: Sequence[str], *, seed: int = 0) -> SimilarityWidget:
    """Heatmap of CLIP similarities for N aligned pairs, with a reshuffle slider and button.

    Parameters
    ----------
    clip : a CLIP from ``load_clip``.
    images, texts : N aligned pairs (PIL images, captions); N around 8-32 reads best.
    seed : seeds the reshuffles.

    Returns
    -------
    SimilarityWidget (an ``ipywidgets.VBox``). Callbacks: ``set_fraction(f)``, ``reshuffle()``.
    """
    return SimilarityWidget(clip, images, texts, seed=seed)
