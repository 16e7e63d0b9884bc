"""Token-level text augmentation (notebook 14): EDA's random deletion, swap and insertion, masking, and a
word substitution that shows how easily a label flips; plus the real sentences it is measured on.

A batch of sentences is ``(tokens, lengths)``: ``tokens`` int64 ``[B, L]`` of vocabulary ids padded with
``PAD`` (0) after each sentence's ``lengths[b]`` tokens. Each operation is ``reference.text.<name>`` (one
sentence at a time, read it first) made batched, validated and seeded by an optional ``torch.Generator``;
``tests/test_text.py`` checks that the two agree on the same draws. Inputs are never modified.

Data: ``load_sentiment_sentences`` reads the UCI *Sentiment Labelled Sentences* (Kotzias et al., 2015;
CC BY 4.0), shipped in ``lessonlib/data_files`` (see ``sentiment_labelled_sentences.md`` there).
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from lessonlib.utils import check_generator, check_int, check_one_of, check_probability, check_tensor, uniform

__all__ = [
    "PAD",
    "MASK",
    "UNK",
    "SentenceSet",
    "load_sentiment_sentences",
    "tokenize",
    "Vocabulary",
    "build_vocabulary",
    "encode",
    "decode",
    "bag_of_words",
    "random_deletion",
    "random_swap",
    "random_insertion",
    "mask_tokens",
    "substitute",
]

PAD, MASK, UNK = 0, 1, 2
_SPECIAL = ("<pad>", "<mask>", "<unk>")
_DATA = Path(__file__).resolve().parent / "data_files"
SOURCES = ("imdb", "amazon_cells", "yelp")


@dataclass(frozen=True)
class SentenceSet:
    """Labelled sentences: ``texts`` (str), ``labels`` int64 ``[N]`` (0 negative, 1 positive), ``sources``."""

    texts: tuple[str, ...]
    labels: torch.Tensor
    sources: tuple[str, ...]


def load_sentiment_sentences(source: str = "all") -> SentenceSet:
    """The UCI Sentiment Labelled Sentences: 1000 review sentences from each of IMDb, Amazon (cell phones)
    and Yelp, 500 positive and 500 negative each (Kotzias, Denil, de Freitas & Smyth, 2015), offline.

    Args:
        source: ``"all"`` (3000 sentences, in the order imdb, amazon_cells, yelp) or one of ``SOURCES``.
    """
    check_one_of(source, "source", ("all", *SOURCES))
    texts, labels, sources = [], [], []
    for name in SOURCES if source == "all" else (source,):
        with gzip.open(_DATA / f"sentiment_{name}_labelled.txt.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                sentence, label = line.rstrip("\n").rsplit("\t", 1)
                texts.append(sentence.strip())
                labels.append(int(label))
                sources.append(name)
    return SentenceSet(tuple(texts), torch.tensor(labels, dtype=torch.long), tuple(sources))


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case words (letters and digits, with an apostrophe suffix kept: ``"didn't"`` is one token)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Vocabulary:
    """Words by id: 0 ``<pad>``, 1 ``<mask>``, 2 ``<unk>``, then the words (most frequent first)."""

    words: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.words)

    def id(self, word: str) -> int:
        """The id of ``word`` (``UNK`` if absent)."""
        return self._index.get(word, UNK)

    @property
    def _index(self) -> dict[str, int]:
        cached = self.__dict__.get("_cache")
        if cached is None:
            cached = {w: i for i, w in enumerate(self.words)}
            object.__setattr__(self, "_cache", cached)
        return cached


def build_vocabulary(texts: Sequence[str], *, min_count: int = 1) -> Vocabulary:
    """The vocabulary of ``texts`` (words seen at least ``min_count`` times; ties in frequency by first use)."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a sequence of str (sentences)")
    min_count = check_int(min_count, "min_count", low=1)
    counts = Counter(w for t in texts for w in tokenize(t))
    words = [w for w, c in counts.most_common() if c >= min_count]
    return Vocabulary(_SPECIAL + tuple(words))


