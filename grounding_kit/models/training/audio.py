"""The tiny audio encoders' recipe (``grounding-kit train tiny-audio``): audio into CLIP's space.

One recipe, two targets, in the spirit of VIP-ANT (Zhao, Hessel et al., "Connecting the Dots
between Audio and Text without Parallel Data through Visual Knowledge Transfer", NAACL 2022) and
Wav2CLIP, which align an audio encoder with a *frozen* CLIP image tower:

- ``target="image"`` (the shipped ``tiny-audio``, zero resource): each scene's sound is pulled
  towards the frozen tiny CLIP's embedding of the scene's *image*. No text, and no text
  embedding, enters training: audio-text pairs are never seen. Audio -> text then works by
  pivoting through the image space (:mod:`grounding_kit.models.pivot`).
- ``target="text"`` (``tiny-audio-supervised``, the upper bound of the comparison): the same
  encoder, data and steps, pulled towards CLIP's embedding of the scene's *description*: trained
  on audio-text pairs, as the supervised row of VIP-ANT's table is.

Data: a fixed pool of seeded scenes (half of one object, half of 1 to 4), rendered once and
embedded once by the frozen tower; their sounds (:mod:`grounding_kit.world.audio`) turned into
log-mel spectrograms once (the front end has no parameters). Loss: the symmetric contrastive
loss of CLIP between audio and target embeddings, with a learned temperature, plus
``1 - cos(audio, target)`` so the audio lands where its target is, not merely nearest to it.
Deterministic: seeded torch and numpy, one thread (:func:`grounding_kit.core.threads.single_thread`).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from grounding_kit.core.paths import check_output_dir
from grounding_kit.core.threads import single_thread
from grounding_kit.core.validation import check_choice, check_positive_int, seed_int
from grounding_kit.models.audio import TINY_AUDIO, TINY_AUDIO_SUPERVISED, AudioConfig, AudioEncoder
from grounding_kit.models.cards import write_model_card
from grounding_kit.models.registry import TINY_CLIP, embedded_path
from grounding_kit.models.training.common import lr_at

#: target -> the embedded folder it trains
TARGETS: dict[str, str] = {"image": TINY_AUDIO, "text": TINY_AUDIO_SUPERVISED}
AUDIO_STEPS = 1200
AUDIO_BATCH = 128
AUDIO_POOL = 6000
AUDIO_LR = 3e-3
COSINE_WEIGHT = 1.0
_RECIPE = """A tiny audio encoder (`grounding_kit.models.audio.AudioEncoder`: log-mel front end from
`torch.stft` and `transformers.audio_utils.mel_filter_bank`, two 1-D conv stages along time with
the mel bands as channels, a pool to the 4 beats of a scene's bar, a two-layer MLP; a unit vector
in the 64-d joint space of the frozen tiny CLIP `tiny-shapes`), trained by
`grounding-kit train tiny-audio` (`grounding_kit.models.training.audio`, target {target!r}).

- Sounds: `grounding_kit.world.audio` (position -> beat, colour -> pitch, shape -> timbre and
  envelope, size -> loudness), 1 s at 16 kHz.
- Data: {pool} seeded scenes (half with one object, half with 1 to 4), each scene's sound paired
  with {pairing}.
- Loss: CLIP's symmetric contrastive loss (learned temperature) plus {cos:g} x (1 - cosine) to the
  target embedding. AdamW (lr {lr}), 5% warm-up then cosine decay, batch {batch}, one CPU thread,
  deterministic for a seed; shipped with seed 0.
{note}"""
_NOTES = {
    "image": "- **No audio-text pair is seen in training**: audio -> text goes through the image space "
             "(zero resource, as VIP-ANT).\n",
    "text": "- Trained on audio-text pairs: the supervised upper bound of the pivot comparison, not the "
            "zero-resource model.\n",
}


def audio_pool(clip: Any, n: int = AUDIO_POOL, seed: int = 0, encoder: AudioEncoder | None = None,
               progress: bool = False) -> dict[str, Any]:
    """A seeded pool of scenes with their log-mel spectrograms and frozen CLIP targets.

    Returns
    -------
    dict: ``scenes`` (n Scene), ``texts`` (n descriptions), ``mel`` (n, n_mels, frames) float32,
    ``image`` (n, D) and ``text`` (n, D) unit CLIP embeddings (no gradient).
    """
    from grounding_kit.world.audio import scenes_audio
    from grounding_kit.world.render import render_scene
    from grounding_kit.world.scenes import describe, sample_scene

    n = check_positive_int("n", n)
    rng = np.random.default_rng(seed_int(seed))
    scenes = [sample_scene(rng, 1 if i % 2 == 0 else None) for i in range(n)]
    texts = [describe(s) for s in scenes]
    encoder = encoder or AudioEncoder()
    with torch.no_grad(), single_thread():
        image = clip.encode_images([render_scene(s) for s in scenes], progress=progress)
        text = clip.encode_texts(texts, progress=progress)
        mel = torch.cat([encoder.spectrogram(torch.from_numpy(scenes_audio(scenes[s:s + 500])))
                         for s in range(0, n, 500)])
    return {"scenes": scenes, "texts": texts, "mel": mel, "image": image.float(), "text": text.float()}


def alignment_loss(audio: torch.Tensor, target: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric contrastive loss of (B, D) unit audio and target embeddings plus ``COSINE_WEIGHT * (1 - cos)``."""
    logits = logit_scale.exp() * audio @ target.T
    labels = torch.arange(len(audio))
    contrastive = (torch.nn.functional.cross_entropy(logits, labels)
                   + torch.nn.functional.cross_entropy(logits.T, labels)) / 2
    return contrastive + COSINE_WEIGHT * (1 - (audio * target).sum(1)).mean()


