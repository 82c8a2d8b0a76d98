"""VQA loaders: a ViLT saved and loaded back offline, the embedded tiny ViLT, a CLIP-feature head."""

from __future__ import annotations

import time

import pytest
import torch

from grounding_kit.models import embed, fit_head, load_clip, load_vqa
from grounding_kit.models.training import EVAL_SEED, evaluate_vqa, tiny_vilt
from grounding_kit.world import VQA_ANSWERS, make_task, rebalance


@pytest.fixture(scope="module")
def vilt_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vilt")
    torch.manual_seed(0)
    model, processor = tiny_vilt(["what color is the circle?", "how many objects are there?"], list(VQA_ANSWERS))
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def questions():
    return make_task("vqa", n=6, seed=3)


def test_vilt_from_a_save_pretrained_folder(vilt_folder, questions):
    from transformers import ViltForQuestionAnswering

    vqa = load_vqa(str(vilt_folder), device="cpu")
    assert vqa.answers == list(VQA_ANSWERS)
    images, texts = questions["image"], questions["text"]
    logits = vqa.logits(images, texts)
    assert logits.shape == (6, len(VQA_ANSWERS))
    reference = ViltForQuestionAnswering.from_pretrained(vilt_folder).eval()
    with torch.no_grad():
        expected = reference(**vqa.processor(images=images, text=texts, padding="max_length",
                                             max_length=vqa.max_length, return_tensors="pt")).logits
    assert torch.allclose(logits, expected, atol=1e-5)
    answers = vqa.answer(images, texts, top_k=2)
    assert len(answers) == 6 and all(len(a) == 2 for a in answers)
    best = [VQA_ANSWERS[i] for i in logits.argmax(-1)]
    assert [a[0][0] for a in answers] == best
    assert all(a[0][1] >= a[1][1] and 0 <= a[1][1] <= 1 for a in answers)


def test_pair_inputs_feed_the_generic_pair_model(vilt_folder, questions):
    vqa = load_vqa(str(vilt_folder), device="cpu")
    inputs = vqa.pair_inputs(questions["image"], questions["text"])
    assert inputs.text.shape == (6, vqa.max_length) and inputs.image.shape == (6, 4, 64, 64)
    assert vqa.pair_model.structure == "generic"
    # every question with every image, each preprocessed once: pairs gathered by index
    rows, cols = torch.meshgrid(torch.arange(6), torch.arange(6), indexing="ij")
    grid = vqa.pair_model(inputs.text[rows.flatten()], inputs.image[cols.flatten()]).view(6, 6, -1)
    assert torch.allclose(grid.diagonal().T, vqa.logits(questions["image"], questions["text"]), atol=1e-5)
    swapped = vqa.logits([questions["image"][1]], [questions["text"][0]])
    assert torch.allclose(grid[0, 1], swapped[0], atol=1e-5)


def test_embedded_tiny_vqa_loads_and_answers():
    vqa = load_vqa("tiny-shapes-vqa")
    assert vqa.answers == list(VQA_ANSWERS)
    assert sum(p.numel() for p in vqa.module.parameters()) < 200_000
    ds = make_task("vqa", n=4, seed=EVAL_SEED + 7)
    assert len(vqa.answer(ds["image"], ds["text"])[0]) == 3


@pytest.mark.slow
def test_embedded_tiny_vqa_meets_its_quality_bar_on_a_fresh_balanced_sample():
    quality = evaluate_vqa(load_vqa("tiny-shapes-vqa"), n=600, seed=EVAL_SEED + 1)
    assert quality["accuracy"] >= 0.85, quality


@pytest.mark.slow
def test_a_head_on_clip_features_answers_questions():
    """The second VQA-style model: an interactive head on tiny CLIP features of (question, image)."""
    clip = load_clip("tiny-shapes")
    train = rebalance(make_task("vqa", n=1500, seed=21), seed=21)
    test = rebalance(make_task("vqa", n=300, seed=22), seed=22)
    head = fit_head("interactive", embed(train, clip, progress=False), train["label"],
                    n_classes=len(VQA_ANSWERS), progress=False)
    test_feats = embed(test, clip, progress=False)
    accuracy = float((head.predict(test_feats) == torch.as_tensor(test["label"])).float().mean())
    assert accuracy > 0.5, accuracy  # chance on a balanced sample is about 0.3


def test_hub_names_fail_fast_offline():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"dandelin/vilt-b32-finetuned-vqa.*HF_HUB_OFFLINE.*tiny-shapes-vqa"):
        load_vqa("dandelin/vilt-b32-finetuned-vqa")
    assert time.monotonic() - start < 10


def test_bad_names_and_inputs(tmp_path, vilt_folder, questions):
    with pytest.raises(ValueError, match="unknown VQA name"):
        load_vqa("no such model")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_vqa(str(tmp_path))
    vqa = load_vqa(str(vilt_folder))
    with pytest.raises(ValueError, match="inconsistent numbers of samples: images=6, questions=5"):
        vqa.logits(questions["image"], questions["text"][:5])
    with pytest.raises(TypeError, match="questions must be a list of strings"):
        vqa.answer(questions["image"][:1], "what color is the circle?")
    with pytest.raises(ValueError, match=r"pixels \(B, 4, H, W\)"):
        vqa.pair_model(torch.zeros(2, 16, dtype=torch.long), torch.zeros(2, 3, 64, 64))
