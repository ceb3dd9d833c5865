"""The `open` mode's checker: a capable model writes freely, and each claim the text makes is
verified against the catalog and the person's history. Evaluative and joining words are free
("a natural next pick", "a safe bet"); what can be false is checked: titles and names, counts
and ratings, genres, tags (by stem: "gangster" is the tag "gangsters"), years and decades,
series relations, and cast, crew, awards, plot and reception, which no data here holds unless
the item's own tags or description say it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, partial

import snowballstemmer

from agent.pipeline.claims.context import ClaimContext, Violation, mask_title, mask_titles, title_forms
from agent.pipeline.claims.form import names_item_fact
from agent.pipeline.claims.genres_tags import mask_stated_tags
from agent.pipeline.claims.numbers import shared_count_spread
from agent.pipeline.claims.vocabulary import FUNCTION_WORDS, LINKING_WORDS, Vocabulary
from agent.pipeline.grounding import TITLE_MAX, bare_title, is_degenerate, main_title
from agent.types import item_year

_STEMMER = snowballstemmer.stemmer("english")
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def stems(text: str) -> list[str]:
    """The text's words, stemmed ("time-travelling" -> ["time", "travel"]); a possessive is its noun."""
    return [stem(w) for w in _WORD.findall(re.sub(r"['’]s\b", "", text.lower()))]


def _has_run(haystack: list[str], needle: list[str] | tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(tuple(haystack[i:i + n]) == tuple(needle) for i in range(len(haystack) - n + 1))


# -- what no data here holds, unless the item's tags or description say it ------------------------
_CAST_CREW = re.compile(r"\b(?:starring|(?<![\d-])(?<!\d )(?<!five-)stars?|co-?stars?|actors?|actress(?:es)?|cast|"
                        r"performances?|plays|played|role|"
                        r"roles|directed|director|directors|directorial|filmmakers?|screenplay|screenwriters?|written|"
                        r"writers?|produced|producers?|studios?|composer|soundtrack|score by|cinematographer|author|"
                        r"authors|novelist|penned|narrated|narrator|based on|adapted|adaptation)\b", re.IGNORECASE)
_AWARDS = re.compile(r"\b(?:awards?|award-winning|oscars?|academy|nominat\w+|golden globes?|palme|bafta|emmys?|"
                     r"won|wins|winner|winning|prize\w*)\b", re.IGNORECASE)
_RECEPTION = re.compile(r"\b(?:critics?|critical|critically|acclaim\w*|prais\w*|reviews?|reviewed|reviewers?|"
                        r"box[- ]office|blockbusters?|smash|bestsell\w*|best-sell\w*|cult|iconic|legendary|"
                        r"masterpieces?|landmark|timeless|celebrated|renowned|famous|famed|beloved|classics?|"
                        r"influential|groundbreaking|ground-breaking|grossing|grossed|record-breaking|"
                        r"(?:widely|universally|generally) (?:loved|liked|considered|regarded|seen)|considered|"
                        r"regarded|imdb|rotten tomatoes|metacritic|newly discovered|archives?|"
                        r"most (?:popular|acclaimed|beloved|famous|iconic|influential))\b", re.IGNORECASE)
# a title the text names, or the person's: "follows your five-star Terminator", "follows the original" place
# the item after it
_YOUR_TITLE = r"(?:your\s+|the\s+)?(?:[\w/.-]+\s+){0,2}?(?:(?-i:T)|original)(?!\w)"
# what happens in it: the data has genres, tags and a description, not a story
_PLOT = re.compile(r"\b(?:follows(?!\s+(?:both|them|it|on|up)\b|\s+" + _YOUR_TITLE + r")|"
                   r"following (?:a|an|the|two|three)|tells (?:the|a|an|of|how)|stor(?:y|ies) (?:of|about)|"
                   r"tales? (?:of|about)|cent(?:er|re)s? (?:on|around)|revolves|protagonist|heroine|hero|villain|"
                   r"characters?|journey of|sets out|must (?:stop|save|find|escape|survive|defeat)|teams? up|"
                   r"quest (?:to|for)|plot|storyline|narrative (?:of|about)|(?:is|are|film|movie|book|drama|comedy|"
                   r"thriller|mystery|one) about|all about|finds (?:himself|herself|themselves)|"
                   r"(?:his|her|their) (?:wife|husband|son|daughter|father|mother|family|friends?|quest|journey|life)|"
                   r"\w+ about (?:a|an|the|two|three)|(?:a|an)\s+(?:[\w-]+\s+){0,2}(?:man|woman|men|women|boy|girl|"
                   r"teen|teenager|kid|couple|detective|cop|soldier|family|band|gang|crew)(?![\w-]))",
                   re.IGNORECASE)
# a line quoted from the work: three words or more in quotes that are no tag ("'You can't handle the truth!'")
_QUOTED = re.compile(r"(?<!\w)['‘\"“](?!\d\d\b)(\w(?:(?!['’\"”](?!\w)).){2,80}?)['’\"”](?!\w)")
_CLASSIC_NAME = re.compile(r"(?i:classic)\s+([A-Z][\w'’-]+)")
_CONTENT_WORDS = 2  # words after a cast cue that must be the item's tags ("starring Morgan Freeman")
# series words: true only where the catalog shows a series link in that direction
_SEQUEL = re.compile(r"\b(?:sequel|sequels|follow-?ups?|follows? up|follow(?:s|ing)? on from|follows\s+" + _YOUR_TITLE +
                     r"|continues|continuation|next (?:[\w-]+\s+){0,2}?"
                     r"(?:chapter|instal+ment|part|entry|episode|outing)|second (?:part|chapter|instal+ment|entry)|third (?:part|chapter|"
                     r"instal+ment|entry)|picks up (?:where|(?:(?:directly|right|straight|just)\s+)?(?:after|from))|"
                     r"later (?:part|chapter|instal+ment|entry|film|movie))\b",
                     re.IGNORECASE)
_EARLIER = re.compile(r"\b(?:prequel|prequels|the first (?:part|chapter|instal+ment|entry)|earlier (?:part|chapter|"
                      r"instal+ment|entry|film|movie)|where it (?:all )?(?:began|started)|how it (?:all )?(?:began|"
                      r"started)|goes? back|go back|origin stor(?:y|ies)|origins? tale|(?:leads?|leading)\s+(?:up\s+)?"
                      r"(?:in)?to\s+(?:the\s+)?(?-i:T))\b", re.IGNORECASE)
# the first part: true only where the facts show a later part and none before it ("the film that started it all")
_FIRST = re.compile(r"\b(?:start(?:ed|s)|began|begins|kicked off|kicks off|launched|launches|spawned)\s+(?:it all|"
                    r"(?:the|this|a|its) (?:whole\s+|entire\s+)?(?:series|franchise|saga|trilogy|cycle))\b", re.IGNORECASE)
_SERIES = re.compile(r"\b(?:series|franchise|franchises|trilogy|saga|instal+ments?|remakes?|remade|reboot|"
                     r"spin-?offs?|companion (?:volume|book|piece|film)|same (?:universe|world|series|franchise|saga))\b",
                     re.IGNORECASE)
# the last part: true only where the facts show two parts before it and none after
_FINAL = re.compile(r"\b(?:finale|final (?:part|chapter|instal+ment|entry|film|movie|outing)|closing (?:part|chapter|"
                    r"instal+ment|entry)|conclu(?:sion|ding (?:part|chapter|instal+ment|entry))|last (?:part|chapter|"
                    r"instal+ment|entry)|(?:ends|wraps up|rounds off) the (?:series|trilogy|saga))\b", re.IGNORECASE)
# the item's place beside a part it names: before it (group 1), or after it
_BEFORE_AFTER = re.compile(r"(?:\b(before|prior to|ahead of|(?:leads?|leading) (?:up )?(?:in)?to)|\b(?:story|film|"
                           r"movie|chapter|part|entry|instal+ment|book|outing|adventure|episode|comes|came|set|"
                           r"picks up|takes place|next|right|straight) after)\s+(?:the\s+)?$", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "2nd": 2, "3rd": 3, "4th": 4}
_ORDINAL_PART = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\s+(?:[\w-]+\s+)?(?:part|chapter|instal+ment|entry|film|"
                           r"movie|book|outing)\b", re.IGNORECASE)
# "people who liked the first film", "your 4/5 for the second part": a part the person rated, not the item
_OTHER_PART_BEFORE = re.compile(r"\b(?:liked|loved|enjoyed|rated|gave|watched|saw|seen|after|since|than|of|for|from)\s+"
                                r"(?:the|that)\s+$", re.IGNORECASE)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9}


# a series word said of a title the text names: "the follow-up to T", "a sequel of T", "the same saga as T", "continues
# T" (before it), "T's sequel", "a T spin-off" (after it)
_SERIES_WORD = (r"(?:sequels?|prequels?|follow-?ups?|continuations?|series|franchises?|sagas?|trilogy|trilogies|"
                r"spin-?offs?|remakes?|reboots?|(?:next|later|earlier|new|another) (?:chapter|part|instal+ment|entry|"
                r"outing|film|movie|book)|universe)")
_SERIES_OF_BEFORE = re.compile(_SERIES_WORD + r"\s+(?:to|of|after|from|for|in)\s+(?:the\s+)?$|\bsame\s+(?:series|"
                               r"franchise|saga|universe|world|story)\s+as\s+(?:the\s+)?$|\b(?:continues|continuing|"
                               r"picks up where|follows on from|follows up|follow-up to|returns to|"
                               r"follows(?:\s+your(?:\s+[\w/.-]+){0,2}?)?|(?:leads?|leading)\s+(?:up\s+)?(?:in)?to)"
                               r"\s+(?:the\s+)?$",
                               re.IGNORECASE)
_SERIES_OF_AFTER = re.compile(r"^(?:['’]s)?\s+(?:(?!(?:this|that|the|a|an|its|their|and|or|but|to|for|with|is|was|"
                              r"are|you|your|it)\b)[\w-]+\s+){0,2}?" + _SERIES_WORD + r"\b", re.IGNORECASE)

_ITS_SERIES_WORD = re.compile(r"\bits\s+(?:[\w-]+\s+){0,2}?" + _SERIES_WORD + r"\b", re.IGNORECASE)


def _tied_to_series_word(masked: str, n: "_Named") -> bool:
    """The text puts the title it names at `n` in a series with the item: a series word right beside it."""
    return bool(_SERIES_OF_BEFORE.search(masked[max(0, n.start - 40):n.start])
                or _SERIES_OF_AFTER.match(masked[n.end:n.end + 50]))


def _said_of_title(masked: str, at: int, named: list["_Named"]) -> bool:
    """What follows `at` is said of a title the text names, not of the item: "T started it all", "T, the
    book that started it all for you"."""
    head = re.search(r"(?<![\w])T\s*(?:\(\d{4}\)\s*)?(?:,\s*(?:the|a|an)\s+(?:[\w'’-]+\s+){0,3}(?:that|which|who)\s+|"
                     r"(?:that|which|who)\s+|\s+)$", masked[:at])
    return head is not None and any(n.start == head.start() and n.role != "item" for n in named)


def _sentence_start(text: str, at: int) -> int:
    """Where the sentence holding `at` begins (after the last ".", "!" or "?" before it)."""
    return max(text.rfind(c, 0, at) for c in ".!?") + 1


