"""Training recipes of the embedded tiny models (``grounding-kit train tiny-clip|tiny-vqa``).

Both are deterministic for a given seed (single process, fixed thread count, seeded data) and
write safetensors weights plus a ``training.json`` record of the recipe and the measured quality.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from grounding_kit.core.paths import check_output_dir
from grounding_kit.core.validation import check_choice, check_positive_int, seed_int
from grounding_kit.models.cards import write_model_card
from grounding_kit.models.registry import TINY_CLIP, TINY_VQA, embedded_path

THREADS = 1  # one thread: faster than two on a shared 2-core machine, and reproducible
CLIP_STEPS = {"descriptions": 2500, "typed-queries": 3000}  # recipe -> training steps
CLIP_MULTI_PER_BATCH = 28  # multi-object scenes per batch, next to one scene per template caption
CLIP_QUERIES_PER_BATCH = 54  # typed queries per batch, each with a hard-negative image and text
# the kinds of the typed queries in turn: two-object and left/right queries, the hardest, twice as often
CLIP_QUERY_MIX = ("single", "two", "left_right", "count", "two", "left_right")
CLIP_LR = 2e-3
# the typed-query recipe's terms beside the contrastive loss, and their weights
CLIP_EXTRA_LOSSES = {"hard texts": 1.0, "calibration": 3.0, "match pairs": 1.0, "layout": 1.0}
CALIBRATION_BIAS = -5.0  # the calibration term's initial bias: most text-image pairs of a batch are false
# the layout heads read unit embeddings times this: on unit rows a linear head's logits start near 0
# and grow too slowly to fit (measured: a vision tower trained on the layout targets alone ends at
# BCE 0.227 against the prior's 0.250 at scale 1, and 0.094 at scale 16)
LAYOUT_SCALE = 16.0
# recipe -> its open_clip architecture (`grounding_kit/configs/<name>.json`) and that in words
CLIP_ARCHITECTURES: dict[str, tuple[str, str]] = {
    "descriptions": ("tiny-shapes-v1", "ViT 2 layers, width 64, 8 px patches on 64 px images"),
    "typed-queries": ("tiny-shapes", "CLIP's modified ResNet, one bottleneck block per stage, base width 8, "
                                     "on 64 px images: a 2 x 2 grid of features, attention-pooled"),
}
_CLIP_MODEL = """An open_clip CLIP (`grounding_kit/configs/{arch}.json`: {vision}; text transformer 2 layers,
width 64; joint space of 64) with a word-level vocabulary, trained from random weights by
`grounding-kit train tiny-clip` (`grounding_kit.models.training`, recipe {recipe!r}).
"""
_CLIP_COMMON = f"""- AdamW (lr {CLIP_LR}, weight decay 0.1 on matrices), 5% warm-up then cosine decay, one CPU thread.
- Deterministic for a seed; shipped with seed 0.
- Knows only the shapes world: 3 shapes, 6 colours, 2 sizes, a few dozen words.
"""
# recipe -> (version, description); "typed-queries" is the shipped one (version 2)
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
CLIP_RECIPE = "typed-queries"  # the shipped recipe (version 2)
EVAL_SEED = 10_000  # far from the training streams: a fresh sample of the world
BACKGROUNDS = ("white", "gray")


def folder_size(folder: Path) -> int:
    """Total bytes of the files in ``folder``."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


