"""A list-level rule: explanations of one list that share an opening read as boilerplate
(`repeated_skeleton`)."""

from __future__ import annotations

import re
from collections import Counter

from agent.pipeline.claims.context import WORDS, ClaimContext
from agent.pipeline.claims.vocabulary import Vocabulary
from agent.pipeline.grounding import bare_title

OPENING_WORDS = 4  # words of a (masked) explanation that make its skeleton


def skeleton(text: str, ctx: ClaimContext, vocab: Vocabulary) -> str:
    """An explanation's opening with titles, genres and numbers masked: lists whose items all
    open "Since you liked T, this G …" read as boilerplate."""
    return " ".join(masked_words(text, ctx, vocab)[:OPENING_WORDS])


def masked_words(text: str, ctx: ClaimContext, vocab: Vocabulary, tags: bool = False) -> list[str]:
    """The text's words with titles (T), genres (g) and numbers (n) masked, and with `tags` the
    item's tags too (x): the form of a sentence, whatever item it is about."""
    low = " " + re.sub(r"\(\d{4}\)", " ", text.lower()) + " "
    for t in sorted({bare_title(t) for t in ctx.evidence.titles() + list(ctx.liked_titles)}, key=len, reverse=True):
        if t in low:  # a whole-word title only: the film "O" is in no other word
            low = re.sub(r"(?<!\w)" + re.escape(t) + r"(?!\w)", " T ", low)
    if tags:
        for t in sorted(ctx.item_tags | ctx.evidence_tags, key=len, reverse=True):
            low = re.sub(r"(?<![\w-])" + re.escape(t) + r"(?![\w-])", " x ", low)
    words: list[str] = []
    for w in WORDS.findall(low):
        if w in vocab.genre_forms or all(part in vocab.genre_forms for part in w.split("-")):
            w = "g"  # "crime-drama" reads as a genre as "crime" does
        elif w.replace(".", "").isdigit():
            w = "n"
        elif w == "an":
            w = "a"
        if w == "g" and words[-2:] == ["g", "and"]:
            words.pop()  # "action and adventure" is one genre slot: the skeleton is the sentence's form
        if not (w == "g" and words[-1:] == ["g"]):  # ... and so are "romantic drama" and "drama"
            words.append(w)
    return words


def check_list(skeletons: list[str], max_same: int = 2) -> list[int]:
    """Positions whose skeleton was already used `max_same` times earlier in the list."""
    seen: Counter[str] = Counter()
    out = []
    for i, s in enumerate(skeletons):
        if s and seen[s] >= max_same:
            out.append(i)
        seen[s] += 1
    return out
