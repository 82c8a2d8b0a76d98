"""Retrieval with CLIP (caption -> images, image -> captions) and the grounding explorer (+ VQA)."""

from __future__ import annotations

import html
from typing import Any, Sequence

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from grounding_kit.world.queries import EXAMPLE_QUERIES
from grounding_kit.models.tokenizer import WordTokenizer, unknown_word_message, world_note
from grounding_kit.widgets import components as ui
from grounding_kit.widgets.helpers import ranking, to_numpy


# side by side in a slide's output area (about 1090 px beside the prompt) and under 520 px tall
CARD_PX = 72     # the ranked images: five cards in one row of SEARCH_PX
SEARCH_PX = 630  # caption -> images
PICK_PX = 450    # image -> captions (and the explorer's question)
FIG_PX = 180     # each ranking's height


class RetrievalWidget(w.VBox):
    """See :func:`retrieval_widget`. Callbacks: :meth:`search` (caption), :meth:`pick` (image index)."""

    def __init__(self, clip: Any, images: Sequence[Any], texts: Sequence[str], *, top_k: int = 5,
                 query: str | None = None) -> None:
        if len(images) < 1 or len(texts) < 1:
            raise ValueError(f"images and texts must be non-empty, got {len(images)} images and {len(texts)} texts")
        self.clip = clip
        self.images, self.texts = list(images), list(texts)
        self.top_k = min(top_k, len(self.images), len(self.texts))
        # precomputed once: every image and candidate caption in CLIP's joint space
        self.image_emb = to_numpy(clip.encode_images(self.images))
        self.text_emb = to_numpy(clip.encode_texts(self.texts))
        self.png = [ui.png_bytes(im) for im in self.images]
        self._queries: dict[str, np.ndarray] = {}  # typed caption -> its embedding
        # the tiny offline CLIP knows a few dozen words: say so, and offer queries it ranks well
        self.tokenizer = getattr(clip, "tokenizer", None)
        offline = isinstance(self.tokenizer, WordTokenizer)
        self.example_queries = list(EXAMPLE_QUERIES) if offline else []
        self.note = w.HTML(html.escape(world_note()) if offline else "")
        self.message = ui.status()
        self._build(query if query is not None else self.texts[0])
        self.search(self.query.value)
        self.pick(0)
        ui.publish(self)

    def _build(self, query: str) -> None:
        self.query = w.Text(value=query, description="caption", continuous_update=False,
                            layout=w.Layout(width="420px"))
        self.query.add_class("gk-query")
        self.query.observe(lambda change: self.search(change["new"]), names="value")
        self.example_buttons = [w.Button(description=text, layout=w.Layout(width="auto"))
                                for text in self.example_queries]
        for button in self.example_buttons:
            button.on_click(lambda b: setattr(self.query, "value", b.description))
        examples = w.HBox([w.Label("try:"), *self.example_buttons], layout=w.Layout(flex_flow="row wrap"))
        self.image_gallery, self.image_cards = ui.gallery(self.top_k, px=CARD_PX, button="pick")
        self.ranked = np.zeros(self.top_k, dtype=int)  # image index shown on each card
        for k, card in enumerate(self.image_cards):
            card.button.on_click(lambda _, k=k: self.pick(int(self.ranked[k])))
        self.fig_images = ui.figure([go.Bar(x=[], y=[], marker_color="#4c72b0")], height=FIG_PX,
                                    title="images ranked by CLIP similarity to the caption",
                                    yaxis=dict(title="scaled cosine"))
        self.picker = w.IntSlider(value=0, min=0, max=len(self.images) - 1, description="image #",
                                  continuous_update=False)
        self.picker.observe(lambda change: self.pick(change["new"]), names="value")
        self.picked = ui.ImageCard(px=96)
        self.fig_texts = ui.figure([go.Bar(x=[], y=[], orientation="h", marker_color="#55a868")], height=FIG_PX,
                                   title="captions ranked by CLIP similarity to the image",
                                   yaxis=dict(autorange="reversed"), margin=dict(l=260, r=20, t=50, b=40))
        # the two directions side by side (wrapping on a narrow page): together they fit a 1280x720 slide
        self.search_part = w.VBox([
            ui.title("Caption -> images", "Type a caption (Enter): CLIP ranks the images."),
            self.note, examples if self.example_buttons else w.HBox(), self.query, self.message,
            self.image_gallery, self.fig_images,
        ], layout=w.Layout(width=f"{SEARCH_PX}px"))
        self.pick_part = w.VBox([
            ui.title("Image -> captions", "Pick an image (slider or a ranked image's button): "
                                          "CLIP ranks the candidate captions."),
            self.picker, self.picked, self.fig_texts,
        ], layout=w.Layout(width=f"{PICK_PX}px"))
        super().__init__([w.HBox([self.search_part, self.pick_part], layout=w.Layout(flex_flow="row wrap"))])
        self.add_class("gk-retrieval")

    @ui.callback
    def search(self, caption: str) -> np.ndarray:
        """Rank the images for ``caption``; returns the top-k image indices, best first. A word the
        tiny CLIP does not know is named in :attr:`message`."""
        self.message.value = html.escape(unknown_word_message(self.tokenizer, caption) or "")
        if caption not in self._queries:
            self._queries[caption] = to_numpy(self.clip.encode_texts([caption]))[0]
        q = self._queries[caption]
        scores = to_numpy(self.clip.scores(q[None, :], self.image_emb))[0]
        top = ranking(scores, self.top_k)
        self.ranked = top
        for card, j in zip(self.image_cards, top):
            card.show(self.png[j], f"#{j}  {scores[j]:.2f}")
        with self.fig_images.batch_update():
            self.fig_images.data[0].x = [f"#{j}" for j in top]
            self.fig_images.data[0].y = scores[top]
        return top

    @ui.callback
    def pick(self, index: int) -> np.ndarray:
        """Rank the captions for image ``index``; returns the top-k caption indices, best first."""
        index = int(index)
        if self.picker.value != index:
            self.picker.value = index  # observers call pick again with the same index: cheap
        scores = to_numpy(self.clip.scores(self.text_emb, self.image_emb[index][None, :]))[:, 0]
        top = ranking(scores, self.top_k)
        self.picked.show(self.png[index], f"image #{index}")
        with self.fig_texts.batch_update():
            self.fig_texts.data[0].y = [self.texts[i] for i in top]
            self.fig_texts.data[0].x = scores[top]
        return top


