"""What the catalog can name (titles, genres with their synonyms, tags) and the word lists
the rules share."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from agent.pipeline.grounding import TitleIndex

# Genre words beyond the catalog's own names, and adjectives that only fit some genres.
GENRE_SYNONYMS = {
    "Sci-Fi": ("science fiction", "science-fiction", "scifi", "sci fi"),
    "Animation": ("animated", "cartoon", "cartoons", "animations"),
    "Children": ("children's", "kids", "kid's"),
    "Romance": ("romantic", "romances", "rom-com", "romcom", "love story"),
    "Film-Noir": ("noir", "film noir"),
    "Comedy": ("comedic", "comedies", "funny", "hilarious", "humorous", "witty"),
    "Horror": ("scary", "creepy", "terrifying"),
    "Thriller": ("thrillers", "suspenseful", "suspense", "thrilling"),
    "Mystery": ("mysteries",),
    "Documentary": ("documentaries",),
    "Adventure": ("adventures", "adventurous"),
    "Musical": ("musicals",),
    "Western": ("westerns",),
    "Drama": ("dramas", "dramatic"),
    "Crime": ("crimes",),
    "Fantasy": ("fantasies", "fantastical"),
    "Action": ("action-packed",),
    # book shelves
    "Poetry": ("poems", "poem", "poetic", "verse"),
    "History": ("historical", "histories"),
    "Cooking": ("cookbook", "cookbooks", "recipes", "cookery"),
    "Travel": ("travelogue", "travelogues", "travel writing"),
}
# How a sentence names one movie of a genre and several ("It is a drama", "94 of the movies you liked are
# dramas"): readers preferred these to the catalog's bare name ("It is Drama"). MovieLens names only; a
# catalog whose genres have no entry keeps its own names.
GENRE_NOUNS = {
    "Action": ("an action movie", "action movies"), "Adventure": ("an adventure movie", "adventure movies"),
    "Animation": ("an animated movie", "animated movies"), "Children": ("a children's movie", "children's movies"),
    "Comedy": ("a comedy", "comedies"), "Crime": ("a crime movie", "crime movies"),
    "Documentary": ("a documentary", "documentaries"), "Drama": ("a drama", "dramas"),
    "Fantasy": ("a fantasy movie", "fantasy movies"), "Film-Noir": ("a film noir", "noir movies"),
    "Horror": ("a horror movie", "horror movies"), "IMAX": ("an IMAX movie", "IMAX movies"),
    "Musical": ("a musical", "musicals"), "Mystery": ("a mystery", "mysteries"), "Romance": ("a romance", "romances"),
    "Sci-Fi": ("a sci-fi movie", "sci-fi movies"), "Thriller": ("a thriller", "thrillers"),
    "War": ("a war movie", "war movies"), "Western": ("a western", "westerns"),
}


def genre_nouns(category: str) -> tuple[str, str]:
    """One movie of `category` and several, as a sentence says them; the catalog's name where it has no entry."""
    return GENRE_NOUNS.get(category, (category, category))


_SYNONYMS_BY_NAME = {g.lower(): forms for g, forms in GENRE_SYNONYMS.items()}  # catalogs spell genres either way
# Catalog tags that are ordinary words for any movie: naming them is no claim about the item.
GENERIC_TAGS = {"movies", "movie", "film", "films", "good", "great", "bad", "boring", "overrated", "classic",
                "seen it", "seen more than once", "must see", "watched", "fun", "favorite", "favorites",
                "in netflix queue", "owned", "dvd", "netflix", "story", "entertaining", "interesting"}
GENERIC_OBJECTS = {"movie", "movies", "film", "films", "story", "stories", "this", "it", "them", "that", "these",
                   "those", "such", "kind", "sort", "type", "genre", "genres", "ones", "one", "titles", "picks",
                   "things", "the", "a", "an", "of", "and", "or", "with", "like", "more", "similar", "too", "also",
                   "lot", "lots", "good", "great", "best", "classic", "classics", "well", "so", "much", "many",
                   "really", "all", "other", "kinds", "types", "your", "their", "its", "in", "on", "to", "style",
                   "anything", "something", "everything", "watching", "seeing"}
