"""The interaction dial: from the additive task to the match task, and how additive and
interactive model families keep up."""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as w
import plotly.graph_objects as go

from grounding_kit.widgets import components as ui
from grounding_kit.experiments.dial import interaction_curve


class InteractionDial(w.VBox):
    """See :func:`interaction_dial`. Callback: :meth:`set_level`."""

    def __init__(self, clip: Any, *, levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
                 kinds: Sequence[str] = ("additive", "interactive"), n: int = 400, n_train: int | None = None,
                 seed: int = 0) -> None:
        # precomputed once: each head's held-out accuracy at each dial position
        self.curve = interaction_curve(clip, levels=levels, kinds=kinds, n=n, n_train=n_train, seed=seed)
        self.levels, self.kinds = self.curve.levels, list(kinds)
        self.scores = self.curve.scores
        curves = [go.Scatter(x=self.levels, y=self.scores[kind], mode="lines+markers", name=f"{kind} head")
                  for kind in self.kinds]
        curves += [go.Scatter(x=self.levels, y=self.curve.bayes, mode="lines", name="best possible",
                              line=dict(dash="dash", color="#333")),
                   go.Scatter(x=self.levels, y=self.curve.additive_rule, mode="lines",
                              name="loss-optimal additive rule", line=dict(dash="dot", color="#888")),
                   go.Scatter(x=[], y=[], mode="markers", name="dial", marker=dict(size=16, symbol="circle-open",
                                                                                   color="#c44e52"))]
        self.fig = ui.figure(curves, title="held-out accuracy as the task needs more interaction", height=360,
                             xaxis=dict(title="interaction (0 = additive task, 1 = match task)"),
                             yaxis=dict(title="accuracy", range=[0.4, 1.02]))
        self.dial = w.SelectionSlider(options=self.levels, value=self.levels[0], description="interaction",
                                      continuous_update=False)
        self.dial.observe(lambda change: self.set_level(change["new"]), names="value")
        self.status = ui.status()
        super().__init__([ui.title("The interaction dial", "Additive models reach the best possible accuracy "
                                                           "only while the task is additive."),
                          self.dial, self.fig, self.status])
        self.set_level(self.levels[0])
        ui.publish(self)

    @ui.callback
    def set_level(self, level: float) -> dict[str, float]:
        """Mark the dial position; returns each head's accuracy there."""
        at = self.curve.at(level)
        i = self.levels.index(float(level))
        if self.dial.value != self.levels[i]:
            self.dial.value = self.levels[i]
        with self.fig.batch_update():
            self.fig.data[-1].x = [self.levels[i]] * len(at)
            self.fig.data[-1].y = list(at.values())
        self.status.value = "interaction {:.2f}: ".format(self.levels[i]) + ", ".join(
            f"{kind} {acc:.2f}" for kind, acc in at.items())
        return at


def interaction_dial(clip: Any, *, levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
                     kinds: Sequence[str] = ("additive", "interactive"), n: int = 400, n_train: int | None = None,
                     seed: int = 0) -> InteractionDial:
    """The ``mixed`` task's interaction dial against the held-out accuracy of each head kind.

    Parameters
    ----------
    clip : a CLIP from ``load_clip``; heads are fitted on its features.
    levels : interaction values (one dataset and one fit per head kind each, on construction).
    kinds : ``fit_head`` kinds compared.
    n, n_train : evaluation and training pairs per level.
    seed : seeds data and heads.

    Returns
    -------
    InteractionDial (an ``ipywidgets.VBox``); callback ``set_level(a)`` only moves the marker and
    the readout (everything is fitted on construction). The plot also shows the exact best
    possible accuracy and the accuracy of the loss-optimal additive rule (``bayes_rates``); an
    additive rule chosen for accuracy can score higher on the interaction rows.
    """
    return InteractionDial(clip, levels=levels, kinds=kinds, n=n, n_train=n_train, seed=seed)
