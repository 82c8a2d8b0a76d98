# Source of notebooks/04_emap.ipynb: edit here, then `python -m grounding_kit.course build`.

# %% [markdown] slide
# # 04 · EMAP: does my model use cross-modal interactions?
#
# **Lecture unit, about 35 minutes.** By the end you can
#
# * decompose a model's predictions on all text-image combinations into a grand mean, a text effect,
#   an image effect and an interaction;
# * implement the **E**mpirical **M**ultimodally-**A**dditive function **P**rojection (EMAP) and
#   check it against the kit;
# * see that reshuffling the image-text pairs converges to the text and image marginals, from which
#   EMAP is built;
# * report EMAP next to your model, as Hessel and Lee (EMNLP 2020) recommend, and read the paper's
#   results;
# * say what EMAP is not: not the best additive model, not a projection under the data's own
#   distribution of pairs, and not a claim of "no interactions" without an equivalence test.

# %% [markdown] slide
# ## From one prediction to a grid
#
# A model $f(t, v)$ is usually evaluated on the $N$ pairs of a test set, $f(t_i, v_i)$. Evaluate it
# instead on **every** combination: $P_{ij} = f(t_i, v_j)$, an $N \times N$ grid of logits (rows are
# texts, columns images, one grid per class). Every grid splits into four parts:
#
# $$P_{ij} = \underbrace{\mu}_{\text{grand mean}} + \underbrace{a_i}_{\text{text effect}}
#          + \underbrace{b_j}_{\text{image effect}} + \underbrace{r_{ij}}_{\text{interaction}}$$
#
# with $a_i = \bar P_{i\cdot} - \mu$ (row mean minus grand mean), $b_j = \bar P_{\cdot j} - \mu$, and
# $r_{ij}$ the residual of notebook 02. The row mean $\bar P_{i\cdot}$ is the *partial dependence* of
# the model on text $t_i$ (Friedman, 2001): what it predicts for $t_i$ on average over the images.

# %% [markdown] slide
# ## The projection
#
# Drop the interaction and keep the rest. For test pair $i$:
#
# $$\hat f(t_i, v_i) = \frac{1}{N}\sum_j f(t_i, v_j) + \frac{1}{N}\sum_j f(t_j, v_i)
#                    - \frac{1}{N^2}\sum_{j,k} f(t_j, v_k).$$
#
# $\hat f$ is the least-squares additive fit $g(t) + h(v)$ to the model's own logits over the
# $N \times N$ product of the test texts and test images, every combination weighted equally (Hessel
# and Lee, 2020; in the tradition of Friedman, 2001, and Hooker, 2004; exercise 4.5 derives it). It is
# a *projection of this model*, not the best additive model for the task: it never sees the labels.
# If $\hat f$ scores as well as $f$ on the test pairs, this model's accuracy there does not rest on
# its interactions.
#
# The worked example of the paper's appendix (Hessel and Lee, 2020) is the whole 3 x 3 grid below,
# rows texts, columns images: its diagonal holds the original predictions -1.3, 3.0 and 0.7, and
# its EMAP is -0.8, 2.1 and 0.5. The cell below prints the grid and recomputes the projection.

# %% subslide
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

import grounding_kit as gk
from grounding_kit.exercises.checks import (CLAIM_OPTIONS, EMAP_EXAMPLE, PROJECTION_OPTIONS,
                                            check_additive_least_squares, check_effects, check_emap_function,
                                            check_equivalence_claim, check_gap_prediction, check_interaction_share,
                                            check_projection_prediction)

MODEL = "tiny-shapes"  # CLIP for the heads' features; online e.g. "ViT-B-32/laion2b_s34b_b79k"
VQA_MODEL = "tiny-shapes-vqa"  # online e.g. "dandelin/vilt-b32-finetuned-vqa"
claims = {}  # measured values the text below relies on (tests/test_notebook_claims.py checks them)

claims["worked_example"] = {"original": np.diag(EMAP_EXAMPLE).tolist(), "emap": gk.emap(EMAP_EXAMPLE).tolist()}
print(EMAP_EXAMPLE)
print("original:", np.diag(EMAP_EXAMPLE), " EMAP:", gk.emap(EMAP_EXAMPLE).round(2))

# %% [markdown] slide
# ## Exercise 4.1: implement EMAP
#
# Write `my_emap(P)` for a grid `P` of shape (N, N, C): return the (N, C) array of projected
# predictions $\hat f(t_i, v_i)$. Averages only, no loops needed. The check runs your function on the
# worked example and on random grids and compares with `gk.emap`.

