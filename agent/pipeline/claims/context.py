"""What every rule reads: the violation it reports, the context of one item on one list, and
the text helpers the rules share (words, titles masked)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from agent.pipeline.grounding import bare_title, main_title
from agent.types import Evidence

WORDS = re.compile(r"[a-z0-9'’-]+")

# A rule that is one pattern over one form of the text: (pattern, form, kind, message with {m} for
# what matched). Forms: "text" as written; "short", every evidence title as T; "item", the item's
# title as {I}; "masked", also the person's true likings and the chat request masked.
Rule = tuple[re.Pattern, str, str, str]


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass
class ClaimContext:
    """One item on one person's list: its evidence and what the person has rated."""

    evidence: Evidence
    liked_titles: dict[str, float | None]  # bare title → rating, the person's positive history
    liked_categories: set[str] = field(default_factory=set)
    liked_tags: set[str] = field(default_factory=set)  # lower-case
    evidence_categories: set[str] = field(default_factory=set)  # the item's own
    evidence_tags: set[str] = field(default_factory=set)  # lower-case, the item's and its linked titles'
    linked_categories: dict[str, set[str]] = field(default_factory=dict)  # bare linked title → its genres
    linked_tags: dict[str, set[str]] = field(default_factory=dict)  # bare linked title → its tags, lower-case
    instructions: str = ""
    item_tags: set[str] = field(default_factory=set)  # lower-case, all the item's catalog tags
    item_text: str = ""  # the item's own description (a book's blurb)
    n_liked: int = 0  # the person's liked items, all of them


def claim_contexts(evidence: list[Evidence], liked: list, catalog: dict, instructions: str = "") -> list[ClaimContext]:
    """The checker's context for each item: its evidence plus what the person rated highly
    (`liked`: positive history events; `catalog`: their items and the recommended ones)."""
    liked_items = [catalog[e.item_id] for e in liked if e.item_id in catalog]
    ratings = {e.item_id: e.rating for e in liked}
    liked_titles = {bare_title(it.title): ratings.get(it.item_id) for it in liked_items}
    liked_categories = {c for it in liked_items for c in it.categories}
    liked_tags = {t.lower() for it in liked_items for t in it.tags}
    out = []
    for ev in evidence:
        linked = [catalog[i] for i in dict.fromkeys(b.item_id for b in ev.because + ev.series) if i in catalog]
        item = catalog.get(ev.item_id)
        out.append(ClaimContext(
            evidence=ev, liked_titles=liked_titles, liked_categories=liked_categories, liked_tags=liked_tags,
            evidence_categories=set(ev.categories),
            evidence_tags=movie_tags(ev) | {t.lower() for it in linked for t in it.tags},
            linked_categories={bare_title(it.title): set(it.categories) for it in linked},
            linked_tags={bare_title(it.title): {t.lower() for t in it.tags} for it in linked},
            instructions=instructions, item_tags={t.lower() for t in item.tags} if item else movie_tags(ev),
            item_text=item.text if item else "", n_liked=len(liked_items)))
    return out


def movie_tags(ev: Evidence) -> set[str]:
    """The item's tags the facts may name, lower-case: its first ones and those it shares with the
    person's liked movies (taken from all its tags, so some are past the first ones)."""
    return {t.lower() for t in ev.tags + ev.shared_tags}


def rules_broken(rules: tuple[Rule, ...], forms: dict[str, str]) -> list[Violation]:
    return [Violation(kind, message.format(m=m.group(0))) for pattern, form, kind, message in rules
            if (m := pattern.search(forms[form]))]


def mask_titles(text: str, ev: Evidence, mark: str) -> str:
    """`text` with the item's and its evidence's titles (and a year after them) replaced by `mark`,
    by their full name or the one before an alternate title ("Raiders of the Lost Ark (Indiana Jones
    and the Raiders of the Lost Ark)")."""
    for form in sorted(title_forms(ev.titles()), key=len, reverse=True):
        text = mask_title(text, form, mark)
    return text


def title_forms(titles: Iterable[str]) -> set[str]:
    """The names `titles` go by: in full, and by the name before an alternate title."""
    return {form for t in titles for form in (bare_title(t), main_title(t).lower())}


def mask_title(text: str, title: str, mark: str, whole: bool = False) -> str:
    """... one title; `whole`: only where it ends a word ("Part II" is not the start of "Part III")."""
    return re.sub(re.escape(bare_title(title)) + r"(?:\s*\(\d{4}\))?" + (r"(?!\w)" if whole else ""), mark, text,
                  flags=re.IGNORECASE)


def has_words(text: str, phrase: str) -> bool:
    """Whether `phrase`'s words occur in `text` as a run ("part ii" is not in "part iii")."""
    t, p = WORDS.findall(text), WORDS.findall(phrase)
    return bool(p) and any(t[i:i + len(p)] == p for i in range(len(t) - len(p) + 1))


def has_word(text: str, word: str) -> bool:
    return word in text and word_pattern(word).search(text) is not None  # most words are not there


@lru_cache(maxsize=None)
def word_pattern(word: str) -> re.Pattern:
    """A word standing alone: the genre forms and tags are hundreds, more than re's own cache holds."""
    return re.compile(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])")
