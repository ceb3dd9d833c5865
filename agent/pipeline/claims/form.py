"""Whether the text reads as an explanation at all: no junk, no echo of the instructions, no
garbled phrase, and something of the person's named."""

from __future__ import annotations

import re

from agent.pipeline.claims.context import (WORDS, ClaimContext, Rule, Violation, has_word, has_words, movie_tags,
                                           title_forms)
from agent.pipeline.claims.numbers import NUMBER
from agent.pipeline.claims.vocabulary import Vocabulary
from agent.pipeline.grounding import bare_title, copies_text, is_degenerate
from agent.types import Evidence

# the model speaking of itself or the task instead of the movie
_META = re.compile(r"\b(?:as an ai|language model|i'm sorry|i am sorry|i can(?:no|')t|i'm not able|"
                   r"here(?:'s| is) (?:a|the|your|my) (?:new )?(?:sentence|note|explanation|recommendation)|"
                   r"rejected|the facts|last note|other notes|your (?:last |previous |new |first )?(?:sentence|answer|note)|"
                   r"placeholders?|markup|rewrite|reword|the note|(?:the|its|movie) description|(?:does|did) not rate|misunderstood|"
                   r"you (?:suggested|recommended)|(?:is|as) (?:\w+ )?a tag|tags? for the movie|a liked title|in the data|"
                   r"(?:have|has) not (?:yet )?rated|haven't (?:yet )?rated|not (?:listed|rated) (?:it|for)|first fact|aligns? with|"
                   r"the one who rated|if you had (?:watched|seen)|which they have not|(?:said|say \w+ \w+) to anyone)\b",
                   re.IGNORECASE)
# words run together, as in "highlyRated" (a title's own spelling, such as "eXistenZ", is left alone)
_RUN_TOGETHER = re.compile(r"\b[a-z]+[A-Z][a-z]+\b|\b[A-Z][a-z]+[A-Z]{2,}\b")  # ... or cased at random ("SpotLESS")
# a liked title's rating said beside it: "(you rated it 4.5/5)"
_RATING_ASIDE = re.compile(r"\(you rated it \d(?:\.\d)?/5\)")
# the person's own taste named ("the Adventure movies you liked", "you love Crime movies"; checked as claims)
_YOUR_TASTE = re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:\w+ly\s+)?(?:like|liked|love|loved|enjoy|enjoyed|rate|rated|gave)\b",
                         re.IGNORECASE)

# a sentence that ends on a word that leads on ("… tagged with."), or that turns to a third person ("fits them")
UNFINISHED: Rule = (re.compile(r"\b(?:with|of|and|or|by|to|for|the|a|an|as|like|is|are)[.!?]$", re.IGNORECASE),
                    "original", "junk", "it stops mid-phrase; finish the sentence")
THIRD_PERSON: Rule = (re.compile(r"\b(?:fits|suits|for) them\b(?! all)|\b(?:movies|films|ones) (?:they|he|she) "
                                 r"(?:liked|rated|loved|enjoyed)\b", re.IGNORECASE),
                      "original", "junk", "it says {m!r}; speak to the person as \"you\"")
# a sentence that is only a leading clause ("Since you rated The Matrix 5/5."), or a title and what
# the person rated ("Fans of Forrest Gump, which you rated 4/5.")
FRAGMENT: Rule = (
    re.compile(r"^(?:since|because|if|as|although|while)\b[^,;]*[.!?]$|"
               r"^(?:fans|people|viewers) (?:of|who liked) [^;]*?,? (?:which|that) you (?:rated|liked)\b[^,;]*[.!?]$",
               re.IGNORECASE),
    "original", "junk", "it is not a whole sentence; say what this movie is and why it fits you")
# a word said twice in one hyphenated run ("a comedy-drama-drama Thriller"), or two words twice over
# ("a highly rated and highly rated movie", "tagged robots, sci-fi, and robots, sci-fi"), or one
# word twice in a list ("a comedy, drama, and Drama movie", "a crime, drama, and a drama")
HYPHEN_REPEAT: Rule = (re.compile(r"\b(\w+)(?:-\w+)*-\1\b|\b((?:[\w-]+,? ){1,2}[\w-]+),? (?:and|or) \2(?![\w-])|"
                                  r"\b([\w-]+),(?: [\w-]+,)* (?:and|or) (?:an? )?\3(?![\w-])",
                                  re.IGNORECASE),
                       "original", "junk", "it says {m!r}, which repeats itself")
# a list of words with no "and" that ends the sentence ("It is a crime, drama.", "It's a comedy, drama."): both
# blind readers marked these as not reading
UNJOINED_LIST: Rule = (re.compile(r"\ban?\s+[\w'-]+(?:,\s+[\w'-]+)+\s*[.!?]$", re.IGNORECASE),
                       "original", "junk", "it says {m!r}, which does not read; join the words with 'and'")
# a stray letter between words after the titles are masked ("is a g that is a thriller"): garbled text
STRAY_LETTER: Rule = (re.compile(r"(?<=[a-z] )[b-hj-z](?= [a-z])"),
                      "masked", "junk", "it has a stray {m!r}, which does not read")
