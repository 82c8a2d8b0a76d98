"""The reshuffle lab: break image-text pairs and watch what each predictor still gets right.

EMAP's text term is a text's average prediction over every image it could be paired with, so
one running average over image reshuffles converges to the text marginal (and one over text
reshuffles to the image marginal); their sum minus the grand mean converges to EMAP, and the lab
shows that convergence click by click. All numbers come from ``grounding_kit.analysis``
(``GridModel``, ``row_col_grand``, ``emap_from_marginals``, ``shuffle_permutation``,
``permuted_pairs``, ``reshuffle_grid_average``): the reshuffles run on the model's N x N logit grid,
computed once (or given precomputed, e.g. from :func:`grounding_kit.experiments.grid_cache.task_grids`), so a
click costs O(N) look-ups. From a precomputed grid the lab never imports torch.
"""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grounding_kit.widgets import components as ui
from grounding_kit.analysis.grids import check_grid, is_array
from grounding_kit.analysis.margins import label_margin, margin_gap
from grounding_kit.analysis.metrics import accuracy
from grounding_kit.analysis.permutations import permuted_pairs, reshuffle_grid_average, shuffle_permutation
from grounding_kit.analysis.projection import row_col_grand
from grounding_kit.analysis.summaries import emap_from_marginals
from grounding_kit.core.validation import check_seed, describe

N_SCATTER = 300  # items drawn on the convergence scatter
ROUNDS = 10**9   # the running averages are open-ended generators
FIG_PX = 300     # both figures' height: side by side under the gallery, the lab fits a 1280x720 slide