def _part_number(title: str) -> int | None:
    """The part a title numbers itself ("Friday the 13th Part 2" -> 2, "Rocky III" -> 3), if any."""
    m = re.search(r"(?:\bpart\s+|\s)(\d|[ivx]{1,4})(?:\s*:|\s*$|\s+-)", main_title(title).lower())
    return (int(m.group(1)) if m.group(1).isdigit() else _ROMAN.get(m.group(1))) if m else None


_SERIES_STEMS = frozenset(stems("sequel sequels prequel series franchise trilogy saga remake"))

# -- numbers -------------------------------------------------------------------------------------
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
                 "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "dozen": 12}
# and the tens, "thirty" to "ninety-nine"
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORDS |= _TENS | {f"{t}-{u}": n + _NUMBER_WORDS[u] for t, n in _TENS.items() for u in list(_NUMBER_WORDS)[:9]}
_NUMBER_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))  # longest first: "twenty-one", not "twenty"
# "a hundred and fifty", "two hundred": the hundreds, then the rest
_HUNDREDS = r"(?:a|one|two|three|four|five|six|seven|eight|nine)\s+hundred(?:\s+and\s+(?:" + _NUMBER_WORD + r"))?"
_COUNT = re.compile(r"(?<![\w.,/])(\d[\d,]*|" + _HUNDREDS + "|" + _NUMBER_WORD + r")(?![\w/]|\.\d)", re.IGNORECASE)
_PEOPLE_AFTER = re.compile(r"^\s+(?:\w+\s+){0,1}(?:people|persons?|person|viewers|fans|others|users|readers|members|"
                           r"moviegoers|watchers|folks|of (?:its|their|the) fans|of them|(?:who|that) liked)\b",
                           re.IGNORECASE)
_PEOPLE_BEFORE = re.compile(r"\b(?:liked|loved|rated highly|rated|enjoyed) by\s+$", re.IGNORECASE)
# "Among people who liked X, 26 also liked this": the count is of those people, X's link
_AMONG_WHO_LIKED = re.compile(r"^\s*(?:among|of)\s+(?:the\s+)?(?:people|viewers|fans|readers|those)\s+(?:who|that)\s+"
                              r"(?:liked|loved|enjoyed|rated)\s+", re.IGNORECASE)
# "Twelve mysteries read", "Four DiCaprio favourites": a count of what the person read, watched or liked
_COUNT_OF_LIKES = re.compile(r"^\s+(?:[\w'’-]+\s+){0,2}?(?:favou?rites|likes|read|watched|seen)\b", re.IGNORECASE)
_YOUR_COUNT = re.compile(r"\b(?:your|you(?:'ve|’ve| have)?\s+(?:\w+\s+)?(?:liked|loved|rated|enjoyed|read|watched))\b",
                         re.IGNORECASE)
_STARS = {w: _NUMBER_WORDS[w] for w in ("one", "two", "three", "four", "five")}
_STARS_SAID = r"(?:" + "|".join(list(_STARS)[1:]) + r")(?:\s+and\s+a\s+half)?"  # a rating in words, without its scale
_RATING = re.compile(r"(?<![\d.])(\d(?:\.\d)?|\b(?:" + "|".join(_STARS) + r")(?:\s+and\s+a\s+half)?)\s*"
                     r"(?:/\s*5(?:s\b|\b)|out of (?:5|five)\b|[- ]stars?\b)", re.IGNORECASE)  # "4/5", "five stars"
# a rating without its scale, where the words around it say it is one: "(your 4.5)", "Casablanca, your 4,", "your
# Kill Bill 4", "you rated Up a 4", "which you gave a 5", "you gave it 4.5", "got a 4 from you", in words too ("you
# gave it four and a half", "the Star Trek you rated four."); "and Part III a 4" after a verb of rating earlier in
# the sentence (group "listed")
_BARE_RATING = re.compile(r"(?:\byour\s+(?:(?-i:T)\s+)?|\b(?:rated|gave|given|scored)\s+(?:it\s+|(?-i:T)\s+)?"
                          r"(?:an?\s+)?|\b(?:earned|got|scored|received|drew)\s+an?\s+(?=\d(?:\.\d)?\s+from you\b)|"
                          r"(?P<listed>(?<![\w])(?-i:T)\s+an?\s+))(?P<value>[1-5](?:\.[05])?|" + _STARS_SAID + ")"
                          r"(?![\d.]*\s*(?:/|out of|[- ]stars?\b))(?=\s*(?:[,;:.!?)—–]|$|(?:and|from|for|on)\b))",
                          re.IGNORECASE)
# whose rating it is: the title right before it ("You rated T 5/5", "T (4/5)", "T, your 5/5", "T, which you gave
# 4/5", "T earned a 4 from you") or right after it ("your 5/5 for T", "your 5/5s for T and the 2009 T"); T is a
# masked title
_RATED_BEFORE = re.compile(r"(?<![\w])T\s*(?:\(\d{4}\)\s*)?(?:\(\s*(?:you rated it\s+|your\s+|rated\s+)?|"
                           r",?\s*(?:(?:which|that)\s+)?you(?:'ve|’ve| have)?\s+(?:\w+ly\s+)?(?:rated|gave|scored)"
                           r"(?:\s+it)?\s+(?:a\s+)?|,\s*(?:your|a)\s+|\s+(?:a|an)\s+|"
                           r"\s+(?:earned|got|scored|received|drew)\s+an?\s+|\s+)$")
_RATED_AFTER = re.compile(r"^s?\s+(?:for|on)\s+(?:both\s+)?(?:the\s+)?(?:\d{4}\s+)?T"
                          r"(?:\s*(?:,|and|&)\s*(?:the\s+)?(?:\d{4}\s+)?T)*")
_RATED_BY_WHOM = re.compile(r"(?:\byour|\ba|\ban)\s+$", re.IGNORECASE)
# "you've liked three boxing films; this would make four": the count before it, and this one
_MAKES_NEXT = re.compile(r"\b(?:(?:would|will|could|should|might)\s+make|makes|making)\s+(?:it\s+|that\s+|them\s+)?"
                         r"(?:a\s+round\s+|an?\s+even\s+)?$", re.IGNORECASE)
# "two 4/5s for later Dragon Ball Z films": a count of the person's ratings
_RATINGS_COUNTED = re.compile(r"^\s+(\d(?:\.\d)?)\s*/\s*5s\b")
# "rated 4.5/5 and 4/5", "5/5 each": ratings given in a list, matched to titles in order or to all of them
_RATING_LIST = re.compile(r"^\s*(?:(?:,|and|&)\s*(?:a\s+)?\d(?:\.\d)?\s*/\s*5|each|apiece|respectively)",
                          re.IGNORECASE)
_RATING_LIST_BEFORE = re.compile(r"\d(?:\.\d)?\s*/\s*5s?\s*(?:,|and|&)\s*(?:a\s+)?$", re.IGNORECASE)
_TEN_OR_PERCENT = re.compile(r"(?<![\d.])\d+(?:\.\d)?\s*(?:/\s*10\b|out of (?:10|ten)\b|%|percent\b|per cent\b)",
                             re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d\d)(?![\ds'’])")
_SHORT_YEAR = re.compile(r"(?<![\w'’])['’](\d\d)(?![\w'’])")  # "a '69 western", "from '64"
_DECADE = re.compile(r"(?:\b(early|mid|late)[- ])?(?<![\d])(?:'|’)?((?:19|20)?\d0)['’]?s\b", re.IGNORECASE)
_DECADE_WORDS = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70,
                 "eighties": 80, "nineties": 90}
_DECADE_WORD = re.compile(r"\b(?:(early|mid|late)[- ])?(" + "|".join(_DECADE_WORDS) + r")\b", re.IGNORECASE)

# -- the person ----------------------------------------------------------------------------------
# before a title: the person said to have liked or rated it
_LIKED_BEFORE = re.compile(r"(?:\byou(?:'ve|’ve| have| had|'d|’d)?\s+(?:already\s+|also\s+|really\s+|\w+ly\s+)?"
                           r"(?:liked|loved|enjoyed|adored|rated|gave|given|scored|watched|saw|read|devoured|finished)|"
                           r"\byour (?:\d(?:\.\d)?/5 (?:for|on)|rating (?:of|for)|love (?:of|for)|favou?rite,?)|"
                           r"\bif you (?:liked|loved|enjoyed)|\bif|\bafter|\bas a fan of|\bsince you (?:liked|loved|rated))\s*$",
                           re.IGNORECASE)
_LIKED_AFTER = re.compile(r"^\s*,?\s*(?:\(\s*(?:you rated it|your|rated)|(?:which|that) you(?:'ve| have)?\s+"
                          r"(?:\w+ly\s+)?(?:liked|loved|enjoyed|rated|gave)|(?:hooked|gripped|won) you|"
                          r"(?:was|is) (?:your|a favou?rite))", re.IGNORECASE)
# before a title: people who liked it (a co-liked link of the item's)
_FANS_BEFORE = re.compile(r"\b(?:people|viewers|readers|those|others|fans) who (?:also )?(?:liked|loved|enjoyed|rated)"
                          r"(?: both)?\s*$", re.IGNORECASE)
_FANS_OF = re.compile(r"\b(?:fans|admirers|lovers|viewers|readers) of\s*$", re.IGNORECASE)
# "loved by fans of T", "liked by T readers", "T fans loved it": T's fans liked the item, a co-liked link
_LIKED_BY = (r"\b(?:(?:loved|liked|enjoyed|adored|rated highly|popular)\s+(?:by|among|with)|"
             r"a (?:hit|favou?rite) (?:with|among))")
_LIKED_BY_BEFORE = re.compile(_LIKED_BY + r"\s+(?:the\s+)?$", re.IGNORECASE)
_LIKED_BY_FANS_BEFORE = re.compile(_LIKED_BY + r"\s+(?:the\s+)?(?:fans|admirers|lovers|viewers|readers)\s+of\s*$",
                                   re.IGNORECASE)
_FANS_AFTER = re.compile(r"^\s*(?:fans|admirers|lovers|viewers|readers)\b", re.IGNORECASE)
_FANS_LIKED_AFTER = re.compile(r"^\s*(?:fans|admirers|lovers|viewers|readers)\s+(?:also\s+|too\s+)?(?:liked|loved|"
                               r"enjoyed|adored|rated|rate|took to|went for)\b", re.IGNORECASE)
_FANS_OF_PRONOUN = re.compile(r"\b(?:people|viewers|readers|those|others|fans|many|plenty|lots)\s+(?:who|that)\s+"
                              r"(?:also\s+)?(?:liked|loved|enjoyed|rated|adored)\s+(?:it|that one|that film|that movie|"
                              r"that book|that title)\b(?=[^.!?]*\b(?:this|it)\b)", re.IGNORECASE)
# "fans of T also liked it", "… liked this one too", "… tend to go for this": T's fans like the item
_ALSO_LIKED = re.compile(r"\b(?:also|too) (?:liked|loved|enjoyed|rated)|\b(?:liked|loved|enjoyed) (?:this|it)(?: one)? "
                         r"too\b|\b(?:go|goes|went) for (?:this|it)\b", re.IGNORECASE)
_SAW_ITEM = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:already\s+|probably\s+|likely\s+|surely\s+)?(?:seen|watched|saw|"
                       r"read|rated|loved|liked|enjoyed)\s+(?:this|it)(?:\s+(?:one|movie|film|book))?\s*"
                       r"(?:already|before|twice|again|[.,;!]|$)|\b(?:watch|see|read|enjoy|love)\s+(?:it|this(?: one)?)\s+"
                       r"again\b|\brewatch\w*\b|\bre-?read\b|\byour (?:rating|score) (?:of|for) (?:this|it)\b|"
                       r"\byou (?:already )?(?:rated|gave) (?:this|it)\b", re.IGNORECASE)
