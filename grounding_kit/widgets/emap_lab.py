"""The EMAP lab: pick a task, a model, N and exact or Monte Carlo EMAP; see the decomposition
heatmaps and the ``emap_report`` table."""

from __future__ import annotations

import html
import time
from typing import Any, Sequence

import ipywidgets as w
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grounding_kit.experiments.emap_view import emap_view
from grounding_kit.widgets import components as ui

TASKS = ("additive", "match", "mixed", "vqa")
WINDOW = 30  # items shown on each axis of the heatmaps


class EmapLab(w.VBox):
    """See :func:`emap_lab`. Callback: :meth:`configure` (also wired to every control)."""

    def __init__(self, clip: Any, *, tasks: Sequence[str] = TASKS, kinds: Sequence[str] = ("additive", "interactive"),
                 n: int = 400, n_train: int | None = None, levels: Sequence[float] = (0.25, 0.5, 0.75),
                 seed: int = 0, task: str | None = None, kind: str | None = None) -> None:
        self.clip, self.n_max, self.n_train, self.seed = clip, n, n_train, seed
        self._hold = False
        step = max(10, n // 10)
        self.task = w.Dropdown(options=list(tasks), value=task or tasks[0], description="task")
        self.interaction = w.SelectionSlider(options=[float(a) for a in levels], value=float(levels[len(levels) // 2]),
                                             description="interaction", continuous_update=False)
        self.kind = w.Dropdown(options=list(kinds), value=kind or kinds[-1], description="model")
        self.n = w.IntSlider(value=n, min=step, max=n, step=step, description="N", continuous_update=False)
        self.n.add_class("gk-n")
        self.method = w.ToggleButtons(options=["exact", "Monte Carlo"], value="exact", description="EMAP")
        self.partners = w.IntSlider(value=16, min=2, max=64, step=2, description="partners K",
                                    continuous_update=False)
        for control in (self.task, self.interaction, self.kind, self.n, self.method, self.partners):
            control.observe(lambda _: self.update(), names="value")
        heat = make_subplots(rows=1, cols=3, horizontal_spacing=0.06,
                             subplot_titles=("model f(t_i, v_j)", "EMAP (additive part)", "interaction residual"))
        for col in (1, 2, 3):
            heat.add_trace(go.Heatmap(z=[[0.0]], coloraxis="coloraxis"), 1, col)
        heat.update_yaxes(autorange="reversed")
        self.fig_heat = ui.widget_of(heat, height=360, coloraxis=dict(colorscale="RdBu", cmid=0))
        self.fig_acc = ui.figure([go.Bar(x=[], y=[], text=[], textposition="outside", marker_color="#4c72b0")],
                                 title="accuracy with 95% intervals (emap_report)", height=300,
                                 yaxis=dict(range=[0, 1.1], title="accuracy"))
        self.table = w.HTML()
        self.status = ui.status()
        super().__init__([
            ui.title("EMAP lab", "EMAP keeps only what a model gets from each modality on its own; "
                                 "if accuracy barely drops, the model is not using cross-modal interactions."),
            w.HBox([self.task, self.interaction, self.kind]),
            w.HBox([self.n, self.method, self.partners]),
            self.fig_heat, w.HBox([self.fig_acc, self.table]), self.status,
        ])
        self.add_class("gk-emap-lab")
        self.update()
        ui.publish(self)

    @ui.callback
    def configure(self, **values: Any) -> None:
        """Set any of ``task, interaction, kind, n, method, partners`` and update once."""
        self._hold = True
        try:
            for name, value in values.items():
                getattr(self, name).value = value
        finally:
            self._hold = False
        self.update()

    @ui.callback
    def update(self) -> None:
        """Recompute for the current controls (the first visit of a task or model fits its head)."""
        if self._hold:
            return
        start = time.perf_counter()
        self.interaction.layout.visibility = "visible" if self.task.value == "mixed" else "hidden"
        self.partners.layout.visibility = "visible" if self.method.value == "Monte Carlo" else "hidden"
        view = emap_view(self.clip, self.task.value, self.kind.value, self.n.value, n_max=self.n_max,
                         n_train=self.n_train, seed=self.seed,
                         partners=None if self.method.value == "exact" else self.partners.value,
                         interaction=self.interaction.value if self.task.value == "mixed" else None)
        table, m = view.report.table, min(WINDOW, self.n.value)
        with self.fig_heat.batch_update():  # the first WINDOW texts and images of the decomposed grid
            self.fig_heat.data[0].z = view.margin[:m, :m]
            self.fig_heat.data[1].z = view.additive[:m, :m]
            self.fig_heat.data[2].z = view.interaction[:m, :m]
        with self.fig_acc.batch_update():
            bars = self.fig_acc.data[0]
            bars.x = list(table.index)
            bars.y = table["score"].to_numpy()
            bars.text = [f"{v:.2f}" for v in table["score"]]
            bars.error_y = dict(type="data", symmetric=False, array=(table["ci_high"] - table["score"]).to_numpy(),
                                arrayminus=(table["score"] - table["ci_low"]).to_numpy())
        self.table.value = ui.table_html(table) + (
            f"<div>model - EMAP: {view.report.difference:+.3f} ({view.report.method}). "
            f"{html.escape(view.verdict)}</div>")
        elapsed = time.perf_counter() - start
        self.status.value = (f"{self.task.value} task, {self.kind.value} head, N={self.n.value}, {self.method.value} "
                             f"EMAP; interaction share of the grid {view.interaction_share:.0%}; "
                             f"updated in {1000 * elapsed:.0f} ms")


def emap_lab(clip: Any, *, tasks: Sequence[str] = TASKS, kinds: Sequence[str] = ("additive", "interactive"),
             n: int = 400, n_train: int | None = None, levels: Sequence[float] = (0.25, 0.5, 0.75),
             seed: int = 0, task: str | None = None, kind: str | None = None) -> EmapLab:
    """Task, model, N and exact / Monte Carlo EMAP, with decomposition heatmaps and ``emap_report``.

    Parameters
    ----------
    clip : a CLIP from ``load_clip``; heads are fitted on its features.
    tasks : tasks offered (``make_task`` names; ``mixed`` shows its interaction dial).
    kinds : head kinds offered (``fit_head`` kinds).
    n : evaluation pairs (the N slider goes up to it); ``n_train`` training pairs (default max(n, 800)).
    levels : interaction values offered for ``mixed``.
    seed : seeds data, heads and Monte Carlo partners.
    task, kind : the initial selection (default: the first task, the last kind).

    Returns
    -------
    EmapLab (an ``ipywidgets.VBox``). Callback: ``configure(task=, interaction=, kind=, n=, method=,
    partners=)``. A task/model pair is fitted on its first selection (seconds), then cached.
    """
    return EmapLab(clip, tasks=tasks, kinds=kinds, n=n, n_train=n_train, levels=levels, seed=seed,
                   task=task, kind=kind)
