"""VQA loaders: a ViLT saved and loaded back offline, the embedded tiny ViLT, a CLIP-feature head."""

from __future__ import annotations

import time

import pytest
import torch

from grounding_kit.models import embed, fit_head, load_clip, load_vqa
from grounding_kit.models.training import EVAL_SEED, all_questions, evaluate_vqa, tiny_vilt
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
    images, texts = list(questions["image"]), list(questions["text"])
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


def test_batch_outputs_give_the_logits_and_each_image_tokens_patch(vilt_folder, questions):
    vqa = load_vqa(str(vilt_folder), device="cpu")
    inputs = vqa.pair_inputs(questions["image"], questions["text"])
    embeddings = vqa.module.vilt.embeddings
    seen = {}
    hook = embeddings.register_forward_hook(lambda module, args, out: seen.update(tokens=out[0]))
    try:
        logits, pooled, tokens, patches = vqa.pair_model.batch_outputs(inputs.text, inputs.image)
    finally:
        hook.remove()
    assert torch.equal(logits, vqa.pair_model.batch_logits(inputs.text, inputs.image))
    assert pooled.shape == (6, 128) and tokens.shape == (6, 4, 128) and patches.shape == (6, 4, 2)
    grid = [(r, c) for r in range(2) for c in range(2)]
    assert all(sorted(map(tuple, p.tolist())) == grid for p in patches)  # each token one of the 2 x 2 patches
    # token p of row b holds the patch patches[b, p]: its input embedding is that patch's projection
    # plus that patch's position embedding (plus the image token type)
    with torch.no_grad():
        projected = embeddings.patch_embeddings(inputs.image[:, :3])  # (B, D, 2, 2)
        position = embeddings.position_embeddings[0, 1:].T.reshape(-1, 2, 2)
        image_type = embeddings.token_type_embeddings.weight[1]
    first_image_token = inputs.text.shape[1] + 1
    for b in range(6):
        for p, (r, c) in enumerate(patches[b].tolist()):
            expected = projected[b, :, r, c] + position[:, r, c] + image_type
            assert torch.allclose(seen["tokens"][b, first_image_token + p], expected, atol=1e-5)


def test_embedded_tiny_vqa_loads_and_answers():
    vqa = load_vqa("tiny-shapes-vqa")
    assert vqa.answers == list(VQA_ANSWERS)
    assert sum(p.numel() for p in vqa.module.parameters()) < 2_000_000
    ds = make_task("vqa", n=4, seed=EVAL_SEED + 7)
    assert len(vqa.answer(ds["image"], ds["text"])[0]) == 3


def test_embedded_tiny_vqa_knows_every_word_of_every_question():
    vqa = load_vqa("tiny-shapes-vqa")
    questions = all_questions()
    assert len(questions) == 640 and "is the red circle left of the blue square?" in questions
    ids = vqa.encode_questions(questions)
    assert not (ids == vqa.processor.tokenizer.unk_token_id).any()
    assert (ids[:, -1] == vqa.processor.tokenizer.pad_token_id).all()  # no question is cut


@pytest.fixture(scope="module")
def fresh_quality():
    return evaluate_vqa(load_vqa("tiny-shapes-vqa"), n=600, seed=EVAL_SEED + 1)


@pytest.mark.slow
def test_embedded_tiny_vqa_on_a_fresh_balanced_sample(fresh_quality):
    # a question-only model is at chance on a rebalanced sample (about 0.35 over the five types);
    # version 2 measured 1.0 overall and on every type here (1,214 rows, seed EVAL_SEED + 1), and
    # 0.9995 overall, colour 0.9976, the rest 1.0 on the card's sample (seed EVAL_SEED)
    by_type = fresh_quality["accuracy_by_type"]
    assert fresh_quality["accuracy"] >= 0.97, fresh_quality
    assert set(by_type) == {"color", "shape", "count", "exists", "left_right"}
    assert min(by_type.values()) >= 0.95, fresh_quality


