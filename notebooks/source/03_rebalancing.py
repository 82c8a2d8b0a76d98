# Source of notebooks/03_rebalancing.ipynb: edit here, then `python -m grounding_kit.course build`.

# %% [markdown] slide
# # 03 · Language priors and rebalancing
#
# **Lecture unit, about 20 minutes.** By the end you can
#
# * explain what a *language prior* is and why it lets a VQA model ignore the image;
# * measure it with a *blind* (question-only) baseline and with the entropy of the answers;
# * rebalance a dataset with complementary pairs (Goyal et al., CVPR 2017) and check the result;
# * say why many real image+text tasks **cannot** be rebalanced, which motivates notebook 04.

# %% [markdown] slide
# ## Language priors
#
# Goyal, Khot, Summers-Stay, Batra and Parikh, *Making the V in VQA Matter: Elevating the Role of Image
# Understanding in Visual Question Answering* (CVPR 2017), start from this observation (their abstract):
# "inherent structure in our world and bias in our language tend to be a simpler signal for learning
# than visual modalities, resulting in models that ignore visual information". In the original VQA
# dataset a model could score well from the question alone. Goyal et al. made the dataset **more
# balanced** with **complementary pairs**: for a question and its image they collected a *similar*
# image on which the same question has a *different* answer. Their balanced dataset (VQA v2) is, in
# their words, "by construction more balanced than the original VQA dataset", and the models they
# tested scored lower on it, which they read as evidence that those models had exploited language
# priors. More balanced is not prior-free: each question has one complement, not every answer.
#
# | question | image 1 | complementary image 2 |
# |---|---|---|
# | Who is wearing glasses? | man | woman |
# | Where is the child sitting? | fridge | arms |
# | Is the umbrella upside down? | yes | no |
# | How many children are in the bed? | 2 | 1 |
#
# (The talk's examples of complementary pairs from Goyal et al.) For such a pair the question alone
# cannot tell the two images' answers apart. The same design idea shaped NLVR2 (Suhr et al., 2019) and
# GQA (Hudson and Manning, 2019). Even on balanced VQA v2, Hessel and Lee's additive projection of
# LXMERT scores 40.5 against a constant predictor's 23.4 (notebook 04, from the talk's slide): an
# additive function of question and image still carries much of the signal there.

# %% [markdown] slide
# ## A VQA task with a prior dial
#
# `gk.make_task("vqa", prior=p)` asks questions about shape scenes (colour, shape, count, exists,
# left/right). With `prior=0` the answers of each question are spread out; as `prior` grows, each
# question's answers drift towards one favoured answer: the kind of language prior Goyal et al. set
# out to reduce.

# %% -
from collections import Counter

import numpy as np
import pandas as pd

import grounding_kit as gk
from grounding_kit.exercises.checks import BLIND_OPTIONS, check_answer_entropy, check_blind_accuracy, check_blind_prediction
from grounding_kit.exercises.fallbacks import own_or_kit

MODEL = "tiny-shapes-vqa"  # online e.g. "dandelin/vilt-b32-finetuned-vqa" (needs network)
N = 600
claims = {}  # measured values the text below relies on (tests/test_notebook_claims.py checks them)
biased = gk.make_task("vqa", n=N, seed=0, prior=0.9)
questions, answers = biased["text"], biased["answer"]
pd.DataFrame({"question": questions[:6], "answer": answers[:6], "type": biased["question_type"][:6]})

# %% [markdown] slide
# ## Exercise 3.1: the blind baseline
#
# Write `blind_accuracy(questions, answers)`: a model that never sees the image answers each question
# with the answer it has most often for that exact question text. Return how often it is right on the
# same data (a `collections.Counter` per question helps).

# %% - exercise=3.1
def blind_accuracy(questions, answers):
    """Accuracy of answering each question with its most common answer (same data)."""
    ### BEGIN SOLUTION
    by_question = {}
    for question, answer in zip(questions, answers):
        by_question.setdefault(question, Counter())[answer] += 1
    hits = sum(counter.most_common(1)[0][1] for counter in by_question.values())
    return hits / len(answers)
    ### END SOLUTION


blind_biased = blind_accuracy(questions, answers)

# %% - check=3.1 points=2
check_blind_accuracy(blind_biased, questions, answers)
### BEGIN HIDDEN TESTS
unseen = gk.make_task("vqa", n=200, seed=1, prior=0.5)  # graded on data the student never saw
check_blind_accuracy(blind_accuracy(unseen["text"], unseen["answer"]), unseen["text"], unseen["answer"])
### END HIDDEN TESTS

# %% - fallback=3.1
blind_accuracy = own_or_kit("3.1", "blind_accuracy", questions, answers)
blind_biased = own_or_kit("3.1", "blind_biased", questions, answers)

