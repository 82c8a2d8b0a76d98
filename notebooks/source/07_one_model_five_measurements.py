# Source of notebooks/07_one_model_five_measurements.ipynb: edit here, then `python -m grounding_kit.course build`.

# %% [markdown] slide
# # 07 · One model, five measurements
#
# **Lecture unit, about 25 minutes.** By the end you can
#
# * say, for each of five interaction measures, whether it describes the **data** or a **model**;
# * predict the measures on tasks whose answer is known, then check your prediction against one table;
# * explain why two measures can "disagree" and both be right.

# %% [markdown] subslide
# ## Five measures
#
# "Does this model use interactions?" and "does this task need them?" are different questions. The
# field answers them with different tools:
#
# * **PID**, the partial information decomposition (Bertschinger et al., 2014, in the form Liang et
#   al. use in "Quantifying & Modeling Multimodal Interactions", NeurIPS 2023): how the information
#   that text and image carry about the label splits into redundancy, uniqueness and synergy. A
#   property of the *data*.
# * **EMAP** (Hessel & Lee, EMNLP 2020; notebook 04): the model's accuracy minus that of its additive
#   projection. A property of a *model*.
# * **The perceptual score** (Gat et al., 2021): the relative accuracy a *model* loses when one
#   modality is permuted.
# * **MM-SHAP** (Parcalabescu & Frank, ACL 2023): each modality's share of a *model's* prediction,
#   from Shapley values. They take every text token and image patch as a player; here each modality
#   is **one player**, the coarsest version of their share, so its value need not equal theirs.
# * **InterSHAP** (Wenderoth et al., arXiv 2412.15828, 2024): the share of cross-modal interaction
#   in a *model's* Shapley interaction values, each modality one player. Here an "InterSHAP-style"
#   score: an absent modality is averaged over its observed values, where the authors' package
#   replaces it by its mean input, so the two numbers need not agree (`help(gk.interaction_score)`).

# %% [markdown] slide
# ## Four tasks with known answers
#
# Each pair is a caption and an image of one large circle. Two hidden bits decide the label: is the
# colour the caption names warm (red, orange, yellow), and is the colour shown warm?
#
# | task | rule |
# |---|---|
# | `redundant` | caption and image show the same circle; label = its warmth |
# | `unique_text` | label = the caption's warmth; the image shows another circle |
# | `unique_image` | label = the image's warmth; the caption names another circle |
# | `synergy` | label = "both warm or both cool" |

# %% -
import numpy as np
import pandas as pd

import grounding_kit as gk
from grounding_kit.analysis.measures_table import INTERSHAP, MM_SHAP_TEXT
from grounding_kit.exercises.checks import check_interaction_index, check_table_prediction
from grounding_kit.world.pid_tasks import pid_joint

MODEL = "tiny-shapes"  # CLIP for the heads' features; online e.g. "ViT-B-32/laion2b_s34b_b79k"
TASKS = ("redundant", "unique_text", "unique_image", "synergy")
claims = {}  # measured values the text below relies on (tests/test_notebook_claims.py checks them)

# %% [markdown] slide
# ## One call, one table
#
# `gk.interaction_experiment` embeds 400 training and 200 held-out pairs of each task with the tiny
# CLIP, fits an additive and an interactive head on the training pairs, and measures the held-out
# pairs with `gk.interaction_table`: every measure with a 95% interval, and a `describes` column
# saying whether it is a property of the data or of a model. A perceptual score is the mean over 30
# random permutations, and its interval is an interval for that mean (resampling pairs and
# permutations); `help(gk.perceptual_score_interval)` also gives the spread of a single run, one
# permutation, as Gat et al. compute it. The PID of the data is estimated from
# the CLIP features, clustered per modality as Liang et al.'s CVX estimator does
# (`help(gk.pid_features)` gives its bias); `truth` is the exact value.

# %% -
clip = gk.load_clip(MODEL)
table = gk.interaction_experiment(clip, TASKS, n=200, n_train=400, head_options={"epochs": 60},
                                  rounds=30, n_boot=50)
