"""Pure helpers and building blocks of the widgets (no model, no browser)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from grounding_kit.widgets import components as ui
from grounding_kit.analysis.margins import label_margin, label_margin_grid, margin_gap
from grounding_kit.widgets.helpers import ranking, to_numpy


def test_label_margin_is_the_label_logit_minus_the_row_mean():
    logits = np.array([[1.0, 3.0, 2.0], [0.0, 0.0, 6.0]])
    np.testing.assert_allclose(label_margin(np.array([1, 0]), logits), [1.0, -2.0])


def test_label_margin_is_linear_so_averages_commute():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    labels = rng.integers(0, 4, size=5)
    np.testing.assert_allclose(label_margin(labels, (a + b) / 2),
                               (label_margin(labels, a) + label_margin(labels, b)) / 2)


def test_margin_gap_is_the_mean_absolute_difference_of_label_margins():
    a, b = np.array([[1.0, 3.0], [0.0, 2.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])
    labels = np.array([1, 0])
    assert margin_gap(labels, a, b) == pytest.approx((1.0 + 1.0) / 2)
    assert margin_gap(labels, a, a) == 0.0


def test_ranking_is_best_first_stable_and_clamped():
    scores = np.array([0.1, 0.9, 0.5, 0.9])
    assert ranking(scores, 3).tolist() == [1, 3, 2]
    assert ranking(scores, 10).tolist() == [1, 3, 2, 0]
    assert ranking(scores, 0).tolist() == []


def test_to_numpy_copies_tensors_and_arrays_as_float64():
    assert to_numpy(torch.ones(2, dtype=torch.float32)).dtype == np.float64
    assert to_numpy([1, 2]).tolist() == [1.0, 2.0]


def test_publish_makes_updates_before_display_the_state_new_views_start_from():
    class Owner:
        pass

    owner = Owner()
    owner.fig = ui.figure([go.Bar(x=["a"], y=[0.0])], title="before")
    with owner.fig.batch_update():
        owner.fig.data[0].y = [0.5]
        owner.fig.layout.title.text = "after"
    assert list(owner.fig._widget_data[0]["y"]) == [0.0]  # what a view opened now would show
    ui.publish(owner)
    assert list(owner.fig._widget_data[0]["y"]) == [0.5]
    assert owner.fig._widget_layout["title"]["text"] == "after"


def test_callbacks_run_on_one_torch_thread_and_restore_the_setting():
    before = torch.get_num_threads()

    class Lab:
        @ui.callback
        def threads(self) -> int:
            return torch.get_num_threads()

    assert Lab().threads() == 1
    assert torch.get_num_threads() == before


def test_png_bytes_and_image_card():
    from PIL import Image

    png = ui.png_bytes(Image.new("RGB", (8, 8), "red"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    card = ui.ImageCard()
    card.show(png, "a <red> square", highlight=True)
    assert card.image.value == png and "&lt;red&gt;" in card.caption.value and "#c0392b" in card.caption.value


def test_label_margin_grid_matches_label_margin_row_by_row():
    rng = np.random.default_rng(1)
    grid, labels = rng.normal(size=(6, 6, 3)), rng.integers(0, 3, size=6)
    margins = label_margin_grid(labels, grid)
    for j in range(6):
        np.testing.assert_allclose(margins[:, j], label_margin(labels, grid[:, j]))
    with pytest.raises(ValueError, match=r"\(N, N, C\)"):
        label_margin_grid(labels, grid[:, :5])