# the model speaking as itself ("I didn't understand the movie recommendation"; titles masked)
I_SPEAKING: Rule = (re.compile(r"(?<![\w'’-])(?:I|I'm|I’m|I've|I’ve|I'd|I’d|I'll|(?i:me|my))(?![\w'’-])"),
                    "short", "junk", "it speaks as {m!r}; write to the person about the movie")
# the person said to have received a rating, or the movie said to be part of another ("You've already
# received a positive rating for The Lion King", "is a part of Chinatown"): no fact reads so
GARBLED_RELATION: Rule = (
    re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:already\s+)?received\b|\b(?:a\s+)?part of T\b|"
               r"\byou (?:had|have|got) an? (?:\w+ ){0,2}rating\b", re.IGNORECASE),
    "short", "junk", "it says the person received a rating, or the movie is part of another; no fact says so")
# a series relation said twice or garbled ("this sequel is a sequel to Iron Man 2", "this earlier part was an
# earlier series of T"; titles masked)
SERIES_GARBLED: Rule = (re.compile(r"\b(sequel|earlier part)\b.*\b\1\b|\b(?:earlier|later|next) series\b", re.IGNORECASE),
                        "short", "junk", "it says {m!r}, which does not read; name the series relation once")


def unusable(text: str, ctx: ClaimContext, kind: str) -> Violation | None:
    """Why `text` is no sentence to check at all: degenerate, cut off, markup, talk about the task,
    words run together, or a run of words repeated."""
    if why := is_degenerate(text, min_words=2 if kind == "hook" else 4):
        return Violation("junk", f"it is not usable text ({why})")
    if kind == "explanation" and not text.endswith((".", "!", "?")):
        return Violation("junk", "it stops mid-sentence; write one short sentence")
    if re.search(r"[\[\]{}<>|]", text):
        return Violation("junk", "it contains placeholders or markup")
    if text.count("(") != text.count(")"):  # "… Notorious, who you rated 4/5)."
        return Violation("junk", "it has an unmatched bracket")
    if _META.search(text):
        return Violation("junk", "it talks about the task, not the movie; write the sentence itself")
    titles = " ".join(ctx.evidence.titles())  # a title's own casing ("eXistenZ"), not "the SpotLESS Mind"
    if any(m.group(0) not in titles for m in _RUN_TOGETHER.finditer(text)):
        return Violation("junk", "it runs words together (like 'highlyRated')")
    unnamed = text.lower()
    for t in ctx.evidence.titles():  # a long title is not a repetition of itself
        unnamed = unnamed.replace(bare_title(t), " T ")
    unnamed = _RATING_ASIDE.sub(" R ", unnamed)  # nor two liked titles, each with its rating
    words = WORDS.findall(unnamed)
    runs = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    if len(runs) != len(set(runs)):
        return Violation("junk", "it repeats itself")
    return None


def only_titles(short: str) -> Violation | None:
    """An explanation that only names a movie (`short`: its titles masked as T)."""
    if len(WORDS.findall(re.sub(r"\bT\b", " ", short).lower())) < 3:
        return Violation("junk", "it only names a movie; say why it fits you")
    return None


def echo(text: str, ctx: ClaimContext, kind: str) -> list[Violation]:
    """A run of the prompt's instructions copied into the text."""
    if copies_text(ctx.instructions, text, n=4 if kind == "hook" else 6):
        return [Violation("echo", "it repeats the instructions instead of explaining")]
    return []


def generic(text: str, ev: Evidence) -> list[Violation]:
    """An explanation that names nothing of the person's (`names_personal_evidence`)."""
    if not names_personal_evidence(text, ev):
        return [Violation("generic", "it is generic; name the liked title behind it or the movies you liked")]
    return []


def names_item_fact(text: str, ev: Evidence, vocab: Vocabulary) -> bool:
    """Whether the text says something of the movie from its facts: one of its genres, a tag, or
    a number the evidence states. "… so this movie fits you well" says nothing a template would
    not say better."""
    low = text.lower()
    parts = low.replace("-", " ")  # "an adventure-comedy" names Comedy, as the opening skeleton reads it
    return bool(any(genre in ev.categories and (has_word(low, form) or has_word(parts, form))
                    for form, genre in vocab.genre_forms.items())
                or any(has_word(low, t) for t in movie_tags(ev))
                or any(int(n) in ev.numbers() for n in NUMBER.findall(low) if "." not in n))


def names_personal_evidence(text: str, ev: Evidence) -> bool:
    """Whether the text names what ties the item to this person: a liked title behind it, a
    shared tag, or their taste ("like 76 of the movies you liked", "you rated it 5/5"). A genre
    alone, or a count of people with nothing of the person's ("a drama that has received positive
    ratings from 37 people who liked it"), could be said to anyone. Evidence with nothing of the
    person's, or a chat request the item meets, asks for none."""
    if ev.constraint or not (ev.because or ev.shared_tags or ev.shared_categories):
        return True
    low = text.lower()
    return bool(_YOUR_TASTE.search(text) or re.search(r"\byour (?:liked|favou?rite)", low) or any(has_words(low, form.split(":")[0])
                                                for form in title_forms(b.title for b in ev.because))
                or any(has_word(low, t.lower()) for t in ev.shared_tags))
