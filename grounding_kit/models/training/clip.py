"""The tiny CLIP's recipes (``grounding-kit train tiny-clip``), one function each.

- ``"descriptions"`` (version 1, a ViT): :func:`train_descriptions`, :func:`description_batch`
  under open_clip's ``ClipLoss``;
- ``"typed-queries"`` (version 2, a modified ResNet): :func:`train_typed_queries`,
  :func:`typed_query_batch` under :func:`~grounding_kit.models.training.losses.multi_positive_clip_loss`
  plus :data:`CLIP_EXTRA_LOSSES`.

Which recipe ships, and its figures, are read from the shipped ``training.json``
(:func:`shipped_clip_recipe`), not written here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from grounding_kit.core.paths import check_output_dir
from grounding_kit.core.threads import single_thread
from grounding_kit.core.validation import check_choice, check_positive_int, seed_int
from grounding_kit.models.cards import write_model_card
from grounding_kit.models.registry import TINY_CLIP, embedded_path
from grounding_kit.models.training.common import EVAL_SEED, folder_size, run_steps, shipped_record, write_record
from grounding_kit.models.training.losses import (LAYOUT_SCALE, calibration_loss, description_truth, hard_text_loss,
                                                  layout_heads, layout_loss, match_pair_loss, multi_positive_clip_loss)

CLIP_STEPS = {"descriptions": 2500, "typed-queries": 3000}  # recipe -> training steps
CLIP_MULTI_PER_BATCH = 28  # multi-object scenes per batch, next to one scene per template caption
CLIP_QUERIES_PER_BATCH = 54  # typed queries per batch, each with a hard-negative image and text
# the kinds of the typed queries in turn: two-object and left/right queries, the hardest, twice as often
CLIP_QUERY_MIX = ("single", "two", "left_right", "count", "two", "left_right")
CLIP_LR = 2e-3
# the typed-query recipe's terms beside the contrastive loss, and their weights
CLIP_EXTRA_LOSSES = {"hard texts": 1.0, "calibration": 3.0, "match pairs": 1.0, "layout": 1.0}
CALIBRATION_BIAS = -5.0  # the calibration term's initial bias: most text-image pairs of a batch are false
# recipe -> its open_clip architecture (`grounding_kit/configs/<name>.json`) and that in words
CLIP_ARCHITECTURES: dict[str, tuple[str, str]] = {
    "descriptions": ("tiny-shapes-v1", "ViT 2 layers, width 64, 8 px patches on 64 px images"),
    "typed-queries": ("tiny-shapes", "CLIP's modified ResNet, one bottleneck block per stage, base width 8, "
                                     "on 64 px images: a 2 x 2 grid of features, attention-pooled"),
}
_CLIP_MODEL = """An open_clip CLIP (`grounding_kit/configs/{arch}.json`: {vision}; text transformer 2 layers,
width 64; joint space of 64) with a word-level vocabulary, trained from random weights by
`grounding-kit train tiny-clip` (`grounding_kit.models.training.clip`, recipe {recipe!r}).
"""
_CLIP_COMMON = f"""- AdamW (lr {CLIP_LR}, weight decay 0.1 on matrices), 5% warm-up then cosine decay, one CPU thread.
- Deterministic for a seed; shipped with seed 0.
- Knows only the shapes world: 3 shapes, 6 colours, 2 sizes, a few dozen words.
"""
# recipe -> (version, description)
CLIP_RECIPES: dict[str, tuple[int, str]] = {
    "descriptions": (1, f"""
- Data, freshly rendered every step (`description_batch`): the 36 one-object template scenes with
  their captions and {CLIP_MULTI_PER_BATCH} scenes of 2 to 4 objects with their descriptions (no duplicate texts).
- Loss: open_clip's `ClipLoss`.
"""),
    "typed-queries": (2, f"""
- Data, freshly rendered every step (`typed_query_batch`): the 36 one-object template scenes with their
  captions; {CLIP_MULTI_PER_BATCH} scenes of 1 to 4 objects with their descriptions; {CLIP_QUERIES_PER_BATCH} typed queries
  about those scenes at several levels of detail (single objects with any subset of size, colour
  and shape, two objects, counts, left/right; `grounding_kit.world.queries`; kinds in turn
  {", ".join(CLIP_QUERY_MIX)}), each with a hard-negative text (one attribute, number or relation
  changed) and a hard-negative image (one change to the scene that makes the query false; for a
  left/right query its mirror image), described too.