class GroundingExplorer(RetrievalWidget):
    """See :func:`grounding_explorer`. Adds :meth:`ask` (question about the picked image)."""

    def __init__(self, clip: Any, images: Sequence[Any], texts: Sequence[str], vqa: Any = None, *,
                 question: str = "what color is the circle?", top_k: int = 5, query: str | None = None) -> None:
        if vqa is None:
            from grounding_kit.models import load_vqa

            vqa = load_vqa()
        self.vqa = vqa
        self.question = w.Text(value=question, description="question", continuous_update=False,
                               layout=w.Layout(width="420px"))
        self.question.add_class("gk-question")
        self.fig_answers = ui.figure([go.Bar(x=[], y=[], marker_color="#c44e52")], height=FIG_PX,
                                     title="VQA model: answers for the picked image", yaxis=dict(range=[0, 1]))
        super().__init__(clip, images, texts, top_k=top_k, query=query)
        self.question.observe(lambda change: self.ask(change["new"]), names="value")
        ui.publish(self)
        self.pick_part.children = (*self.pick_part.children,
                                   ui.title("Ask the picked image", "Type a question (Enter): the VQA model answers."),
                                   self.question, self.fig_answers)
        self.add_class("gk-explorer")

    @ui.callback
    def pick(self, index: int) -> np.ndarray:
        top = super().pick(index)
        self.ask(self.question.value)
        return top

    @ui.callback
    def ask(self, question: str) -> list[tuple[str, float]]:
        """The VQA model's top answers (answer, probability) for the picked image."""
        answers = self.vqa.answer([self.images[self.picker.value]], [question], top_k=self.top_k)[0]
        pairs = [(str(a), float(p)) for a, p in answers]
        with self.fig_answers.batch_update():
            self.fig_answers.data[0].x = [a for a, _ in pairs]
            self.fig_answers.data[0].y = [p for _, p in pairs]
        return pairs


def retrieval_widget(clip: Any, images: Sequence[Any], texts: Sequence[str], *, top_k: int = 5,
                     query: str | None = None) -> RetrievalWidget:
    """Type a caption, see the images ranked by CLIP; pick an image, see the captions ranked.

    Parameters
    ----------
    clip : a CLIP from ``load_clip`` (``encode_texts``, ``encode_images``, ``logit_scale``).
    images : N PIL images; embedded once.
    texts : M candidate captions; embedded once (a typed caption is embedded on submit).
    top_k : how many results to show.
    query : the caption searched first (default: ``texts[0]``).

    Returns
    -------
    RetrievalWidget (an ``ipywidgets.VBox``). Callbacks: ``search(caption)``, ``pick(index)``.
    """
    return RetrievalWidget(clip, images, texts, top_k=top_k, query=query)


def grounding_explorer(clip: Any, images: Sequence[Any], texts: Sequence[str], vqa: Any = None, *,
                       question: str = "what color is the circle?", top_k: int = 5,
                       query: str | None = None) -> GroundingExplorer:
    """The retrieval widget plus the VQA model's answers to a typed question about the picked image.

    Parameters
    ----------
    clip, images, texts, top_k, query : as in :func:`retrieval_widget`.
    vqa : a VQA model from ``load_vqa`` (``answer(images, questions, top_k)``); default: the
        embedded ``load_vqa("tiny-shapes-vqa")``.
    question : the question asked first.

    Returns
    -------
    GroundingExplorer (an ``ipywidgets.VBox``). Callbacks: ``search``, ``pick``, ``ask(question)``.
    """
    return GroundingExplorer(clip, images, texts, vqa, question=question, top_k=top_k, query=query)
