"""The reshuffle lab: break image-text pairs and watch what each predictor still gets right.

EMAP's text effect is the average prediction of a text over every image it could be paired with,
so averaging the predictions of many random reshuffles converges to EMAP; the lab shows that
convergence click by click.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grounding_kit.widgets import components as ui
from grounding_kit.widgets.helpers import accuracy, label_margin, partial_permutation, to_numpy

N_SCATTER = 300  # items drawn on the convergence scatter


class ReshuffleLab(w.VBox):
    """See :func:`reshuffle_lab`. Callbacks: :meth:`set_fraction`, :meth:`reshuffle`, :meth:`reset`."""

    def __init__(self, model: Callable, feats: Any, labels: Sequence[int], *, additive: Callable | None = None,
                 images: Sequence[Any] | None = None, texts: Sequence[str] | None = None, n_gallery: int = 6,
                 seed: int = 0, name: str = "interactive") -> None:
        from grounding_kit.analysis import decompose, pairwise_logits

        self.labels = np.asarray(labels, dtype=np.int64)
        self.n = len(self.labels)
        if len(feats) != self.n:
            raise ValueError(f"inconsistent numbers of samples: feats={len(feats)}, labels={self.n}")
        self.name = name
        self.rng = np.random.default_rng(seed)
        # precomputed once: the N x N x C grids and the decomposition of the model's grid
        self.grid = to_numpy(pairwise_logits(model, feats))
        self.additive_grid = None if additive is None else to_numpy(pairwise_logits(additive, feats))
        parts = decompose(self.grid)
        self.grand = to_numpy(parts.grand_mean)            # (C,)
        self.text_part = self.grand + to_numpy(parts.text_effect)    # (N, C): row means
        self.image_part = to_numpy(parts.image_effect)     # (N, C): column means minus grand mean
        self.emap_diag = self.text_part + self.image_part  # EMAP on the aligned pairs
        self.images_png = None if images is None else [ui.png_bytes(im) for im in images[:n_gallery]]
        self.texts = None if texts is None else list(texts)
        self.perm, self.moved = np.arange(self.n), np.zeros(self.n, dtype=bool)
        self._row_sum = np.zeros_like(self.text_part)
        self._col_sum = np.zeros_like(self.text_part)
        self.k = 0
        self.gaps: list[float] = []
        self._build(n_gallery)
        self._refresh_pairs()
        self._refresh_running()

    # ----------------------------------------------------------------- layout
    def _build(self, n_gallery: int) -> None:
        self.fraction = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="reshuffled",
                                      continuous_update=False, readout_format=".0%")
        self.button = w.Button(description="reshuffle", button_style="primary",
                               tooltip="new random pairs at this fraction, and one more full reshuffle "
                                       "for the running average")
        self.button.add_class("gk-reshuffle")
        self.reset_button = w.Button(description="reset average")
        self.fraction.observe(lambda change: self.set_fraction(change["new"]), names="value")
        self.button.on_click(lambda _: self.reshuffle())
        self.reset_button.on_click(lambda _: self.reset())
        predictors = ["text only", "image only", *(["additive"] if self.additive_grid is not None else []),
                      self.name, "EMAP", "running average"]
        self.fig_acc = ui.figure([go.Bar(x=predictors, y=[0.0] * len(predictors), text=[""] * len(predictors),
                                         textposition="outside", marker_color="#4c72b0")],
                                 title="Accuracy on the (re)shuffled pairs, against the original labels",
                                 yaxis=dict(range=[0, 1.1], title="accuracy"))
        fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45],
                            subplot_titles=("running average vs EMAP (label margin)", "gap to EMAP"))
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", line=dict(color="#999", dash="dash"), name="y = x"), 1, 1)
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", marker=dict(size=5, color="#dd8452"),
                                 name="running average"), 1, 1)
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines+markers", name="mean |avg - EMAP|"), 1, 2)
        self.fig_conv = ui.figure(fig.data, height=340, showlegend=False)
        self.fig_conv.update_layout(fig.layout)
        self.fig_conv.update_xaxes(title_text="EMAP", row=1, col=1)
        self.fig_conv.update_yaxes(title_text="average of k reshuffles", row=1, col=1)
        self.fig_conv.update_xaxes(title_text="reshuffles k", row=1, col=2)
        self.status = ui.status()
        children: list[w.Widget] = [
            ui.title("Reshuffle lab", "Pair each text with another image: what survives is what the model "
                                      "gets from each modality alone."),
            w.HBox([self.fraction, self.button, self.reset_button]),
        ]
        if self.images_png is not None and self.texts is not None:
            self.gallery, self.cards = ui.gallery(len(self.images_png))
            children.append(self.gallery)
        else:
            self.cards = []
        children += [self.fig_acc, self.fig_conv, self.status]
        super().__init__(children)
        self.add_class("gk-reshuffle-lab")

    # -------------------------------------------------------------- callbacks
    def set_fraction(self, fraction: float) -> None:
        """Reshuffle ``fraction`` of the pairs (a fresh random choice) and update the display."""
        self.perm, self.moved = partial_permutation(self.n, fraction, self.rng)
        self._refresh_pairs()

    def reshuffle(self, times: int = 1) -> None:
        """New random pairs at the current fraction, and ``times`` more full reshuffles averaged."""
        self.perm, self.moved = partial_permutation(self.n, self.fraction.value, self.rng)
        idx = np.arange(self.n)
        for _ in range(times):
            images_of_text = self.rng.permutation(self.n)  # text i meets image images_of_text[i]
            texts_of_image = self.rng.permutation(self.n)  # image j meets text texts_of_image[j]
            self._row_sum += self.grid[idx, images_of_text]
            self._col_sum += self.grid[texts_of_image, idx]
            self.k += 1
        self._refresh_pairs()
        self._refresh_running()

    def reset(self) -> None:
        """Forget the running average."""
        self._row_sum[:] = 0.0
        self._col_sum[:] = 0.0
        self.k = 0
        self.gaps = []
        self._refresh_pairs()
        self._refresh_running()

    # ---------------------------------------------------------------- display
    def running_estimate(self) -> tuple[np.ndarray, np.ndarray]:
        """(row part (N, C), column part (N, C)) of the running EMAP estimate after k reshuffles."""
        if self.k == 0:
            return np.full_like(self.text_part, np.nan), np.zeros_like(self.text_part)
        rows = self._row_sum / self.k
        cols = self._col_sum / self.k - rows.mean(axis=0)
        return rows, cols

    def predictions(self) -> dict[str, np.ndarray]:
        """Each predictor's logits (N, C) on the current pairs (text i, image perm[i])."""
        idx, perm = np.arange(self.n), self.perm
        rows, cols = self.running_estimate()
        preds = {"text only": self.text_part, "image only": self.grand + self.image_part[perm]}
        if self.additive_grid is not None:
            preds["additive"] = self.additive_grid[idx, perm]
        preds[self.name] = self.grid[idx, perm]
        preds["EMAP"] = self.text_part + self.image_part[perm]
        preds["running average"] = rows + cols[perm]
        return preds

    def _refresh_pairs(self) -> None:
        scores = [np.nan if self.k == 0 and key == "running average" else accuracy(p, self.labels)
                  for key, p in self.predictions().items()]
        with self.fig_acc.batch_update():
            self.fig_acc.data[0].y = scores
            self.fig_acc.data[0].text = ["" if np.isnan(s) else f"{s:.2f}" for s in scores]
        for i, card in enumerate(self.cards):
            j = int(self.perm[i])
            card.show(self.images_png[j], self.texts[i], highlight=bool(self.moved[i]))
        self.status.value = (f"{int(self.moved.sum())} of {self.n} pairs reshuffled; running average over "
                             f"{self.k} full reshuffles")

    def _refresh_running(self) -> None:
        m = min(self.n, N_SCATTER)
        exact = label_margin(self.emap_diag[:m], self.labels[:m])
        lo, hi = float(exact.min()), float(exact.max())
        if self.k:
            rows, cols = self.running_estimate()
            est = label_margin((rows + cols)[:m], self.labels[:m])
            gap = float(np.abs(label_margin(rows + cols, self.labels) - label_margin(self.emap_diag, self.labels)).mean())
            if len(self.gaps) < self.k:
                self.gaps.extend([gap] * (self.k - len(self.gaps)))
            self.gaps[-1] = gap
        else:
            est = np.full(m, np.nan)
        with self.fig_conv.batch_update():
            self.fig_conv.data[0].x, self.fig_conv.data[0].y = [lo, hi], [lo, hi]
            self.fig_conv.data[1].x, self.fig_conv.data[1].y = exact, est
            self.fig_conv.data[2].x = list(range(1, len(self.gaps) + 1))
            self.fig_conv.data[2].y = list(self.gaps)


