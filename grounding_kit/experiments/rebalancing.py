"""The rebalancing lab's experiment: for each language-prior strength, the VQA task before and after
rebalancing, its answer shares per question type, the blind (question-only) baseline and a VQA
model's accuracy, with chance. The widget (:mod:`grounding_kit.widgets.rebalancing_lab`) only draws it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from grounding_kit.core.validation import check_positive_int, seed_int


@dataclass(frozen=True)
class RebalancingSnapshot:
    """One (prior, balanced) cell of the study.

    Attributes
    ----------
    shares : question type -> share of each of its answers (in ``answers_by_type`` order); each list sums to 1
    blind : question type (and ``"all"``) -> accuracy of the cross-fitted question-only baseline
    full : question type (and ``"all"``) -> accuracy of the VQA model
    chance : question type (and ``"all"``) -> accuracy of a uniform guess among the type's answers
    rows : questions in the data
    questions : distinct question texts
    """

    shares: dict[str, list[float]]
    blind: dict[str, float]
    full: dict[str, float]
    chance: dict[str, float]
    rows: int
    questions: int


def answer_shares(question_types: Sequence[str], answers: Sequence[str],
                  answers_by_type: Mapping[str, Sequence[str]]) -> dict[str, list[float]]:
    """Share of each answer among the questions of each type.

    Parameters
    ----------
    question_types : (N,) the type of each question
    answers : (N,) the true answers
    answers_by_type : type -> its possible answers, in the order of the returned shares

    Returns
    -------
    dict type -> list of shares (one per answer of the type), summing to 1 for every type present
    and 0 for a type with no question.
    """
    shares = {}
    for kind, options in answers_by_type.items():
        rows = [a for t, a in zip(question_types, answers) if t == kind]
        counts = Counter(rows)
        shares[kind] = [counts[a] / len(rows) if rows else 0.0 for a in options]
    return shares


def predicted_answers(vqa: Any, ds: Any, batch_size: int = 64) -> list[str]:
    """The VQA model's answer string for each row of ``ds`` (columns ``image`` and ``text``): the
    label answer of highest logit (``vqa.answers``, the world's answers in the model's vocabulary)."""
    batch_size = check_positive_int("batch_size", batch_size)
    predicted: list[str] = []
    for start in range(0, len(ds), batch_size):
        rows = ds[start:start + batch_size]
        predicted += [vqa.answers[int(k)] for k in vqa.logits(rows["image"], rows["text"]).argmax(-1).tolist()]
    return predicted


def rebalancing_study(vqa: Any, *, priors: Sequence[float] = (0.0, 0.5, 0.9), n: int = 200, seed: int = 0,
                      batch_size: int = 64) -> dict[tuple[float, bool], RebalancingSnapshot]:
    """The VQA task at each prior strength, before and after ``rebalance``, summarised.

    Parameters
    ----------
    vqa : a VQA model from ``load_vqa`` (``logits(images, questions)`` over ``vqa.answers``)
    priors : language-prior strengths (``make_task("vqa", prior=...)``)
    n : questions per prior before rebalancing (``rebalance`` adds complements)
    seed : seeds the data, the rebalancing and the cross-fitted blind baseline
    batch_size : pairs per model call

    Returns
    -------
    dict (prior, balanced) -> RebalancingSnapshot, for every prior and both states.

    Raises
    ------
    ValueError
        ``n`` or ``batch_size`` < 1, or a prior outside what ``make_task`` accepts.
    """
    from grounding_kit.analysis.summaries import accuracy_by_type
    from grounding_kit.world import make_task, rebalance
    from grounding_kit.world.rebalancing import question_only_accuracy
    from grounding_kit.world.vqa import ANSWERS_BY_TYPE, QUESTION_TYPES

    n, seed = check_positive_int("n", n), seed_int(seed)
    answers_by_type = {t: list(ANSWERS_BY_TYPE[t]) for t in QUESTION_TYPES}
    groups = [*QUESTION_TYPES, "all"]
    study = {}
    for prior in priors:
        before = make_task("vqa", n=n, seed=seed, prior=float(prior))
        for balanced, ds in ((False, before), (True, rebalance(before, seed=seed))):
            types, answers = ds["question_type"], ds["answer"]
            by_type = accuracy_by_type(answers, predicted_answers(vqa, ds, batch_size), types, answers_by_type)
            study[(float(prior), balanced)] = RebalancingSnapshot(
                shares=answer_shares(types, answers, answers_by_type),
                blind=question_only_accuracy(ds, seed),
                full={t: by_type[t]["accuracy"] for t in groups if t in by_type},
                chance={t: by_type[t]["chance"] if t in by_type else 1 / len(answers_by_type[t]) for t in groups},
                rows=len(ds), questions=len(set(ds["text"])))
    return study
