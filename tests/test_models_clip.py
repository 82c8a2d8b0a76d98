"""CLIP loaders over real architectures (offline), the embedded tiny CLIP and its tokenizer."""

from __future__ import annotations

import time

import pytest
import torch
from PIL import Image

from grounding_kit.models import list_models, load_clip
from grounding_kit.models.tokenizer import WordTokenizer
from grounding_kit.models.training import EVAL_SEED, evaluate_clip


def two_images() -> list[Image.Image]:
    return [Image.new("RGB", (80, 60), (220, 30, 30)), Image.new("L", (64, 64), 200)]


def check_clip_outputs(clip, dim: int) -> None:
    texts = ["a red square", "a gray picture", "a blue circle"]
    t, v = clip.encode_texts(texts), clip.encode_images(two_images())
    assert t.shape == (3, dim) and v.shape == (2, dim) and clip.embed_dim == dim
    assert torch.allclose(t.norm(dim=-1), torch.ones(3), atol=1e-4)
    assert torch.allclose(v.norm(dim=-1), torch.ones(2), atol=1e-4)
    assert torch.allclose(clip.similarity(texts, two_images()), clip.logit_scale * t @ v.T, atol=1e-4)
    assert tuple(clip.preprocess(two_images()[0]).shape)[0] == 3


@pytest.mark.slow
def test_open_clip_vit_b_32_random_weights_through_the_loader():
    with pytest.warns(UserWarning, match="RANDOM weights"):
        clip = load_clip("ViT-B-32", device="cpu")
    check_clip_outputs(clip, 512)
    assert clip.logit_scale == pytest.approx(1 / 0.07, rel=1e-4)  # CLIP's initial temperature


@pytest.fixture(scope="module")
def transformers_clip_folder(tmp_path_factory):
    from transformers import BertTokenizer, CLIPConfig, CLIPImageProcessor, CLIPModel

    folder = tmp_path_factory.mktemp("hf-clip")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "red", "square", "gray", "picture", "blue", "circle"]
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(words)})
    config = CLIPConfig(
        text_config={"vocab_size": len(words), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": 16,
                     "eos_token_id": tokenizer.sep_token_id, "pad_token_id": 0},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 64,
                       "num_hidden_layers": 2, "num_attention_heads": 2},
        projection_dim=24)
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_transformers_clip_from_a_save_pretrained_folder(transformers_clip_folder):
    from transformers import CLIPModel

    clip = load_clip(str(transformers_clip_folder), device="cpu")
    check_clip_outputs(clip, 24)
    reference = CLIPModel.from_pretrained(transformers_clip_folder).eval()
    pixels = clip.preprocess(two_images()[0])[None]
    with torch.no_grad():
        expected = torch.nn.functional.normalize(reference.get_image_features(pixel_values=pixels).pooler_output, dim=-1)
    assert torch.allclose(clip.encode_images(two_images()[:1]), expected, atol=1e-5)


def test_embedded_tiny_clip_loads():
    clip = load_clip("tiny-shapes")
    assert clip.name == "tiny-shapes" and clip.embed_dim == 64
    assert sum(p.numel() for p in clip.module.parameters()) < 1_000_000
    check_clip_outputs(clip, 64)
    assert len(clip.weights_hash()) == 16 and clip.weights_hash() == load_clip("tiny-shapes").weights_hash()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [EVAL_SEED + 1, 4242])
def test_embedded_tiny_clip_meets_its_quality_bars_on_fresh_scenes(seed):
    quality = evaluate_clip(load_clip("tiny-shapes"), n=540, seed=seed)
    assert quality["color_accuracy"] >= 0.95 and quality["shape_accuracy"] >= 0.95, quality
    assert quality["caption_accuracy"] >= 0.85, quality


def test_word_tokenizer_puts_end_of_text_last_and_pads():
    tok = WordTokenizer.fit(["a red circle", "a blue square and a small red circle"], vocab_size=16, context_length=6)
    ids = tok(["a red circle", "a zebra", "a blue square and a small red circle"])
    assert ids.shape == (3, 6)
    assert ids.argmax(-1).tolist() == [4, 3, 5]  # open_clip pools at the largest id: end of text
    assert ids[1, 2].item() == tok.unk_id and ids[0, 5].item() == tok.pad_id
    assert tok.unknown_words(["a zebra"]) == ["zebra"]
    with pytest.raises(ValueError, match="vocab_size=5 is too small"):
        WordTokenizer(["a", "b"], vocab_size=5, context_length=6)


@pytest.mark.parametrize("name", ["ViT-B-32/laion2b_s34b_b79k", "hf-hub:timm/ViT-B-16-SigLIP",
                                  "openai/clip-vit-base-patch32"])
def test_hub_names_fail_fast_offline_naming_the_default(name):
    start = time.monotonic()
    with pytest.raises(RuntimeError) as info:
        load_clip(name)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert name in message and "HF_HUB_OFFLINE" in message and 'gk.load_clip("tiny-shapes")' in message


def test_bad_names_and_inputs(tmp_path):
    with pytest.raises(ValueError, match="unknown CLIP name 'no such model'"):
        load_clip("no such model")
    with pytest.raises(FileNotFoundError, match="holds no CLIP"):
        load_clip(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no CLIP folder"):
        load_clip(str(tmp_path / "missing"))
    with pytest.raises(TypeError, match="name must be a string"):
        load_clip(3)
    clip = load_clip("tiny-shapes")
    with pytest.raises(TypeError, match="texts must be a list of strings"):
        clip.encode_texts("a red circle")
    with pytest.raises(TypeError, match="expected a PIL image"):
        clip.encode_images([torch.zeros(3, 64, 64)])


def test_list_models_names_offline_and_online_choices():
    models = list_models()
    assert models["clip"] == ["tiny-shapes"] and models["vqa"] == ["tiny-shapes-vqa"]
    assert "ViT-B-32/laion2b_s34b_b79k" in models["clip-online"]
    assert "dandelin/vilt-b32-finetuned-vqa" in models["vqa-online"]
