"""The rebalancing lab: a language-prior dial, rebalancing on/off, answer histograms per question
type, and the blind (question-only) baseline against the full VQA model."""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as w
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grounding_kit.widgets import components as ui


class RebalancingLab(w.VBox):
    """See :func:`rebalancing_lab`. Callback: :meth:`show` (prior, balanced)."""

    def __init__(self, vqa: Any = None, *, priors: Sequence[float] = (0.0, 0.5, 0.9), n: int = 200,
                 seed: int = 0, batch_size: int = 64) -> None:
        from grounding_kit.experiments.rebalancing import rebalancing_study
        from grounding_kit.world.vqa import ANSWERS_BY_TYPE, QUESTION_TYPES

        if vqa is None:
            from grounding_kit.models import load_vqa

            vqa = load_vqa()
        self.types = list(QUESTION_TYPES)
        self.answers = {t: list(ANSWERS_BY_TYPE[t]) for t in self.types}
        #: (prior, balanced) -> RebalancingSnapshot, computed once (experiments.rebalancing)
        self.results = rebalancing_study(vqa, priors=priors, n=n, seed=seed, batch_size=batch_size)
        self.prior = w.SelectionSlider(options=[float(p) for p in priors], value=float(priors[-1]),
                                       description="prior", continuous_update=False)
        self.balanced = w.ToggleButtons(options=["original", "rebalanced"], value="original", description="data")
        self.prior.observe(lambda _: self.show(), names="value")
        self.balanced.observe(lambda _: self.show(), names="value")
        hist = make_subplots(rows=1, cols=len(self.types), subplot_titles=self.types, horizontal_spacing=0.04)
        for col, t in enumerate(self.types, start=1):
            hist.add_trace(go.Bar(x=self.answers[t], y=[0.0] * len(self.answers[t]), name=t), 1, col)
        hist.update_yaxes(range=[0, 1])
        self.fig_hist = ui.widget_of(hist, height=300, showlegend=False, title="answer shares per question type")
        groups = [*self.types, "all"]
        self.fig_acc = ui.figure([go.Bar(x=groups, y=[0.0] * len(groups), name="blind (question only)"),
                                  go.Bar(x=groups, y=[0.0] * len(groups), name="full VQA model"),
                                  go.Bar(x=groups, y=[0.0] * len(groups), name="chance")],
                                 title="blind baseline vs full model", height=320, barmode="group",
                                 yaxis=dict(range=[0, 1.05], title="accuracy"))
        self.status = ui.status()
        super().__init__([
            ui.title("Rebalancing lab", "Turn up the language prior: a model that never looks at the image "
                                        "scores well. Rebalance with complementary images: it falls to chance."),
            w.HBox([self.prior, self.balanced]), self.fig_hist, self.fig_acc, self.status,
        ])
        self.add_class("gk-rebalancing-lab")
        self.show()
        ui.publish(self)

    @ui.callback
    def show(self, prior: float | None = None, balanced: bool | None = None) -> None:
        """Display the precomputed results for ``prior`` and ``balanced`` (default: the controls)."""
        if prior is not None or balanced is not None:
            with self.hold_trait_notifications():
                if prior is not None:
                    self.prior.value = float(prior)
                if balanced is not None:
                    self.balanced.value = "rebalanced" if balanced else "original"
        r = self.results[(self.prior.value, self.balanced.value == "rebalanced")]
        groups = [*self.types, "all"]
        with self.fig_hist.batch_update():
            for trace, t in zip(self.fig_hist.data, self.types):
                trace.y = r.shares[t]
        with self.fig_acc.batch_update():
            for trace, values in zip(self.fig_acc.data, (r.blind, r.full, r.chance)):
                trace.y = [values.get(t, float("nan")) for t in groups]
        self.status.value = (f"prior {self.prior.value:.1f}, {self.balanced.value} data: {r.rows} questions; "
                             f"blind baseline {r.blind.get('all', float('nan')):.2f}, "
                             f"full model {r.full['all']:.2f}")


def rebalancing_lab(vqa: Any = None, *, priors: Sequence[float] = (0.0, 0.5, 0.9), n: int = 200,
                    seed: int = 0) -> RebalancingLab:
    """The prior dial, rebalancing on/off, answer histograms, blind baseline vs full model.

    Parameters
    ----------
    vqa : a VQA model from ``load_vqa`` (``logits(images, questions)``); default the embedded one.
    priors : language-prior strengths offered by the dial (``make_task("vqa", prior=...)``).
    n : questions per prior before rebalancing (``rebalance`` adds complements).
    seed : seeds the data and the cross-fitted blind baseline.

    Returns
    -------
    RebalancingLab (an ``ipywidgets.VBox``); everything is computed on construction, the
    callback ``show(prior=None, balanced=None)`` only swaps precomputed numbers.
    """
    return RebalancingLab(vqa, priors=priors, n=n, seed=seed)
