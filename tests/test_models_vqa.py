"""VQA loaders: a ViLT saved and loaded back offline, the embedded tiny ViLT, a CLIP-feature head."""

from __future__ import annotations

import time

import numpy as np

import pytest
import torch

from grounding_kit.models import embed, fit_head, load_clip, load_vqa
from grounding_kit.models.training import EVAL_SEED, evaluate_vqa, tiny_vilt
from grounding_kit.world.texts import all_questions
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
def test_the_rebalancing_study_shows_the_embedded_vilt_answering_every_question_type():
    """Notebook 03's lab (n=80, seed 0) showed version 1 at 0.40 on left/right questions, below
    chance, in front of the students (issue 13). Version 2 measured at least 0.92 on every type
    (colour 0.92 of 13 questions at prior 0 before rebalancing), at every prior, before and after."""
    from grounding_kit.experiments.rebalancing import rebalancing_study

    study = rebalancing_study(load_vqa("tiny-shapes-vqa"), priors=(0.0, 0.5, 0.9), n=80, seed=0)
    for setting, result in study.items():
        assert min(result.full.values()) >= 0.85, (setting, result.full)
        assert result.full["left_right"] >= 0.9, (setting, result.full)


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
    with pytest.raises(FileNotFoundError, match="holds no VQA model: expected config.json"):
        load_vqa(str(tmp_path))
    # 'local-dir:' is read once, as load_clip reads it: the folder is named without the prefix
    with pytest.raises(FileNotFoundError, match=rf"^{tmp_path} holds no VQA model: expected config.json"):
        load_vqa(f"local-dir:{tmp_path}")
    with pytest.raises(FileNotFoundError, match=rf"^no VQA model folder at {tmp_path / 'gone'}; expected a folder"):
        load_vqa(f"local-dir:{tmp_path / 'gone'}")
    with pytest.raises(ValueError, match="'local-dir:' names no folder"):
        load_vqa("local-dir:")
    assert load_vqa(f"local-dir:{vilt_folder}").answers == list(VQA_ANSWERS)
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


# -- the online path: labels and predictions meet as answer strings (issue 23) --------------------


@pytest.fixture(scope="module")
def foreign_vilt(tmp_path_factory):
    """A randomly initialised ViLT saved like a hub model, whose id2label is a larger vocabulary:
    the world's answers shuffled among 3,000 others."""
    from grounding_kit.world import VQA_ANSWERS

    rng = np.random.default_rng(0)
    vocabulary = [f"answer {k}" for k in range(3000)] + list(VQA_ANSWERS)
    vocabulary = [vocabulary[k] for k in rng.permutation(len(vocabulary))]
    torch.manual_seed(0)
    model, processor = tiny_vilt(None, vocabulary)
    model.config.problem_type = "multi_label_classification"  # as the hub's VQA ViLT
    # random weights predict one answer for every pair; point each world answer's classifier row at
    # one pair's hidden state (centred) so that the predictions vary, the other answers far below
    from grounding_kit.models.vqa import wrap_vilt

    probe = wrap_vilt("probe", model, processor, torch.device("cpu"))
    ds = make_task("vqa", n=40, seed=3)
    pairs = probe.pair_inputs(ds["image"], ds["text"])
    out = model.classifier[-1]
    with torch.no_grad():
        hidden = model.classifier[:-1](probe.pair_model._encode(pairs.text, pairs.image).pooler_output)
        centred = hidden - hidden.mean(0)
        out.bias.fill_(-1e4)
        for k, answer in enumerate(VQA_ANSWERS):
            row = vocabulary.index(answer)
            out.weight[row] = 100 * centred[2 * k] / centred[2 * k].norm()
            out.bias[row] = -(out.weight[row] @ hidden.mean(0))
    folder = tmp_path_factory.mktemp("foreign-vilt")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder, vocabulary


def test_a_vilt_with_another_vocabulary_is_scored_over_the_worlds_answers(foreign_vilt):
    from grounding_kit.analysis import emap_report
    from grounding_kit.world import VQA_ANSWERS, make_task

    folder, vocabulary = foreign_vilt
    vqa = load_vqa(str(folder))
    assert vqa.answers == list(VQA_ANSWERS) and vqa.vocabulary == vocabulary and len(vqa.vocabulary) == 3015
    assert [vocabulary[i] for i in vqa.answer_ids] == list(VQA_ANSWERS)
    ds = make_task("vqa", n=40, seed=3)
    labels = np.asarray(ds["label"])
    assert [VQA_ANSWERS[y] for y in labels] == list(ds["answer"])  # a label is an index into the world's answers
    pairs = vqa.pair_inputs(ds["image"], ds["text"])
    logits = vqa.pair_model(pairs.text, pairs.image)
    assert logits.shape == (len(ds), len(VQA_ANSWERS))
    # each column is the model's own logit for that answer string
    with torch.no_grad():
        own = vqa.module(input_ids=pairs.text, pixel_values=pairs.image[:, :3],
                         pixel_mask=pairs.image[:, 3].long(), attention_mask=(pairs.text != 0).long()).logits
    decoded = [vocabulary[i] for i in own.argmax(-1).tolist()]  # the answer strings the model itself gives
    assert [vqa.answers[i] for i in logits.argmax(-1).tolist()] == decoded
    assert len(set(decoded)) >= 3  # a test that can fail: the predictions vary
    string_accuracy = float(np.mean([d == a for d, a in zip(decoded, ds["answer"])]))
    report = emap_report(labels, vqa.pair_model, pairs, n_boot=20, seed=0)
    assert report.loc["full model", "score"] == pytest.approx(string_accuracy)
    assert evaluate_vqa(vqa, n=20)["accuracy"] >= 0  # evaluate_vqa decodes through the same mapping


def test_a_vilt_lacking_a_world_answer_is_refused_by_name(tmp_path):
    from grounding_kit.world import VQA_ANSWERS

    vocabulary = [a for a in VQA_ANSWERS if a != "purple"] + ["violet"]
    model, processor = tiny_vilt(None, vocabulary)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"lacks \['purple'\] of the 15 answers the labels index"):
        load_vqa(str(tmp_path))
    subset = [a for a in VQA_ANSWERS if a != "purple"]
    vqa = load_vqa(str(tmp_path), answers=subset)  # a label vocabulary it can score
    assert vqa.answers == subset and vqa.logits(make_task("vqa", n=2, seed=1)["image"][:2], ["is there a red circle?"] * 2).shape == (2, 14)
    with pytest.raises(ValueError, match="distinct"):
        load_vqa(str(tmp_path), answers=["red", "red"])