def train_tiny_audio(output_dir: str | Path | None = None, steps: int | None = None, seed: int = 0, *,
                     target: str = "image", progress: bool = True, overwrite_shipped: bool = False,
                     pool: int = AUDIO_POOL) -> dict[str, Any]:
    """Train a tiny audio encoder against the frozen tiny CLIP and save it as a folder.

    Parameters
    ----------
    output_dir : a new or empty folder, or a previous training output; None: the embedded folder
        of ``target`` (``data/models/tiny-audio`` or ``tiny-audio-supervised``), only with
        ``overwrite_shipped=True``.
    steps : training steps (default ``AUDIO_STEPS``).
    seed : seeds the pool, the batches and the weights.
    target : ``"image"`` (zero resource: audio-image pairs only) or ``"text"`` (the supervised
        upper bound: audio-text pairs).
    pool : scenes in the training pool.

    Returns
    -------
    dict: target, steps, seconds (wall), cpu_seconds, parameters, size_bytes, seed, the
    retrieval figures of :func:`grounding_kit.models.pivot.audio_text_retrieval` for this
    encoder, and output_dir.

    Raises
    ------
    ValueError
        For an unknown ``target`` or a bad ``steps``, ``seed`` or ``output_dir``.
    """
    from grounding_kit.models.clip import load_clip
    from grounding_kit.models.pivot import audio_text_retrieval

    check_choice("target", target, tuple(TARGETS))
    steps = AUDIO_STEPS if steps is None else check_positive_int("steps", steps)
    seed = seed_int(seed)
    out = check_output_dir(output_dir, embedded_path(TARGETS[target]), overwrite_shipped=overwrite_shipped)
    with single_thread():
        torch.manual_seed(seed)
        clip = load_clip(TINY_CLIP, device="cpu")
        model = AudioEncoder(AudioConfig())
        start, cpu_start = time.perf_counter(), time.process_time()
        data = audio_pool(clip, pool, seed, model, progress=progress)
        targets = data[target]
        logit_scale = torch.nn.Parameter(torch.tensor(math.log(10.0)))
        decay = [p for p in model.parameters() if p.ndim >= 2]
        no_decay = [p for p in model.parameters() if p.ndim < 2] + [logit_scale]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=AUDIO_LR)
        generator = torch.Generator().manual_seed(seed)
        model.train()
        bar = tqdm(range(steps), desc=f"training tiny audio ({target})", disable=not progress)
        for step in bar:
            batch = torch.randperm(len(targets), generator=generator)[:AUDIO_BATCH]
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, steps, AUDIO_LR)
            loss = alignment_loss(model.embed_spectrogram(data["mel"][batch]), targets[batch], logit_scale)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                logit_scale.clamp_(0, math.log(100))
            if step % 25 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        model.eval()
        model.save_pretrained(out)
        retrieval = audio_text_retrieval(clip, model)
    summary = {"target": target, "steps": steps, "batch": AUDIO_BATCH, "pool": pool, "seed": seed,
               "seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
               "parameters": sum(p.numel() for p in model.parameters()),
               "audio_text_pairs_seen": 0 if target == "image" else steps * AUDIO_BATCH,
               "retrieval": retrieval}
    (out / "training.json").write_text(json.dumps(summary, indent=1))
    summary["size_bytes"] = _folder_bytes(out)
    (out / "training.json").write_text(json.dumps(summary, indent=1))
    write_audio_card(out)
    return {**summary, "output_dir": str(out)}


def write_audio_card(folder: str | Path) -> Path:
    """Render an audio encoder's model card ``README.md`` in ``folder`` from its ``training.json``
    (target, pool, run and retrieval figures); return its path.

    Raises
    ------
    FileNotFoundError
        When ``folder`` has no ``training.json``.
    """
    path = Path(folder) / "training.json"
    if not path.is_file():
        raise FileNotFoundError(f"no training.json in {folder}; a model card is written from the training record")
    record = json.loads(path.read_text(encoding="utf-8"))
    target = record["target"]
    pairing = ("the frozen CLIP embedding of the scene's image (never its text)" if target == "image"
               else "the frozen CLIP embedding of the scene's description")
    return write_model_card(folder, f"{TARGETS[target]}: a tiny audio encoder into the tiny CLIP's space "
                                    f"({target} target)",
                            _RECIPE.format(target=target, pool=record["pool"], pairing=pairing, cos=COSINE_WEIGHT,
                                           lr=AUDIO_LR, batch=record["batch"], note=_NOTES[target]))


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
