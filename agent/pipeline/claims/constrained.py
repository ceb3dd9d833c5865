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
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from agent.pipeline.grounding import TitleIndex, bare_title, copies_text, is_degenerate, main_title
from agent.types import Evidence, item_year

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
}
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
_CLAIM = re.compile(
    r"\b(?:you(?:'ve|’ve| have| had|'re|’re| are)?\s+(?:already\s+|also\s+|\w+ly\s+)?"
    r"(?:like|liked|love|loved|enjoy|enjoyed|watched|saw|seen|rated|gave|adore|adored|fan of|a fan of|big fan of"
    r"|a big fan of|into)|your (?:favou?rites?|love of|taste for|liking for))\s+(?P<obj>(?:(?!,\s*you\b)[^.;!?:—–()])+)",
    re.IGNORECASE)
# the person's own taste named ("the Adventure movies you liked", "you love Crime movies"; checked as claims)
_YOUR_TASTE = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:\w+ly\s+)?(?:like|liked|love|loved|enjoy|enjoyed|rate|rated|gave)\b",
                         re.IGNORECASE)
_CLAIM_END = re.compile(r",|\b(?:and|but|so|which|because|since|as|then|now|this|here|it's|its|is|are|were|will|you|also)\b",
                        re.IGNORECASE)
# Plot, cast and reception: nothing in the evidence covers them, so any such statement is invented.
_UNSUPPORTED = re.compile(r"\b(?:prais\w*|acclaim\w*|award|awards|oscars?|critics?|critically|reviews?|reviewed|reviewers?|"
                          r"performances?|cast|starring|actors?|actress(?:es)?|well[- ]known|famous|successful|your (?:friends|family)|"
                          r"highly recommended|stars? \w+ \w+|directed|director|plot|characters?|storyline|"
                          r"soundtrack|box office|classics?|masterpieces?|iconic|legendary|timeless|cult|franchises?|enjoyable|"
                          r"feedback|stand-?outs?|"
                          r"(?:highly|well)[- ]regarded|"
                          r"must[- ](?:see|watch)|won(?![’']t)|winning|nominated|"
                          r"most (?:popular|acclaimed|beloved|famous|iconic|highly)|greatest|best|anticipated|of the year|"
                          r"(?:great|amazing|excellent|fantastic|wonderful|brilliant) (?:movie|film)s?|"
                          r"(?:a|the) (?:story|tale) (?:of|about)|(?:is|was|widely) considered|popular media|"
                          r"media (?:channels|outlets)|audiences? alike|(?:young|younger|older|wide|broad|general) audiences?|"
                          r"explor\w* (?:the )?themes?|human condition|pop culture)\b",
                          re.IGNORECASE)
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
# the model speaking as itself ("I didn't understand the movie recommendation"; titles masked)
_I_SPEAKING = re.compile(r"(?<![\w'’-])(?:I|I'm|I’m|I've|I’ve|I'd|I’d|I'll|(?i:me|my))(?![\w'’-])")
# a count said of people must be a count of people, and one said of the person's liked movies a
# count of those: "positive ratings from 76 people" where 76 of their liked movies are Action is false
_PEOPLE_COUNT = re.compile(r"(?<![\d.])(\d+)\s+(?:other\s+|more\s+)?(?:people|viewers|fans|others|users|of (?:its|their) fans)\b",
                           re.IGNORECASE)
_LIKED_COUNT = re.compile(r"(?<![\d.])(\d+)\s+of\s+(?:the\s+|your\s+)?(?:\w+\s+)?(?:movies|films)\b", re.IGNORECASE)
# the item said to be among what the person liked ("it is one of the movies you liked", "a movie that you
# like"; "like 23 of the movies you liked" is a count, and "a movie you'd like" a guess)
_ITEM_AMONG_LIKED = re.compile(r"\b(?:is|was|it's|it’s)\s+(?:(?:also|already)\s+)?(?:one of the|one of your|among the|a|an)\s+"
                               r"(?:\w+\s+)?(?:movies?|films?)\s+(?:that\s+|which\s+)?you(?:'ve|’ve| have)?\s+"
                               r"(?:already\s+)?(?:like|liked|love|loved|enjoy|enjoyed|rated|watched)\b", re.IGNORECASE)
# ... or as "it" ("you liked it as well as The Two Towers"; the templates' "(you liked it)" is said of the
# title before it)
_YOU_LIKED_IT_TOO = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:also\s+)?(?:liked|loved|enjoyed|rated|watched)\s+it,?\s+"
                               r"(?:as well as|just like|along with|and also)\b", re.IGNORECASE)
# Words of those claims the model may not write at all: a server that can (llama.cpp) bans their
# tokens while decoding, so a sentence is not spent on "positive reviews" only to be rejected.
UNSUPPORTED_WORDS = ("review", "reviews", "reviewed", "praised", "praise", "acclaimed", "acclaim", "critically", "critics",
                     "award", "awards", "Oscar", "Oscars", "classic", "classics", "masterpiece", "iconic",
                     "legendary", "timeless", "plot", "storyline", "starring", "directed", "director",
                     "performances", "characters", "soundtrack", "greatest", "best", "actor", "actors", "famous",
                     "successful", "franchise", "enjoyable", "feedback", "standout",
                     # ... and the words outside the facts the model wrote most (stored runs, `eval explain`)
                     "popular", "popularity", "widespread", "widely", "watched", "excellent", "votes", "known",
                     "beloved", "recommended")
