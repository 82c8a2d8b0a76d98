"""A word-level tokenizer for the tiny CLIP: a few dozen words instead of 49,408 BPE tokens.

Token ids: 0 pad, 1 unknown word, 2 start of text, 3.. the words (sorted), and the end-of-text
token takes the highest id of the vocabulary, because open_clip pools the text tower at the
position of the largest token id (``pool_type="argmax"``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Sequence

PAD, UNK, SOT = "<pad>", "<unk>", "<start_of_text>"
EOT = "<end_of_text>"
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric words of ``text`` (punctuation dropped)."""
    return _WORD.findall(text.lower())


class WordTokenizer:
    """Map texts to (N, context_length) token ids for an open_clip text tower.

    Parameters
    ----------
    vocab : the known words (order kept); unknown words map to the ``<unk>`` id.
    vocab_size : size of the embedding table; the end-of-text id is ``vocab_size - 1``.
    context_length : tokens per text, start and end tokens included; longer texts are truncated.
    """

    def __init__(self, vocab: Sequence[str], vocab_size: int, context_length: int) -> None:
        if len(vocab) + 4 > vocab_size:
            raise ValueError(f"vocab_size={vocab_size} is too small for {len(vocab)} words "
                             f"(needs at least {len(vocab) + 4})")
        self.vocab = list(vocab)
        self.vocab_size = vocab_size
        self.context_length = context_length
        self.ids = {word: i + 3 for i, word in enumerate(self.vocab)}
        self.pad_id, self.unk_id, self.sot_id, self.eot_id = 0, 1, 2, vocab_size - 1

    @classmethod
    def fit(cls, texts: Iterable[str], vocab_size: int, context_length: int) -> "WordTokenizer":
        """A tokenizer whose vocabulary is every word of ``texts``, sorted."""
        vocab = sorted({w for text in texts for w in words(text)})
        return cls(vocab, vocab_size, context_length)

    def encode(self, text: str) -> list[int]:
        """Token ids of one text, start and end tokens included, not padded."""
        body = [self.ids.get(w, self.unk_id) for w in words(text)][: self.context_length - 2]
        return [self.sot_id, *body, self.eot_id]

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None):
        """(N, context_length) LongTensor of padded token ids, like open_clip's tokenizers."""
        import torch

        if isinstance(texts, str):
            texts = [texts]
        length = context_length or self.context_length
        out = torch.full((len(texts), length), self.pad_id, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = self.encode(text)[:length]
            ids[-1] = self.eot_id
            out[row, : len(ids)] = torch.tensor(ids)
        return out

    def unknown_words(self, texts: Iterable[str]) -> list[str]:
        """Words of ``texts`` that are not in the vocabulary (sorted, unique)."""
        return sorted({w for text in texts for w in words(text) if w not in self.ids})

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps({"vocab": self.vocab, "vocab_size": self.vocab_size,
                                          "context_length": self.context_length}, indent=1))

    @classmethod
    def load(cls, path: Path) -> "WordTokenizer":
        spec = json.loads(Path(path).read_text())
        return cls(spec["vocab"], spec["vocab_size"], spec["context_length"])


def world_note() -> str:
    """One line on what the offline tiny models know: the shapes world only."""
    from grounding_kit.world import COLORS, SHAPES, SIZES

    return (f"The offline model knows only the shapes world: {len(SHAPES)} shapes ({', '.join(SHAPES)}), "
            f"{len(COLORS)} colours ({', '.join(COLORS)}) and {len(SIZES)} sizes ({', '.join(SIZES)}).")


def unknown_word_message(tokenizer: object, text: str) -> str | None:
    """A one-line message naming the words of ``text`` that ``tokenizer`` does not know, or None
    when it knows them all (or is not a word-level :class:`WordTokenizer`, whose every input has
    tokens: open_clip's BPE, transformers tokenizers, None).

    >>> unknown_word_message(tok, "a red banana")   # doctest: +SKIP
    "unknown word 'banana': the offline model knows only the shapes world ... (it reads 'banana' as <unk>)"
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    if not isinstance(tokenizer, WordTokenizer):
        return None
    unknown = tokenizer.unknown_words([text])
    if not unknown:
        return None
    quoted = ", ".join(repr(w) for w in unknown)
    noun = "word" if len(unknown) == 1 else "words"
    return (f"unknown {noun} {quoted}: {world_note()[:-1]}, so it reads {quoted} as {UNK}, "
            "a token that means nothing to it.")
