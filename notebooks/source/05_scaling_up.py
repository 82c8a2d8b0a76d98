# Source of notebooks/05_scaling_up.ipynb: edit here, then `python -m grounding_kit.course build`.

# %% [markdown] slide
# # 05 · Scaling up: web-scale multimodal models, and your own analysis
#
# **Lecture unit, about 25 minutes.** By the end you can
#
# * describe how today's multimodal models are built: the biggest model you can afford, trained on
#   the most data you can gather from the web;
# * read the results tables of MERLOT / RESERVE and Flamingo as data;
# * run the whole analysis of this course (features, heads, EMAP report, reshuffles) on a folder of
#   your own images with a real CLIP, or offline on the shapes world;
# * discuss what this way of building models costs, and who pays.

# %% [markdown] slide
# ## The recipe of the early 2020s
#
# How do we build models powerful enough to learn cross-modal interactions? Lately the answer has been:
# **train the biggest model you can afford on the most data you can grab from the web.** Web data is,
# in the words of Halevy, Norvig and Pereira (2009), "the best ally we have". The talk's examples, one per
# family of tasks, are not all paired: images come with captions and videos with speech transcripts,
# but its audio example is speech with no text at all.

# %% subslide
import pandas as pd

import grounding_kit as gk
from grounding_kit.exercises.checks import check_columns_above, check_emap_gap

# for the capstone at the end: your own photos with a real CLIP, or the offline defaults
MODEL = "tiny-shapes"  # with your own photos use a real CLIP, e.g. "ViT-B-32/laion2b_s34b_b79k"
FOLDER = None  # e.g. "my_photos/" (an imagefolder with metadata.jsonl or captions.csv)
claims = {}  # measured values the text below relies on (tests/test_notebook_claims.py checks them)

web_data = pd.DataFrame(
    [("image + text", "Conceptual Captions", "Sharma et al. (2018)", "3M webly supervised image-caption pairs",
      "paired"),
     ("video + text", "HowTo100M", "Miech et al. (2019)", "100M web video clips with speech transcripts (ASR)",
      "paired (automatic transcripts)"),
     ("audio + text", "wav2vec 2.0 pretraining", "Baevski et al. (2020)", "1,000 hours of untranscribed speech",
      "unpaired: audio only"),
     ("image + text", "CLIP's training set", "Radford et al. (2021)", "400M image-caption pairs from the web",
      "paired")],
    columns=["tasks", "corpus", "reference", "scale (as on the talk's slides)", "pairing"])
web_data

# %% [markdown] subslide
# Where no parallel data exist, a model can be connected through a third modality instead: VIP-ANT
# (Zhao, Hessel, Yu, Lu, Zellers and Choi, NAACL 2022, shown in the talk) links audio and text through
# images, *without* audio-text pairs ("Connecting the dots between audio and text without parallel data
# through visual knowledge transfer").

# %% [markdown] subslide
# ## The bitter lesson, with some sweetener
#
# Rich Sutton's *The Bitter Lesson* (2019): over 70 years of AI research, general methods that make use
# of computation have won, by a large margin. Some sweetener for the bitter lesson:
#
# * Methods go out of date quickly in every field, not only in AI.
# * Our tools work better than they ever have.
# * "Most effective": who gets to define that, and how?
# * What an AI researcher *is* keeps changing, which leaves plenty of room to shape the field.

# %% [markdown] slide
# ## MERLOT and MERLOT Reserve: learning from video
#
# MERLOT (Zellers, Lu, Hessel et al., NeurIPS 2021) learns *neural script knowledge* from millions of
# YouTube videos and their transcripts: temporal understanding, what tends to happen next. MERLOT
# Reserve (Zellers et al., CVPR 2022) adds **audio**, more data (6M to 20M videos), more compute (the
# talk: a 400M-parameter "base" and a 700M-parameter "large" model) and more training (about two weeks
# on roughly 512 TPUs). On VCR
# (Zellers et al., 2019), the talk shows the RESERVE paper's comparison with the largest submitted single
# models (Zellers et al., 2022, Table 2; test accuracy in %):

