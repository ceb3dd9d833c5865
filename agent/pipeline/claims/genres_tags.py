"""Genres and tags said of the item or of a linked title: each must be one the data lists for it."""

from __future__ import annotations

import re

from agent.pipeline.claims.context import ClaimContext, Rule, Violation, has_word, movie_tags
from agent.pipeline.claims.vocabulary import Vocabulary

# a tag given an owner ("fits Quentin Tarantino's tag"): tags describe movies, they belong to no one
OWNED_TAG: Rule = (re.compile(r"\b\w+(?:'s|’s) tags?\b", re.IGNORECASE),
                   "short", "junk", "it says {m!r}, which does not read; a tag describes the movie")


def linked_genres(text: str, ctx: ClaimContext, vocab: Vocabulary) -> tuple[list[str], list[Violation]]:
    """What is said of a linked title ("The Godfather, which is a Crime drama": no claim about the
    item), and a violation for each genre it lacks ("Monty Python and the Holy Grail, which is a
    children's film")."""
    phrases, wrong, low = [], [], text.lower()
    for name, genres in ctx.linked_categories.items():
        for m in re.finditer(re.escape(name) + r"(?:\s*\(\d{4}\))?,?\s+(?:which|that)\s+(?:is|was)\s+([^.,;]*)", low):
            phrases.append(m.group(1))
            wrong += [(name, form, genre) for form, genre in vocab.genre_forms.items()
                      if genre not in genres and has_word(m.group(1), form)]
    return phrases, [Violation("wrong_category", f"it calls {title.title()!r} {form!r}, but the data does not list "
                                                 f"{genre} for it") for title, form, genre in wrong]


def wrong_categories(low: str, ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    """Genres `low` (what is said of the item) calls it that the data does not list, and genres it
    denies that the data lists."""
    out = []
    for form, genre in vocab.genre_forms.items():
        if genre not in ctx.evidence_categories and has_word(low, form):
            out.append(Violation("wrong_category", f"it calls this {form!r}, but the data does not list {genre}"))
        elif genre in ctx.evidence_categories and re.search(r"\bnot (?:an? |the )?" + re.escape(form) + r"\b", low):
            out.append(Violation("junk", f"it says it is not {form!r}, but the data lists {genre} for it"))
    return out


def mask_stated_tags(text: str, ctx: ClaimContext) -> str:
    """`text` with each tag the facts give the item that it states as one ("tagged great soundtrack",
    "tagged suspense", "tagged based on a true story") taken out: the tag is true, and its words are
    no reception, genre or title claim."""
    own = sorted(movie_tags(ctx.evidence), key=len, reverse=True)
    if not own or "tagged" not in text.lower():
        return text
    tag = r"(?<![\w-])(?:" + "|".join(map(re.escape, own)) + r")(?![\w-])"
    count = r"(?:\s*\([^()]*\))?"  # "(like 2 of the movies you liked)": kept, its count is checked
    # ... and so is each tag of a list after it: "tagged sci-fi (like 2 …) and suspense (like one)"
    listed = re.compile(r"\btagged\s+(?:as\s+)?" + tag + count + r"(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+)" + tag + count + ")*",
                        re.IGNORECASE)
    keep_counts = re.compile(r"(\([^()]*\))|" + tag, re.IGNORECASE)
    return listed.sub(lambda m: keep_counts.sub(lambda t: t.group(1) or "", m.group(0)), text)


# catalog tags that a series part the person rated makes true of the item
SERIES_TAGS = {"sequel": ("sequel", "sequels", "series", "franchise"), "earlier": ("series", "franchise", "prequel")}


def wrong_tags(low: str, ctx: ClaimContext, vocab: Vocabulary) -> tuple[list[str], list[Violation]]:
    """The catalog tags `low` names that neither the item nor its linked titles have, and a
    violation for each."""
    said_by_series = {w for s in ctx.evidence.series for w in SERIES_TAGS[s.relation]}  # "this is its sequel"
    tags = [tag for tag in vocab.tag_order
            if tag not in ctx.evidence_tags and tag not in said_by_series and has_word(low, tag)]
    return tags, [Violation("wrong_tag", f"it says {tag!r}, which the data does not say about this movie")
                  for tag in tags]
