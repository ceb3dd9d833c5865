"""The claim checker: an explanation or hook may say only what the evidence and the
person's history support. Every rule names what it caught, so a retry can be told why.

Rules (one `Violation.kind` each):
- unknown_title: a catalog title that is neither the item nor a title in its evidence;
- false_like: "you liked/watched/love X" where X is not in the person's history with a
  positive rating (liked_item when X is the recommended item itself);
- wrong_category / wrong_tag: a genre or catalog tag the item and its evidence do not have;
- wrong_year / wrong_number: a year or count the evidence does not state;
- unsupported: plot, cast, makers, reviews, awards or superlatives (no evidence covers them);
- wrong_subject: a liked title described as if it were the movie ("Kingsman is a comedy that…");
- echo: a run of the prompt's instructions; junk: repetition, too few words, cut off;
- title_as_hook: a hook that is just the item's title;
- generic: an explanation that names nothing of the person's (no liked title, shared tag or taste);
- repeated_skeleton: a list-level rule, the same opening as two other explanations.

One module per kind of rule; `constrained.check` runs them in order. That is the `constrained`
mode's checker (a whitelist of words around the facts, for small models); the `open` mode's
(`open.check_open`, for capable models) verifies each claim and lets any other word through.
"""

from collections.abc import Callable

from agent.pipeline.claims.constrained import check
from agent.pipeline.claims.context import ClaimContext, Violation, claim_contexts
from agent.pipeline.claims.form import names_item_fact
from agent.pipeline.claims.open import check_open
from agent.pipeline.claims.skeleton import check_list, masked_words, skeleton
from agent.pipeline.claims.vocabulary import UNSUPPORTED_WORDS, Vocabulary, genre_nouns

__all__ = ["UNSUPPORTED_WORDS", "ClaimContext", "Violation", "Vocabulary", "check", "check_list", "check_open",
           "checker_for", "claim_contexts", "genre_nouns", "masked_words", "names_item_fact", "skeleton"]

Checker = Callable[..., list[Violation]]  # (text, ctx, vocab, kind="explanation") -> violations


def checker_for(mode: str) -> Checker:
    """The checker of an explanation mode: "constrained" or "open"."""
    return {"constrained": check, "open": check_open}[mode]