# %% subslide
vcr = pd.DataFrame(
    [("caption/detection-based", "ERNIE-ViL-Large", 79.2, 83.5, 66.3),
     ("caption/detection-based", "Villa-Large", 78.9, 83.8, 65.7),
     ("caption/detection-based", "UNITER-Large", 77.3, 80.8, 62.8),
     ("caption/detection-based", "Villa-Base", 76.4, 79.1, 60.6),
     ("caption/detection-based", "ViLBERT", 73.3, 74.6, 54.8),
     ("caption/detection-based", "B2T2", 72.6, 75.7, 55.0),
     ("caption/detection-based", "VisualBERT", 71.6, 73.2, 52.4),
     ("video-based", "MERLOT", 80.6, 80.4, 65.1),
     ("video-based", "RESERVE-B", 79.3, 78.7, 62.6),
     ("video-based", "RESERVE-L", 84.0, 84.9, 72.0)],
    columns=["family", "model", "Q->A", "QA->R", "Q->AR"]).set_index("model")
claims["vcr"] = vcr.drop(columns="family").to_dict()
vcr.sort_values("Q->AR", ascending=False)

# %% [markdown] subslide
# RESERVE-L leads on all three metrics. MERLOT leads the caption/detection-based models on Q->A (80.6
# against ERNIE-ViL-Large's 79.2) but not on QA->R or on the full Q->AR task, where ERNIE-ViL-Large's
# 66.3 is ahead of its 65.1.

# %% [markdown] slide
# ## Flamingo: let a large language model see
#
# Flamingo (Alayrac et al., 2022, DeepMind) does not train a new generator from scratch. It keeps a
# large language model and a vision encoder **frozen** and trains new gated cross-attention layers and a
# "perceiver resampler" between them, on a mixture of image-text pairs, video-text pairs and web pages
# with interleaved images and text (M3W). Its parameters, typed in from the Flamingo paper's table of
# parameter counts as shown in the talk (captioned there "Table 1 | Parameter counts for Flamingo models"):

# %% -
flamingo_sizes = pd.DataFrame(
    [("Flamingo-3B", False, 1.4, 0.435, 1.2, 0.194, 3.2),
     ("Flamingo-9B", False, 7.1, 0.435, 1.6, 0.194, 9.3),
     ("Flamingo", True, 70.0, 0.435, 10.0, 0.194, 80.0)],
    columns=["model", "needs model sharding", "frozen language model (B)", "frozen vision (B)",
             "trainable cross-attention (B)", "trainable resampler (B)", "total (B)"]).set_index("model")
flamingo_sizes

# %% [markdown] notes
# 80B parameters is about 320 GB for the weights alone (4 bytes each); the largest model trained on 1536
# TPU v4 chips for 15 days. Engineering: sharding, number formats, numerical stability, learning rates.

# %% [markdown] subslide
# ## Flamingo, few-shot, against fine-tuned models
#
# With a handful of examples in its prompt and no fine-tuning, the largest Flamingo (80B parameters) is
# compared with the best *fine-tuned* model on each benchmark (typed in from the Flamingo paper's
# comparison with the state of the art, Alayrac et al., 2022, as shown in the talk's slide "Quantitative
# results"; VisDial 32-shot is missing: out of context length). The last row is the number of training
# examples the fine-tuned model used.

# %% -
tasks = ["OKVQA", "VQAv2", "COCO", "MSVDQA", "VATEX", "VizWiz", "Flickr30K", "MSRVTTQA", "iVQA",
         "YouCook2", "STAR", "VisDial", "TextVQA", "NextQA", "HatefulMemes"]
