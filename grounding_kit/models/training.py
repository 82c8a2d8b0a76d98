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

from ..paths import check_output_dir
from ..validation import check_choice, check_positive_int, seed_int
from .cards import write_model_card
from .registry import TINY_CLIP, TINY_VQA, embedded_path

THREADS = 1  # one thread: faster than two on a shared 2-core machine, and reproducible
CLIP_STEPS = {"descriptions": 2500, "typed-queries": 3000}  # recipe -> training steps
CLIP_MULTI_PER_BATCH = 28  # multi-object scenes per batch, next to one scene per template caption
CLIP_QUERIES_PER_BATCH = 36  # typed queries per batch, each with a hard-negative image and text
# the kinds of the typed queries in turn: two-object and left/right queries, the hardest, twice as often
CLIP_QUERY_MIX = ("single", "two", "left_right", "count", "two", "left_right")
CLIP_LR = 2e-3
_CLIP_MODEL = """An open_clip CLIP (`grounding_kit/configs/tiny-shapes.json`: ViT 2 layers, width 64, 8 px patches on
64 px images; text transformer 2 layers, width 64; joint space of 64) with a word-level vocabulary,
trained from random weights by `grounding-kit train tiny-clip` (`grounding_kit.models.training`,
recipe {recipe!r}).
"""
_CLIP_COMMON = f"""- AdamW (lr {CLIP_LR}, weight decay 0.1 on matrices), 5% warm-up then cosine decay, one CPU thread.
- Deterministic for a seed; shipped with seed 0.
- Knows only the shapes world: 3 shapes, 6 colours, 2 sizes, a few dozen words.
"""
# recipe -> (version, description); "descriptions" is the shipped one (version 1)
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
  and shape, two objects, counts, left/right; `grounding_kit.models.queries`), each with a
  hard-negative text (one attribute, number or relation changed) and a hard-negative image (one
  change to the scene that makes the query false).
- Loss: CLIP's symmetric contrastive loss with several positives per text and per image
  (`multi_positive_clip_loss`, the truth computed from the scenes).
