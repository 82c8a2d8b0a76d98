# Source of notebooks/01_grounding_and_clip.ipynb: edit here, then `python -m grounding_kit.course build`.

# %% [markdown] slide
# # 01 · Multimodal grounding and CLIP
#
# **Lecture unit, about 25 minutes.** By the end you can
#
# * say what *multimodal grounding* is and name tasks that need it;
# * explain how contrastive image-text pretraining turns captions into a training signal;
# * use a CLIP as a grounding model: zero-shot classification, retrieval in both directions;
# * read the N x N similarity matrix of a batch, and predict what reshuffling the pairs does to it.
#
# Everything runs offline on the kit's synthetic **shapes world** with a tiny CLIP that ships with
# the kit. One variable, `MODEL`, switches to a real CLIP on real photos when there is network.

# %% [markdown] slide
# ## What is multimodal grounding?
#
# A family of tasks that need a **connection** between more than one modality, most often language
# and vision:
#
# * **Alt-text generation**: describing web images for blind and low-vision users
#   (Wu et al., 2017; Sharma et al., 2019).
# * **Human-robot interaction**: a robot must map "here are the yellow ones" to the objects in front
#   of it (Matuszek et al., 2012).
# * **Web video parsing**: finding the steps of a how-to video ("Photoshop: vintage effect") in
#   its frames and narration (Kim et al., 2014).
# * **Visual commonsense reasoning** (VCR): "Why is [person4] pointing at [person1]?", answered from
#   a movie still (Zellers et al., 2019).

# %% [markdown] subslide
# ## Why study it?
#
# * Cross-modal reasoning is **easy for humans, hard for computers** (the talk's example is a VCR
#   question, "Why is [person4] pointing at [person1]?", Zellers et al., 2019).
# * It matters **beyond AI**. Cognitive psychology has asked how words relate to perception since at
#   least the 1970s (Miller and Johnson-Laird, 1976). Harnad (1990) named the *symbol grounding
#   problem*: how do the symbols in a system (the words in our heads) connect to the things they
#   stand for?
#
# Grounding, in this course, means exactly that connection. The key word is **connection**: a
# model that reads the text and looks at the image *separately* may solve a task without
# connecting them at all. Notebooks 02 to 04 are about telling the two apart.

# %% [markdown] slide
# ## Set-up: one variable picks the model
#
# `"tiny-shapes"` is a small CLIP (an open_clip architecture) that the kit trained on its shapes
# world; it needs no network. With network, try an open_clip name such as
# `"ViT-B-32/laion2b_s34b_b79k"`: the notebook then uses real photos from scikit-image instead of
# the shapes world. Without network such a name fails within seconds and says so.

# %% -
import numpy as np
import plotly.graph_objects as go

import grounding_kit as gk
from grounding_kit.exercises.checks import (check_additive_part, check_clip_loss, check_recall_prediction,
                                            check_retrieval_accuracy, check_similarity_matrix, check_zero_shot)
from grounding_kit.exercises.fallbacks import own_or_kit

MODEL = "tiny-shapes"  # online e.g. "ViT-B-32/laion2b_s34b_b79k" (needs network)
OFFLINE = MODEL == "tiny-shapes"
N = 64  # image-caption pairs in the batch
claims = {}  # measured values the text below relies on (tests/test_notebook_claims.py checks them)
clip = gk.load_clip(MODEL)
clip

# %% [markdown] slide
# ## Contrastive image-text pretraining in one slide
#
# CLIP (Radford et al., ICML 2021) has two encoders, one for text and one for images, that map into
# the same D-dimensional space. Training sees a batch of N image-caption pairs and asks: *which of
# the N captions belongs to each image, and which image to each caption?*
#
# * Embed the captions $t_1..t_N$ and images $v_1..v_N$ as unit vectors.
# * Score every caption against every image: $S_{ij} = s \cdot \langle t_i, v_j \rangle$
#   (rows are texts, columns are images, $s$ a learned temperature).
# * The loss is a cross-entropy over each row and each column whose right answer is the diagonal:
#   pair $i$ belongs with pair $i$.
#
# Nothing was labelled by hand: the web's captions are the supervision. The real CLIP saw about
# 400 million pairs; our tiny one saw the shapes world.

# %% [markdown] slide
# ## A batch of pairs
#
# Offline, the pairs are scenes of the shapes world with their descriptions; online, photos that ship
# inside scikit-image with captions the kit wrote.

# %% -
if OFFLINE:
    scenes = gk.world.sample_scenes(N, seed=1)
    images = gk.world.render_scenes(scenes, size=64)
    captions = [gk.world.describe(scene) for scene in scenes]
else:
    gallery = gk.load_gallery()
    images, captions = list(gallery["image"]), list(gallery["text"])
    N = len(images)

text_emb = clip.encode_texts(captions)  # (N, D), unit length
image_emb = clip.encode_images(images)  # (N, D), unit length
print(f"{N} pairs, embeddings {tuple(text_emb.shape)}; e.g. {captions[0]!r}")