flamingo = pd.DataFrame(
    [[50.6, 56.3, 84.3, 35.6, 46.7, 31.6, 67.2, 17.4, 40.7, 60.1, 39.7, 52.0, 35.0, 26.7, 46.4],
     [57.4, 63.1, 103.2, 41.7, 56.0, 39.6, 75.1, 23.9, 44.1, 74.5, 42.4, 55.6, 36.5, 30.8, 68.6],
     [57.5, 65.6, 108.8, 45.5, 60.6, 44.8, 78.2, 27.6, 44.8, 80.7, 42.3, 56.4, 37.3, 32.3, 70.0],
     [57.8, 66.8, 110.5, 48.4, 62.8, 48.4, 78.9, 30.0, 45.2, 84.2, 41.1, 56.8, 37.6, 32.9, 70.0],
     [57.8, 67.6, 113.8, 52.3, 65.1, 49.8, 75.4, 31.0, 45.3, 86.8, 42.2, None, 37.9, 33.5, 70.0],
     [54.4, 80.2, 143.3, 47.9, 76.3, 57.2, 67.4, 46.8, 35.4, 138.7, 36.7, 75.2, 54.7, 25.2, 75.4]],
    index=["Flamingo-80B 0-shot", "Flamingo-80B 4-shot", "Flamingo-80B 8-shot", "Flamingo-80B 16-shot",
           "Flamingo-80B 32-shot", "fine-tuned state of the art"], columns=tasks)
fine_tuning_examples = pd.Series([10e3, 444e3, 500e3, 27e3, 500e3, 20e3, 30e3, 130e3, 6e3, 10e3, 46e3, 123e3,
                                  20e3, 38e3, 9e3], index=tasks, name="fine-tuning examples")
claims["flamingo"] = flamingo.to_dict()
claims["fine_tuning_examples"] = fine_tuning_examples.to_dict()

# %% subslide
pd.concat([flamingo, fine_tuning_examples.to_frame().T])

# %% [markdown] subslide
# ## Exercise 5.1: where does few-shot win?
#
# List the benchmarks (column names) on which **Flamingo-80B 32-shot** scores higher than the
# **fine-tuned state of the art**. A missing value (VisDial, out of context) is not a win.

# %% - exercise=5.1
### BEGIN SOLUTION
wins = [task for task in flamingo.columns
        if flamingo.loc["Flamingo-80B 32-shot", task] > flamingo.loc["fine-tuned state of the art", task]]
### END SOLUTION

# %% - check=5.1 points=1
check_columns_above(wins, flamingo, row="Flamingo-80B 32-shot", baseline="fine-tuned state of the art")

# %% [markdown] subslide
# ## Exercise 5.2: a claim the table can test
#
# *"Few-shot Flamingo wins exactly where fine-tuning data is scarce."* **Predict first**: among the
# benchmarks whose fine-tuned model saw at most 10,000 examples, on which does the fine-tuned model
# still score higher than Flamingo-80B 32-shot? List them as `counterexamples` (an empty list if you
# think there are none). One counterexample is enough to refute the claim as stated.

# %% - exercise=5.2
small = fine_tuning_examples.index[fine_tuning_examples <= 10_000]
### BEGIN SOLUTION
counterexamples = [task for task in small
                   if flamingo.loc["fine-tuned state of the art", task] > flamingo.loc["Flamingo-80B 32-shot", task]]
### END SOLUTION

# %% - check=5.2 points=1
check_columns_above(counterexamples, flamingo[small], row="fine-tuned state of the art",
                    baseline="Flamingo-80B 32-shot", exercise="Exercise 5.2 (testing a claim)")

# %% [markdown] subslide
# <details><summary>After the check: what the counterexamples say</summary>
#
# Scarce fine-tuning data is not enough for few-shot to win: on YouCook2 (video captioning, 10K
# examples) and HatefulMemes (9K) the fine-tuned models stay ahead. The table supports a weaker
# claim: few-shot wins only on benchmarks with little fine-tuning data (every 32-shot win has at most
# 46K), but not on all of them.
# </details>

