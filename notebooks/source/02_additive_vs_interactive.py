# Source of notebooks/02_additive_vs_interactive.ipynb: edit here, then `python -m grounding_kit.course build`.

# %% [markdown] slide
# # 02 · Additive vs interactive models
#
# **Lecture unit, about 25 minutes.** By the end you can
#
# * write the setting of an image+text task as a function $f(t, v)$;
# * say when a function is *multimodally additive* and when it is *interactive*;
# * train both kinds of model on tasks whose answer you know, and compare them;
# * explain why "our model beats the text+image ensemble" does not show that a model uses
#   cross-modal interactions.
#
# Based on Hessel and Lee, *Does my multimodal model learn cross-modal interactions? It's harder to
# tell than you might think!*, EMNLP 2020.

# %% [markdown] slide
# ## The setting
#
# An image+text task gives a model a text $t$ and an image $v$ and asks for a prediction:
#
# * VQA: $t$ = "How many cats are there?", $v$ = a photo, prediction = an answer;
# * VCR (Zellers et al., 2019): $t$ = a question and four candidate answers about a movie still,
#   prediction = a distribution over the answers (for example 36.3%, 0.7%, 4.2%, 58.7%);
# * sentiment of a tweet, popularity of a Reddit post, intent of an Instagram post: $t$ = the post's
#   text, $v$ = its image.
#
# A model is a function $f(t, v)$ that returns logits, one per class.
#
# **The question of this unit:** does a given image+text task *require* a model to connect the two
# modalities? And does a given model *use* such connections?

# %% [markdown] slide
# ## Additive and interactive functions
#
# A function is **multimodally additive** if it splits into a text part and an image part:
#
# $$f(t, v) = f_t(t) + f_v(v).$$
#
# Each part may be as complex as you like (a deep network on the text, another on the image), but
# the two never meet before the final sum. Every other function is **interactive**: how much the image
# matters depends on the text, and vice versa. This is the two-group case of the functional ANOVA
# and of Friedman's interaction statistics (Friedman, 2001; Friedman and Popescu, 2008; Hooker, 2004).
#
# *Example.* "Is the caption true of the image?" is interactive: the caption "a red circle" is good
# news for an image of a red circle and bad news for a blue one. No $f_t + f_v$ can express that.

# %% [markdown] subslide
# ## Exercise 2.1: the grid of an additive model
#
# Evaluate an additive model on every (text, image) combination of four texts and four images. With
# `f_t` (4,) holding the text part for each text and `f_v` (4,) the image part for each image, build the
# 4 x 4 grid `G[i, j] = f_t[i] + f_v[j]` (rows are texts, columns images). Use broadcasting, no loop.

# %% -
import numpy as np
import pandas as pd

import grounding_kit as gk
from grounding_kit.checks import check_accuracy, check_additive_grid, check_interaction_residual
from grounding_kit.homework import own_or_kit

MODEL = "tiny-shapes"  # the CLIP whose features the heads use; online e.g. "ViT-B-32/laion2b_s34b_b79k"

# %% - exercise=2.1
f_t = np.array([2.0, -1.0, 0.5, 0.0])
f_v = np.array([0.3, 1.2, -0.7, 0.1])
### BEGIN SOLUTION
G = f_t[:, None] + f_v[None, :]
### END SOLUTION

# %% - check=2.1 points=1
check_additive_grid(G, f_t, f_v)

# %% - fallback=2.1
G = own_or_kit("2.1", "G", f_t, f_v)

# %% [markdown] subslide
# ## Exercise 2.2: what no additive model can express
#
# The *interaction residual* of a grid is what is left after removing each row's mean and each
# column's mean, adding back the grand mean (it was removed twice):
#
# $$R_{ij} = P_{ij} - \bar P_{i\cdot} - \bar P_{\cdot j} + \bar P_{\cdot\cdot}.$$
#
# Compute it for the "does the caption match?" grid below (two captions, two images: a match scores +2,
# a mismatch -2). Then try your code on `G` from exercise 2.1: what do you expect?

