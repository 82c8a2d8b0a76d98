"""Exercise checks for the course notebooks: instant feedback in plain words.

Each ``check_*`` function takes the student's answer (and the inputs the exercise started from),
computes the reference with tested kit code, and gives one verdict line: ``✔`` when the answer is
right, ``✘`` with what is wrong (type, shape, value) and a hint aimed at the likely mistake, or
"not done yet" while the answer is still the placeholder ``...`` of a student copy.

Where the verdict goes depends on who runs the check (:func:`failures_raise`):

- **a student's notebook** (an IPython kernel): a wrong or unfinished answer prints its one line
  and the check returns, so *Run All* goes on to the next cell (a fallback cell then supplies the
  kit's value where later cells need it, see :mod:`grounding_kit.exercises.fallbacks`);
- **nbgrader** (``NBGRADER_EXECUTION`` set by its autograder and validator), plain Python and tests:
  the check raises :class:`CheckFailed` (:class:`NotDone` for the placeholder), so the cell fails
  and scores 0. ``CheckFailed`` subclasses ``AssertionError`` and renders in IPython as its one
  line, without a traceback (``_render_traceback_``).

``GROUNDING_KIT_CHECKS=raise`` (or ``print``) overrides the choice.

Index convention, as everywhere in the kit: rows are texts, columns are images,
``P[i, j] = f(t_i, v_j)``, logits in the last axis.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections import Counter
from typing import Any, Callable, Iterable, Iterator, NoReturn, Sequence, TypeVar

import numpy as np

from grounding_kit.core.arrays import to_numpy
from grounding_kit.core.validation import check_labels_in_range

__all__ = [
    "CheckFailed",
    "NotDone",
    "failures_raise",
    "raising",
    "EMAP_EXAMPLE",
    "check_similarity_matrix",
    "check_retrieval_accuracy",
    "check_zero_shot",
    "check_additive_part",
    "check_recall_prediction",
    "check_additive_grid",
    "check_accuracy",
    "check_interaction_residual",
    "check_blind_accuracy",
    "check_answer_entropy",
    "check_emap_function",
    "check_effects",
    "check_interaction_share",
    "check_columns_above",
    "check_emap_gap",
    "ENSEMBLE_OPTIONS",
    "check_ensemble_prediction",
    "BLIND_OPTIONS",
    "check_blind_prediction",
    "check_gap_prediction",
    "CLAIM_OPTIONS",
    "check_equivalence_claim",
    "gap_verdict",
    "check_clip_loss",
    "check_additive_least_squares",
    "PROJECTION_OPTIONS",
    "check_projection_prediction",
    "check_questionnaire",
    "PID_PARTS",
    "check_table_prediction",
    "check_interaction_index",
]


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says what is wrong and how to fix it."""

    def __init__(self, exercise: str, problem: str, hint: str | None = None) -> None:
        self.exercise, self.problem, self.hint = exercise, problem, hint
        message = f"{exercise}: not quite. {problem}"
        if hint:
            message += f" Hint: {hint}"
        super().__init__(message)

    def line(self) -> str:
        """The verdict as one line, as a student sees it."""
        return f"✘ {self}"

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback (nbgrader's feedback included): the verdict."""
        return [self.line()]


class NotDone(CheckFailed):
    """The answer is still the student copy's placeholder ``...`` (or a function that raises
    ``NotImplementedError``): the exercise is not done yet."""

    def __init__(self, exercise: str, name: str) -> None:
        AssertionError.__init__(self, f"{exercise}: not done yet. Write your answer in place of `...` "
                                      "and run the cell again.")
        self.exercise, self.problem, self.hint, self.name = exercise, "not done yet", None, name

    def line(self) -> str:
        return f"○ {self}"


_FORCED: list[bool] = []  # the stack of :func:`raising` contexts


@contextlib.contextmanager
def raising(raise_: bool = True) -> Iterator[None]:
    """Within this context a failing check raises (``raise_=True``) or prints (``False``) whatever
    :func:`failures_raise` would choose; :func:`~grounding_kit.exercises.fallbacks.own_or_kit` uses it."""
    _FORCED.append(bool(raise_))
    try:
        yield
    finally:
        _FORCED.pop()


def failures_raise() -> bool:
    """True where a wrong or unfinished answer raises :class:`CheckFailed`, False where it prints.

    Raising: inside :func:`raising`, under nbgrader (``NBGRADER_EXECUTION``, set by its autograder
    and validator, so the test cell scores 0), with ``GROUNDING_KIT_CHECKS=raise``, and outside an
    IPython kernel (scripts, tests). Printing: in a notebook's kernel, so that *Run All* goes on.
    """
    if _FORCED:
        return _FORCED[-1]
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    setting = os.environ.get("GROUNDING_KIT_CHECKS", "").strip().lower()
    if setting in ("raise", "print"):
        return setting == "raise"
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is None


_Check = TypeVar("_Check", bound=Callable[..., None])


def _verdict(check: _Check) -> _Check:
    """A check that prints its failure as one line instead of raising, where :func:`failures_raise`
    says so."""

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            check(*args, **kwargs)
        except CheckFailed as failure:
            if failures_raise():
                raise
            print(failure.line(), file=sys.stdout if isinstance(failure, NotDone) else sys.stderr)

    return run  # type: ignore[return-value]


def _fail(exercise: str, problem: str, hint: str | None = None) -> NoReturn:
    raise CheckFailed(exercise, problem, hint)


def _passed(exercise: str, message: str) -> None:
    print(f"✔ {exercise}: correct. {message}")


def _done(exercise: str, name: str, value: Any) -> Any:
    """``value``, unless it is the placeholder ``...`` of a student copy (then :class:`NotDone`)."""
    if value is Ellipsis:
        raise NotDone(exercise, name)
    return value


def _function(exercise: str, name: str, value: Any) -> Callable[..., Any]:
    """The student's function ``name``: :class:`NotDone` for the placeholder, a failure naming what
    it is instead when it is not callable."""
    _done(exercise, name, value)
    if not callable(value):
        _fail(exercise, f"`{name}` should be a function, but it is {_describe(value)}.",
              f"define it with `def {name}(P): ...` and return the result.")
    return value


def _call(exercise: str, name: str, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, the student's function; :class:`NotDone` while it still raises
    ``NotImplementedError`` (nbgrader's placeholder)."""
    try:
        return function(*args)
    except NotImplementedError:
        raise NotDone(exercise, name) from None


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__} ({value!r})"


def _as_array(exercise: str, name: str, value: Any) -> np.ndarray:
    """The answer as a float64 numpy array (from numpy, torch or nested lists)."""
    _done(exercise, name, value)
    if value is None:
        _fail(exercise, f"`{name}` is None.", f"assign your result to `{name}` (a function that "
              "only prints returns None).")
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(exercise, f"`{name}` should be numbers, but it is {_describe(value)}.",
              "return a numpy array or a torch tensor.")
    if not np.isfinite(array).all():
        _fail(exercise, f"`{name}` holds NaN or infinite values.",
              "look for a division by zero or a log of zero.")
    return array


def _as_number(exercise: str, name: str, value: Any) -> float:
    array = _as_array(exercise, name, value)
    if array.size != 1:
        _fail(exercise, f"`{name}` should be a single number, but it has shape {array.shape}.",
              "reduce it to one number, e.g. with .mean().")
    return float(array.reshape(()))


def _as_fraction(exercise: str, name: str, value: Any, hint: str, expected: float | None = None) -> float:
    """A single number that must be a fraction: above 1 fails with ``hint`` (or, when it is
    ``100 * expected``, with a hint about percentages)."""
    got = _as_number(exercise, name, value)
    if got > 1.0:
        if expected is not None and abs(got - 100 * expected) < 1e-6:
            hint = "that is a percentage; give the fraction (between 0 and 1)."
        _fail(exercise, f"{name} is {got:g}, which is more than 1.", hint)
    return got


def _expect_shape(exercise: str, name: str, array: np.ndarray, shape: tuple[int, ...],
                  hint: str | None = None) -> None:
    if array.shape != tuple(shape):
        _fail(exercise, f"`{name}` has shape {array.shape}, expected {tuple(shape)}.", hint)


def _close(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=1e-5))


def _diagnose(got: np.ndarray, mistakes: Iterable[tuple[Any, str]], atol: float) -> str | None:
    """The hint of the first of ``mistakes`` (``(what that mistake computes, hint)``; ``None`` for
    a mistake that cannot arise here) that ``got`` equals, shape included; else None."""
    for value, hint in mistakes:
        if value is not None and _close(got, np.asarray(value, dtype=np.float64), atol):
            return hint
    return None


def _mismatch(name: str, got: np.ndarray, expected: np.ndarray) -> str:
    """What is wrong with an array answer, in one phrase: its shape, or its values."""
    if got.shape == expected.shape:
        return f"`{name}` has the expected shape {got.shape} but other values."
    return f"`{name}` has shape {got.shape}, expected {expected.shape}."


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str:
    index = np.unravel_index(int(np.argmax(np.abs(got - expected))), got.shape)
    where = ", ".join(str(int(i)) for i in index)
    return f"at [{where}] you have {got[index]:.4g}, expected {expected[index]:.4g}"


def _choice(exercise: str, name: str, answer: Any, options: dict[str, str], correct: str, why: str) -> None:
    """A multiple-choice answer: one of the keys of ``options``; ``why`` explains the measured answer."""
    _done(exercise, name, answer)
    listing = "; ".join(f"{key!r}: {text}" for key, text in options.items())
    if not isinstance(answer, str) or answer.strip().lower() not in options:
        _fail(exercise, f"the answer should be one of {list(options)}, but it is {_describe(answer)}.",
              f"the options are {listing}.")
    if answer.strip().lower() != correct:
        _fail(exercise, f"{answer.strip().lower()!r} is not what the measurement shows.",
              "look at the table again, column by column, and compare with the other options.")
    _passed(exercise, f"{options[correct]}: {why}")


# ---------------------------------------------------------------- 01 grounding and CLIP

@_verdict
def check_similarity_matrix(similarity: Any, text_emb: Any, image_emb: Any) -> None:
    """Exercise 1.1: the N x N cosine-similarity matrix ``S[i, j] = <t_i, v_j>`` of unit vectors.

    Parameters
    ----------
    similarity : (N_texts, N_images) the student's matrix.
    text_emb : (N_texts, D) L2-normalised text embeddings.
    image_emb : (N_images, D) L2-normalised image embeddings.

    The typical mistakes get their own hint whatever the shapes (with N == D a forgotten transpose
    has the right shape): the transpose, ``text_emb @ image_emb``, ``text_emb.T @ image_emb``,
    an element-wise product, texts with texts, and a constant factor (a logit scale, a halving).
    """
    exercise = "Exercise 1.1 (similarity matrix)"
    text, image = to_numpy(text_emb), to_numpy(image_emb)
    expected = text @ image.T
    got = _as_array(exercise, "S", similarity)
    square = text.shape[1] == image.shape[0]
    hint = None if _close(got, expected, 1e-4) else _diagnose(got, [
        (image @ text.T, "your matrix is transposed: rows are texts and columns are images, so the "
                         "text embeddings come first in the product."),
        (text @ image if square else None,
         "`text_emb @ image_emb` pairs each text with a *column* of the image embeddings (one "
         "embedding dimension of every image); S[i, j] pairs text row i with image row j, so the "
         "image embeddings need a transpose."),
        (image @ text if text.shape[0] == text.shape[1] else None,
         "the image embeddings come second, transposed: rows are texts and columns are images."),
        (text.T @ image,
         "`text_emb.T @ image_emb` sums over the pairs and gives one value per pair of embedding "
         "dimensions; S sums over the embedding dimension instead."),
        (text * image if text.shape == image.shape else None,
         "`*` multiplies element by element; S needs the dot product of every text with every image "
         "(a matrix product, `@`)."),
        (text @ text.T, "that compares the texts with each other; S compares each text with each image."),
        (image @ image.T, "that compares the images with each other; S compares each text with each image."),
    ], 1e-4)
    if hint is not None:
        _fail(exercise, _mismatch("S", got, expected), hint)
    if got.shape == expected.T.shape and got.shape != expected.shape:
        _fail(exercise, f"`S` has shape {got.shape}, expected {expected.shape}.",
              "rows are texts and columns are images: the text embeddings come first in the product.")
    _expect_shape(exercise, "S", got, expected.shape,
                  "S has one row per text (caption) and one column per image: (N_texts, N_images).")
    if not _close(got, expected, 1e-4):
        scale = float((got * expected).sum() / max((expected ** 2).sum(), 1e-300))
        if _close(got, scale * expected, 1e-3) and abs(scale) > 1e-6:
            hint = (f"your values are {scale:.3g} times the cosine similarities. "
                    + ("A logit scale (temperature) belongs to CLIP's loss, not to S: leave it out."
                       if scale > 1 else "Leave out the division: the embeddings are unit length, so "
                       "their dot products already are the cosines."))
        else:
            hint = ("S[i, j] is the dot product of text embedding i and image embedding j; the "
                    "embeddings are unit length, so no normalising or scaling is needed.")
        _fail(exercise, f"the values differ: {_first_difference(got, expected)}.", hint)
    _passed(exercise, f"S has shape {got.shape}; its diagonal holds the true pairs.")


@_verdict
def check_retrieval_accuracy(accuracy: Any, similarity: Any) -> None:
    """Exercise 1.2: the fraction of captions whose most similar image is their own (text -> image R@1).

    ``similarity`` is (N, N) with rows texts and columns images; caption i belongs to image i.
    """
    exercise = "Exercise 1.2 (retrieval accuracy)"
    from grounding_kit.analysis import recall_at_k

    S = to_numpy(similarity)
    expected, by_image = recall_at_k(S, 1), recall_at_k(S.T, 1)
    got = _as_fraction(exercise, "accuracy", accuracy,
                       "give a fraction between 0 and 1: divide the number of hits by N (or use .mean()).",
                       expected)
    if abs(got - expected) > 1e-6:
        hint = ("you ranked captions for each image (argmax over axis 0); the exercise ranks images "
                "for each caption: argmax over axis 1."
                if abs(got - by_image) < 1e-6 else
                "that is the fraction of captions whose top image is *not* their own."
                if abs(got - (1 - expected)) < 1e-6 else
                "that is the mean similarity of the true pairs (the diagonal), not how often they rank first."
                if abs(got - float(np.mean(np.diag(S)))) < 1e-6 else
                "for each row i, take the column with the largest similarity and compare it with i.")
        _fail(exercise, f"accuracy is {got:.4f}, expected {expected:.4f}.", hint)
    _passed(exercise, f"{expected:.1%} of the captions retrieve their own image first "
                      f"(chance: {1 / len(S):.1%}).")


@_verdict
def check_zero_shot(predictions: Any, similarity: Any) -> None:
    """Exercise 1.3: zero-shot labels, ``predictions[j] = argmax_i S[i, j]`` over prompts i.

    ``similarity`` is (n_prompts, n_images): rows are the prompts (texts), columns the images.
    """
    exercise = "Exercise 1.3 (zero-shot classification)"
    S = to_numpy(similarity)
    expected = S.argmax(axis=0)
    got = _as_array(exercise, "predictions", predictions)
    hint = None if _close(got, expected, 0) else _diagnose(got, [
        (S.argmax(axis=1) if S.shape[0] == S.shape[1] else None,
         "you picked, for each prompt (row), its best image (argmax over axis 1); the exercise picks, "
         "for each image (column), its best prompt: argmax over the prompts, axis 0."),
        (S.argmin(axis=0), "argmin picks the *least* similar prompt; take the argmax."),
    ], 0)
    if hint is not None:
        _fail(exercise, _mismatch("predictions", got, expected), hint)
    _expect_shape(exercise, "predictions", got, expected.shape,
                  "one prediction per image (per column): take the argmax over the prompts, axis 0.")
    if np.any(got != np.round(got)):
        _fail(exercise, "predictions should be prompt indices (whole numbers).",
              "use .argmax(...), not the similarity values themselves.")
    wrong = np.flatnonzero(got != expected)
    if wrong.size:
        _fail(exercise, f"{wrong.size} of {got.size} predictions differ (first at image {wrong[0]}: "
                        f"you have {int(got[wrong[0]])}, expected {int(expected[wrong[0]])}).",
              "for each image (column), pick the prompt (row) with the highest similarity.")
    _passed(exercise, f"{got.size} images labelled with their most similar prompt.")


@_verdict
def check_additive_part(additive: Any, similarity: Any) -> None:
    """Exercise 1.4: the additive part of a similarity matrix (N, N), the matrix minus its interaction.

    ``S_add[i, j] = mean_j' S[i, j'] + mean_i' S[i', j] - mean S``: row mean + column mean - grand mean.
    """
    exercise = "Exercise 1.4 (the additive part of S)"
    from grounding_kit.analysis import decompose

    S = to_numpy(similarity)
    expected = to_numpy(decompose(S).additive())
    got = _as_array(exercise, "S_add", additive)
    rows, cols, grand = S.mean(axis=1, keepdims=True), S.mean(axis=0, keepdims=True), S.mean()
    keepdims = ("S.mean(axis=1) has shape (N,), one value per row but laid out as a row: keep the "
                "axis (S.mean(axis=1, keepdims=True) is a column, (N, 1)) so that row means and column "
                "means broadcast to the (N, N) grid.")
    hint = None if _close(got, expected, 1e-6) else _diagnose(got, [
        (rows[:, 0] + cols[0] - grand, keepdims),
        (rows.T + cols - grand, keepdims),
        (cols.T + rows.T - grand, "the row means and the column means swapped places: row i's mean "
                                  "goes along row i (a column vector, (N, 1)), column j's along column j."),
        (rows + cols, "you added the row and column means but forgot to subtract the grand mean."),
        (rows + cols + grand, "subtract the grand mean, don't add it."),
        (S - expected, "that is the interaction residual (S minus its additive part); the exercise asks "
                       "for the additive part itself."),
    ], 1e-6)
    if hint is not None:
        _fail(exercise, _mismatch("S_add", got, expected), hint)
    _expect_shape(exercise, "S_add", got, expected.shape,
                  "one value per cell of S: broadcast the row means (N, 1) and the column means (1, N).")
    if not _close(got, expected, 1e-6):
        _fail(exercise, f"the values differ: {_first_difference(got, expected)}.",
              "row mean + column mean - grand mean, for every cell (i, j).")
    _passed(exercise, "in every row the images now rank in the same order: the image effect alone decides.")


@_verdict
def check_recall_prediction(prediction: Any, additive: Any, *, tolerance: float = 0.02) -> None:
    """Exercise 1.4 (second part): predict, as a fraction, the text -> image recall@1 of ``additive`` (N, N).

    Within ``tolerance`` of ``recall_at_k(additive, 1)`` passes; the feedback explains the value.
    """
    exercise = "Exercise 1.4 (predict: retrieval without the interaction)"
    from grounding_kit.analysis import recall_at_k

    got = _as_fraction(exercise, "predicted_recall", prediction, "a recall is a fraction between 0 and 1.")
    S = _as_array(exercise, "S_add", additive)
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        _fail(exercise, f"`S_add` has shape {S.shape}, so the prediction cannot be compared with it.",
              "get S_add right first (the check above); this one measures its recall.")
    expected = recall_at_k(S, 1)
    if abs(got - expected) > tolerance:
        _fail(exercise, f"the measured recall@1 is not {got:.3f}.",
              "in S_add, does caption i rank the images differently from caption k? Then how many "
              "captions can find their own image first?")
    _passed(exercise, f"recall@1 {expected:.3f}, chance {1 / len(S):.3f}: every caption ranks the images in "
                      "the same order, so one image is everybody's first choice.")


# ---------------------------------------------------------------- 02 additive vs interactive

@_verdict
def check_additive_grid(grid: Any, f_t: Any, f_v: Any) -> None:
    """Exercise 2.1: the pair grid of an additive model, ``G[i, j] = f_t[i] + f_v[j]``.

    Parameters
    ----------
    grid : (N_texts, N_images) the student's grid.
    f_t : (N_texts,) the text part for each text.
    f_v : (N_images,) the image part for each image.
    """
    exercise = "Exercise 2.1 (additive grid)"
    text, image = to_numpy(f_t), to_numpy(f_v)
    expected = text[:, None] + image[None, :]
    got = _as_array(exercise, "G", grid)
    hint = None if _close(got, expected, 1e-9) else _diagnose(got, [
        (text + image if text.shape == image.shape else None,
         "`f_t + f_v` adds element by element (text i with image i only): give the text part an axis, "
         "a column (N, 1), and the image part a row (1, N), so that they broadcast to every pair."),
        (expected / 2, "you averaged the two parts; an additive model adds them: f(t, v) = f_t(t) + f_v(v)."),
        (image[:, None] + text[None, :], "your grid is transposed: rows are texts (f_t), columns are images (f_v)."),
        (text[:, None] * image[None, :], "you multiplied the two parts; an additive model adds them."),
    ], 1e-9)
    if hint is not None:
        _fail(exercise, _mismatch("G", got, expected), hint)
    _expect_shape(exercise, "G", got, expected.shape,
                  "one row per text and one column per image: make f_t a column and f_v a row.")
    if not _close(got, expected, 1e-9):
        _fail(exercise, f"the values differ: {_first_difference(got, expected)}.",
              "G[i, j] = f_t[i] + f_v[j]; a column of shape (N, 1) plus a row of shape (1, N) broadcasts to the grid.")
    _passed(exercise, "each row is the same curve shifted up or down: the signature of additivity.")


@_verdict
def check_accuracy(accuracy: Any, logits: Any, labels: Any) -> None:
    """Exercise 2.3: accuracy of the argmax of ``logits`` (N, C) against integer ``labels`` (N,)."""
    exercise = "Exercise 2.3 (accuracy)"
    from grounding_kit.analysis import accuracy as accuracy_of

    scores, truth = to_numpy(logits), to_numpy(labels)
    check_labels_in_range(truth, scores.shape[-1])
    expected = accuracy_of(truth.astype(np.int64), scores)
    got = _as_fraction(exercise, "accuracy", accuracy,
                       "a fraction between 0 and 1: the mean of (predictions == labels).", expected)
    if abs(got - expected) > 1e-6:
        hint = ("that is the error rate, the fraction of wrong predictions." if abs(got - (1 - expected)) < 1e-6 else
                "argmin picks the least likely class; the prediction is the argmax."
                if abs(got - float(np.mean(scores.argmin(axis=-1) == truth))) < 1e-6 else
                "predictions are logits.argmax(axis=-1) (over the classes); compare them with the "
                "labels and take the mean.")
        _fail(exercise, f"accuracy is {got:.4f}, expected {expected:.4f}.", hint)
    _passed(exercise, f"accuracy {expected:.3f}.")


@_verdict
def check_interaction_residual(residual: Any, P: Any) -> None:
    """Exercise 2.2: the interaction residual of a grid of logits ``P`` (N, N) or (N, N, C).

    ``R[i, j] = P[i, j] - mean_j' P[i, j'] - mean_i' P[i', j] + mean P``: what no additive function
    can express.
    """
    exercise = "Exercise 2.2 (interaction residual)"
    from grounding_kit.analysis import decompose

    grid = to_numpy(P)
    expected = to_numpy(decompose(grid).interaction)
    got = _as_array(exercise, "residual", residual)
    grand = grid.mean(axis=(0, 1))
    no_grand = grid - grid.mean(axis=1, keepdims=True) - grid.mean(axis=0, keepdims=True)
    hint = None if _close(got, expected, 1e-6) else _diagnose(got, [
        (grid - grid.mean(axis=1)[None] - grid.mean(axis=0)[None] + grand,
         "P.mean(axis=1) has shape (N, ...) without the averaged axis, so it broadcasts along the "
         "wrong axis: keep it with keepdims=True (the row means form a column)."),
        (no_grand, "you subtracted both means but forgot to add the grand mean back (it was removed twice)."),
        (no_grand - grand, "check the sign of the grand mean: P - row means - column means + grand mean."),
        (no_grand + grid.mean() if grid.ndim == 3 and grid.shape[2] > 1 else None, _GRAND_OVER_CLASSES),
        (grid - no_grand - grand, "that is the additive part (row means + column means - grand mean); "
                                  "the residual is P minus it."),
    ], 1e-6)
    if hint is not None:
        _fail(exercise, _mismatch("residual", got, expected), hint)
    _expect_shape(exercise, "residual", got, expected.shape, "the residual has the shape of P.")
    if not _close(got, expected, 1e-6):
        _fail(exercise, f"the values differ: {_first_difference(got, expected)}.",
              "row means: P.mean(axis=1, keepdims=True); column means: P.mean(axis=0, keepdims=True).")
    share = float((expected ** 2).sum() / max(((grid - grid.mean(axis=(0, 1))) ** 2).sum(), 1e-300))
    _passed(exercise, f"{share:.0%} of this grid's variation is interaction.")


#: the options of exercise 2.4 (what the "beats the ensemble" table will show)
ENSEMBLE_OPTIONS = {
    "a": "the linear model keeps up with the fancy method",
    "b": "the fancy method wins, and its EMAP falls back to the linear model (the win is from interactions)",
    "c": "the fancy method wins, and its EMAP keeps the win (the win is not from interactions)",
}


@_verdict
def check_ensemble_prediction(answer: Any, table: Any, *, margin: float = 0.02) -> None:
    """Exercise 2.4: predict the "beats the ensemble" table; the right option is read off ``table``.

    ``table`` has one row per seed and the columns "linear model", "fancy method" and
    "fancy's EMAP" (accuracies). "a" unless the fancy method leads the linear model by ``margin``
    on every seed; then "c" when its EMAP keeps at least half of the lead on every seed, else "b".
    """
    exercise = "Exercise 2.4 (predict: does beating the linear model show interactions?)"
    _done(exercise, "prediction", answer)  # before the table is read
    lead = table["fancy method"] - table["linear model"]
    kept = table["fancy's EMAP"] - table["linear model"]
    correct = "a" if not (lead >= margin).all() else "c" if (kept >= lead / 2).all() else "b"
    why = (f"the fancy method leads by {lead.min():+.3f} to {lead.max():+.3f} and its EMAP by "
           f"{kept.min():+.3f} to {kept.max():+.3f} over the seeds.")
    _choice(exercise, "prediction", answer, ENSEMBLE_OPTIONS, correct, why)


# ---------------------------------------------------------------- 03 rebalancing

@_verdict
def check_blind_accuracy(accuracy: Any, questions: Sequence[Any], answers: Sequence[Any], *,
                         exercise: str = "Exercise 3.1 (blind baseline)") -> None:
    """Exercise 3.1: accuracy of the blind baseline that answers each question with its most common answer.

    Computed on the same examples it is fitted on (the best any question-only model can do there).
    ``exercise`` names the exercise in the messages (the check serves 3.1 and 3.3).
    """
    questions, answers = list(questions), list(answers)
    if len(questions) != len(answers):
        _fail(exercise, f"{len(questions)} questions but {len(answers)} answers.",
              "pass the question and answer columns of the same dataset.")
    from grounding_kit.world.rebalancing import majority_answer_accuracy

    expected = majority_answer_accuracy(questions, answers)
    got = _as_fraction(exercise, "accuracy", accuracy,
                       "a fraction between 0 and 1: the number of right answers divided by the number of questions.",
                       expected)
    overall = Counter(answers).most_common(1)[0][1] / len(answers)
    if abs(got - expected) > 1e-6:
        hint = ("that is the accuracy of answering every question with the single most common answer; "
                "the blind baseline picks the most common answer *per question*."
                if abs(got - overall) < 1e-6 else
                "that is the error rate, the fraction of questions the baseline gets wrong."
                if abs(got - (1 - expected)) < 1e-6 else
                "group the answers by question (e.g. with collections.Counter), take each group's most "
                "common answer, and count how often it is right.")
        _fail(exercise, f"accuracy is {got:.4f}, expected {expected:.4f}.", hint)
    _passed(exercise, f"a model that never looks at the image gets {expected:.1%}.")


@_verdict
def check_answer_entropy(entropy: Any, answers: Iterable[Any]) -> None:
    """Exercise 3.2: the Shannon entropy, in bits, of the distribution of ``answers``."""
    exercise = "Exercise 3.2 (answer entropy)"
    from grounding_kit.world.rebalancing import entropy_bits

    answers = list(answers)
    expected, kinds = entropy_bits(answers), len(set(answers))
    got = _as_number(exercise, "entropy", entropy)
    if abs(got - expected) > 1e-6:
        counts = np.array(list(Counter(answers).values()), dtype=float)
        hint = ("that is the entropy in nats; use log base 2 (np.log2) for bits."
                if abs(got - expected * np.log(2)) < 1e-6 else
                "that is the entropy in base 10 (np.log10); use log base 2 (np.log2) for bits."
                if abs(got - expected * np.log10(2)) < 1e-6 else
                "turn the counts into probabilities first (divide by their sum), then H = -sum(p * log2(p))."
                if abs(got - float(-(counts * np.log2(counts)).sum())) < 1e-6 else
                "the sign is flipped: H = -sum p log2 p is never negative."
                if abs(got + expected) < 1e-6 else
                "turn the answer counts into probabilities p (they sum to 1), then H = -sum(p * log2(p)).")
        _fail(exercise, f"entropy is {got:.4f} bits, expected {expected:.4f}.", hint)
    _passed(exercise, f"{expected:.2f} bits (uniform over {kinds} answers would be {np.log2(kinds):.2f}).")


#: the options of exercise 3.4 (the cross-fitted blind baseline after rebalancing)
BLIND_OPTIONS = {"above": "above chance", "at": "at chance", "below": "below chance"}


@_verdict
def check_blind_prediction(answer: Any, report: Any, question_type: str = "color", *,
                           tolerance: float = 0.01) -> None:
    """Exercise 3.4: predict where the cross-fitted blind baseline lands after rebalancing.

    Reads ``question_only_after`` and ``chance`` of ``question_type`` from a ``rebalance_report``
    table; "at" means within ``tolerance`` of chance.
    """
    exercise = "Exercise 3.4 (predict: a blind baseline after rebalancing)"
    _done(exercise, "prediction", answer)  # before the table is read
    got, chance = float(report.loc[question_type, "question_only_after"]), float(report.loc[question_type, "chance"])
    correct = "at" if abs(got - chance) <= tolerance else "above" if got > chance else "below"
    why = (f"{question_type} questions: {got:.3f} against chance {chance:.3f}. The baseline's pick is the "
           "answer that is over-represented in its training half, hence under-represented where it is scored.")
    _choice(exercise, "prediction", answer, BLIND_OPTIONS, correct, why)


# ---------------------------------------------------------------- 04 EMAP

#: The worked example of EMAP: the 3 x 3 grid of logits in the appendix of Hessel and Lee (EMNLP
#: 2020), rows texts, columns images, ``EMAP_EXAMPLE[i, j] = f(t_i, v_j)``. Its diagonal holds the
#: original predictions (-1.3, 3.0, 0.7) and its EMAP is (-0.8, 2.1, 0.5), as in the paper.
EMAP_EXAMPLE = np.array([[-1.3, 0.3, -0.2],
                         [0.8, 3.0, 1.1],
                         [1.1, -0.1, 0.7]])


#: hint for the most common slip on an (N, N, C) grid: the grand mean taken over the classes too
_GRAND_OVER_CLASSES = ("you took the grand mean over the classes too (P.mean() on an (N, N, C) grid mixes "
                       "the classes): use P.mean(axis=(0, 1)), one grand mean per class.")


def _emap_hint(fn_result: np.ndarray, P: np.ndarray) -> str:
    rows = P.mean(axis=1)
    cols = P.mean(axis=0)
    grand = P.mean(axis=(0, 1))
    diagonal = np.stack([P[i, i] for i in range(len(P))])
    if _close(fn_result, rows + cols, 1e-6):
        return "you added the row and column means but forgot to subtract the grand mean."
    if _close(fn_result, rows + cols + grand, 1e-6):
        return "subtract the grand mean, don't add it."
    if P.ndim == 3 and P.shape[2] > 1 and _close(fn_result, rows + cols - P.mean(), 1e-6):
        return _GRAND_OVER_CLASSES
    if _close(fn_result, rows, 1e-6) or _close(fn_result, cols, 1e-6):
        return "EMAP needs both the text effect (row mean) and the image effect (column mean)."
    if _close(fn_result, diagonal, 1e-6):
        return "you returned the original predictions f(t_i, v_i); EMAP replaces them with their projection."
    return ("for pair i: mean of row i (text t_i with every image) + mean of column i (image v_i with "
            "every text) - the mean of the whole grid; keep the class axis.")


@_verdict
def check_emap_function(my_emap: Callable[[np.ndarray], Any]) -> None:
    """Exercise 4.1: ``my_emap(P)`` maps logits (N, N, C) to the projected predictions (N, C).

    Tried on a worked example, on random (N, N, C) grids, and on an (N, N) grid, against ``gk.emap``.
    """
    exercise = "Exercise 4.1 (EMAP)"
    from grounding_kit.analysis import emap

    _function(exercise, "my_emap", my_emap)
    rng = np.random.default_rng(0)
    cases = [("the worked example (3 x 3 x 1)", EMAP_EXAMPLE[:, :, None]),
             ("a random 5 x 5 x 3 grid", rng.normal(size=(5, 5, 3))),
             ("a random 7 x 7 x 2 grid", rng.normal(size=(7, 7, 2)))]
    for label, P in cases:
        expected = to_numpy(emap(P))
        result = _call(exercise, "my_emap", my_emap, P.copy())
        got = _as_array(exercise, "my_emap", result)
        if got.shape == expected.shape[:1] and expected.shape[1] == 1:
            got = got[:, None]
        _expect_shape(exercise, f"my_emap(P) on {label}", got, expected.shape,
                      "average over one axis of the grid at a time (axis=0 or axis=1), keeping the "
                      "class axis: the result has one row per pair.")
        if not _close(got, expected, 1e-6):
            _fail(exercise, f"on {label} {_first_difference(got, expected)}.", _emap_hint(got, P))
    _passed(exercise, "your EMAP agrees with gk.emap on every test grid.")


@_verdict
def check_effects(text_effect: Any, image_effect: Any, P: Any) -> None:
    """Exercise 4.2: text and image effects of a grid (N, N, C): row/column means minus the grand mean."""
    exercise = "Exercise 4.2 (text and image effects)"
    from grounding_kit.analysis import decompose

    grid = to_numpy(P)
    parts = decompose(grid)
    for name, value, expected, axis in (("text_effect", text_effect, parts.text_effect, 1),
                                        ("image_effect", image_effect, parts.image_effect, 0)):
        got = _as_array(exercise, name, value)
        expected = to_numpy(expected)
        if got.shape != expected.shape and got.squeeze().shape == expected.shape:
            _fail(exercise, f"`{name}` has shape {got.shape}, expected {expected.shape}.",
                  "drop keepdims=True here: an effect has one value per item and class, no averaged axis.")
        _expect_shape(exercise, name, got, expected.shape,
                      f"average P over axis {axis} (one value per "
                      f"{'text' if axis == 1 else 'image'} and class).")
        if not _close(got, expected, 1e-6):
            means = grid.mean(axis=axis)
            other = grid.mean(axis=1 - axis) - grid.mean(axis=(0, 1))
            hint = ("subtract the grand mean P.mean(axis=(0, 1))." if _close(got, means, 1e-6) else
                    _GRAND_OVER_CLASSES if grid.ndim == 3 and grid.shape[2] > 1
                    and _close(got, means - grid.mean(), 1e-6) else
                    "rows are texts: the text effect averages over the images (axis 1), the image "
                    "effect over the texts (axis 0)." if _close(got, other, 1e-6) else
                    f"mean over axis {axis}, minus the grand mean.")
            _fail(exercise, f"`{name}` differs: {_first_difference(got, expected)}.", hint)
    _passed(exercise, "both effects match gk.decompose; each sums to zero over its items.")


@_verdict
def check_interaction_share(share: Any, P: Any) -> None:
    """Exercise 4.3: the interaction share of a grid: sum(residual^2) / sum((P - grand mean)^2) per class."""
    exercise = "Exercise 4.3 (interaction share)"
    from grounding_kit.analysis import decompose

    grid = to_numpy(P)
    expected = to_numpy(decompose(grid).interaction_share)
    got = _as_array(exercise, "share", share)
    if got.shape == expected.shape and _close(got, 1 - expected, 1e-6) and not _close(got, expected, 1e-6):
        _fail(exercise, f"share is {np.round(got, 4)}, expected {np.round(expected, 4)}.",
              "that is the additive share, 1 - the interaction share: the residual goes in the numerator.")
    if got.shape != expected.shape and got.size == expected.size:
        got = got.reshape(expected.shape)
    _expect_shape(exercise, "share", got, expected.shape, "one share per class: sum over the two pair axes.")
    if np.any(got < 0) or np.any(got > 1):
        _fail(exercise, f"a share must lie in [0, 1], but you have {got}.",
              "divide the squared residual by the total squared deviation from the grand mean.")
    if not _close(got, expected, 1e-6):
        _fail(exercise, f"share is {np.round(got, 4)}, expected {np.round(expected, 4)}.",
              "numerator: (residual ** 2).sum(axis=(0, 1)); denominator: ((P - grand) ** 2).sum(axis=(0, 1)).")
    _passed(exercise, f"interaction share {np.round(expected, 3)}.")


@_verdict
def check_gap_prediction(prediction: Any, report: Any, *, perceptual: float | None = None,
                         tolerance: float = 0.01) -> None:
    """Exercise 4.4: predict a model's ``model - EMAP`` gap as a number, read off an ``emap_report``.

    ``perceptual`` (optional) is the model's perceptual score, to catch the answer that confuses
    "uses a modality" with "combines the modalities".
    """
    exercise = "Exercise 4.4 (predict: the additive head's EMAP gap)"
    expected = float(report.difference)
    got = _as_number(exercise, "predicted_gap", prediction)
    if abs(got - expected) > tolerance:
        hint = ("that is about the perceptual score: it measures whether the model uses a modality, "
                "not whether it combines them." if perceptual is not None and abs(got - perceptual) < 0.05 else
                "what does EMAP remove from a model, and what is there to remove in f_t(t) + f_v(v)?")
        _fail(exercise, f"the measured gap is not {got:+.3f}.", hint)
    _passed(exercise, f"model - EMAP = {expected:+.3f}: an additive model is its own projection.")


#: the options of exercise 4.7 (what an emap_report with an equivalence test supports)
CLAIM_OPTIONS = {
    "a": "interactions add to this model's score: the interval of model - EMAP lies above 0",
    "b": "the additive projection scores higher than the model: the interval lies below 0",
    "c": "no interactions are needed here: the difference is shown to lie within +-margin",
    "d": "the data cannot tell: no gain is shown, and equivalence within +-margin is not shown either",
}


@_verdict
def check_equivalence_claim(claim: Any, report: Any) -> None:
    """Exercise 4.7: which claim does an ``emap_report`` made with ``margin=`` support?

    The right option is read off the report: its interval of model - EMAP (``difference_ci``) and
    its two one-sided tests against the margin (``report.equivalence``).
    """
    exercise = "Exercise 4.7 (diagnose: what may you claim?)"
    _done(exercise, "claim", claim)  # before the report is read
    if getattr(report, "equivalence", None) is None:
        raise ValueError("report has no equivalence test: make it with gk.emap_report(..., margin=m)")
    low, high = report.difference_ci
    test = report.equivalence
    correct = "a" if low > 0 else "b" if high < 0 else "c" if test.equivalent else "d"
    why = (f"interval of model - EMAP [{low:+.3f}, {high:+.3f}]; {test.verdict()} An interval around 0 alone "
           "is never the claim 'not needed': only the equivalence test against a margin fixed before looking is.")
    _choice(exercise, "claim", claim, CLAIM_OPTIONS, correct, why)


# ---------------------------------------------------------------- 05 scaling up

@_verdict
def check_columns_above(answer: Iterable[str], table: Any, *, row: str, baseline: str,
                        exercise: str = "Exercise 5.1 (reading a results table)") -> None:
    """Exercise 5.1: the columns of ``table`` (a pandas DataFrame) where ``row`` beats ``baseline``.

    A missing value on either side is not a win. ``exercise`` names the exercise in the messages
    (the check serves 5.1 and 5.2).
    """
    _done(exercise, "the answer", answer)
    if isinstance(answer, str) or answer is None:
        _fail(exercise, f"the answer should be a list of column names, but it is {_describe(answer)}.",
              "e.g. ['OKVQA', ...]: a list comprehension over table.columns works.")
    try:
        got = set(answer)
    except TypeError:
        _fail(exercise, f"the answer should be a list of column names, but it is {_describe(answer)}.")
    ours, theirs = table.loc[row].astype(float), table.loc[baseline].astype(float)
    want = {str(c) for c in table.columns if ours[c] > theirs[c]}
    unknown = sorted(str(c) for c in got - {str(c) for c in table.columns})
    if unknown:
        _fail(exercise, f"{unknown} are not columns of the table.", f"the columns are {list(table.columns)}.")
    missing, extra = sorted(want - got), sorted(got - want)
    if missing or extra:
        parts = ([f"{len(missing)} missing (e.g. {missing[0]!r})"] if missing else []) + \
                ([f"these are not wins: {extra}"] if extra else [])
        hint = ("a missing value (NaN) never beats a number." if any(np.isnan(ours[c]) for c in extra)
                else f"compare table.loc[{row!r}, task] > table.loc[{baseline!r}, task] for every task.")
        _fail(exercise, "; ".join(parts) + ".", hint)
    _passed(exercise, f"{len(want)} of {len(table.columns)}: {sorted(want)}.")


@_verdict
def check_emap_gap(gap: Any, report: Any, *, row: str = "full model", against: str = "EMAP",
                   column: str = "score") -> None:
    """Exercise 5.3: the model's score minus its EMAP's score, read off an ``emap_report`` table."""
    exercise = "Exercise 5.3 (the EMAP gap)"
    expected = float(report.loc[row, column]) - float(report.loc[against, column])
    got = _as_number(exercise, "gap", gap)
    if abs(got - expected) > 1e-9:
        hint = ("the sign is flipped: model minus EMAP." if abs(got + expected) < 1e-9 else
                f"use report.loc[{row!r}, {column!r}] - report.loc[{against!r}, {column!r}].")
        _fail(exercise, f"gap is {got:.4f}, expected {expected:.4f}.", hint)
    from grounding_kit.analysis.report import gap_verdict

    _passed(exercise, f"gap {expected:+.3f}. {gap_verdict(report)}")


def __getattr__(name: str) -> Any:
    """``gap_verdict`` lives in :mod:`grounding_kit.analysis.report`; re-exported here (imported on
    first use, so that importing the checks stays light) for the notebooks that import it from here."""
    if name == "gap_verdict":
        from grounding_kit.analysis.report import gap_verdict

        return gap_verdict
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------- concept exercises (issue 23)

@_verdict
def check_clip_loss(loss: Any, text_emb: Any, image_emb: Any, logit_scale: float) -> None:
    """Exercise 1.5: CLIP's symmetric InfoNCE loss on a batch, against open_clip's ``ClipLoss``.

    ``text_emb`` and ``image_emb`` are (N, D) unit vectors, pair i in row i of each; the logits are
    ``logit_scale`` times their cosine similarities (rows texts, columns images). The reference is ``open_clip.loss.ClipLoss()`` (the
    loss open_clip trains with): the mean of the image-to-text and text-to-image cross-entropies
    whose right answer is the diagonal.
    """
    import torch
    from open_clip.loss import ClipLoss

    exercise = "Exercise 1.5 (CLIP's contrastive loss)"
    text = torch.as_tensor(to_numpy(text_emb), dtype=torch.float64)
    image = torch.as_tensor(to_numpy(image_emb), dtype=torch.float64)
    expected = float(ClipLoss()(image, text, torch.tensor(float(logit_scale), dtype=torch.float64)))
    got = _as_number(exercise, "loss", loss)
    if abs(got - expected) > 1e-6:
        logits = float(logit_scale) * (text @ image.T)
        one_way = float(torch.nn.functional.cross_entropy(logits, torch.arange(len(text))))
        unscaled = text @ image.T
        no_scale = float((torch.nn.functional.cross_entropy(unscaled, torch.arange(len(text)))
                          + torch.nn.functional.cross_entropy(unscaled.T, torch.arange(len(text)))) / 2)
        hint = ("that is one direction only: average the cross-entropy over the rows (text to image) and "
                "over the columns (image to text)." if abs(got - one_way) < 1e-6 else
                "multiply the cosines by logit_scale before the softmax." if abs(got - no_scale) < 1e-6 else
                "logits: logit_scale times the (N, N) cosine matrix; the right answer of row i and of column i is i; "
                "loss = (cross_entropy(logits, arange(N)) + cross_entropy(logits.T, arange(N))) / 2.")
        _fail(exercise, f"loss is {got:.6f}, open_clip's ClipLoss gives {expected:.6f}.", hint)
    chance = float(np.log(len(text)))
    _passed(exercise, f"{expected:.4f}, the same as open_clip's ClipLoss; a uniform guess among the "
                      f"{len(text)} candidates would give log N = {chance:.4f}.")


@_verdict
def check_additive_least_squares(fitted: Any, P: Any) -> None:
    """Exercise 4.5: the least-squares additive fit ``g[i] + h[j]`` to a grid (N, N), solved numerically.

    The reference is the closed form the exercise derives: row mean + column mean - grand mean.
    """
    exercise = "Exercise 4.5 (derive: EMAP is a least-squares projection)"
    grid = to_numpy(P).astype(float)
    expected = grid.mean(axis=1, keepdims=True) + grid.mean(axis=0, keepdims=True) - grid.mean()
    got = _as_array(exercise, "fitted", fitted)
    _expect_shape(exercise, "fitted", got, expected.shape,
                  "the fitted values of every cell: X @ coefficients, reshaped to (N, N).")
    if not _close(got, expected, 1e-6):
        _fail(exercise, f"fitted values differ from the least-squares additive fit: "
                        f"{_first_difference(got, expected)}.",
              "one indicator column per text (row) and one per image (column); np.linalg.lstsq handles the "
              "one redundant direction (a constant can move between g and h).")
    _passed(exercise, "the numerical least-squares fit equals row mean + column mean - grand mean in every cell, "
                      "as the normal equations say.")


#: the options of exercise 4.6 (EMAP vs the additive fit under the joint distribution)
PROJECTION_OPTIONS = {
    "a": "both additive fits score about the same",
    "b": "the fit under the joint distribution scores clearly higher than the one under the product of marginals",
    "c": "the fit under the product of marginals scores clearly higher than the one under the joint distribution",
}


@_verdict
def check_projection_prediction(answer: Any, table: Any, *, margin: float = 0.05) -> None:
    """Exercise 4.6: predict which additive fit of the same model scores higher on a dependent world.

    ``table`` is an ``additive_comparison`` table; "a" when the two fits over keys are within
    ``margin`` of each other.
    """
    exercise = "Exercise 4.6 (predict: the product of marginals or the joint distribution?)"
    _done(exercise, "prediction", answer)  # before the table is read
    product = float(table.loc["additive fit over keys, product of marginals", "score"])
    joint = float(table.loc["additive fit over keys, joint distribution", "score"])
    correct = "a" if abs(joint - product) < margin else "b" if joint > product else "c"
    why = (f"product of marginals {product:.3f}, joint distribution {joint:.3f}. The product also weighs the "
           "combination that never occurs, where the model only extrapolates.")
    _choice(exercise, "prediction", answer, PROJECTION_OPTIONS, correct, why)


@_verdict
def check_questionnaire(answers: Any, notebook: str) -> None:
    """The questionnaire that ends a notebook: ``answers`` maps question number to an option letter.

    Every wrong or missing answer is listed with its explanation; all right passes.
    """
    from grounding_kit.exercises.questionnaires import QUESTIONNAIRES

    exercise = f"Exercise {int(notebook)}.Q (questionnaire of notebook {notebook})"
    questions = QUESTIONNAIRES[notebook]
    _done(exercise, "answers", answers)
    if not isinstance(answers, dict):
        _fail(exercise, f"answers should be a dict {{question number: letter}}, but it is {_describe(answers)}.",
              "e.g. answers = {1: 'a', 2: 'c'}.")
    problems = []
    for number, question in enumerate(questions, start=1):
        given = str(answers.get(number, "")).strip().lower()
        if given not in question.options:
            problems.append(f"question {number}: no answer among {sorted(question.options)}")
        elif given != question.answer:
            problems.append(f"question {number}: not {given!r}; {question.why}")
    if problems:
        _fail(exercise, f"{len(problems)} of {len(questions)} not right yet: " + " | ".join(problems))
    _passed(exercise, f"all {len(questions)} right.")


#: the names of the four PID parts a prediction may name (exercise 7.1)
PID_PARTS = ("redundancy", "unique text", "unique image", "synergy")


@_verdict
def check_table_prediction(largest_part: Any, additive_falls_short: Any, table: Any, *, margin: float = 0.1) -> None:
    """Exercise 7.1: predict, per task, the largest PID part and whether the additive head falls short.

    Parameters
    ----------
    largest_part : dict task -> one of ``PID_PARTS``, the PID part predicted to be the largest.
    additive_falls_short : dict task -> bool, True where the additive head is predicted to score more
        than ``margin`` below the interactive head.
    table : the DataFrame of ``gk.interaction_experiment`` (the measured answer).
    """
    exercise = "Exercise 7.1 (predict the table)"
    _done(exercise, "largest_part", largest_part)
    _done(exercise, "additive_falls_short", additive_falls_short)
    tasks = list(dict.fromkeys(table["task"]))
    for name, answer in (("largest_part", largest_part), ("additive_falls_short", additive_falls_short)):
        if not isinstance(answer, dict) or sorted(answer) != sorted(tasks):
            _fail(exercise, f"{name} must be a dict with one entry per task {tasks}, got {_describe(answer)}.")
    for task in tasks:
        rows = table[table["task"] == task].set_index(["measure", "model"])["value"]
        parts = {part: rows[(f"PID {part}", "(the data)")] for part in PID_PARTS}
        measured = max(parts, key=parts.get)
        if largest_part[task] not in PID_PARTS:
            _fail(exercise, f"largest_part[{task!r}] = {largest_part[task]!r} is not one of {PID_PARTS}.")
        if largest_part[task] != measured:
            _fail(exercise, f"on {task!r} the largest PID part is {measured!r}, not {largest_part[task]!r}.",
                  "read the task's rule (help(gk.world.pid_tasks)): what does each modality alone tell about the label?")
        short = bool(rows[("accuracy", "additive")] < rows[("accuracy", "interactive")] - margin)
        if bool(additive_falls_short[task]) != short:
            _fail(exercise, f"on {task!r} the additive head {'does' if short else 'does not'} fall more than {margin} "
                            "below the interactive head.",
                  "an additive head g(text) + h(image) can use any information one modality carries alone.")
    _passed(exercise, "you predicted the data's PID and where an additive head falls short.")


@_verdict
def check_interaction_index(fn: Callable[[Any], Any]) -> None:
    """Exercise 7.2: ``fn(P)`` returns the Shapley interaction index of text and image, (N, C), for each pair.

    Compared with ``gk.modality_shapley(P, target=None).interactions[:, 0, 1]`` on random grids.
    """
    exercise = "Exercise 7.2 (Shapley interaction index)"
    from grounding_kit.analysis.shapley import modality_shapley

    _function(exercise, "my_interaction_index", fn)
    rng = np.random.default_rng(7)
    for shape in ((4, 4, 2), (6, 6, 3)):
        P = rng.normal(size=shape)
        expected = modality_shapley(P, target=None).interactions[:, 0, 1]
        result = _call(exercise, "my_interaction_index", fn, P)
        got = _as_array(exercise, "my_interaction_index(P)", result)
        _expect_shape(exercise, "my_interaction_index(P)", got, expected.shape, "one value per pair and class: (N, C).")
        if not _close(got, expected, 1e-9):
            _fail(exercise, f"on a random {shape} grid your index differs from the kit's by up to "
                            f"{np.abs(got - expected).max():.3g}.",
                  "the index is v(both) - v(text) - v(image) + v(none), where v(S) is the model with the modalities "
                  "outside S averaged over the partners; which mean of the grid is each v?")
    _passed(exercise, "your index is the interaction term of decompose(P) on each pair's own cell.")
