"""The three-modality study, its widget, and notebook 06's exercise checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import grounding_kit as gk
from grounding_kit.exercises.checks import CheckFailed
from grounding_kit.exercises.modality_checks import check_emap3_function, check_pivot_predictions
from grounding_kit.experiments.modalities import modality_features, three_modality_study
from grounding_kit.widgets.modalities import pair_interaction_widget


@pytest.fixture(scope="module")
def studies():
    clip, audio = gk.load_clip("tiny-shapes", device="cpu"), gk.load_audio_encoder("tiny-audio")
    return {task: three_modality_study(task, clip, audio, n_train=400, n_eval=120, n_grid=16, seed=0)
            for task in ("text_image", "image_audio")}


def test_each_head_puts_its_interaction_in_its_pair(studies):
    for task, pair in (("text_image", "text x image"), ("image_audio", "image x audio")):
        study = studies[task]
        table = study.decomposition.share_table()
        pairs = {k: v for k, v in table.items() if k.count(" x ") == 1}
        assert max(pairs, key=pairs.get) == pair, (task, table)
        assert study.accuracy > 0.62 and study.emap_accuracy < study.accuracy - 0.08, (task, study.accuracy,
                                                                                       study.emap_accuracy)


def test_widget_updates_in_place(studies):
    widget = pair_interaction_widget(studies)
    bars = widget.fig.data[0]
    shown = widget.show("image_audio")
    assert list(bars.y) == [shown[t] for t in widget.terms]
    assert bars.marker.color[widget.terms.index("image x audio")] == "#c44e52"
    assert "image x audio" in widget.status.value
    widget.task.value = "text_image"
    assert list(widget.fig.data[0].y) == [studies["text_image"].decomposition.share_table()[t] for t in widget.terms]
    with pytest.raises(ValueError, match="at least one"):
        pair_interaction_widget({})


def test_modality_features_refuses_a_two_modality_dataset():
    ds = gk.make_task("match", n=4, seed=0, cache=False)
    with pytest.raises(ValueError, match="audio"):
        modality_features(ds, None, None)


def test_check_pivot_predictions():
    rng = np.random.default_rng(0)
    audio = torch.nn.functional.normalize(torch.tensor(rng.normal(size=(6, 8))), dim=1)
    captions = torch.nn.functional.normalize(torch.tensor(rng.normal(size=(10, 8))), dim=1)
    check_pivot_predictions((audio @ captions.T).argmax(1), audio, captions)
    with pytest.raises(CheckFailed, match="6.1"):
        check_pivot_predictions((audio @ captions.T).argmin(1), audio, captions)
    with pytest.raises(CheckFailed, match="shape"):
        check_pivot_predictions(np.zeros(3), audio, captions)
    with pytest.raises(CheckFailed, match="argmax over the sounds") as info:  # 10 values: one per caption
        check_pivot_predictions((audio @ captions.T).argmax(0), audio, captions)
    assert "argmax(axis=1)" in info.value.hint


def test_check_emap3_function():
    def right(P):
        return P.mean(axis=(1, 2)) + P.mean(axis=(0, 2)) + P.mean(axis=(0, 1)) - 2 * P.mean(axis=(0, 1, 2))

    def multiviz(P):
        return P.mean(axis=(1, 2)) + P.mean(axis=(0, 2)) + P.mean(axis=(0, 1)) - P.mean(axis=(0, 1, 2))

    check_emap3_function(right)
    with pytest.raises(CheckFailed, match="M - 1 = 2 times"):
        check_emap3_function(multiviz)
    with pytest.raises(CheckFailed, match="function"):
        check_emap3_function(3)
