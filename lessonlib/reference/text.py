"""Reference token-level text augmentation (see ``lessonlib.reference``): EDA's random deletion, swap
and insertion, and masking, on one sentence at a time.

A sentence is a list of token ids; every random draw is an argument (uniforms in [0, 1)), so the
batched versions in ``lessonlib.text`` can be run on the same draws and compared (``tests/test_text.py``).
"""

from __future__ import annotations

__all__ = ["random_deletion", "random_swap", "random_insertion", "mask_tokens"]


def random_deletion(tokens: list[int], u: list[float], p: float) -> list[int]:
    """Delete each token with probability ``p``: keep token i iff ``u_i >= p``. A sentence that would lose
    every token is returned unchanged (EDA keeps one word instead). Wei & Zou (2019), *EDA: Easy Data
    Augmentation Techniques for Boosting Performance on Text Classification Tasks*.
    """
    assert len(u) >= len(tokens) and 0 <= p <= 1
    kept = [t for t, ui in zip(tokens, u, strict=False) if ui >= p]
    return kept if kept else list(tokens)


def random_swap(tokens: list[int], u: list[tuple[float, float]]) -> list[int]:
    """Swap two random positions, once per pair of draws: positions ``i = ⌊u₁ · n⌋`` and ``j = ⌊u₂ · n⌋``
    (n tokens; ``i = j`` leaves the sentence as it is). Wei & Zou (2019), *EDA*: "randomly choose two words
    in the sentence and swap their positions; do this n times".
    """
    out = list(tokens)
    n = len(out)
    for u1, u2 in u if n else []:  # an empty sentence has nothing to swap
        i, j = int(u1 * n), int(u2 * n)
        out[i], out[j] = out[j], out[i]
    return out


def random_insertion(tokens: list[int], u: list[tuple[float, float]]) -> list[int]:
    """Insert a copy of a random token at a random position, once per pair of draws: the token at
    ``⌊u₁ · n⌋`` goes before position ``⌊u₂ · (n + 1)⌋`` (n = the current length, so n + 1 places). EDA
    inserts a *synonym* of a random word (Wei & Zou, 2019); without a thesaurus we insert the word itself.
    """
    out = list(tokens)
    for u1, u2 in u:
        n = len(out)
        out.insert(int(u2 * (n + 1)), out[int(u1 * n)])
    return out


def mask_tokens(tokens: list[int], u: list[float], p: float, mask_id: int) -> list[int]:
    """Replace each token by ``mask_id`` with probability ``p`` (token i iff ``u_i < p``): the input noise of
    masked language modelling (Devlin et al., 2019, *BERT*), used as augmentation like word dropout.
    """
    assert len(u) >= len(tokens) and 0 <= p <= 1
    return [mask_id if ui < p else t for t, ui in zip(tokens, u, strict=False)]
