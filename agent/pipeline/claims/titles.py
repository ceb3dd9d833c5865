"""Which movie a sentence names and is about: titles outside the facts, a liked title or a genre
taken for the item, another movie as the one who rated, the item's own title as a hook."""

from __future__ import annotations

import re

from agent.pipeline.claims.context import ClaimContext, Rule, Violation, has_words, mask_title, title_forms
from agent.pipeline.claims.vocabulary import Vocabulary
from agent.pipeline.grounding import TitleIndex, bare_title
from agent.types import Evidence

_QUOTED = re.compile(r"[\"“‘']([^\"”’']{3,80})[\"”’']")
# what a sentence about the person refers to this movie by ("You found Avengers a great movie" under
# another title is about neither)
_ABOUT_ITEM = re.compile(r"\b(?:it|its|it's|it’s|this|here|one)\b", re.IGNORECASE)
# the person told they might like a movie that is not the one recommended ("you might like: Big (1988)")
_YOU_MIGHT_LIKE = re.compile(r"\byou(?:'ll|’ll)?\s+(?:might|may|will|would|could|should)?\s*(?:also\s+)?"
                             r"(?:like|love|enjoy|watch)\b\s*[:,-]?\s*(?P<obj>.+)", re.IGNORECASE)
_UNQUOTED = re.compile(r"(?:(?<=^)|(?<=\s))[\"'“‘]|[\"'”’](?=\s|$|[,.;:])")  # quotes, not apostrophes
_BECAUSE = re.compile(r"\b(?:because|since)\s+")

# a movie named as the one who rated ("highly rated by American Beauty", "ratings from Jurassic Park")
TITLE_AS_RATER: Rule = (
    re.compile(r"\b(?:rat\w*|viewers|people)\b[^.;]{0,30}?\b(?:by|from|including)\s+T\b"
               r"(?!\s*(?:'s\s+)?(?:fans|viewers|lovers))|"
               r"\bthat\s+T\b(?:\s*,[^,.;]{0,40},)?\s+(?:also\s+)?(?:liked|loved|enjoyed|rated)\b", re.IGNORECASE),
    "short", "wrong_subject", "it names a movie as the one who rated; name the people who liked it")
# a movie said to fit another movie, or a title given a rating of its own ("Speed fits Jurassic Park",
# "matches Jurassic Park's 1993 rating"; titles masked as T)
TITLE_AS_PERSON: Rule = (
    re.compile(r"\b(?i:fits|suits|matches)\s+T\b(?!\s+(?:fans|viewers|lovers))|"
               r"\bT(?:'s|’s)\s+(?:\w+\s+){0,2}(?:ratings?|scores?|votes?)\b"),
    "short", "wrong_subject", "it says {m!r}: a movie fits you, not another movie")
# two movies where there is one: "They are both Action", "Inception and The Departed are both …" (a
# count's "94 of the movies you liked are both comedies and dramas" is many, each with both genres)
TWO_SUBJECTS: Rule = (
    re.compile(r"^they\b|^both (?:are|were|movies|films)\b|(?<!\d )(?<!liked )\b(?:are|were) both\b", re.IGNORECASE),
    "text", "wrong_subject", "it speaks of two movies; write about this one")
# a movie named by its year alone: "fans of the 1996 film"
YEAR_AS_TITLE: Rule = (
    re.compile(r"\bthe (?:19|20)\d\d(?: and (?:19|20)\d\d)? (?:film|movie)s?\b", re.IGNORECASE),
    "text", "junk", "it says {m!r}; name the movie by its title")
# someone named among those who rated ("positive ratings from viewers, including Stephen King")
NAMED_RATER: Rule = (
    re.compile(r"\bincluding\s+(?!T\b|You\b)[A-Z]\w+\b(?!\s+(?:fans|lovers|viewers|movies|films))"),
    "short", "wrong_subject", "it says {m!r}: the facts count people, they name no one")