# %% - exercise=4.1
def my_emap(P):
    """EMAP of logits P (N, N, C), rows texts, columns images -> (N, C)."""
    ### BEGIN SOLUTION
    P = np.asarray(P, dtype=float)
    return P.mean(axis=1) + P.mean(axis=0) - P.mean(axis=(0, 1))
    ### END SOLUTION

# %% - check=4.1 points=3
check_emap_function(my_emap)
### BEGIN HIDDEN TESTS
unseen = np.random.default_rng(2020).normal(size=(6, 6, 4))  # graded on a grid the student never saw
np.testing.assert_allclose(np.asarray(my_emap(unseen.copy())), gk.emap(unseen), atol=1e-6)
### END HIDDEN TESTS

# %% [markdown] slide
# ## A model whose answer we know
#
# The mixed task (notebook 02) at `interaction=0.5`: half the rows follow an additive rule, half ask
# "does the caption match the image?". We train an additive and an interactive head on CLIP features
# and evaluate both on all pairs of a held-out set.

# %% -
N_TRAIN, N_TEST = 400, 200
clip = gk.load_clip(MODEL)
task = gk.make_task("mixed", n=N_TRAIN + N_TEST, seed=0, interaction=0.5)
exp = gk.experiment(clip, task, test_size=N_TEST, shuffle=False)  # the first N_TRAIN pairs train, the rest test
heads = {kind: exp.head(kind, seed=0) for kind in ("additive", "interactive")}  # gk.fit_head on the train pairs
test_feats, test_labels = exp.feats_eval, exp.labels_eval
P = gk.pairwise_logits(heads["interactive"], test_feats)  # (N, N, C)
tuple(P.shape)

# %% [markdown] slide
# ## The decomposition, drawn
#
# The grid of the interactive head's "yes" logit on the first 40 test pairs, and its four parts.
# The interaction panel is what EMAP throws away.

# %% subslide
parts = gk.decompose(P)
k, yes = 40, 1
panels = {
    "model P[i, j]": P[:k, :k, yes],
    "grand mean": np.full((k, k), float(parts.grand_mean[yes])),
    "text effect a[i]": np.repeat(np.asarray(parts.text_effect[:k, yes])[:, None], k, axis=1),
    "image effect b[j]": np.repeat(np.asarray(parts.image_effect[:k, yes])[None, :], k, axis=0),
    "interaction r[i, j]": parts.interaction[:k, :k, yes],
}
limit = float(np.abs(np.asarray(P[:k, :k, yes])).max())
heatmaps = make_subplots(rows=1, cols=5, subplot_titles=list(panels), horizontal_spacing=0.02)
for column, grid in enumerate(panels.values(), start=1):
    heatmaps.add_trace(go.Heatmap(z=np.asarray(grid), zmin=-limit, zmax=limit, colorscale="RdBu",
                                  showscale=column == 5), row=1, col=column)
heatmaps.update_yaxes(autorange="reversed", showticklabels=False)
heatmaps.update_xaxes(showticklabels=False)
heatmaps.update_layout(height=300, margin={"t": 40, "b": 10})
go.FigureWidget(heatmaps)

# %% [markdown] subslide
# ## Exercise 4.2: the text and image effects
#
# From `P_np` (N, N, C), compute `text_effect` (N, C), each text's row mean minus the grand mean, and
# `image_effect` (N, C), each image's column mean minus the grand mean.

# %% - exercise=4.2
P_np = np.asarray(P, dtype=float)
### BEGIN SOLUTION
grand = P_np.mean(axis=(0, 1))
text_effect = P_np.mean(axis=1) - grand
image_effect = P_np.mean(axis=0) - grand
### END SOLUTION

# %% - check=4.2 points=2
check_effects(text_effect, image_effect, P_np)

# %% [markdown] subslide
# ## Exercise 4.3: how much of the grid is interaction?
#
# The *interaction share* of class c is the sum of the squared residual divided by the sum of squared
# deviations from the grand mean, over the whole grid: the functional-ANOVA variance share of the
# interaction (Hooker, 2004), computed over every combination of test text and test image. Friedman
# and Popescu's (2008) $H^2$ is a different statistic: it evaluates the partial dependences at the
# observed data points only, so when text and image are dependent the two need not agree (this
# notebook does not compare them). Compute the share for every class, an array of shape (C,). Use
# `parts.interaction` or your own residual.

# %% - exercise=4.3
### BEGIN SOLUTION
residual = P_np - P_np.mean(axis=1, keepdims=True) - P_np.mean(axis=0, keepdims=True) + P_np.mean(axis=(0, 1))
share = (residual ** 2).sum(axis=(0, 1)) / ((P_np - P_np.mean(axis=(0, 1))) ** 2).sum(axis=(0, 1))
### END SOLUTION

# %% - check=4.3 points=2
check_interaction_share(share, P_np)