# a genre said of the person's taste or counted among their likes, not of the item (a year's "'93" counts none)
_TASTE_BEFORE = re.compile(r"(?:\byour(?:\s+\w+){0,2}|\byou(?:'ve|’ve| have)?\s+(?:\w+ly\s+)?(?:like|liked|love|loved|"
                           r"enjoy|enjoyed|rated|gave|watch|watched|read)(?:\s+(?:so many|many|a lot of|lots of|all|"
                           r"the))?|(?<![\d,'’])(?:\d{1,3}(?:,\d{3})*|half|most|many|" + _NUMBER_WORD + r")(?![\d,])"
                           r"(?:\s+of\s+(?:the\s+|your\s+)?\w+)?(?:\s+(?:\w+\s+)?(?:are|were|is|being))?|\band|\bor|,)"
                           r"\s*$", re.IGNORECASE)
_COUNTED_AFTER = re.compile(r"^(?:\s+(?:and|or)\s+\S+)?\s*(?:titles|films|movies|books|picks|reads|favou?rites|"
                            r"ones|likes)?\s*(?:among|in|of|from)\s+(?:your|the \d+|the ones you)", re.IGNORECASE)
_NEGATED_BEFORE = re.compile(r"\b(?:no|not|without|less|instead of|rather than|away from|break from|change from|"
                             r"isn't|is not|aren't|never)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
_CONNECTORS = {"of", "the", "and", "de", "la", "le", "von", "van", "in", "on", "a", "an", "to", "for", "at", "by"}
_NAME_EXEMPT = frozenset("""
i you your yours if since because as given with for fans fan people viewers readers it its this that these those
there here what when where why how a an the and but or so yet another more most one two three both after before
like unlike just only also next from in on at by of to into over while though although even still then now sure
expect count enjoy try watch read pick picks give take meet imagine think looking love loved liked based rated
thanks considering seeing liking having being plenty lots many some all every each any no not nothing something
someone anyone everyone everything fancy craving want need ready well great good nice perfect solid strong safe
natural easy big same other similar close right spot yes oh bonus note half only new old early mid late let
""".split())
# a run of capitalised words, which a sentence's end ("… is Adventure. It fits") cuts, as "Dr." and "Inc." do not
_CAPITALISED = re.compile(r"(?<![\w'’-])[A-Z][\w'’.&-]*(?:(?<![a-z]{3}\.)\s+(?:(?:of|the|and|de|la|le|von|van|in|on|a|to|for|at)\s+)*"
                          r"[A-Z][\w'’.&-]*)*")


@dataclass(frozen=True)
class _Named:
    """A title the text names: where, which form, and its role ("item", "link", "series", "liked")."""
    start: int
    end: int
    form: str
    role: str


def check_open(text: str, ctx: ClaimContext, vocab: Vocabulary, kind: str = "explanation") -> list[Violation]:
    """Every claim of `text` that the data does not support (empty: it may be shown)."""
    text = " ".join(text.split())
    if why := _form(text, ctx, kind):
        return [why]
    named, out = _titles(text, ctx, vocab)
    named.sort(key=lambda n: n.start)  # in the order the text names them: "it" is the title named last
    masked = text
    for n in sorted(named, key=lambda n: -n.start):
        masked = masked[:n.start] + "T" + " " * (n.end - n.start - 1) + masked[n.end:]
    out += _names(text, masked, named, ctx, vocab, kind)
    for rule in (_unsupported, _person, _numbers, _genres, _like_title, _tags, partial(_descriptions, kind=kind),
                 _series):
        out += rule(text, masked, named, ctx, vocab)
    if kind == "explanation" and not out and not names_item_fact(text, ctx.evidence, vocab) and not any(
            n.role not in ("item", "unknown") for n in named):
        out.append(Violation("generic", "it names nothing of the facts (a liked title, a genre, a tag, a count); "
                                        "say why this item fits"))
    return list(dict.fromkeys(out))


def _form(text: str, ctx: ClaimContext, kind: str) -> Violation | None:
    if why := is_degenerate(text, min_words=2 if kind == "hook" else 5):
        return Violation("junk", f"it is not usable text ({why})")
    if re.search(r"[\[\]{}<>|]", text):
        return Violation("junk", "it contains placeholders or markup")
    if kind == "explanation" and not text.endswith((".", "!", "?")):
        return Violation("junk", "it stops mid-sentence")
    if kind == "hook":
        if len(text) > TITLE_MAX:
            return Violation("junk", f"the hook is longer than {TITLE_MAX} characters")
        if text.lower().strip(" .!") in _title_forms(ctx.evidence.title):
            return Violation("title_as_hook", "the hook is the item's own title; say why it fits")
    masked = text  # a mark per title: two titles of one series are no repeat, nor "who liked X" and "who liked Y"
    for form, i in sorted(((f, i) for i, t in enumerate(ctx.evidence.titles()) for f in title_forms([t])),
                          key=lambda p: -len(p[0])):
        masked = mask_title(masked, form, f" T{i} ")
    words = _WORD.findall(masked.lower())
    runs = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    if len(runs) != len(set(runs)):
        return Violation("junk", "it repeats itself")
    if re.search(r"\b(?:as an ai|language model|i'm sorry|i cannot|the facts|catalog_data|the data)\b", text,
                 re.IGNORECASE):
        return Violation("junk", "it talks about the task, not the item")
    return None


# -- titles and names ----------------------------------------------------------------------------
@lru_cache(maxsize=1 << 16)
def _title_forms(title: str) -> frozenset[str]:
    """The names a sentence may give a title: in full, by its main name, without "The", and by a
    name or subtitle of two words or more on either side of a colon ("Cooler's Revenge" for "Dragon Ball Z:
    Cooler's Revenge", "Rogue One" for "Rogue One: A Star Wars Story") or a dash ("Infinity War" for "Avengers:
    Infinity War - Part I"); without a closing "!" or a placeholder's "Untitled", by the name and number ending
    it ("Android 13" for "… Super Android 13!"), and "X's return" for "The Return of X"."""
    forms = {bare_title(title), main_title(title).lower()}
    forms |= {part for f in forms if ": " in f for part in f.split(": ", 1) if len(part.split()) >= 2}
    forms |= {part for f in forms if " - " in f for part in f.split(" - ", 1) if len(part.split()) >= 2}
    forms |= {f.rstrip("!?.") for f in forms} | {f[9:] for f in forms if f.startswith("untitled ")}
    forms |= {f"{m.group(2)}{s} {m.group(1)}" for f in forms if (m := _OF_NAME.fullmatch(f)) for s in ("'s", "’s")}
    forms |= {m.group(1) for f in forms if (m := _NAME_NUMBER.search(f))}
    return frozenset(forms | {f[4:] for f in forms if f.startswith("the ")})


# a name and its number ending a longer title: "Android 13" for "Super Android 13!"
_NAME_NUMBER = re.compile(r"\S\s+((?!(?:part|the|of|and|a|an|vol|volume|episode|chapter)\s)[a-z][a-z-]{2,}\s+"
                          r"\d{1,3})$")
# "The Return of Cooler" is "Cooler's return", "The Wrath of Khan" "Khan's wrath": a name of one word
_OF_NAME = re.compile(r"(?:the )?([a-z]{3,}) of (?!the\b|a\b|an\b)([a-z][a-z-]+)")


def _forms_of(titles: list[tuple[str, object]]) -> dict[str, object]:
    """Each title's forms mapped to its value, the first title's first; a title's full name wins
    over another's part ("Star Trek" is Star Trek (2009), not the first half of Star Trek: First Contact)."""
    out: dict[str, object] = {}
    for t, value in titles:  # full names first: "The Godfather" is The Godfather, not the start of its Part II
        out.setdefault(bare_title(t), value)
    for t, value in titles:
        out.setdefault(main_title(t).lower(), value)
    for t, value in titles:
        for f in _title_forms(t):
            out.setdefault(f, value)
    return out


def _allowed_titles(ctx: ClaimContext) -> dict[str, str]:
    ev = ctx.evidence
    facts = [(ev.title, "item")] + [(b.title, "link" if b.signal == "co-liked" else "similar") for b in ev.because] + [
        (x.title, "series") for x in ev.series]
    return _with_part_names(_forms_of(facts + [(t, "liked") for t in ctx.liked_titles]), facts)


_PART_NAME = re.compile(r"\bpart (?:[1-9]|[ivx]{1,4})$")


def _with_part_names(forms: dict[str, object], facts: list[tuple[str, object]]) -> dict[str, object]:
    """`forms`, and the titles of the facts (the item, its links and series) by their part's number alone:
    "Part III" beside "Part II"; or by a subtitle of one word: "Ragnarok" for "Thor: Ragnarok"."""
    for t, value in facts:
        if m := _PART_NAME.search(main_title(t).lower()):
            forms.setdefault(m.group(0), value)
        if m := re.search(r": ([a-z]{4,})$", main_title(t).lower()):
            forms.setdefault(m.group(1), value)
    return forms


def _titles(text: str, ctx: ClaimContext, vocab: Vocabulary) -> tuple[list[_Named], list[Violation]]:
    """The titles the text names (longest first, no overlaps), and a violation for each catalog
    title it names that is neither in the facts nor in the person's history. A title must be
    written capitalised ("heavy metal" is no title), and an item tag is a tag ("captain america")."""
    low = text.lower()
    allowed = _allowed_titles(ctx)
    tags = ctx.item_tags | {t.lower() for t in ctx.evidence.shared_tags}
    forms = {f for f in allowed if len(f) >= 2 and f in low} | vocab.titles.mentioned(text)
    named: list[_Named] = []
    out = []
    for form in sorted(forms, key=len, reverse=True):
        for m in re.finditer(r"(?<![\w'’])" + re.escape(form) + r"(?:(?![\w'’])|(?=['’]s\b))", low):  # "T's sequel"
            if any(n.start <= m.start() < n.end or m.start() <= n.start < m.end() for n in named):
                continue
            written = text[m.start():m.end()]
            head = re.sub(r"^(?:the|a|an)\s+", "", written, flags=re.IGNORECASE)
            if not head[:1].isupper() and not head[:1].isdigit():
                continue
            if form in allowed:
                named.append(_Named(m.start(), m.end(), form, allowed[form]))
            elif form not in tags and not any(form.removeprefix("the ") in a for a in allowed):
                named.append(_Named(m.start(), m.end(), form, "unknown"))
                out.append(Violation("unknown_title", f"it names {written!r}, which is not in the facts"))
    return named, out


# "Avengers: Endgame": a name before a colon that begins catalog titles, and a name after it, is a title too
_COLON_TITLE = re.compile(r"(?<![\w'’])([A-Z][\w'’-]*(?:\s+[A-Z0-9][\w'’-]*)*):\s+[A-Z0-9][\w'’-]*"
                          r"(?:\s+[A-Z0-9][\w'’-]*)*")


def _colon_title(text: str, named: list[_Named], vocab: Vocabulary) -> Violation | None:
    for m in _COLON_TITLE.finditer(text):
        words = m.group(1).split()
        heads = [" ".join(words[i:]) for i in range(len(words))]  # "Before Avengers": "Avengers"
        head = next((h for h in heads if h.lower() in vocab.titles.names_before_colon()), None)
        if head and not any(n.start < m.end() and m.end(1) < n.end for n in named):  # (one named after it is known)
            return Violation("unknown_title", f"it names {head + text[m.end(1):m.end()]!r}, which is not in the facts")
    return None


def _known_words(ctx: ClaimContext, vocab: Vocabulary, named: list[_Named]) -> set[str]:
    """Words a capitalised name may be made of: the item's tags and description, the titles of
    the facts (and their initials) and those the text names, the genres."""
    words = {w for t in ctx.item_tags | {x.lower() for x in ctx.evidence.shared_tags} for w in _WORD.findall(t)}
    words |= set(_WORD.findall((ctx.item_text or "").lower()))
    for t in ctx.evidence.titles() + [n.form for n in named]:
        words |= set(_WORD.findall(t.lower()))
    words |= _initials(ctx.evidence.titles())
    words |= {w for f in vocab.genre_forms for w in _WORD.findall(f)}
    words |= set(_WORD.findall(" ".join(_related_words(ctx))))  # "Tarantino goes West"
    if ctx.evidence.constraint:
        words |= set(_WORD.findall(ctx.evidence.constraint.lower()))
    return words


def _initials(titles: list[str]) -> set[str]:
    """Titles by their initials, lower-case: "dbz" for "Dragon Ball Z: …"."""
    return {"".join(w[0] for w in ws) for t in titles for f in _title_forms(t) if len(ws := _WORD.findall(f)) >= 3}


def _names(text: str, masked: str, named, ctx: ClaimContext, vocab: Vocabulary, kind: str) -> list[Violation]:
    """A capitalised name that is neither a title the text may name, a tag, a genre nor a word
    of the item's description: an actor, a director, a studio, a place, another title."""
    if why := _colon_title(text, named, vocab):
        return [why]
    words_cased = re.findall(r"[A-Za-z][\w'’-]*", masked)
    if kind == "hook" and len(words_cased) > 2 and sum(w[0].isupper() for w in words_cased) / len(words_cased) >= 0.75:
        return []  # a hook in Title Case: capitals say nothing of names
    known = _known_words(ctx, vocab, named)
    starts = {0} | {m.end() for m in re.finditer(r"[.!?:;—–\"“(]\s*", masked) if not (
        m.group(0)[0] == "." and re.search(r"(?<![\w.])(?:vs|v|dr|mr|mrs|ms|st|jr|sr|vol)$", masked[:m.start()],
                                           re.IGNORECASE))}  # "Cruise vs. Nicholson": no sentence ends at "vs."
    # "Avengers: Endgame": a colon right after a title opens a subtitle, a longer title, not a sentence, unless
    # a description goes on ("Heat: Gritty crime")
    subtitles = {m.end() for m in re.finditer(r"(?<![\w'’])T\s*:\s*", masked)}
    out = []
    for m in _CAPITALISED.finditer(masked):
        if m.start() in subtitles and (after := re.match(r"\s+([a-z][\w'’-]*)", masked[m.end():])) \
                and after.group(1) not in FUNCTION_WORDS | LINKING_WORDS:
            subtitles.discard(m.start())
        words = m.group(0).rstrip(".").split()
        unknown = []
        for i, w in enumerate(words):
            low = re.sub(r"['’]s$", "", w.lower()).strip("'’.")
            if w == "T" or low in _CONNECTORS or low in known or set(_WORD.findall(low)) <= known or any(
                    ch.isdigit() for ch in w) or low in _NUMBER_WORDS or _demonym_of(low, known) or (
                    low.endswith("s") and low[:-1] in known):
                continue  # a count ("Four DiCaprio favourites") is the numbers'; "the Coens'" are the coen brothers
            rest = [x for x in words[1:] if x != "T" and x.lower() not in _CONNECTORS]
            if i == 0 and m.start() in starts and (low in _NAME_EXEMPT or low in vocab.plain_words
                                                   or (not rest and not w.endswith(("'s", "’s"))
                                                       and m.start() not in subtitles)):
                continue  # a sentence's first word is capitalised anyway, unless a name goes on after it
            unknown.append(w)
        if unknown and m.start() in subtitles:
            title = text[max((n.start for n in named if n.end <= m.start()), default=0):m.end()].rstrip(".")
            out.append(Violation("unknown_title", f"it names {title!r}, which is not in the facts"))
        elif unknown:
            out.append(Violation("unsupported", f"it names {' '.join(unknown)!r}, which is not in the facts"))
    return out[:1]


def _demonym_of(word: str, known: set[str]) -> bool:
    """"Indian" for the tag "india", "Japanese" for "japan"."""
    return any(word == k + end for end in ("n", "an", "ian", "ese", "ish") for k in known if len(k) >= 4)


def _described(words: list[str], ctx: ClaimContext) -> bool:
    """The words are the item's own: its tags, description or genres say them."""
    own = {s for t in ctx.item_tags for s in stems(t)} | set(stems(ctx.item_text or ""))
    own |= {s for g in ctx.evidence.categories for s in stems(g)}
    return all(w in own or w in _FILLER_STEMS for w in words)


def _unsupported(text: str, masked: str, named, ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    out = []
    ratings = _ratings(masked)
    for rule, what in ((_CAST_CREW, "cast and makers"), (_AWARDS, "awards"), (_RECEPTION, "reception"),
                       (_PLOT, "plot")):
        for m in rule.finditer(masked):
            if _described(stems(m.group(0)), ctx) or any(a <= m.start() < b for a, b, _ in ratings):
                continue  # "five stars" is a rating
            if rule is _RECEPTION and (name := _CLASSIC_NAME.match(masked, m.start())) and not re.search(
                    r"\b(?:a|an|the)\s+$", masked[:m.start()], re.IGNORECASE) and _described(stems(name.group(1)), ctx):
                continue  # "Classic Kirk", "classic Tarantino": the item's own name at its most typical, no acclaim
            if rule in (_PLOT, _CAST_CREW):  # "about schizophrenia", "starring Morgan Freeman": the tags say it
                following = [w for w in stems(re.split(r"[,.;:!?]", masked[m.end():])[0]) if w not in _FILLER_STEMS]
                if following and _described(following[:_CONTENT_WORDS if rule is _CAST_CREW else 1], ctx):
                    continue
            if rule is _PLOT and (before := re.search(r"([\w-]+)\s+$", masked[:m.start()])) and (
                    words := [w for w in stems(before.group(1)) if w not in _FILLER_STEMS]) and _described(words, ctx):
                continue  # "a revenge plot", "a dark hero": the item's tag says what kind
            out.append(Violation("unsupported", f"it says {m.group(0)!r}: {what} are not in the facts"))
            break
    if quote := next((q for q in _QUOTED.finditer(masked) if len(_WORD.findall(q.group(1))) >= 3 and not any(
            q.group(1).lower() in tags for tags in (ctx.item_tags, ctx.liked_tags, vocab.tags))), None):
        out.append(Violation("unsupported", f"it quotes {quote.group(0)!r}: lines of the work are not in the facts"))
    if _TEN_OR_PERCENT.search(masked):
        out.append(Violation("wrong_number", "it gives a score or share the facts do not hold"))
    return out


# "If Forrest Gump worked for you (you gave it 4/5)": "it" given a rating is the title named last ("you gave it 4/5",
# "… five stars", "… 4.5 —", "… four and a half)")
_RATING_NEXT = re.compile(r"^\s*(?:a\s+)?(?:\w+\s+)?(?:\d(?:\.\d)?\s*(?:/\s*5\b|out of (?:5|five)\b|[- ]stars?\b)|"
                          r"(?:" + "|".join(_STARS) + r")[- ]stars?\b|(?:[1-5](?:\.[05])?|" + _STARS_SAID +
                          r")(?=\s*(?:[,;:.!?)—–]|$)))", re.IGNORECASE)
_GAVE_IT_BEFORE = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:\w+ly\s+)?(?:gave|given|rated|scored)\s+it\s+(?:a\s+)?"
                             r"(?:\w+\s+)?$", re.IGNORECASE)


