"""The short questionnaire that ends each notebook (as fastbook's chapters end), with instant checks.

Each question has options, one right answer and an explanation that the check prints when the
answer is wrong. A notebook shows its questions with :func:`questionnaire_markdown` and checks a
student's answers with ``grounding_kit.exercises.checks.check_questionnaire``. Open discussion
questions and their model answers are in the instructor's guide (``docs/instructor.md``), not here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One multiple-choice question: ``options`` maps a letter to its text; ``answer`` is a letter."""

    text: str
    options: dict[str, str]
    answer: str
    why: str


QUESTIONNAIRES: dict[str, tuple[Question, ...]] = {
    "00": (
        Question("With `MODEL = \"tiny-shapes\"` and no network, whose results do the notebooks show?",
                 {"a": "a real CLIP's and a real ViLT's", "b": "the kit's tiny models on its shapes world",
                  "c": "Hessel and Lee's, recomputed"}, "b",
                 "offline, every measured number comes from the tiny models that ship in data/models/; "
                 "a real model needs network and a changed MODEL line."),
        Question("Which numbers in the notebooks are typed in rather than computed by the kit?",
                 {"a": "none", "b": "the results tables of published papers, each naming its source",
                  "c": "every accuracy"}, "b",
                 "the literature results quoted in notebooks 03 to 06 name their paper and table or slide; "
                 "everything else is measured when the notebook runs."),
        Question("You skip exercise 2.1 and run the rest of notebook 02. What happens where a later cell needs G?",
                 {"a": "the notebook stops with an error", "b": "the kit's G is used and one line says so",
                  "c": "G is silently set to zeros"}, "b",
                 "own_or_kit keeps your answer when its check passes and otherwise uses the kit's value, "
                 "saying so in one line."),
    ),
    "01": (
        Question("Giving each caption another caption's image does what to S (rows texts, columns images)?",
                 {"a": "permutes its rows", "b": "permutes its columns", "c": "changes its values"}, "b",
                 "each image moves to another column; every similarity is still in the matrix."),
        Question("What recall at 1 can the additive part S_add (row mean + column mean - grand mean) reach?",
                 {"a": "at most 1/N", "b": "the same as S", "c": "about 0.5"}, "a",
                 "every row of S_add ranks the images in the same order, so one image is every caption's "
                 "top pick: right for at most one of the N captions."),
        Question("CLIP's loss on a batch of N pairs is",
                 {"a": "a cross-entropy over each row and each column of s * S, with the diagonal as the right "
                       "answer", "b": "a regression of the cosine onto 0/1 labels",
                  "c": "a cross-entropy over the rows only"}, "a",
                 "the loss is symmetric: image-to-text and text-to-image, averaged (Radford et al., 2021)."),
        Question("A CLIP whose loss on a batch equals log N",
                 {"a": "retrieves perfectly", "b": "does no better than a uniform guess among the N candidates",
                  "c": "has a negative temperature"}, "b",
                 "a uniform distribution over N candidates has cross-entropy log N."),
    ),
    "02": (
        Question("Which model is multimodally additive?",
                 {"a": "MLP_t(t) + MLP_v(v)", "b": "t^T W v", "c": "MLP([t; v])"}, "a",
                 "however deep each part, the two never meet before the final sum."),
        Question("A model beats a linear model on [t; v]. What does that show about cross-modal interactions?",
                 {"a": "the model uses them", "b": "nothing yet: it may win by capacity, optimisation or "
                  "nonlinear unimodal parts; compare it with its own projection"}, "b",
                 "on the uniformity task the interactive head wins while its EMAP keeps the win."),
        Question("On the additive task with image_rule=\"uniformity\", how good is the best image-only classifier?",
                 {"a": "at chance", "b": "as good as the best classifier (the Bayes rate)",
                  "c": "worse than the linear head"}, "b",
                 "the image term is at least as strong as any sentiment word, so the text never changes "
                 "the best guess (gk.world.bayes_rates)."),
        Question("The interaction residual of an additive grid G[i, j] = f_t[i] + f_v[j] is",
                 {"a": "zero everywhere", "b": "the grand mean", "c": "the diagonal of G"}, "a",
                 "removing the row and column means removes everything an additive grid holds."),
    ),
    "03": (
        Question("What did Goyal et al. (CVPR 2017) do to VQA?",
                 {"a": "removed every language prior", "b": "made it more balanced with complementary images; "
                  "models that exploit priors score lower on it, but priors remain"}, "b",
                 "their dataset is 'by construction more balanced', not exactly balanced."),
        Question("By default, gk.rebalance adds complements until",
                 {"a": "each question has one complement, as in VQA v2",
                  "b": "each question's answers are exactly equally frequent"}, "b",
                 "the default goes further than VQA v2; mode=\"pairs\" adds one complement per question."),
        Question("After exact balancing, a cross-fitted blind baseline scores below chance. This is",
                 {"a": "a bug in the estimate", "b": "what exact balance looks like to a held-out estimate"}, "b",
                 "the answer over-represented in the training half is under-represented in the held-out half."),
        Question("Why can the Twitter sentiment task (T-ST2) not be rebalanced like VQA?",
                 {"a": "it is too small", "b": "no one can collect a similar post image on which the same tweet "
                  "has the other sentiment"}, "b",
                 "the label is a fact about one post; there is no complementary image to collect."),
    ),
    "04": (
        Question("EMAP of an additive model f_t(t) + f_v(v) is",
                 {"a": "the model itself", "b": "the grand mean", "c": "zero"}, "a",
                 "an additive grid has no interaction to remove (exercise 4.4)."),
        Question("Over which (text, image) pairs does EMAP average the model?",
                 {"a": "the observed pairs, as often as they occur",
                  "b": "every combination of a test text with a test image, equally weighted, including pairs "
                       "that never occur together"}, "b",
                 "EMAP projects under the product of the empirical marginals ('What EMAP is not')."),
        Question("A model scores far above its EMAP. What follows?",
                 {"a": "its score rests on its interaction part over all combinations of these texts and images",
                  "b": "no additive model can do well on this task"}, "a",
                 "EMAP projects this model; a trained additive head can do better than a projection."),
        Question("emap_report's interval of model - EMAP covers",
                 {"a": "resampling the test items, with the projection held fixed",
                  "b": "resampling items, re-estimating the projection, and retraining the model"}, "a",
                 "the training seed's spread and the re-estimation of the marginals are not in it."),
        Question("To claim 'interactions are not needed here', you need",
                 {"a": "a large p-value of model vs EMAP",
                  "b": "an interval of model - EMAP inside a margin fixed before looking (an equivalence test)"},
                 "b", "absence of evidence is not evidence of absence; equivalence needs a margin."),
    ),
    "05": (
        Question("The talk's audio example, 1,000 hours of speech for wav2vec 2.0, is",
                 {"a": "paired with transcripts", "b": "unpaired: audio alone"}, "b",
                 "untranscribed speech: wav2vec 2.0 learns from audio without text."),
        Question("Before EMAP can be computed for a generative model such as Flamingo",
                 {"a": "nothing: read its logits", "b": "each text-image combination needs a score over a fixed "
                  "set of outputs, e.g. the log-likelihood of each candidate answer"}, "b",
                 "a generator has no fixed label space; EMAP projects scores, so a scoring step comes first."),
        Question("Exact EMAP on N = 500 test pairs costs how many forward passes of a single-stream model?",
                 {"a": "500", "b": "1,000", "c": "250,000"}, "c",
                 "every text with every image: N x N."),
    ),
    "06": (
        Question("How does the pivot (VIP-ANT's idea) learn to name a sound?",
                 {"a": "from sounds paired with captions", "b": "by matching each sound to the image it came "
                  "with; CLIP's text tower, already matched to images, then names it", "c": "from the sound's loudness"},
                 "b", "no audio-text pair is used: audio is aligned to images, images are aligned to text."),
        Question("For a model of three modalities, EMAP at item i is the sum of the three partial dependences minus",
                 {"a": "the grand mean once", "b": "the grand mean twice (M - 1 times)", "c": "nothing"}, "b",
                 "each partial dependence holds the grand mean once; an additive function is returned unchanged "
                 "only when M - 1 of them are taken away."),
        Question("A head's label needs all three modalities. What must its decomposition show?",
                 {"a": "a large three-way term", "b": "an EMAP at chance, but possibly no three-way term: pairwise "
                  "interactions can carry it", "c": "no interaction at all"}, "b",
                 "on all_three the interaction sits in the three pairs and the three-way rest is close to 0."),
    ),
    "07": (
        Question("PID (partial information decomposition) describes",
                 {"a": "the data: what the modalities tell about the label, alone and together",
                  "b": "a trained model's use of interactions"}, "a",
                 "PID is computed from the joint distribution of the modalities and the label; no model enters."),
        Question("On the synergy task PID finds one bit of synergy, and an additive head's accuracy - EMAP is "
                 "exactly 0. Which is wrong?",
                 {"a": "PID", "b": "EMAP", "c": "neither: the task needs interactions, this model uses none"}, "c",
                 "a data measure and a model measure answer different questions."),
        Question("Permuting the images costs a head much accuracy (a large image perceptual score). Does the head "
                 "use cross-modal interactions?",
                 {"a": "yes", "b": "not necessarily: an additive head that reads the image loses accuracy too"}, "b",
                 "the perceptual score measures the use of a modality, not whether the modalities are combined; "
                 "accuracy - EMAP and the InterSHAP-style score look at interactions (notebook 04, exercise 4.4)."),
    ),
}


def questionnaire_markdown(notebook: str) -> str:
    """The questions of ``notebook`` ("00" .. "07") as Markdown, numbered, with lettered options.

    Raises
    ------
    ValueError
        If ``notebook`` has no questionnaire.
    """
    if notebook not in QUESTIONNAIRES:
        raise ValueError(f"no questionnaire for notebook {notebook!r}; known: {sorted(QUESTIONNAIRES)}")
    lines = []
    for number, question in enumerate(QUESTIONNAIRES[notebook], start=1):
        options = "; ".join(f"**{key}**) {text}" for key, text in question.options.items())
        lines.append(f"{number}. {question.text} {options}")
    return "\n".join(lines)