def unknown_titles(text: str, ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    """Catalog titles the sentence names that are neither the item nor a title in its evidence."""
    out = []
    allowed_titles = {bare_title(t) for t in ctx.evidence.titles()}
    for name in sorted(vocab.titles.mentioned(text)):
        if len(name.split()) <= 2 and not _written_capitalised(text, name):
            continue  # "in the spirit of": words, not the title The Spirit
        if not any(name in a or a in name for a in allowed_titles):
            out.append(Violation("unknown_title", f"it names {name.title()!r}, which is not in the facts"))
    for name in _short_liked_titles_named(text, ctx, vocab.titles, allowed_titles):
        out.append(Violation("unknown_title", f"it names {name.title()!r}, which is not in the facts"))
    for quoted in _QUOTED.findall(text):
        q = bare_title(quoted)
        if len(q.split()) >= 2 and vocab.titles.mentioned(quoted) and not any(
                q in a or a in q for a in allowed_titles):
            out.append(Violation("unknown_title", f"it names {quoted!r}, which is not in the facts"))
    return out


def _written_capitalised(text: str, name: str) -> bool:
    return any(any(c.isupper() for c in m.group(0))
               for m in re.finditer(r"(?<![\w'’])" + re.escape(name) + r"(?![\w'’])", text, re.IGNORECASE))


def _short_liked_titles_named(text: str, ctx: ClaimContext, index: TitleIndex, allowed: set[str]) -> list[str]:
    """The person's liked titles the title index skips ('Alien', 'Heat'), named with a capital
    inside a sentence (not at its start: "It", "More") though the facts do not hold them ("close
    to Alien", where Alien is no link of this movie's)."""
    out, low = [], text.lower()
    for name in ctx.liked_titles:
        if name not in low or index.covers(name) or any(name in a for a in allowed):
            continue
        for m in re.finditer(r"(?<![\w'’])" + re.escape(name) + r"(?![\w'’])", text, re.IGNORECASE):
            if text[m.start()].isupper() and not re.search(r"(?:^|[.!?:;]\s*)$", text[:m.start()]):  # "It is …"
                out.append(name)
                break
    return out


def title_as_hook(hook: str, ev: Evidence) -> list[Violation]:
    """A hook that is just the item's title."""
    item_bare = bare_title(ev.title)
    for form in sorted(title_forms(ev.titles()[1:]), key=len, reverse=True):
        if item_bare in form and form != item_bare:  # "Loved by Sherlock Holmes: A Game of Shadows fans" names
            hook = mask_title(hook, form, " T ", whole=True)  # another title, for the item Sherlock Holmes
    if has_words(bare_title(hook), item_bare) or has_words(item_bare, bare_title(hook)):
        return [Violation("title_as_hook", "the hook is the movie's own title; write a line about why it fits")]
    return []


def misnamed(text: str, ev: Evidence) -> list[Violation]:
    """The item's title given a "The" it does not have."""
    item_bare = bare_title(ev.title)
    if not item_bare.startswith("the ") and re.match(r"the\s+" + re.escape(item_bare) + r"(?!\w)", text.lower()):
        return [Violation("junk", f"it misnames the movie ('The {ev.title.rsplit(' (', 1)[0]}')")]
    return []


def not_about_item(text: str, ev: Evidence) -> list[Violation]:
    """An explanation about the person that never refers to the movie recommended."""
    item_bare = bare_title(ev.title)
    if (re.match(r"you\b", text, re.IGNORECASE) and not _ABOUT_ITEM.search(text)
            and not has_words(text.lower(), item_bare.split(":")[0])):
        return [Violation("wrong_subject", "it says nothing about the movie recommended; write about it")]
    return []


def liked_title_as_item(text: str, ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    """A liked title taken for the movie recommended: recommended to the person, or described."""
    out = []
    if other := _recommends_liked_title(text, ctx):
        out.append(Violation("wrong_subject", f"it recommends {other!r}, which the person has seen; "
                                              "write about the movie recommended"))
    if other := _described_title(text, ctx.evidence, vocab):
        out.append(Violation("wrong_subject", f"it describes {other!r} as if it were the movie recommended"))
    return out


def _recommends_liked_title(text: str, ctx: ClaimContext) -> str | None:
    """The liked title a sentence tells the person they might like ("you might like: Big (1988)")."""
    item = bare_title(ctx.evidence.title)
    for m in _YOU_MIGHT_LIKE.finditer(text):
        obj = m.group("obj").lower()
        for t in sorted([b.title for b in ctx.evidence.because] + list(ctx.liked_titles), key=len, reverse=True):
            name = bare_title(t)
            if (obj.startswith(name) and name != item and not item.startswith(name)
                    and re.match(re.escape(name) + r"(?!\w)", obj)):
                return t
    return None


def _described_title(text: str, ev: Evidence, vocab: Vocabulary) -> str | None:
    """The liked title a sentence opens by describing ("Kingsman is a comedy that…", "The
    Avengers (2012) is Action" under 21 Jump Street), or gives as the reason ("… because Blade
    Runner (1982) is a good movie"): the model took it for the movie explained.
    A title counts by its part before or after a colon too ("The Secret Service"), unless that
    part also names the item."""
    low = _UNQUOTED.sub("", text.strip().lower())  # "The movie 'Spider-Man 2 (2004)' is a movie…"
    openings = [re.sub(r"^(?:the (?:movie|film)\s+)", "", part) for part in [low] + _BECAUSE.split(low)[1:]]
    item = bare_title(ev.title)
    described = re.compile(r"(?:\s*\(\d{4}\))?\s+(?:(?:is|was)\s+(?:an?\s|(?:" + vocab.genre_alternation + r")\b)|"
                           r"(?:has been|has received|received)\b)")
    for b in sorted(ev.because, key=lambda b: len(b.title), reverse=True):
        name = bare_title(b.title)
        if re.search(r"\b(?:it|this(?: movie| film)?)\s+(?:is|was)\s+" + re.escape(name) + r"(?!\w)", low):
            return b.title  # "… because it is Jurassic Park, which you liked"
        parts = [p.strip() for p in name.split(":") if len(p.strip()) >= 4] if ":" in name else []
        for form in [name] + [p for p in parts if not item.startswith(p)]:
            if any(o.startswith(form) and described.match(o[len(form):]) for o in openings):
                return b.title
    return None


def genre_as_subject(text: str, vocab: Vocabulary) -> list[Violation]:
    """A sentence whose subject is a genre ("Comedy is …")."""
    if re.match(r"(?:" + vocab.genre_alternation + r")\s+(?:is|was)\b", text, re.IGNORECASE):
        return [Violation("wrong_subject", "it makes a genre the subject; write about the movie")]
    return []
