"""The reshuffle lab: break image-text pairs and watch what each predictor still gets right.

A view of :class:`grounding_kit.experiments.reshuffle.ReshuffleExperiment`, which holds the
experiment's state and steps (the current pairs, the running averages that converge to the text and
image marginals, the reset); this widget binds a fraction slider and three buttons to those steps and
draws what the experiment reports. From a precomputed grid the lab never imports torch.
"""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as w
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grounding_kit.experiments.reshuffle import ReshuffleExperiment
from grounding_kit.widgets import components as ui

N_SCATTER = 300  # items drawn on the convergence scatter
FIG_PX = 300     # both figures' height: side by side under the gallery, the lab fits a 1280x720 slide


class ReshuffleLab(w.VBox):
    """See :func:`reshuffle_lab`. Callbacks: :meth:`set_fraction`, :meth:`reshuffle`, :meth:`reset`."""

    def __init__(self, model: Any, feats: Any, labels: Sequence[int], *, additive: Any = None,
                 images: Sequence[Any] | None = None, texts: Sequence[str] | None = None, n_gallery: int = 6,
                 seed: int | None = 0, name: str = "interactive") -> None:
        self.experiment = ReshuffleExperiment(model, feats, labels, additive=additive, seed=seed, name=name)
        n = self.experiment.n
        if (images is None) != (texts is None) or (images is not None and not len(images) == len(texts) == n):
            raise ValueError(f"images and texts must both be given, one per pair (N={n}), got "
                             f"{None if images is None else len(images)} images and "
                             f"{None if texts is None else len(texts)} texts")
        self.images, self.texts = images, texts
        self._png: dict[int, bytes] = {}
        self._build(n_gallery)
        self._refresh_pairs()
        self._refresh_running()
        ui.publish(self)

    # ----------------------------------------------------------------- layout
    def _build(self, n_gallery: int) -> None:
        self.fraction = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="reshuffled",
                                      continuous_update=False, readout_format=".0%")
        self.fraction.add_class("gk-fraction")
        self.button = w.Button(description="reshuffle", button_style="primary",
                               tooltip="new random pairs at this fraction, and one more full reshuffle "
                                       "for the running average")
        self.button.add_class("gk-reshuffle")
        self.more = w.Button(description="+10 reshuffles")
        self.reset_button = w.Button(description="reset average")
        self.fraction.observe(lambda change: self.set_fraction(change["new"]), names="value")
        self.button.on_click(lambda _: self.reshuffle())
        self.more.on_click(lambda _: self.reshuffle(10))
        self.reset_button.on_click(lambda _: self.reset())
        predictors = self.experiment.predictors
        k = len(predictors)
        self.fig_acc = ui.figure([go.Bar(x=predictors, y=[0.0] * k, text=[""] * k, textposition="outside",
                                         marker_color=["#8c8c8c"] * 2 + ["#4c72b0"] * (k - 4) + ["#55a868", "#dd8452"])],
                                 title="accuracy on the current pairs (labels of the original pairs)", height=FIG_PX,
                                 yaxis=dict(range=[0, 1.1], title="accuracy"))
        fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45],
                            subplot_titles=("running average vs EMAP, per pair", "mean gap to EMAP"))
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", line=dict(color="#999", dash="dash"), name="y = x"), 1, 1)
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", marker=dict(size=5, color="#dd8452"),
                                 name="running average"), 1, 1)
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines+markers", name="mean |average - EMAP|"), 1, 2)
        fig.update_xaxes(title_text="EMAP (label logit margin)", row=1, col=1)
        fig.update_yaxes(title_text="average over k reshuffles", row=1, col=1)
        fig.update_xaxes(title_text="reshuffles k", row=1, col=2)
        self.fig_conv = ui.widget_of(fig, height=FIG_PX, showlegend=False)
        self.status = ui.status()
        children: list[w.Widget] = [
            ui.title("Reshuffle lab", "Pair texts with other images: what survives is what the model gets "
                                      "from each modality alone. Averaged over image reshuffles, the "
                                      "predictions become the text marginal; text marginal + image marginal "
                                      "(from text reshuffles) - grand mean is EMAP."),
            w.HBox([self.fraction, self.button, self.more, self.reset_button]),
        ]
        self.cards: list[ui.ImageCard] = []
        if self.images is not None:
            self.gallery, self.cards = ui.gallery(min(n_gallery, self.experiment.n))
            children.append(self.gallery)
        children += [self.fig_acc, self.fig_conv, self.status]
        super().__init__(children)
        self.add_class("gk-reshuffle-lab")

    # -------------------------------------------------------------- callbacks
    @ui.callback
    def set_fraction(self, fraction: float) -> None:
        """Reshuffle ``fraction`` of the images among the texts (a fresh random choice)."""
        if self.fraction.value != fraction:
            self.fraction.value = fraction  # the slider's observer calls back with its (rounded) value
            return
        self.experiment.set_fraction(fraction)
        self._refresh_pairs()

    @ui.callback
    def reshuffle(self, times: int = 1) -> None:
        """``times`` more full reshuffles averaged, and new random pairs at the current fraction."""
        self.experiment.reshuffle(times)
        self._refresh_pairs()
        self._refresh_running()

    @ui.callback
    def reset(self) -> None:
        """Forget the running average."""
        self.experiment.reset()
        self._refresh_pairs()
        self._refresh_running()

    # ---------------------------------------------------------------- display
    def _refresh_pairs(self) -> None:
        exp = self.experiment
        # None, not NaN, for a bar with no value yet: NaN is not valid JSON for the browser
        scores = list(exp.accuracies().values())
        with self.fig_acc.batch_update():
            self.fig_acc.data[0].y = scores
            self.fig_acc.data[0].text = ["" if s is None else f"{s:.2f}" for s in scores]
        moved = exp.reshuffled()
        for i, card in enumerate(self.cards):
            j = int(exp.perm[i])
            if j not in self._png:
                self._png[j] = ui.png_bytes(self.images[j])
            card.show(self._png[j], self.texts[i], highlight=bool(moved[i]))
        self.status.value = (f"{int(moved.sum())} of {exp.n} pairs reshuffled; running average over "
                             f"{exp.k} full reshuffles")

    def _refresh_running(self) -> None:
        exp = self.experiment
        exact, running = exp.margins(N_SCATTER)
        lo, hi = float(exact.min()), float(exact.max())
        with self.fig_conv.batch_update():
            self.fig_conv.data[0].x, self.fig_conv.data[0].y = [lo, hi], [lo, hi]
            # None, not NaN, before the first reshuffle: the browser needs valid JSON
            self.fig_conv.data[1].x, self.fig_conv.data[1].y = exact, [None] * len(exact) if running is None else running
            self.fig_conv.data[2].x = [k for k, _ in exp.gaps]
            self.fig_conv.data[2].y = [gap for _, gap in exp.gaps]