def _lr_at(step: int, steps: int, peak: float) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to zero."""
    warmup = max(1, steps // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    return 0.5 * peak * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


# --- tiny CLIP ---------------------------------------------------------------------------------

def single_object_scene(rng: np.random.Generator, caption_index: int) -> Any:
    """A one-object scene whose caption is ``caption_templates()[caption_index]``."""
    from grounding_kit.world import SHAPES, COLORS, SIZES, sample_scene

    size, rest = divmod(caption_index, len(COLORS) * len(SHAPES))
    color, shape = divmod(rest, len(SHAPES))
    scene = sample_scene(rng, 1, background=BACKGROUNDS[rng.integers(len(BACKGROUNDS))])
    obj = replace(scene.objects[0], shape=SHAPES[shape], color=COLORS[color], size=SIZES[size])
    return replace(scene, objects=(obj,))


def description_batch(rng: np.random.Generator) -> tuple[list[Any], list[str], np.ndarray]:
    """One batch of the ``"descriptions"`` recipe: each of the 36 template captions once (no
    duplicate captions, so no false negatives in the contrastive loss) plus multi-object scenes
    with their descriptions; the truth is the identity (scene i is described by text i)."""
    from grounding_kit.world import caption_templates, describe, sample_scene

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
    from grounding_kit.world import caption_templates, sample_scene
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


def multi_positive_clip_loss(logits: torch.Tensor, truth: torch.Tensor,
                             image_truth: torch.Tensor | None = None,
                             image_candidates: torch.Tensor | None = None) -> torch.Tensor:
    """CLIP's symmetric contrastive loss when a text may hold for several images (and an image
    satisfy several texts): cross-entropy against the truth spread evenly over the positives.

    Parameters
    ----------
    logits : (Nt, Ni) with ``logits[i, j] = s * cos(t_i, v_j)``.
    truth : (Nt, Ni) bool, the positives of the text-to-image direction; rows (texts) or columns
        (images) without a positive are left out of their direction.
    image_truth : (Nt, Ni) bool, the positives of the image-to-text direction (default ``truth``).
    image_candidates : (Nt,) bool, the texts an image is scored against in the image-to-text
        direction (default all). The typed-query recipe keeps its partial queries out of it: a
        query true of an image is then never one of that image's negatives.
    """
    image_truth = truth if image_truth is None else image_truth
    image_scores, image_target = logits.T, image_truth.float().T
    if image_candidates is not None:
        image_scores, image_target = image_scores[:, image_candidates], image_target[:, image_candidates]
    losses = []
    for scores, target in ((logits, truth.float()), (image_scores, image_target)):
        keep = target.sum(1) > 0
        target = target[keep] / target[keep].sum(1, keepdim=True)
        losses.append(torch.nn.functional.cross_entropy(scores[keep], target))
    return (losses[0] + losses[1]) / 2


def description_truth(texts: list[str], scenes: list[Any]) -> np.ndarray:
    """(Nt, Ns) bool, ``texts[i] == describe(scenes[j])``: an image's positives in the typed-query
    recipe's image-to-text direction are its exact whole-scene descriptions, so that an image is
    not spread evenly over every partial query it satisfies (the text-to-image direction keeps the
    full truth of :func:`typed_query_batch`)."""
    from grounding_kit.world import describe

    descriptions = np.array([describe(s) for s in scenes], dtype=object)
    return np.array(texts, dtype=object)[:, None] == descriptions[None, :]


def hard_text_loss(logits: torch.Tensor, truth: torch.Tensor, pairs: np.ndarray) -> torch.Tensor:
    """Each typed query against its hard-negative text (one attribute, number or relation changed)
    on the scene it was drawn from: a two-way cross-entropy that asks the query to score higher.
    In-batch negatives are mostly easy; this term names the one change that makes a text false.

    logits : (Nt, Ni); truth : (Nt, Ni) bool; pairs : (P, 3 or more) rows of (query, hard-negative
    text, scene, ...) indices (:func:`typed_query_batch`). Pairs whose changed text still holds for the scene
    (e.g. "a blue object" of a scene with a red and a blue one) are left out.
    """
    query, negative, scene = (torch.from_numpy(column) for column in np.asarray(pairs)[:, :3].T)
    valid = truth[query, scene] & ~truth[negative, scene]
    scores = torch.stack([logits[query, scene], logits[negative, scene]], 1)[valid]
    return torch.nn.functional.cross_entropy(scores, torch.zeros(len(scores), dtype=torch.long))


def calibration_loss(logits: torch.Tensor, truth: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """SigLIP's sigmoid loss on every text-image pair of the batch: ``logits + bias`` is the log-odds
    that the text holds for the image. The softmax losses only rank; this term puts true pairs
    above one threshold for every text, so that a description of one object and one of two
    objects are scored on one scale.

    logits : (Nt, Ni); truth : (Nt, Ni) bool; bias : a learned scalar.
    """
    return torch.nn.functional.binary_cross_entropy_with_logits(logits + bias, truth.float())


def match_pair_loss(logits: torch.Tensor, truth: torch.Tensor, pairs: np.ndarray, bias: torch.Tensor) -> torch.Tensor:
    """The sigmoid loss of :func:`calibration_loss` on the match task's kind of pair only: each
    drawn scene and its hard-negative image (one change), each against both whole descriptions.
    Among all the batch's pairs these few are drowned by easy negatives; on their own they ask
    for one threshold between a description's scene and a one-change edit of it, whatever the
    number of objects (the zero-shot match AUC).

    logits : (Nt, Ni); truth : (Nt, Ni) bool; pairs : (P, 4) of :func:`typed_query_batch`, whose
    scene columns are also their descriptions' rows; bias : the calibration bias.
    """
    scene, negative = (torch.from_numpy(column) for column in np.asarray(pairs)[:, 2:4].T)
    rows, columns = torch.cat([scene, negative, scene, negative]), torch.cat([scene, negative, negative, scene])
    return calibration_loss(logits[rows, columns], truth[rows, columns], bias)


IGNORED = -100  # cross-entropy's ignore_index: no target for this row
_COUNT_CLASSES = 5  # 0 to 4 objects


def _relation_classes() -> tuple[int, ...]:
    """Classes of each :func:`relation_targets` entry: left colour, left shape, right colour,
    right shape (each one more than the options: 0 = not named)."""
    from grounding_kit.world import COLORS, SHAPES

    return (1 + len(COLORS), 1 + len(SHAPES)) * 2


def layout_targets(scene: Any) -> tuple[np.ndarray, np.ndarray]:
    """The training-only image targets of one scene: (2 * 6 * 3,) float, 1 where the scene has an
    object of that colour and shape in that grid column (index ``(column * 6 + colour) * 3 +
    shape``), and (4,) int, the number of circles, squares, triangles and objects."""
    from grounding_kit.world import COLORS, SHAPES

    present = np.zeros((2, len(COLORS), len(SHAPES)), dtype=np.float32)
    for obj in scene.objects:
        present[obj.column, COLORS.index(obj.color), SHAPES.index(obj.shape)] = 1
    counts = [sum(o.shape == shape for o in scene.objects) for shape in SHAPES] + [len(scene.objects)]
    return present.reshape(-1), np.array(counts)


def relation_targets(query: Any) -> np.ndarray:
    """The training-only text targets of one query, (4,) int: for a left/right query the colour
    and shape of its left-column referent, then of its right-column one (0 = not named, else
    1 + the index in ``COLORS`` / ``SHAPES``); :data:`IGNORED` for the other kinds."""
    from grounding_kit.world import COLORS, SHAPES

    if query.kind != "left_right":
        return np.full(4, IGNORED)
    left, right = query.referents if query.relation == "left" else query.referents[::-1]
    return np.array([0 if value is None else 1 + options.index(value)
                     for referent in (left, right)
                     for value, options in ((referent.color, COLORS), (referent.shape, SHAPES))])


def layout_heads(embed_dim: int) -> torch.nn.ModuleDict:
    """The linear heads of :func:`layout_loss` (trained with the CLIP, not saved with it)."""
    from grounding_kit.world import COLORS, SHAPES

    return torch.nn.ModuleDict({
        "layout": torch.nn.Linear(embed_dim, 2 * len(COLORS) * len(SHAPES)),
        "counts": torch.nn.Linear(embed_dim, 4 * _COUNT_CLASSES),
        "relation": torch.nn.Linear(embed_dim, sum(_relation_classes()))})


def layout_loss(heads: torch.nn.ModuleDict, image_features: torch.Tensor, text_features: torch.Tensor,
                scenes: list[Any], queries: list[Any]) -> torch.Tensor:
    """The typed-query recipe's training-only layout loss: which colour and shape sits in which
    grid column and how many of each shape, read linearly from each image embedding
    (:func:`layout_targets`), and which referent a left/right query puts in which column, read
    from its text embedding (:func:`relation_targets`). Without it the contrastive loss alone
    leaves a scene and its mirror image at cosine 0.99 and left/right queries at chance.

    image_features : (Ns, D) unit rows of ``scenes``; text_features : (Nt, D) unit rows of ``queries``.
    """
    cross_entropy = torch.nn.functional.cross_entropy
    image_features, text_features = LAYOUT_SCALE * image_features, LAYOUT_SCALE * text_features
    present, counts = (torch.from_numpy(np.stack(t)) for t in zip(*map(layout_targets, scenes)))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(heads["layout"](image_features), present)
    loss = loss + cross_entropy(heads["counts"](image_features).reshape(-1, _COUNT_CLASSES), counts.reshape(-1))
    relations = torch.from_numpy(np.stack([relation_targets(q) for q in queries]))
    if (relations[:, 0] != IGNORED).any():
        parts = heads["relation"](text_features).split(_relation_classes(), dim=1)
        loss = loss + sum(cross_entropy(part, relations[:, k], ignore_index=IGNORED) for k, part in enumerate(parts))
    return loss


def world_texts(seed: int = 0, queries: bool = False) -> list[str]:
    """Every kind of text the world produces (captions, scene descriptions, task texts, and with
    ``queries`` the typed queries): the tiny CLIP's vocabulary is fit on them."""
    from grounding_kit.world import caption_templates, describe, make_task, sample_scenes
    from grounding_kit.world.queries import example_texts

    texts = caption_templates() + (example_texts() if queries else [])
    texts += [describe(s) for s in sample_scenes(500, seed=seed)]
    for task in ("additive", "match", "mixed", "vqa"):
        texts += list(make_task(task, n=300, seed=seed)["text"])
    return texts