# %% [markdown] notes
# Computed on the data it was fitted on, this is optimistic for rare questions; the kit's
# `gk.world.question_only_accuracy` cross-fits over folds, and the tables below use it.

# %% [markdown] slide
# ## Exercise 3.2: how predictable are the answers?
#
# The entropy of a question type's answers says how much there is left to learn after reading the
# question: 0 bits means the answer is fixed, $\log_2 k$ bits means all $k$ answers are equally likely.
# Compute the entropy, in bits, of the answers to the **colour** questions.

# %% - exercise=3.2
colour_answers = [a for a, t in zip(answers, biased["question_type"]) if t == "color"]
### BEGIN SOLUTION
counts = np.array(list(Counter(colour_answers).values()), dtype=float)
p = counts / counts.sum()
colour_entropy = float(-(p * np.log2(p)).sum())
### END SOLUTION

# %% - check=3.2 points=1
check_answer_entropy(colour_entropy, colour_answers)

# %% [markdown] slide
# ## The prior dial
#
# The widget below builds the VQA task at several prior strengths, with and without rebalancing, and
# shows each question type's answer histogram, the blind baseline and the kit's tiny VQA model (a ViLT
# that looks at the image). Turn the prior up and watch the blind baseline: where it climbs towards the
# full model, a good score no longer proves that the image was used.

# %% -
vqa = gk.load_vqa(MODEL)
gk.widgets.rebalancing_lab(vqa, priors=(0.0, 0.5, 0.9), n=80, seed=0)

# %% [markdown] slide
# ## Rebalancing by complementary pairs
#
# `gk.rebalance(ds)` adds, for each question, minimally edited scenes (one object recoloured, reshaped,
# added, removed, or two swapped) on which the same question has another answer, until each question's
# answers are **exactly** equally frequent. That default goes further than VQA v2, which added one
# complementary image per question and ended up more balanced, not exactly balanced;
# `gk.rebalance(ds, mode="pairs")` does the one-complement version (homework 1). Before and after, per
# question type, with the default:

# %% -
balanced = gk.rebalance(biased, seed=0)
report = gk.world.rebalance_report(biased, balanced, seed=0)
claims["rebalance_report"] = report[["entropy_after", "max_entropy", "question_only_after", "chance"]].to_dict()

# %% [markdown] subslide
# ## Exercise 3.3: the blind baseline after rebalancing
#
# Use your `blind_accuracy` on the rebalanced data. Before you run it: what do you expect?

# %% - exercise=3.3
### BEGIN SOLUTION
blind_balanced = blind_accuracy(balanced["text"], balanced["answer"])
### END SOLUTION

# %% - check=3.3 points=1
check_blind_accuracy(blind_balanced, balanced["text"], balanced["answer"],
                     exercise="Exercise 3.3 (blind baseline after rebalancing)")

# %% - fallback=3.3
blind_balanced = own_or_kit("3.3", "blind_balanced", balanced["text"], balanced["answer"])
print(f"blind baseline: {blind_biased:.1%} before, {blind_balanced:.1%} after rebalancing")

# %% [markdown] subslide
# ## Exercise 3.4: predict the blind baseline after rebalancing
#
# The report is computed but not shown yet. Its `question_only_after` column is a *cross-fitted* blind
# baseline: it learns each question's most common answer on one half of the rebalanced data and is
# scored on the other half. For the **colour** questions, will it land above, at or below chance (one
# over the number of colours)? Set `prediction` to a key of `BLIND_OPTIONS`.

# %% - exercise=3.4
print(BLIND_OPTIONS)
### BEGIN SOLUTION
prediction = "below"
### END SOLUTION

# %% - check=3.4 points=1
check_blind_prediction(prediction, report, "color")

# %% subslide
report[["rows_before", "rows_after", "entropy_before", "entropy_after", "max_entropy",
        "question_only_before", "question_only_after", "chance"]].round(3)

# %% [markdown] subslide
# ## How can a blind model score *below* chance?
#
# Look for question types whose `question_only_after` is below `chance`. The column is cross-fitted
# (`gk.world.question_only_accuracy`): the baseline learns each question's most common answer on one
# half of the data and is scored on the other half. After rebalancing, each question's answers are
# equally frequent over the whole dataset (`entropy_after` at `max_entropy`), so an answer that is
# over-represented in the training half is under-represented in the held-out half: the baseline's pick
# is, systematically, one of the rarer answers where it is scored. A question asked four times with
# answers red, red, blue, blue, split into {red, red, blue} and {blue}, shows it: the blind pick is
# red, and it is wrong on the held-out half. Below chance is what exact balance looks like to a
# cross-fitted estimate, not a sign that the estimate is broken.

# %% -
below = report.index[report["question_only_after"] < report["chance"]].tolist()
print("question types below chance after rebalancing:", below or "none")

