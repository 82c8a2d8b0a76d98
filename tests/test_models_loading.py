"""Model loading refuses what it cannot read, by name: wrong architectures, garbage checkpoints,
blank names and devices this machine lacks (issue 10, model loading). Also the loader registry."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from grounding_kit.core.devices import available_devices, check_device
from grounding_kit.models import list_models, load_clip, load_vqa
from grounding_kit.models.registry import CLIP_LOADERS, TINY_CLIP, TINY_VQA, VQA_LOADERS, embedded_path, find_entry

GARBAGE = b"this is not a checkpoint \x00\x01\x02" * 10


@pytest.fixture
def tiny_clip_copy(tmp_path):
    folder = tmp_path / "my-clip"
    shutil.copytree(embedded_path(TINY_CLIP), folder)
    return folder


@pytest.fixture
def tiny_vqa_copy(tmp_path):
    folder = tmp_path / "my-vqa"
    shutil.copytree(embedded_path(TINY_VQA), folder)
    return folder


def test_embedded_clip_is_a_self_describing_open_clip_folder(tiny_clip_copy):
    import open_clip

    config = json.loads((embedded_path(TINY_CLIP) / "open_clip_config.json").read_text())
    assert {"embed_dim", "vision_cfg", "text_cfg"} <= set(config["model_cfg"]) and "preprocess_cfg" in config
    # open_clip's own local-dir loader reads the folder: the same weights as load_clip's model
    model, _, _ = open_clip.create_model_and_transforms(f"local-dir:{tiny_clip_copy}")
    clip = load_clip(f"local-dir:{tiny_clip_copy}", device="cpu")
    for key, value in model.state_dict().items():
        assert torch.equal(value, clip.module.state_dict()[key]), key
    assert clip.weights_hash() == load_clip(TINY_CLIP, device="cpu").weights_hash()
    assert load_clip(str(tiny_clip_copy), device="cpu").weights_hash() == clip.weights_hash()


def test_training_saves_the_folder_format_load_clip_reads(tmp_path):
    import open_clip

    from grounding_kit.models.clip import register_tiny_config, save_open_clip_folder
    from grounding_kit.models.tokenizer import WordTokenizer

    arch = register_tiny_config()
    model, _, _ = open_clip.create_model_and_transforms(arch)
    tokenizer = WordTokenizer(["red", "circle"], 128, 24)
    folder = save_open_clip_folder(tmp_path / "new", model, open_clip.get_model_config(arch), tokenizer)
    assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors", "open_clip_config.json", "vocab.json"]
    clip = load_clip(str(folder), device="cpu")
    text = clip.encode_texts(["a red circle"])
    expected = torch.nn.functional.normalize(model.encode_text(tokenizer(["a red circle"])), dim=-1)
    torch.testing.assert_close(text, expected.detach())


@pytest.mark.parametrize("wrong", ["vqa-folder-to-clip", "clip-folder-to-vqa"])
def test_a_folder_of_the_wrong_architecture_is_refused_by_name(wrong, tiny_clip_copy, tiny_vqa_copy):
    if wrong == "vqa-folder-to-clip":
        with pytest.raises(ValueError, match=r"holds a 'vilt' model .*not a CLIP.*load_vqa"):
            load_clip(str(tiny_vqa_copy), device="cpu")
    else:
        with pytest.raises(ValueError, match=r"holds an open_clip CLIP.*not a VQA model.*load_clip"):
            load_vqa(str(tiny_clip_copy), device="cpu")


def test_a_transformers_folder_of_another_kind_is_refused_by_both(tmp_path):
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match=r"holds a 'bert' model"):
        load_clip(str(folder), device="cpu")
    with pytest.raises(ValueError, match=r"holds a 'bert' model .*ViLT and BLIP"):
        load_vqa(str(folder), device="cpu")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config.json is not a JSON model config"):
        load_vqa(str(folder), device="cpu")


def _assert_names_the_file(err: pytest.ExceptionInfo, path) -> None:
    message = str(err.value)
    assert str(path) in message and "not a checkpoint" in message
    assert "weights_only=False" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no deep traceback chained


def test_garbage_weights_in_an_open_clip_folder_name_the_file(tiny_clip_copy):
    (tiny_clip_copy / "model.safetensors").write_bytes(GARBAGE)
    with pytest.raises(ValueError) as err:
        load_clip(str(tiny_clip_copy), device="cpu")
    _assert_names_the_file(err, tiny_clip_copy)


def test_garbage_weights_in_a_vilt_folder_name_the_file(tiny_vqa_copy):
    (tiny_vqa_copy / "model.safetensors").write_bytes(GARBAGE)
    with pytest.raises(ValueError) as err:
        load_vqa(str(tiny_vqa_copy), device="cpu")
    _assert_names_the_file(err, tiny_vqa_copy)


@pytest.mark.parametrize("suffix", [".pt", ".bin", ".safetensors"])
def test_a_garbage_pretrained_file_names_the_file(tmp_path, suffix):
    path = tmp_path / f"weights{suffix}"
    path.write_bytes(GARBAGE)
    with pytest.raises(ValueError) as err:
        load_clip("RN50", pretrained=str(path), device="cpu")
    _assert_names_the_file(err, path)


def test_weights_of_another_shape_are_refused_not_loaded_randomly(tiny_clip_copy):
    config_path = tiny_clip_copy / "open_clip_config.json"
    config = json.loads(config_path.read_text())
    config["model_cfg"]["embed_dim"] = 32
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not a checkpoint the kit can read"):
        load_clip(str(tiny_clip_copy), device="cpu")


def test_an_open_clip_folder_without_weights_or_with_a_bad_config_is_refused(tiny_clip_copy):
    (tiny_clip_copy / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no weights .*RANDOM"):
        load_clip(str(tiny_clip_copy), device="cpu")
    (tiny_clip_copy / "open_clip_config.json").write_text(json.dumps({"model_cfg": {"embed_dim": 4}}))
    with pytest.raises(ValueError, match="not an open_clip config"):
        load_clip(f"local-dir:{tiny_clip_copy}", device="cpu")


@pytest.mark.parametrize("name", ["", " ", "\t\n"])
def test_a_blank_name_is_refused_never_read_as_the_current_folder(name, tiny_vqa_copy, monkeypatch):
    monkeypatch.chdir(tiny_vqa_copy)  # a loadable model sits in the current folder
    for load in (load_clip, load_vqa):
        with pytest.raises(ValueError, match="is blank"):
            load(name, device="cpu")
    assert load_vqa("./", device="cpu").name == "./"  # the current folder, when asked for explicitly
    for load in (load_clip, load_vqa):  # the prefix is read by one helper for both loaders
        with pytest.raises(ValueError, match="names no folder"):
            load("local-dir:" + name, device="cpu")
    with pytest.raises(ValueError, match="names no repository"):
        load_clip("hf-hub:" + name, device="cpu")


@pytest.mark.parametrize("name", [None, 3, ["tiny-shapes"]])
def test_a_name_that_is_not_a_string_is_a_type_error(name):
    with pytest.raises(TypeError, match="name must be a string"):
        load_clip(name)
    with pytest.raises(TypeError, match="name must be a string"):
        load_vqa(name)


def test_pretrained_with_a_name_that_carries_its_own_weights_is_refused():
    with pytest.raises(ValueError, match="pretrained='x.pt' applies to an open_clip architecture"):
        load_clip(TINY_CLIP, pretrained="x.pt")


@pytest.mark.parametrize("device", ["gpu", "GPU", "tpu", "cuda:x", "nonsense"])
def test_unknown_devices_are_refused_with_the_valid_options(device):
    with pytest.raises(ValueError, match=r"expected one of \['cpu'"):
        check_device(device)
    with pytest.raises(ValueError, match=r"expected one of \['cpu'"):
        load_clip(TINY_CLIP, device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_a_gpu_is_refused_with_the_valid_options(device):
    for load in (load_clip, load_vqa):
        with pytest.raises(ValueError, match=r"no CUDA device on this machine; expected one of \['cpu'"):
            load(device=device)


def test_devices_accept_strings_and_torch_devices_and_refuse_other_types():
    assert check_device("cpu") == torch.device("cpu") == check_device(torch.device("cpu"))
    assert check_device(" cpu ") == torch.device("cpu")
    assert str(check_device(None)) in available_devices() or check_device(None).type == "cuda"
    with pytest.raises(TypeError, match="device must be None, a string"):
        check_device(0)


def test_the_registry_orders_entries_and_list_models_is_derived_from_it(tiny_clip_copy, tiny_vqa_copy):
    assert "local-dir" in find_entry(CLIP_LOADERS, f"local-dir:{tiny_clip_copy}").source
    assert find_entry(CLIP_LOADERS, str(tiny_clip_copy)).load.endswith(":load_open_clip_folder")
    assert find_entry(CLIP_LOADERS, str(tiny_vqa_copy)).load.endswith(":load_transformers_clip_folder")
    assert find_entry(CLIP_LOADERS, "ViT-B-32/openai").load.endswith(":load_open_clip_architecture")
    assert find_entry(CLIP_LOADERS, "org/name").load.endswith(":load_transformers_clip_hub")
    assert find_entry(VQA_LOADERS, str(tiny_clip_copy)).load.endswith(":refuse_clip_folder")
    assert find_entry(CLIP_LOADERS, "no such thing") is None
    models = list_models()
    assert models["clip"] == [n for e in CLIP_LOADERS if not e.online for n in e.names] == [TINY_CLIP]
    assert models["vqa-online"] == [n for e in VQA_LOADERS if e.online for n in e.names]
    for entry in CLIP_LOADERS + VQA_LOADERS:
        assert callable(entry.loader()), entry.load


@pytest.mark.parametrize("device", ["gpu", "cuda:7"] if torch.cuda.is_available() else ["gpu", "cuda"])
def test_analysis_functions_check_their_device_argument_too(device):
    from grounding_kit.analysis import emap_model, pairwise_logits
    from grounding_kit.models.features import Features

    feats = Features(torch.zeros(3, 2), torch.zeros(3, 2))
    for run in (emap_model, pairwise_logits):
        with pytest.raises(ValueError, match=r"expected one of \['cpu'"):
            run(lambda t, v: t + v, feats, device=device)