def train_tiny_clip(output_dir: str | Path | None = None, steps: int | None = None, seed: int = 0, *,
                    progress: bool = True, n_eval: int = 720, overwrite_shipped: bool = False,
                    recipe: str = CLIP_RECIPE) -> dict[str, Any]:
    """Train the embedded tiny CLIP on the grounding world and save it.

    open_clip architecture ``grounding_kit/configs/<name>.json`` of the recipe
    (:data:`CLIP_ARCHITECTURES`), word-level vocabulary, fresh 64 px scenes (the evaluation
    transform, no augmentation), AdamW with warm-up and cosine decay, ``THREADS`` CPU thread(s).
    ``recipe`` (:data:`CLIP_RECIPES`): ``"typed-queries"`` (the shipped version 2, a modified
    ResNet: :func:`typed_query_batch`, typed queries and their hard negatives, under
    :func:`multi_positive_clip_loss` plus the :data:`CLIP_EXTRA_LOSSES`: :func:`hard_text_loss`,
    :func:`calibration_loss`, :func:`match_pair_loss` and the training-only :func:`layout_loss`) or
    ``"descriptions"`` (version 1, a ViT: :func:`description_batch` under open_clip's ``ClipLoss``).
    Writes the model card ``README.md`` (:mod:`~grounding_kit.models.cards`) beside the weights. Saved as an
    open_clip ``local-dir`` folder (``open_clip_config.json`` + ``model.safetensors`` + ``vocab.json``,
    :func:`~grounding_kit.models.clip.save_open_clip_folder`), which ``load_clip`` reads.

    ``output_dir`` is checked before training (:func:`~grounding_kit.core.paths.check_output_dir`): a
    new or empty folder, or a previous training output. The shipped folder (the default when
    None) only with ``overwrite_shipped=True``. ``steps`` >= 1.

    Returns
    -------
    dict: version, steps, seconds (wall), cpu_seconds, the quality figures of
    :func:`evaluate_clip` and :func:`~grounding_kit.world.queries.evaluate_queries` on fresh
    samples, parameters, size_bytes, output_dir.
    """
    check_choice("recipe", recipe, tuple(CLIP_RECIPES))
    steps = CLIP_STEPS[recipe] if steps is None else check_positive_int("steps", steps)
    seed = seed_int(seed)
    version, recipe_text = CLIP_RECIPES[recipe]
    typed = recipe == "typed-queries"
    # checked before training: a bad destination must not cost the trained model
    out = check_output_dir(output_dir, embedded_path(TINY_CLIP), overwrite_shipped=overwrite_shipped)

    import open_clip

    from grounding_kit.world import render_scene
    from grounding_kit.models.clip import _from_open_clip, register_tiny_config, save_open_clip_folder
    from grounding_kit.world.queries import evaluate_queries
    from grounding_kit.models.tokenizer import WordTokenizer

    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    arch = register_tiny_config(CLIP_ARCHITECTURES[recipe][0])
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    text_cfg = open_clip.get_model_config(arch)["text_cfg"]
    tokenizer = WordTokenizer.fit(world_texts(seed, queries=typed), text_cfg["vocab_size"], text_cfg["context_length"])
    clip_loss = open_clip.ClipLoss()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "embedding" in n]
    if typed:  # training-only parameters, not saved: the layout heads and the calibration bias
        heads = layout_heads(open_clip.get_model_config(arch)["embed_dim"])
        bias = torch.nn.Parameter(torch.tensor(CALIBRATION_BIAS))
        no_decay += [*heads.parameters(), bias]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=CLIP_LR)
    start, cpu_start = time.perf_counter(), time.process_time()
    model.train()
    bar = tqdm(range(steps), desc="training tiny CLIP", disable=not progress)
    for step in bar:
        if typed:
            scenes, queries, truth, pairs = typed_query_batch(rng)
            texts = [q.text for q in queries]
        else:
            scenes, texts, truth = description_batch(rng)
        images = torch.stack([preprocess(render_scene(s)) for s in scenes])
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, steps, CLIP_LR)
        image_features, text_features, logit_scale = model(images, tokenizer(texts))
        if typed:
            truth, own = torch.from_numpy(truth), torch.from_numpy(description_truth(texts, scenes))
            logits = logit_scale * text_features @ image_features.T
            weights = CLIP_EXTRA_LOSSES
            loss = (multi_positive_clip_loss(logits, truth, own, image_candidates=own.any(1))
                    + weights["hard texts"] * hard_text_loss(logits, truth, pairs)
                    + weights["calibration"] * calibration_loss(logits, truth, bias)
                    + weights["match pairs"] * match_pair_loss(logits, truth, pairs, bias)
                    + weights["layout"] * layout_loss(heads, image_features, text_features, scenes, queries))
        else:  # one positive each, on the diagonal
            loss = clip_loss(image_features, text_features, logit_scale)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():  # as in CLIP: keep the temperature below 100
            model.logit_scale.clamp_(0, math.log(100))
        if step % 25 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    model.eval()

    save_open_clip_folder(out, model, open_clip.get_model_config(arch), tokenizer)
    clip = _from_open_clip(TINY_CLIP, model, preprocess, tokenizer, torch.device("cpu"))
    summary = {"version": version, "recipe": recipe, "steps": steps, "seconds": round(seconds, 1),
               "cpu_seconds": round(cpu_seconds, 1), **evaluate_clip(clip, n=n_eval),
               "queries": evaluate_queries(clip), "unknown_words": tokenizer.unknown_words(world_texts(seed + 1, queries=typed)),
               "parameters": sum(p.numel() for p in model.parameters()),
               "size_bytes": folder_size(out), "seed": seed}
    (out / "training.json").write_text(json.dumps(summary, indent=1))
    write_model_card(out, f"{TINY_CLIP}: the embedded tiny CLIP, version {version}",
                     _CLIP_MODEL.format(recipe=recipe, arch=CLIP_ARCHITECTURES[recipe][0],
                                       vision=CLIP_ARCHITECTURES[recipe][1]) + recipe_text + _CLIP_COMMON)
    return {**summary, "output_dir": str(out)}


