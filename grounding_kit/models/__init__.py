"""Encoders and heads: CLIP and VQA loaders (tiny embedded or real), cached features, heads.

Public API (imported lazily, so ``import grounding_kit.models`` stays light):

- ``load_clip(name="tiny-shapes", device=None, *, pretrained=None) -> ClipModel``
- ``load_vqa(name="tiny-shapes-vqa", device=None, *, answers=None) -> VqaModel``
- ``embed(clip, ds, batch_size=64) -> Features(text=(N, D), image=(N, D))`` (cached on disk)
- ``fit_head(kind, feats, labels, **options) -> Head`` with kinds ``HEAD_KINDS``;
  ``head.save_pretrained(folder)`` / ``load_head(folder)`` (config.json + model.safetensors)
- ``list_models() -> dict`` of embedded and suggested online model names
- ``load_audio_encoder("tiny-audio")``, ``encode_audio(model, waves)``, ``vip_ant_table(clip, pivot, supervised)``
- ``fit_multimodal_head(inputs, labels) -> MultimodalHead`` (a head over M modalities)
"""

from __future__ import annotations

from grounding_kit.core.devices import skip_triton_without_gpu
from grounding_kit.core.lazy import lazy_exports

# before any model module imports torchvision, open_clip or transformers (which import torch._dynamo)
skip_triton_without_gpu()

_EXPORTS: dict[str, str] = {
    "load_clip": "grounding_kit.models.clip",
    "ClipModel": "grounding_kit.models.clip",
    "load_vqa": "grounding_kit.models.vqa",
    "VqaModel": "grounding_kit.models.vqa",
    "embed": "grounding_kit.models.features",
    "fit_head": "grounding_kit.models.heads",
    "make_head": "grounding_kit.models.heads",
    "load_head": "grounding_kit.models.heads",
    "Head": "grounding_kit.models.heads",
    "HEAD_KINDS": "grounding_kit.models.heads",
    "list_models": "grounding_kit.models.registry",
    "load_audio_encoder": "grounding_kit.models.audio",
    "encode_audio": "grounding_kit.models.audio",
    "AudioEncoder": "grounding_kit.models.audio",
    "MultimodalHead": "grounding_kit.models.multimodal_head",
    "fit_multimodal_head": "grounding_kit.models.multimodal_head",
    "audio_text_retrieval": "grounding_kit.models.pivot",
    "vip_ant_table": "grounding_kit.models.pivot",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