def _it_title(masked: str, at: int, named: list[_Named]) -> _Named | None:
    """The title "it" at `at` stands for: the one named last before it in its sentence, unless the item
    ("this", "this one") is spoken of between them."""
    sentence_start = _sentence_start(masked, at)
    last = next((n for n in reversed(named) if sentence_start <= n.start and n.end <= at), None)
    if last is None or last.role in ("item", "unknown") or re.search(r"\bthis\b", masked[last.end:at], re.IGNORECASE):
        return None
    return last


def _said_of_title_before(masked: str, at: int, named: list[_Named]) -> bool:
    """"X (1990) (you rated it 4/5)": a parenthesis right after a title other than the item speaks of that title."""
    head = re.search(r"T\s*(?:\(\d{4}\)\s*)?\(\s*$", masked[:at])
    return head is not None and any(n.start == head.start() and n.role != "item" for n in named)


_FILLER_STEMS = frozenset(stems("a an the of and in on with to for its it this that their his her one by from"))


# -- the person ----------------------------------------------------------------------------------
def _person(text: str, masked: str, named: list[_Named], ctx: ClaimContext, vocab) -> list[Violation]:
    out = []
    links = [(b.title, None) for b in ctx.evidence.because if b.signal == "co-liked"]
    link_forms = set(_with_part_names(_forms_of(links), links))
    if any(not _said_of_title_before(masked, m.start(), named) and not (
            re.search(r"\bit$", m.group(0), re.IGNORECASE) and _RATING_NEXT.match(masked[m.end():])
            and _it_title(masked, m.start(), named)) for m in _SAW_ITEM.finditer(masked)):
        out.append(Violation("liked_item", "it says the person has seen or rated this item, which they have not"))
    for n in named:
        before, after = text[max(0, n.start - 40): n.start], text[n.end: n.end + 40]
        if _LIKED_BEFORE.search(before) or _LIKED_AFTER.search(after):
            if n.role == "item":
                out.append(Violation("liked_item", "it says the person liked this item, which they have not"))
            elif n.role == "unknown":
                out.append(Violation("false_like", "it says the person liked a title their history does not hold"))
        claims_link = _FANS_BEFORE.search(before) or (_FANS_OF.search(before) and _ALSO_LIKED.search(
            text[n.end:n.end + 80].split(".")[0])) or _LIKED_BY_FANS_BEFORE.search(before) or (
            _LIKED_BY_BEFORE.search(before) and _FANS_AFTER.match(after)) or _FANS_LIKED_AFTER.match(after)
        if claims_link and n.role != "unknown" and n.form not in link_forms:
            out.append(Violation("wrong_link", f"it gives the fans of {text[n.start:n.end]!r} as the link, but the "
                                               "data links other titles to this item"))
    for m in _FANS_OF_PRONOUN.finditer(masked):  # "people who loved it also loved this": "it" is the title named last
        sentence_start = _sentence_start(masked, m.start())
        owner = next((n for n in reversed(named) if sentence_start <= n.start and n.end <= m.start()
                      and n.role != "item"), None)
        if owner is not None and owner.role != "unknown" and owner.form not in link_forms:
            out.append(Violation("wrong_link", f"it gives the fans of {text[owner.start:owner.end]!r} as the link, "
                                               "but the data links other titles to this item"))
    for m in _CAPITALISED.finditer(masked):  # a title the catalog index skips (one word, short): "you loved Memento"
        if _LIKED_BEFORE.search(masked[max(0, m.start() - 40): m.start()]) and m.group(0) != "T" \
                and not m.group(0).startswith("T ") and m.group(0).lower() not in _NAME_EXEMPT:
            out.append(Violation("false_like", f"it says the person liked {m.group(0)!r}; their history does not"))
    return out


