"""Names the loaders accept: embedded tiny models and a few suggested online checkpoints."""

from __future__ import annotations

from pathlib import Path

from ..paths import models_dir

TINY_CLIP = "tiny-shapes"
TINY_VQA = "tiny-shapes-vqa"

OFFLINE_CLIP_DEFAULT = f'gk.load_clip("{TINY_CLIP}")'
OFFLINE_VQA_DEFAULT = f'gk.load_vqa("{TINY_VQA}")'

SUGGESTED_CLIP = (
    "ViT-B-32/laion2b_s34b_b79k",
    "ViT-B-16/openai",
    "hf-hub:timm/ViT-B-16-SigLIP",
    "openai/clip-vit-base-patch32",
)
SUGGESTED_VQA = (
    "dandelin/vilt-b32-finetuned-vqa",
    "Salesforce/blip-vqa-base",
)


def embedded_path(name: str) -> Path:
    """The shipped folder of an embedded model (``data/models/<name>``)."""
    return models_dir() / name


def list_models() -> dict[str, list[str]]:
    """Model names the loaders accept, by kind.

    Returns
    -------
    dict with keys ``"clip"`` and ``"vqa"`` (embedded, offline) and ``"clip-online"`` and
    ``"vqa-online"`` (suggestions that need the model hub). Any open_clip architecture/tag,
    ``hf-hub:`` name, transformers CLIP/ViLT/BLIP name or local folder also works.
    """
    return {
        "clip": [TINY_CLIP],
        "vqa": [TINY_VQA],
        "clip-online": list(SUGGESTED_CLIP),
        "vqa-online": list(SUGGESTED_VQA),
    }
