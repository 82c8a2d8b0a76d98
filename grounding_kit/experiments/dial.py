"""The interaction dial's experiment: held-out accuracy of head families as the ``mixed`` task moves
from additive (interaction 0) to the match task (interaction 1), beside the best possible rates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from grounding_kit.experiments.protocol import task_experiment


@dataclass(frozen=True)
class InteractionCurve:
    """Accuracies along the interaction dial.

    Attributes
    ----------
    levels : the interaction values, in order.
    scores : head kind -> held-out accuracy at each level (same order as ``levels``).
    bayes : the best possible accuracy at each level; ``additive_rule`` the loss-optimal additive
        rule's (``world.tasks.bayes_rates``).
    """

    levels: list[float]
    scores: dict[str, list[float]]
    bayes: list[float]
    additive_rule: list[float]

    def at(self, level: float) -> dict[str, float]:
        """Each head kind's accuracy at ``level`` (one of ``levels``; ValueError otherwise)."""
        if float(level) not in self.levels:
            raise ValueError(f"level must be one of {self.levels}, got {level!r}")
        i = self.levels.index(float(level))
        return {kind: scores[i] for kind, scores in self.scores.items()}


def interaction_curve(clip: Any, *, levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
                      kinds: Sequence[str] = ("additive", "interactive"), n: int = 400, n_train: int | None = None,
                      seed: int = 0) -> InteractionCurve:
    """Fit each head kind on the ``mixed`` task at each interaction level and score it on held-out pairs.

    Parameters
    ----------
    clip : a CLIP from ``load_clip``; heads are fitted on its features.
    levels : interaction values (one task experiment and one fit per head kind each).
    kinds : ``fit_head`` kinds compared.
    n, n_train : evaluation and training pairs per level (see ``task_experiment``).
    seed : seeds data and heads.

    Returns
    -------
    InteractionCurve
    """
    from grounding_kit.analysis import accuracy
    from grounding_kit.world.tasks import bayes_rates

    levels = [float(a) for a in levels]
    scores: dict[str, list[float]] = {kind: [] for kind in kinds}
    for a in levels:
        exp = task_experiment(clip, "mixed", n, n_train=n_train, seed=seed, interaction=a)
        for kind in kinds:
            logits = exp.head(kind, seed=seed)(exp.feats_eval.text, exp.feats_eval.image).detach()
            scores[kind].append(accuracy(exp.labels_eval, logits))
    rates = [bayes_rates("mixed", interaction=a) for a in levels]
    return InteractionCurve(levels=levels, scores=scores, bayes=[r["bayes"] for r in rates],
                            additive_rule=[r["additive"] for r in rates])