- Loss: CLIP's symmetric contrastive loss with several positives (`multi_positive_clip_loss`):
  text to image, every scene the text holds for (the truth computed from the scenes); image to
  text, the image's exact description, among the descriptions only (a partial query true of an
  image is never its negative). Plus, with weights {", ".join(f"{k} {v:g}" for k, v in CLIP_EXTRA_LOSSES.items())}:
  each query against its hard-negative text (`hard_text_loss`); SigLIP's sigmoid loss on every
  pair (`calibration_loss`) and on the match task's kind of pair alone (`match_pair_loss`: a
  scene and its one-change edit against both descriptions); and a training-only *layout loss*
  (`layout_loss`: which colour and shape sits in which grid column and how many of each shape,
  read from the image embedding; which referent a left/right query puts in which column, read
  from its text embedding; linear heads on the embeddings times {LAYOUT_SCALE:g}). The layout
  heads and the sigmoid's bias are not saved.
"""),
}


def shipped_clip_recipe() -> str:
    """The recipe of the shipped tiny CLIP, read from its ``training.json``."""
    return str(shipped_record(TINY_CLIP)["recipe"])


def clip_recipe_text(recipe: str) -> str:
    """The model card's description of ``recipe`` (architecture, data, loss, optimiser)."""
    arch, vision = CLIP_ARCHITECTURES[recipe]
    return _CLIP_MODEL.format(recipe=recipe, arch=arch, vision=vision) + CLIP_RECIPES[recipe][1] + _CLIP_COMMON


def write_clip_card(folder: str | Path) -> Path:
    """Render the tiny CLIP's model card ``README.md`` in ``folder`` from its ``training.json``
    (recipe, version, figures, and the figures of the versions it replaces)."""
    record = json.loads((Path(folder) / "training.json").read_text(encoding="utf-8"))
    return write_model_card(folder, f"{TINY_CLIP}: the embedded tiny CLIP, version {record['version']}",
                            clip_recipe_text(record["recipe"]))


def description_batch(rng: np.random.Generator) -> tuple[list[Any], list[str], np.ndarray]:
    """One batch of the ``"descriptions"`` recipe: each of the 36 template captions once (no
    duplicate captions, so no false negatives in the contrastive loss) plus multi-object scenes
    with their descriptions; the truth is the identity (scene i is described by text i)."""
    from grounding_kit.world import BACKGROUNDS, caption_templates, describe, sample_scene, single_object_scene

    templates = caption_templates()
    scenes = [single_object_scene(rng, i) for i in range(len(templates))]
    scenes += [sample_scene(rng, int(rng.integers(2, 5)), background=BACKGROUNDS[rng.integers(2)])
               for _ in range(CLIP_MULTI_PER_BATCH)]
    return scenes, [describe(s) for s in scenes], np.eye(len(scenes), dtype=bool)