# %% [markdown] slide
# ## Other web-trained models
#
# * **CLIP** (Radford et al., ICML 2021): about 400M image-caption pairs from the web and a contrastive
#   loss (notebook 01); strong zero-shot recognition on ImageNet, food, and many other classification
#   tasks.
# * **DALL-E 2** (Ramesh et al., 2022): generates images from text *through CLIP's latent space*, for
#   example "The University of Washington quad with cherry blossoms under the stars".
#
# Is a web-scale model's accuracy *interactive*? EMAP does not care how a model was trained, but it needs
# a score for every text-image combination over a fixed set of outputs: logits over a classifier's
# labels, or a similarity such as CLIP's. A generative model (Flamingo writes text, DALL-E 2 draws
# images) has no fixed label space, so a scoring step comes first: for example the log-likelihood the
# model gives each candidate answer of a multiple-choice task, for every question with every image.
# EMAP then projects those scores. The capstone uses classifier heads, which have logits.

# %% [markdown] slide
# ## Capstone: the whole analysis on your own images
#
# Put your photos in a folder with a `metadata.jsonl` beside them, one line per image:
# `{"file_name": "cat.jpg", "text": "a cat on a sofa", "label": 1}` (or a `captions.csv` with the same
# columns). The label is what your task predicts (does the caption fit? is the post positive?); the
# heads learn it. Set `FOLDER` and `MODEL` in the set-up cell at the top and run all cells.
# `gk.load_image_text_folder(FOLDER)` gives the same columns as the kit's synthetic tasks, so every step
# below runs unchanged. With `FOLDER = None` the capstone runs offline on the shapes world's match task.

# %% -
clip = gk.load_clip(MODEL)
data = gk.make_task("match", n=600, seed=0) if FOLDER is None else gk.load_image_text_folder(FOLDER)
exp = gk.experiment(clip, data, test_size=0.5, seed=0)  # embeds every pair, then a random half/half split
print(f"{len(data)} pairs ({len(exp.labels_train)} train, {len(exp.labels_eval)} test), "
      f"{len(set(data['label']))} classes, features of dimension {exp.feats_eval.text.shape[1]}")

# %% [markdown] subslide
# ## Step 1: fit an additive and an interactive head

# %% -
heads = {kind: exp.head(kind, seed=0) for kind in ("additive", "interactive")}  # fitted on the train half
test_feats, test_labels = exp.feats_eval, exp.labels_eval

# %% [markdown] subslide
# ## Step 2: the EMAP report
#
# For a small folder, the bootstrap intervals are wide: read them before you read the point estimates.

# %% -
report = gk.emap_report(test_labels, heads["interactive"], test_feats)
report

# %% [markdown] subslide
# ## Exercise 5.3: the EMAP gap
#
# From `report`, compute `gap`: the interactive model's score minus its EMAP's score. Then read the
# check's verdict: what the 95% interval of the gap says about this trained head on your test pairs,
# and what it leaves out (retraining, re-estimating the projection). An interval around zero is not yet
# evidence that no interaction is needed: that takes an equivalence test against a margin fixed before
# looking (`gk.emap_report(..., margin=m)`).

# %% - exercise=5.3
### BEGIN SOLUTION
gap = report.loc["full model", "score"] - report.loc["EMAP", "score"]
### END SOLUTION

# %% - check=5.3 points=1
check_emap_gap(gap, report)

# %% [markdown] subslide
# ## Step 3: break the pairs
#
# The reshuffle lab of notebook 04 on your data: how fast does each predictor fall as the pairs break?

# %% subslide
gk.widgets.reshuffle_lab(heads["interactive"], test_feats, test_labels, additive=heads["additive"],
                         images=exp.eval_ds["image"], texts=exp.eval_ds["text"], seed=0)