print(f"measured {len(table)} rows; predict them in exercise 7.1 before you look")

# %% [markdown] slide
# ## Exercise 7.1: predict the table
#
# Before looking at the measurements, predict two things for each task:
#
# 1. `largest_part[task]`: the largest PID part of the data, one of `"redundancy"`, `"unique text"`,
#    `"unique image"`, `"synergy"`;
# 2. `additive_falls_short[task]`: `True` if an additive head $g(\text{text}) + h(\text{image})$
#    scores more than 0.1 below an interactive head on held-out pairs, else `False`.
#
# The check compares your prediction with the table just measured; the next cell shows it.

# %% - exercise=7.1
### BEGIN SOLUTION
largest_part = {"redundant": "redundancy", "unique_text": "unique text", "unique_image": "unique image",
                "synergy": "synergy"}
additive_falls_short = {"redundant": False, "unique_text": False, "unique_image": False, "synergy": True}
### END SOLUTION

# %% - check=7.1 points=2
check_table_prediction(largest_part, additive_falls_short, table)

# %% [markdown] slide
# ## The table
#
# The data rows, one column per task (no head enters them):

# %% -
wide = table.pivot_table(index=["describes", "measure"], columns=["task", "model"], values="value", sort=False)
wide.loc["data"].xs("(the data)", axis=1, level="model").round(2)

# %% [markdown] subslide
# The model rows, one column per task and head:

# %% -
wide.loc["model"].drop(columns="(the data)", level="model").round(2)

# %% [markdown] slide
# ## The data rows: PID from features
#
# The exact PID of each task, `gk.pid` on the task's joint table of (text bit, image bit, label)
# (`unique_1` is the text's, `unique_2` the image's):

# %% -
truth = pd.DataFrame({task: gk.pid(pid_joint(task)).as_dict() for task in TASKS}).T
truth[["redundancy", "unique_1", "unique_2", "synergy"]].round(3)

# %% [markdown] subslide
# Each task's PID estimated from the features of its 200 held-out pairs, next to the exact answer:

# %% -
pid_rows = table[table["describes"] == "data"][["task", "measure", "value", "truth", "ci_low", "ci_high"]]
claims["pid_error"] = float((pid_rows["value"] - pid_rows["truth"]).abs().max())
print(f"largest error of the estimated PID: {claims['pid_error']:.3f} bits")
pid_rows.round(3)

# %% subslide
# the same held-out pairs (task_experiment is memoised): how many distinct feature rows per modality
# (equal to 5 decimals: batched float32 encoders differ in the last bits)?
distinct = {task: [len(np.unique(np.round(x.numpy(), 5), axis=0)) for x in (exp.feats_eval.text, exp.feats_eval.image)]
            for task in TASKS for exp in [gk.task_experiment(clip, task, 200, n_train=400, seed=0)]}
claims["distinct_features"] = max(max(counts) for counts in distinct.values())
print("distinct feature rows (text, image) per task:", distinct)

# %% [markdown]
# Every part is within 0.05 bits of the exact value (the largest error is printed above). Here the
# estimate is easy: every object is a large circle, so each modality's features take at most six
# values (one per colour, counted above) and clustering into six loses nothing; what remains is the
# sampling error of 200 pairs. On real features clustering merges values and loses information, and
# too many clusters for the number of pairs invent synergy (`help(gk.pid_features)`).

# %% [markdown] slide
# ## When two measures disagree
#
# On the `synergy` task the data carry one bit of synergy, yet the additive head's accuracy minus
# EMAP is exactly 0. Both are right: PID says the **task** needs interactions; EMAP says **this
# model** uses none.

