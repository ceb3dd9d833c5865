"""Years, counts and ratings: each number must be one the evidence states, for what it counts;
a rating out of 5 is the person's own, of a liked title."""

from __future__ import annotations

import re

from agent.pipeline.claims.context import Rule, Violation
from agent.types import Evidence, item_year

NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w])")
_YEARS = re.compile(r"(?<![\d.])(?:'|’)?((?:19|20)?\d0)s\b|(?<![\d.])((?:19|20)\d\d)(?![\d.])")
_SCALE = re.compile(r"(?:/|out of\s+|of\s+)(?:5|10)\b|\b(?:5|five|10)[- ]stars?\b|\bstars?\b", re.IGNORECASE)
# a count said of people must be a count of people, and one said of the person's liked movies a
# count of those: "positive ratings from 76 people" where 76 of their liked movies are Action is false
_PEOPLE_COUNT = re.compile(r"(?<![\d.])(\d+)\s+(?:other\s+|more\s+)?(?:people|viewers|fans|others|users|of (?:its|their) fans)\b",
                           re.IGNORECASE)
_LIKED_COUNT = re.compile(r"(?<![\d.])(\d+)\s+of\s+(?:the\s+|your\s+)?(?:\w+\s+)?(?:movies|films)\b", re.IGNORECASE)
# a rating out of 5 is the person's own rating of a liked title: "you rated it 4/5", never the item's
_RATING = re.compile(r"(\d(?:\.\d)?)\s*(?:/|out of)\s*5\b|\b(\d(?:\.\d)?)[- ]stars?\b", re.IGNORECASE)  # "a 5-star rating" too
# ... said with its rater ("you rated it", "You gave T", "your rating", "your 4/5 for T") or right after the title ("T (4/5)");
# "like 3 of the movies you liked, and it's a 5/5 rating" gives it to the movie
_RATER = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:\w+ly\s+)?(?:rated|gave|give|scored)\b|\byour (?:own )?(?:rating|score)\b|\byour\s*$|"
                    r"\bT\s*[(,:]?\s*(?:a\s+)?$", re.IGNORECASE)

# a sentence that opens with a title and its rating and never says whose it is (all titles masked as T)
RATING_WITHOUT_RATER: Rule = (re.compile(r"^\s*T\s*[(,:]?\s*\d(?:\.\d)?\s*(?:/|out of)\s*5\b"),
                              "short", "junk", "it gives a title and a rating without saying who rated it")
# a count with no sense left in it: "It's a 124 of the movies you liked", "a high 11 people", "It was a
# 256 movie", "It has 256 of the movies you liked", "you like 124 of the movies you liked"
GARBLED_COUNT: Rule = (
    re.compile(r"\b(?:an?|high|been)\s+\d+\s+(?:of|people)\b|"
               r"\ban?\s+(?!(?:19|20)\d\d\b)\d+(?:\.\d+)?\s+(?!out of\b)[a-z]+|"  # a year's "a 1999 movie" reads
               r"\b(?:has|have|had)\s+\d+\s+of\s+(?:the\s+)?(?:movies|films)\b|"
               r"\byou\s+(?:like|love|enjoy)d?\s+\d+\s+of\s+the\s+(?:movies|films)\s+you\b|"
               # ... or a year counted: "from 1999 and 72 people"
               r"\b(?:19|20)\d\d\s+(?:and\s+\d+\s+)?(?:people|viewers|fans|users)\b|"
               # ... or movies that like: "153 of the movies you liked also liked this movie"
               r"\b\d+\s+of the (?:movies|films) you (?:liked|rated)\s+(?:also\s+)?(?:liked|rated|loved|enjoyed)\b",
               re.IGNORECASE),
    "text", "junk", "it says {m!r}, which does not read; say what the number counts")
# a place in a list: "the 5th movie you liked"
ORDINAL: Rule = (re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.IGNORECASE),  # a title's own ("Friday the 13th") masked
                 "short", "wrong_number", "it says {m!r}; the facts give no such place")
# a share: "76% of the movies you liked"
PERCENT: Rule = (re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s*(?:%|percent\b)", re.IGNORECASE),
                 "text", "wrong_number", "it says {m!r}; the facts count movies and people, not percentages")
