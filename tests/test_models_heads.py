"""Heads on features: each kind fits what it should, declares an exact structure, fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grounding_kit.models.features import Features
from grounding_kit.models.heads import HEAD_KINDS, fit_head, load_head, make_head
from grounding_kit.models.contract import structure_of
from grounding_kit.core.validation import NotFittedError

N, D = 1200, 8
TRAINED_KINDS = [k for k in HEAD_KINDS if k != "clip-zero-shot"]


def gaussian_features(seed: int = 0, n: int = N, d: int = D) -> Features:
    g = torch.Generator().manual_seed(seed)
    return Features(text=torch.randn(n, d, generator=g), image=torch.randn(n, d, generator=g))


@pytest.fixture(scope="module")
def feats() -> Features:
    return gaussian_features()


def additive_labels(f: Features) -> torch.Tensor:
    return (f.text[:, 0] + f.image[:, 0] > 0).long()


def xor_labels(f: Features) -> torch.Tensor:
    return ((f.text[:, 0] > 0) ^ (f.image[:, 0] > 0)).long()


def accuracy(head, f: Features, labels: torch.Tensor) -> float:
    return float((head.predict(f) == labels).float().mean())


@pytest.mark.parametrize("kind", TRAINED_KINDS)
def test_every_trained_kind_solves_additive_data(kind, feats):
    head = fit_head(kind, feats, additive_labels(feats), progress=False)
    test = gaussian_features(seed=1, n=600)
    assert accuracy(head, test, additive_labels(test)) > 0.85
    assert 0 <= head.history_["best_epoch"] < len(head.history_["train_loss"])


@pytest.mark.parametrize("kind, solves", [("additive", False), ("additive-mlp", False),
                                          ("interactive", True), ("product", True), ("bilinear", True)])
def test_only_interactive_kinds_solve_xor(kind, solves, feats):
    head = fit_head(kind, feats, xor_labels(feats), progress=False)
    test = gaussian_features(seed=2, n=600)
    acc = accuracy(head, test, xor_labels(test))
    assert (acc > 0.75) if solves else (acc < 0.6), acc


def test_clip_zero_shot_calibrates_cosine_to_a_match_decision():
    g = torch.Generator().manual_seed(3)
    text = torch.randn(800, 16, generator=g)
    match = torch.rand(800, generator=g) < 0.5
    image = torch.where(match[:, None], text + 0.5 * torch.randn(800, 16, generator=g),
                        torch.randn(800, 16, generator=g))
    head = fit_head("clip-zero-shot", Features(text, image), match.long(), progress=False)
    assert head.structure == "bilinear"
    assert accuracy(head, Features(text, image), match.long()) > 0.95
    cos = torch.nn.functional.cosine_similarity(text, image)
    logits = head(text, image)
    assert torch.allclose(logits[:, 0], torch.zeros(800))
    assert torch.allclose(logits[:, 1], head.scale * cos + head.threshold, atol=1e-5)


@pytest.mark.parametrize("kind", HEAD_KINDS)
def test_declared_structure_reproduces_the_pair_logits(kind, feats):
    labels = additive_labels(feats) if kind == "clip-zero-shot" else torch.arange(N) % 3
    head = fit_head(kind, feats, labels, epochs=3, progress=False)
    text, image = feats.text[:5], feats.image[:7]
    # full grid by broadcasting pairs through the call
    rows, cols = torch.meshgrid(torch.arange(5), torch.arange(7), indexing="ij")
    with torch.no_grad():
        grid = head(text[rows.flatten()], image[cols.flatten()]).view(5, 7, -1)
        structure = structure_of(head)
        if structure == "bilinear":
            f = head.bilinear_factors(text, image)
            rebuilt = (torch.einsum("irc,jr->ijc", f.left, f.right)
                       + f.text_bias[:, None] + f.image_bias[None])
        elif structure == "first-layer-linear":
            th, ih = head.first_layer(text, image)
            rebuilt = head.rest((th[:, None] + ih[None]).reshape(35, -1)).view(5, 7, -1)
        else:  # generic: the batched grid must equal the head called on one pair at a time
            assert structure == "generic", structure
            rebuilt = torch.stack([torch.cat([head(text[i:i + 1], image[j:j + 1]) for j in range(7)])
                                   for i in range(5)])
    assert torch.allclose(grid, rebuilt, atol=1e-5)


def test_expected_structures():
    assert {k: make_head(k).structure for k in HEAD_KINDS} == {
        "additive": "bilinear", "additive-mlp": "bilinear", "interactive": "first-layer-linear",
        "product": "generic", "bilinear": "bilinear", "clip-zero-shot": "bilinear"}


def test_interactive_head_gets_the_exact_relu_closed_form(feats):
    import grounding_kit as gk

    head = fit_head("interactive", feats, xor_labels(feats), epochs=5, progress=False)
    details = gk.emap_model(head, feats)
    assert details.method == "relu closed form"
    torch.testing.assert_close(details.projection, gk.emap(gk.pairwise_logits(head, feats).double()),
                               atol=1e-6, rtol=1e-6)


def test_fitting_is_deterministic_for_a_seed(feats):
    labels = xor_labels(feats)
    a = fit_head("interactive", feats, labels, epochs=5, seed=7, progress=False)
    b = fit_head("interactive", feats, labels, epochs=5, seed=7, progress=False)
    c = fit_head("interactive", feats, labels, epochs=5, seed=8, progress=False)
    out = [h(feats.text[:10], feats.image[:10]) for h in (a, b, c)]
    assert torch.equal(out[0], out[1]) and not torch.equal(out[0], out[2])


def test_multi_hot_labels_train_with_bce(feats):
    ids = (feats.text[:, 0] > 0).long() * 2 + (feats.image[:, 0] > 0).long()  # 4 classes, additive-ish
    multi_hot = torch.nn.functional.one_hot(ids, 5).float()
    head = fit_head("interactive", feats, multi_hot, progress=False)
    assert head.multilabel_ and head.n_classes_ == 5
    assert accuracy(head, feats, ids) > 0.85


def test_labels_from_a_list_and_numpy(feats):
    labels = additive_labels(feats)
    for given in (labels.tolist(), labels.numpy()):
        head = fit_head("additive", feats, given, epochs=2, progress=False)
        assert head.n_classes_ == 2


def test_unknown_kind_lists_the_valid_ones(feats):
    with pytest.raises(ValueError, match="kind='mlp' is not valid; expected one of .*interactive"):
        fit_head("mlp", feats, additive_labels(feats))


def test_inconsistent_lengths(feats):
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: feats=1200, labels=1199"):
        fit_head("additive", feats, additive_labels(feats)[:-1])


def test_unfitted_head_raises_not_fitted(feats):
    head = make_head("interactive")
    for use in (lambda: head.predict(feats), lambda: head(feats.text, feats.image),
                lambda: head.first_layer(feats.text, feats.image)):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            use()


def test_wrong_feature_shapes(feats):
    head = fit_head("additive", feats, additive_labels(feats), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"text must have shape \(N, 8\) as in fitting"):
        head(torch.zeros(4, 9), torch.zeros(4, 8))
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: text=4, image=3"):
        head(torch.zeros(4, 8), torch.zeros(3, 8))
    with pytest.raises(TypeError, match=r"feats.text must be a float tensor of shape \(N, D\)"):
        fit_head("additive", Features(["a"] * N, feats.image), additive_labels(feats))
    with pytest.raises(TypeError, match=r"image must be a float tensor of shape \(N, 8\)"):
        head(torch.zeros(4, 8), torch.zeros(4, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"text must be a float tensor of shape \(N, 8\)"):
        head(torch.zeros(4), torch.zeros(4, 8))
    with pytest.raises(TypeError, match="feats must be a grounding_kit.Features"):
        fit_head("additive", (feats.text, feats.image), additive_labels(feats))


def test_bad_labels_and_kind_constraints(feats):
    with pytest.raises(ValueError, match="non-negative integer class ids"):
        fit_head("additive", feats, np.full(N, 0.5))
    with pytest.raises(ValueError, match="must be finite"):
        fit_head("additive", Features(feats.text.clone().fill_(float("nan")), feats.image), additive_labels(feats))
    with pytest.raises(ValueError, match="clip-zero-shot scores a match"):
        fit_head("clip-zero-shot", feats, torch.arange(N) % 3)
    with pytest.raises(ValueError, match="same width"):
        fit_head("product", Features(feats.text, feats.image[:, :4]), additive_labels(feats))


# -- learnable labels ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", HEAD_KINDS)
def test_single_class_labels_and_one_pair_are_refused(kind, feats):
    with pytest.raises(ValueError, match=r"single class \(1\) for all N=1200 pairs"):
        fit_head(kind, feats, torch.ones(N, dtype=torch.long), progress=False)
    with pytest.raises(ValueError, match="single class"):
        fit_head(kind, feats, np.zeros(N, dtype=int), n_classes=2, progress=False)
    with pytest.raises(ValueError, match=r"N >= 2 labelled pairs, got N=1"):
        fit_head(kind, feats.take([0]), torch.tensor([1]), progress=False)


def test_identical_multi_hot_rows_are_refused(feats):
    rows = torch.zeros(N, 3)
    rows[:, 1] = 1.0
    with pytest.raises(ValueError, match="single label row"):
        fit_head("additive", feats, rows, progress=False)


def test_two_pairs_of_two_classes_are_enough(feats):
    head = fit_head("additive", feats.take([0, 1]), torch.tensor([0, 1]), epochs=2, progress=False)
    assert head.n_classes_ == 2


# -- save_pretrained / load_head ----------------------------------------------------------


@pytest.mark.parametrize("kind", HEAD_KINDS)
def test_save_pretrained_round_trips_every_kind(kind, feats, tmp_path):
    from grounding_kit.analysis import emap_model

    labels = additive_labels(feats)
    head = fit_head(kind, feats, labels, hidden=16, rank=3, epochs=3, progress=False)
    folder = head.save_pretrained(tmp_path / kind)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_head(folder)
    assert type(loaded) is type(head) and loaded.structure == head.structure and not loaded.training
    assert (loaded.text_dim_, loaded.image_dim_, loaded.n_classes_, loaded.hidden, loaded.rank) == \
        (head.text_dim_, head.image_dim_, head.n_classes_, 16, 3)
    assert loaded.history_ == head.history_
    some = feats.take(range(50))
    with torch.no_grad():
        torch.testing.assert_close(loaded(some.text, some.image), head(some.text, some.image), rtol=0, atol=0)
    torch.testing.assert_close(emap_model(loaded, some).projection, emap_model(head, some).projection, rtol=0, atol=0)


def test_save_pretrained_refuses_unfitted_heads_and_overwrites_only_when_asked(feats, tmp_path):
    with pytest.raises(NotFittedError):
        make_head("additive").save_pretrained(tmp_path / "unfitted")
    head = fit_head("additive", feats, additive_labels(feats), epochs=1, progress=False)
    head.save_pretrained(tmp_path / "h")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        head.save_pretrained(tmp_path / "h")
    head.save_pretrained(tmp_path / "h", overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        head.save_pretrained(tmp_path / "file")
    with pytest.raises(ValueError, match="is blank"):
        head.save_pretrained("")
    with pytest.raises(TypeError, match="folder must be a folder path"):
        head.save_pretrained(None)
    with pytest.raises(ValueError, match="is blank"):
        load_head(" ")


def test_load_head_names_what_is_wrong(feats, tmp_path):
    from grounding_kit.models.registry import TINY_VQA, embedded_path

    with pytest.raises(FileNotFoundError, match="no saved head"):
        load_head(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        load_head(embedded_path("tiny-shapes"))
    with pytest.raises(ValueError, match="not a saved grounding_kit head"):
        load_head(embedded_path(TINY_VQA))
    head = fit_head("interactive", feats, additive_labels(feats), hidden=8, epochs=1, progress=False)
    folder = head.save_pretrained(tmp_path / "h")
    (folder / "model.safetensors").write_bytes(b"garbage" * 20)
    with pytest.raises(ValueError, match=r"model.safetensors is not a checkpoint the kit can read"):
        load_head(folder)
    other = fit_head("interactive", feats, additive_labels(feats), hidden=4, epochs=1, progress=False)
    other.save_pretrained(folder, overwrite=True)
    config = (folder / "config.json").read_text().replace('"hidden": 4', '"hidden": 8')
    (folder / "config.json").write_text(config)
    with pytest.raises(ValueError, match="weights of a 'interactive' head"):
        load_head(folder)


# -- fitted state as in scikit-learn ------------------------------------------------------------


def test_fitted_attributes_exist_only_after_fit(feats):
    from grounding_kit.models.heads import FITTED_ATTRIBUTES

    head = make_head("additive")
    assert not head.is_fitted and "not fitted" in repr(head)
    for name in FITTED_ATTRIBUTES:
        assert not hasattr(head, name)
        with pytest.raises(NotFittedError, match=rf"{name} does not exist yet.*'additive' head is not fitted.*fit"):
            getattr(head, name)
    with pytest.raises(NotFittedError, match=r"AdditiveHead \('additive' head\) is not fitted yet; call fit"):
        head.predict(feats)
    head.fit(feats, additive_labels(feats), epochs=1, progress=False)
    assert head.is_fitted and all(hasattr(head, name) for name in FITTED_ATTRIBUTES)
    assert (head.text_dim_, head.image_dim_, head.n_classes_, head.multilabel_) == (D, D, 2, False)


def test_a_failed_fit_leaves_no_fitted_attributes(feats):
    head = make_head("product")
    with pytest.raises(ValueError, match="same width"):
        head.fit(Features(feats.text, feats.image[:, :3]), additive_labels(feats), progress=False)
    assert not hasattr(head, "n_classes_") and not head.is_fitted


def test_from_pretrained_sets_the_fitted_attributes_from_the_saved_config(feats, tmp_path):
    import json

    from grounding_kit.models.heads import AdditiveHead, BilinearHead, Head

    head = fit_head("additive", feats, additive_labels(feats), epochs=2, progress=False)
    folder = head.save_pretrained(tmp_path / "h")
    config = json.loads((folder / "config.json").read_text())
    config["history"] = {}  # fittedness is the saved shapes, not a non-empty history
    (folder / "config.json").write_text(json.dumps(config))
    loaded = AdditiveHead.from_pretrained(folder)
    assert loaded.is_fitted and loaded.history_ == {} and loaded.n_classes_ == 2 and loaded.text_dim_ == D
    assert type(Head.from_pretrained(folder)) is AdditiveHead
    with pytest.raises(ValueError, match="holds a 'additive' head, not a 'bilinear' one"):
        BilinearHead.from_pretrained(folder)


def test_save_pretrained_refuses_any_existing_non_empty_folder(feats, tmp_path):
    head = fit_head("additive", feats, additive_labels(feats), epochs=1, progress=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"busy exists and is not empty; save_pretrained\(folder, overwrite=True\)"):
        head.save_pretrained(tmp_path / "busy")
    (tmp_path / "empty").mkdir()
    assert head.save_pretrained(tmp_path / "empty") == tmp_path / "empty"
    head.save_pretrained(tmp_path / "busy", overwrite=True)
    assert load_head(tmp_path / "busy").n_classes_ == 2


def test_every_loader_and_fit_head_default_to_the_cpu(feats, tmp_path):
    from grounding_kit.models import load_clip, load_vqa

    head = fit_head("additive", feats, additive_labels(feats), epochs=1, progress=False)
    assert next(head.parameters()).device.type == "cpu"
    assert next(load_head(head.save_pretrained(tmp_path / "h")).parameters()).device.type == "cpu"
    assert load_clip("tiny-shapes").device.type == "cpu" and load_vqa("tiny-shapes-vqa").device.type == "cpu"