# %% [markdown] subslide
# ## What a complementary pair looks like
#
# Each column is one question: on top the original image and its answer, below the edited image that
# the rebalancing added, on which the same question has another answer.

# %% -
import io

import ipywidgets as widgets


def card(row, width=128):
    buffer = io.BytesIO()
    row["image"].save(buffer, format="PNG")
    return widgets.VBox([widgets.Image(value=buffer.getvalue(), width=width, height=width),
                         widgets.HTML(f"<b>{row['answer']}</b>")])

# %% subslide
complements = [i for i, source in enumerate(balanced["source"]) if source == "complement"][:4]
widgets.HBox([widgets.VBox([widgets.HTML(f"<i>{balanced[i]['text']}</i>"),
                            card(balanced[balanced[i]["pair_of"]]), card(balanced[i])],
                           layout=widgets.Layout(width="190px", margin="0 8px"))
              for i in complements])

# %% [markdown] slide
# ## But not every task can be rebalanced
#
# Rebalancing needs a *similar image with a different answer*. For VQA an annotator can find one. For
# many tasks built from what people post online, there is no such image to collect: the label is a
# fact about one post, its author, or its audience. Hessel and Lee (EMNLP 2020) studied seven such tasks:

# %% -
unbalanceable = pd.DataFrame(
    [("Kruk et al. (2019)", "Instagram intent", "classification", "I-INT", 1299),
     ("Kruk et al. (2019)", "Instagram semiotic relation", "classification", "I-SEM", 1299),
     ("Kruk et al. (2019)", "Instagram contextual relation", "classification", "I-CTX", 1299),
     ("Vempala and Preoțiuc-Pietro (2019)", "Twitter visual-ness", "4-way classification", "T-VIS", 4471),
     ("Hessel et al. (2017)", "Reddit popularity", "pairwise ranking", "R-POP", 88_000),
     ("Borth et al. (2013)", "Twitter sentiment", "binary classification", "T-ST1", 603),
     ("Niu et al. (2016)", "Twitter sentiment", "binary classification", "T-ST2", 4511)],
    columns=["proposing work", "task", "structure", "abbreviation", "image+text pairs"],
).set_index("abbreviation")
unbalanceable

# %% [markdown] notes
# Sources: the task list, sizes and abbreviations are the talk's slide of Hessel and Lee (EMNLP 2020),
# with the proposing works aligned to their tasks (the slide's text extraction shifts that column by a
# row). The slide calls all three Instagram tasks "7-way"; Kruk et al. (EMNLP 2019) label the same 1,299
# posts under three separate taxonomies (intent, contextual relation, semiotic relation), and we have
# not checked each taxonomy's number of classes against their paper here, so the table does not state
# it: see Kruk et al. (2019) for the classes.

# %% [markdown] subslide
# ## Discussion
#
# * Why can't we "collect the complementary image" for an Instagram post's intent, or for the
#   popularity of a Reddit post (Hessel et al., 2017)?
# * Vempala and Preoțiuc-Pietro (2019) label whether *the image adds to the tweet's meaning*: this
#   task is about the interaction itself, yet its data cannot be rebalanced.
# * If we cannot change the data, we must test the **model**: does it use interactions, or would an
#   additive function do as well? That is EMAP, notebook 04.
#
# **Homework**
#
# 1. At `prior=0.5`, which question type keeps the most prior after `gk.rebalance(ds, mode="pairs")`
#    (one complement per question, as VQA v2 did)? Why that one?
# 2. Rebalancing equalises each question's answers. Name a shortcut it does *not* remove.

# %% [markdown] - answer=3.H2 points=2
# **Rubric for homework 2 (2 points).** 1 point: a shortcut that does not run through how often each
# question text gets each answer, for example answering from the image alone (for a colour question,
# the colour that covers most of the image) or spotting the edited complement images. 1 point: the
# reason it survives: rebalancing equalises each question's answer frequencies and changes nothing
# else, so any cue outside those frequencies stays.

# %% [markdown] slide
# ## Questionnaire
#
# Answer each question with the letter of one option, as `answers = {1: "a", 2: "c", ...}`; the check
# says which answers are not right yet, and why.

# %% -
from IPython.display import Markdown

from grounding_kit.exercises.checks import check_questionnaire
from grounding_kit.exercises.questionnaires import questionnaire_markdown

Markdown(questionnaire_markdown("03"))

# %% subslide exercise=3.Q
### BEGIN SOLUTION
answers = {1: "b", 2: "b", 3: "b", 4: "b"}
### END SOLUTION

# %% - check=3.Q points=2
check_questionnaire(answers, "03")

# %% [markdown] -
# **For discussion in the room:** On balanced VQA v2, LXMERT's EMAP scores 40.5 and the constant 23.4 (notebook 04, the talk's slide). What additive signal could be left after Goyal et al.'s balancing?