class ReshuffleLab(w.VBox):
    """See :func:`reshuffle_lab`. Callbacks: :meth:`set_fraction`, :meth:`reshuffle`, :meth:`reset`."""

    def __init__(self, model: Any, feats: Any, labels: Sequence[int], *, additive: Any = None,
                 images: Sequence[Any] | None = None, texts: Sequence[str] | None = None, n_gallery: int = 6,
                 seed: int = 0, name: str = "interactive") -> None:
        self.labels = np.asarray(labels, dtype=np.int64)
        self.n = len(self.labels)
        if feats is not None and len(feats) != self.n:
            raise ValueError(f"inconsistent numbers of samples: feats={len(feats)}, labels={self.n}")
        if (images is None) != (texts is None) or (images is not None and not len(images) == len(texts) == self.n):
            raise ValueError(f"images and texts must both be given, one per pair (N={self.n}), got "
                             f"{None if images is None else len(images)} images and "
                             f"{None if texts is None else len(texts)} texts")
        self.name = name
        # precomputed once: each model's float64 (N, N, C) logits, grid[i, j] = f(t_i, v_j), read by the callbacks
        self.grid = _grid_of(model, feats, "model", self.n)
        self.additive = None if additive is None else _grid_of(additive, feats, "additive", self.n)
        self.images, self.texts = images, texts
        self._png: dict[int, bytes] = {}
        self.seed = seed
        self.rng = np.random.default_rng(check_seed(seed))
        # precomputed once: EMAP and the marginals it is built from (exact)
        self.text_marginal, self.image_marginal, self.grand = row_col_grand(self.grid)  # (N, C), (N, C), (C,)
        self.emap = emap_from_marginals(self.text_marginal, self.image_marginal, self.grand)  # (N, C)
        self.perm, self.perm_seed = np.arange(self.n), None
        self.gaps: list[tuple[int, float]] = []  # (reshuffles k, mean |running - EMAP| margin)
        self._build(n_gallery)
        self.reset()
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
        self.predictors = ["text only", "image only", *(["additive"] if self.additive is not None else []),
                           self.name, "EMAP", "running average"]
        k = len(self.predictors)
        self.fig_acc = ui.figure([go.Bar(x=self.predictors, y=[0.0] * k, text=[""] * k, textposition="outside",
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
            self.gallery, self.cards = ui.gallery(min(n_gallery, self.n))
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
        self.perm_seed = int(self.rng.integers(2**63))
        self.perm = shuffle_permutation(self.n, fraction, self.perm_seed)
        self._refresh_pairs()

    @ui.callback
    def reshuffle(self, times: int = 1) -> None:
        """New random pairs at the current fraction, and ``times`` more full reshuffles averaged."""
        for _ in range(times):
            self._rows, self._cols = next(self._row_average), next(self._col_average)
            self.k += 1
        self.set_fraction(self.fraction.value)
        self._refresh_running()

    @ui.callback
    def reset(self) -> None:
        """Forget the running average."""
        seed = int(self.rng.integers(2**63))
        self._row_average = reshuffle_grid_average(self.grid, ROUNDS, seed=seed, shuffle="image")
        self._col_average = reshuffle_grid_average(self.grid, ROUNDS, seed=seed + 1, shuffle="text")
        self._rows = self._cols = None
        self.k, self.gaps = 0, []
        self.set_fraction(self.fraction.value)
        self._refresh_running()

    # ---------------------------------------------------------------- display
    def running_emap(self) -> np.ndarray | None:
        """EMAP estimated from the k reshuffles so far: (N, C), or None before the first."""
        if self.k == 0:
            return None
        return emap_from_marginals(self._rows, self._cols)  # the EMAP formula on the averaged marginals

    def predictions(self) -> dict[str, np.ndarray]:
        """Each predictor's logits (N, C) on the current pairs (text i, image perm[i])."""
        perm = self.perm
        preds = {"text only": self.text_marginal, "image only": self.image_marginal[perm]}
        if self.additive is not None:
            preds["additive"] = permuted_pairs(self.additive, perm)
        preds[self.name] = permuted_pairs(self.grid, perm)
        # EMAP of the reshuffled pair (t_i, v_perm[i]): text term of i plus image term of perm[i]
        preds["EMAP"] = emap_from_marginals(self.text_marginal, self.image_marginal, self.grand, perm)
        if self.k:
            preds["running average"] = emap_from_marginals(self._rows, self._cols, perm=perm)
        return preds

    def _refresh_pairs(self) -> None:
        preds = self.predictions()
        # None, not NaN, for a bar with no value yet: NaN is not valid JSON for the browser
        scores = [accuracy(self.labels, preds[key]) if key in preds else None for key in self.predictors]
        with self.fig_acc.batch_update():
            self.fig_acc.data[0].y = scores
            self.fig_acc.data[0].text = ["" if s is None else f"{s:.2f}" for s in scores]
        moved = self.perm != np.arange(self.n)
        for i, card in enumerate(self.cards):
            j = int(self.perm[i])
            if j not in self._png:
                self._png[j] = ui.png_bytes(self.images[j])
            card.show(self._png[j], self.texts[i], highlight=bool(moved[i]))
        self.status.value = (f"{int(moved.sum())} of {self.n} pairs reshuffled; running average over "
                             f"{self.k} full reshuffles")

    def _refresh_running(self) -> None:
        m = min(self.n, N_SCATTER)
        exact = label_margin(self.emap, self.labels)
        running = self.running_emap()
        if running is None:
            est = [None] * m  # no running average yet (None, not NaN: the browser needs valid JSON)
        else:
            margin = label_margin(running, self.labels)
            est = margin[:m]
            self.gaps.append((self.k, margin_gap(running, self.emap, self.labels)))
        lo, hi = float(exact[:m].min()), float(exact[:m].max())
        with self.fig_conv.batch_update():
            self.fig_conv.data[0].x, self.fig_conv.data[0].y = [lo, hi], [lo, hi]
            self.fig_conv.data[1].x, self.fig_conv.data[1].y = exact[:m], est
            self.fig_conv.data[2].x = [k for k, _ in self.gaps]
            self.fig_conv.data[2].y = [gap for _, gap in self.gaps]


def _grid_of(model: Any, feats: Any, name: str, n: int) -> np.ndarray:
    """The float64 (N, N, C) grid of ``model``: a given grid checked (``feats`` must be None, as
    everywhere in the kit), or the model's ``pairwise_logits`` on ``feats`` (through ``GridModel``)."""
    if is_array(model):
        if feats is not None:
            raise ValueError(f"{name} is an array {describe(model)} and feats were given too; pass a precomputed "
                             "(N, N, C) grid with feats=None, or a pair model with its features")
        grid = check_grid(model, name=name)
        if len(grid) != n:
            raise ValueError(f"inconsistent numbers of samples: {name} grid={len(grid)}, labels={n}")
        return grid
    if feats is None:
        raise TypeError(f"feats is required for a pair model ({describe(model)}); only a precomputed (N, N, C) "
                        "grid can be passed without features")
    from grounding_kit.analysis import GridModel

    return GridModel.from_model(model, feats, progress=False).subgrid()


def reshuffle_lab(model: Any, feats: Any, labels: Sequence[int], *, additive: Any = None,
                  images: Sequence[Any] | None = None, texts: Sequence[str] | None = None, n_gallery: int = 6,
                  seed: int = 0, name: str = "interactive") -> ReshuffleLab:
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
    seed : seeds the reshuffles.
    name : the label of ``model`` on the plots.

    Returns
    -------
    ReshuffleLab (an ``ipywidgets.VBox``). Callbacks: ``set_fraction(f)``, ``reshuffle(times=1)``,
    ``reset()``; ``predictions()`` gives each predictor's (N, C) logits on the current pairs and
    ``running_emap()`` the running average's EMAP estimate.
    """
    return ReshuffleLab(model, feats, labels, additive=additive, images=images, texts=texts,
                        n_gallery=n_gallery, seed=seed, name=name)
