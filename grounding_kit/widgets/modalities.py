"""Which pairs interact? The variance shares of a three-modality model's decomposition, per task."""

from __future__ import annotations

from typing import Any, Mapping

import ipywidgets as w
import plotly.graph_objects as go

from grounding_kit.widgets import components as ui


class PairInteractionWidget(w.VBox):
    """See :func:`pair_interaction_widget`. Callback: :meth:`show`."""

    def __init__(self, studies: Mapping[str, Any]) -> None:
        if not studies:
            raise ValueError("studies must map at least one task name to its ModalityStudy")
        self.studies = dict(studies)
        first = next(iter(self.studies.values()))
        self.terms = list(first.decomposition.share_table())
        self.fig = ui.figure([go.Bar(x=self.terms, y=[0.0] * len(self.terms), marker_color="#4c72b0")],
                             title="share of the logit margin's variance over all (text, image, audio) tuples",
                             height=340, yaxis=dict(title="share", range=[0, 1]))
        self.task = w.Dropdown(options=list(self.studies), value=next(iter(self.studies)), description="task")
        self.task.observe(lambda change: self.show(change["new"]), names="value")
        self.status = ui.status()
        super().__init__([ui.title("Which modalities interact?",
                                   "Main effects, the three pairwise interactions and the three-way rest "
                                   "of a head over text, image and audio."), self.task, self.fig, self.status])
        self.show(self.task.value)
        ui.publish(self)

    @ui.callback
    def show(self, task: str) -> dict[str, float]:
        """Show ``task``'s shares; returns them (term -> share)."""
        study = self.studies[task]
        if self.task.value != task:
            self.task.value = task
        table = study.decomposition.share_table()
        pairs = {k: v for k, v in table.items() if k.count(" x ") == 1}
        with self.fig.batch_update():
            self.fig.data[0].y = [table[t] for t in self.terms]
            self.fig.data[0].marker.color = ["#c44e52" if t == max(pairs, key=pairs.get) else "#4c72b0"
                                             for t in self.terms]
        self.status.value = (f"{task}: head accuracy {study.accuracy:.2f}, its EMAP {study.emap_accuracy:.2f}; "
                             f"largest pair: {max(pairs, key=pairs.get)} ({max(pairs.values()):.2f})")
        return table


def pair_interaction_widget(studies: Mapping[str, Any]) -> PairInteractionWidget:
    """A dropdown of tasks and a bar chart of each term's variance share (main effects, pairs, rest).

    Parameters
    ----------
    studies : task name -> :class:`~grounding_kit.experiments.modalities.ModalityStudy` (from
        :func:`~grounding_kit.experiments.modalities.three_modality_study`), computed beforehand:
        the callback only reads them.

    Returns
    -------
    PairInteractionWidget (an ``ipywidgets.VBox``); callback ``show(task)``; the largest pairwise
    term is drawn in red.

    Raises
    ------
    ValueError
        If ``studies`` is empty.
    """
    return PairInteractionWidget(studies)