def reshuffle_lab(model: Callable, feats: Any, labels: Sequence[int], *, additive: Callable | None = None,
                  images: Sequence[Any] | None = None, texts: Sequence[str] | None = None, n_gallery: int = 6,
                  seed: int = 0, name: str = "interactive") -> ReshuffleLab:
    """The reshuffle lab: a fraction slider, a "reshuffle" button, accuracies, and the running average.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C)`` logits (e.g. an interactive head).
    feats : Features of N aligned pairs; ``pairwise_logits(model, feats)`` (N, N, C) is computed once.
    labels : (N,) class ids of the aligned pairs.
    additive : optional additive pair model shown beside ``model``.
    images, texts : optional PIL images and captions of the pairs, for the gallery of the first
        ``n_gallery`` pairs (a reshuffled pair's caption turns red).
    seed : seeds the reshuffles.
    name : the label of ``model`` on the plots.

    Returns
    -------
    ReshuffleLab (an ``ipywidgets.VBox``). Callbacks: ``set_fraction(f)``, ``reshuffle(times=1)``,
    ``reset()``; ``predictions()`` gives each predictor's (N, C) logits on the current pairs.
    """
    return ReshuffleLab(model, feats, labels, additive=additive, images=images, texts=texts,
                        n_gallery=n_gallery, seed=seed, name=name)
