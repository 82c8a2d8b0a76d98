"""Notebook 00: start here (set-up check, course map, how exercises and widgets work)."""

# %% [markdown] slide
# # 00 · Start here
#
# **grounding_kit** is a hands-on course on *multimodal grounding*: tasks that connect what we read
# with what we see (visual question answering, captioning, image-text retrieval). It is built around one
# sharp question asked by Jack Hessel and Lillian Lee at EMNLP 2020:
#
# > *Does my multimodal model learn cross-modal interactions?* It's harder to tell than you might think!
#
# A model that scores well on an image+text task may be doing little more than adding up what the text
# says and what the image shows, separately. The course gives you a tool to find out, **EMAP**, and lets
# you try it on a synthetic world where you know the right answer, with tiny models that ship with the
# kit (a CLIP, a VQA model, and for notebook 06 two audio encoders). Offline, that is all the notebooks show; with network, one line (`MODEL`, below) points the
# same analysis at a real CLIP or VQA model from the model hub, whose results you then measure yourself.
#
# Every measured number in these notebooks is computed by the tested library `grounding_kit` when the
# notebook runs. The exceptions are the results of published papers quoted in notebooks 03 to 06:
# those are typed in, and each names the paper and the table or slide it comes from. Run this notebook
# top to bottom (*Run → Run All Cells*): it checks your set-up.

# %% [markdown] subslide
# ## If you are on Google Colab
#
# Colab starts without the kit. The cell below installs it there (and does nothing anywhere else).
# Set `KIT_REPO` to the git URL your instructor gave you.

# %%
import sys

KIT_REPO = "https://github.com/YOUR-ORG/grounding_kit"  # your course's copy of this repository
if "google.colab" in sys.modules:
    !git clone --depth 1 {KIT_REPO} /content/grounding_kit
    !pip install --quiet -e /content/grounding_kit
    sys.path.insert(0, "/content/grounding_kit")

# %% [markdown] slide
# ## Is everything ready?
#
# `gk.doctor()` checks the Python and package versions, the compute device, the tiny CLIP and VQA models
# that ship with the kit, whether the model hub is reachable (decided within three seconds), and where caches
# live. Offline is fine: the embedded models need no network. The same check runs in a terminal as
# `grounding-kit doctor`.

# %% subslide
import grounding_kit as gk

report = gk.doctor()
report

# %% [markdown] slide
# ## The map of the course
#
# | notebook | what you will do | lecture time |
# |---|---|---|
# | `01_grounding_and_clip` | what grounding is; CLIP as a grounding model; zero-shot classification and retrieval | 25 min |
# | `02_additive_vs_interactive` | additive $f_t(t) + f_v(v)$ vs interactive $f(t, v)$; why beating a linear model proves little | 25 min |
# | `03_rebalancing` | language priors in VQA, blind baselines, complementary pairs (Goyal et al., CVPR 2017) | 20 min |
# | `04_emap` | the decomposition, the projection, reshuffling, reporting EMAP (Hessel & Lee, EMNLP 2020), and what EMAP is not | 35 min |
# | `05_scaling_up` | web-scale pretraining, and the whole analysis on your own images | 25 min |
# | `06_beyond_two_modalities` | a third modality (sound): pivoting through images, EMAP for three modalities | 25 min |
# | `07_one_model_five_measurements` | PID, Shapley interactions, the perceptual score and EMAP on one model | 25 min |
#
# Each notebook has exercises along the way and ends with a short questionnaire. Write your answer in
# place of the `...` under `# YOUR CODE HERE`; the check below it tells you in one line what is still wrong.

# %% [markdown] slide
# ## How the exercises work
#
# Notebooks 01 to 07 have two to eight exercises each. In your copy an exercise reads `# YOUR CODE HERE` and a
# line such as `S = ...`: write your answer in place of the `...`. The `check_...` call in the cell
# below it gives instant feedback in one line: ✔ when you are right, ✘ with what is wrong (the shape,
# the value) and a hint aimed at the likely slip when you are not, and ○ "not done yet" while the `...`
# is still there. Here is the check of exercise 2.3 (notebook 02) receiving a count where it expects
# a fraction, then nothing yet, then the right answer:

# %%
import numpy as np

from grounding_kit.exercises.checks import check_accuracy, raising

