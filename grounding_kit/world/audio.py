"""A sound for every scene: one second of mono audio at 16 kHz, synthesized from the scene's objects.

The mapping (deterministic: the same scene always gives the same samples):

- **position -> time.** The second is a bar of four beats of 250 ms, one per grid cell in reading
  order (top-left, top-right, bottom-left, bottom-right, see
  :func:`grounding_kit.world.scenes.cell_of`). An object sounds in its cell's beat, starting
  ``NOTE_ONSET`` into it and lasting ``NOTE_SECONDS``; empty cells are silent. So a scene is
  heard in the order it is read, and left-to-right within a row is earlier-to-later.
- **colour -> pitch.** Warm colours low, cool colours high, on a C major pentatonic-like ladder
  (:data:`PITCH_HZ`: red C4 262 Hz, orange D4 294, yellow E4 330, green G4 392, blue A4 440,
  purple C5 523).
- **shape -> timbre and envelope.** circle: a pure sine with a smooth (Hann) envelope, round;
  square: odd harmonics at amplitude 1/k (a square wave's spectrum, hollow and buzzy) with a flat
  box envelope and short ramps; triangle: every harmonic at 1/k (a sawtooth's spectrum, bright)
  with a sharp attack and a linear decay, the envelope drawn as a triangle's side. Harmonics above
  the Nyquist frequency are left out, so nothing aliases.
- **size -> loudness.** large objects at peak amplitude 0.8, small ones at 0.3 (8.5 dB quieter).
- The background colour is silent.

The waveform is what :func:`scene_audio` returns, float32 in [-1, 1], shape ``(SAMPLE_RATE,)``;
:func:`audio_record` stores it as 16-bit WAV bytes (``scipy.io.wavfile``) in a
``datasets.Audio(sampling_rate=16000, decode=False)`` value, and :func:`decode_audio` reads such a
value back. (``datasets`` decodes audio with torchcodec, which needs FFmpeg's libraries; the
kit's columns stay undecoded so they load everywhere, and ``IPython.display.Audio(value["bytes"])``
plays one in a notebook.)
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import numpy as np

from grounding_kit.world.scenes import COLORS, SHAPES, SIZES, Scene, cell_of

SAMPLE_RATE = 16_000
SECONDS = 1.0
BEATS = 4
BEAT_SECONDS = SECONDS / BEATS
NOTE_ONSET = 0.01  # seconds into its beat where a note starts
NOTE_SECONDS = 0.2
PITCH_HZ: dict[str, float] = {"red": 261.63, "orange": 293.66, "yellow": 329.63, "green": 392.00,
                              "blue": 440.00, "purple": 523.25}
LOUDNESS: dict[str, float] = {"small": 0.3, "large": 0.8}
#: shape -> (harmonic numbers, their amplitudes' rule) in words, for the docs and the model card
TIMBRE: dict[str, str] = {"circle": "sine, smooth Hann envelope",
                          "square": "odd harmonics at 1/k (square wave), flat box envelope",
                          "triangle": "all harmonics at 1/k (sawtooth), sharp attack and linear decay"}
_RAMP_SECONDS = 0.01

if set(PITCH_HZ) != set(COLORS) or set(LOUDNESS) != set(SIZES) or set(TIMBRE) != set(SHAPES):
    raise RuntimeError("the audio mapping must cover every colour, size and shape of the world")


def _harmonics(shape: str, f0: float) -> tuple[np.ndarray, np.ndarray]:
    nyquist = SAMPLE_RATE / 2
    k = np.arange(1, int(nyquist // f0) + 1)
    if shape == "circle":
        k = k[:1]
    elif shape == "square":
        k = k[k % 2 == 1]
    amplitude = 1.0 / k
    return k, amplitude / amplitude.sum()  # peak of the sum of harmonics at most 1


def _envelope(shape: str, t: np.ndarray) -> np.ndarray:
    """Envelope in [0, 1] over a note's time axis ``t`` in [0, NOTE_SECONDS)."""
    if shape == "circle":
        return np.sin(np.pi * t / NOTE_SECONDS) ** 2
    if shape == "square":
        ramp = np.clip(np.minimum(t, NOTE_SECONDS - t) / _RAMP_SECONDS, 0.0, 1.0)
        return ramp
    attack = np.clip(t / _RAMP_SECONDS * 2, 0.0, 1.0)
    return attack * np.clip(1.0 - t / NOTE_SECONDS, 0.0, 1.0)