# %% [markdown] slide
# ## Reshuffling converges to the marginals; EMAP adds them up
#
# Reshuffle the images of the test pairs: every caption gets a random image. The model's prediction for
# caption $t_i$ with a random image is one draw of $f(t_i, v_j)$, so **one** running average over
# image reshuffles converges to the *text marginal* $\frac1N\sum_j f(t_i, v_j)$ (the row mean), not
# to EMAP. Reshuffling the texts instead converges to the *image marginal* (the column mean). EMAP is
# text marginal + image marginal - grand mean. The widget keeps both running averages and combines
# them that way: click "reshuffle" and watch the combination approach EMAP, and watch each predictor's
# accuracy as a growing fraction of the pairs breaks.

# %% subslide
lab = gk.widgets.reshuffle_lab(heads["interactive"], test_feats, test_labels, additive=heads["additive"],
                               images=exp.eval_ds["image"], texts=exp.eval_ds["text"], seed=0)
lab

# %% [markdown] subslide
# No time to click? This cell reshuffles 50 times (the plots above update too) and prints how far the
# running average of the reshuffled predictions still is from EMAP: the distance shrinks like
# $1/\sqrt{k}$ after $k$ reshuffles.

# %% -
for more in (1, 1, 3, 5, 10, 30):
    lab.reshuffle(times=more)
    k, gap = lab.experiment.gaps[-1]
    print(f"after {k:2d} reshuffles: mean |running average - EMAP| = {gap:.3f}")
claims["reshuffle_gaps"] = [list(map(float, step)) for step in lab.experiment.gaps]

# %% [markdown] slide
# ## Report EMAP
#
# `gk.emap_report(labels, model, feats)` scores the model, its EMAP, its text-only and image-only
# partial dependences and the constant predictor, with paired bootstrap 95% intervals (the test items
# resampled, the projection held fixed) and a paired test of model vs EMAP. The cell below reports both
# heads on the mixed task, and the *perceptual score* of each modality (Gat et al., 2021: the drop in
# score when that modality is permuted across the test pairs, divided by the model's score;
# `gk.analysis.perceptual_score` computes its exact expectation from the same grid). Nothing is shown
# yet: first, exercise 4.4.

# %% -
reports = {kind: gk.emap_report(test_labels, head, test_feats) for kind, head in heads.items()}
perceptual = {kind: gk.analysis.perceptual_score(test_labels, head, test_feats) for kind, head in heads.items()}
claims["additive_head"] = float(reports["additive"].loc["full model", "score"])
claims["interactive_emap"] = float(reports["interactive"].loc["EMAP", "score"])
claims["perceptual_additive_image"] = float(perceptual["additive"].image)
claims["emap_gap_additive"] = float(reports["additive"].difference)

# %% [markdown] subslide
# ## Exercise 4.4: predict before you look
#
# The additive head is $f_t(t) + f_v(v)$, and it uses the image: shuffling the images across the test
# pairs costs it accuracy (its image perceptual score is printed after the check). **Predict** its
# `model - EMAP`, as a number, from the definitions of this notebook alone. The check explains.

# %% - exercise=4.4
### BEGIN SOLUTION
predicted_gap = 0.0
### END SOLUTION

# %% - check=4.4 points=1
check_gap_prediction(predicted_gap, reports["additive"], perceptual=perceptual["additive"].image)

# %% subslide
for kind, report in reports.items():
    low, high = report.difference_ci
    print(f"{kind}: model - EMAP = {report.difference:+.3f}, 95% interval [{low:+.3f}, {high:+.3f}]")
pd.concat({kind: r.table for kind, r in reports.items()}, axis=1).round(3)

# %% [markdown] subslide
# ## A projection, not the best additive model
#
# Compare two additive predictors in the table: the additive head, *trained* on the labels, and the
# interactive head's EMAP, a *projection* of a model that spent its capacity on interactions.

# %% -
print(f"additive head trained on the labels: {claims['additive_head']:.3f}; "
      f"the interactive head's EMAP: {claims['interactive_emap']:.3f}")

# %% [markdown] subslide
# A low EMAP score says "this model's additive part is weak", not "no additive model can do well on
# this task". To bound what an additive model can reach, train one.

# %% [markdown] slide
# ## EMAP beside the perceptual score
#
# The perceptual score asks "does the model *use* this modality?"; EMAP asks "does the model's score
# rest on using the two modalities *together*?".

# %% -
perceptual_table = pd.DataFrame({kind: {"perceptual score, image": ps.image, "perceptual score, text": ps.text,
                                        "model - EMAP": reports[kind].difference}
                                 for kind, ps in perceptual.items()}).round(3)
perceptual_table

# %% [markdown] subslide
# Where they disagree: the additive head uses the image (its image perceptual score is well above 0),
# yet its EMAP gap is 0, since it never combines image and text. A large perceptual score does not show
# cross-modal interaction.