@torch.no_grad()
def evaluate_clip(clip: Any, n: int = 720, seed: int = EVAL_SEED) -> dict[str, float]:
    """Zero-shot quality of a CLIP on ``n`` fresh single-object scenes of the world.

    ``caption_accuracy``: the true caption ranks first among all 36 template captions.
    ``color_accuracy`` / ``shape_accuracy`` / ``size_accuracy``: the attribute with the highest
    probability, where an attribute's probability is the softmax mass of the captions that name
    it (the 36-way softmax marginalised). ``match_auc``: :func:`match_auc`.
    """
    from grounding_kit.world import COLORS, SHAPES, SIZES, caption_templates, render_scene

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


# --- tiny VQA (ViLT) ---------------------------------------------------------------------------

VQA_STEPS = 10000
VQA_CHUNK_N = 2000  # questions per freshly drawn chunk of training data (about twice as many rows rebalanced)
VQA_PASSES = 3  # passes over a chunk before the next fresh one is drawn
VQA_BATCH = 32
VQA_LR = 7e-4
# A small ViLT whose 32 px patches on 64 px images are exactly the cells of the world's 2 x 2 grid:
# each image token sees one whole object (or an empty cell), so one layer less is spent assembling
# objects from patches. Four layers to bind a question's words to a cell; no dropout (fresh data
# every few hundred steps, nothing to overfit). Left/right questions: version 1, trained on the
# answers alone, stayed at chance (loss ln 2 throughout; 0.49 on a fresh balanced sample), also on
# left/right questions alone for 3000 steps and with a column loss on the pooled output alone.
# The answer is an XOR (the first referent's column, flipped by "right"): no single part of it
# predicts the answer, so the answer loss gives no gradient towards any part. Version 2 adds two
# training-only grounding losses that each reward one part (measured on left/right questions
# alone, 1,500 steps: a column loss alone, or with cell classes that name the referent but not its
# column, stays at ln 2 with the answer loss; with the column in the cell classes the column loss
# falls to 0.01 by step 900 and the answer loss leaves ln 2 at step 1,100, 0.04 by step 1,300).
VQA_CONFIG: dict[str, Any] = {"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
                              "intermediate_size": 256, "image_size": 64, "patch_size": 32,
                              "max_position_embeddings": 16, "hidden_dropout_prob": 0.0,
                              "attention_probs_dropout_prob": 0.0}