# the model speaking of itself or the task instead of the movie
_META = re.compile(r"\b(?:as an ai|language model|i'm sorry|i am sorry|i can(?:no|')t|i'm not able|"
                   r"here(?:'s| is) (?:a|the|your|my) (?:new )?(?:sentence|note|explanation|recommendation)|"
                   r"rejected|the facts|last note|other notes|your (?:last |previous |new |first )?(?:sentence|answer|note)|"
                   r"placeholders?|markup|rewrite|reword|the note|(?:the|its|movie) description|(?:does|did) not rate|misunderstood|"
                   r"you (?:suggested|recommended)|(?:is|as) (?:\w+ )?a tag|tags? for the movie|a liked title|in the data|"
                   r"(?:have|has) not (?:yet )?rated|haven't (?:yet )?rated|not (?:listed|rated) (?:it|for)|first fact|aligns? with|"
                   r"the one who rated|if you had (?:watched|seen)|which they have not|(?:said|say \w+ \w+) to anyone)\b",
                   re.IGNORECASE)
# the person has seen the recommended movie ("You probably enjoyed this movie"): they have not
# ("it" may be a liked title, as in the templates' "(you liked it)"; "this kind of movie" is a taste)
_YOU_SAW_ITEM = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:already\s+|\w+ly\s+)?(?:liked|loved|enjoyed|watched|saw|seen|"
                           r"adored|read)\s+(?:this\b(?!\s+(?:kind|sort|type|genre|style))|the (?:movie|film)\b(?! like))",
                           re.IGNORECASE)
# a verb of the person's taste with no object of its own ("an adventure that you liked", "…, which you
# rated 4/5"): it is said of what was named before it
_OBJECTLESS_LIKE = re.compile(
    r"\byou(?:'ve|’ve| have| had)?\s+(?:already\s+|also\s+|\w+ly\s+)?(?:liked|loved|enjoyed|watched|saw|seen|rated|"
    r"gave|adored)(?=\s*(?:$|[,.;!?)—–]|\d(?:\.\d)?\s*(?:/|out of)\s*5|(?:too|before|already|so much|a lot|and|but|"
    r"with|so|because|as|from|in|on|at|for)\b))", re.IGNORECASE)
# ... unless what it refers to is a kind of movie ("the Adventure movies you liked", "the kind of film you loved")
_TASTE_REFERENT = re.compile(r"(?:\b(?:movies|films|ones|titles|those|them|stories|picks|kinds|many|something|"
                             r"anything|everything|what|whatever)|\b(?:kind|sort|type|style)s? of(?: \S+){0,2}|\b(?!(?:this|thus|was|his|its|is)\b)\w+s)"
                             r"(?:\s*,)?(?:\s+(?:that|which|whom))?\s*$", re.IGNORECASE)
# the person told they might like a movie that is not the one recommended ("you might like: Big (1988)")
_YOU_MIGHT_LIKE = re.compile(r"\byou(?:'ll|’ll)?\s+(?:might|may|will|would|could|should)?\s*(?:also\s+)?"
                             r"(?:like|love|enjoy|watch)\b\s*[:,-]?\s*(?P<obj>.+)", re.IGNORECASE)
# what a sentence about the person refers to this movie by ("You found Avengers a great movie" under
# another title is about neither)
_ABOUT_ITEM = re.compile(r"\b(?:it|its|it's|it’s|this|here|one)\b", re.IGNORECASE)
# a movie named as the one who rated ("highly rated by American Beauty", "ratings from Jurassic Park")
_TITLE_AS_RATER = re.compile(r"\b(?:rat\w*|viewers|people)\b[^.;]{0,30}?\b(?:by|from|including)\s+T\b"
                             r"(?!\s*(?:'s\s+)?(?:fans|viewers|lovers))|"
                             r"\bthat\s+T\b(?:\s*,[^,.;]{0,40},)?\s+(?:also\s+)?(?:liked|loved|enjoyed|rated)\b",
                             re.IGNORECASE)
# two movies where there is one: "They are both Action", "Inception and The Departed are both …"
_TWO_SUBJECTS = re.compile(r"^they\b|^both (?:are|were|movies|films)\b|\b(?:are|were) both\b", re.IGNORECASE)
# a movie named by its year alone: "fans of the 1996 film"
_YEAR_AS_TITLE = re.compile(r"\bthe (?:19|20)\d\d(?: and (?:19|20)\d\d)? (?:film|movie)s?\b", re.IGNORECASE)
# a count with no sense left in it: "It's a 124 of the movies you liked", "a high 11 people"
_GARBLED_COUNT = re.compile(r"\b(?:an?|high|been)\s+\d+\s+(?:of|people)\b|"  # ... or a year counted: "from 1999 and 72 people"
                            r"\b(?:19|20)\d\d\s+(?:and\s+\d+\s+)?(?:people|viewers|fans|users)\b|"
                            # ... or movies that like: "153 of the movies you liked also liked this movie"
                            r"\b\d+\s+of the (?:movies|films) you (?:liked|rated)\s+(?:also\s+)?(?:liked|rated|loved|enjoyed)\b",
                            re.IGNORECASE)
_PERCENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s*(?:%|percent\b)", re.IGNORECASE)  # "76% of the movies you liked"
# a sentence that is only a leading clause ("Since you rated The Matrix 5/5."), or a title and what
# the person rated ("Fans of Forrest Gump, which you rated 4/5.")
_FRAGMENT = re.compile(r"^(?:since|because|if|as|although|while)\b[^,;]*[.!?]$|"
                       r"^(?:fans|people|viewers) (?:of|who liked) [^;]*?,? (?:which|that) you (?:rated|liked)\b[^,;]*[.!?]$",
                       re.IGNORECASE)
_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.IGNORECASE)  # "the 5th movie you liked"
_OUT_OF_TEN = re.compile(r"\b\d+(?:\.\d+)?\s*(?:/|out of)\s*10\b", re.IGNORECASE)  # the facts rate out of 5
# a movie said to fit another movie, or a title given a rating of its own ("Speed fits Jurassic Park",
# "matches Jurassic Park's 1993 rating"; titles masked as T)
_TITLE_AS_PERSON = re.compile(r"\b(?i:fits|suits|matches)\s+T\b(?!\s+(?:fans|viewers|lovers))|"
                              r"\bT(?:'s|’s)\s+(?:\w+\s+){0,2}(?:ratings?|scores?|votes?)\b")
# the movie's worth denied ("it is not a highly-rated or positive movie", "You may not enjoy the movie",
# "despite its lack of …"): no fact says so, and a recommendation does not argue against itself
_DENIED_WORTH = re.compile(r"\bnot (?:an? |the )?(?:very |so |that |really )?(?:highly|well|positive|popular|good|great)\b|"
                           r"\b(?:may|might|would|will) not (?:enjoy|like)\b|\b(?:does|do)(?:n't|n’t| not) fit\b|"
                           r"\bcan(?:'|’|no)?t recommend\b|\bnot (?:be )?recommended\b|\black of\b|"
                           r"\bnot as (?:good|great|strong|fun|highly rated) as\b", re.IGNORECASE)
# a tag given an owner ("fits Quentin Tarantino's tag"): tags describe movies, they belong to no one
_OWNED_TAG = re.compile(r"\b\w+(?:'s|’s) tags?\b", re.IGNORECASE)
# a rating out of 5 put right after the recommended movie's title ("You would likely rate Forrest Gump 4/5"),
# or a sentence that opens with a title and its rating and never says whose it is (the item's title masked
# as {I}: braces never reach the rules, so no word of a text is taken for it; all titles masked as T)
_ITEM_RATED = re.compile(r"\{I\}\s*[(,:]?\s*(?:a\s+)?\d(?:\.\d)?\s*(?:/|out of)\s*5\b")
_RATING_WITHOUT_RATER = re.compile(r"^\s*T\s*[(,:]?\s*\d(?:\.\d)?\s*(?:/|out of)\s*5\b")
# words run together, as in "highlyRated" (a title's own spelling, such as "eXistenZ", is left alone)
_RUN_TOGETHER = re.compile(r"\b[a-z]+[A-Z][a-z]+\b|\b[A-Z][a-z]+[A-Z]{2,}\b")  # ... or cased at random ("SpotLESS")
# a word said twice in one hyphenated run ("a comedy-drama-drama Thriller"), or two words twice over
# ("a highly rated and highly rated movie", "tagged robots, sci-fi, and robots, sci-fi")
_HYPHEN_REPEAT = re.compile(r"\b(\w+)(?:-\w+)*-\1\b|\b((?:[\w-]+,? ){1,2}[\w-]+),? (?:and|or) \2(?![\w-])",
                            re.IGNORECASE)
# the person said to have received a rating, or the movie said to be part of another ("You've already
# received a positive rating for The Lion King", "is a part of Chinatown"): no fact reads so
_GARBLED_RELATION = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:already\s+)?received\b|\b(?:a\s+)?part of T\b|"
                               r"\byou (?:had|have|got) an? (?:\w+ ){0,2}rating\b", re.IGNORECASE)
# a sentence that ends on a word that leads on ("… tagged with."), or that turns to a third person ("fits them")
_UNFINISHED = re.compile(r"\b(?:with|of|and|or|by|to|for|the|a|an|as|like|is|are)[.!?]$", re.IGNORECASE)
_THIRD_PERSON = re.compile(r"\b(?:fits|suits|for) them\b(?! all)|\b(?:movies|films|ones) (?:they|he|she) "
                           r"(?:liked|rated|loved|enjoyed)\b", re.IGNORECASE)
# someone named among those who rated ("positive ratings from viewers, including Stephen King")
_NAMED_RATER = re.compile(r"\bincluding\s+(?!T\b|You\b)[A-Z]\w+\b(?!\s+(?:fans|lovers|viewers|movies|films))")
# a stray letter between words after the titles are masked ("is a g that is a thriller"): garbled text
_STRAY_LETTER = re.compile(r"(?<=[a-z] )[b-hj-z](?= [a-z])")
# "by James Cameron" after the titles are masked: a maker the facts never name
_BY_PERSON = re.compile(r"\bby (?:[A-Z][a-z]+ ){1,2}[A-Z][a-z]+\b")
# the person's own rating of this movie ("including you", "earned you a 4/5"): they have not rated it
_YOU_RATED_ITEM = re.compile(r"\bincluding you(?:rself)?\b|\bearned (?:you|your)\b", re.IGNORECASE)
# a rating out of 5 is the person's own rating of a liked title: "you rated it 4/5", never the item's
_RATING = re.compile(r"(\d(?:\.\d)?)\s*(?:/|out of)\s*5\b|\b(\d(?:\.\d)?)[- ]stars?\b", re.IGNORECASE)  # "a 5-star rating" too
# ... said with its rater ("you rated it", "You gave T", "your rating", "your 4/5 for T") or right after the title ("T (4/5)");
# "like 3 of the movies you liked, and it's a 5/5 rating" gives it to the movie
_RATER = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:\w+ly\s+)?(?:rated|gave|give|scored)\b|\byour (?:own )?(?:rating|score)\b|\byour\s*$|"
                    r"\bT\s*[(,:]?\s*(?:a\s+)?$", re.IGNORECASE)