logits = np.array([[2.0, 0.1], [0.3, 1.5], [1.0, 0.2]])  # 3 examples, 2 classes
labels = np.array([0, 1, 1])
with raising(False):  # a demonstration: print the verdicts even where a grader would stop at a failure
    check_accuracy(2, logits, labels)  # 2 right answers: a count, not a fraction
    check_accuracy(..., logits, labels)  # the placeholder of your copy: not done yet
    check_accuracy(2 / 3, logits, labels)

# %% [markdown] subslide
# **Skipped an exercise, or not right yet?** *Run → Run All Cells* still runs the whole notebook: a
# check never stops it. Where later cells need an exercise's answer, a line such as
# `G = own_or_kit("2.1", "G", f_t, f_v)` follows the check: it keeps your answer when the check
# accepts it, and otherwise uses the kit's value and says so in one line. Here `G` is still `...`:

# %%
from grounding_kit.exercises.fallbacks import own_or_kit

f_t, f_v = np.array([2.0, -1.0]), np.array([0.3, 1.2, -0.7])
G = ...
G = own_or_kit("2.1", "G", f_t, f_v)
G.shape

# %% [markdown] slide
# ## One variable switches a notebook to real models
#
# Near the top of each notebook that uses a CLIP sits a cell like the one below. The default, `"tiny-shapes"`, is a small
# CLIP that the kit trained on its own synthetic shapes world and ships in `data/models/`: it works in a
# lecture hall with no Wi-Fi. With network, put any open_clip name there (for example
# `"ViT-B-32/laion2b_s34b_b79k"`) or a Hugging Face CLIP (`"openai/clip-vit-base-patch32"`). Without
# network such a name fails within seconds and tells you to switch back.

# %%
MODEL = "tiny-shapes"  # offline default; online e.g. "ViT-B-32/laion2b_s34b_b79k"
gk.list_models()

# %% [markdown] slide
# ## How the widgets work
#
# The notebooks are interactive: sliders, buttons and plots that recompute as you move them. Try it:
# the slider picks a random scene from the kit's **shapes world**, the synthetic world in which every
# task of this course has a known answer. Each scene comes with its description, generated from the
# scene itself: one correct caption among the many a person could write.

# %% subslide
import io

import ipywidgets as widgets
import numpy as np

def scene_png(seed: int) -> tuple[bytes, str]:
    scene = gk.world.sample_scene(np.random.default_rng(seed))
    buffer = io.BytesIO()
    gk.world.render_scene(scene, size=192).save(buffer, format="PNG")
    return buffer.getvalue(), gk.world.describe(scene)

seed_slider = widgets.IntSlider(value=0, min=0, max=99, description="scene")
picture = widgets.Image(format="png", width=192, height=192)
caption = widgets.HTML().add_class("gk-scene-caption")

def show_scene(change=None) -> None:
    picture.value, text = scene_png(seed_slider.value)
    caption.value = f"<b>{text}</b>"

seed_slider.observe(show_scene, names="value")
show_scene()
widgets.VBox([seed_slider, picture, caption])

# %% [markdown] slide
# ## Going online, and back
#
# * **Online** (network to the model hub): set `MODEL` to a real model name in any notebook. Weights are
#   downloaded once into the Hugging Face cache (`~/.cache/huggingface`; a few open_clip tags download
#   from their own URLs into `~/.cache/clip`) and reused offline afterwards.
# * **Offline** (a lecture hall without Wi-Fi): keep `MODEL = "tiny-shapes"`. To be sure nothing tries
#   the network, start Jupyter with `HF_HUB_OFFLINE=1`.
# * **Caches**: generated datasets and computed features live in `~/.cache/grounding_kit` (or wherever
#   `GROUNDING_KIT_CACHE` points). Deleting that folder is always safe.
#
# Next: open `01_grounding_and_clip.ipynb`.

# %% [markdown] slide
# ## Questionnaire
#
# Each notebook ends like this. Answer each question with the letter of one option, as
# `answers = {1: "a", 2: "c", ...}`; the check says which answers are not right yet, and why.

# %% -
from IPython.display import Markdown

from grounding_kit.exercises.checks import check_questionnaire
from grounding_kit.exercises.questionnaires import questionnaire_markdown

Markdown(questionnaire_markdown("00"))

# %% subslide exercise=0.Q
### BEGIN SOLUTION
answers = {1: "b", 2: "b", 3: "b"}
### END SOLUTION

# %% - check=0.Q points=1
check_questionnaire(answers, "00")
