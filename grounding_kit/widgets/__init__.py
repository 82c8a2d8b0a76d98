"""Reusable live widgets (ipywidgets + plotly ``FigureWidget``), shared by notebooks and dashboard.

Every widget only composes tested kit calls (the experiment protocol ``grounding_kit.experiments.protocol``,
``GridModel``, ``emap_model``, ``decompose``, ``emap_report``, ``reshuffle``, ``rebalance``, and the
display numbers of ``analysis.summaries`` and ``analysis.margins``) and displays them: no science
lives here, and no arithmetic on logits beyond choosing what to plot. Each constructor precomputes what its callbacks need (features, the
N x N logit grid of the chosen model, ...), builds its figures once, and afterwards only updates
trace data inside ``fig.batch_update()``, so a slider tick or a button click costs milliseconds.

Each constructor returns an ``ipywidgets.VBox`` subclass; its callbacks are public methods
(e.g. ``lab.set_fraction(0.5)``, ``lab.reshuffle()``), so tests and benchmarks call them directly.

Public constructors
-------------------
- :func:`reshuffle_lab` (model, feats, labels, ...): break a fraction of the image-text pairs,
  watch each predictor's accuracy, and watch the running averages of reshuffled predictions
  converge to the text and image marginals, whose sum minus the grand mean is EMAP.
- :func:`emap_lab` (clip, ...): task, model, N, exact or Monte Carlo; decomposition heatmaps and
  the ``emap_report`` table.
- :func:`rebalancing_lab` (vqa, ...): the language-prior dial, rebalancing on/off, answer
  histograms per question type, blind baseline vs the full model.
- :func:`retrieval_widget` (clip, images, texts): type a caption -> ranked images; pick an image
  -> ranked captions.
- :func:`grounding_explorer` (clip, images, texts, vqa=None): the retrieval widget plus the VQA
  model's answers to a typed question about the picked image.
- :func:`similarity_widget` (clip, images, texts): the N x N CLIP similarity matrix of a batch,
  and what reshuffling the pairs does to its diagonal.
- :func:`pair_interaction_widget` (studies): which pairs of text, image and audio interact, per
  task, from precomputed three-modality studies.
- :func:`interaction_dial` (clip, ...): the interaction dial of the ``mixed`` task against the
  accuracy of additive and interactive model families.

``import grounding_kit.widgets`` imports ipywidgets and plotly but not torch; models load when a
widget is built.
"""

from __future__ import annotations

from grounding_kit.widgets.emap_lab import EmapLab, emap_lab
from grounding_kit.widgets.explorer import (GroundingExplorer, RetrievalWidget, grounding_explorer,
                                            retrieval_widget)
from grounding_kit.widgets.interaction import InteractionDial, interaction_dial
from grounding_kit.widgets.modalities import PairInteractionWidget, pair_interaction_widget
from grounding_kit.widgets.rebalancing_lab import RebalancingLab, rebalancing_lab
from grounding_kit.widgets.reshuffle_lab import ReshuffleLab, reshuffle_lab
from grounding_kit.widgets.similarity import SimilarityWidget, similarity_widget

__all__ = [
    "EmapLab", "GroundingExplorer", "InteractionDial", "PairInteractionWidget", "RebalancingLab", "ReshuffleLab",
    "RetrievalWidget", "SimilarityWidget", "emap_lab", "grounding_explorer", "interaction_dial",
    "pair_interaction_widget", "rebalancing_lab", "reshuffle_lab", "retrieval_widget", "similarity_widget",
]