# Words a sentence may use besides the facts' own (titles, the item's genres and tags, numbers): the
# words that join facts and say how they bear on the person. Anything else ("popular", "Disney",
# "adaptation", "watched by") is a claim no fact holds; a new false form is rejected by default
# instead of waiting for its own rule.
FUNCTION_WORDS = frozenset("""
a an the and or but nor as at by for from in into of on onto to with without this that these those it its itself is are
was were be been being has have had having which who whom whose so too also both either more than just even one ones
s t ve re ll d you your yours yourself if then there here what when where how all any each other another same such very
well much many some not no do does did can could will would should may might must up out about because since while
only yet still again already over between among after before through way lot lots others someone anyone them they
their including try new something say says said dr mr mrs ms st jr sr vol vs own why look list short
consider picked reason reasons
""".split())
# contractions whose first part is no word of its own ("won't"); the others pass by their first part ("it's")
CONTRACTIONS = frozenset({"won't", "can't", "don't", "doesn't", "isn't", "aren't", "wasn't", "didn't", "haven't"})
LINKING_WORDS = frozenset("""
movie movies film films pick picks choice choices fit fits fitting fitted suit suits suited match matches matching
like liked likes enjoy enjoys enjoyed love loved loves favorite favorites favourite favourites taste tastes people
viewers fans fan fellow rated rate rates rating ratings gave give tagged tag tags genre genres similar close closer
theme themes themed share shares shared sharing common kind kinds sort type types next together mix blend highly high
positive positively received sure worth keep note far spirit request asked wanted want mood crowd favourite agree
agrees drew draw draws land lands regret released release score scores scored low way making makes make made watch
good great likely indeed liking given
""".split())
# Words of the plot, cast and reception claims (`unsupported`) the model may not write at all: a server
# that can (llama.cpp) bans their tokens while decoding, so a sentence is not spent on "positive reviews"
# only to be rejected.
UNSUPPORTED_WORDS = ("review", "reviews", "reviewed", "praised", "praise", "acclaimed", "acclaim", "critically", "critics",
                     "award", "awards", "Oscar", "Oscars", "classic", "classics", "masterpiece", "iconic",
                     "legendary", "timeless", "plot", "storyline", "starring", "directed", "director",
                     "performances", "characters", "soundtrack", "greatest", "best", "actor", "actors", "famous",
                     "successful", "franchise", "enjoyable", "feedback", "standout",
                     # ... and the words outside the facts the model wrote most (stored runs, `eval explain`)
                     "popular", "popularity", "widespread", "widely", "watched", "excellent", "votes", "known",
                     "beloved", "recommended")

_UNSTATABLE = {w.lower() for w in UNSUPPORTED_WORDS} | {t for t in GENERIC_TAGS if " " not in t}


def statable_tag(tag: str) -> bool:
    """Whether a sentence may give `tag` as a fact: none of its words is a judgement or one the
    checkers refuse ("classic", "great soundtrack", "good dialogue", "Oscar (Best Picture)")."""
    return not any(w in _UNSTATABLE for w in re.findall(r"[\w']+", tag.lower()))


@dataclass
class Vocabulary:
    """What the catalog can name: titles, genres (with their synonyms) and tags."""

    titles: TitleIndex
    genre_forms: dict[str, str]  # lower-case surface form → catalog genre
    tags: set[str]  # lower-case catalog tags used on a few items, genres excluded

    @classmethod
    def from_items(cls, items: Iterable, min_tag_items: int = 3) -> "Vocabulary":
        items = list(items)
        genres = {c for it in items for c in it.categories if c and not c.startswith("(")}
        forms: dict[str, str] = {}
        for g in sorted(genres):  # not set order, which changes between runs: a form two genres share maps alike
            low = g.lower()
            for f in (low, low + "s", low[:-1] + "ies" if low.endswith("y") else low + "s"):
                forms[f] = g
            for f in _SYNONYMS_BY_NAME.get(low, ()):
                forms[f] = g
        uses = Counter(t.lower() for it in items for t in set(it.tags))
        tags = {t for t, n in uses.items()
                if n >= min_tag_items and len(t) >= 4 and t not in forms and t not in GENERIC_TAGS}
        return cls(titles=TitleIndex([it.title for it in items], genres=genres), genre_forms=forms, tags=tags)

    @cached_property
    def tag_order(self) -> tuple[str, ...]:
        """The tags sorted: the checker reports them, and a retry is told its first reasons, in one order
        in every run."""
        return tuple(sorted(self.tags))

    @cached_property
    def plain_words(self) -> frozenset[str]:
        """The words any explanation may use: the joining words, and every word of a genre form
        ("science", "fiction", "children"; a wrong genre is `wrong_category`'s to report)."""
        return FUNCTION_WORDS | LINKING_WORDS | {w for f in self.genre_forms for w in re.findall(r"[a-z0-9]+", f)}

    @cached_property
    def genre_alternation(self) -> str:
        """The genre forms as one regex alternation, longest first ("science fiction" before "fiction")."""
        return "|".join(re.escape(f) for f in sorted(self.genre_forms, key=len, reverse=True))