# a rating out of 10: the facts rate out of 5
OUT_OF_TEN: Rule = (re.compile(r"\b\d+(?:\.\d+)?\s*(?:/|out of)\s*10\b", re.IGNORECASE),
                    "text", "wrong_number", "it says {m!r}; the facts give only the person's ratings, out of 5")


def item_ratings(short: str) -> list[Violation]:
    """Ratings out of 5 with no rater before them (`short`: titles masked as T): given to the movie."""
    return [Violation("wrong_number", f"it gives {m.group(0)} as the movie's rating; that rating is the "
                                      "person's own, of a liked title")
            for m in _RATING.finditer(short) if not _RATER.search(short[max(0, m.start() - 40): m.start()])]


def _years(ev: Evidence) -> set[int | None]:
    """The item's year and its linked titles' (None where the catalog has none)."""
    return {ev.year} | {item_year(b.title) for b in ev.because}


def wrong_years(low: str, ev: Evidence) -> list[Violation]:
    """Years and decades the item and its linked titles do not have."""
    out = []
    years = _years(ev)
    decades = {y // 10 * 10 for y in years if y}
    for decade, year in _YEARS.findall(low):
        if year and int(year) not in years:
            out.append(Violation("wrong_year", f"it gives the year {year}, but the catalog says {ev.year or 'none'}"))
        elif decade and int(decade) % 100 not in {d % 100 for d in decades}:
            out.append(Violation("wrong_year", f"it says the {decade}s, but the catalog year is {ev.year or 'unknown'}"))
    return out


def wrong_numbers(low: str, ev: Evidence) -> list[Violation]:
    """Numbers (years and rating scales aside) that are neither a count, a year nor a rating the evidence states."""
    numbers = ev.numbers() | {y for y in _years(ev) if y}
    ratings = {b.rating for b in ev.because + ev.series if b.rating is not None}
    out = []
    for raw in NUMBER.findall(_YEARS.sub(" ", _SCALE.sub(" ", low))):
        value = float(raw)
        if value not in ratings and not (value.is_integer() and int(value) in numbers):
            out.append(Violation("wrong_number", f"it states the number {raw}, which is not in the facts"))
    return out


def miscounted(low: str, ev: Evidence) -> list[Violation]:
    """Counts given the wrong unit: a number of people that is not one the facts give people, or a
    number of the person's liked movies that the facts give as something else."""
    people = {b.people for b in ev.because if b.people} | {ev.fans}
    liked = {c.liked for c in ev.shared_categories} | set(ev.shared_tag_counts) | ({ev.shared_tag_pair} - {0})
    liked |= {ev.shared_category_pair.liked} if ev.shared_category_pair else set()
    out = [Violation("wrong_number", f"it says {m.group(0)!r}, but no fact counts {m.group(1)} people")
           for m in _PEOPLE_COUNT.finditer(low) if int(m.group(1)) not in people]
    out += [Violation("wrong_number", f"it says {m.group(0)!r}, but no fact counts {m.group(1)} of the movies liked")
            for m in _LIKED_COUNT.finditer(low) if int(m.group(1)) not in liked]
    return out + shared_count_spread(low, ev)


def shared_count_spread(low: str, ev: Evidence) -> list[Violation]:
    """One genre's count given to several: "a crime, drama, and thriller, like 696 of the movies you
    liked" where 696 of them are Drama (and fewer all three). The genre pair's count is that of its two."""
    counts = {c.category.lower(): c.liked for c in ev.shared_categories}
    pair = ev.shared_category_pair
    out = []
    for m in _LIKED_COUNT.finditer(low):
        clause = re.split(r"[.;:]\s|\btagged\b", low[:m.start()])[-1]
        named = [g.lower() for g in ev.categories if re.search(r"(?<![\w-])" + re.escape(g.lower()) + r"(?![\w-])", clause)]
        if pair and int(m.group(1)) == pair.liked and sorted(named) == sorted(g.lower() for g in pair.categories):
            continue
        if len(named) > 1 and any(counts.get(g) != int(m.group(1)) for g in named):
            out.append(Violation("wrong_number", f"it gives {m.group(1)}, one genre's count of the movies you liked, "
                                                 f"to {', '.join(named)}: name that genre alone with its count"))
    return out