# %% [markdown] slide
# ## Measuring a big model
#
# EMAP needs a model's logits on **every** text-image combination: N x N forward passes for N examples.
# The kit's heads have closed forms that evaluate no pair at all, but a transformer that mixes the two
# modalities, such as ViLT or LXMERT, has none: every pair is one forward pass. For a sense of scale, take
# a paper-sized experiment (our assumption, not a number quoted from the paper): N = 500 test examples,
# repeated for 15 training seeds, per dataset:

# %% -
paper = {"seeds": 15, "N": 500}
claims["paper_passes"] = paper["seeds"] * paper["N"] ** 2
print(f"{paper['seeds']} seeds x {paper['N']} x {paper['N']} pairs = {claims['paper_passes']:,} forward passes per dataset")

# %% [markdown] subslide
# ## The same EMAP on a Dask cluster
#
# `gk.emap_model(model, inputs, client=client)` splits the N x N grid into blocks of rows and columns. Each
# [Dask](https://distributed.dask.org) task evaluates one block and sends back only that block's row sums,
# column sums and share of the diagonal, never the grid; the client adds the blocks up in a fixed order, so
# the number does not depend on how many workers there are. Below: a local cluster of 2 workers computes the
# exact EMAP of the tiny ViLT on 150 questions (22,500 forward passes); the clock starts once the workers are
# up. The workers are threads of this kernel (`processes=False`): a worker process would import torch and load
# the model again, and on a course hub every process of a student counts against one memory limit (the
# instructor's guide has the measurement). On your own machine, leave `processes=False` out to get processes.

# %% subslide
import logging
import time

from distributed import Client, LocalCluster

N_BIG = 150
vqa = gk.load_vqa("tiny-shapes-vqa", device="cpu")
questions = gk.make_task("vqa", n=N_BIG, seed=1)
inputs = vqa.pair_inputs(questions["image"], questions["text"])  # each question tokenized, each image prepared once
logging.getLogger("distributed").setLevel(logging.ERROR)  # Dask's start/stop log stays out of the notebook
with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0") as cluster, \
        Client(cluster) as client:
    start = time.perf_counter()
    big = gk.emap_model(vqa.pair_model, inputs, client=client)
    seconds = time.perf_counter() - start


def accuracy(logits):
    predicted = [vqa.answers[i] for i in logits.argmax(-1).tolist()]
    return gk.analysis.accuracy_by_type(questions["answer"], predicted, questions["question_type"])["all"]["accuracy"]


claims["accuracy_model"], claims["accuracy_emap"] = accuracy(big.diagonal), accuracy(big.projection)
claims["per_pair_ms"] = 1e3 * 2 * seconds / N_BIG**2  # worker time per pass, Dask's scheduling included
print(f"{N_BIG**2:,} forward passes in {seconds:.1f} s on 2 workers ({claims['per_pair_ms']:.2f} ms of worker time "
      f"per pass); accuracy of the tiny ViLT {claims['accuracy_model']:.3f}, of its EMAP {claims['accuracy_emap']:.3f}")

# %% [markdown] notes
# The tiny ViLT loses accuracy under EMAP here, as in notebook 04: it uses interactions between question and
# image. The same call with `checkpoint="emap-run/"` writes every finished block to that folder; a rerun after
# a crash computes only the missing blocks and gives the same number.

# %% [markdown] subslide
# ## The paper-sized setting on k machines
#
# Hours per dataset from the tiny ViLT's cost measured above (an upper bound: it includes Dask's
# scheduling) and, for a base-size model (ViLT-B/32 has about 87 M parameters, Kim et al., 2021), an
# **assumed** 1 ms per pair on one GPU, batched. Set `BASE_MS_PER_PAIR` to what you measure on your hardware.

