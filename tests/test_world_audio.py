"""The scenes' sounds and the three-modality tasks."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import grounding_kit as gk
from grounding_kit.world import audio as sound
from grounding_kit.world.audio_tasks import AUDIO_TASKS, make_audio_task
from grounding_kit.world.scenes import Scene, SceneObject, sample_scenes


def one(shape="circle", color="red", size="large", x=0.25, y=0.25) -> Scene:
    return Scene((SceneObject(shape, color, size, x, y),))


def spectrum_peak(wave: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(wave)) ** 2
    return float(np.fft.rfftfreq(len(wave), 1 / sound.SAMPLE_RATE)[power.argmax()])


def test_sound_is_one_second_deterministic_and_bounded():
    for scene in sample_scenes(20, seed=3):
        wave = sound.scene_audio(scene)
        assert wave.shape == (sound.SAMPLE_RATE,) and wave.dtype == np.float32
        assert np.abs(wave).max() <= 1.0
        np.testing.assert_array_equal(wave, sound.scene_audio(scene))
    # pinned: the same scene gives the same samples on every machine
    digest = hashlib.sha256(sound.scene_audio(sample_scenes(1, seed=0)[0]).tobytes()).hexdigest()
    assert digest == "b170a3bf69b090d7f1ac4670debe3319761d7cc7adc5fe53abce04e191543f98"


def test_mapping_is_audible():
    """colour -> pitch, size -> loudness, position -> beat, shape -> harmonics."""
    for color, hz in sound.PITCH_HZ.items():
        assert abs(spectrum_peak(sound.scene_audio(one(color=color))) - hz) < 6  # 1 s: 1 Hz bins
    loud, quiet = sound.scene_audio(one(size="large")), sound.scene_audio(one(size="small"))
    assert np.abs(loud).max() / np.abs(quiet).max() == pytest.approx(0.8 / 0.3, rel=1e-3)
    for cell, (x, y) in enumerate([(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)]):
        wave = sound.scene_audio(one(x=x, y=y))
        energy = [float((wave[b * 4000:(b + 1) * 4000] ** 2).sum()) for b in range(4)]
        assert int(np.argmax(energy)) == cell and sorted(energy)[-2] == 0.0

    def harmonic(shape: str, k: int) -> float:
        wave = sound.note(shape, "red", "large")
        power = np.abs(np.fft.rfft(wave, n=sound.SAMPLE_RATE)) ** 2
        f = sound.PITCH_HZ["red"]
        return float(power[int(round(k * f)) - 3:int(round(k * f)) + 4].max() / power.max())

    assert harmonic("circle", 2) < 1e-3 and harmonic("circle", 3) < 1e-3
    assert harmonic("square", 2) < 1e-3 < harmonic("square", 3)
    assert harmonic("triangle", 2) > 1e-2


def test_audio_record_round_trip_and_bad_input():
    wave = sound.scene_audio(sample_scenes(1, seed=1)[0])
    record = sound.audio_record(wave)
    assert record["bytes"][:4] == b"RIFF"
    np.testing.assert_allclose(sound.decode_audio(record), wave, atol=1 / 32767 + 1e-6)
    with pytest.raises(ValueError, match="one channel"):
        sound.audio_record(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="at most 1 s"):
        sound.audio_record(np.zeros(sound.SAMPLE_RATE + 1))
    with pytest.raises(TypeError, match="WAV bytes"):
        sound.decode_audio("not audio")
    with pytest.raises(TypeError, match="Scene"):
        sound.scene_audio("a red circle")
    with pytest.raises(ValueError, match="colour"):
        sound.note("circle", "pink", "large")


@pytest.mark.parametrize("task", AUDIO_TASKS)
def test_audio_tasks_have_the_stated_structure(task):
    from datasets import Audio

    ds = make_audio_task(task, n=120, seed=4, cache=False)
    assert isinstance(ds.features["audio"], Audio) and ds.features["audio"].sampling_rate == 16_000
    assert sound.decode_audio(ds[0]["audio"]).shape == (sound.SAMPLE_RATE,)
    labels = np.array(ds["label"])
    assert abs(labels.mean() - 0.5) <= 1 / 120
    text, image, audio = (np.array(ds[f"{m}_scene"]) for m in ("text", "image", "audio"))
    if task == "text_image":
        np.testing.assert_array_equal(labels, text == image)
    elif task == "image_audio":
        np.testing.assert_array_equal(labels, audio == image)
    else:
        np.testing.assert_array_equal(labels, (text == image) & (image == audio))
        # no pair decides it: in "no" rows where one modality was edited, the other pair agrees
        no = labels == 0
        assert ((text == image) & no).any() and ((image == audio) & no).any() and ((text == audio) & no).any()
    np.testing.assert_array_equal(np.array(ds["text"]), text)


def test_audio_task_is_seeded_and_checked():
    a = make_audio_task("all_three", n=10, seed=1, cache=False)
    b = make_audio_task("all_three", n=10, seed=1, cache=False)
    assert a["audio"] == b["audio"] and a["text"] == b["text"]
    with pytest.raises(ValueError, match="name"):
        gk.make_audio_task("text_sound", n=10)
    with pytest.raises(ValueError, match="max_objects"):
        make_audio_task("text_image", n=10, max_objects=5)
