"""Encoders and heads: CLIP and VQA loaders (tiny embedded or real), cached features, heads.

Public API (imported lazily, so ``import grounding_kit.models`` stays light):

- ``load_clip(name="tiny-shapes", device=None, *, pretrained=None) -> ClipModel``
- ``load_vqa(name="tiny-shapes-vqa", device=None, *, answers=None) -> VqaModel``
- ``embed(ds, clip, batch_size=64) -> Features(text=(N, D), image=(N, D))`` (cached on disk)
- ``fit_head(kind, feats, labels, **options) -> Head`` with kinds ``HEAD_KINDS``
- ``list_models() -> dict`` of embedded and suggested online model names
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "load_clip": "grounding_kit.models.clip",
    "ClipModel": "grounding_kit.models.clip",
    "load_vqa": "grounding_kit.models.vqa",
    "VqaModel": "grounding_kit.models.vqa",
    "embed": "grounding_kit.models.features_cache",
    "fit_head": "grounding_kit.models.heads",
    "make_head": "grounding_kit.models.heads",
    "Head": "grounding_kit.models.heads",
    "HEAD_KINDS": "grounding_kit.models.heads",
    "list_models": "grounding_kit.models.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'grounding_kit.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
