"""Fallbacks: the kit's value for an exercise whose answer later cells use.

A ``fallback`` cell (see :mod:`grounding_kit.course.sources`) calls :func:`own_or_kit`, which returns
the student's own answer when it passes the exercise's check and the kit's reference otherwise, so
the rest of the notebook runs either way.
"""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Any, Callable

import numpy as np

from grounding_kit.exercises import checks
from grounding_kit.core.arrays import to_numpy


def _decomposition(P: Any) -> Any:
    from grounding_kit.analysis import decompose

    return decompose(to_numpy(P))


def _majority() -> Callable[[Any, Any], float]:
    from grounding_kit.world.rebalancing import majority_answer_accuracy

    return majority_answer_accuracy


def _modality_checks() -> Any:
    from grounding_kit.exercises import modality_checks

    return modality_checks


def _nearest(queries: Any, keys: Any) -> np.ndarray:
    """(Q,) index of the key of highest cosine similarity for each of the (Q, D) queries (keys (K, D))."""
    q, k = to_numpy(queries).astype(np.float64), to_numpy(keys).astype(np.float64)
    return (q / np.linalg.norm(q, axis=1, keepdims=True) @ (k / np.linalg.norm(k, axis=1, keepdims=True)).T).argmax(1)


#: ``(exercise, name) -> (check, reference)``: ``check(value, *inputs)`` raises when the student's
#: ``value`` is wrong (the exercise's own check); ``reference(*inputs)`` is the kit's value, computed
#: by library code. :func:`own_or_kit` uses it; a new exercise whose answer later cells use adds
#: one entry here (each entry is used by a ``fallback`` cell of the course; a test checks it).
FALLBACKS: dict[tuple[str, str], tuple[Callable[..., Any], Callable[..., Any]]] = {
    ("1.1", "S"): (checks.check_similarity_matrix,
                   lambda text_emb, image_emb: to_numpy(text_emb) @ to_numpy(image_emb).T),
    ("1.3", "zero_shot"): (checks.check_zero_shot, lambda S_zs: to_numpy(S_zs).argmax(axis=0)),
    ("1.4", "S_add"): (lambda S_add, S: checks.check_additive_part(S_add, S),
                       lambda S: _decomposition(S).additive()),
    ("2.1", "G"): (checks.check_additive_grid, lambda f_t, f_v: np.add.outer(to_numpy(f_t), to_numpy(f_v))),
    ("3.1", "blind_accuracy"): (lambda fn, questions, answers:
                                checks.check_blind_accuracy(fn(questions, answers), questions, answers),
                                lambda questions, answers: _majority()),
    ("3.1", "blind_biased"): (checks.check_blind_accuracy,
                              lambda questions, answers: _majority()(questions, answers)),
    ("3.3", "blind_balanced"): (checks.check_blind_accuracy,
                                lambda questions, answers: _majority()(questions, answers)),
    ("6.1", "predictions"): (lambda predictions, audio_emb, caption_emb:
                             _modality_checks().check_pivot_predictions(predictions, audio_emb, caption_emb),
                             lambda audio_emb, caption_emb: _nearest(audio_emb, caption_emb)),
}


def own_or_kit(exercise: str, name: str, *inputs: Any, namespace: dict[str, Any] | None = None) -> Any:
    """The student's answer ``name`` to ``exercise`` if it is right, else the kit's reference value.

    Parameters
    ----------
    exercise : the exercise id, e.g. ``"1.1"``.
    name : the variable (or function) the exercise asks for, e.g. ``"S"``.
    *inputs : the exercise's inputs, as its check takes them after the answer
        (``text_emb, image_emb`` for 1.1).
    namespace : where to look for the student's ``name``; the caller's globals when None
        (a notebook's namespace).

    Returns the student's value when it exists and passes the exercise's check (silently);
    otherwise prints one line, "exercise 1.1: not done yet, the kit's S is used from here" (the
    answer is missing, still the placeholder ``...``, or a function that raises
    ``NotImplementedError``) or "exercise 1.1: not right yet, the kit's S is used from here", and
    returns the kit's value. It never raises for the student's answer, under nbgrader neither: the
    check cell before it is what scores.

    Raises
    ------
    ValueError
        If no kit value is registered for ``(exercise, name)`` in :data:`FALLBACKS`.
    """
    if (exercise, name) not in FALLBACKS:
        known = ", ".join(f"{e}/{n}" for e, n in FALLBACKS)
        raise ValueError(f"no kit value for {name!r} of exercise {exercise!r}; known: {known}")
    check, reference = FALLBACKS[(exercise, name)]
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    state = "not done yet"
    if name in namespace and namespace[name] is not Ellipsis:
        try:
            with checks.raising(), contextlib.redirect_stdout(io.StringIO()):
                check(namespace[name], *inputs)
        except (checks.NotDone, NotImplementedError):
            pass
        except Exception:  # a CheckFailed, or the student's own function failing on the inputs
            state = "not right yet"
        else:
            return namespace[name]
    print(f"exercise {exercise}: {state}, the kit's {name} is used from here")
    return reference(*inputs)