# %% [markdown] subslide
# Being additive does not by itself force chance: the additive rule "yes when both colours are warm"
# is right on three of the four equally likely combinations of the two bits (the cell computes 0.75
# from the task's joint table). The head scores near chance because of how it was trained: by
# cross-entropy, on a task where swapping warm and cool in either modality flips the label. For any
# additive head $g(t) + h(v)$, its mirror images ($-g$ with the text's warmth swapped and $-h$, and
# likewise for the image) have the same loss; cross-entropy is convex in the logit, so their average,
# the constant logit 0, has no larger loss. The best additive head under cross-entropy is a coin
# flip, and the trained one, fitted to 400 pairs, scores near it.

# %% -
joint = pid_joint("synergy")  # p[a, b, y]: text bit, image bit, label
both_warm = np.array([[0, 0], [0, 1]])  # the additive rule: yes iff a + b > 1.5
claims["additive_rule_accuracy"] = float(sum(joint[a, b, both_warm[a, b]] for a in (0, 1) for b in (0, 1)))
print(f"the additive rule 'both warm' is right with probability {claims['additive_rule_accuracy']:.2f}")

# %% subslide
def value(task, measure, model):
    row = table[(table["task"] == task) & (table["measure"] == measure) & (table["model"] == model)]
    return float(row["value"].iloc[0])


claims["synergy_pid"] = value("synergy", "PID synergy", "(the data)")
claims["synergy_additive_accuracy"] = value("synergy", "accuracy", "additive")
claims["synergy_additive_gap"] = value("synergy", "accuracy - EMAP", "additive")
claims["synergy_additive_share"] = value("synergy", "interaction share", "additive")
claims["synergy_interactive_gap_low"] = float(table[(table["task"] == "synergy") & (table["model"] == "interactive")
                                                    & (table["measure"] == "accuracy - EMAP")]["ci_low"].iloc[0])
claims["synergy_interactive_intershap"] = value("synergy", INTERSHAP, "interactive")
print(f"PID synergy of the data: {claims['synergy_pid']:.2f} bits")
print(f"additive head: accuracy {claims['synergy_additive_accuracy']:.2f}, accuracy - EMAP "
      f"{claims['synergy_additive_gap']:+.3f}, interaction share {claims['synergy_additive_share']:.3f}")
print(f"interactive head: accuracy - EMAP at least {claims['synergy_interactive_gap_low']:.2f} (95% interval), "
      f"InterSHAP-style score {claims['synergy_interactive_intershap']:.2f}")
additive = table[(table["model"] == "additive")
                 & table["measure"].isin(["accuracy - EMAP", "interaction share", INTERSHAP])]
claims["additive_interaction_measures"] = float(additive["value"].abs().max())
print(f"largest interaction measure of the additive head on any task: {claims['additive_interaction_measures']:.1e}")

# %% [markdown]
# The interactive head on the same data uses the interaction: its accuracy minus EMAP is large (the
# lower end of its interval is printed above) and most of its Shapley interaction values are
# cross-modal (the InterSHAP-style score). On every task, the additive head's three interaction
# measures (accuracy − EMAP, interaction share, InterSHAP-style score) are 0 up to the rounding of
# its float32 logits (the largest is printed above, below $10^{-6}$): its logit is $g(t) + h(v)$, so
# there is no interaction to find. A data measure cannot tell you what a model does, and a model
# measure cannot tell you what the data allow.

# %% [markdown] slide
# ## Which modality does a model read?
#
# On `unique_text` only the caption carries the label. The perceptual score and MM-SHAP (one player
# per modality) both see it:

# %% -
claims["unique_text_mmshap"] = min(value("unique_text", MM_SHAP_TEXT, m) for m in ("additive", "interactive"))
claims["unique_image_mmshap"] = max(value("unique_image", MM_SHAP_TEXT, m) for m in ("additive", "interactive"))
claims["unique_text_perceptual_image"] = max(abs(value("unique_text", "perceptual score (image)", m))
                                             for m in ("additive", "interactive"))
claims["unique_text_perceptual_text"] = min(value("unique_text", "perceptual score (text)", m)
                                            for m in ("additive", "interactive"))