VQA_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VQA_VERSION = 2
VQA_GROUNDING_WEIGHT = 1.0  # weight of each training-only grounding loss next to the answer loss
#: classes of the cell loss: what each grid cell holds for the question (its first or second
#: referent, in the left or right column; another object; nothing). Index 2 * referent + column.
CELL_CLASSES = ("first referent, left", "first referent, right", "second referent, left",
                "second referent, right", "other object", "empty")
VQA_V1_BY_TYPE = {"color": 0.8913, "count": 1.0, "exists": 0.9559, "left_right": 0.4896, "shape": 0.9923}
VQA_V1_ACCURACY = 0.8694  # version 1 (answer loss only, 10,000 steps, 706 s), eval seed 10,000, 2,014 rows
_VQA_RECIPE = f"""A transformers `ViltForQuestionAnswering` (hidden 128, 4 layers, 4 heads, MLP 256, no dropout;
32 px patches on 64 px images, so each image token is one cell of the world's 2 x 2 grid) with a
word-level `BertTokenizer` over every word of the world's questions, trained from random weights by
`grounding-kit train tiny-vqa` (`grounding_kit.models.training.train_tiny_vqa`).

- Data: fresh chunks of the world's `vqa` task (all five question types, `prior=0`), each rebalanced
  with complementary images (`gk.rebalance`), {VQA_CHUNK_N} questions per chunk, {VQA_PASSES} passes per chunk, batches of {VQA_BATCH}.
- Loss: cross-entropy over the answers, plus two training-only grounding losses (weight
  {VQA_GROUNDING_WEIGHT} each), read by linear heads that are not saved: the *cell loss* (from each image token's last
  state: which question referent the cell holds and in which column, `CELL_CLASSES`) and the
  *column loss* (from the pooled output, left/right questions only: the first referent's column).
  Without them left/right stays at chance (version 1).
- AdamW (lr {VQA_LR}, weight decay 0.01), 5% warm-up then cosine decay, one CPU thread.
- Deterministic for a seed; shipped with seed 0.
- Knows only the shapes world: 3 shapes, 6 colours, 2 sizes, five question types.
"""