@pytest.mark.slow
def test_embedded_tiny_vqa_answers_left_right_questions(fresh_quality):
    # version 1 was at chance here (0.49 on the card's sample); version 2's grounding losses fixed it
    assert fresh_quality["accuracy_by_type"]["left_right"] >= 0.95, fresh_quality


@pytest.mark.slow
def test_the_rebalancing_lab_shows_the_embedded_vilt_answering_every_question_type():
    """Notebook 03's lab (n=80, seed 0) showed version 1 at 0.40 on left/right questions, below
    chance, in front of the students (issue 13). Version 2 measured at least 0.92 on every type
    (colour 0.92 of 13 questions at prior 0 before rebalancing), at every prior, before and after."""
    from grounding_kit.widgets import rebalancing_lab

    lab = rebalancing_lab(load_vqa("tiny-shapes-vqa"), priors=(0.0, 0.5, 0.9), n=80, seed=0)
    for setting, result in lab.results.items():
        assert min(v for v in result["full"].values() if v is not None) >= 0.85, (setting, result["full"])
        assert result["full"]["left_right"] >= 0.9, (setting, result["full"])


@pytest.mark.slow
def test_a_head_on_clip_features_answers_questions():
    """The second VQA-style model: an interactive head on tiny CLIP features of (question, image)."""
    clip = load_clip("tiny-shapes")
    train = rebalance(make_task("vqa", n=1500, seed=21), seed=21)
    test = rebalance(make_task("vqa", n=300, seed=22), seed=22)
    head = fit_head("interactive", embed(clip, train, progress=False), train["label"],
                    n_classes=len(VQA_ANSWERS), progress=False)
    test_feats = embed(clip, test, progress=False)
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


@pytest.fixture(scope="module")
def blip_folder(tmp_path_factory):
    from transformers import BertTokenizer, BlipConfig, BlipForQuestionAnswering, BlipImageProcessor, BlipProcessor

    folder = tmp_path_factory.mktemp("blip")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "what", "color", "is", "the", "circle", "?",
             "red", "blue", "yes", "no"]
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(words)})
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    text = {"vocab_size": len(words), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 2, "max_position_embeddings": 32, "bos_token_id": 5, "sep_token_id": 3,
            "pad_token_id": 0, "encoder_hidden_size": 32}
    vision = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
              "image_size": 32, "patch_size": 8}
    torch.manual_seed(0)
    BlipForQuestionAnswering(BlipConfig(text_config=text, vision_config=vision)).save_pretrained(folder)
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer)
    processor.save_pretrained(folder)
    return folder


def test_blip_scores_candidate_answers_by_their_decoder_likelihood(blip_folder, questions):
    images, texts = list(questions["image"][:3]), ["what color is the circle?"] * 3
    vqa = load_vqa(str(blip_folder), device="cpu")
    assert vqa.answers == list(VQA_ANSWERS)  # the world's vocabulary by default
    assert vqa.logits(images, texts).shape == (3, len(VQA_ANSWERS))
    # independent check: BLIP's own greedy decoding gives log p(first token) and log p([SEP] | it)
    inputs = vqa.processor(images=images, text=texts, return_tensors="pt")
    with torch.no_grad():
        out = vqa.module.generate(**inputs, max_new_tokens=2, do_sample=False, output_scores=True,
                                  return_dict_in_generate=True)
    first = out.sequences[:, 1]
    words = vqa.processor.tokenizer.convert_ids_to_tokens(first.tolist())
    expected = (out.scores[0].log_softmax(-1).gather(1, first[:, None])[:, 0]
                + out.scores[1].log_softmax(-1)[:, vqa.processor.tokenizer.sep_token_id])
    scored = load_vqa(str(blip_folder), answers=[words[0], "no"]).logits(images[:1], texts[:1])
    assert scored[0, 0].item() == pytest.approx(expected[0].item(), abs=2e-3)  # cached vs full decoding
    answers = vqa.answer(images, texts, top_k=3)
    assert all(len(a) == 3 and a[0][1] >= a[2][1] for a in answers)
    with pytest.raises(TypeError, match="answers must be a non-empty list of strings"):
        load_vqa(str(blip_folder), answers="red")