# -- numbers -------------------------------------------------------------------------------------
def _ratings(masked: str) -> list[tuple[int, int, float]]:
    """The ratings the text gives (start, end, value): with their scale, and bare where the words say so."""
    out = [(m.start(), m.end(), _stars(m.group(1))) for m in _RATING.finditer(masked)]
    for m in _BARE_RATING.finditer(masked):
        if m.group("listed") and not re.search(r"\b(?:rated|gave|given|scored)\b",
                                               masked[_sentence_start(masked, m.start()):m.start()], re.IGNORECASE):
            continue  # "T a 4" is a rating only after "gave" or "rated"
        if not any(a <= m.start("value") < b for a, b, _ in out):
            out.append((m.start("value"), m.end("value"), _stars(m.group("value"))))
    return out


def _stars(said: str) -> float:
    """A rating's value: "4.5", "four", "four and a half"."""
    value = _STARS.get(said.split()[0].lower()) or float(said)
    return value + 0.5 if "half" in said.lower() else value


def _rated_titles(masked: str, start: int, end: int, named: list[_Named]) -> list[_Named]:
    """The titles a rating at start:end is given to, where the words around it say so (none: a list of
    ratings, or no title beside it)."""
    at = {n.start: n for n in named if n.role not in ("item", "unknown")}
    s0 = _sentence_start(masked, start)
    verbs = list(re.finditer(r"\b(?:rated|gave|given|scored)\b", masked[s0:start], re.IGNORECASE))
    if verbs and re.match(r"\s*(?:each|apiece)\b", masked[end:], re.IGNORECASE):  # "You rated T and T 5/5 each": both
        return [at[a] for a in sorted(at) if s0 + verbs[-1].end() <= a < start]
    if _RATING_LIST.match(masked[end:]) or _RATING_LIST_BEFORE.search(masked[:start]):
        return []
    if (before := _RATED_BEFORE.search(masked[:start])) and before.start() in at:
        return [at[before.start()]]
    if (gave := _GAVE_IT_BEFORE.search(masked[:start])) and (it := _it_title(masked, gave.start(), named)):
        return [it]  # "If T worked for you (you gave it 4/5)"
    if _RATED_BY_WHOM.search(masked[:start]) and (after := _RATED_AFTER.match(masked[end:])):
        ts = [end + t.start() for t in re.finditer(r"(?<![\w])T(?![\w])", after.group(0))]
        if all(t in at for t in ts):
            return [at[t] for t in ts]
    return []


def _value(raw: str) -> int:
    if "hundred" in (low := " ".join(raw.lower().split())):
        head, _, rest = low.partition(" hundred")
        return 100 * _NUMBER_WORDS.get(head, 1) + _NUMBER_WORDS.get(rest.removeprefix(" and "), 0)
    return _NUMBER_WORDS.get(low) or int(raw.replace(",", ""))


def _clause(text: str, start: int, end: int) -> tuple[str, str]:
    """The text of the clause around a span, before and after it."""
    left = max(text.rfind(c, 0, start) for c in ",;:.!?—(") + 1
    rights = [i for i in (text.find(c, end) for c in ",;:.!?—)") if i >= 0]
    return text[left:start], text[end:min(rights) if rights else len(text)]