def encode(texts: Sequence[str], vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens [B, L], lengths [B])`` int64 for ``texts`` (unknown words → ``UNK``; L = the longest, >= 1)."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a sequence of str (sentences)")
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
    ids = [[vocab.id(w) for w in tokenize(t)] for t in texts]
    lengths = torch.tensor([len(s) for s in ids], dtype=torch.long)
    tokens = torch.full((len(ids), max([1, *lengths.tolist()])), PAD, dtype=torch.long)
    for b, s in enumerate(ids):
        tokens[b, : len(s)] = torch.tensor(s, dtype=torch.long)
    return tokens, lengths


def _check_batch(tokens: object, lengths: object) -> None:
    check_tensor(tokens, "tokens", ndim=2, nonempty=True)
    check_tensor(lengths, "lengths", ndim=1)
    if tokens.dtype != torch.long or lengths.dtype != torch.long:
        raise TypeError(f"tokens and lengths must be int64 tensors, got {tokens.dtype} and {lengths.dtype}")
    if lengths.shape[0] != tokens.shape[0]:
        raise ValueError(f"lengths must have one entry per sentence ({tokens.shape[0]}), got {lengths.shape[0]}")
    if bool((lengths < 0).any() or (lengths > tokens.shape[1]).any()):
        raise ValueError(f"lengths must lie in 0..{tokens.shape[1]} (the padded width), got {lengths.tolist()[:8]}")


def decode(tokens: torch.Tensor, lengths: torch.Tensor, vocab: Vocabulary) -> list[str]:
    """The sentences of a batch as space-joined words (``<mask>`` and ``<unk>`` shown as such)."""
    _check_batch(tokens, lengths)
    return [" ".join(vocab.words[i] for i in row[:n].tolist()) for row, n in zip(tokens, lengths.tolist(), strict=True)]