print(f"MM-SHAP text share on unique_text: at least {claims['unique_text_mmshap']:.2f}; "
      f"on unique_image: at most {claims['unique_image_mmshap']:.2f}")
print(f"perceptual score on unique_text: text at least {claims['unique_text_perceptual_text']:.2f}, "
      f"image at most {claims['unique_text_perceptual_image']:.2f} in size")

# %% [markdown]
# The two measures answer different questions. The perceptual score asks how much *accuracy* depends
# on a modality: permuting the captions of `unique_text` turns a perfect head into a coin flip (a
# relative drop of about one half), permuting the images costs nothing. MM-SHAP asks how much of the
# *prediction* (the logit) each modality moves, whether or not that helps accuracy.
#
# On `redundant` either modality alone gives the label. Look at the two heads' perceptual scores in
# the table above: a head may read one modality and ignore the other although both carry the answer.
# That is a property of how the head was trained, which PID, a property of the data, cannot show.

# %% [markdown] slide
# ## A dial between redundancy and synergy
#
# `gk.make_task("pid_mix", synergy=s)` follows the synergy rule on a share `s` of its pairs and the
# redundant rule on the rest (in both, the caption names a circle drawn apart from the one shown, so
# the colours do not give the rule away: `help(gk.world.pid_tasks)`). Its exact PID, computed from
# the task's joint table:

# %% -
DIALS = (0.0, 0.25, 0.5, 0.75, 1.0)
dial = pd.DataFrame({s: gk.pid(pid_joint("pid_mix", synergy=s)).as_dict() for s in DIALS}).T
dial.index.name = "synergy dial"
claims["dial_synergy"] = dial["synergy"].tolist()
claims["dial_redundancy"] = dial["redundancy"].tolist()
claims["dial_unique"] = float(dial[["unique_1", "unique_2"]].to_numpy().max())
claims["dial_total"] = dial["total"].tolist()
dial[["redundancy", "unique_1", "unique_2", "synergy", "total"]].round(3)

# %% [markdown]
# As the dial turns, redundancy falls from 1 bit to 0 and synergy rises from 0 to 1, with no
# uniqueness anywhere. The total information is not constant: in between, the same bits can come
# from either rule with different labels (a caption and an image that are both cool mean "no" under
# the redundant rule and "yes" under the synergy rule), and text and image together tell less than
# one bit about the label.

# %% [markdown] subslide
# The same PID measured from data: 200 pairs per setting, embedded with the tiny CLIP and clustered
# per modality as in the table above.

# %% -
measured = {}
for s in DIALS:
    pairs = gk.make_task("pid_mix", n=200, seed=1, synergy=s)
    feats = gk.embed(clip, pairs, progress=False)
    measured[s] = gk.pid_features(feats.text, feats.image, pairs["label"], clusters=6).as_dict()
measured = pd.DataFrame(measured).T
measured.index.name = "synergy dial"
PARTS = ["redundancy", "unique_1", "unique_2", "synergy"]
error = (measured[PARTS] - dial[PARTS]).abs().max(axis=1)
claims["dial_pid_error"] = float(error.max())
claims["dial_ends_error"] = float(error[[0.0, 1.0]].max())
claims["dial_total_error"] = float((measured["total"] - dial["total"]).abs().max())
claims["dial_mi_gap"] = float((measured["mi_1"] - measured["mi_2"]).abs().max())
claims["dial_exact_mi_gap"] = float((dial["mi_1"] - dial["mi_2"]).abs().max())
print(f"largest error of a measured part: {claims['dial_pid_error']:.3f} bits (at the ends: "
      f"{claims['dial_ends_error']:.3f}); of the total: {claims['dial_total_error']:.3f} bits")
measured[PARTS + ["total", "mi_1", "mi_2"]].round(3)

