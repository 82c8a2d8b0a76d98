"""A tiny audio encoder: log-mel spectrogram front end, a small CNN, an embedding in CLIP's space.

The front end is ``torch.stft`` (Hann window) and the mel filterbank of ``transformers.audio_utils``
(``mel_filter_bank``, Slaney scale and normalisation, as librosa's default), then ``log(mel + 1e-5)``.
The CNN (two stages of 1-D convolution along time with the mel bands as channels, batch norm,
ReLU and max-pooling, then an adaptive average pool to 4 time cells, one for each beat of a scene's
bar, and a two-layer MLP) maps a 1 s clip to a unit vector of
the joint space of the tiny CLIP. How it got there (image-audio pairs only) is in
:mod:`grounding_kit.models.training.audio` and in the shipped folder's model card.

Folder layout (``save_pretrained`` / ``load_audio_encoder``): ``config.json`` (the
:class:`AudioConfig` fields), ``model.safetensors``, ``README.md`` (model card), ``training.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from grounding_kit.core.threads import single_thread
from grounding_kit.models.registry import embedded_path
from grounding_kit.world.audio import BEATS

TINY_AUDIO = "tiny-audio"
TINY_AUDIO_SUPERVISED = "tiny-audio-supervised"
#: the embedded audio encoders, by name (``data/models/<name>``)
EMBEDDED_AUDIO = (TINY_AUDIO, TINY_AUDIO_SUPERVISED)
CONFIG = "config.json"
WEIGHTS = "model.safetensors"


@dataclass(frozen=True)
class AudioConfig:
    """Architecture of :class:`AudioEncoder` (saved as ``config.json``)."""

    sample_rate: int = 16_000
    n_fft: int = 1024
    hop_length: int = 320
    n_mels: int = 40
    f_min: float = 40.0
    f_max: float = 4000.0
    width: int = 96
    hidden: int = 128
    embed_dim: int = 64
    model_type: str = "grounding-kit-tiny-audio"


#: clips per piece of the log-mel front end: a batch's STFT frames and complex spectrum are about
#: 0.6 MB per one-second clip, so a batch of 256 held 150 MB at once (measured on notebook 06)
FRONT_END_CLIPS = 32


class LogMel(torch.nn.Module):
    """Waveforms (B, S) -> log-mel spectrograms (B, n_mels, frames), :data:`FRONT_END_CLIPS` clips at a time."""

    def __init__(self, config: AudioConfig) -> None:
        super().__init__()
        from transformers.audio_utils import mel_filter_bank

        self.n_fft, self.hop_length = config.n_fft, config.hop_length
        bank = mel_filter_bank(num_frequency_bins=config.n_fft // 2 + 1, num_mel_filters=config.n_mels,
                               min_frequency=config.f_min, max_frequency=config.f_max,
                               sampling_rate=config.sample_rate, norm="slaney", mel_scale="slaney")
        self.register_buffer("mel_bank", torch.from_numpy(np.asarray(bank, dtype=np.float32)), persistent=False)
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        if len(waves) <= FRONT_END_CLIPS:
            return self._log_mel(waves)
        return torch.cat([self._log_mel(part) for part in waves.split(FRONT_END_CLIPS)])

    def _log_mel(self, waves: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(waves, self.n_fft, self.hop_length, window=self.window, return_complex=True)
        power = spec.abs() ** 2                                          # (B, freq, frames)
        return torch.log(torch.einsum("bft,fm->bmt", power, self.mel_bank) + 1e-5)


class AudioEncoder(torch.nn.Module):
    """Log-mel front end + CNN + MLP: waveforms (B, S) at ``sample_rate`` -> unit embeddings (B, embed_dim)."""

    def __init__(self, config: AudioConfig | None = None) -> None:
        super().__init__()
        self.config = config or AudioConfig()
        w = self.config.width
        self.frontend = LogMel(self.config)

        def stage(cin: int, cout: int) -> list[torch.nn.Module]:
            return [torch.nn.Conv1d(cin, cout, 3, padding=1), torch.nn.BatchNorm1d(cout), torch.nn.ReLU(),
                    torch.nn.MaxPool1d(2)]

        # mel bands are the channels of 1-D convolutions along time (cheap on one CPU thread)
        self.cnn = torch.nn.Sequential(*stage(self.config.n_mels, w), *stage(w, w),
                                       torch.nn.AdaptiveAvgPool1d(BEATS), torch.nn.Flatten())
        self.mlp = torch.nn.Sequential(torch.nn.Linear(w * BEATS, self.config.hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(self.config.hidden, self.config.embed_dim))

    def spectrogram(self, waves: torch.Tensor) -> torch.Tensor:
        """(B, S) -> (B, n_mels, frames) log-mel."""
        return self.frontend(waves)

    def embed_spectrogram(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) log-mel -> (B, embed_dim) unit vectors."""
        return torch.nn.functional.normalize(self.mlp(self.cnn(mel)), dim=-1)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        return self.embed_spectrogram(self.spectrogram(waves))

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``folder`` (created)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG).write_text(json.dumps(asdict(self.config), indent=1))
        save_file({k: v.detach().contiguous() for k, v in self.state_dict().items()}, str(folder / WEIGHTS))
        return folder


