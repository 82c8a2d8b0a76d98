"""The tiny ViLT's recipe (``grounding-kit train tiny-vqa``): :func:`train_tiny_vqa`.

Version 2 (recipe ``"grounded-answers"``): the answer loss plus two training-only grounding
losses (:func:`vqa_loss`). Version 1 (``"answers"``, the answer loss alone) is recorded in the
shipped ``training.json``'s ``previous_versions``, which the model card compares with.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from grounding_kit.core.paths import check_output_dir
from grounding_kit.core.threads import single_thread
from grounding_kit.core.validation import check_positive_int, seed_int
from grounding_kit.models.cards import write_model_card
from grounding_kit.models.registry import TINY_VQA, embedded_path
from grounding_kit.models.training.common import EVAL_SEED, folder_size, run_steps, write_record
from grounding_kit.models.training.losses import IGNORED

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
VQA_RECIPE = "grounded-answers"  # the answer loss plus the grounding losses (version 1: "answers")
VQA_GROUNDING_WEIGHT = 1.0  # weight of each training-only grounding loss next to the answer loss
#: classes of the cell loss: what each grid cell holds for the question (its first or second
#: referent, in the left or right column; another object; nothing). Index 2 * referent + column.
CELL_CLASSES = ("first referent, left", "first referent, right", "second referent, left",
                "second referent, right", "other object", "empty")
_VQA_RECIPE = f"""A transformers `ViltForQuestionAnswering` (hidden 128, 4 layers, 4 heads, MLP 256, no dropout;
32 px patches on 64 px images, so each image token is one cell of the world's 2 x 2 grid) with a
word-level `BertTokenizer` over every word of the world's questions, trained from random weights by
`grounding-kit train tiny-vqa` (`grounding_kit.models.training.vqa.train_tiny_vqa`).

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


def write_vqa_card(folder: str | Path) -> Path:
    """Render the tiny ViLT's model card ``README.md`` in ``folder`` from its ``training.json``
    (version, figures, and the figures of the versions it replaces)."""
    record = json.loads((Path(folder) / "training.json").read_text(encoding="utf-8"))
    return write_model_card(folder, f"{TINY_VQA}: the embedded tiny ViLT, version {record['version']}", _VQA_RECIPE)


def question_words(questions: list[str] | None = None) -> list[str]:
    """The sorted words and punctuation of ``questions`` (default: every question the world's
    templates can word, :func:`~grounding_kit.world.texts.all_questions`, so that the tokenizer
    knows every word of every question type)."""
    if questions is None:
        from grounding_kit.world.texts import all_questions

        questions = all_questions()
    return sorted({token for q in questions for token in re.findall(r"\w+|[^\w\s]", q.lower())})


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
    questions (:func:`vqa_batches`), on one CPU thread (:func:`~grounding_kit.core.threads.single_thread`).
    ``seconds`` counts the data generation inside the loop. Writes ``training.json`` and the model
    card ``README.md`` rendered from it beside the weights. ``output_dir``, ``overwrite_shipped``
    and ``steps`` as for :func:`~grounding_kit.models.training.clip.train_tiny_clip`.

    Returns
    -------
    dict: version, recipe, steps, seconds (wall), cpu_seconds, accuracy on a fresh rebalanced
    sample (overall and per question type), parameters, size_bytes, output_dir.

    Raises
    ------
    ValueError for steps < 1, a bad seed or output folder (as ``check_output_dir``).
    """
    from grounding_kit.models.vqa import wrap_vilt
    from grounding_kit.world import VQA_ANSWERS

    steps = VQA_STEPS if steps is None else check_positive_int("steps", steps)
    seed = seed_int(seed)
    out = check_output_dir(output_dir, embedded_path(TINY_VQA), overwrite_shipped=overwrite_shipped)
    with single_thread():
        torch.manual_seed(seed)
        model, processor = tiny_vilt(None, list(VQA_ANSWERS))
        vqa = wrap_vilt(TINY_VQA, model, processor, torch.device("cpu"))
        hidden = model.config.hidden_size
        heads = torch.nn.ModuleDict({"cell": torch.nn.Linear(hidden, len(CELL_CLASSES)),
                                     "column": torch.nn.Linear(hidden, 2)})
        optimizer = torch.optim.AdamW([*model.parameters(), *heads.parameters()], lr=VQA_LR, weight_decay=0.01)
        batches = vqa_batches(vqa, seed, n=n_train)
        seconds, cpu_seconds = run_steps(model, optimizer, steps, VQA_LR, lambda step: vqa_loss(vqa, heads, *next(batches)),
                                         desc="training tiny ViLT", progress=progress)

        model.save_pretrained(out)
        processor.save_pretrained(out)
        summary = {"version": VQA_VERSION, "recipe": VQA_RECIPE, "steps": steps, "seconds": round(seconds, 1),
                   "cpu_seconds": round(cpu_seconds, 1), "train_rows_seen": steps * VQA_BATCH,
                   **evaluate_vqa(vqa, n=n_eval), "parameters": sum(p.numel() for p in model.parameters()),
                   "size_bytes": folder_size(out), "seed": seed}
    write_record(out, summary, TINY_VQA)
    write_vqa_card(out)
    return {**summary, "output_dir": str(out)}


def accuracy_per_type(answers: Sequence[str], predicted: Sequence[str], question_types: Sequence[str]) -> dict[str, float]:
    """The share of ``predicted`` answer strings equal to ``answers`` (labels first, as everywhere),
    per question type (sorted) and over all rows (``"all"``). The training code's own copy: models
    sit below analysis, whose ``accuracy_by_type`` also gives counts."""
    correct = np.array([a == p for a, p in zip(answers, predicted)], dtype=float)
    types = np.asarray(question_types, dtype=object)
    return {**{str(t): float(correct[types == t].mean()) for t in sorted(set(types))}, "all": float(correct.mean())}


@torch.no_grad()
def evaluate_vqa(vqa: Any, n: int = 1000, seed: int = EVAL_SEED) -> dict[str, Any]:
    """Accuracy of a VQA model on a fresh sample of the world's vqa task, rebalanced (every
    question's answers equally frequent), overall and per question type.

    The model's predictions are decoded as answer strings (``vqa.answers``, the world's answers
    gathered from the model's own vocabulary, :class:`~grounding_kit.models.vqa.VqaModel`) and
    compared with the rows' answer strings, so a model whose vocabulary is not the world's is
    scored right.
    """
    from grounding_kit.world import make_task, rebalance

    ds = rebalance(make_task("vqa", n=n, seed=seed), seed=seed)
    predicted = [vqa.answers[i] for i in vqa.logits(ds["image"], ds["text"]).argmax(-1).tolist()]
    scores = accuracy_per_type(ds["answer"], predicted, ds["question_type"])
    by_type = {t: round(s, 4) for t, s in scores.items() if t != "all"}
    return {"accuracy": round(scores["all"], 4), "accuracy_by_type": by_type, "eval_rows": len(ds), "eval_seed": seed}
