"""Rebalancing a vqa dataset with complementary images (Goyal et al., CVPR 2017, VQA v2).

For a (question, image, answer) row, a *complement* is a minimally edited scene (one object
recoloured, reshaped, added, removed or two objects swapped) that answers the same question
differently. Adding complements takes away what the question alone says about the answer:
the language prior.

``mode="pairs"``: one complement per row, as in VQA v2; its answer is the one seen least often
    so far for that question. Yes/no questions become exactly balanced; questions with many
    answers keep part of their prior, as VQA v2 did.
``mode="complete"`` (default): pairs, then more complements until every question's answers are
    equally frequent, so a question-only model falls to chance.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from grounding_kit.core.validation import check_choice, check_memory, check_seed, seed_int
from grounding_kit.world.scenes import Scene
from grounding_kit.world.storage import cached_dataset

if TYPE_CHECKING:  # datasets loads on first use
    from datasets import Dataset
from grounding_kit.world.tasks import dataset_bytes, rows_to_dataset, vqa_features, vqa_row
from grounding_kit.world.vqa import ANSWERS_BY_TYPE, QUESTION_TYPES, VQA_ANSWERS, edit_to_answer

MODES = ("complete", "pairs")
#: rebalanced rows per input row, an upper bound for the memory estimate (measured: 2.0 for
#: "pairs", 2.0 to 2.3 for "complete")
GROWTH = 3
REQUIRED_COLUMNS = ("image", "text", "answer", "question_type", "question_spec", "objects", "pair_of")


def rebalance(ds: "Dataset", seed: int = 0, mode: str = "complete", *, cache: bool = True) -> "Dataset":
    """Add complementary images to a vqa dataset from ``make_task("vqa")``.

    Parameters
    ----------
    ds : datasets.Dataset with the vqa columns of :func:`make_task`.
    seed : seeds the choice of complements and the edits: an integer >= 0 or a
        ``numpy.random.Generator`` (one int seed is drawn from it).
    mode : "complete" (every question's answers equally frequent) or "pairs" (one complement
        per row, as in VQA v2).
    cache : keep the result in the kit's cache folder (default); False builds it in memory only.

    Returns
    -------
    datasets.Dataset: the rows of ``ds`` followed by the complements (``source="complement"``,
    ``pair_of`` = index of the row each was edited from). Cached on disk.
    """
    check_choice("mode", mode, MODES)
    _check_vqa(ds, "ds")
    seed = seed_int(seed)
    size = max(ds[0]["image"].size)
    check_memory(f"rebalance of {len(ds):,} rows ({size} px)", dataset_bytes(GROWTH * len(ds), size),
                 hint="Rebalance a smaller sample (ds.select(range(k))).")
    return cached_dataset("vqa-rebalanced", (ds._fingerprint, seed, mode),
                          lambda: _rebalance(ds, seed, mode), cache)


def _check_vqa(ds, name: str) -> None:
    columns = getattr(ds, "column_names", None)
    if columns is None:
        raise TypeError(f"{name} must be a datasets.Dataset, got {type(ds).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing}: rebalance needs a world vqa dataset "
                         f"(make_task('vqa')), whose scenes it can edit; it has {columns}")
    if len(ds) == 0:
        raise ValueError(f"{name} is empty")


def _rebalance(ds, seed: int, mode: str):
    from datasets import concatenate_datasets

    rng = np.random.default_rng(seed)
    size = ds[0]["image"].size[0]
    meta = ds.select_columns(["text", "answer", "question_spec", "objects"]).to_dict()
    scenes = [Scene.from_dicts(json.loads(o)) for o in meta["objects"]]
    specs = [json.loads(s) for s in meta["question_spec"]]
    counts: dict[str, Counter] = defaultdict(Counter)
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, (question, ans) in enumerate(zip(meta["text"], meta["answer"])):
        counts[question][ans] += 1
        rows_of[question].append(i)

    new_rows: list[dict[str, Any]] = []

    def add(i: int, target: str) -> None:
        scene = edit_to_answer(rng, scenes[i], specs[i], target)
        new_rows.append(vqa_row(scene, specs[i], target, source="complement", pair_of=i))
        counts[meta["text"][i]][target] += 1

    for i in rng.permutation(len(ds)):
        i = int(i)
        options = [a for a in ANSWERS_BY_TYPE[specs[i]["type"]] if a != meta["answer"][i]]
        seen = counts[meta["text"][i]]
        fewest = min(seen[a] for a in options)
        rarest = [a for a in options if seen[a] == fewest]
        add(i, rarest[rng.integers(len(rarest))])
    if mode == "complete":
        for question, rows in rows_of.items():
            options = ANSWERS_BY_TYPE[specs[rows[0]]["type"]]
            top = max(counts[question][a] for a in options)
            for target in options:
                sources = [i for i in rows if meta["answer"][i] != target]
                for _ in range(top - counts[question][target]):
                    add(sources[rng.integers(len(sources))], target)
    complements = rows_to_dataset(new_rows, size, vqa_features())
    if ds.features != complements.features:
        ds = ds.cast(complements.features)
    return concatenate_datasets([ds, complements])


# ---------------------------------------------------------------- the report


def entropy_bits(values: list[str]) -> float:
    """Shannon entropy (bits) of the empirical distribution of ``values``."""
    total = len(values)
    return -sum(c / total * math.log2(c / total) for c in Counter(values).values()) if total else 0.0


def conditional_entropy_bits(answers: list[str], questions: list[str]) -> float:
    """H(answer | question) in bits: the answer entropy left once the question is known."""
    by_question: dict[str, list[str]] = defaultdict(list)
    for a, q in zip(answers, questions):
        by_question[q].append(a)
    return sum(len(v) / len(answers) * entropy_bits(v) for v in by_question.values()) if answers else 0.0


def majority_answer_accuracy(questions: list[str], answers: list[str]) -> float:
    """Accuracy, on the same rows, of answering each question with its most frequent answer.

    The in-sample blind baseline of notebook 03 (optimistic for rare questions; see
    :func:`question_only_accuracy` for the cross-fitted one). ``questions`` and ``answers`` are
    parallel sequences of the same length (ValueError otherwise, or when they are empty).
    """
    questions, answers = list(questions), list(answers)
    if len(questions) != len(answers) or not answers:
        raise ValueError(f"questions and answers must be two non-empty sequences of one length, "
                         f"got {len(questions)} and {len(answers)}")
    top: dict[str, int] = {}
    for (question, _), count in Counter(zip(questions, answers)).items():
        top[question] = max(top.get(question, 0), count)
    return sum(top.values()) / len(answers)


def question_only_accuracy(ds, seed: int = 0, folds: int = 2) -> dict[str, float]:
    """Accuracy per question type of a question-only baseline, cross-fitted over ``folds``.

    The baseline answers each question with its most frequent answer in the training folds
    (the question type's most frequent answer for a question it has not seen), which is the
    best any model that ignores the image can do. A row and its complements stay in one fold,
    so a pair is never split between training and testing.

    Returns ``{question_type: accuracy, ..., "all": accuracy}``.
    """
    _check_vqa(ds, "ds")
    seed = check_seed(seed)
    meta = ds.select_columns(["text", "answer", "question_type", "pair_of"]).to_dict()
    n = len(meta["text"])
    root = [p if p >= 0 else i for i, p in enumerate(meta["pair_of"])]
    fold_of_root = np.random.default_rng(seed).integers(folds, size=max(root) + 1)
    fold = [int(fold_of_root[r]) for r in root]
    correct = np.zeros(n, dtype=bool)
    for k in range(folds):
        train = [i for i in range(n) if fold[i] != k]
        by_question: dict[str, Counter] = defaultdict(Counter)
        by_type: dict[str, Counter] = defaultdict(Counter)
        for i in train:
            by_question[meta["text"][i]][meta["answer"][i]] += 1
            by_type[meta["question_type"][i]][meta["answer"][i]] += 1
        for i in range(n):
            if fold[i] != k:
                continue
            seen = by_question.get(meta["text"][i]) or by_type.get(meta["question_type"][i]) or Counter()
            guess = max(VQA_ANSWERS, key=lambda a: (seen[a], -VQA_ANSWERS.index(a)))
            correct[i] = guess == meta["answer"][i]
    types = np.asarray(meta["question_type"])
    result = {t: float(correct[types == t].mean()) for t in QUESTION_TYPES if (types == t).any()}
    result["all"] = float(correct.mean())
    return result


def rebalance_report(before, after, seed: int = 0):
    """Per question type: rows, answer entropy and question-only accuracy before and after.

    Returns
    -------
    pandas.DataFrame indexed by question type (plus "all") with columns ``answers`` (number of
    possible answers), ``chance`` (1 / answers), ``rows_before``, ``rows_after``,
    ``entropy_before``, ``entropy_after``, ``max_entropy`` (answer entropy within the type, bits),
    ``given_question_before``, ``given_question_after`` (H(answer | question), bits; a strong
    language prior makes it small even where the type's entropy is high), ``question_only_before``,
    ``question_only_after`` (accuracy of :func:`question_only_accuracy`).
    """
    import pandas as pd

    _check_vqa(before, "before")
    _check_vqa(after, "after")
    seed = seed_int(seed)  # one int for both tables, also when a Generator is given
    acc_before = question_only_accuracy(before, seed)
    acc_after = question_only_accuracy(after, seed)
    answers = {"before": before.select_columns(["answer", "question_type", "text"]).to_dict(),
               "after": after.select_columns(["answer", "question_type", "text"]).to_dict()}
    table = []
    for t in [*QUESTION_TYPES, "all"]:
        if t not in acc_before:
            continue
        k = len(VQA_ANSWERS) if t == "all" else len(ANSWERS_BY_TYPE[t])
        row: dict[str, Any] = {"question_type": t, "answers": k, "chance": 1 / k}
        for when, cols in answers.items():
            keep = [i for i, q in enumerate(cols["question_type"]) if t in ("all", q)]
            values = [cols["answer"][i] for i in keep]
            row[f"rows_{when}"] = len(values)
            row[f"entropy_{when}"] = entropy_bits(values)
            row[f"given_question_{when}"] = conditional_entropy_bits(values, [cols["text"][i] for i in keep])
        row["max_entropy"] = math.log2(k)
        row["question_only_before"] = acc_before[t]
        row["question_only_after"] = acc_after.get(t, float("nan"))
        table.append(row)
    return pd.DataFrame(table).set_index("question_type")
