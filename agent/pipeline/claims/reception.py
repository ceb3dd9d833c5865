"""Plot, cast, makers and reception, which no fact covers: named outright, or as any word
outside the facts and the plain joining words."""

from __future__ import annotations

import re

from agent.pipeline.claims.context import ClaimContext, Rule, Violation
from agent.pipeline.claims.vocabulary import CONTRACTIONS, Vocabulary
from agent.pipeline.grounding import bare_title

# Plot, cast and reception: nothing in the evidence covers them, so any such statement is invented
# (read with the titles masked: "Best in Show" is a title, not a claim).
UNSUPPORTED: Rule = (
    re.compile(r"\b(?:prais\w*|acclaim\w*|award|awards|oscars?|critics?|critically|reviews?|reviewed|reviewers?|"
               r"performances?|cast|starring|actors?|actress(?:es)?|well[- ]known|famous|successful|your (?:friends|family)|"
               r"highly recommended|stars? \w+ \w+|directed|director|plot|characters?|storyline|"
               r"soundtrack|box office|classics?|masterpieces?|iconic|legendary|timeless|cult|franchises?|enjoyable|"
               r"feedback|stand-?outs?|"
               r"(?:highly|well)[- ]regarded|well[- ]received|(?:an?|its) high rating|"
               r"(?:loved|liked|enjoyed|adored) by (?:many|most|so many|lots of|a lot of|millions|countless)|"
               r"must[- ](?:see|watch)|won(?![’']t)|winning|nominated|"
               r"most (?:popular|acclaimed|beloved|famous|iconic|highly)|greatest|best|anticipated|of the year|"
               r"(?:great|amazing|excellent|fantastic|wonderful|brilliant) (?:movie|film)s?|"
               r"(?:a|the) (?:story|tale) (?:of|about)|(?:is|was|widely) considered|popular media|"
               r"media (?:channels|outlets)|audiences? alike|(?:young|younger|older|wide|broad|general) audiences?|"
               r"explor\w* (?:the )?themes?|human condition|pop culture)\b",
               re.IGNORECASE),
    "short", "unsupported", "it says {m!r}: plot, cast and reception are not in the facts")
# "by James Cameron" after the titles are masked: a maker the facts never name
BY_PERSON: Rule = (re.compile(r"\bby (?:[A-Z][a-z]+ ){1,2}[A-Z][a-z]+\b"),
                   "masked", "unsupported", "it says {m!r}: who made it is not in the facts")
# the movie's worth denied ("it is not a highly-rated or positive movie", "You may not enjoy the movie",
# "despite its lack of …"): no fact says so, and a recommendation does not argue against itself
DENIED_WORTH: Rule = (
    re.compile(r"\bnot (?:an? |the )?(?:very |so |that |really )?(?:highly|well|positive|popular|good|great)\b|"
               r"\b(?:may|might|would|will) not (?:enjoy|like)\b|\b(?:does|do)(?:n't|n’t| not) fit\b|"
               r"\bcan(?:'|’|no)?t recommend\b|\bnot (?:be )?recommended\b|\black of\b|"
               r"\bnot as (?:good|great|strong|fun|highly rated) as\b", re.IGNORECASE),
    "text", "junk", "it says {m!r}, which no fact says; say why it fits you")


# ratings said of the movie ("It's a sci-fi thriller that has been highly rated", "it has received positive
# ratings"): true only as a count of people the facts give ("10 of its fans rated this highly too")
_RATED_WELL = re.compile(r"\bhighly[- ]rated\b|\brat(?:ed|ing|e)s? (?:it |this |them )?highly\b|"
                         r"\bpositive(?:ly)? (?:ratings?|rated)\b", re.IGNORECASE)
_PEOPLE = re.compile(r"\b\d+\b[^.;]*\b(?:people|fans|viewers|of them|of its fans)\b|"
                     r"\b(?:people|fans|viewers)\b[^.;]*\b\d+\b|"
                     r"\bT\s+fans\b|\bfans of T\b")  # a hook: "Fargo fans rate this highly" (titles masked as T)


_BY_YOU = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:\w+\s+)?$", re.IGNORECASE)  # "the genres you rate highly"


def unbacked_ratings(short: str) -> list[Violation]:
    """A rating said of the movie with no count of people, or fans of a title, in its sentence
    (`short`: titles masked as T); the person's own ("the genres you rate highly") is their taste."""
    out = []
    for sentence in re.split(r"(?<=[.;!?])\s+", short):
        m = _RATED_WELL.search(sentence)
        if m and not _PEOPLE.search(sentence) and not _BY_YOU.search(sentence[:m.start()]):
            out.append(Violation("unsupported", f"it says {m.group(0)!r} of the movie: the facts count the people "
                                                "who liked it, nothing more"))
    return out


def outside_facts(low: str, ctx: ClaimContext, vocab: Vocabulary, reported: list[str]) -> list[Violation]:
    """Words that are neither the facts' own nor plain joining words; the first two are named."""
    if outside := _words_outside_facts(low, ctx, vocab, reported):
        return [Violation("unsupported", f"it says {', '.join(map(repr, outside[:2]))}, which no fact says; "
                                         "use only the facts and plain words")]
    return []


SERIES_WORDS = frozenset({"sequel", "earlier", "part", "series", "follow", "up"})


def _words_outside_facts(low: str, ctx: ClaimContext, vocab: Vocabulary, reported: list[str]) -> list[str]:
    """The words of `low` (lower-case, titles and true likings masked) that are neither plain joining
    words nor the facts' own: the titles' words, genres (any: a wrong one is `wrong_category`), the
    item's and linked titles' tags, and tags already reported as wrong. Numbers and stray letters
    have rules of their own."""
    facts = {w for phrase in ctx.evidence_tags | set(reported) | set(map(bare_title, ctx.evidence.titles()))
             for w in re.findall(r"[a-z0-9]+", phrase)}  # a title's words: it may be shortened
    if ctx.evidence.series:  # the catalog shows a part of its series the person rated
        facts |= SERIES_WORDS

    def known(word: str) -> bool:
        return word in vocab.plain_words or word in facts

    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", low.replace("’", "'"))
    return list(dict.fromkeys(w for w in words if len(w) > 1  # the masks (T, G, C) and stray letters too
                              and not known(w) and w not in CONTRACTIONS and not known(w.split("'")[0])
                              and not re.fullmatch(r"\d+s?", w)))