# %% [markdown] subslide
# The total is within 0.05 bits of the exact value at every setting, and at the two ends, where the
# label is a function of the colours, every part is within 0.03 bits. In between, the parts are off
# by more than 0.05 bits, up to about 0.15 (printed above): redundancy moves into uniqueness. By the
# defining equations, `unique_1 - unique_2` equals I(text; label) − I(image; label); the exact
# values are equal, but on 200 pairs the two come out unequal by chance (columns `mi_1`, `mi_2`),
# and the difference is booked as information unique to one modality. A PID part estimated from a
# few hundred pairs needs its interval, as the table above gives one for every task.
#
# The heads are measured on the four tasks of the table only, to keep this notebook within about a
# minute; `gk.interaction_experiment(clip, ["pid_mix"])` measures them at the dial's default setting.

# %% [markdown] slide
# ## What each measure answers
#
# | measure | describes | answers |
# |---|---|---|
# | PID redundancy / unique / synergy | data | what information about the label the modalities carry, alone and together |
# | accuracy - EMAP | model | accuracy the model owes to its cross-modal interactions |
# | interaction share | model | share of the logit grid's variance that no additive function explains |
# | perceptual score | model | relative accuracy lost when one modality is permuted |
# | MM-SHAP (one player per modality) | model | each modality's share of the prediction |
# | InterSHAP-style score (one player per modality) | model | share of cross-modal interaction in the prediction |
#
# %% [markdown] slide
# ## Exercise 7.2: the Shapley interaction index of two modalities
#
# For pair $i$, let a coalition keep the pair's own text, image, both or neither, and average the
# model over the dataset for each modality it drops: $v(\varnothing) = \mu$ (the grand mean),
# $v(\{t\}) = \bar P_{i\cdot}$ (row mean), $v(\{v\}) = \bar P_{\cdot i}$ (column mean),
# $v(\{t, v\}) = P_{ii}$. With two players the Shapley interaction index (Grabisch & Roubens, 1999)
# is $v(\{t, v\}) - v(\{t\}) - v(\{v\}) + v(\varnothing)$.
#
# Write `my_interaction_index(P)` for a grid of shape (N, N, C): return the (N, C) index of every pair.
# Compare it with notebook 04's decomposition: it is $r_{ii}$, the interaction term at the pair's own
# cell, so the prediction minus it is EMAP's prediction (`help(gk.modality_shapley)` derives it).

# %% - exercise=7.2
def my_interaction_index(P):
    """Shapley interaction index of text and image for each pair of a grid P (N, N, C) -> (N, C)."""
    ### BEGIN SOLUTION
    P = np.asarray(P, dtype=float)
    n = len(P)
    return P[np.arange(n), np.arange(n)] - P.mean(axis=1) - P.mean(axis=0) + P.mean(axis=(0, 1))
    ### END SOLUTION

# %% - check=7.2 points=2
check_interaction_index(my_interaction_index)

# %% -
P = np.random.default_rng(0).normal(size=(5, 5, 2))
shapley, parts = gk.modality_shapley(P, target=None), gk.decompose(P)
claims["shapley_is_anova"] = float(np.abs(shapley.interactions[:, 0, 1] - parts.interaction[np.arange(5), np.arange(5)]).max())
claims["shapley_plus_emap"] = float(np.abs(shapley.prediction - shapley.interactions[:, 0, 1] - gk.emap(P)).max())
print(f"largest difference between the Shapley interaction index and the diagonal of decompose(P).interaction: "
      f"{claims['shapley_is_anova']:.1e}; between the prediction minus the index and EMAP: {claims['shapley_plus_emap']:.1e}")

# %% [markdown] slide
# ## Questionnaire
#
# Answer each question with the letter of one option, as `answers = {1: "a", 2: "c", ...}`; the check
# says which answers are not right yet, and why.

# %% -
from IPython.display import Markdown

from grounding_kit.exercises.checks import check_questionnaire
from grounding_kit.exercises.questionnaires import questionnaire_markdown

Markdown(questionnaire_markdown("07"))

# %% subslide exercise=7.Q
### BEGIN SOLUTION
answers = {1: "a", 2: "c", 3: "b"}
### END SOLUTION

# %% - check=7.Q points=2
check_questionnaire(answers, "07")
