"""Tests for lessonlib.text: the batched token operations == reference (one sentence at a time) on the same
draws (Hypothesis), the shipped corpus (offline, counts and balance as its readme states), properties
(seeded, inputs unchanged, padding kept) and bad inputs (the error names the parameter and the fault)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import text
from lessonlib.reference import text as ref
from lessonlib.utils import make_generator, uniform

seeds = st.integers(0, 2**31 - 1)


def _batch(seed, b=5, width=9):
    g = make_generator(seed)
    lengths = torch.randint(0, width + 1, (b,), generator=g)
    tokens = torch.randint(3, 40, (b, width), generator=g)
    tokens = tokens.masked_fill(torch.arange(width) >= lengths[:, None], text.PAD)
    return tokens, lengths


def _rows(tokens, lengths):
    return [row[:n].tolist() for row, n in zip(tokens, lengths.tolist(), strict=True)]


def _padded(tokens, lengths):
    return bool((tokens.masked_select(torch.arange(tokens.shape[1]) >= lengths[:, None]) == text.PAD).all())


@settings(max_examples=40, deadline=None)
@given(seed=seeds, p=st.floats(0, 1), b=st.integers(1, 6), width=st.integers(1, 10))
def test_random_deletion_equals_reference(seed, p, b, width):
    tokens, lengths = _batch(seed, b, width)
    out, new_len = text.random_deletion(tokens, lengths, p=p, generator=make_generator(seed))
    u = uniform(tokens.shape, generator=make_generator(seed), dtype=torch.float64)
    want = [ref.random_deletion(s, u[i].tolist(), p) for i, s in enumerate(_rows(tokens, lengths))]
    assert _rows(out, new_len) == want and _padded(out, new_len) and out.shape == tokens.shape


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(0, 4), b=st.integers(1, 6), width=st.integers(1, 10))
def test_random_swap_equals_reference(seed, n, b, width):
    tokens, lengths = _batch(seed, b, width)
    out, new_len = text.random_swap(tokens, lengths, n_swaps=n, generator=make_generator(seed))
    u = uniform((n, 2, b), generator=make_generator(seed), dtype=torch.float64)
    want = [
        ref.random_swap(s, [(float(u[k, 0, i]), float(u[k, 1, i])) for k in range(n)])
        for i, s in enumerate(_rows(tokens, lengths))
    ]
    assert _rows(out, new_len) == want and _padded(out, new_len)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(0, 4), b=st.integers(1, 6), width=st.integers(1, 10))
def test_random_insertion_equals_reference(seed, n, b, width):
    tokens, lengths = _batch(seed, b, width)
    out, new_len = text.random_insertion(tokens, lengths, n_insertions=n, generator=make_generator(seed))
    u = uniform((n, 2, b), generator=make_generator(seed), dtype=torch.float64)
    want = [
        ref.random_insertion(s, [(float(u[k, 0, i]), float(u[k, 1, i])) for k in range(n)]) if s else []
        for i, s in enumerate(_rows(tokens, lengths))
    ]
    assert _rows(out, new_len) == want and _padded(out, new_len) and out.shape == (b, width + n)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, p=st.floats(0, 1), b=st.integers(1, 6), width=st.integers(1, 10))
def test_mask_tokens_equals_reference(seed, p, b, width):
    tokens, lengths = _batch(seed, b, width)
    out, new_len = text.mask_tokens(tokens, lengths, p=p, generator=make_generator(seed))
    u = uniform(tokens.shape, generator=make_generator(seed), dtype=torch.float64)
    want = [ref.mask_tokens(s, u[i].tolist(), p, text.MASK) for i, s in enumerate(_rows(tokens, lengths))]
    assert _rows(out, new_len) == want and _padded(out, new_len)


def test_the_corpus_ships_offline_balanced(no_network):
    s = text.load_sentiment_sentences()
    assert len(s.texts) == 3000 and s.labels.shape == (3000,)
    for name in text.SOURCES:
        part = text.load_sentiment_sentences(name)
        assert len(part.texts) == 1000 and int(part.labels.sum()) == 500
    assert s.texts[0].startswith("A very, very, very slow-moving, aimless movie")
    assert int(s.labels[0]) == 0


def test_encode_decode_and_bag_of_words():
    vocab = text.build_vocabulary(["The food was good.", "I didn't like the food"])
    assert vocab.words[:3] == ("<pad>", "<mask>", "<unk>") and vocab.words[3:5] == ("the", "food")
    tokens, lengths = text.encode(["the food was good", "great food"], vocab)
    assert lengths.tolist() == [4, 2] and int(tokens[1, 0]) == text.UNK
    assert text.decode(tokens, lengths, vocab) == ["the food was good", "<unk> food"]
    bow = text.bag_of_words(tokens, lengths, len(vocab))
    assert bow[0, vocab.id("food")] == 1 and bow[1].sum() == 1  # <unk> is not counted
    assert text.tokenize("I didn't LIKE it!") == ["i", "didn't", "like", "it"]


def test_ops_are_seeded_and_leave_inputs_unchanged():
    tokens, lengths = _batch(3, 8, 12)
    t0, l0 = tokens.clone(), lengths.clone()
    for op in (
        lambda g: text.random_deletion(tokens, lengths, p=0.3, generator=g),
        lambda g: text.random_swap(tokens, lengths, n_swaps=2, generator=g),
        lambda g: text.random_insertion(tokens, lengths, n_insertions=2, generator=g),
        lambda g: text.mask_tokens(tokens, lengths, p=0.3, generator=g),
    ):
        a, b = op(make_generator(1)), op(make_generator(1))
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(tokens, t0) and torch.equal(lengths, l0)


def test_deletion_never_empties_a_sentence_and_substitution_flips_words():
    tokens, lengths = _batch(5, 6, 7)
    out, new_len = text.random_deletion(tokens, lengths, p=1.0, generator=make_generator(0))
    assert torch.equal(new_len, lengths) and torch.equal(out, tokens)  # all deleted -> kept whole
    vocab = text.build_vocabulary(["good food", "bad food"])
    t, n = text.encode(["good food", "bad service"], vocab)
    swapped, _ = text.substitute(t, n, {vocab.id("good"): vocab.id("bad"), vocab.id("bad"): vocab.id("good")})
    assert text.decode(swapped, n, vocab) == ["bad food", "good <unk>"]


def test_bad_inputs_name_the_parameter():
    tokens, lengths = _batch(0)
    with pytest.raises(ValueError, match=r"p must be"):
        text.random_deletion(tokens, lengths, p=1.5)
    with pytest.raises(TypeError, match=r"tokens and lengths must be int64 tensors, got torch.float32"):
        text.mask_tokens(tokens.float(), lengths, p=0.1)
    with pytest.raises(ValueError, match=r"lengths must have one entry per sentence \(5\), got 4"):
        text.random_swap(tokens, lengths[:4])
    with pytest.raises(ValueError, match=r"lengths must lie in 0..9"):
        text.random_swap(tokens, lengths + 10)
    with pytest.raises(ValueError, match=r"tokens is empty"):
        text.random_swap(tokens[:0], lengths[:0])
    with pytest.raises(ValueError, match=r"n_insertions must be >= 0"):
        text.random_insertion(tokens, lengths, n_insertions=-1)
    with pytest.raises(ValueError, match=r"source must be one of"):
        text.load_sentiment_sentences("twitter")
    with pytest.raises(TypeError, match=r"texts must be a sequence of str"):
        text.build_vocabulary("one sentence")
    with pytest.raises(TypeError, match=r"replacements must be a mapping"):
        text.substitute(tokens, lengths, [(3, 4)])
    with pytest.raises(ValueError, match=r"replacements key must be >= 3"):
        text.substitute(tokens, lengths, {text.MASK: 5})
    with pytest.raises(ValueError, match=r"vocab_size=5"):
        text.bag_of_words(tokens, lengths, 5)