_QUOTED = re.compile(r"[\"“‘']([^\"”’']{3,80})[\"”’']")
_YEARS = re.compile(r"(?<![\d.])(?:'|’)?((?:19|20)?\d0)s\b|(?<![\d.])((?:19|20)\d\d)(?![\d.])")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w])")
_SCALE = re.compile(r"(?:/|out of\s+|of\s+)(?:5|10)\b|\b(?:5|five|10)[- ]stars?\b|\bstars?\b", re.IGNORECASE)
_WORDS = re.compile(r"[a-z0-9'’-]+")
OPENING_WORDS = 4  # words of a (masked) explanation that make its skeleton


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str

    def __str__(self) -> str:
        return self.detail


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
            for f in GENRE_SYNONYMS.get(g, ()):
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
    instructions: str = ""


def check(text: str, ctx: ClaimContext, vocab: Vocabulary, kind: str = "explanation") -> list[Violation]:
    """Every rule `text` breaks (empty: it may be shown). `kind`: "explanation" or "hook"."""
    out: list[Violation] = []
    text = " ".join(text.split())
    if why := is_degenerate(text, min_words=2 if kind == "hook" else 4):
        return [Violation("junk", f"it is not usable text ({why})")]
    if kind == "explanation" and not text.endswith((".", "!", "?")):
        return [Violation("junk", "it stops mid-sentence; write one short sentence")]
    if re.search(r"[\[\]{}<>|]", text):
        return [Violation("junk", "it contains placeholders or markup")]
    if _META.search(text):
        return [Violation("junk", "it talks about the task, not the movie; write the sentence itself")]
    titles = " ".join(ctx.evidence.titles())  # a title's own casing ("eXistenZ"), not "the SpotLESS Mind"
    if any(m.group(0) not in titles for m in _RUN_TOGETHER.finditer(text)):
        return [Violation("junk", "it runs words together (like 'highlyRated')")]
    unnamed = text.lower()
    for t in ctx.evidence.titles():  # a long title is not a repetition of itself
        unnamed = unnamed.replace(bare_title(t), " T ")
    words = _WORDS.findall(unnamed)
    runs = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    if len(runs) != len(set(runs)):
        return [Violation("junk", "it repeats itself")]
    if copies_text(ctx.instructions, text, n=4 if kind == "hook" else 6):
        out.append(Violation("echo", "it repeats the instructions instead of explaining"))
    ev = ctx.evidence
    item_bare = bare_title(ev.title)
    if kind == "hook" and (_has_words(bare_title(text), item_bare) or _has_words(item_bare, bare_title(text))):
        out.append(Violation("title_as_hook", "the hook is the movie's own title; write a line about why it fits"))
    allowed_titles = {bare_title(t) for t in ev.titles()}
    for name in sorted(vocab.titles.mentioned(text)):
        if not any(name in a or a in name for a in allowed_titles):
            out.append(Violation("unknown_title", f"it names {name.title()!r}, which is not in the facts"))
    for name in _short_liked_titles_named(text, ctx, vocab.titles, allowed_titles):
        out.append(Violation("unknown_title", f"it names {name.title()!r}, which is not in the facts"))
    for quoted in _QUOTED.findall(text):
        q = bare_title(quoted)
        if len(q.split()) >= 2 and vocab.titles.mentioned(quoted) and not any(
                q in a or a in q for a in allowed_titles):
            out.append(Violation("unknown_title", f"it names {quoted!r}, which is not in the facts"))
    short = _mask_titles(text, ev, "T")  # so a long title does not part a rating from its "you"
    if kind == "explanation" and len(_WORDS.findall(re.sub(r"\bT\b", " ", short).lower())) < 3:
        return [Violation("junk", "it only names a movie; say why it fits you")]
    if not item_bare.startswith("the ") and re.match(r"the\s+" + re.escape(item_bare) + r"(?!\w)", text.lower()):
        out.append(Violation("junk", f"it misnames the movie ('The {ev.title.rsplit(' (', 1)[0]}')"))
    if m := _UNSUPPORTED.search(short):  # ... and "Best in Show" is a title, not a claim
        out.append(Violation("unsupported", f"it says {m.group(0)!r}: plot, cast and reception are not in the facts"))
    if _YOU_RATED_ITEM.search(text):
        out.append(Violation("liked_item", "it says the person rated this movie, which they have not"))
    if _YOU_SAW_ITEM.search(text):
        out.append(Violation("liked_item", "it says the person has seen this movie, which they have not"))
    if (kind == "explanation" and re.match(r"you\b", text, re.IGNORECASE) and not _ABOUT_ITEM.search(text)
            and not _has_words(text.lower(), item_bare.split(":")[0])):
        out.append(Violation("wrong_subject", "it says nothing about the movie recommended; write about it"))
    if _taste_said_of_item(text, ctx):
        out.append(Violation("liked_item", "it says the person liked or rated this movie, which they have not"))
    linked_phrases, linked_wrong = _linked_genres(text, ctx, vocab)
    for title, form, genre in linked_wrong:
        out.append(Violation("wrong_category", f"it calls {title.title()!r} {form!r}, but the data does not list "
                                               f"{genre} for it"))
    if other := _recommends_liked_title(text, ctx):
        out.append(Violation("wrong_subject", f"it recommends {other!r}, which the person has seen; "
                                              "write about the movie recommended"))
    if other := _described_title(text, ev, vocab):
        out.append(Violation("wrong_subject", f"it describes {other!r} as if it were the movie recommended"))
    forms = {"text": text, "short": short, "item": _mask_title(text, ev.title, " {I} ", whole=True)}
    out += _rules_broken(_SUBJECT_AND_FORM_RULES, forms)
    for m in _RATING.finditer(short):
        if not _RATER.search(short[max(0, m.start() - 40): m.start()]):
            out.append(Violation("wrong_number", f"it gives {m.group(0)} as the movie's rating; that rating is the "
                                                 "person's own, of a liked title"))
    masked, claim_violations = _taste_claims(text, ctx, vocab)
    out += claim_violations
    # what is left is said about the item: mask the allowed titles (they carry years) and the
    # chat request it satisfies ("no Horror" names a genre the item rightly lacks)
    if ev.constraint:
        masked = re.sub(re.escape(ev.constraint), " C ", masked, flags=re.IGNORECASE)
    masked = _mask_titles(masked, ev, " T ")
    out += _rules_broken(_GARBLE_RULES, forms | {"masked": masked})
    if re.match(r"(?:" + vocab.genre_alternation + r")\s+(?:is|was)\b", text, re.IGNORECASE):
        out.append(Violation("wrong_subject", "it makes a genre the subject; write about the movie"))
    if m := _BY_PERSON.search(masked):
        out.append(Violation("unsupported", f"it says {m.group(0)!r}: who made it is not in the facts"))
    low = masked.lower()
    for phrase in linked_phrases:  # checked against the linked title's genres above
        low = low.replace(phrase, " ")
    for tag in sorted((t for t in _movie_tags(ev) if len(t.split()) > 1), key=len, reverse=True):
        low = _word_pattern(tag).sub(" ", low)  # the movie's tag "dark comedy" does not call it a Comedy
    for form, genre in vocab.genre_forms.items():
        if genre not in ctx.evidence_categories and _has_word(low, form):
            out.append(Violation("wrong_category", f"it calls this {form!r}, but the data does not list {genre}"))
        elif genre in ctx.evidence_categories and re.search(r"\bnot (?:an? |the )?" + re.escape(form) + r"\b", low):
            out.append(Violation("junk", f"it says it is not {form!r}, but the data lists {genre} for it"))
    wrong_tags = [tag for tag in vocab.tag_order if tag not in ctx.evidence_tags and _has_word(low, tag)]
    out += [Violation("wrong_tag", f"it says {tag!r}, which the data does not say about this movie")
            for tag in wrong_tags]
    if outside := _words_outside_facts(low, ctx, vocab, reported=wrong_tags):
        out.append(Violation("unsupported", f"it says {', '.join(map(repr, outside[:2]))}, which no fact says; "
                                            "use only the facts and plain words"))
    years = {ev.year} | {item_year(b.title) for b in ev.because}
    decades = {y // 10 * 10 for y in years if y}
    for decade, year in _YEARS.findall(low):
        if year and int(year) not in years:
            out.append(Violation("wrong_year", f"it gives the year {year}, but the catalog says {ev.year or 'none'}"))
        elif decade and int(decade) % 100 not in {d % 100 for d in decades}:
            out.append(Violation("wrong_year", f"it says the {decade}s, but the catalog year is {ev.year or 'unknown'}"))
    numbers = ev.numbers() | {y for y in years if y}
    ratings = {b.rating for b in ev.because if b.rating is not None}
    for raw in _NUMBER.findall(_YEARS.sub(" ", _SCALE.sub(" ", low))):
        value = float(raw)
        if value not in ratings and not (value.is_integer() and int(value) in numbers):
            out.append(Violation("wrong_number", f"it states the number {raw}, which is not in the facts"))
    out += _miscounted(low, ev)
    if kind == "explanation" and not out and not names_personal_evidence(text, ev):
        out.append(Violation("generic", "it is generic; name the liked title behind it or the movies you liked"))
    return list(dict.fromkeys(out))


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


def _movie_tags(ev: Evidence) -> set[str]:
    """The item's tags the facts may name, lower-case: its first ones and those it shares with the
    person's liked movies (taken from all its tags, so some are past the first ones)."""
    return {t.lower() for t in ev.tags + ev.shared_tags}


def names_item_fact(text: str, ev: Evidence, vocab: Vocabulary) -> bool:
    """Whether the text says something of the movie from its facts: one of its genres, a tag, or
    a number the evidence states. "… so this movie fits you well" says nothing a template would
    not say better."""
    low = text.lower()
    parts = low.replace("-", " ")  # "an adventure-comedy" names Comedy, as the opening skeleton reads it
    return bool(any(genre in ev.categories and (_has_word(low, form) or _has_word(parts, form))
                    for form, genre in vocab.genre_forms.items())
                or any(_has_word(low, t) for t in _movie_tags(ev))
                or any(int(n) in ev.numbers() for n in _NUMBER.findall(low) if "." not in n))


def names_personal_evidence(text: str, ev: Evidence) -> bool:
    """Whether the text names what ties the item to this person: a liked title behind it, a
    shared tag, or their taste ("like 76 of the movies you liked", "you rated it 5/5"). A genre
    alone, or a count of people with nothing of the person's ("a drama that has received positive
    ratings from 37 people who liked it"), could be said to anyone. Evidence with nothing of the
    person's, or a chat request the item meets, asks for none."""
    if ev.constraint or not (ev.because or ev.shared_tags or ev.shared_categories):
        return True
    low = text.lower()
    return bool(_YOUR_TASTE.search(text) or any(_has_words(low, form.split(":")[0])
                                                for form in _title_forms(b.title for b in ev.because))
                or any(_has_word(low, t.lower()) for t in ev.shared_tags))


def _miscounted(low: str, ev: Evidence) -> list[Violation]:
    """Counts given the wrong unit: a number of people that is not one the facts give people, or a
    number of the person's liked movies that the facts give as something else."""
    people = {b.people for b in ev.because if b.people} | {ev.fans}
    liked = {c.liked for c in ev.shared_categories}
    out = [Violation("wrong_number", f"it says {m.group(0)!r}, but no fact counts {m.group(1)} people")
           for m in _PEOPLE_COUNT.finditer(low) if int(m.group(1)) not in people]
    out += [Violation("wrong_number", f"it says {m.group(0)!r}, but no fact counts {m.group(1)} of the movies liked")
            for m in _LIKED_COUNT.finditer(low) if int(m.group(1)) not in liked]
    return out


def _words_outside_facts(low: str, ctx: ClaimContext, vocab: Vocabulary, reported: list[str]) -> list[str]:
    """The words of `low` (lower-case, titles and true likings masked) that are neither plain joining
    words nor the facts' own: the titles' words, genres (any: a wrong one is `wrong_category`), the
    item's and linked titles' tags, and tags already reported as wrong. Numbers and stray letters
    have rules of their own."""
    facts = {w for phrase in ctx.evidence_tags | set(reported) | set(map(bare_title, ctx.evidence.titles()))
             for w in re.findall(r"[a-z0-9]+", phrase)}  # a title's words: it may be shortened

    def known(word: str) -> bool:
        return word in vocab.plain_words or word in facts

    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", low.replace("’", "'"))
    return list(dict.fromkeys(w for w in words if len(w) > 1  # the masks (T, G, C) and stray letters too
                              and not known(w) and w not in CONTRACTIONS and not known(w.split("'")[0])
                              and not re.fullmatch(r"\d+s?", w)))


# Rules that are one pattern over one form of the text: (pattern, form, kind, message with {m} for
# what matched). Forms: "text" as written; "short", every evidence title as T; "item", the item's
# title as {I}; "masked", also the person's true likings and the chat request masked. In each
# table, the order is the order of the reasons a retry is told.
Rule = tuple[re.Pattern, str, str, str]
_SUBJECT_AND_FORM_RULES: tuple[Rule, ...] = (
    (_TITLE_AS_RATER, "short", "wrong_subject", "it names a movie as the one who rated; name the people who liked it"),
    (_TITLE_AS_PERSON, "short", "wrong_subject", "it says {m!r}: a movie fits you, not another movie"),
    (_DENIED_WORTH, "text", "junk", "it says {m!r}, which no fact says; say why it fits you"),
    (_ITEM_RATED, "item", "liked_item", "it gives this movie a rating; the ratings are the person's, of liked titles"),
    (_RATING_WITHOUT_RATER, "short", "junk", "it gives a title and a rating without saying who rated it"),
    (_TWO_SUBJECTS, "text", "wrong_subject", "it speaks of two movies; write about this one"),
    (_UNFINISHED, "text", "junk", "it stops mid-phrase; finish the sentence"),
    (_THIRD_PERSON, "text", "junk", "it says {m!r}; speak to the person as \"you\""),
    (_YEAR_AS_TITLE, "text", "junk", "it says {m!r}; name the movie by its title"),
    (_GARBLED_COUNT, "text", "junk", "it says {m!r}, which does not read; say what the number counts"),
    (_ORDINAL, "text", "wrong_number", "it says {m!r}; the facts give no such place"),
    (_PERCENT, "text", "wrong_number", "it says {m!r}; the facts count movies and people, not percentages"),
    (_FRAGMENT, "text", "junk", "it is not a whole sentence; say what this movie is and why it fits you"),
    (_OUT_OF_TEN, "text", "wrong_number", "it says {m!r}; the facts give only the person's ratings, out of 5"),
    (_ITEM_AMONG_LIKED, "text", "liked_item", "it says {m!r} of this movie, which the person has not rated"),
    (_YOU_LIKED_IT_TOO, "text", "liked_item", "it says {m!r} of this movie, which the person has not rated"),
)
_GARBLE_RULES: tuple[Rule, ...] = (
    (_HYPHEN_REPEAT, "text", "junk", "it says {m!r}, which repeats itself"),
    (_NAMED_RATER, "short", "wrong_subject", "it says {m!r}: the facts count people, they name no one"),
    (_STRAY_LETTER, "masked", "junk", "it has a stray {m!r}, which does not read"),
    (_I_SPEAKING, "short", "junk", "it speaks as {m!r}; write to the person about the movie"),
    (_OWNED_TAG, "short", "junk", "it says {m!r}, which does not read; a tag describes the movie"),
    (_GARBLED_RELATION, "short", "junk", "it says the person received a rating, or the movie is part of another; "
                                         "no fact says so"),
)


def _rules_broken(rules: tuple[Rule, ...], forms: dict[str, str]) -> list[Violation]:
    return [Violation(kind, message.format(m=m.group(0))) for pattern, form, kind, message in rules
            if (m := pattern.search(forms[form]))]


_UNQUOTED = re.compile(r"(?:(?<=^)|(?<=\s))[\"'“‘]|[\"'”’](?=\s|$|[,.;:])")  # quotes, not apostrophes
_BECAUSE = re.compile(r"\b(?:because|since)\s+")


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


def _title_spans(text: str, titles: Iterable[str]) -> list[tuple[int, str]]:
    """(end, title) of each mention of a bare title in `text`, in full or by its part before a colon."""
    low = text.lower()
    out = []
    for t in titles:
        name = bare_title(t)
        for form in {name, name.split(":")[0].strip()}:
            if len(form) >= 3 and form in low:  # a person's liked titles can be hundreds: most are not named
                out += [(m.end(), name) for m in re.finditer(r"(?<!\w)" + re.escape(form) + r"(?!\w)", low)]
    return out


def _taste_said_of_item(text: str, ctx: ClaimContext) -> bool:
    """Whether a liking or rating is said of the recommended movie, which the person has not
    rated: with the movie as its object ("… and enjoyed Speed (1994) as well", not "people who
    liked Speed"), or with no object of its own ("Back to the Future Part II is an adventure that
    you liked"), which names what came before it unless that is a liked title or a kind of movie."""
    item = bare_title(ctx.evidence.title)
    low = text.lower()
    for m in re.finditer(r"\b(?:liked|enjoyed|loved|watched|rated|seen|saw)\s+" + re.escape(item) + r"(?!\w)", low):
        if "who" not in low[max(0, m.start() - 16): m.start()]:  # "… and enjoyed Speed (1994) as well"
            return True
    for m in _OBJECTLESS_LIKE.finditer(text):
        before = text[: m.start()]
        if _TASTE_REFERENT.search(before):
            continue
        spans = _title_spans(before, [ctx.evidence.title] + [b.title for b in ctx.evidence.because]
                             + list(ctx.liked_titles))
        nearest = max(spans, default=(0, item), key=lambda s: (s[0], s[1] != item))[1]
        if nearest == item:
            return True
    return False


def _linked_genres(text: str, ctx: ClaimContext, vocab: Vocabulary) -> tuple[list[str], list[tuple[str, str, str]]]:
    """What is said of a linked title ("The Godfather, which is a Crime drama": no claim about the
    item), and (title, form, genre) for each genre it lacks ("Monty Python and the Holy Grail,
    which is a children's film")."""
    phrases, wrong, low = [], [], text.lower()
    for name, genres in ctx.linked_categories.items():
        for m in re.finditer(re.escape(name) + r"(?:\s*\(\d{4}\))?,?\s+(?:which|that)\s+(?:is|was)\s+([^.,;]*)", low):
            phrases.append(m.group(1))
            wrong += [(name, form, genre) for form, genre in vocab.genre_forms.items()
                      if genre not in genres and _has_word(m.group(1), form)]
    return phrases, wrong


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


def _mask_titles(text: str, ev: Evidence, mark: str) -> str:
    """`text` with the item's and its evidence's titles (and a year after them) replaced by `mark`,
    by their full name or the one before an alternate title ("Raiders of the Lost Ark (Indiana Jones
    and the Raiders of the Lost Ark)")."""
    for form in sorted(_title_forms(ev.titles()), key=len, reverse=True):
        text = _mask_title(text, form, mark)
    return text


def _title_forms(titles: Iterable[str]) -> set[str]:
    """The names `titles` go by: in full, and by the name before an alternate title."""
    return {form for t in titles for form in (bare_title(t), main_title(t).lower())}


def _mask_title(text: str, title: str, mark: str, whole: bool = False) -> str:
    """... one title; `whole`: only where it ends a word ("Part II" is not the start of "Part III")."""
    return re.sub(re.escape(bare_title(title)) + r"(?:\s*\(\d{4}\))?" + (r"(?!\w)" if whole else ""), mark, text,
                  flags=re.IGNORECASE)


def _taste_claims(text: str, ctx: ClaimContext, vocab: Vocabulary) -> tuple[str, list[Violation]]:
    """Check every "you liked X" claim; return the text with valid claims' objects masked
    (a genre the person likes is no claim about the item) and the violations."""
    out, masked = [], text
    liked = ctx.liked_titles
    item_bare = bare_title(ctx.evidence.title)
    for m in _CLAIM.finditer(text):
        after = text[m.start("obj"):].lower()
        if any(after.startswith(t) for t in liked if len(t) >= 4):  # in full: a title with "." or ":" in it
            continue
        if item_bare not in liked and re.match(re.escape(item_bare) + r"(?!\w)", after):  # in full: "… and …" in it
            out.append(Violation("liked_item", "it says the person already likes this movie"))
            continue
        if owned := re.match(r"\s*(?:its|their)\s+(.*)", m.group("obj"), re.IGNORECASE):
            # "you probably enjoyed its sci-fi story", of a liked title: the facts hold only the rating
            what = _CLAIM_END.split(owned.group(1), maxsplit=1)[0].lower()
            if any(_has_word(what, f) for f in vocab.genre_forms) or any(_has_word(what, t) for t in vocab.tags):
                out.append(Violation("false_like", f"it says what the person liked about a movie ({what.strip()!r}); "
                                                   "the facts give only their rating"))
            continue
        obj = _CLAIM_END.split(m.group("obj"), maxsplit=1)[0]
        obj_low = bare_title(obj.strip(" \"'“”‘’")).strip(" \"'“”‘’")
        obj_low = re.sub(r"^(?:the (?:movie|film)s?|movies like|films like)\s+", "", obj_low)
        words = _WORDS.findall(obj_low)
        if not words:
            continue
        head = " ".join(words)
        if any(w.isdigit() for w in words) and set(words) <= GENERIC_OBJECTS | {"out", "star", "stars"} | {
                w for w in words if w.isdigit()}:
            # "…, which you rated 4/5": a rating of the title named just before (the number check
            # holds its value); with no linked title before it, "it" is the recommended movie
            before = text[: m.start()].lower()
            if not any(_names_title(before[before.find(bare_title(b.title)[:12]):], bare_title(b.title))
                       for b in ctx.evidence.because if bare_title(b.title)[:12] in before):
                out.append(Violation("liked_item", "it says the person rated this movie, which they have not"))
            continue
        if _names_title(head, item_bare) and not any(_names_title(head, t) for t in liked):
            out.append(Violation("liked_item", "it says the person already likes this movie"))
            continue
        if any(_names_title(head, t) for t in liked):
            masked = _replace_words(masked, obj, " T ")
            continue
        titles = vocab.titles.mentioned(obj_low)
        if titles:
            out.append(Violation("false_like", f"it says the person liked {', '.join(sorted(titles)).title()!r}, "
                                               "which they have not rated highly"))
            continue
        genres = {g for f, g in vocab.genre_forms.items() if _has_word(head, f)}
        tags = {t for t in vocab.tags | ctx.liked_tags if _has_word(head, t)}
        rest = set(words) - GENERIC_OBJECTS - {w for f in vocab.genre_forms for w in f.split()} \
            - {w for t in tags for w in t.split()}
        if genres - ctx.liked_categories or tags - ctx.liked_tags:
            out.append(Violation("false_like", f"it says the person likes {obj.strip()!r}, "
                                               "which their ratings do not show"))
        elif rest:
            out.append(Violation("false_like", f"it says the person likes {obj.strip()!r}; "
                                               "name only titles or genres from the facts"))
        else:
            masked = _replace_words(masked, obj, " G ")
    return masked, out


def _replace_words(text: str, phrase: str, mark: str) -> str:
    """`text` with `phrase` replaced where it stands as words ("it" is not in "fits")."""
    phrase = phrase.strip()
    return re.sub(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", mark, text) if phrase else text


def _names_title(phrase: str, title: str) -> bool:
    """Whether `phrase` names `title` (both bare, lower-case), in full or by its first words
    ("avengers" for "avengers: infinity war", "star wars" for "star wars: episode iv")."""
    if not phrase or not title:
        return False
    p, t = _WORDS.findall(phrase), _WORDS.findall(title)
    if p[: len(t)] == t or t[: len(p)] == p:
        return True
    short = _WORDS.findall(re.split(r"[:(,]", title)[0])
    return len(" ".join(short)) >= 4 and p[: len(short)] == short


def _has_words(text: str, phrase: str) -> bool:
    """Whether `phrase`'s words occur in `text` as a run ("part ii" is not in "part iii")."""
    t, p = _WORDS.findall(text), _WORDS.findall(phrase)
    return bool(p) and any(t[i:i + len(p)] == p for i in range(len(t) - len(p) + 1))


def _has_word(text: str, word: str) -> bool:
    return word in text and _word_pattern(word).search(text) is not None  # most words are not there


@lru_cache(maxsize=None)
def _word_pattern(word: str) -> re.Pattern:
    """A word standing alone: the genre forms and tags are hundreds, more than re's own cache holds."""
    return re.compile(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])")


def skeleton(text: str, ctx: ClaimContext, vocab: Vocabulary) -> str:
    """An explanation's opening with titles, genres, tags and numbers masked: lists whose
    items all open "Since you liked T, this G …" read as boilerplate."""
    low = " " + re.sub(r"\(\d{4}\)", " ", text.lower()) + " "
    for t in sorted(ctx.evidence.titles() + list(ctx.liked_titles), key=len, reverse=True):
        low = low.replace(bare_title(t), " T ")
    words: list[str] = []
    for w in _WORDS.findall(low):
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
    return " ".join(words[:OPENING_WORDS])


def check_list(skeletons: list[str], max_same: int = 2) -> list[int]:
    """Positions whose skeleton was already used `max_same` times earlier in the list."""
    seen: Counter[str] = Counter()
    out = []
    for i, s in enumerate(skeletons):
        if s and seen[s] >= max_same:
            out.append(i)
        seen[s] += 1
    return out


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
        linked = [catalog[b.item_id] for b in ev.because if b.item_id in catalog]
        out.append(ClaimContext(
            evidence=ev, liked_titles=liked_titles, liked_categories=liked_categories, liked_tags=liked_tags,
            evidence_categories=set(ev.categories),
            evidence_tags=_movie_tags(ev) | {t.lower() for it in linked for t in it.tags},
            linked_categories={bare_title(it.title): set(it.categories) for it in linked},
            instructions=instructions))
    return out