def _numbers(text: str, masked: str, named: list[_Named], ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    ev = ctx.evidence
    out, used = [], []
    link_counts = {b.item_id: b.people for b in ev.because if b.signal == "co-liked"}
    links = [(b.title, b.people) for b in ev.because if b.signal == "co-liked"]
    links_by_form = _with_part_names(_forms_of(links), links)
    genre_counts = {c.category: c.liked for c in ev.shared_categories}
    tag_counts = dict(zip((t.lower() for t in ev.shared_tags), ev.shared_tag_counts))
    ratings = _with_part_names(_forms_of([(t, r) for t, r in ctx.liked_titles.items() if r is not None]),
                               [(x.title, x.rating) for x in ev.because + ev.series if x.rating is not None])
    for at, end, value in _ratings(masked):
        used.append((at, end))
        start = _sentence_start(masked, at)
        ends = [i for i in (masked.find(c, end) for c in ".!?") if i >= 0]
        in_sentence = [n for n in named if start <= n.start < (min(ends) if ends else len(masked)) and n.role != "item"]
        rated = ({ratings.get(n.form) for n in in_sentence} if in_sentence else
                 {x.rating for x in ev.because + ev.series})
        owners = [o for o in _rated_titles(masked, at, end, named) if o.form in ratings]
        if wrong := [o for o in owners if ratings[o.form] != value]:
            out.append(Violation("wrong_number", f"it gives {text[wrong[0].start:wrong[0].end]!r} {text[at:end]!r}; "
                                                 f"the person rated it {ratings[wrong[0].form]:g}/5"))
        elif not owners and value not in rated:
            out.append(Violation("wrong_number", f"it says {text[at:end]!r}, which is not the person's rating of the "
                                                 "title it names"))
    years = {y for y in map(item_year, ev.titles()) if y}
    for m in list(_YEAR.finditer(masked)) + list(_SHORT_YEAR.finditer(masked)):
        used.append(m.span())
        year = int(m.group(1))
        left, right = _clause(masked, m.start(), m.end())
        clause_years = {item_year(t) for t in _titles_in(named, ev, masked, m.start() - len(left), m.end() + len(right))}
        clause_years |= {item_year(t) for t in _titles_in(named, ev, masked, m.start() - 60, m.start())
                         if masked[:m.start()].rstrip().endswith("(")}  # "Star Trek (2009)"
        if year < 100:  # "'69": the year by its last two digits
            clause_years = {y % 100 for y in clause_years if y} | ({ev.year % 100} if ev.year else set())
            if year not in clause_years:
                out.append(Violation("wrong_year", f"it says {m.group(0)!r}; the catalog says {ev.year or 'none'}"))
        elif year != ev.year and year not in clause_years:  # a year is the item's, or that of a title beside it
            out.append(Violation("wrong_year", f"it gives the year {year}; the catalog says {ev.year or 'none'}"))
    for m in list(_DECADE.finditer(masked)) + list(_DECADE_WORD.finditer(masked)):
        used.append(m.span())
        decade = _DECADE_WORDS.get(m.group(2).lower()) or int(m.group(2)) % 100
        part = (m.group(1) or "").lower()
        left, right = _clause(masked, m.start(), m.end())
        beside = {item_year(t) for t in _titles_in(named, ev, masked, m.start() - len(left), m.end() + len(right))}
        if not any(y and y % 100 // 10 * 10 == decade and _in_part(y % 10, part) for y in {ev.year} | beside):
            out.append(Violation("wrong_year", f"it says {m.group(0)!r}; the catalog year is {ev.year or 'unknown'}"))
    tag_numbers = {int(n) for t in ctx.item_tags for n in re.findall(r"\d+", t)}
    for m in _COUNT.finditer(masked):
        if any(a <= m.start() < b for a, b in used) or re.match(r"\s*(?:/|out of)", masked[m.end():]):
            continue
        n = _value(m.group(1))
        if n in tag_numbers and any(t in masked.lower() for t in ctx.item_tags if str(n) in t):
            continue  # a number of a tag the text names: "on the IMDb Top 250"
        before, after = _clause(masked, m.start(), m.end())
        sentence = masked[_sentence_start(masked, m.start()): m.start()]
        if m.group(1).lower() == "one" and (tagged := _ONE_TAGGED.match(masked[m.end():])) and not any(
                _has_run(stems(tagged.group(1)), stems(t)) for t in ctx.liked_tags):
            out.append(Violation("wrong_link", f"it says one of the person's liked titles is tagged "
                                               f"{tagged.group(1).strip()!r}; none is"))
        if m.group(1).lower() == "one" and not _PEOPLE_AFTER.match(masked[m.end():]):
            continue  # "one of your favourites", "a natural one"
        if re.search(r"\bpart\s+$", masked[max(0, m.start() - 6):m.start()], re.IGNORECASE):
            continue  # "part three": the series' place (its relation is checked there)
        if _MAKES_NEXT.search(masked[max(0, m.start() - 30):m.start()]):  # "three boxing films; this would make four"
            counts = [c for c in _COUNT.finditer(masked, m.start() - len(sentence), m.start())
                      if not any(a <= c.start() < b for a, b in used) and not _PEOPLE_AFTER.match(masked[c.end():])]
            if counts:  # each count is checked on its own; this one must come next after one of them
                if n - 1 not in {_value(c.group(1)) for c in counts}:
                    out.append(Violation("wrong_number", f"it says this would make {m.group(0)}, after "
                                                         f"{counts[-1].group(0)}"))
                continue
        if given := _RATINGS_COUNTED.match(masked[m.end():]):  # "two 4/5s for later parts": ratings the person gave
            value = float(given.group(1))
            rated = [{bare_title(x.title) for x in group if x.rating == value} for group in (ev.because, ev.series)]
            if n not in {len(rated[0]), len(rated[1]), len(rated[0] | rated[1]),
                         sum(r == value for r in ctx.liked_titles.values())}:
                out.append(Violation("wrong_number", f"it says {m.group(0)} ratings of {value:g}/5; the facts hold "
                                                     f"{len(rated[0] | rated[1])}"))
            continue
        if _PEOPLE_AFTER.match(masked[m.end():]) or _PEOPLE_BEFORE.search(masked[:m.start()]) \
                or _AMONG_WHO_LIKED.match(sentence):
            out += _people_count(n, m, masked, named, ev, links_by_form, link_counts)
        elif re.search(r"\b(?:of|among)\s+(?:your|the)\s+$", masked[max(0, m.start() - 16):m.start()]) \
                and re.match(r"\s+(?:\w+\s+)?(?:liked|titles|books|movies|films|reads|favou?rites)\b", masked[m.end():]):
            if n != ctx.n_liked:  # "six of your twelve liked books": twelve is all the person liked
                out.append(Violation("wrong_number", f"it says {m.group(0)} liked in all; the person liked "
                                                     f"{ctx.n_liked}"))
        elif _YOUR_COUNT.search(sentence + after) or _COUNT_OF_LIKES.match(masked[m.end():]) or re.match(
                r"\s+of\s+(?:the\s+)?(?:\d+|your|them)", masked[m.end():]):
            half = re.search(r"\bhalf of (?:the |your )?$", masked[max(0, m.start() - 14):m.start()], re.IGNORECASE)
            # "Fantasy shows up in 120 of your liked titles": the genre said before the count
            lead = re.search(r"(?<![\w-])(" + vocab.genre_alternation + r")\s+(?:[\w-]+\s+){0,3}(?:in|through|"
                             r"across)\s+$", before, re.IGNORECASE)
            if n == ev.shared_tag_pair and len(ev.shared_tags) > 1 and all(
                    _has_run(stems(sentence.lower()), stems(t.lower())) for t in ev.shared_tags[:2]):
                continue  # "tagged X and Y, like 2 of the movies you liked": those with both
            if (pair := ev.shared_category_pair) and n == pair.liked and \
                    _genres_named(re.split(r"[.!?;]", masked[_sentence_start(masked, m.start()):])[0], vocab) == set(pair.categories):
                continue  # "both a comedy and a drama, like 23 of the movies you liked": those with both
            out += _liked_count(n, m.group(0), lead.group(1) if lead else after, genre_counts, tag_counts, vocab, ctx,
                                half=bool(half))
        elif n not in ev.numbers() | years | tag_numbers | {ctx.n_liked}:
            out.append(Violation("wrong_number", f"it states the number {m.group(0)}, which is not in the facts"))
    return out + _many_people(masked, named, ev, links_by_form) + shared_count_spread(masked.lower(), ev)


_QUOTE = r"""['‘’"“”]"""
# "one of your liked titles is tagged X": a tag of some title the person liked
_ONE_TAGGED = re.compile(r"^\s+of\s+(?:your|the)\s+(?:[\w'’-]+\s+){0,3}?(?:titles|movies|films|books|reads|"
                         r"favou?rites|likes|picks)\s+(?:[\w'’-]+\s+){0,3}?(?:is|was)\s+(?:also\s+)?tagged\s+"
                         + _QUOTE + r"?(\w[\w .'’-]*?)" + _QUOTE + r"?(?=\s*(?:[,.;:!?—–(]|and\b|but\b|$))", re.IGNORECASE)
_WHO_LIKED = re.compile(r"^\s+(?:\w+\s+){0,1}(?:people|viewers|fans|readers|others|users|members|moviegoers|folks)?\s*"
                        r"(?:who|that)\s+(?:\w+\s+)?(?:liked|loved|enjoyed|rated|gave)\s+(?:both\s+)?", re.IGNORECASE)
_ITS_FANS = re.compile(r"^\s+(?:of (?:its|their) (?:fans|admirers|viewers|readers)|(?:fans|admirers) with)\b",
                       re.IGNORECASE)
_FANS_NAMED = re.compile(r"^\s+(?:(?:fans|admirers|lovers|viewers|readers)\s+of\s+(?:the\s+)?(?=T(?!\w))|"
                         r"(?=T\s*(?:['’]s\s+)?(?:fans|admirers|lovers|viewers|readers)\b))", re.IGNORECASE)
_SHARES = re.compile(r"\bshar(?:es|ing|e)\s+$", re.IGNORECASE)
_PRONOUN = re.compile(r"^(?:it|that (?:one|film|movie|book|title)|this one|them|those|both)\b", re.IGNORECASE)


def _people_owner(start: int, end: int, masked: str, named: list[_Named]) -> _Named | None:
    """Whose fans a count of people at start:end counts: the title they liked, if the text names one."""
    owner = None
    sentence_start = _sentence_start(masked, start)
    if among := _AMONG_WHO_LIKED.match(masked[sentence_start:start]):
        owner = next((x for x in named if x.start == sentence_start + among.end()), None)
    elif _ITS_FANS.match(masked[end:]) or _SHARES.search(masked[sentence_start:start]):
        owner = next((x for x in reversed(named) if sentence_start <= x.start and x.end <= start
                      and x.role != "item"), None)
    elif fans := _FANS_NAMED.match(masked[end:]):  # "40 Part III fans", "18 fans of The Martian": that title's
        owner = next((x for x in named if x.start == end + fans.end()), None)
    elif who := _WHO_LIKED.match(masked[end:]):
        at = end + who.end()
        owner = next((x for x in named if x.start == at), None)
        if owner is None and _PRONOUN.match(masked[at:]):
            owner = next((x for x in reversed(named) if x.end <= start and x.role != "item"), None)
    return owner


# "dozens of horror fans", "hundreds of people who liked T": at least that many
_MANY = {"dozens": 24, "scores": 40, "hundreds": 200, "thousands": 2000}
_MANY_PEOPLE = re.compile(r"\b(" + "|".join(_MANY) + r")\s+(?:and\s+\1\s+)?of(?=\s)", re.IGNORECASE)


def _many_people(masked: str, named: list[_Named], ev, links_by_form: dict[str, int]) -> list[Violation]:
    """"Dozens of people rated it highly": the item's fans (or a link's, "dozens of people who liked T")
    must be that many."""
    out = []
    for m in _MANY_PEOPLE.finditer(masked):
        if not _PEOPLE_AFTER.match(masked[m.end():]):
            continue
        owner = _people_owner(m.start(), m.end(), masked, named)
        count = links_by_form.get(owner.form) if owner is not None and owner.role != "item" else ev.fans
        if count is not None and count < _MANY[m.group(1).lower()]:
            out.append(Violation("wrong_number", f"it says {m.group(0)!r} people; the data says {count}"))
    return out


# "more than 80 fans", "over 20 people", "fewer than 10 readers": a bound on the count, not the count
_BOUND_BEFORE = re.compile(r"\b(?:(more than|over|upwards of|at least)|(fewer than|less than|under|at most))\s+$",
                           re.IGNORECASE)


def _fits(n: int, count: int, bound: re.Match | None) -> bool:
    """Whether the data's `count` is the `n` the text says, or within the bound it sets on it."""
    if bound is None:
        return n == count
    if bound.group(1):
        return count >= n if bound.group(1).lower() == "at least" else count > n
    return count <= n if bound.group(2).lower() == "at most" else count < n


def _people_count(n: int, m, masked: str, named: list[_Named], ev, links_by_form: dict[str, int],
                  link_counts: dict[str, int]) -> list[Violation]:
    """N people who liked X (X must be a link, with that count; "it" is the title named last) or
    N people rated it highly (the item's fans)."""
    owner = _people_owner(m.start(), m.end(), masked, named)
    bound = _BOUND_BEFORE.search(masked[max(0, m.start() - 16):m.start()])
    if owner is not None and owner.role != "item":
        if owner.form not in links_by_form:
            return [Violation("wrong_link", f"it gives people who liked {owner.form.title()!r} as a link; the data "
                                            "links other titles")]
        if not _fits(n, links_by_form[owner.form], bound):
            kind = "wrong_link" if n in set(link_counts.values()) | {ev.fans} and not bound else "wrong_number"
            return [Violation(kind, f"it gives {n} people for {owner.form.title()!r}; the data says "
                                    f"{links_by_form[owner.form]}")]
        return []
    if any(_fits(n, c, bound) for c in {ev.fans, *link_counts.values()}):
        return []
    return [Violation("wrong_number", f"it says {n} people; the data says {ev.fans} rated it highly")]


def _genres_named(text: str, vocab: Vocabulary) -> set[str]:
    low = text.lower()
    return {vocab.genre_forms[f] for f in vocab.genre_forms if re.search(r"(?<![\w-])" + re.escape(f) + r"(?![\w-])", low)}


def _liked_count(n: int, said: str, clause: str, genre_counts: dict[str, int], tag_counts: dict[str, int],
                 vocab: Vocabulary, ctx: ClaimContext, half: bool = False) -> list[Violation]:
    """N of your liked titles are G / tagged X: the count of that genre or tag in their history
    (`half`: "half of the N you liked are G", N their likes and about twice G's count)."""
    low = clause.lower()
    low = low if re.search(r"\b(?:are|is|were)\b", low) else " ".join(low.split()[:8])  # "40 comedies among your likes"
    genres = _genres_named(low, vocab)
    tags = [t for t in tag_counts if _has_run(stems(low), stems(t))]
    tagged = re.search(r"\btagged\s+(.+)$", low)
    expected = {genre_counts[g] for g in genres if g in genre_counts} | {tag_counts[t] for t in tags}
    if half:
        return [] if n == ctx.n_liked and any(abs(2 * e - n) <= 1 for e in expected) else [
            Violation("wrong_number", f"it says half of {n} are so; the person's history does not")]
    if tagged and not tags:
        return [Violation("wrong_link", f"it says {said!r} … tagged {tagged.group(1).strip()!r}, a tag the person's "
                                        "liked titles do not share with it")]
    if genres - set(ctx.evidence.categories) and not tags:
        return [Violation("wrong_link", f"it counts {sorted(genres - set(ctx.evidence.categories))[0]} among the "
                                        "person's likes, a genre this item does not have")]
    if not expected and not genres:
        expected = set(genre_counts.values()) | set(tag_counts.values())
    if n in expected or (not genres and not tags and n == ctx.n_liked) or (
            genres - set(genre_counts) and not expected):
        return []
    kind = "wrong_link" if n in set(genre_counts.values()) | set(tag_counts.values()) | set(
        ctx.evidence.numbers()) else "wrong_number"
    return [Violation(kind, f"it says {said!r}; the person's history says {sorted(expected)[0]}")]


def _titles_in(named: list[_Named], ev, masked: str, start: int, end: int) -> list[str]:
    """The catalog titles (of the evidence) named between `start` and `end`, in part or whole (a long
    title's year may be far from its start: "Raiders of the Lost Ark (Indiana Jones and …) (1981)")."""
    forms = {n.form for n in named if n.start < end and n.end > start and n.role != "item"}
    return [t for t in ev.titles()[1:] if _title_forms(t) & forms]


def _in_part(digit: int, part: str) -> bool:
    return {"early": digit <= 4, "mid": 3 <= digit <= 7, "late": digit >= 5}.get(part, True)


# -- genres and tags -----------------------------------------------------------------------------
def _genres(text: str, masked: str, named: list[_Named], ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    """A genre said of the item must be its own. One said of a title the text names must be that
    title's, and one said of the person's taste ("your westerns", "40 comedies among your
    likes") one of theirs (the counts are checked apart)."""
    low = masked.lower()
    # a tag of one word names the item ("a mockumentary"); one of more words only in full: "black comedy" or
    # "black-comedy", but "a war comedy" claims the genre
    own_words = {f for t in ctx.item_tags if len(ws := _WORD.findall(t)) == 1 for w in ws
                 for f in (w, w + "s", re.sub(r"y$", "ies", w))}
    for tag in sorted((t for t in ctx.item_tags if " " in t or "-" in t), key=len, reverse=True):
        tag = r"[\s-]".join(re.escape(w) for w in re.split(r"[\s-]+", tag))
        low = re.sub(r"(?<![\w-])" + tag + r"(?![\w-])", lambda m: " " * len(m.group(0)), low)
    genre_of = {n.start: ctx.linked_categories.get(bare_title(n.form), set()) for n in named}
    out = []
    for m in re.finditer(r"(?<![\w])(" + vocab.genre_alternation + r")(?![\w]|-(?:packed|fi|noir)\b)", low):
        genre = vocab.genre_forms[m.group(1)]
        if genre in ctx.evidence_categories or set(_WORD.findall(m.group(1))) <= own_words:
            continue  # the item's tag in the same word ("a mockumentary"; but "musical" is no tag 'music')
        if stem(m.group(1)) != stem(genre.lower()) and genre in _tag_genres(ctx, vocab):
            continue  # "funny" for a movie tagged "great humor" (but "a comedy" claims the genre)
        before = low[max(0, m.start() - 50): m.start()]
        if _NEGATED_BEFORE.search(before):
            continue  # "not a horror film", "a break from comedies"
        if (_TASTE_BEFORE.search(before) or _COUNTED_AFTER.match(low[m.end():])) and genre in ctx.liked_categories:
            continue
        titled = [s for s in genre_of if 0 <= s - m.end() <= 2 or re.fullmatch(
            r"T['’]s\s+|T,\s+(?:an?|the)\s+(?:\w+\s+)?", masked[s:m.start()] if s < m.start() else "")]
        if any(genre in genre_of[s] for s in titled):
            continue  # "the comedy Spaceballs", "Spaceballs, a comedy you rated 5/5"
        if ctx.evidence.constraint and genre.lower() in ctx.evidence.constraint.lower():
            continue
        out.append(Violation("wrong_category", f"it calls this {m.group(1)!r}, but the data does not list {genre}"))
        break
    return out


# "Like T, it's a war film", "Like T — a four-star film for you — it's a prison drama": said of T as well
_LIKE_TITLE = re.compile(r"(?:^|[.!?;]\s+|\b(?:and|just|much)\s+)(?i:like|as with)\s+(?P<t>T)(?!\w)[^.!?]*?[,—–]\s*"
                         r"(?i:it|this(?:\s+one)?)(?:['’]s|\s+is)\s+(?P<said>[^.;:!?—–,(]+)")


def _like_title(text: str, masked: str, named: list[_Named], ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    """What "Like T, it's …" says of the item it says of T too: T's genres and tags must hold it (a linked
    title's; of other titles the data here holds neither)."""
    linked = [(x.title, bare_title(x.title)) for x in ctx.evidence.because + ctx.evidence.series]
    linked_by_form = _with_part_names(_forms_of(linked), linked)
    at = {n.start: n for n in named}
    for m in _LIKE_TITLE.finditer(masked):
        if (t := at.get(m.start("t"))) is None or (bare := linked_by_form.get(t.form)) is None:
            continue
        said = m.group("said").lower()
        genres = {vocab.genre_forms[g.group(1)] for g in re.finditer(
            r"(?<![\w-])(" + vocab.genre_alternation + r")(?![\w-])", said)}
        tags = {x for x in ctx.item_tags if x not in vocab.genre_forms and _has_run(stems(said), stems(x))}
        if wrong := sorted(genres - ctx.linked_categories.get(bare, set())):
            return [Violation("wrong_category", f"it says {text[t.start:t.end]!r} is {wrong[0]} too; the data "
                                                "does not")]
        if wrong := sorted(tags - ctx.linked_tags.get(bare, set())):
            return [Violation("wrong_tag", f"it says {text[t.start:t.end]!r} is {wrong[0]!r} too; the data "
                                           "does not")]
    return []


_GENRE_TAG_WORDS = {"Comedy": ("humor", "humour", "funny", "hilarious", "comedy", "witty"),
                    "Horror": ("creepy", "scary", "horror", "gore"), "Thriller": ("suspense", "tense", "thriller")}


def _tag_genres(ctx: ClaimContext, vocab: Vocabulary) -> set[str]:
    """Genres the item's tags name though the catalog does not list them ("great humor": funny)."""
    words = {w for t in ctx.item_tags for w in _WORD.findall(t)}
    named = {vocab.genre_forms[w] for w in words if w in vocab.genre_forms}
    return named | {g for g, cues in _GENRE_TAG_WORDS.items() if any(c in words for c in cues)}


# evaluative and joining words that are also catalog tags somewhere: using them claims nothing
_FREE_STEMS = frozenset(stems("""natural safe bet pick next watch good great fun enjoyable favorite favourite
perfect solid easy strong nice fine right spot treat worth must see fans fan love loving lovely sweet smart fresh
clever satisfying similar different mood night weekend change pace company taste style genre movie film book
story tone vibe feel feeling kind sort type vein spirit lighter light heavier heavy mix blend long short
read reading pleasure gem ride trip world fit home epic beautiful beautifully stylish gorgeous inspiring
stunning""")) | _SERIES_STEMS
# tag words an item's genre already says ("a tense thriller", "family-friendly" for a Children movie)
_GENRE_WORDS = {"Children": "family kids kid", "Thriller": "tense suspense suspenseful", "Horror": "scary creepy",
                "Comedy": "funny humor humour hilarious", "Romance": "love romantic", "Animation": "animated cartoon",
                "War": "military", "Crime": "criminal criminals outlaw outlaws", "Sci-Fi": "science future",
                "Fantasy": "magic magical", "Western": "west frontier cowboy cowboys gunslinger outlaw outlaws"}
# words a tag says in other words: "darkly comic" is a black comedy, "outlaws" are crime, a black hole is in space
_TAG_WORDS = {"crime": "criminal criminals outlaw outlaws", "black comedy": "dark darkly comic",
              "dark comedy": "black darkly comic", "black hole": "space", "space travel": "space",
              "astronauts": "space", "wild west": "west western", "cowboys": "west western",
              "heavy metal": "metal rock band bands", "music": "musician musicians"}


def _related_words(ctx: ClaimContext) -> list[str]:
    """The item's genres' and tags' words in other words (`_GENRE_WORDS`, `_TAG_WORDS`)."""
    return [_GENRE_WORDS.get(g, "") for g in ctx.evidence.categories] + [
        _TAG_WORDS.get(t, "") for t in ctx.item_tags | {x.lower() for x in ctx.evidence.shared_tags}]


def _same_word(a: str, b: str) -> bool:
    """Two forms of one word: one stem ("gangster", "gangsters"; "inspiring", "inspirational"), less
    the stemmer's conflations of different words ("anime", "animated")."""
    return a == b or (stem(a) == stem(b) and frozenset((stem(a), a[:5], b[:5])) not in _CONFLATED)


_CONFLATED = {frozenset(("anim", "anime", "anima"))}  # "anime" is not "animated" or "animation"
def _says_tag(words: list[str], tag: tuple[str, ...]) -> bool:
    n = len(tag)
    return any(all(_same_word(words[i + j], tag[j]) and not _aspect_noun_for(words[i + j], tag[j]) for j in range(n))
               for i in range(len(words) - n + 1))


def _aspect_noun_for(word: str, tag_word: str) -> bool:
    """A noun for a side of the item ("surreal touches", "a dark edge") is not a tag of another form of the
    word ('touching', 'edgy')."""
    noun = next((a for a in _ASPECTS if word in (a, a + "s", a + "es")), None)
    return noun is not None and tag_word not in (noun, noun + "s", noun + "es")


def _tags(text: str, masked: str, named: list[_Named], ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    """A catalog tag said of the item must be its own (its tags or description say it)."""
    title_words = {w for t in ctx.evidence.titles() for w in _WORD.findall(t.lower())}
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", re.sub(r"['’]s\b", "", masked))
             if not (w[:1].isupper() and w.lower() in title_words)]  # "Cooler's Revenge" is a title's words
    word_stems = {stem(w) for w in words}
    own = {_tag_words(t) for t in ctx.item_tags | {x.lower() for x in ctx.evidence.shared_tags}}
    own_words = {w for t in own for w in t} | set(_WORD.findall((ctx.item_text or "").lower()))
    own_words |= set(_WORD.findall(" ".join(_related_words(ctx))))
    constraint = _WORD.findall((ctx.evidence.constraint or "").lower())
    genre_words = [w for g in ctx.evidence.categories for w in _GENRE_WORDS.get(g, "").split()]
    out = []
    for tag in vocab.tag_order:
        key = _tag_words(tag)
        if not key or key in own or not {stem(w) for w in key} <= word_stems or not _says_tag(words, key):
            continue
        if all(any(_same_word(w, o) for o in own_words) for w in key):
            continue
        if len(key) == 1 and stem(key[0]) in _FREE_STEMS or (constraint and _says_tag(constraint, key)):
            continue
        if all(any(_same_word(w, g) for g in genre_words) for w in key):
            continue
        if (decade := re.fullmatch(r"(?:19|20)?(\d)0s", tag)) and ctx.evidence.year and \
                ctx.evidence.year % 100 // 10 == int(decade.group(1)):
            continue  # "a 1970s drama" of a 1976 movie: its year says it (checked with the years)
        out.append(Violation("wrong_tag", f"it says {tag!r}, which the data does not say about this item"))
    return out[:2]


@lru_cache(maxsize=1 << 15)
def _tag_words(tag: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(tag.lower()))


# -- what the item is said to be about -----------------------------------------------------------
# A description of the item ("a seafaring quest across enchanted islands", "a royal biography") is a
# claim about its subject: its words must be the item's own (its genres, tags, description or title).
# Only the words around a noun for a work are read: the modifiers between "a"/"an" and it, and what
# follows "of", "about", "with", "set in"... after it, up to the clause's end.
_WORKS = """film movie book read story tale history histories biography memoir quest romp saga epic adventure thriller
comedy drama fantasy novel collection chronicle account journey caper yarn mystery western musical documentary entry
title watch pick one ride flick picture feature sequel follow-up chapter instalment installment portrait study fable
satire parody spoof procedural romance action chase mockumentary whodunit noir""".split()


@lru_cache(maxsize=8)
def _description_patterns(genre_forms: frozenset[str]) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """Where a description sits: before a noun for a work or a genre's name (after "a", or after "this"
    or a name's), and after it."""
    works = sorted(set(_WORKS) | set(_ASPECTS) | {f for f in genre_forms if " " not in f}, key=len, reverse=True)
    work = r"(?:" + "|".join(re.escape(w) + "s?" for w in works) + r")"
    modifiers = re.compile(r"\b(?:a|an)\s+((?:[\w'’-]+,?\s+){1,4}?)" + work + r"\b", re.IGNORECASE)
    complement = re.compile(r"\b" + work + r"\s+(?:of|about|with|through|across|set (?:in|on|among)|full of|"
                            r"featuring|packed with|among|on|aboard|inside|around)\s+([^.;:!?—–]+)", re.IGNORECASE)
    # "this 1969 buddy western", "Scorsese's twisty mob thriller": the same words after "this" or a name's
    # ("that", "its" may be a liked title's: "people who liked that 1967 film")
    determined = re.compile(r"(?:\b(?i:this)|(?<![\w'’-])[A-Z][\w-]*['’]s)\s+((?:[\w'’-]+,?\s+){1,4}?)"
                            r"(?i:" + work + r")\b")
    return modifiers, complement, determined


# nouns for a side of the item ("a culinary twist", "a romantic thread"): the words before them describe it too
_ASPECTS = "streak touch edge flair hint dash backdrop flavour flavor twist thread undertone bent slant".split()
# a hook that is a noun phrase: "A dreamlike dystopian future", "Kirk's desert-planet showdown" (its last noun free)
_HOOK_PHRASE = re.compile(r"^(?:(?i:an?)\s+|(?:[A-Z][\w.-]*\s+)*[A-Z][\w-]*['’]s\s+)((?:[\w'’-]+\s+){1,4}?)"
                          r"[\w'’-]+\s*(?:$|[,.;:!?—–]|(?i:for|after|before|with|from|to|in|on|of|that|which|like|"
                          r"than|and|by)\b)")
# a hook that is a bare noun phrase, its last noun a work's or a genre's: "Mob-boss suspense for a Dark Knight fan"
_HOOK_BARE = re.compile(r"^((?:[\w'’-]+\s+){1,4}?)([\w'’-]+)\s*(?:$|[,.;:!?—–]|(?i:for|after|before|with|from|to|"
                        r"in|on|of|that|which|like|than|and|by)\b)")
# a hook that is a noun phrase after "the" and a common noun's: "The salt trade's forgotten story"
_HOOK_OWNER = re.compile(r"^(?i:the)\s+((?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*)['’]s\s+((?:[\w'’-]+\s+){0,4}?)"
                         r"[\w'’-]+\s*(?:$|[,.;:!?—–]|(?i:for|after|before|with|from|to|in|on|of|that|which|like|"
                         r"than|and|by)\b)")
_COMPLEMENT_END = re.compile(r"\b(?:that|which|who|liked|like|for|by|from|you|your|fans|people|readers|viewers|to|is|are|"
                             r"was|adds|add|makes|make|fits|fit|sits|rounds|brings|should|could|would|will|might|may|"
                             r"can|feels|comes|joins|gives|keeps|deserves|earns|belongs)\b.*",
                             re.IGNORECASE | re.DOTALL)
_SETTING = re.compile(r"\bset (?:in|on|at|under|among|aboard|inside|during|near|around|across|against)\s+([^.;:!?—–]+)",
                      re.IGNORECASE)
# words that say how much or which side of what the facts hold, or judge it: no subject of their own
_ASPECT_STEMS = frozenset(stems("""streak touch edge flair hint dash setting backdrop flavour flavor plenty full heart
take spin outing addition companion counterpart obvious visual visually rich sleek sharp smart warm early mid late
earlier later titles combines combine off hit friendly dose helping slice bit lots handful brand sort tinged angle
striking big small little turned meets thread shot filmed crafted paced acted staged fuelled fueled driven
laden soaked infused filled sweeping gripping powerful dazzling riveting taut slick brilliant compelling memorable
absorbing engrossing ambitious bold superb terrific wonderful remarkable impressive engaging core question questions
idea ideas""")) | frozenset(stems(" ".join(_ASPECTS)))  # "a philosophical bent", "a dark undertone"


def _descriptions(text: str, masked: str, named: list[_Named], ctx: ClaimContext, vocab: Vocabulary,
                  kind: str = "explanation") -> list[Violation]:
    """Words describing the item must be its own: "naval battles" for a history of "a turning point
    in the past" is a subject the data does not give it. A hook that is a noun phrase describes the item
    with the words before its last noun, whatever that noun ("Kirk's desert-planet showdown")."""
    modifiers, complement, determined = _description_patterns(frozenset(vocab.genre_forms))
    for a, b, _ in _ratings(masked):  # "a four-star film for you": a rating, which the numbers check
        masked = masked[:a] + " " * (b - a) + masked[b:]
    phrases = [m.group(1) for m in determined.finditer(masked)]
    if kind == "hook" and (m := _HOOK_PHRASE.match(masked)):
        phrases.append(m.group(1))
    elif kind == "hook" and (m := _HOOK_BARE.match(masked)) and (m.group(2) in _WORKS
                                                                 or m.group(2) in vocab.genre_forms):
        phrases.append(m.group(1))  # its noun in lower case: "Tarantino goes Western" is a sentence
    if kind == "hook" and (m := _HOOK_OWNER.match(masked)):  # "The salt trade's forgotten story": both describe it
        phrases += [m.group(1), m.group(2)]
    phrases = [p for p in phrases  # a noun phrase, not a clause (a possessive's "s" is none: "A foodie's road trip")
               if not set(_WORD.findall(re.sub(r"['’]s\b", "", p.lower()))) & _CLAUSE_WORDS]
    phrases += [m.group(1) for m in modifiers.finditer(masked)]
    phrases += [_COMPLEMENT_END.sub("", m.group(1)) for m in complement.finditer(masked)]
    phrases += [_COMPLEMENT_END.sub("", m.group(1)) for m in _SETTING.finditer(masked)]
    if not phrases:
        return []
    own = _own_stems(ctx, vocab)
    title_words = {w for t in ctx.evidence.titles() for w in _WORD.findall(t.lower())}
    title_words |= _initials(ctx.evidence.titles())  # "a later DBZ film"
    for phrase in phrases:  # the item's title's words name it where written as a name ("a Wall Street comedy")
        strange = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", phrase) if not any(c.isdigit() for c in w)
                   and w.lower() not in _NUMBER_WORDS  # a count ("and six readers who…"): the numbers check it
                   and w.lower() not in _DECADE_WORDS  # "a sixties thriller": the years check it
                   and not (w[:1].isupper() and w.lower() in title_words) and not _owned(w.lower(), own)]
        if strange:
            return [Violation("wrong_tag", f"it describes the item as {' '.join(strange)!r}, which its genres, tags "
                                           "and description do not say")]
    return []


def _own_stems(ctx: ClaimContext, vocab: Vocabulary) -> frozenset[str]:
    ev = ctx.evidence
    text = mask_titles(ctx.item_text or "", ev, " ")  # a blurb opens with the title: its words are a name there
    words = [*ctx.item_tags, *ev.shared_tags, text, ev.constraint or "", *ev.categories]
    words += [f for f, genre in vocab.genre_forms.items() if genre in ev.categories]
    words += _related_words(ctx) + [_GENRE_WORDS.get(g, "") for g in _tag_genres(ctx, vocab)] + list(_WORKS)
    return frozenset(stems(" ".join(words))) | _GENERAL_STEMS


_PLAIN_STEMS = frozenset(stems(" ".join(FUNCTION_WORDS | LINKING_WORDS)))
_CLAUSE_WORDS = (FUNCTION_WORDS | LINKING_WORDS) - {"and", "new", "own", "short", "same", "very"}
# a part's place in its series ("this third film", "a final chapter"): the series rules check it
_PLACE_STEMS = frozenset(stems(" ".join(_ORDINALS) + " final last latest original"))
_GENERAL_STEMS = _FREE_STEMS | _FILLER_STEMS | _ASPECT_STEMS | _PLAIN_STEMS | _PLACE_STEMS | frozenset(stems(
    " ".join(_WORKS)))


# an adjective's ending and its noun's: "apocalyptic" / "apocalypse", "hypnotic" / "hypnosis", "comic" / "comedy",
# "ironic" / "irony", "satiric" / "satire"
_DERIVED = (("tic", "se"), ("tic", "sis"), ("ic", "edy"), ("ic", "y"), ("ic", "e"), ("ical", "y"), ("ical", "e"))


def _owned(word: str, own: frozenset[str]) -> bool:
    """The word, in one of its forms ("humour", "twisty", "visually"), or a compound of one of the
    own words ("courtroom" for the tag "court")."""
    forms = {word, re.sub(r"our$", "or", word), re.sub(r"y$", "", word), re.sub(r"ly$", "", word),
             re.sub(r"is(e|ed|es|ing|ation)$", r"iz\1", word)}  # "stylised" is "stylized"
    if {stem(f) for f in forms} & own:
        return True
    derived = {word[:-len(a)] + b for x, y in _DERIVED for a, b in ((x, y), (y, x)) if word.endswith(a)}
    if {stem(f) for f in derived} & (own - _GENERAL_STEMS):  # the item's own words only: "manic" is not "many"
        return True
    return any(len(o) >= 4 and o.isalpha() and (word.startswith(o) and not (o in _GENERAL_STEMS and _SUFFIX.fullmatch(
        word[len(o):])) or o.startswith(word) and len(word) >= 4) for o in own)


# what turns a word into another ("spirit" -> "spiritual", "quest" -> "questions"): a general word so extended is
# another word, not a compound of it ("courtroom", "lighthearted")
_SUFFIX = re.compile(r"(?:u|i|ion|ation)?(?:al|als|ally|ic|ics|ical|ous|ity|ism|ist|ists|ive|ful|less|ness|ment|ly|"
                     r"ish|ian|ians|ary|ory|able|ible|ize|ise|ized|ised|ion|ions|ent|ence|ant|ance|ed|ing|ings|es|s|"
                     r"y)?")  # not "-er", "-est": "longer", "warmest", "readers" say the word itself


# -- series --------------------------------------------------------------------------------------
def _series(text: str, masked: str, named: list[_Named], ctx: ClaimContext, vocab) -> list[Violation]:
    relations = {s.relation for s in ctx.evidence.series}
    out = []
    masked = mask_stated_tags(masked, ctx)  # "tagged sequel" states the item's tag, not a part the person rated
    later, earlier, series = _SEQUEL.search(masked), _EARLIER.search(masked), _SERIES.search(masked)
    if later and "sequel" not in relations:
        out.append(Violation("wrong_series", f"it says {later.group(0)!r}; the catalog shows no earlier part the "
                                             "person liked"))
    if earlier and "earlier" not in relations:
        out.append(Violation("wrong_series", f"it says {earlier.group(0)!r}; the catalog shows no later part the "
                                             "person liked"))
    first = next((m for m in _FIRST.finditer(masked) if not _said_of_title(masked, m.start(), named)), None)
    if first and ("sequel" in relations or "earlier" not in relations or
                  _part_number(ctx.evidence.title) not in (None, 1)):
        out.append(Violation("wrong_series", f"it says {first.group(0)!r}: the facts show no later part of a "
                                             "series this one opens, or show one before it"))
    earlier_parts = sum(s.relation == "sequel" for s in ctx.evidence.series)
    if (final := _FINAL.search(masked)) and (earlier_parts < 2 or "earlier" in relations):
        out.append(Violation("wrong_series", f"it says {final.group(0)!r}; the facts show no two parts before it, "
                                             "or show one after it"))
    elif re.search(r"\btrilogy\b", masked, re.IGNORECASE) and len(ctx.evidence.series) < 2:
        out.append(Violation("wrong_series", "it says 'trilogy'; the facts show fewer than three parts"))
    if series and not relations:
        out.append(Violation("wrong_series", f"it says {series.group(0)!r}; the catalog shows no series for it"))
    number = _part_number(ctx.evidence.title)
    rated_parts = {_part_number(s.title) or 1 for s in ctx.evidence.series}  # a part with no number is the first
    for m in _ORDINAL_PART.finditer(masked) if relations and number is not None else ():
        said = _ORDINALS[m.group(1).lower()]
        if said != number and not (_OTHER_PART_BEFORE.search(masked[:m.start()]) and said in rated_parts):
            out.append(Violation("wrong_series", f"it says {m.group(0)!r}; the title says part {number}"))
            break
    relation_of = _with_part_names(_forms_of([(s.title, s.relation) for s in ctx.evidence.series]),
                                   [(s.title, s.relation) for s in ctx.evidence.series])
    said = {relation_of[n.form] for n in named if n.form in relation_of}
    for n in named:  # "the story before Iron Man 2": the item comes before that part; "the film after X": after it
        if n.form in relation_of and (m := _BEFORE_AFTER.search(masked[:n.start])) and relation_of[n.form] != (
                "earlier" if m.group(1) else "sequel"):
            out.append(Violation("wrong_series", f"it says {m.group(0).strip()!r} {text[n.start:n.end]!r}; the item "
                                                 f"came {'after' if m.group(1) else 'before'} it"))
    if later and said and "sequel" not in said:
        out.append(Violation("wrong_series", f"it says {later.group(0)!r}, but it came before the part it names"))
    if earlier and said and "earlier" not in said:
        out.append(Violation("wrong_series", f"it says {earlier.group(0)!r}, but it came after the part it names"))
    if (later or earlier or series) and relations:
        parts = set(relation_of)  # the parts by any name ("Part III" too)
        others = [n for n in named if n.role != "item" and n.form not in parts]
        others = [n for n in others if n.role != "unknown" and _tied_to_series_word(masked, n)] + [
            it for m in _ITS_SERIES_WORD.finditer(masked)  # "You rated T 4/5, so its 1991 sequel": T's
            if (it := _it_title(masked, m.start(), named)) and it.form not in parts]
        if others:
            out.append(Violation("wrong_series", f"it puts it in a series with {others[0].form.title()!r}, which "
                                                 "the catalog does not"))
    return out