def question_words(questions: list[str] | None = None) -> list[str]:
    """The sorted words and punctuation of ``questions`` (default: every question the world's
    templates can word, so that the tokenizer knows every word of every question type)."""
    if questions is None:
        questions = all_questions()
    return sorted({token for q in questions for token in re.findall(r"\w+|[^\w\s]", q.lower())})


def all_questions() -> list[str]:
    """Every question of the world's vqa task, each question type over all its referents."""
    from itertools import permutations, product

    from grounding_kit.world import COLORS, SHAPES
    from grounding_kit.world.vqa import question_text

    objects = [{"color": c, "shape": s} for c, s in product(COLORS, SHAPES)]
    specs = [{"type": "color", "shape": s} for s in SHAPES] + [{"type": "shape", "color": c} for c in COLORS]
    specs += [{"type": "count"}] + [{"type": "exists", **o} for o in objects]
    specs += [{"type": "left_right", "a": a, "b": b, "relation": r}
              for a, b in permutations(objects, 2) for r in ("left", "right")]
    return [question_text(spec) for spec in specs]


def tiny_vilt(questions: list[str] | None, answers: list[str]) -> tuple[Any, Any]:
    """A randomly initialised small ViLT VQA model (:data:`VQA_CONFIG`) and its processor, offline.

    The tokenizer is a word-level ``BertTokenizer`` over :func:`question_words` of ``questions``
    (default: all the world's questions). The image processor keeps the 64 px images as they are
    (no resize, crop or flip), so the patches are the grid cells.
    """
    from transformers import BertTokenizer, ViltConfig, ViltForQuestionAnswering, ViltImageProcessor, \
        ViltProcessor

    vocab = {token: i for i, token in enumerate(VQA_SPECIAL_TOKENS + question_words(questions))}
    tokenizer = BertTokenizer(vocab=vocab)
    image_processor = ViltImageProcessor(size={"shortest_edge": 64}, size_divisor=32, do_pad=True)
    processor = ViltProcessor(image_processor=image_processor, tokenizer=tokenizer)
    config = ViltConfig(vocab_size=len(vocab), **VQA_CONFIG, num_labels=len(answers),
                        id2label=dict(enumerate(answers)), label2id={a: i for i, a in enumerate(answers)},
                        problem_type="single_label_classification")
    return ViltForQuestionAnswering(config), processor