# %% [markdown] subslide
# ## The same measurement on three tasks
#
# The interactive head on three tasks, 400 training pairs and 200 test pairs each. The drop from the
# model to its EMAP measures how much *this head's* score rests on its interaction part, evaluated over
# every combination of a test text with a test image, including combinations that never occur together
# in the data ("What EMAP is not" below). It is not the value of interactions for the task: another
# head, with other capacity or training, could gain more or less from them.

# %% -
def model_vs_emap(task_name, **dials):
    ds = gk.make_task(task_name, n=600, seed=0, **dials)  # cached after the first run
    split = gk.experiment(clip, ds, test_size=N_TEST, shuffle=False)  # 400 train, the last 200 test
    report = gk.emap_report(split.labels_eval, split.head("interactive", seed=0), split.feats_eval)
    return report.table["score"]


summary = pd.DataFrame({"additive": model_vs_emap("additive"),
                        "mixed (0.5)": reports["interactive"].table["score"],
                        "match": model_vs_emap("match")}).round(3)
summary

# %% [markdown] subslide
# ## A single-stream VQA model
#
# The kit's tiny VQA model is a ViLT (Kim et al., ICML 2021): question tokens and image patches attend to
# each other from the first layer on, so its grid has no shortcut and every pair costs a forward pass.
# `partners=K` estimates EMAP by Monte Carlo from K random partners per item (2NK passes instead of
# N^2); the report's intervals for EMAP and for model - EMAP then add the Monte Carlo error to the
# error from resampling the items (`monte_carlo_sd` below, see `help(gk.emap_report)`).
#
# EMAP measures **one model on one dataset**. The same tiny ViLT, evaluated on prior-biased questions
# (`prior=0.9`, notebook 03) and on rebalanced ones:

# %% subslide
vqa = gk.load_vqa(VQA_MODEL)
vqa_sets = {"prior-biased (prior=0.9)": gk.make_task("vqa", n=60, seed=7, prior=0.9),
            "rebalanced": gk.rebalance(gk.make_task("vqa", n=100, seed=7), seed=0).shuffle(seed=0).select(range(60))}
vqa_reports, blind = {}, {}
for name, data in vqa_sets.items():
    pairs = vqa.pair_inputs(data["image"], data["text"])
    vqa_reports[name] = gk.emap_report(np.asarray(data["label"]), vqa.pair_model, pairs, partners=6, seed=0)
    blind[name] = gk.world.question_only_accuracy(data)["all"]
vqa_report = vqa_reports["rebalanced"]
vqa_table = pd.DataFrame({name: {"question-only baseline (cross-fitted)": blind[name], **r.table["score"].to_dict(),
                                 "model - EMAP": r.difference, "monte_carlo_sd": r.monte_carlo_sd}
                          for name, r in vqa_reports.items()}).round(3)
claims["vqa_blind"] = blind
claims["vqa_text_only"] = {name: float(r.loc["text-only marginal", "score"]) for name, r in vqa_reports.items()}
claims["vqa_gap_low"] = {name: r.difference_ci_low for name, r in vqa_reports.items()}
vqa_table

# %% [markdown] subslide
# Read the prior-biased column: the questions alone could give most answers away (the question-only
# baseline), yet this ViLT, trained on rebalanced data, barely uses that (its text-only marginal is
# far below the baseline) and loses much of its score under EMAP on both datasets (the intervals of
# model - EMAP lie well above 0). EMAP measured
# *this model on these data*; it says nothing about what an additive model could do on the task. (60
# items each: read the intervals in `vqa_reports[...]` before the decimals.)

# %% [markdown] slide
# ## What the paper found
#
# Hessel and Lee (EMNLP 2020) ran the same measurement on published models. On **balanced** VQA data,
# built to need the image (notebook 03), EMAP costs a strong model (LXMERT) dearly, though it stays far
# above a constant predictor. The numbers are typed in from the talk's slide "First test: EMAP for
# balanced image+text tasks" (Hessel and Lee's results; for the exact setup see the paper):

# %% -
balanced_results = pd.DataFrame({"LXMERT": [70.3, 60.3], "+ EMAP": [40.5, 41.0], "constant": [23.4, 18.1]},
                                index=["VQA v2 (Goyal et al., 2017)", "GQA (Hudson and Manning, 2019)"])
balanced_results

# %% [markdown] subslide
# ## Unbalanced tasks: EMAP matches the best interactive model
#
# On the seven tasks that cannot be rebalanced (notebook 03), the additive projection of the best
# interactive model scores about as well as the model itself. T-VIS, whose label is about how the image
# and text relate, is the one task where the projection falls clearly below the model (and even below
# the linear model). The numbers are typed in from the talk's slide "Next test: EMAP for unbalanced
# image+text tasks" (Hessel and Lee's results table); the slide marks some values in bold and R-POP with
# an asterisk without a legend, so for what the markers mean see the paper's table. This notebook does
# not restate them.