# %% -
BASE_MS_PER_PAIR = 1.0  # an assumption, not a measurement: a base-size model, one GPU, batches of a few hundred pairs
cost = pd.DataFrame({f"{k} worker(s)": {"tiny ViLT, CPU cores (measured above)":
                                        claims["paper_passes"] * claims["per_pair_ms"] / 1e3 / 3600 / k,
                                        "base-size model, GPUs (assumed cost)":
                                        claims["paper_passes"] * BASE_MS_PER_PAIR / 1e3 / 3600 / k}
                     for k in (1, 4, 16)})
cost.round(2).rename_axis("hours per dataset (3.75 M passes)")

# %% [markdown] subslide
# ## On a real cluster
#
# The call does not change; only the cluster does. On SLURM with
# [dask-jobqueue](https://jobqueue.dask.org) (`pip install dask-jobqueue`), one GPU per worker:
#
# ```python
# from dask_jobqueue import SLURMCluster
# cluster = SLURMCluster(cores=1, processes=1, memory="32GB", job_extra_directives=["--gres=gpu:1"])
# cluster.scale(jobs=8)                       # 8 workers, one GPU each
# client = Client(cluster)
# vqa.pair_model.batch_size = 512             # fill the GPU
# est = gk.emap_model(vqa.pair_model, inputs, client=client, batch_size=4096, checkpoint="emap-run/")
# ```
#
# On Kubernetes, `dask_kubernetes.operator.KubeCluster` plays the same part. On one machine with several
# GPUs, `grounding_kit.analysis.distributed.gpu_cluster()` starts one worker per GPU.

# %% [markdown] slide
# ## Ethics and discussion
#
# Web-scale training raises questions that a results table does not answer. Discuss in small groups:
#
# 1. **Consent and privacy.** The photos and captions in web corpora were posted by people who never
#    agreed to train a model. What should a dataset like Conceptual Captions or CLIP's owe them?
# 2. **Whose web?** Web text and images over-represent some languages, places and people. How would
#    that show up in a zero-shot classifier, and how would you test for it with this kit?
# 3. **Unfiltered outputs.** Large generators can produce offensive or graphic content. Who is
#    responsible when they do: the model's builders, its deployers, or its users?
# 4. **Cost.** Training the largest Flamingo took 1536 TPU v4 chips for 15 days. Who can afford to do
#    such research, and what does that mean for who defines "most effective"?
# 5. **Measurement.** A leaderboard gain may come from scale rather than from cross-modal reasoning.
#    What would you report, besides accuracy, to show that a model connects its modalities?
#
# **Homework (capstone):** run this notebook on 50-200 of your own image-text pairs with a real CLIP,
# and write half a page: does your task need cross-modal interactions? Support the answer with the EMAP
# report and the reshuffle lab, and say what would change your mind.

# %% [markdown] subslide answer=5.H1 points=4
# **Rubric for the capstone (4 points).** 1 point: the EMAP report of their own data, with the
# full model, EMAP and constant rows and their intervals. 1 point: a verdict that follows from the
# interval of model minus EMAP (an interval above 0: the interactions help on this data; an interval
# that contains 0: no evidence that they do), not from the point estimates alone. 1 point: the
# reshuffle lab read correctly: how far the model and its EMAP fall as the pairs break. 1 point: what
# would change their mind, for example more pairs to narrow the interval, another model, or data
# whose labels need both the image and the text.

# %% [markdown] slide
# ## Questionnaire
#
# Answer each question with the letter of one option, as `answers = {1: "a", 2: "c", ...}`; the check
# says which answers are not right yet, and why.

# %% -
from IPython.display import Markdown

from grounding_kit.exercises.checks import check_questionnaire
from grounding_kit.exercises.questionnaires import questionnaire_markdown

Markdown(questionnaire_markdown("05"))

# %% subslide exercise=5.Q
### BEGIN SOLUTION
answers = {1: "b", 2: "b", 3: "c"}
### END SOLUTION

# %% - check=5.Q points=2
check_questionnaire(answers, "05")

# %% [markdown] -
# **For discussion in the room:** How would you compute EMAP for a captioning model that generates text? What would you score, and over which pairs?
