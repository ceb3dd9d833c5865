"""The checker of the constrained explanation mode: a sentence may say only what the evidence and
the person's history support, and every rule it breaks is named so a retry can be told why."""

from __future__ import annotations

import re

from agent.pipeline.claims import form, genres_tags, numbers, reception, taste, titles
from agent.pipeline.claims.context import (ClaimContext, Rule, Violation, mask_title, mask_titles, movie_tags,
                                           rules_broken, word_pattern)
from agent.pipeline.claims.vocabulary import Vocabulary

# In each table, the order is the order of the reasons a retry is told.
CLAIM_RULES: tuple[Rule, ...] = (reception.UNSUPPORTED, taste.YOU_RATED_ITEM, taste.YOU_SAW_ITEM)
SUBJECT_AND_FORM_RULES: tuple[Rule, ...] = (
    titles.TITLE_AS_RATER, titles.TITLE_AS_PERSON, reception.DENIED_WORTH, taste.ITEM_RATED,
    numbers.RATING_WITHOUT_RATER, titles.TWO_SUBJECTS, form.UNFINISHED, form.THIRD_PERSON, titles.YEAR_AS_TITLE,
    numbers.GARBLED_COUNT, numbers.ORDINAL, numbers.PERCENT, form.FRAGMENT, numbers.OUT_OF_TEN,
    taste.ITEM_AMONG_LIKED, taste.YOU_LIKED_IT_TOO, taste.GENRE_RATED,
)
GARBLE_RULES: tuple[Rule, ...] = (form.HYPHEN_REPEAT, form.UNJOINED_LIST, titles.NAMED_RATER, form.STRAY_LETTER,
                                  form.I_SPEAKING, genres_tags.OWNED_TAG, form.GARBLED_RELATION,
                                  form.SERIES_GARBLED)
MAKER_RULES: tuple[Rule, ...] = (reception.BY_PERSON,)


def check(text: str, ctx: ClaimContext, vocab: Vocabulary, kind: str = "explanation") -> list[Violation]:
    """Every rule `text` breaks (empty: it may be shown). `kind`: "explanation" or "hook"."""
    text = " ".join(text.split())
    if junk := form.unusable(text, ctx, kind):
        return [junk]
    ev = ctx.evidence
    out = form.echo(text, ctx, kind)
    if kind == "hook":
        out += titles.title_as_hook(text, ev)
    said = genres_tags.mask_stated_tags(text, ctx)  # "tagged suspense" is a tag of its own, not a genre
    out += titles.unknown_titles(said, ctx, vocab)
    short = mask_titles(said, ev, "T")  # so a long title does not part a rating from its "you"
    if kind == "explanation" and (junk := form.only_titles(short)):
        return [junk]
    forms = {"original": text, "text": said, "short": short, "item": mask_title(said, ev.title, " {I} ", whole=True)}
    out += titles.misnamed(said, ev)
    out += rules_broken(CLAIM_RULES, forms)
    out += reception.unbacked_ratings(short)
    if kind == "explanation":
        out += titles.not_about_item(said, ev)
    out += taste.said_of_item(said, ctx)
    linked_phrases, wrong_linked = genres_tags.linked_genres(said, ctx, vocab)
    out += wrong_linked
    out += titles.liked_title_as_item(said, ctx, vocab)
    out += rules_broken(SUBJECT_AND_FORM_RULES, forms)
    out += numbers.item_ratings(short)
    masked, claim_violations = taste.taste_claims(said, ctx, vocab)
    out += claim_violations
    # what is left is said about the item: mask the allowed titles (they carry years) and the
    # chat request it satisfies ("no Horror" names a genre the item rightly lacks)
    if ev.constraint:
        masked = re.sub(re.escape(ev.constraint), " C ", masked, flags=re.IGNORECASE)
    masked = mask_titles(masked, ev, " T ")
    forms["masked"] = masked
    out += rules_broken(GARBLE_RULES, forms)
    out += titles.genre_as_subject(said, vocab)
    out += rules_broken(MAKER_RULES, forms)
    low = masked.lower()
    for phrase in linked_phrases:  # checked against the linked title's genres above
        low = low.replace(phrase, " ")
    for tag in sorted((t for t in movie_tags(ev) if len(t.split()) > 1), key=len, reverse=True):
        low = word_pattern(tag).sub(" ", low)  # the movie's tag "dark comedy" does not call it a Comedy
    out += genres_tags.wrong_categories(low, ctx, vocab)
    wrong_tags, tag_violations = genres_tags.wrong_tags(low, ctx, vocab)
    out += tag_violations
    out += reception.outside_facts(low, ctx, vocab, reported=wrong_tags)
    out += numbers.wrong_years(low, ev) + numbers.wrong_numbers(low, ev) + numbers.miscounted(low, ev)
    if kind == "explanation" and not out:
        out += form.generic(text, ev)
    return list(dict.fromkeys(out))