# %% -
columns = ["I-INT", "I-SEM", "I-CTX", "T-VIS", "R-POP", "T-ST1", "T-ST2"]
unbalanced_results = pd.DataFrame(
    [["AUC", "AUC", "AUC", "weighted F1", "accuracy", "AUC", "accuracy"],
     ["5-fold", "5-fold", "5-fold", "10-fold", "15-fold", "5-fold", "5-fold"],
     [85.3, 69.1, 78.8, 44.0, 62.7, "N/A", 70.5],
     [90.4, 72.8, 80.9, 51.3, 63.7, 75.6, 76.1],
     [91.3, 74.4, 81.5, 53.4, 64.2, 75.5, 80.9],
     [91.1, 74.2, 81.3, 51.0, 64.1, 75.9, 80.7]],
    index=["metric", "setup", "previous state of the art", "linear model (additive)",
           "best interactive model", "  + EMAP (additive)"], columns=columns)
unbalanced_results

# %% [markdown] subslide
# ## The same table as gains over the linear model
#
# In points of each task's metric: what the best interactive model adds over the linear model, and how
# much of that its own EMAP keeps.

# %% -
scores_only = unbalanced_results.loc[["linear model (additive)", "best interactive model",
                                      "  + EMAP (additive)"]].astype(float)
gains = pd.DataFrame({"interactive - linear": scores_only.iloc[1] - scores_only.iloc[0],
                      "EMAP - linear": scores_only.iloc[2] - scores_only.iloc[0],
                      "interactive - EMAP": scores_only.iloc[1] - scores_only.iloc[2]}).T.round(1)
claims["paper_gains"] = gains.to_dict()
gains

# %% [markdown] subslide
# On T-ST2 the interactive model's point estimate is 4.8 points above the linear one's and its EMAP's
# 4.6: the pattern of notebook 02's "beats the linear model" demo. The slide gives no intervals, so this
# is a pattern of point estimates, not a tested difference. On T-VIS the EMAP keeps none of the
# 2.1-point gain. The paper's "setup" row is k-fold cross-validation: fit on k-1 folds, project and score
# on the held-out fold. `gk.cross_validate_emap` runs that protocol; here on notebook 02's uniformity
# task (1,000 pairs), 5-fold, linear vs interactive head:

# %% -
uniform = gk.make_task("additive", n=1000, seed=0, image_rule="uniformity")  # cached after the first run
uniform_feats, uniform_labels = gk.embed(clip, uniform), np.asarray(uniform["label"])
folds = {kind: gk.cross_validate_emap(uniform_labels, lambda f, y, kind=kind: gk.fit_head(kind, f, y, seed=0),
                                      uniform_feats, folds=5)
         for kind in ("additive", "interactive")}
kfold = pd.Series({"linear model (additive)": folds["additive"]["full model"].mean(),
                   "interactive model": folds["interactive"]["full model"].mean(),
                   "  + EMAP": folds["interactive"]["EMAP"].mean()})
claims["kfold"] = kfold.to_dict()
kfold.round(3).to_frame("mean over 5 held-out folds").T

# %% [markdown] subslide
# The row has the paper's T-ST2 shape: the interactive head ahead of the linear one, and its EMAP
# about level with it.

# %% [markdown] subslide
# ## Side by side: the paper and your measurement
#
# In the world you can control: the interactive head on the additive task keeps its score under EMAP,
# as the paper's best model does on T-ST2 (which says that *model on those data* uses little
# interaction; the paper makes no claim that T-ST2 is an additive task); on the match task, which needs
# the connection, EMAP falls towards the constant predictor; and the tiny ViLT on rebalanced questions
# loses under EMAP while staying above the constant, the shape of LXMERT on VQA v2. (Small samples: read
# the intervals in the reports above before reading the decimals.)

# %% -
paper = {"balanced VQA v2 (LXMERT)": (70.3, 40.5, 23.4),
         "unbalanced T-ST2 (best interactive)": (80.9, 80.7, None)}
rows = ("full model", "EMAP", "constant")
ours = {f"shapes world: {name} (interactive head)": tuple(100 * summary.loc[row, name] for row in rows)
        for name in ("additive", "match")}
ours["shapes world: rebalanced VQA (tiny ViLT)"] = tuple(100 * vqa_report.loc[row, "score"] for row in rows)
claims["side_by_side"] = {name: dict(zip(rows, values)) for name, values in ours.items()}
pd.DataFrame({**paper, **ours}, index=["model", "+ EMAP", "constant"]).T.round(1)