def note(shape: str, color: str, size: str) -> np.ndarray:
    """The note of one object, float64 of ``NOTE_SECONDS * SAMPLE_RATE`` samples, peak <= LOUDNESS[size].

    Raises
    ------
    ValueError
        If an attribute is not one of the world's shapes, colours or sizes.
    """
    return _note(shape, color, size).copy()


@lru_cache(maxsize=None)
def _note(shape: str, color: str, size: str) -> np.ndarray:
    if shape not in TIMBRE or color not in PITCH_HZ or size not in LOUDNESS:
        raise ValueError(f"unknown object attributes ({shape!r}, {color!r}, {size!r}); expected a shape in "
                         f"{list(SHAPES)}, a colour in {list(COLORS)} and a size in {list(SIZES)}")
    t = np.arange(int(round(NOTE_SECONDS * SAMPLE_RATE))) / SAMPLE_RATE
    f0 = PITCH_HZ[color]
    k, amplitude = _harmonics(shape, f0)
    wave = np.sin(2 * np.pi * f0 * np.outer(t, k)) @ amplitude
    sound = LOUDNESS[size] * _envelope(shape, t) * wave
    sound.flags.writeable = False
    return sound


def scene_audio(scene: Scene) -> np.ndarray:
    """The scene's sound: float32 ``(SAMPLE_RATE,)`` in [-1, 1] (see the module docstring for the mapping).

    Raises
    ------
    TypeError
        If ``scene`` is not a :class:`~grounding_kit.world.scenes.Scene`.
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a Scene, got {type(scene).__name__}")
    out = np.zeros(int(SECONDS * SAMPLE_RATE))
    for obj in scene.objects:
        start = int(round((cell_of(obj) * BEAT_SECONDS + NOTE_ONSET) * SAMPLE_RATE))
        sound = _note(obj.shape, obj.color, obj.size)
        out[start:start + len(sound)] += sound
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def scenes_audio(scenes: list[Scene]) -> np.ndarray:
    """:func:`scene_audio` of each scene, stacked: float32 ``(len(scenes), SAMPLE_RATE)``."""
    return np.stack([scene_audio(s) for s in scenes]) if scenes else np.zeros((0, SAMPLE_RATE), np.float32)


def audio_record(wave: np.ndarray, sampling_rate: int = SAMPLE_RATE) -> dict[str, Any]:
    """A ``datasets.Audio`` value holding ``wave`` (float in [-1, 1], one channel) as 16-bit WAV bytes.

    Raises
    ------
    ValueError
        If ``wave`` is not one-dimensional or is longer than one second.
    """
    from scipy.io import wavfile

    wave = np.asarray(wave)
    if wave.ndim != 1 or len(wave) > int(SECONDS * sampling_rate):
        raise ValueError(f"wave must be one channel of at most {SECONDS:g} s, shape (n,) with n <= "
                         f"{int(SECONDS * sampling_rate)}, got shape {wave.shape}")
    buffer = io.BytesIO()
    wavfile.write(buffer, sampling_rate, np.round(np.clip(wave, -1, 1) * 32767).astype(np.int16))
    return {"bytes": buffer.getvalue(), "path": None}


def decode_audio(value: Any) -> np.ndarray:
    """The float32 waveform of an ``audio`` column value (``{"bytes": wav, ...}``) or of WAV bytes.

    Raises
    ------
    TypeError
        If ``value`` is neither bytes nor a dict with WAV ``bytes``.
    """
    from scipy.io import wavfile

    data = value.get("bytes") if isinstance(value, dict) else value
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"value must be WAV bytes or an audio column value {{'bytes': ..., 'path': ...}}, "
                        f"got {type(value).__name__}")
    _, samples = wavfile.read(io.BytesIO(bytes(data)))
    return (samples.astype(np.float32) / 32767).astype(np.float32)