# %% - exercise=2.2
match_grid = np.array([[2.0, -2.0],
                       [-2.0, 2.0]])
### BEGIN SOLUTION
residual = (match_grid - match_grid.mean(axis=1, keepdims=True)
            - match_grid.mean(axis=0, keepdims=True) + match_grid.mean())
### END SOLUTION

# %% - check=2.2 points=2
check_interaction_residual(residual, match_grid)

# %% [markdown] slide
# ## Three worlds with known answers
#
# The shapes world generates tasks whose ground truth we control (`gk.make_task`):
#
# * **additive**: the caption carries a sentiment word, the image a colour warmth; the label depends
#   on their sum. An additive model is optimal here.
# * **match**: does the caption describe the image? Negatives change one attribute. Text alone and
#   image alone are at chance *by construction*.
# * **mixed**: a dial `interaction` in [0, 1] moves from the first to the second.
#
# We embed each task with the CLIP of notebook 01 and train heads on the frozen features.

# %% -
N = 600  # pairs per task; the first half trains, the second half tests
clip = gk.load_clip(MODEL)

tasks = {name: gk.make_task(name, n=N, seed=0) for name in ("additive", "match")}
features = {name: gk.embed(ds, clip) for name, ds in tasks.items()}
labels = {name: np.asarray(ds["label"]) for name, ds in tasks.items()}
train, test = np.arange(N // 2), np.arange(N // 2, N)
tasks["additive"][0]["text"], tasks["match"][0]["text"]

# %% [markdown] slide
# ## Additive and interactive heads
#
# `gk.fit_head(kind, features, labels)` trains a small head on frozen features:
#
# | kind | function | family |
# |---|---|---|
# | `"additive"` | logistic regression on $[t; v]$ | additive |
# | `"additive-mlp"` | $f_t(t) + f_v(v)$, an MLP for each side | additive |
# | `"interactive"` | an MLP on $[t; v]$ | interactive |
#
# (`"product"`, an MLP on $t \odot v$ and $[t; v]$, and `"bilinear"`, $t^\top W v$, are two more
# interactive kinds to try at home.)

# %% -
KINDS = ("additive", "additive-mlp", "interactive")
heads = {(task, kind): gk.fit_head(kind, features[task].take(train), labels[task][train], seed=0)
         for task in tasks for kind in KINDS}
test_feats = {task: features[task].take(test) for task in tasks}
test_logits = {(task, kind): head(test_feats[task].text, test_feats[task].image).detach().numpy()
               for (task, kind), head in heads.items()}

# %% [markdown] subslide
# ## Exercise 2.3: accuracy
#
# `logits` below holds the interactive head's test logits on the match task, shape (N/2, 2), and
# `y` the true labels. Compute the accuracy of the head's predictions (the argmax class).

# %% - exercise=2.3
logits, y = test_logits[("match", "interactive")], labels["match"][test]
### BEGIN SOLUTION
accuracy = float(np.mean(logits.argmax(axis=-1) == y))
### END SOLUTION

# %% - check=2.3 points=1
check_accuracy(accuracy, logits, y)

# %% [markdown] subslide
# ## Which family wins where?

# %% -
scores = pd.DataFrame({task: {kind: gk.analysis.accuracy(labels[task][test], test_logits[(task, kind)])
                              for kind in KINDS} for task in tasks}).round(3)
scores.index.name = "head"
scores

# %% [markdown] notes
# Expected: on the additive task all heads land within a few points of each other, below the Bayes
# rate of 0.866 (`gk.world.bayes_rates("additive")`); the differences come from capacity and
# optimisation, since the task has no interaction to find. On the match task the additive heads sit
# at chance (0.5) while the interactive head is far above it.

# %% [markdown] slide
# ## The prototypical model comparison
#
# Papers often argue like this (numbers only for illustration, as in the talk):
#
# | method | accuracy |
# |---|---|
# | text only | 55 |
# | image only | 57 |
# | text + image ensemble | 60 |
# | **our fancy method** | **62** |
#
# *"Our method beats the ensemble, so it must be using interesting cross-modal interactions."*
#
# That argument can be **unreliable**: the fancy method may differ from the ensemble in many ways
# (more parameters, better optimisation, better features, a different loss) and gain its two points
# from any of them, while the function it computes is still, in effect, additive.

# %% [markdown] subslide
# ## Checking the argument on the additive task
#
# On the additive task no interaction can help: the generating rule has none. Train the ensemble (the
# additive head) and the fancy method (the interactive head) with three seeds and compare. The EMAP
# column, explained in notebook 04, is the fancy method *with every interaction removed*, and the last
# column tests whether the fancy method differs from its own EMAP (a paired randomization test).

# %% -
rows = []
for seed in (0, 1, 2):
    ensemble = gk.fit_head("additive", features["additive"].take(train), labels["additive"][train], seed=seed)
    fancy = gk.fit_head("interactive", features["additive"].take(train), labels["additive"][train], seed=seed)
    ours = gk.emap_report(labels["additive"][test], fancy, test_feats["additive"], n_boot=200, seed=seed)
    theirs = gk.emap_report(labels["additive"][test], ensemble, test_feats["additive"], n_boot=200, seed=seed)
    rows.append({"seed": seed, "text + image ensemble": theirs.loc["full model", "score"],
                 "our fancy method": ours.loc["full model", "score"],
                 "fancy + EMAP": ours.loc["EMAP", "score"], "p (fancy vs its EMAP)": ours.attrs["p_value"]})
pd.DataFrame(rows).set_index("seed").round(3)

# %% [markdown] subslide
# ## What the table says
#
# * Compare the first two columns across seeds: on 300 test pairs, differences of a few points move
#   with the seed (and with N: try `N = 800`). A paper reporting a single run could find the fancy
#   method ahead of the ensemble or behind it.
# * The third column tracks the second on every seed, and the p-values are large: the fancy method
#   computes, in effect, an additive function. So even on a run where it leads the ensemble, the lead
#   cannot come from cross-modal interactions.
# * "Beats the ensemble" answers the wrong question. "Beats its own EMAP" answers the right one.

# %% [markdown] slide
# ## The interaction dial
#
# Move the dial from a purely additive task (0) to a pure interaction task (1) and watch both model
# families. The additive family falls towards chance as interaction takes over; the interactive family
# keeps up. The gap between them is what interactions are worth on that task.

# %% -
gk.widgets.interaction_dial(clip, levels=(0.0, 0.5, 1.0), n=200, n_train=300, seed=0)

# %% [markdown] slide
# ## Take-aways and homework
#
# * Additive means $f_t(t) + f_v(v)$, however deep each part is.
# * A task can be solved additively even when it looks multimodal; "beats the ensemble" does not tell
#   you whether a model uses interactions.
# * We need a measurement that looks at the *function a model computes*: notebook 04.
#
# **Homework**
#
# 1. Apply your residual code from exercise 2.2 to `G` from exercise 2.1. Explain the result in one
#    sentence.
# 2. On the interaction dial, where do the two families cross 75% accuracy? Relate that to the
#    rule that generates the mixed task (`help(gk.make_task)`).
# 3. Find a published image+text paper that argues from "beats the ensemble". What else differs
#    between its model and its ensemble?

# %% [markdown] - answer=2.H1 points=2
# **Rubric for homework 1 (2 points).** 1 point: the residual of `G` is zero in every cell (up to
# floating-point rounding). 1 point: the reason: `G` is additive by construction, and the residual
# removes exactly a row part and a column part, which is all an additive grid holds.

# %% [markdown] - answer=2.H2 points=2
# **Rubric for homework 2 (2 points).** 1 point: a level read off the dial where the additive family
# falls below 75% while the interactive family stays above it. 1 point: the link to the rule: in the
# mixed task each row follows the match rule with probability `interaction` and the additive rule
# otherwise, and an additive model is at chance (0.5) on match rows, so its accuracy falls about
# linearly as the dial rises.