# %% [markdown] slide
# ## What EMAP is not (1): the only additive view of a model
#
# EMAP is one least-squares projection under one weighting: every test text with every test image,
# each combination counted once. The next exercise derives that; the two slides after it show what
# changes under another weighting, and what its interval leaves out.

# %% [markdown] subslide
# ## Exercise 4.5: derive the projection
#
# Show that $g_i + h_j = \bar P_{i\cdot} + \bar P_{\cdot j} - \bar P_{\cdot\cdot}$ minimises
# $\sum_{i,j} (P_{ij} - g_i - h_j)^2$ over all additive grids (hint: set the derivative with respect to
# each $g_i$ and to each $h_j$ to zero, average the second set of equations over $j$, and substitute).
# Write the three lines in the answer cell after the check. Then confirm it numerically: build the design
# matrix `X` of shape (n*n, 2n) whose row for cell (i, j) has a 1 in column i (text i) and in column
# n + j (image j), solve the least-squares problem with `np.linalg.lstsq`, and put the fitted values,
# reshaped to (n, n), in `fitted`.

# %% - exercise=4.5
P_small = np.asarray(P[:6, :6, 1], dtype=float)  # the interactive head's "yes" logits: 6 texts x 6 images
n = len(P_small)
### BEGIN SOLUTION
X = np.zeros((n * n, 2 * n))
for i in range(n):
    for j in range(n):
        X[i * n + j, i] = X[i * n + j, n + j] = 1.0
coefficients = np.linalg.lstsq(X, P_small.ravel(), rcond=None)[0]
fitted = (X @ coefficients).reshape(n, n)
### END SOLUTION

# %% subslide check=4.5 points=2
check_additive_least_squares(fitted, P_small)

# %% [markdown] -
# **Your derivation** (three lines):

# %% [markdown] - answer=4.5d points=2
# **Rubric (2 points).** 1 point: the normal equations, $\partial/\partial g_i$:
# $\sum_j (P_{ij} - g_i - h_j) = 0$, so $g_i = \bar P_{i\cdot} - \bar h$; likewise
# $h_j = \bar P_{\cdot j} - \bar g$. 1 point: averaging the first over $i$ gives
# $\bar g + \bar h = \bar P_{\cdot\cdot}$, so $g_i + h_j = \bar P_{i\cdot} + \bar P_{\cdot j} -
# \bar P_{\cdot\cdot}$ (only the sum is determined: a constant can move between $g$ and $h$). The
# objective weights every cell (i, j) equally: the product of the two empirical marginals.

# %% [markdown] slide
# ## What EMAP is not (2): a projection under the data's own pairs
#
# Equal weight on every combination means that EMAP also averages the model over text-image pairs that
# never occur together in the data, where the model can only extrapolate. When text and image are
# dependent, Hooker (2007, *Generalized functional ANOVA diagnostics for high-dimensional functions of
# dependent variables*, JCGS 16(3)) argues for defining the additive components under the joint
# distribution instead, so that they do not rest on such extrapolation.
#
# `gk.world.make_dependent_task` builds a world for this. A caption has a *mood* (a positive or negative
# sentiment word), a picture a *warmth* (all its objects warm, or all cool); the label asks whether the
# mood fits the picture (positive with warm, negative with cool; 10% of the labels flipped). With
# `dependence=1` half of the pairs are positive-warm, a quarter positive-cool, a quarter negative-cool,
# and a negative caption of a warm picture **never occurs**: mood and warmth are dependent beyond the
# label. We train the interactive head where all four combinations occur (`dependence=0`,
# 1,200 pairs), then test it on 200 pairs of the dependent world. `gk.additive_comparison` scores the
# head, its EMAP, and two additive fits of the head's own logits over the same keys (mood, warmth) by
# backfitting (`gk.analysis.fit_additive`): one under the product of the marginals (all 200 x 200
# combinations), one under the joint distribution (the 200 observed pairs only).

# %% -
dependent_train = gk.world.make_dependent_task(1200, seed=0, dependence=0.0)
dependent_test = gk.world.make_dependent_task(200, seed=1, dependence=1.0)
rule_head = gk.fit_head("interactive", gk.embed(clip, dependent_train), np.asarray(dependent_train["label"]), seed=0)
comparison = gk.additive_comparison(np.asarray(dependent_test["label"]), rule_head, gk.embed(clip, dependent_test),
                                    dependent_test["mood"], dependent_test["warmth"])
