"""Exercise checks for the course notebooks: instant feedback in plain words.

Each ``check_*`` function takes the student's answer (and the inputs the exercise started from),
computes the reference with tested kit code, and either prints one success line or raises
:class:`CheckFailed` whose message says what is wrong (type, shape, value), what was expected,
and gives a hint. ``CheckFailed`` subclasses ``AssertionError``, so the checks also work as test
assertions, but a student never sees a bare "AssertionError".

Index convention, as everywhere in the kit: rows are texts, columns are images,
``P[i, j] = f(t_i, v_j)``, logits in the last axis.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterable, NoReturn, Sequence

import numpy as np

from grounding_kit.core.arrays import to_numpy
from grounding_kit.core.validation import check_labels_in_range

__all__ = [
    "CheckFailed",
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
    "gap_verdict",
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
            message += f"\nHint: {hint}"
        super().__init__(message)


def _fail(exercise: str, problem: str, hint: str | None = None) -> NoReturn:
    raise CheckFailed(exercise, problem, hint)


def _passed(exercise: str, message: str) -> None:
    print(f"✔ {exercise}: correct. {message}")


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__} ({value!r})"


def _as_array(exercise: str, name: str, value: Any) -> np.ndarray:
    """The answer as a float64 numpy array (from numpy, torch or nested lists)."""
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


def _as_fraction(exercise: str, name: str, value: Any, hint: str) -> float:
    """A single number that must be a fraction: above 1 fails with ``hint``."""
    got = _as_number(exercise, name, value)
    if got > 1.0:
        _fail(exercise, f"{name} is {got:g}, which is more than 1.", hint)
    return got


def _expect_shape(exercise: str, name: str, array: np.ndarray, shape: tuple[int, ...],
                  hint: str | None = None) -> None:
    if array.shape != tuple(shape):
        _fail(exercise, f"`{name}` has shape {array.shape}, expected {tuple(shape)}.", hint)


def _close(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=1e-5))


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str:
    index = np.unravel_index(int(np.argmax(np.abs(got - expected))), got.shape)
    where = ", ".join(str(int(i)) for i in index)
    return f"at [{where}] you have {got[index]:.4g}, expected {expected[index]:.4g}"


def _choice(exercise: str, answer: Any, options: dict[str, str], correct: str, why: str) -> None:
    """A multiple-choice answer: one of the keys of ``options``; ``why`` explains the measured answer."""
    listing = "; ".join(f"{key!r}: {text}" for key, text in options.items())
    if not isinstance(answer, str) or answer.strip().lower() not in options:
        _fail(exercise, f"the answer should be one of {list(options)}, but it is {_describe(answer)}.",
              f"the options are {listing}.")
    if answer.strip().lower() != correct:
        _fail(exercise, f"{answer.strip().lower()!r} is not what the measurement shows.",
              "look at the table again, column by column, and compare with the other options.")
    _passed(exercise, f"{options[correct]}: {why}")


# ---------------------------------------------------------------- 01 grounding and CLIP

def check_similarity_matrix(similarity: Any, text_emb: Any, image_emb: Any) -> None:
    """Exercise 1.1: the N x N cosine-similarity matrix ``S[i, j] = <t_i, v_j>`` of unit vectors.

    Parameters
    ----------
    similarity : (N_texts, N_images) the student's matrix.
    text_emb : (N_texts, D) L2-normalised text embeddings.
    image_emb : (N_images, D) L2-normalised image embeddings.
    """
    exercise = "Exercise 1.1 (similarity matrix)"
    text, image = to_numpy(text_emb), to_numpy(image_emb)
    expected = text @ image.T
    got = _as_array(exercise, "S", similarity)
    if got.shape == expected.T.shape and got.shape != expected.shape:
        _fail(exercise, f"`S` has shape {got.shape}, expected {expected.shape}.",
              "rows are texts and columns are images: the text embeddings come first in the product.")
    _expect_shape(exercise, "S", got, expected.shape, "S has one row per text (caption) and one column per image.")
    if _close(got, expected.T, 1e-4) and not _close(got, expected, 1e-4):
        _fail(exercise, "your matrix is transposed.", "rows are texts, columns are images.")
    if not _close(got, expected, 1e-4):
        scale = float((got * expected).sum() / max((expected ** 2).sum(), 1e-300))
        hint = ("the values are a constant multiple of the cosine similarities: drop the logit scale."
                if _close(got, scale * expected, 1e-3) else
                "the embeddings are already unit length, so a matrix product is all you need.")
        _fail(exercise, f"the values differ: {_first_difference(got, expected)}.", hint)
    _passed(exercise, f"S has shape {got.shape}; its diagonal holds the true pairs.")


def check_retrieval_accuracy(accuracy: Any, similarity: Any) -> None:
    """Exercise 1.2: the fraction of captions whose most similar image is their own (text -> image R@1).

    ``similarity`` is (N, N) with rows texts and columns images; caption i belongs to image i.
    """
    exercise = "Exercise 1.2 (retrieval accuracy)"
    from grounding_kit.analysis import recall_at_k

    S = to_numpy(similarity)
    expected, by_image = recall_at_k(S, 1), recall_at_k(S.T, 1)
    got = _as_fraction(exercise, "accuracy", accuracy,
                       "give a fraction between 0 and 1: divide the number of hits by N (or use .mean()).")
    if abs(got - expected) > 1e-6:
        hint = ("you ranked captions for each image (argmax over axis 0); the exercise ranks images "
                "for each caption: argmax over axis 1."
                if abs(got - by_image) < 1e-6 else
                "for each row i, take the column with the largest similarity and compare it with i.")
        _fail(exercise, f"accuracy is {got:.4f}, expected {expected:.4f}.", hint)
    _passed(exercise, f"{expected:.1%} of the captions retrieve their own image first "
                      f"(chance: {1 / len(S):.1%}).")


def check_zero_shot(predictions: Any, similarity: Any) -> None:
    """Exercise 1.3: zero-shot labels, ``predictions[j] = argmax_i S[i, j]`` over prompts i.

    ``similarity`` is (n_prompts, n_images): rows are the prompts (texts), columns the images.
    """
    exercise = "Exercise 1.3 (zero-shot classification)"
    S = to_numpy(similarity)
    expected = S.argmax(axis=0)
    got = _as_array(exercise, "predictions", predictions)
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


def check_additive_part(additive: Any, similarity: Any) -> None:
    """Exercise 1.4: the additive part of a similarity matrix (N, N), the matrix minus its interaction.

    ``S_add[i, j] = mean_j' S[i, j'] + mean_i' S[i', j] - mean S``: row mean + column mean - grand mean.
    """
    exercise = "Exercise 1.4 (the additive part of S)"
    from grounding_kit.analysis import decompose

    S = to_numpy(similarity)
    expected = to_numpy(decompose(S).additive())
    got = _as_array(exercise, "S_add", additive)
    _expect_shape(exercise, "S_add", got, expected.shape,
                  "one value per cell of S: broadcast the row means (N, 1) and the column means (1, N).")
    if not _close(got, expected, 1e-6):
        rows, cols = S.mean(axis=1, keepdims=True), S.mean(axis=0, keepdims=True)
        hint = ("you added the row and column means but forgot to subtract the grand mean."
                if _close(got, rows + cols, 1e-6) else
                "that is the interaction residual (S minus its additive part); the exercise asks for the "
                "additive part itself." if _close(got, S - expected, 1e-6) else
                "S.mean(axis=1, keepdims=True) + S.mean(axis=0, keepdims=True) - S.mean().")
        _fail(exercise, f"the values differ: {_first_difference(got, expected)}.", hint)
    _passed(exercise, "in every row the images now rank in the same order: the image effect alone decides.")


def check_recall_prediction(prediction: Any, additive: Any, *, tolerance: float = 0.02) -> None:
    """Exercise 1.4 (second part): predict, as a fraction, the text -> image recall@1 of ``additive`` (N, N).

    Within ``tolerance`` of ``recall_at_k(additive, 1)`` passes; the feedback explains the value.
    """
    exercise = "Exercise 1.4 (predict: retrieval without the interaction)"
    from grounding_kit.analysis import recall_at_k

    S = to_numpy(additive)
    expected = recall_at_k(S, 1)
    got = _as_fraction(exercise, "predicted_recall", prediction, "a recall is a fraction between 0 and 1.")
    if abs(got - expected) > tolerance:
        _fail(exercise, f"the measured recall@1 is not {got:.3f}.",
              "in S_add, does caption i rank the images differently from caption k? Then how many "
              "captions can find their own image first?")
    _passed(exercise, f"recall@1 {expected:.3f}, chance {1 / len(S):.3f}: every caption ranks the images in "
                      "the same order, so one image is everybody's first choice.")


# ---------------------------------------------------------------- 02 additive vs interactive

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
    _expect_shape(exercise, "G", got, expected.shape,
                  "one row per text and one column per image: make f_t a column and f_v a row.")
    if _close(got, expected / 2, 1e-9):
        _fail(exercise, "you averaged the two parts; an additive model adds them.",
              "f(t, v) = f_t(t) + f_v(v): add, don't average.")
    if _close(got, image[:, None] + text[None, :], 1e-9) and not _close(got, expected, 1e-9):
        _fail(exercise, "your grid is transposed.", "rows are texts (f_t), columns are images (f_v).")
    if not _close(got, expected, 1e-9):
        _fail(exercise, f"the values differ: {_first_difference(got, expected)}.",
              "G[i, j] = f_t[i] + f_v[j]; a column of shape (N, 1) plus a row of shape (1, N) broadcasts to the grid.")
    _passed(exercise, "each row is the same curve shifted up or down: the signature of additivity.")


def check_accuracy(accuracy: Any, logits: Any, labels: Any) -> None:
    """Exercise 2.3: accuracy of the argmax of ``logits`` (N, C) against integer ``labels`` (N,)."""
    exercise = "Exercise 2.3 (accuracy)"
    from grounding_kit.analysis import accuracy as accuracy_of

    scores, truth = to_numpy(logits), to_numpy(labels)
    check_labels_in_range(truth, scores.shape[-1])
    expected = accuracy_of(truth.astype(np.int64), scores)
    got = _as_fraction(exercise, "accuracy", accuracy,
                       "a fraction between 0 and 1: the mean of (predictions == labels).")
    if abs(got - expected) > 1e-6:
        hint = ("predictions are logits.argmax(axis=-1) (over the classes); compare them with the "
                "labels and take the mean.")
        _fail(exercise, f"accuracy is {got:.4f}, expected {expected:.4f}.", hint)
    _passed(exercise, f"accuracy {expected:.3f}.")


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
    _expect_shape(exercise, "residual", got, expected.shape, "the residual has the shape of P.")
    if not _close(got, expected, 1e-6):
        grand = grid.mean(axis=(0, 1))
        no_grand = grid - grid.mean(axis=1, keepdims=True) - grid.mean(axis=0, keepdims=True)
        hint = ("you subtracted both means but forgot to add the grand mean back (it was removed twice)."
                if _close(got, no_grand, 1e-6) else
                "check the sign of the grand mean: P - row means - column means + grand mean."
                if _close(got, no_grand - grand, 1e-6) else
                _GRAND_OVER_CLASSES if grid.ndim == 3 and grid.shape[2] > 1
                and _close(got, no_grand + grid.mean(), 1e-6) else
                "row means: P.mean(axis=1, keepdims=True); column means: P.mean(axis=0, keepdims=True).")
        _fail(exercise, f"the values differ: {_first_difference(got, expected)}.", hint)
    share = float((expected ** 2).sum() / max(((grid - grid.mean(axis=(0, 1))) ** 2).sum(), 1e-300))
    _passed(exercise, f"{share:.0%} of this grid's variation is interaction.")


#: the options of exercise 2.4 (what the "beats the ensemble" table will show)
ENSEMBLE_OPTIONS = {
    "a": "the ensemble keeps up with the fancy method",
    "b": "the fancy method wins, and its EMAP falls back to the ensemble (the win is from interactions)",
    "c": "the fancy method wins, and its EMAP keeps the win (the win is not from interactions)",
}


def check_ensemble_prediction(answer: Any, table: Any, *, margin: float = 0.02) -> None:
    """Exercise 2.4: predict the "beats the ensemble" table; the right option is read off ``table``.

    ``table`` has one row per seed and the columns "linear ensemble", "fancy method" and
    "fancy's EMAP" (accuracies). "a" unless the fancy method leads the ensemble by ``margin`` on
    every seed; then "c" when its EMAP keeps at least half of the lead on every seed, else "b".
    """
    exercise = "Exercise 2.4 (predict: does beating the ensemble show interactions?)"
    lead = table["fancy method"] - table["linear ensemble"]
    kept = table["fancy's EMAP"] - table["linear ensemble"]
    correct = "a" if not (lead >= margin).all() else "c" if (kept >= lead / 2).all() else "b"
    why = (f"the fancy method leads by {lead.min():+.3f} to {lead.max():+.3f} and its EMAP by "
           f"{kept.min():+.3f} to {kept.max():+.3f} over the seeds.")
    _choice(exercise, answer, ENSEMBLE_OPTIONS, correct, why)


# ---------------------------------------------------------------- 03 rebalancing

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
                       "a fraction between 0 and 1: the number of right answers divided by the number of questions.")
    overall = Counter(answers).most_common(1)[0][1] / len(answers)
    if abs(got - expected) > 1e-6:
        hint = ("that is the accuracy of answering every question with the single most common answer; "
                "the blind baseline picks the most common answer *per question*."
                if abs(got - overall) < 1e-6 else
                "group the answers by question (e.g. with collections.Counter), take each group's most "
                "common answer, and count how often it is right.")
        _fail(exercise, f"accuracy is {got:.4f}, expected {expected:.4f}.", hint)
    _passed(exercise, f"a model that never looks at the image gets {expected:.1%}.")


def check_answer_entropy(entropy: Any, answers: Iterable[Any]) -> None:
    """Exercise 3.2: the Shannon entropy, in bits, of the distribution of ``answers``."""
    exercise = "Exercise 3.2 (answer entropy)"
    from grounding_kit.world.rebalancing import entropy_bits

    answers = list(answers)
    expected, kinds = entropy_bits(answers), len(set(answers))
    got = _as_number(exercise, "entropy", entropy)
    if abs(got - expected) > 1e-6:
        hint = ("that is the entropy in nats; use log base 2 (np.log2) for bits."
                if abs(got - expected * np.log(2)) < 1e-6 else
                "the sign is flipped: H = -sum p log2 p is never negative."
                if abs(got + expected) < 1e-6 else
                "turn the answer counts into probabilities p (they sum to 1), then H = -sum(p * log2(p)).")
        _fail(exercise, f"entropy is {got:.4f} bits, expected {expected:.4f}.", hint)
    _passed(exercise, f"{expected:.2f} bits (uniform over {kinds} answers would be {np.log2(kinds):.2f}).")


#: the options of exercise 3.4 (the cross-fitted blind baseline after rebalancing)
BLIND_OPTIONS = {"above": "above chance", "at": "at chance", "below": "below chance"}


def check_blind_prediction(answer: Any, report: Any, question_type: str = "color", *,
                           tolerance: float = 0.01) -> None:
    """Exercise 3.4: predict where the cross-fitted blind baseline lands after rebalancing.

    Reads ``question_only_after`` and ``chance`` of ``question_type`` from a ``rebalance_report``
    table; "at" means within ``tolerance`` of chance.
    """
    exercise = "Exercise 3.4 (predict: a blind baseline after rebalancing)"
    got, chance = float(report.loc[question_type, "question_only_after"]), float(report.loc[question_type, "chance"])
    correct = "at" if abs(got - chance) <= tolerance else "above" if got > chance else "below"
    why = (f"{question_type} questions: {got:.3f} against chance {chance:.3f}. The baseline's pick is the "
           "answer that is over-represented in its training half, hence under-represented where it is scored.")
    _choice(exercise, answer, BLIND_OPTIONS, correct, why)


# ---------------------------------------------------------------- 04 EMAP

#: The worked example of EMAP: (3, 3) logits, rows texts, columns images. The paper's appendix
#: gives only the original predictions (the diagonal: -1.3, 3.0, 0.7) and their projections
#: (-0.8, 2.1, 0.5); the off-diagonal cells are reconstructed to match them (the same grid as the
#: EMAP engine's golden test).
EMAP_EXAMPLE = np.array([[-1.3, 0.2, -0.1],
                         [0.9, 3.0, 0.9],
                         [1.0, 0.1, 0.7]])


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


def check_emap_function(my_emap: Callable[[np.ndarray], Any]) -> None:
    """Exercise 4.1: ``my_emap(P)`` maps logits (N, N, C) to the projected predictions (N, C).

    Tried on a worked example, on random (N, N, C) grids, and on an (N, N) grid, against ``gk.emap``.
    """
    exercise = "Exercise 4.1 (EMAP)"
    from grounding_kit.analysis import emap

    if not callable(my_emap):
        _fail(exercise, f"`my_emap` should be a function, but it is {_describe(my_emap)}.",
              "define it with `def my_emap(P): ...` and return the projection.")
    rng = np.random.default_rng(0)
    cases = [("the worked example (3 x 3 x 1)", EMAP_EXAMPLE[:, :, None]),
             ("a random 5 x 5 x 3 grid", rng.normal(size=(5, 5, 3))),
             ("a random 7 x 7 x 2 grid", rng.normal(size=(7, 7, 2)))]
    for label, P in cases:
        expected = to_numpy(emap(P))
        try:
            result = my_emap(P.copy())
        except NotImplementedError:
            _fail(exercise, "my_emap still raises NotImplementedError.", "replace it with your code.")
        got = _as_array(exercise, "my_emap(P)", result)
        if got.shape == expected.shape[:1] and expected.shape[1] == 1:
            got = got[:, None]
        _expect_shape(exercise, f"my_emap(P) on {label}", got, expected.shape,
                      "average over one axis of the grid at a time (axis=0 or axis=1), keeping the "
                      "class axis: the result has one row per pair.")
        if not _close(got, expected, 1e-6):
            _fail(exercise, f"on {label} {_first_difference(got, expected)}.", _emap_hint(got, P))
    _passed(exercise, "your EMAP agrees with gk.emap on every test grid.")


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


def check_interaction_share(share: Any, P: Any) -> None:
    """Exercise 4.3: the interaction share of a grid: sum(residual^2) / sum((P - grand mean)^2) per class."""
    exercise = "Exercise 4.3 (interaction share)"
    from grounding_kit.analysis import decompose

    grid = to_numpy(P)
    expected = to_numpy(decompose(grid).interaction_share)
    got = _as_array(exercise, "share", share)
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


def check_gap_prediction(prediction: Any, report: Any, *, perceptual: float | None = None,
                         tolerance: float = 0.01) -> None:
    """Exercise 4.4: predict a model's ``model - EMAP`` gap as a number, read off an ``emap_report``.

    ``perceptual`` (optional) is the model's perceptual score, to catch the answer that confuses
    "uses a modality" with "combines the modalities".
    """
    exercise = "Exercise 4.4 (predict: the additive head's EMAP gap)"
    expected = float(report.attrs["difference"])
    got = _as_number(exercise, "predicted_gap", prediction)
    if abs(got - expected) > tolerance:
        hint = ("that is about the perceptual score: it measures whether the model uses a modality, "
                "not whether it combines them." if perceptual is not None and abs(got - perceptual) < 0.05 else
                "what does EMAP remove from a model, and what is there to remove in f_t(t) + f_v(v)?")
        _fail(exercise, f"the measured gap is not {got:+.3f}.", hint)
    _passed(exercise, f"model - EMAP = {expected:+.3f}: an additive model is its own projection.")


# ---------------------------------------------------------------- 05 scaling up

def check_columns_above(answer: Iterable[str], table: Any, *, row: str, baseline: str,
                        exercise: str = "Exercise 5.1 (reading a results table)") -> None:
    """Exercise 5.1: the columns of ``table`` (a pandas DataFrame) where ``row`` beats ``baseline``.

    A missing value on either side is not a win. ``exercise`` names the exercise in the messages
    (the check serves 5.1 and 5.3).
    """
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


def check_emap_gap(gap: Any, report: Any, *, row: str = "full model", against: str = "EMAP",
                   column: str = "score") -> None:
    """Exercise 5.2: the model's score minus its EMAP's score, read off an ``emap_report`` table."""
    exercise = "Exercise 5.2 (the EMAP gap)"
    expected = float(report.loc[row, column]) - float(report.loc[against, column])
    got = _as_number(exercise, "gap", gap)
    if abs(got - expected) > 1e-9:
        hint = ("the sign is flipped: model minus EMAP." if abs(got + expected) < 1e-9 else
                f"use report.loc[{row!r}, {column!r}] - report.loc[{against!r}, {column!r}].")
        _fail(exercise, f"gap is {got:.4f}, expected {expected:.4f}.", hint)
    _passed(exercise, f"gap {expected:+.3f}. {gap_verdict(report)}")


def gap_verdict(report: Any) -> str:
    """What the interval of model minus EMAP in an ``emap_report`` table rules out, in one sentence.

    Reads ``report.attrs["difference_ci"]`` (the paired bootstrap interval of model minus EMAP) and
    ``report.attrs["level"]``. A large p-value is not evidence of additivity; the interval is: when it
    contains 0, interactions add at most its upper end on this data; when it lies above 0, they add at
    least its lower end; when it lies below 0, the projection beats the model.
    """
    if "difference_ci" not in getattr(report, "attrs", {}):
        raise ValueError("report has no attrs['difference_ci']: pass the table returned by "
                         "gk.emap_report, whose attrs hold the interval of model minus EMAP")
    low, high = (float(v) for v in report.attrs["difference_ci"])
    level = float(report.attrs.get("level", 0.95))
    interval = f"{level:.0%} interval of model - EMAP [{low:+.3f}, {high:+.3f}]"
    if low > 0:
        return (f"{interval} lies above 0: on this data the model's interactions add at least "
                f"{low:+.3f} to the score.")
    if high < 0:
        return f"{interval} lies below 0: the additive projection scores higher than the model."
    return (f"{interval} contains 0: the data show no gain from interactions, and rule out a gain "
            f"larger than {high:+.3f} (not the same as showing the model is additive).")


#: the names of the four PID parts a prediction may name (exercise 7.1)
PID_PARTS = ("redundancy", "unique text", "unique image", "synergy")


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


def check_interaction_index(fn: Callable[[Any], Any]) -> None:
    """Exercise 7.2: ``fn(P)`` returns the Shapley interaction index of text and image, (N, C), for each pair.

    Compared with ``gk.modality_shapley(P, target=None).interactions[:, 0, 1]`` on random grids.
    """
    exercise = "Exercise 7.2 (Shapley interaction index)"
    from grounding_kit.analysis.shapley import modality_shapley

    if not callable(fn):
        _fail(exercise, f"pass your function itself, got {_describe(fn)}.")
    rng = np.random.default_rng(7)
    for shape in ((4, 4, 2), (6, 6, 3)):
        P = rng.normal(size=shape)
        expected = modality_shapley(P, target=None).interactions[:, 0, 1]
        got = _as_array(exercise, "my_interaction_index(P)", fn(P))
        _expect_shape(exercise, "my_interaction_index(P)", got, expected.shape, "one value per pair and class: (N, C).")
        if not _close(got, expected, 1e-9):
            _fail(exercise, f"on a random {shape} grid your index differs from the kit's by up to "
                            f"{np.abs(got - expected).max():.3g}.",
                  "v(both) - v(text) - v(image) + v(none): P[i, i] minus the row mean minus the column mean plus the grand mean.")
    _passed(exercise, "your index is the interaction term of decompose(P) on each pair's own cell.")