def typed_query_batch(rng: np.random.Generator, n_multi: int = CLIP_MULTI_PER_BATCH,
                      n_queries: int = CLIP_QUERIES_PER_BATCH) -> tuple[list[Any], list[Any], np.ndarray]:
    """One batch of the ``"typed-queries"`` recipe: scenes, texts (as queries) and their truth matrix.

    Scenes: each of the 36 template captions' one-object scenes, ``n_multi`` scenes of 1 to 4
    objects, and for ``n_queries`` of those a hard-negative image (one change that makes the
    sampled query false, :func:`~grounding_kit.world.queries.hard_negative_scene`). Texts: the
    36 templates, every scene's whole description, ``n_queries`` typed queries at random levels
    of detail (:func:`~grounding_kit.world.queries.sample_query`, the kinds of :data:`CLIP_QUERY_MIX` in turn) and a
    hard-negative text for each (one attribute, number or relation changed).

    Returns
    -------
    scenes (Ns), queries (Nt, :class:`~grounding_kit.world.queries.Query`; the texts are their
    ``.text``), truth: (Nt, Ns) bool with ``truth[i, j]`` = text i holds for scene j, and
    pairs: (n_queries, 4) int, each typed query's row, its hard-negative text's row, the column
    of the scene it was drawn from and the column of its hard-negative image
    (:func:`hard_text_loss`, :func:`match_pair_loss`). A scene's whole description sits in the
    row of the scene's column (from column 36 on).
    """
    from grounding_kit.world import BACKGROUNDS, caption_templates, sample_scene, single_object_scene
    from grounding_kit.world.queries import Query, Referent, hard_negative_scene, perturb_query, sample_query, scene_query, truth_matrix

    templates = caption_templates()
    scenes = [single_object_scene(rng, i) for i in range(len(templates))]
    queries = [Query("single", (Referent(o.size, o.color, o.shape),)) for s in scenes for o in s.objects]
    multi = [sample_scene(rng, int(rng.integers(1, 5)), background=BACKGROUNDS[rng.integers(2)])
             for _ in range(n_multi)]
    negatives: list[Any] = []
    typed: list[Query] = []
    for i in range(n_queries):
        scene = multi[i % n_multi]
        kind = CLIP_QUERY_MIX[i % len(CLIP_QUERY_MIX)]
        query = sample_query(rng, scene, kind) or sample_query(rng, scene, "single")
        typed += [query, perturb_query(rng, query)]
        negatives.append(hard_negative_scene(rng, scene, query))
    first_multi = len(scenes)
    scenes += multi + negatives
    queries += [scene_query(s) for s in multi + negatives]
    rows = len(queries) + 2 * np.arange(n_queries)
    pairs = np.stack([rows, rows + 1, first_multi + np.arange(n_queries) % n_multi,
                      first_multi + n_multi + np.arange(n_queries)], axis=1)
    queries += typed
    return scenes, queries, truth_matrix(queries, scenes), pairs

def render_batch(scenes: Sequence[Any], preprocess: Callable) -> torch.Tensor:
    """The scenes rendered and preprocessed, (Ns, 3, 64, 64)."""
    from grounding_kit.world import render_scene

    return torch.stack([preprocess(render_scene(s)) for s in scenes])


def clip_optimizer(model: torch.nn.Module, extra: Sequence[torch.nn.Parameter] = ()) -> torch.optim.AdamW:
    """AdamW with weight decay 0.1 on the model's matrices, none on its vectors, embeddings and ``extra``."""
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "embedding" in n]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                              {"params": no_decay + list(extra), "weight_decay": 0.0}], lr=CLIP_LR)


def clamp_temperature(model: torch.nn.Module) -> Callable[[], None]:
    """After each step, as in CLIP: keep the temperature below 100."""
    def clamp() -> None:
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
    return clamp


def train_descriptions(model: torch.nn.Module, preprocess: Callable, tokenizer: Callable,
                       rng: np.random.Generator, steps: int, progress: bool) -> tuple[float, float]:
    """Recipe ``"descriptions"`` (version 1): :func:`description_batch` under open_clip's
    ``ClipLoss`` (one positive each, on the diagonal). Returns the loop's (wall, CPU) seconds."""
    import open_clip

    clip_loss = open_clip.ClipLoss()
    optimizer = clip_optimizer(model)

    def step_loss(step: int) -> torch.Tensor:
        scenes, texts, _ = description_batch(rng)
        image_features, text_features, logit_scale = model(render_batch(scenes, preprocess), tokenizer(texts))
        return clip_loss(image_features, text_features, logit_scale)

    return run_steps(model, optimizer, steps, CLIP_LR, step_loss, desc="training tiny CLIP", progress=progress,
                     after_step=clamp_temperature(model))