cells = comparison.attrs["cells"]
claims["dependent_scores"] = comparison["score"].to_dict()
claims["dependent_cells"] = {f"{mood}/{warmth}": {"pairs": int(row["pairs"]), "model": row["model"][1] - row["model"][0],
                                                  "product": row["product fit"][1] - row["product fit"][0],
                                                  "joint": row["joint fit"][1] - row["joint fit"][0]}
                             for (mood, warmth), row in cells.iterrows()}

# %% [markdown] subslide
# ## Exercise 4.6: predict
#
# Both fits are additive in the same two keys and both approximate the same head; only the weighting
# differs. Which of `PROJECTION_OPTIONS` will the table show? Set `prediction` to its key.

# %% - exercise=4.6
print(PROJECTION_OPTIONS)
### BEGIN SOLUTION
prediction = "b"
### END SOLUTION

# %% - check=4.6 points=1
check_projection_prediction(prediction, comparison)

# %% -
comparison.round(3)

# %% [markdown] subslide
# ## Where the two weightings differ, drawn
#
# Each panel is the 2 x 2 table of (mood, warmth): how many test pairs fall in each combination, the
# head's mean "yes" margin (logit of yes minus logit of no) over the 200 x 200 grid's pairs in it, and
# the two additive fits' margins there.

# %% -
margin = {name: np.array([[row[name][1] - row[name][0] for row in (cells.loc[(m, "cool")], cells.loc[(m, "warm")])]
                          for m in ("negative", "positive")]) for name in ("model", "product fit", "joint fit")}
panels = {"observed pairs": np.array([[cells.loc[(m, w), "pairs"] for w in ("cool", "warm")]
                                      for m in ("negative", "positive")]), **margin}
drawing = make_subplots(rows=1, cols=4, subplot_titles=list(panels), horizontal_spacing=0.06)
for column, (name, table) in enumerate(panels.items(), start=1):
    drawing.add_trace(go.Heatmap(z=table, x=["cool", "warm"], y=["negative", "positive"], colorscale="RdBu",
                                 zmid=0 if column > 1 else None, showscale=False,
                                 text=np.round(table, 2), texttemplate="%{text}"), row=1, col=column)
drawing.update_yaxes(title_text="caption's mood", row=1, col=1)
drawing.update_layout(height=280, margin={"t": 40, "b": 10})
go.FigureWidget(drawing)

# %% [markdown] subslide
# The head learned the rule where every combination occurred, so on a negative caption with a warm
# picture, a combination absent from the test pairs, its margin is negative ("no"). The fit under the
# product of marginals weighs that empty cell too (an eighth of all combinations), and no additive table
# can say "no" there and "yes" on the two observed cells where the mood fits: here it gives up the
# negative-cool cell, whose margin turns negative, and scores well below the head, as EMAP does item by
# item. The fit under the joint distribution ignores the empty cell, reproduces the three observed cells,
# and scores far above EMAP. (It even scores above the head: its keys hold the mood and warmth exactly,
# which the head must read off the tiny CLIP's features.) Neither number is wrong; they answer different
# questions. EMAP: does this head's function, over every combination of these texts and images, need
# its interactions? The joint fit: on the pairs that occur, could an additive function reproduce it?
# The exclusive-or needs its interaction only in a cell the data never show (Hooker, 2007).

# %% [markdown] slide
# ## What EMAP is not (3): an interval that covers every source of error
#
# The interval of model - EMAP in `emap_report` resamples the test items with the projection held
# fixed. It leaves out two sources of error: the marginals of the projection are re-estimated from the
# same items (`gk.emap_report(..., bootstrap="refit")` re-estimates them inside every resample), and the
# head is one draw from its training (another seed gives another head; no option of one report covers
# that). Below: today's interval for the interactive head on the mixed task, the interval with the
# projection re-estimated in every resample, and the same head trained with three seeds on the same split.

# %% subslide
by_seed = {}
for seed in (0, 1, 2):
    head = exp.head("interactive", seed=seed)
    fixed = gk.emap_report(test_labels, head, test_feats, n_boot=400)
    refit = gk.emap_report(test_labels, head, test_feats, n_boot=400, bootstrap="refit")
    by_seed[seed] = {"model - EMAP": fixed.difference,
                     "interval, projection fixed": f"[{fixed.difference_ci[0]:+.3f}, {fixed.difference_ci[1]:+.3f}]",
                     "interval, projection re-estimated": f"[{refit.difference_ci[0]:+.3f}, {refit.difference_ci[1]:+.3f}]",
                     "width fixed": fixed.difference_ci[1] - fixed.difference_ci[0],
                     "width re-estimated": refit.difference_ci[1] - refit.difference_ci[0]}