def _referent(spec: dict, obj: Any) -> int | None:
    """0 if ``obj`` is the question's (first) referent, 1 if it is a left/right question's second one."""
    kind = spec["type"]
    if kind == "left_right":
        pair = {"color": obj.color, "shape": obj.shape}
        return 0 if pair == spec["a"] else 1 if pair == spec["b"] else None
    if kind == "color" and obj.shape == spec["shape"] or kind == "shape" and obj.color == spec["color"] \
            or kind == "exists" and (obj.color, obj.shape) == (spec["color"], spec["shape"]):
        return 0
    return None


def grounding_targets(spec: dict, objects: list[dict]) -> tuple[list[int], int]:
    """The training-only targets of one vqa row: the :data:`CELL_CLASSES` index of each grid cell
    (cell = column + 2 * row) and the column of a left/right question's first referent
    (:data:`IGNORED` for the other question types)."""
    from grounding_kit.world.scenes import MAX_OBJECTS, Scene, cell_of

    cells, column = [CELL_CLASSES.index("empty")] * MAX_OBJECTS, IGNORED
    for obj in Scene.from_dicts(objects).objects:
        role = _referent(spec, obj)
        cells[cell_of(obj)] = CELL_CLASSES.index("other object") if role is None else 2 * role + obj.column
        if role == 0 and spec["type"] == "left_right":
            column = obj.column
    return cells, column


def vqa_batches(vqa: Any, seed: int, n: int = VQA_CHUNK_N, passes: int = VQA_PASSES,
                batch_size: int = VQA_BATCH) -> Iterator[tuple[torch.Tensor, ...]]:
    """An endless, seeded stream of training batches ``(input_ids (B, L), pixels (B, 4, H, W),
    labels (B,), cells (B, 4), columns (B,))`` from fresh chunks of the rebalanced vqa task: ``n``
    questions per chunk (seeds far from :data:`EVAL_SEED`), each chunk shuffled and seen ``passes``
    times. ``cells`` and ``columns`` are the :func:`grounding_targets`."""
    from grounding_kit.world import make_task, rebalance

    generator = torch.Generator().manual_seed(seed)
    for chunk in itertools.count():
        chunk_seed = 1_000_000 * (seed + 1) + chunk
        ds = rebalance(make_task("vqa", n=n, seed=chunk_seed, cache=False), seed=chunk_seed, cache=False)
        inputs = vqa.pair_inputs(ds["image"], list(ds["text"]))
        labels = torch.as_tensor(ds["label"])
        targets = [grounding_targets(json.loads(spec), json.loads(objects))
                   for spec, objects in zip(ds["question_spec"], ds["objects"])]
        cells = torch.tensor([t[0] for t in targets])
        columns = torch.tensor([t[1] for t in targets])
        order = torch.cat([torch.randperm(len(labels), generator=generator) for _ in range(passes)])
        for start in range(0, len(order) - batch_size + 1, batch_size):
            rows = order[start:start + batch_size]
            yield inputs.text[rows], inputs.image[rows], labels[rows], cells[rows], columns[rows]