# %% [markdown] slide
# ## Exercise 1.1: the similarity matrix
#
# Compute `S`, the N x N matrix of cosine similarities between every caption and every image:
# `S[i, j]` is the similarity of caption `i` and image `j`. The embeddings are already unit length.

# %% - exercise=1.1
### BEGIN SOLUTION
S = text_emb @ image_emb.T
### END SOLUTION

# %% - check=1.1 points=2
check_similarity_matrix(S, text_emb, image_emb)

# %% - fallback=1.1
S = own_or_kit("1.1", "S", text_emb, image_emb)

# %% [markdown] subslide
# The diagonal holds the true pairs. A good grounding model makes it stand out.

# %% -
heatmap = go.FigureWidget(go.Heatmap(z=np.asarray(S), colorscale="Viridis", colorbar={"title": "cos"}))
heatmap.update_layout(title="S[i, j] = cos(caption i, image j)", xaxis_title="image j",
                      yaxis_title="caption i", yaxis_autorange="reversed", width=520, height=480)
heatmap

# %% [markdown] slide
# ## Exercise 1.2: retrieval
#
# *Text-to-image retrieval*: for each caption (row), which image scores highest? Compute the fraction
# of captions whose top image is their own (recall at 1). Chance is 1/N.

# %% - exercise=1.2
S_np = np.asarray(S)
### BEGIN SOLUTION
retrieval_accuracy = float(np.mean(S_np.argmax(axis=1) == np.arange(len(S_np))))
### END SOLUTION

# %% - check=1.2 points=2
check_retrieval_accuracy(retrieval_accuracy, S_np)

# %% [markdown] slide
# ## Try it: the retrieval widget
#
# Type a caption and see the images ranked by similarity; click an image to see the captions ranked
# for it. Try captions the model never saw in training, or misspell a colour.

# %% -
gk.widgets.retrieval_widget(clip, images, captions)

# %% [markdown] slide
# ## Zero-shot classification
#
# A CLIP classifies without any training for the task: write one *prompt* per class, embed the
# prompts, and give each image the class of its most similar prompt (Radford et al., 2021). Here the
# classes are the 36 one-object descriptions of the shapes world ("a small red circle", ...), and we
# score whether the chosen prompt names the right shape and colour. The prompts are yours to edit.

# %% -
PROMPTS = gk.world.caption_templates()  # edit me, e.g. [f"a large red {s}" for s in gk.world.SHAPES]

single = gk.world.sample_scenes(90, seed=2, n_objects=1)
single_images = gk.world.render_scenes(single, size=64)
prompt_emb = clip.encode_texts(PROMPTS)
prompt_images = clip.encode_images(single_images)
print(f"{len(PROMPTS)} prompts, e.g. {PROMPTS[:3]}; {len(single_images)} one-object images")

# %% [markdown] subslide
# ## Exercise 1.3: zero-shot predictions
#
# `S_zs = prompt_emb @ prompt_images.T` has one row per prompt and one column per image. Predict, for
# every image, the index of its most similar prompt.

# %% - exercise=1.3
S_zs = np.asarray(prompt_emb @ prompt_images.T)
### BEGIN SOLUTION
zero_shot = S_zs.argmax(axis=0)
### END SOLUTION

# %% - check=1.3 points=1
check_zero_shot(zero_shot, S_zs)

# %% - fallback=1.3
zero_shot = own_or_kit("1.3", "zero_shot", S_zs)
for attribute in ("shape", "color"):
    named = np.mean([getattr(scene.objects[0], attribute) in PROMPTS[j].split()
                     for scene, j in zip(single, zero_shot)])
    print(f"the chosen prompt names the right {attribute}: {named:.1%}")

# %% [markdown] notes
# Try the partial prompts in the comment: "a large red circle / square / triangle", and predict first
# how the two percentages above will move. The tiny model was trained on full descriptions of the
# shapes world only. Radford et al. (2021) found prompt wording to matter for real CLIPs too (they
# use templates such as "a photo of a {label}.").

# %% [markdown] slide
# ## What reshuffling does to the similarity matrix
#
# Reshuffling the pairs, giving each caption another caption's image, only **permutes the columns**
# of `S`: every number is still there, but the true pairs leave the diagonal. A model scored on the
# diagonal then drops towards chance although it has not changed at all. Move the slider to permute a
# fraction of the images among the captions (16 pairs, so that you can see each cell); the button draws
# a new reshuffle.

# %% subslide
gk.widgets.similarity_widget(clip, images[:16], captions[:16], seed=0)

# %% [markdown] subslide
# ## Why this matters for the rest of the course
#
# Reshuffling breaks the *connection* between a caption and its image while keeping every caption
# and every image. A model that truly connects the two should suffer; a model that scores text and
# image separately and adds the scores suffers in a very particular, predictable way. Notebook 04
# turns this observation into a measurement, EMAP (Hessel and Lee, EMNLP 2020).