def train_typed_queries(model: torch.nn.Module, preprocess: Callable, tokenizer: Callable,
                        rng: np.random.Generator, steps: int, progress: bool) -> tuple[float, float]:
    """Recipe ``"typed-queries"`` (version 2): :func:`typed_query_batch` under
    :func:`multi_positive_clip_loss` plus the :data:`CLIP_EXTRA_LOSSES` (:func:`hard_text_loss`,
    :func:`calibration_loss`, :func:`match_pair_loss` and the training-only :func:`layout_loss`,
    whose heads and the calibration bias are not saved). Returns the loop's (wall, CPU) seconds."""
    import open_clip

    heads = layout_heads(open_clip.get_model_config(CLIP_ARCHITECTURES["typed-queries"][0])["embed_dim"])
    bias = torch.nn.Parameter(torch.tensor(CALIBRATION_BIAS))
    optimizer = clip_optimizer(model, [*heads.parameters(), bias])
    weights = CLIP_EXTRA_LOSSES

    def step_loss(step: int) -> torch.Tensor:
        scenes, queries, truth, pairs = typed_query_batch(rng)
        texts = [q.text for q in queries]
        image_features, text_features, logit_scale = model(render_batch(scenes, preprocess), tokenizer(texts))
        truth, own = torch.from_numpy(truth), torch.from_numpy(description_truth(texts, scenes))
        logits = logit_scale * text_features @ image_features.T
        return (multi_positive_clip_loss(logits, truth, own, image_candidates=own.any(1))
                + weights["hard texts"] * hard_text_loss(logits, truth, pairs)
                + weights["calibration"] * calibration_loss(logits, truth, bias)
                + weights["match pairs"] * match_pair_loss(logits, truth, pairs, bias)
                + weights["layout"] * layout_loss(heads, image_features, text_features, scenes, queries))

    return run_steps(model, optimizer, steps, CLIP_LR, step_loss, desc="training tiny CLIP", progress=progress,
                     after_step=clamp_temperature(model))


#: recipe -> its training function
CLIP_TRAINERS = {"descriptions": train_descriptions, "typed-queries": train_typed_queries}


def train_tiny_clip(output_dir: str | Path | None = None, steps: int | None = None, seed: int = 0, *,
                    progress: bool = True, n_eval: int = 720, overwrite_shipped: bool = False,
                    recipe: str | None = None) -> dict[str, Any]:
    """Train the embedded tiny CLIP on the grounding world and save it.

    open_clip architecture ``grounding_kit/configs/<name>.json`` of the recipe
    (:data:`CLIP_ARCHITECTURES`), word-level vocabulary fitted on
    :func:`~grounding_kit.world.texts.world_texts`, fresh 64 px scenes (the evaluation transform, no
    augmentation), AdamW with warm-up and cosine decay, on one CPU thread
    (:func:`~grounding_kit.core.threads.single_thread`, the previous count restored afterwards).

    Parameters
    ----------
    output_dir : checked before training (:func:`~grounding_kit.core.paths.check_output_dir`): a new
        or empty folder, or a previous training output; the shipped folder (the default when None)
        only with ``overwrite_shipped=True``.
    steps : >= 1 (default :data:`CLIP_STEPS` of the recipe).
    recipe : one of :data:`CLIP_TRAINERS` (:func:`train_descriptions`, :func:`train_typed_queries`);
        None is the shipped model's recipe, read from its ``training.json``.

    Writes ``training.json`` and the model card ``README.md`` rendered from it beside the weights, an
    open_clip ``local-dir`` folder (``open_clip_config.json`` + ``model.safetensors`` + ``vocab.json``,
    :func:`~grounding_kit.models.clip.save_open_clip_folder`) that ``load_clip`` reads.

    Returns
    -------
    dict: version, recipe, architecture, steps, seconds (wall), cpu_seconds, the quality figures of
    :func:`evaluate_clip` and :func:`~grounding_kit.world.queries.evaluate_queries` on fresh
    samples, parameters, size_bytes, output_dir.

    Raises
    ------
    ValueError for an unknown recipe, steps < 1, a bad seed or output folder (as ``check_output_dir``).
    """
    if recipe is None:
        recipe = shipped_clip_recipe()
    check_choice("recipe", recipe, tuple(CLIP_TRAINERS))
    steps = CLIP_STEPS[recipe] if steps is None else check_positive_int("steps", steps)
    seed = seed_int(seed)
    # checked before training: a bad destination must not cost the trained model
    out = check_output_dir(output_dir, embedded_path(TINY_CLIP), overwrite_shipped=overwrite_shipped)

    import open_clip

    from grounding_kit.models.clip import _from_open_clip, register_tiny_config, save_open_clip_folder
    from grounding_kit.models.tokenizer import WordTokenizer
    from grounding_kit.world.queries import evaluate_queries
    from grounding_kit.world.texts import world_texts

    typed = recipe == "typed-queries"
    with single_thread():
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        arch = register_tiny_config(CLIP_ARCHITECTURES[recipe][0])
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
        text_cfg = open_clip.get_model_config(arch)["text_cfg"]
        tokenizer = WordTokenizer.fit(world_texts(seed, queries=typed), text_cfg["vocab_size"],
                                      text_cfg["context_length"])
        seconds, cpu_seconds = CLIP_TRAINERS[recipe](model, preprocess, tokenizer, rng, steps, progress)

        save_open_clip_folder(out, model, open_clip.get_model_config(arch), tokenizer)
        clip = _from_open_clip(TINY_CLIP, model, preprocess, tokenizer, torch.device("cpu"))
        summary = {"version": CLIP_RECIPES[recipe][0], "recipe": recipe, "architecture": arch, "steps": steps,
                   "seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
                   **evaluate_clip(clip, n=n_eval), "queries": evaluate_queries(clip),
                   "unknown_words": tokenizer.unknown_words(world_texts(seed + 1, queries=typed)),
                   "parameters": sum(p.numel() for p in model.parameters()),
                   "size_bytes": folder_size(out), "seed": seed}
    write_record(out, summary, TINY_CLIP)
    write_clip_card(out)
    return {**summary, "output_dir": str(out)}