def vqa_loss(vqa: Any, heads: torch.nn.ModuleDict, ids: torch.Tensor, pixels: torch.Tensor, labels: torch.Tensor,
             cells: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """Answer cross-entropy plus :data:`VQA_GROUNDING_WEIGHT` times each grounding loss: the cell
    loss (``heads["cell"]`` on each image token, target the class of the cell it holds) and the
    column loss (``heads["column"]`` on the pooled output, left/right rows only)."""
    cross_entropy = torch.nn.functional.cross_entropy
    logits, pooled, tokens, patches = vqa.pair_model.batch_outputs(ids, pixels)
    grid = int(math.isqrt(cells.shape[1]))
    token_cells = cells.gather(1, patches[..., 0] * grid + patches[..., 1])  # (B, P): the class of each token's cell
    loss = cross_entropy(logits, labels)
    loss = loss + VQA_GROUNDING_WEIGHT * cross_entropy(heads["cell"](tokens).flatten(0, 1), token_cells.flatten())
    if (columns != IGNORED).any():  # a batch without left/right rows has no column target
        loss = loss + VQA_GROUNDING_WEIGHT * cross_entropy(heads["column"](pooled), columns, ignore_index=IGNORED)
    return loss


def train_tiny_vqa(output_dir: str | Path | None = None, steps: int | None = None, seed: int = 0, *,
                   progress: bool = True, n_train: int = VQA_CHUNK_N, n_eval: int = 1000,
                   overwrite_shipped: bool = False) -> dict[str, Any]:
    """Train the embedded tiny ViLT on the world's rebalanced ``vqa`` task and save it.

    :func:`tiny_vilt` from random weights; :func:`vqa_loss`: cross-entropy over the answers (each
    question has exactly one) plus two training-only grounding losses read by linear heads that are
    not saved; AdamW with warm-up and cosine decay, batches of 32 from fresh chunks of ``n_train``
    questions (:func:`vqa_batches`), one CPU thread. ``seconds`` counts the data generation inside
    the loop. Writes the model card ``README.md`` beside the weights. ``output_dir``,
    ``overwrite_shipped`` and ``steps`` as for :func:`train_tiny_clip`.

    Returns
    -------
    dict: version, steps, seconds (wall), cpu_seconds, accuracy on a fresh rebalanced sample
    (overall and per question type), parameters, size_bytes, output_dir.
    """
    from grounding_kit.world import VQA_ANSWERS
    from grounding_kit.models.vqa import wrap_vilt

    steps = VQA_STEPS if steps is None else check_positive_int("steps", steps)
    seed = seed_int(seed)
    out = check_output_dir(output_dir, embedded_path(TINY_VQA), overwrite_shipped=overwrite_shipped)
    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    model, processor = tiny_vilt(None, list(VQA_ANSWERS))
    vqa = wrap_vilt(TINY_VQA, model, processor, torch.device("cpu"))
    hidden = model.config.hidden_size
    heads = torch.nn.ModuleDict({"cell": torch.nn.Linear(hidden, len(CELL_CLASSES)), "column": torch.nn.Linear(hidden, 2)})
    optimizer = torch.optim.AdamW([*model.parameters(), *heads.parameters()], lr=VQA_LR, weight_decay=0.01)
    start, cpu_start = time.perf_counter(), time.process_time()
    model.train()
    batches = vqa_batches(vqa, seed, n=n_train)
    bar = tqdm(range(steps), desc="training tiny ViLT", disable=not progress)
    for step, batch in zip(bar, batches):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, steps, VQA_LR)
        loss = vqa_loss(vqa, heads, *batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 25 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    model.eval()

    model.save_pretrained(out)
    processor.save_pretrained(out)
    summary = {"version": VQA_VERSION, "steps": steps, "seconds": round(seconds, 1),
               "cpu_seconds": round(cpu_seconds, 1), "train_rows_seen": steps * VQA_BATCH,
               **evaluate_vqa(vqa, n=n_eval), "parameters": sum(p.numel() for p in model.parameters()),
               "size_bytes": folder_size(out), "seed": seed}
    (out / "training.json").write_text(json.dumps(summary, indent=1))
    write_model_card(out, f"{TINY_VQA}: the embedded tiny ViLT, version {VQA_VERSION}", _VQA_RECIPE + _vqa_before(summary))
    return {**summary, "output_dir": str(out)}


def _vqa_before(summary: dict[str, Any]) -> str:
    """The card's comparison with version 1, per question type (version 1 measured by
    :func:`evaluate_vqa` with its defaults: 2,014 rows, seed :data:`EVAL_SEED`)."""
    rows = [f"| {t} | {VQA_V1_BY_TYPE[t]} | {summary['accuracy_by_type'][t]} |" for t in VQA_V1_BY_TYPE]
    return "\n".join(["", "### Before and after: accuracy on a fresh rebalanced sample", "",
                      f"Version 1 on 2014 rows (seed {EVAL_SEED}), this version on {summary['eval_rows']} rows "
                      f"(seed {summary['eval_seed']}).", "",
                      "| question type | version 1 | this version |", "|---|---|---|", *rows,
                      f"| all | {VQA_V1_ACCURACY} | {summary['accuracy']} |", ""])


@torch.no_grad()
def evaluate_vqa(vqa: Any, n: int = 1000, seed: int = EVAL_SEED) -> dict[str, Any]:
    """Accuracy of a VQA model on a fresh sample of the world's vqa task, rebalanced (every
    question's answers equally frequent), overall and per question type."""
    from grounding_kit.analysis.summaries import accuracy_by_type
    from grounding_kit.world import make_task, rebalance

    ds = rebalance(make_task("vqa", n=n, seed=seed), seed=seed)
    predicted = [vqa.answers[i] for i in vqa.logits(ds["image"], ds["text"]).argmax(-1).tolist()]
    scores = accuracy_by_type(ds["answer"], predicted, ds["question_type"])
    by_type = {t: round(s["accuracy"], 4) for t, s in scores.items() if t != "all"}
    return {"accuracy": round(scores["all"]["accuracy"], 4), "accuracy_by_type": by_type,
            "eval_rows": len(ds), "eval_seed": seed}
