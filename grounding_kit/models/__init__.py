"""Encoders and heads: CLIP and VQA loaders (tiny embedded or real), cached features, heads.

Public API (imported lazily, so ``import grounding_kit.models`` stays light):

- ``load_clip(name="tiny-shapes", device=None, *, pretrained=None) -> ClipModel``
- ``load_vqa(name="tiny-shapes-vqa", device=None, *, answers=None) -> VqaModel``
- ``embed(clip, ds, batch_size=64) -> Features(text=(N, D), image=(N, D))`` (cached on disk)
- ``fit_head(kind, feats, labels, **options) -> Head`` with kinds ``HEAD_KINDS``;
  ``head.save_pretrained(folder)`` / ``load_head(folder)`` (config.json + model.safetensors)
- ``list_models() -> dict`` of embedded and suggested online model names
"""

from __future__ import annotations

from grounding_kit.core.lazy import lazy_exports

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
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