@torch.no_grad()
def evaluate_clip(clip: Any, n: int = 720, seed: int = EVAL_SEED) -> dict[str, float]:
    """Zero-shot quality of a CLIP on ``n`` fresh single-object scenes of the world.

    ``caption_accuracy``: the true caption ranks first among all 36 template captions.
    ``color_accuracy`` / ``shape_accuracy`` / ``size_accuracy``: the attribute with the highest
    probability, where an attribute's probability is the softmax mass of the captions that name
    it (the 36-way softmax marginalised). ``match_auc``: :func:`match_auc`.
    """
    from grounding_kit.world import COLORS, SHAPES, SIZES, caption_templates, render_scene, single_object_scene

    rng = np.random.default_rng(seed)
    truth = rng.integers(len(caption_templates()), size=n)
    images = [render_scene(single_object_scene(rng, int(i))) for i in truth]
    probs = clip.similarity(caption_templates(), images).T.softmax(dim=-1)  # (n, 36)
    grid = probs.reshape(n, len(SIZES), len(COLORS), len(SHAPES))
    size_t, rest = np.divmod(truth, len(COLORS) * len(SHAPES))
    color_t, shape_t = np.divmod(rest, len(SHAPES))

    def accuracy(predicted: torch.Tensor, target: np.ndarray) -> float:
        return round(float((predicted.numpy() == target).mean()), 4)

    return {"caption_accuracy": accuracy(probs.argmax(-1), truth),
            "color_accuracy": accuracy(grid.sum((1, 3)).argmax(-1), color_t),
            "shape_accuracy": accuracy(grid.sum((1, 2)).argmax(-1), shape_t),
            "size_accuracy": accuracy(grid.sum((2, 3)).argmax(-1), size_t),
            "match_auc": match_auc(clip, n=n, seed=seed), "eval_n": n, "eval_seed": seed}


@torch.no_grad()
def match_auc(clip: Any, n: int = 720, seed: int = EVAL_SEED) -> float:
    """Zero-shot ROC AUC of CLIP's cosine on ``n`` fresh rows of the world's ``match`` task
    (does the description fit the image, or an image with one attribute of one object changed?)."""
    from sklearn.metrics import roc_auc_score

    from grounding_kit.world import make_task

    ds = make_task("match", n=n, seed=seed, cache=False)
    cosine = (clip.encode_texts(list(ds["text"])) * clip.encode_images(ds["image"])).sum(1)
    return round(float(roc_auc_score(np.asarray(ds["label"]), cosine.numpy())), 4)