seed_table = pd.DataFrame(by_seed).T.rename_axis("training seed")
claims["seed_differences"] = [float(d) for d in seed_table["model - EMAP"]]
claims["seed_interval_width"] = float(seed_table["width fixed"].mean())
claims["refit_interval_width"] = float(seed_table["width re-estimated"].mean())
spread = max(claims["seed_differences"]) - min(claims["seed_differences"])
print(f"spread of model - EMAP over 3 seeds: {spread:.3f}; mean width of one interval: "
      f"{claims['seed_interval_width']:.3f} (projection fixed), {claims['refit_interval_width']:.3f} (re-estimated)")
seed_table.drop(columns=["width fixed", "width re-estimated"])

# %% [markdown] subslide
# Each interval describes one trained head on these 200 items. A statement about "this kind of head on
# this task" needs the spread over seeds (and over folds, as `gk.cross_validate_emap` gives) beside it.

# %% [markdown] subslide
# ## Exercise 4.7: what may you claim?
#
# On the additive task, is the interactive head's use of interactions worth anything? `MARGIN` is fixed
# here, before any number is seen: a difference of at most 3 points between the model and its EMAP
# counts as "no interactions needed". `claim_report` adds the equivalence test, two one-sided tests
# of "model minus EMAP lies within +-`MARGIN`" (`gk.emap_report(..., margin=MARGIN)`). Read the report
# (`claim_report.difference_ci`, `claim_report.equivalence`), then set `claim` to the letter of the one
# claim it supports (`CLAIM_OPTIONS`).

# %% -
MARGIN = 0.03
additive_split = gk.experiment(clip, gk.make_task("additive", n=N_TRAIN + N_TEST, seed=0), test_size=N_TEST,
                               shuffle=False)
claim_report = gk.emap_report(additive_split.labels_eval, additive_split.head("interactive", seed=0),
                              additive_split.feats_eval, n_boot=400, margin=MARGIN)
print(claim_report)
CLAIM_OPTIONS

# %% subslide exercise=4.7
### BEGIN SOLUTION
claim = ("a" if claim_report.difference_ci[0] > 0 else "b" if claim_report.difference_ci[1] < 0
         else "c" if claim_report.equivalence.equivalent else "d")
### END SOLUTION

# %% - check=4.7 points=1
check_equivalence_claim(claim, claim_report)

# %% [markdown] slide
# ## Take-away: report EMAP
#
# * A model beating an additive baseline does not show that it uses interactions. Report two additive
#   numbers beside it: its own projection, EMAP ("does this model's score rest on its interactions?";
#   $N^2$ forward passes, or fewer with `gk.emap_model(model, feats, partners=K)`), and the best
#   additive model you can train ("can an additive model do as well on this task?").
# * EMAP weights every text with every image; with dependent text and image it also averages over pairs
#   that never occur, and an additive fit under the joint distribution can score differently.
# * An interval of model minus EMAP near 0 shows no gain on those items for that trained model; to
#   claim "no interactions needed", test equivalence against a margin fixed in advance, and look at the
#   spread over training seeds.
# * Report the *Empirical Multimodally-Additive function Projection* beside every multimodal result.

# %% [markdown] subslide
# ## Homework
#
# 1. Use `gk.emap_model(heads["interactive"], test_feats, partners=K, seed=0)` for K = 8, 32, 128 and
#    compare its standard errors with the exact projection. How large must K be for the accuracy to
#    agree to 0.01?
# 2. EMAP is defined on logits. Apply `gk.emap` to softmax probabilities instead: what does the kit
#    say, and why do the results differ?
# 3. Run `model_vs_emap("mixed", interaction=a)` for a in 0, 0.25, ..., 1 and plot the two curves.

# %% [markdown] - answer=4.H2 points=2
# **Rubric for homework 2 (2 points).** 1 point: the kit warns that the grid looks like probabilities
# (values in [0, 1] whose last axis sums to 1) and asks for the pre-softmax logits. 1 point: the
# reason: the softmax is not linear, so the average of probabilities over a row or column is not the
# softmax of the averaged logits; EMAP averages logits, where an additive model is exactly a sum of
# a text part and an image part.

# %% [markdown] slide
# ## Questionnaire
#
# Answer each question with the letter of one option, as `answers = {1: "a", 2: "c", ...}`; the check
# says which answers are not right yet, and why.

# %% -
from IPython.display import Markdown

from grounding_kit.exercises.checks import check_questionnaire
from grounding_kit.exercises.questionnaires import questionnaire_markdown

Markdown(questionnaire_markdown("04"))

# %% subslide exercise=4.Q
### BEGIN SOLUTION
answers = {1: "a", 2: "b", 3: "a", 4: "a", 5: "b"}
### END SOLUTION

# %% - check=4.Q points=2
check_questionnaire(answers, "04")

# %% [markdown] -
# **For discussion in the room:** On the dependent world, which number answers "does this head need its interactions?": EMAP or the additive fit under the joint distribution? When would you report both?