def reshuffle_lab(model: Any, feats: Any, labels: Sequence[int], *, additive: Any = None,
                  images: Sequence[Any] | None = None, texts: Sequence[str] | None = None, n_gallery: int = 6,
                  seed: int | None = 0, name: str = "interactive") -> ReshuffleLab:
    """The reshuffle lab: a fraction slider, a "reshuffle" button, accuracies, and the running average.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C)`` logits (e.g. an interactive head), or
        its precomputed (N, N, C) grid ``grid[i, j] = f(t_i, v_j)`` (numpy or torch; then ``feats=None``,
        and the lab needs no torch: see :func:`grounding_kit.experiments.grid_cache.task_grids`).
    feats : Features of N aligned pairs (None with grids); the (N, N, C) grid, EMAP and its marginals
        are computed once on construction.
    labels : (N,) class ids of the aligned pairs.
    additive : optional additive pair model (or its grid, like ``model``) shown beside ``model``.
    images, texts : optional N PIL images (or PNG bytes) and N captions of the pairs; the gallery shows the first
        ``n_gallery`` captions with the image each is paired with now (red caption: reshuffled).
    seed : seeds the reshuffles (None: fresh randomness).
    name : the label of ``model`` on the plots.

    Returns
    -------
    ReshuffleLab (an ``ipywidgets.VBox``). Callbacks: ``set_fraction(f)``, ``reshuffle(times=1)``,
    ``reset()``; ``lab.experiment`` is the :class:`~grounding_kit.experiments.reshuffle.ReshuffleExperiment`
    it shows (its ``predictions()``, ``accuracies()``, ``running_emap()``, ``k`` and ``gaps``).
    """
    return ReshuffleLab(model, feats, labels, additive=additive, images=images, texts=texts,
                        n_gallery=n_gallery, seed=seed, name=name)