def bag_of_words(tokens: torch.Tensor, lengths: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Word counts ``[B, vocab_size]`` float32 (ids ``>= 3``; padding, mask and unknown are not counted)."""
    _check_batch(tokens, lengths)
    vocab_size = check_int(vocab_size, "vocab_size", low=len(_SPECIAL))
    if int(tokens.max()) >= vocab_size:
        raise ValueError(f"tokens hold id {int(tokens.max())}, not below vocab_size={vocab_size}")
    valid = (torch.arange(tokens.shape[1], device=tokens.device) < lengths[:, None]) & (tokens >= len(_SPECIAL))
    out = torch.zeros(tokens.shape[0], vocab_size, device=tokens.device)
    return out.scatter_add_(1, tokens, valid.float())


def _valid(tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return torch.arange(tokens.shape[1], device=tokens.device) < lengths[:, None]


def random_deletion(
    tokens: torch.Tensor, lengths: torch.Tensor, *, p: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.text.random_deletion``; adds validation, the draws (``u`` ``[B, L]``)
    and the whole batch at once. Each token is deleted with probability ``p``; a sentence that would lose
    every token is kept whole. Returns ``(tokens, lengths)``, the same width L, padded with ``PAD``.
    """
    _check_batch(tokens, lengths)
    p = check_probability(p, "p")
    check_generator(generator)
    u = uniform(tokens.shape, generator=generator, device=tokens.device, dtype=torch.float64)
    valid = _valid(tokens, lengths)
    keep = (u >= p) & valid
    keep = torch.where(keep.any(1, keepdim=True), keep, valid)  # never an empty sentence
    order = (~keep).to(torch.int8).argsort(dim=1, stable=True)  # kept tokens first, in their order
    new_len = keep.sum(1)
    out = tokens.gather(1, order).masked_fill(~_valid(tokens, new_len), PAD)
    return out, new_len


def random_swap(
    tokens: torch.Tensor, lengths: torch.Tensor, *, n_swaps: int = 1, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.text.random_swap``; adds validation, the draws (``u`` ``[n_swaps, 2, B]``)
    and the whole batch at once. Swaps two random positions of each sentence ``n_swaps`` times.
    """
    _check_batch(tokens, lengths)
    n_swaps = check_int(n_swaps, "n_swaps", low=0)
    check_generator(generator)
    u = uniform((n_swaps, 2, tokens.shape[0]), generator=generator, device=tokens.device, dtype=torch.float64)
    out = tokens.clone()
    rows = torch.arange(tokens.shape[0], device=tokens.device)
    for s in range(n_swaps):
        i, j = (u[s, 0] * lengths).long(), (u[s, 1] * lengths).long()
        ok = lengths > 0
        i, j, r = i[ok], j[ok], rows[ok]
        ti, tj = out[r, i], out[r, j]
        out[r, i], out[r, j] = tj, ti
    return out, lengths.clone()


def random_insertion(
    tokens: torch.Tensor, lengths: torch.Tensor, *, n_insertions: int = 1, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.text.random_insertion``; adds validation, the draws (``u``
    ``[n_insertions, 2, B]``) and the whole batch at once. Inserts a copy of a random token of each sentence
    at a random place, ``n_insertions`` times (an empty sentence stays empty). Returns width
    ``L + n_insertions``.
    """
    _check_batch(tokens, lengths)
    n = check_int(n_insertions, "n_insertions", low=0)
    check_generator(generator)
    u = uniform((n, 2, tokens.shape[0]), generator=generator, device=tokens.device, dtype=torch.float64)
    out, lens = tokens, lengths.clone()
    for s in range(n):
        ok = lens > 0
        src = (u[s, 0] * lens).long().clamp(max=out.shape[1] - 1)
        at = (u[s, 1] * (lens + 1)).long()
        word = out.gather(1, src[:, None])[:, 0]
        pos = torch.arange(out.shape[1] + 1, device=out.device)[None]
        shifted = out.gather(1, (pos - (pos > at[:, None]).long()).clamp(max=out.shape[1] - 1))
        new = torch.where(pos == at[:, None], word[:, None], shifted)
        new = torch.where(ok[:, None], new, torch.cat([out, out.new_full((out.shape[0], 1), PAD)], 1))
        lens = lens + ok.long()
        out = new.masked_fill(~_valid(new, lens), PAD)
    return out, lens


def mask_tokens(
    tokens: torch.Tensor,
    lengths: torch.Tensor,
    *,
    p: float,
    mask_id: int = MASK,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.text.mask_tokens``; adds validation, the draws (``u`` ``[B, L]``) and the
    whole batch at once. Each token becomes ``mask_id`` with probability ``p``; lengths are unchanged.
    """
    _check_batch(tokens, lengths)
    p = check_probability(p, "p")
    mask_id = check_int(mask_id, "mask_id", low=0)
    check_generator(generator)
    u = uniform(tokens.shape, generator=generator, device=tokens.device, dtype=torch.float64)
    return tokens.masked_fill((u < p) & _valid(tokens, lengths), mask_id), lengths.clone()


def substitute(
    tokens: torch.Tensor, lengths: torch.Tensor, replacements: Mapping[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace every occurrence of each key id by its value id (a word-substitution table, e.g. from a
    thesaurus or from nearest neighbours in an embedding space). Deterministic; lengths unchanged.
    Whether the label survives is the question notebook 14 measures: neighbours in an embedding built
    from contexts are often antonyms ("good" and "bad" occur in the same places).
    """
    _check_batch(tokens, lengths)
    if not isinstance(replacements, Mapping):
        raise TypeError(f"replacements must be a mapping {{id: id}}, got {type(replacements).__name__}")
    pairs = [
        (check_int(k, "replacements key", low=len(_SPECIAL)), check_int(v, "replacements value", low=0))
        for k, v in replacements.items()
    ]
    size = max([int(tokens.max()), *(k for k, _ in pairs), *(v for _, v in pairs)]) + 1
    table = torch.arange(size, device=tokens.device)
    for k, v in pairs:
        table[k] = v
    return torch.where(_valid(tokens, lengths), table[tokens], tokens), lengths.clone()
