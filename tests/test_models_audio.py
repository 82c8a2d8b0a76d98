"""The tiny audio encoders, their recipe, and the pivot retrieval table (VIP-ANT on our world)."""

from __future__ import annotations

import importlib
import json
import math
import re
import shutil

import numpy as np
import pytest
import torch

import grounding_kit as gk
from grounding_kit.models.audio import EMBEDDED_AUDIO, AudioConfig, AudioEncoder, encode_audio, load_audio_encoder
from grounding_kit.models.pivot import audio_text_retrieval
from grounding_kit.models.training.audio import alignment_loss, train_tiny_audio, write_audio_card
from grounding_kit.models.registry import embedded_path
from grounding_kit.world.audio import scenes_audio
from grounding_kit.world.scenes import sample_scenes


@pytest.fixture(scope="module")
def clip():
    return gk.load_clip("tiny-shapes", device="cpu")


@pytest.fixture(scope="module")
def table(clip):
    return gk.vip_ant_table(clip, load_audio_encoder("tiny-audio"), load_audio_encoder("tiny-audio-supervised"))


@pytest.mark.parametrize("name", EMBEDDED_AUDIO)
def test_shipped_folder_is_self_describing_and_small(name):
    folder = embedded_path(name)
    assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors", "README.md", "training.json"}
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 20 * 2**20
    record = json.loads((folder / "training.json").read_text())
    assert record["audio_text_pairs_seen"] == (0 if name == "tiny-audio" else record["steps"] * record["batch"])
    assert record["seconds"] < 20 * 60  # the limit: 20 minutes of wall time on 2 cores
    card = (folder / "README.md").read_text()
    assert "training.json" in card and ("No audio-text pair" in card) == (name == "tiny-audio")


@pytest.mark.parametrize("name", EMBEDDED_AUDIO)
def test_card_is_rendered_from_the_record_and_holds_its_figures(name, tmp_path):
    folder = embedded_path(name)
    record = json.loads((folder / "training.json").read_text())
    shutil.copy(folder / "training.json", tmp_path / "training.json")
    card = write_audio_card(tmp_path).read_text()
    assert (folder / "README.md").read_text() == card  # the shipped card is the kit's own rendering
    quality = card.split("## Quality on fresh data")[1]
    retrieval = record["retrieval"]
    for key in ("classify", "retrieve"):  # one row per task: audio -> text, the image's ceiling, chance
        cells = f"| {retrieval[key]} | {retrieval['image_' + key]} | {retrieval['chance_' + key]} |"
        assert any(line.endswith(cells) for line in quality.splitlines()), (key, cells)
    assert f"seed {retrieval['seed']}" in quality
    module = re.search(r"\(`(grounding_kit\.models\.[\w.]+)`, target", card).group(1)
    assert importlib.import_module(module).train_tiny_audio is train_tiny_audio


def test_encoder_is_unit_deterministic_and_reloads(tmp_path):
    model = load_audio_encoder("tiny-audio")
    waves = scenes_audio(sample_scenes(5, seed=2))
    emb = encode_audio(model, waves)
    assert emb.shape == (5, 64)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(5))
    torch.testing.assert_close(emb, encode_audio(model, waves), rtol=0, atol=0)
    model.save_pretrained(tmp_path / "copy")
    torch.testing.assert_close(encode_audio(load_audio_encoder(tmp_path / "copy"), waves), emb, rtol=0, atol=0)


def test_front_end_uses_the_library_filterbank():
    from transformers.audio_utils import mel_filter_bank

    config = AudioConfig()
    bank = mel_filter_bank(num_frequency_bins=config.n_fft // 2 + 1, num_mel_filters=config.n_mels,
                           min_frequency=config.f_min, max_frequency=config.f_max, sampling_rate=config.sample_rate,
                           norm="slaney", mel_scale="slaney")
    np.testing.assert_allclose(AudioEncoder(config).frontend.mel_bank.numpy(), bank, rtol=1e-6)


def test_bad_input():
    model = load_audio_encoder("tiny-audio")
    with pytest.raises(ValueError, match=r"\(N, S\)"):
        encode_audio(model, np.zeros(16000, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        encode_audio(model, np.full((1, 16000), np.nan, dtype=np.float32))
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_audio_encoder("/nonexistent/folder")
    with pytest.raises(TypeError, match="folder path"):
        load_audio_encoder(3)
    with pytest.raises(ValueError, match="target"):
        train_tiny_audio(steps=1, target="video")


def test_pivot_table_beats_chance_below_supervised(table):
    """The talk's VIP-ANT table on our world: zero resource far above chance, at most the supervised bound."""
    classify, retrieve, talk = table.columns
    pivot, supervised, chance = (table.loc[r] for r in ("zero resource: pivot through images",
                                                       "supervised: audio-text pairs", "chance"))
    ceiling = table.loc["image -> text (the pivot's ceiling)"]
    assert chance[classify] == pytest.approx(100 / 36, abs=0.1)
    assert pivot[classify] >= 90 and pivot[retrieve] >= 80           # far above chance (2.8 %, about 1 %)
    assert supervised[classify] >= 95 and supervised[retrieve] >= pivot[retrieve]
    assert pivot[retrieve] <= ceiling[retrieve]                       # no better than its bridge
    # the talk's slide "Connecting the Dots between Audio and Text without Parallel Data through Visual
    # Knowledge Transfer", table "Zero resource prediction results", column ESC50: Supervised 95.7,
    # Wav2CLIP 41.4, VIP-ANT++ 62.8
    assert (pivot[talk], supervised[talk]) == (62.8, 95.7)
    assert table.loc["talk: Wav2CLIP (zero resource)", talk] == 41.4
    assert math.isnan(chance[talk])


def test_alignment_loss_prefers_aligned_pairs():
    target = torch.nn.functional.normalize(torch.randn(8, 16), dim=1)
    scale = torch.tensor(math.log(10.0))
    shuffled = target[torch.roll(torch.arange(8), 1)]
    assert alignment_loss(target, target, scale) < alignment_loss(shuffled, target, scale)


@pytest.mark.slow
def test_recipe_is_deterministic_and_learns(tmp_path, clip):
    """A short run twice with one seed gives identical weights, and beats chance by far."""
    runs = [train_tiny_audio(tmp_path / f"run{i}", steps=60, pool=600, progress=False) for i in range(2)]
    a, b = (load_audio_encoder(r["output_dir"]) for r in runs)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)
    assert runs[0]["retrieval"]["classify"] > 5 * runs[0]["retrieval"]["chance_classify"]
    assert runs[0]["audio_text_pairs_seen"] == 0