# %% [markdown] slide
# ## Exercise 1.4: CLIP's score is itself an interaction
#
# $S_{ij} = \langle t_i, v_j \rangle$ is bilinear: how well image $j$ suits caption $i$ depends on both.
# Split `S` like any grid of scores (notebook 04 does this for every model): keep only its *additive
# part*, `S_add[i, j]` = mean of row `i` + mean of column `j` - mean of `S`, and throw away the
# interaction.
#
# **Predict first**: what recall at 1 will `S_add` give, compared with `S` (exercise 1.2) and with
# chance, 1/N? Write your prediction as a fraction in `predicted_recall` *before* you compute `S_add`;
# the check compares it with the measurement and explains it.

# %% - exercise=1.4
### BEGIN SOLUTION
predicted_recall = 1 / N
S_add = S_np.mean(axis=1, keepdims=True) + S_np.mean(axis=0, keepdims=True) - S_np.mean()
### END SOLUTION

# %% - check=1.4 points=3
check_additive_part(S_add, S_np)
check_recall_prediction(predicted_recall, S_add)

# %% - fallback=1.4
S_add = own_or_kit("1.4", "S_add", S_np)

# %% subslide
claims["recall_S"] = gk.analysis.recall_at_k(S_np, 1)
claims["recall_S_add"] = gk.analysis.recall_at_k(S_add, 1)
claims["chance"] = 1 / len(S_np)
print(f"recall@1: S {claims['recall_S']:.3f}, its additive part {claims['recall_S_add']:.3f}, "
      f"chance {claims['chance']:.3f}")

# %% [markdown] -
# <details><summary>Why (open after running)</summary>
#
# In `S_add` a caption's row is the image effects plus a constant for the caption: every caption ranks
# the images in the same order, so every caption "retrieves" the same image, right for at most one of
# the N captions. Everything CLIP knows about *which* caption goes with *which* image lives in the
# interaction that EMAP would remove: retrieval is a purely interactive task.
# </details>

# %% [markdown] slide
# ## Exercise 1.5: CLIP's training loss, by hand
#
# Implement the loss of the "contrastive pretraining" slide on this notebook's batch: the logits are
# `logit_scale * text_emb @ image_emb.T` (`clip.logit_scale` is the model's learned temperature $s$);
# the loss is the mean of two cross-entropies, one over the rows (each caption picks its image) and
# one over the columns (each image picks its caption), whose right answer is the diagonal. Use
# `torch.nn.functional.cross_entropy`. **Predict first**: will the loss of the trained tiny CLIP on
# this batch be above or below $\log N$, the loss of a uniform guess? The check compares your number
# with open_clip's own `ClipLoss`, the loss open_clip trains with.

# %% - exercise=1.5
import torch

logit_scale = clip.logit_scale
### BEGIN SOLUTION
logits = logit_scale * torch.as_tensor(text_emb, dtype=torch.float64) @ torch.as_tensor(image_emb, dtype=torch.float64).T
target = torch.arange(len(logits))
clip_loss = float((torch.nn.functional.cross_entropy(logits, target)
                   + torch.nn.functional.cross_entropy(logits.T, target)) / 2)
### END SOLUTION

# %% - check=1.5 points=2
check_clip_loss(clip_loss, text_emb, image_emb, logit_scale)

# %% [markdown] slide
# ## Online: a real CLIP on real photos
#
# With network, set `MODEL = "ViT-B-32/laion2b_s34b_b79k"` in the set-up cell and run all cells
# again. The batch then comes from `gk.load_gallery()`: photos that ship inside scikit-image (an
# astronaut, a cat, coffee, a rocket, ...), which need no download, with captions the kit wrote.
# The zero-shot cell still uses shapes; edit `PROMPTS` and `single_images` to classify the photos
# instead (for example "a photo of an animal" vs "a photo of a machine").
#
# **Homework**
#
# 1. With the tiny model, find a caption for which retrieval fails. What does it tell you about what
#    the model learned?
# 2. In the zero-shot cell, classify colours instead of shapes. Which wording works best?
# 3. Reshuffle the pairs completely. The recall on the diagonal falls to about 1/N; why is that
#    not evidence that the model got worse?

# %% [markdown] - answer=1.H3 points=2
# **Rubric for homework 3 (2 points).** 1 point: a complete reshuffle only permutes the columns of
# `S`; the model, its embeddings and every similarity are unchanged. 1 point: the diagonal now
# scores each caption against a random image, which is the row's highest-scoring image only by
# chance, about 1/N of the time, so the drop measures the broken pairing, not the model.

# %% [markdown] slide
# ## Questionnaire
#
# Answer each question with the letter of one option, as `answers = {1: "a", 2: "c", ...}`; the check
# says which answers are not right yet, and why.

# %% -
from IPython.display import Markdown

from grounding_kit.exercises.checks import check_questionnaire
from grounding_kit.exercises.questionnaires import questionnaire_markdown

Markdown(questionnaire_markdown("01"))

# %% subslide exercise=1.Q
### BEGIN SOLUTION
answers = {1: "b", 2: "a", 3: "a", 4: "b"}
### END SOLUTION

# %% - check=1.Q points=2
check_questionnaire(answers, "01")

# %% [markdown] -
# **For discussion in the room:** Is CLIP's similarity $\langle t, v\rangle$ additive, interactive, or neither? What could a CLIP whose score were additive still do, and what not?