def load_audio_encoder(name: str | Path = TINY_AUDIO) -> AudioEncoder:
    """Load an audio encoder folder: ``"tiny-audio"`` (embedded, trained on audio-image pairs only),
    ``"tiny-audio-supervised"`` (embedded, trained on audio-text pairs: the upper bound of the pivot
    comparison) or a path to a saved folder.

    Returns the :class:`AudioEncoder` in eval mode on the CPU.

    Raises
    ------
    TypeError
        If ``name`` is not a string or path.
    FileNotFoundError
        If the folder or its ``config.json`` / ``model.safetensors`` is missing.
    ValueError
        If ``config.json`` is not an audio encoder's config.
    """
    if not isinstance(name, (str, Path)):
        raise TypeError(f"name must be one of {list(EMBEDDED_AUDIO)} or a folder path, got {type(name).__name__}")
    folder = embedded_path(str(name)) if str(name) in EMBEDDED_AUDIO else Path(name)
    for needed in (folder / CONFIG, folder / WEIGHTS):
        if not needed.is_file():
            raise FileNotFoundError(f"no audio encoder at {folder}: {needed.name} is missing (expected "
                                    f"{CONFIG} and {WEIGHTS}, as AudioEncoder.save_pretrained writes)")
    raw = json.loads((folder / CONFIG).read_text())
    if raw.get("model_type") != AudioConfig.model_type:
        raise ValueError(f"{folder / CONFIG} is not a tiny audio encoder's config "
                         f"(model_type {raw.get('model_type')!r}, expected {AudioConfig.model_type!r})")
    from safetensors.torch import load_file

    model = AudioEncoder(AudioConfig(**raw))
    model.load_state_dict(load_file(str(folder / WEIGHTS)))
    return model.eval()


@torch.no_grad()
def encode_audio(model: AudioEncoder, waves: Sequence[Any] | np.ndarray | torch.Tensor,
                 batch_size: int = 256) -> torch.Tensor:
    """Unit embeddings (N, D) of N clips ((N, S) float waveforms at the model's sample rate), on one thread.

    Raises
    ------
    ValueError
        If ``waves`` is not two-dimensional (N clips of S samples) or holds NaN or inf.
    """
    waves = torch.as_tensor(np.asarray(waves, dtype=np.float32)) if not isinstance(waves, torch.Tensor) else waves.float()
    if waves.ndim != 2:
        raise ValueError(f"waves must be (N, S): N clips of S samples, got shape {tuple(waves.shape)}")
    if not torch.isfinite(waves).all():
        raise ValueError("waves holds NaN or inf samples")
    model.eval()
    with single_thread():
        parts = [model(waves[s:s + batch_size]) for s in range(0, len(waves), batch_size)]
    return torch.cat(parts) if parts else torch.zeros(0, model.config.embed_dim)
