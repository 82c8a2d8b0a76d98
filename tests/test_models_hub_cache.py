"""Cached hub weights load offline; absent ones fail within seconds in one line (issue 24 item 5).

Each test builds a scratch Hugging Face cache (``HF_HUB_CACHE`` under ``tmp_path``) in the hub's
own layout (``models--org--name/snapshots/<commit>/...`` and ``refs/main``) holding a small
random-weight checkpoint, and loads it by its hub name with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import shutil
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

from grounding_kit.models import load_clip, load_vqa
from grounding_kit.models.registry import embedded_path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def cache_repo(cache: Path, repo_id: str) -> Path:
    """The snapshot folder of ``repo_id`` in a hub cache at ``cache`` (its refs/main written)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    return snapshot


@pytest.fixture
def scratch_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_a_cached_open_clip_hub_model_loads_offline(scratch_cache):
    snapshot = cache_repo(scratch_cache, "someone/tiny-clip")
    shipped = embedded_path("tiny-shapes")
    shutil.copy(shipped / "open_clip_config.json", snapshot / "open_clip_config.json")
    shutil.copy(shipped / "model.safetensors", snapshot / "open_clip_model.safetensors")
    shutil.copy(shipped / "vocab.json", snapshot / "vocab.json")
    clip = load_clip("hf-hub:someone/tiny-clip")
    reference = load_clip("tiny-shapes")
    texts = ["a small red circle", "a large blue square"]
    torch.testing.assert_close(clip.encode_texts(texts), reference.encode_texts(texts), rtol=0, atol=0)
    assert clip.weights_hash() == reference.weights_hash()


def test_a_cached_transformers_vilt_loads_offline_by_its_hub_name(scratch_cache):
    from grounding_kit.models.training import tiny_vilt
    from grounding_kit.world import VQA_ANSWERS, make_task

    snapshot = cache_repo(scratch_cache, "dandelin/vilt-b32-finetuned-vqa")
    torch.manual_seed(0)
    model, processor = tiny_vilt(None, list(VQA_ANSWERS))
    model.save_pretrained(snapshot)
    processor.save_pretrained(snapshot)
    vqa = load_vqa("dandelin/vilt-b32-finetuned-vqa")
    assert vqa.name == "dandelin/vilt-b32-finetuned-vqa"
    ds = make_task("vqa", n=4, seed=0)
    local = load_vqa(str(snapshot))
    np.testing.assert_array_equal(vqa.logits(ds["image"], ds["text"]).numpy(),
                                  local.logits(ds["image"], ds["text"]).numpy())


@pytest.mark.parametrize("loader, name, fix", [
    (load_clip, "hf-hub:nobody/absent-clip", 'MODEL = "tiny-shapes"'),
    (load_clip, "nobody/absent-clip", 'MODEL = "tiny-shapes"'),
    (load_vqa, "nobody/absent-vilt", 'MODEL = "tiny-shapes-vqa"'),
])
def test_an_absent_hub_model_fails_fast_in_one_line_naming_the_notebooks_fix(scratch_cache, loader, name, fix):
    import open_clip  # noqa: F401  (imported before the clock starts: the refusal itself is timed)
    import transformers  # noqa: F401

    start = time.monotonic()
    with pytest.raises(RuntimeError) as info:
        loader(name)
    assert time.monotonic() - start < 10  # a hub request would retry for 23 to 210 s
    message = str(info.value)
    assert "\n" not in message and name in message and fix in message
    assert "not in the local Hugging Face cache" in message and "HF_HUB_OFFLINE=1" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # raise ... from None
    frames = traceback.extract_tb(info.value.__traceback__)
    assert len(frames) <= 3, [f"{f.filename}:{f.lineno}" for f in frames]  # the test, load_*, load_by_name


def test_cached_open_clip_tag_weights_are_found_in_the_hub_cache(scratch_cache):
    from grounding_kit.models.clip import cached_tag_weights

    assert cached_tag_weights("ViT-B-32", "laion2b_s34b_b79k") == (False, str(scratch_cache))
    import open_clip

    repo, _ = open_clip.get_pretrained_cfg("ViT-B-32", "laion2b_s34b_b79k")["hf_hub"].rsplit("/", 1)
    (cache_repo(scratch_cache, repo) / "open_clip_model.safetensors").write_bytes(b"")
    assert cached_tag_weights("ViT-B-32", "laion2b_s34b_b79k") == (True, str(scratch_cache))