"""),
}
CLIP_RECIPE = "descriptions"  # the shipped recipe (see the model card for why not "typed-queries")
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
    from ..world import SHAPES, COLORS, SIZES, sample_scene

    size, rest = divmod(caption_index, len(COLORS) * len(SHAPES))
    color, shape = divmod(rest, len(SHAPES))
    scene = sample_scene(rng, 1, background=BACKGROUNDS[rng.integers(len(BACKGROUNDS))])
    obj = replace(scene.objects[0], shape=SHAPES[shape], color=COLORS[color], size=SIZES[size])
    return replace(scene, objects=(obj,))


def description_batch(rng: np.random.Generator) -> tuple[list[Any], list[str], np.ndarray]:
    """One batch of the ``"descriptions"`` recipe: each of the 36 template captions once (no
    duplicate captions, so no false negatives in the contrastive loss) plus multi-object scenes
    with their descriptions; the truth is the identity (scene i is described by text i)."""
    from ..world import caption_templates, describe, sample_scene

    templates = caption_templates()
    scenes = [single_object_scene(rng, i) for i in range(len(templates))]
    scenes += [sample_scene(rng, int(rng.integers(2, 5)), background=BACKGROUNDS[rng.integers(2)])
               for _ in range(CLIP_MULTI_PER_BATCH)]
    return scenes, [describe(s) for s in scenes], np.eye(len(scenes), dtype=bool)


def typed_query_batch(rng: np.random.Generator, n_multi: int = CLIP_MULTI_PER_BATCH,
                      n_queries: int = CLIP_QUERIES_PER_BATCH) -> tuple[list[Any], list[str], np.ndarray]:
    """One batch of the ``"typed-queries"`` recipe: scenes, texts and their truth matrix.

    Scenes: each of the 36 template captions' one-object scenes, ``n_multi`` scenes of 1 to 4
    objects, and for ``n_queries`` of those a hard-negative image (one change that makes the
    sampled query false, :func:`~grounding_kit.models.queries.hard_negative_scene`). Texts: the
    36 templates, every scene's whole description, ``n_queries`` typed queries at random levels
    of detail (:func:`~grounding_kit.models.queries.sample_query`, the kinds of :data:`CLIP_QUERY_MIX` in turn) and a
    hard-negative text for each (one attribute, number or relation changed).

    Returns
    -------
    scenes (Ns), texts (Nt), truth: (Nt, Ns) bool with ``truth[i, j]`` = text i holds for scene j.
    """
    from ..world import caption_templates, sample_scene
    from .queries import Query, Referent, hard_negative_scene, perturb_query, sample_query, scene_query, truth_matrix

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
    scenes += multi + negatives
    queries += [scene_query(s) for s in multi + negatives] + typed
    return scenes, [q.text for q in queries], truth_matrix(queries, scenes)


def multi_positive_clip_loss(logits: torch.Tensor, truth: torch.Tensor,
                             image_truth: torch.Tensor | None = None) -> torch.Tensor:
    """CLIP's symmetric contrastive loss when a text may hold for several images (and an image
    satisfy several texts): cross-entropy against the truth spread evenly over the positives.

    Parameters
    ----------
    logits : (Nt, Ni) with ``logits[i, j] = s * cos(t_i, v_j)``.
    truth : (Nt, Ni) bool, the positives of the text-to-image direction; rows (texts) or columns
        (images) without a positive are left out of their direction.
    image_truth : (Nt, Ni) bool, the positives of the image-to-text direction (default ``truth``).
    """
    image_truth = truth if image_truth is None else image_truth
    losses = []
    for scores, target in ((logits, truth.float()), (logits.T, image_truth.float().T)):
        keep = target.sum(1) > 0
        target = target[keep] / target[keep].sum(1, keepdim=True)
        losses.append(torch.nn.functional.cross_entropy(scores[keep], target))
    return (losses[0] + losses[1]) / 2


def description_truth(texts: list[str], scenes: list[Any]) -> np.ndarray:
    """(Nt, Ns) bool, ``texts[i] == describe(scenes[j])``: an image's positives in the typed-query
    recipe's image-to-text direction are its exact whole-scene descriptions, so that an image stays
    closest to its own description (as under version 1's loss) rather than spread evenly over every
    partial query it satisfies."""
    from ..world import describe

    descriptions = np.array([describe(s) for s in scenes], dtype=object)
    return np.array(texts, dtype=object)[:, None] == descriptions[None, :]


def world_texts(seed: int = 0, queries: bool = False) -> list[str]:
    """Every kind of text the world produces (captions, scene descriptions, task texts, and with
    ``queries`` the typed queries): the tiny CLIP's vocabulary is fit on them."""
    from ..world import caption_templates, describe, make_task, sample_scenes
    from .queries import example_texts

    texts = caption_templates() + (example_texts() if queries else [])
    texts += [describe(s) for s in sample_scenes(500, seed=seed)]
    for task in ("additive", "match", "mixed", "vqa"):
        texts += list(make_task(task, n=300, seed=seed)["text"])
    return texts


def train_tiny_clip(output_dir: str | Path | None = None, steps: int | None = None, seed: int = 0, *,
                    progress: bool = True, n_eval: int = 720, overwrite_shipped: bool = False,
                    recipe: str = CLIP_RECIPE) -> dict[str, Any]:
    """Train the embedded tiny CLIP on the grounding world and save it.

    open_clip architecture ``grounding_kit/configs/tiny-shapes.json``, word-level vocabulary,
    fresh 64 px scenes (the evaluation transform, no augmentation), AdamW with warm-up and cosine
    decay, ``THREADS`` CPU thread(s). ``recipe`` (:data:`CLIP_RECIPES`): ``"descriptions"`` (the
    shipped version 1: :func:`description_batch` under open_clip's ``ClipLoss``) or
    ``"typed-queries"`` (version 2: :func:`typed_query_batch`, typed queries and their hard
    negatives, under :func:`multi_positive_clip_loss`). Writes the model card ``README.md`` (:mod:`~grounding_kit.models.cards`) beside the weights. Saved as an
    open_clip ``local-dir`` folder (``open_clip_config.json`` + ``model.safetensors`` + ``vocab.json``,
    :func:`~grounding_kit.models.clip.save_open_clip_folder`), which ``load_clip`` reads.

    ``output_dir`` is checked before training (:func:`~grounding_kit.paths.check_output_dir`): a
    new or empty folder, or a previous training output. The shipped folder (the default when
    None) only with ``overwrite_shipped=True``. ``steps`` >= 1.

    Returns
    -------
    dict: version, steps, seconds (wall), cpu_seconds, the quality figures of
    :func:`evaluate_clip` and :func:`~grounding_kit.models.queries.evaluate_queries` on fresh
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

    from ..world import render_scene
    from .clip import _from_open_clip, register_tiny_config, save_open_clip_folder
    from .queries import evaluate_queries
    from .tokenizer import WordTokenizer

    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    arch = register_tiny_config()
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    text_cfg = open_clip.get_model_config(arch)["text_cfg"]
    tokenizer = WordTokenizer.fit(world_texts(seed, queries=typed), text_cfg["vocab_size"], text_cfg["context_length"])
    clip_loss = open_clip.ClipLoss()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "embedding" in n]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=CLIP_LR)
    start, cpu_start = time.perf_counter(), time.process_time()
    model.train()
    bar = tqdm(range(steps), desc="training tiny CLIP", disable=not progress)
    for step in bar:
        scenes, texts, truth = typed_query_batch(rng) if typed else description_batch(rng)
        images = torch.stack([preprocess(render_scene(s)) for s in scenes])
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, steps, CLIP_LR)
        image_features, text_features, logit_scale = model(images, tokenizer(texts))
        if typed:
            loss = multi_positive_clip_loss(logit_scale * text_features @ image_features.T, torch.from_numpy(truth),
                                            torch.from_numpy(description_truth(texts, scenes)))
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
                     _CLIP_MODEL.format(recipe=recipe) + recipe_text + _CLIP_COMMON)
    return {**summary, "output_dir": str(out)}


@torch.no_grad()
def evaluate_clip(clip: Any, n: int = 720, seed: int = EVAL_SEED) -> dict[str, float]:
    """Zero-shot quality of a CLIP on ``n`` fresh single-object scenes of the world.

    ``caption_accuracy``: the true caption ranks first among all 36 template captions.
    ``color_accuracy`` / ``shape_accuracy`` / ``size_accuracy``: the attribute with the highest
    probability, where an attribute's probability is the softmax mass of the captions that name
    it (the 36-way softmax marginalised). ``match_auc``: :func:`match_auc`.
    """
    from ..world import COLORS, SHAPES, SIZES, caption_templates, render_scene

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

    from ..world import make_task

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
# every few hundred steps, nothing to overfit). Known gap: left/right questions stay at chance
# (loss ln 2 throughout), an optimisation plateau rather than an input bug: the labels agree with
# the rendered scenes and the image position embeddings are distinct, yet even runs on left/right
# questions alone, with position embeddings started as large as the patch tokens, stay at chance
# for 3000 steps (bind two referents, compare their columns, flip on "right").
VQA_CONFIG: dict[str, Any] = {"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
                              "intermediate_size": 256, "image_size": 64, "patch_size": 32,
                              "max_position_embeddings": 16, "hidden_dropout_prob": 0.0,
                              "attention_probs_dropout_prob": 0.0}
VQA_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def question_words(questions: list[str] | None = None) -> list[str]:
    """The sorted words and punctuation of ``questions`` (default: every question the world's
    templates can word, so that the tokenizer knows every word of every question type)."""
    if questions is None:
        questions = all_questions()
    return sorted({token for q in questions for token in re.findall(r"\w+|[^\w\s]", q.lower())})


def all_questions() -> list[str]:
    """Every question of the world's vqa task, each question type over all its referents."""
    from itertools import permutations, product

    from ..world import COLORS, SHAPES
    from ..world.vqa import question_text

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


def vqa_batches(vqa: Any, seed: int, n: int = VQA_CHUNK_N, passes: int = VQA_PASSES,
                batch_size: int = VQA_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """An endless, seeded stream of training batches ``(input_ids (B, L), pixels (B, 4, H, W),
    labels (B,))`` from fresh chunks of the rebalanced vqa task: ``n`` questions per chunk (seeds
    far from :data:`EVAL_SEED`), each chunk shuffled and seen ``passes`` times."""
    from ..world import make_task, rebalance

    generator = torch.Generator().manual_seed(seed)
    for chunk in itertools.count():
        chunk_seed = 1_000_000 * (seed + 1) + chunk
        ds = rebalance(make_task("vqa", n=n, seed=chunk_seed, cache=False), seed=chunk_seed, cache=False)
        inputs = vqa.pair_inputs(ds["image"], list(ds["text"]))
        labels = torch.as_tensor(ds["label"])
        order = torch.cat([torch.randperm(len(labels), generator=generator) for _ in range(passes)])
        for start in range(0, len(order) - batch_size + 1, batch_size):
            rows = order[start:start + batch_size]
            yield inputs.text[rows], inputs.image[rows], labels[rows]


def train_tiny_vqa(output_dir: str | Path | None = None, steps: int | None = None, seed: int = 0, *,
                   progress: bool = True, n_train: int = VQA_CHUNK_N, n_eval: int = 1000,
                   overwrite_shipped: bool = False) -> dict[str, Any]:
    """Train the embedded tiny ViLT on the world's rebalanced ``vqa`` task and save it.

    :func:`tiny_vilt` from random weights, cross-entropy over the answers (each question has
    exactly one), AdamW with warm-up and cosine decay, batches of 32 from fresh chunks of
    ``n_train`` questions (:func:`vqa_batches`), one CPU thread. ``seconds`` counts the data
    generation inside the loop. ``output_dir``, ``overwrite_shipped`` and ``steps`` as for
    :func:`train_tiny_clip`.

    Returns
    -------
    dict: steps, seconds, accuracy on a fresh rebalanced sample (overall and per question type),
    parameters, size_bytes, output_dir.
    """
    from ..world import VQA_ANSWERS
    from .vqa import wrap_vilt

    steps = VQA_STEPS if steps is None else check_positive_int("steps", steps)
    seed = seed_int(seed)
    out = check_output_dir(output_dir, embedded_path(TINY_VQA), overwrite_shipped=overwrite_shipped)
    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    model, processor = tiny_vilt(None, list(VQA_ANSWERS))
    vqa = wrap_vilt(TINY_VQA, model, processor, torch.device("cpu"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=VQA_LR, weight_decay=0.01)
    start = time.perf_counter()
    model.train()
    batches = vqa_batches(vqa, seed, n=n_train)
    bar = tqdm(range(steps), desc="training tiny ViLT", disable=not progress)
    for step, (ids, pixels, labels) in zip(bar, batches):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, steps, VQA_LR)
        loss = torch.nn.functional.cross_entropy(vqa.pair_model.batch_logits(ids, pixels), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 25 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    seconds = time.perf_counter() - start
    model.eval()

    model.save_pretrained(out)
    processor.save_pretrained(out)
    summary = {"steps": steps, "seconds": round(seconds, 1), "train_rows_seen": steps * VQA_BATCH,
               **evaluate_vqa(vqa, n=n_eval), "parameters": sum(p.numel() for p in model.parameters()),
               "size_bytes": folder_size(out), "seed": seed}
    (out / "training.json").write_text(json.dumps(summary, indent=1))
    return {**summary, "output_dir": str(out)}


@torch.no_grad()
def evaluate_vqa(vqa: Any, n: int = 1000, seed: int = EVAL_SEED) -> dict[str, Any]:
    """Accuracy of a VQA model on a fresh sample of the world's vqa task, rebalanced (every
    question's answers equally frequent), overall and per question type."""
    from ..analysis.summaries import accuracy_by_type
    from ..world import make_task, rebalance

    ds = rebalance(make_task("vqa", n=n, seed=seed), seed=seed)
    predicted = [vqa.answers[i] for i in vqa.logits(ds["image"], ds["text"]).argmax(-1).tolist()]
    scores = accuracy_by_type(predicted, ds["answer"], ds["question_type"])
    by_type = {t: round(s["accuracy"], 4) for t, s in scores.items() if t != "all"}
    return {"accuracy": round(scores["all"]["accuracy"], 4), "accuracy_by_type": by_type,
            "eval_rows": len(ds), "eval_seed": seed}
