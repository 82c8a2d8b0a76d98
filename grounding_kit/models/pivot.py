"""Audio -> text without audio-text pairs: pivoting through CLIP's image space (VIP-ANT on our world).

An audio encoder trained only to land on CLIP's *image* embeddings
(:mod:`grounding_kit.models.training.audio`, target "image") can be compared with CLIP's *text*
embeddings directly, because CLIP put images and texts in one space: ``score(a, t) = cos(g(a),
clip_text(t))``. Zhao, Hessel et al. (NAACL 2022) call this zero-resource audio-text grounding
(VIP-ANT); the talk's table (zero-resource prediction, ESC50 accuracy): supervised 95.7,
Wav2CLIP 41.4, VIP-ANT++ 62.8.

:func:`audio_text_retrieval` measures one encoder on fresh scenes; :func:`vip_ant_table` puts the
pivot beside chance and a supervised upper bound, next to the talk's figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from grounding_kit.core.threads import single_thread
from grounding_kit.core.validation import check_positive_int, seed_int

EVAL_SEED = 20_000  # no training pool uses it: fresh scenes
#: the talk's table (VIP-ANT, zero-resource prediction, ESC50 accuracy in %)
TALK_ESC50: dict[str, float] = {"supervised": 95.7, "Wav2CLIP": 41.4, "VIP-ANT++": 62.8}


def audio_text_retrieval(clip: Any, audio_model: Any, n_classify: int = 360, n_retrieve: int = 100,
                         seed: int = EVAL_SEED) -> dict[str, Any]:
    """Audio -> text accuracy of ``audio_model`` against ``clip``'s text tower, on fresh scenes.

    - ``classify``: ``n_classify`` one-object scenes; each sound is assigned the nearest of the 36
      captions "a {size} {colour} {shape}" (an ESC50-style closed label set; chance 1/36).
    - ``retrieve``: ``n_retrieve`` scenes of 1 to 4 objects; each sound retrieves the nearest of the
      ``n_retrieve`` scenes' descriptions; correct when it is its own scene's description
      (recall@1; chance about 1/n_retrieve).

    Beside each figure, ``image_*`` gives CLIP's own image -> text accuracy on the same scenes: the
    ceiling of a pivot through the image space.

    Returns
    -------
    dict: ``classify``, ``retrieve`` (audio -> text accuracy), ``image_classify``,
    ``image_retrieve``, ``chance_classify``, ``chance_retrieve``, ``n_classify``, ``n_retrieve``, ``seed``.
    """
    from grounding_kit.models.audio import encode_audio
    from grounding_kit.world.audio import scenes_audio
    from grounding_kit.world.render import render_scene
    from grounding_kit.world.scenes import caption_templates, describe, sample_scene, single_object_caption

    n_classify, n_retrieve = check_positive_int("n_classify", n_classify), check_positive_int("n_retrieve", n_retrieve)
    rng = np.random.default_rng(seed_int(seed))
    one = [sample_scene(rng, 1) for _ in range(n_classify)]
    many = [sample_scene(rng) for _ in range(n_retrieve)]
    captions = caption_templates()
    truth = np.array([captions.index(single_object_caption(s.objects[0])) for s in one])
    descriptions = [describe(s) for s in many]
    with torch.no_grad(), single_thread():
        caption_emb = clip.encode_texts(captions).float()
        description_emb = clip.encode_texts(descriptions).float()
        out: dict[str, Any] = {}
        for name, scenes, texts, right in (("classify", one, caption_emb, truth),
                                           ("retrieve", many, description_emb, None)):
            audio = encode_audio(audio_model, scenes_audio(scenes))
            image = clip.encode_images([render_scene(s) for s in scenes]).float()
            for prefix, emb in (("", audio), ("image_", image)):
                best = (emb @ texts.T).argmax(1).numpy()
                if right is None:  # own description (identical descriptions count as the same text)
                    hit = np.array([descriptions[b] == descriptions[i] for i, b in enumerate(best)])
                else:
                    hit = best == right
                out[prefix + name] = round(float(hit.mean()), 4)
    unique = len(set(descriptions))
    out.update({"chance_classify": round(1 / len(captions), 4),
                "chance_retrieve": round(float(np.mean([descriptions.count(d) for d in descriptions])) / n_retrieve, 4),
                "n_classify": n_classify, "n_retrieve": n_retrieve, "unique_descriptions": unique, "seed": seed})
    return out


def vip_ant_table(clip: Any, pivot_model: Any, supervised_model: Any, **options: Any):
    """The talk's VIP-ANT table on our world: chance, zero-resource pivot and supervised, in %.

    Parameters
    ----------
    clip : the CLIP whose image space the pivot model was trained into (the tiny CLIP).
    pivot_model : an audio encoder trained on audio-image pairs only (``tiny-audio``).
    supervised_model : one trained on audio-text pairs (``tiny-audio-supervised``), the upper bound.
    **options : passed to :func:`audio_text_retrieval` (``n_classify``, ``n_retrieve``, ``seed``).

    Returns
    -------
    pandas.DataFrame indexed by model ("chance", "zero resource: pivot through images",
    "supervised: audio-text pairs", "image -> text (the pivot's ceiling)"), columns
    "classify 36 captions (%)", "retrieve among N descriptions (%)" and "talk: ESC50 (%)" (the talk's
    figures: supervised 95.7, VIP-ANT++ 62.8; Wav2CLIP 41.4 in its own row; none for chance).
    """
    import pandas as pd

    pivot = audio_text_retrieval(clip, pivot_model, **options)
    supervised = audio_text_retrieval(clip, supervised_model, **options)
    n = pivot["n_retrieve"]
    rows = {
        "chance": (pivot["chance_classify"], pivot["chance_retrieve"], float("nan")),
        "talk: Wav2CLIP (zero resource)": (float("nan"), float("nan"), TALK_ESC50["Wav2CLIP"] / 100),
        "zero resource: pivot through images": (pivot["classify"], pivot["retrieve"], TALK_ESC50["VIP-ANT++"] / 100),
        "supervised: audio-text pairs": (supervised["classify"], supervised["retrieve"], TALK_ESC50["supervised"] / 100),
        "image -> text (the pivot's ceiling)": (pivot["image_classify"], pivot["image_retrieve"], float("nan")),
    }
    return pd.DataFrame({name: [round(100 * v, 1) for v in values] for name, values in rows.items()},
                        index=["classify 36 captions (%)", f"retrieve among {n} descriptions (%)",
                               "talk: ESC50 (%)"]).T
