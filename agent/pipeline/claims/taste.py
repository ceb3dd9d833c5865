"""What a sentence says the person liked, rated or saw: a "you liked X" claim must match their
positive ratings, and the movie recommended is one they have not rated."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.pipeline.claims.context import WORDS, ClaimContext, Rule, Violation, has_word, title_forms
from agent.pipeline.claims.vocabulary import GENERIC_OBJECTS, GENRE_NOUNS, Vocabulary
from agent.pipeline.grounding import bare_title

_CLAIM = re.compile(
    r"\b(?:you(?:'ve|’ve| have| had|'re|’re| are)?\s+(?:already\s+|also\s+|\w+ly\s+)?"
    r"(?:like|liked|love|loved|enjoy|enjoyed|watched|saw|seen|rated|gave|adore|adored|fan of|a fan of|big fan of"
    r"|a big fan of|into)|your (?:favou?rites?|love of|taste for|liking for))\s+(?P<obj>(?:(?!,\s*you\b)[^.;!?:—–()])+)",
    re.IGNORECASE)
_CLAIM_END = re.compile(r",|\b(?:and|but|so|which|because|since|as|then|now|this|here|it's|its|is|are|were|will|you|also)\b",
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

# the person's own rating of this movie ("including you", "earned you a 4/5"): they have not rated it
YOU_RATED_ITEM: Rule = (re.compile(r"\bincluding you(?:rself)?\b|\bearned (?:you|your)\b", re.IGNORECASE),
                        "text", "liked_item", "it says the person rated this movie, which they have not")
# the person has seen the recommended movie ("You probably enjoyed this movie"): they have not
# ("it" may be a liked title, as in the templates' "(you liked it)"; "this kind of movie" is a taste)
YOU_SAW_ITEM: Rule = (
    re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:already\s+|\w+ly\s+)?(?:liked|loved|enjoyed|watched|saw|seen|"
               r"adored|read)\s+(?:this\b(?!\s+(?:kind|sort|type|genre|style))|the (?:movie|film)\b(?! like))",
               re.IGNORECASE),
    "text", "liked_item", "it says the person has seen this movie, which they have not")
# a rating out of 5 put right after the recommended movie's title ("You would likely rate Forrest Gump 4/5";
# the item's title masked as {I}: braces never reach the rules, so no word of a text is taken for it)
ITEM_RATED: Rule = (re.compile(r"\{I\}\s*[(,:]?\s*(?:a\s+)?\d(?:\.\d)?\s*(?:/|out of)\s*5\b"),
                    "item", "liked_item", "it gives this movie a rating; the ratings are the person's, of liked titles")
# the item said to be among what the person liked ("it is one of the movies you liked", "a movie that you
# like"; "like 23 of the movies you liked" is a count, and "a movie you'd like" a guess)
ITEM_AMONG_LIKED: Rule = (
    re.compile(r"\b(?:is|was|it's|it’s)\s+(?:(?:also|already)\s+)?(?:one of the|one of your|among the|a|an)\s+"
               r"(?:\w+\s+)?(?:movies?|films?)\s+(?:that\s+|which\s+)?you(?:'ve|’ve| have)?\s+"
               r"(?:already\s+)?(?:like|liked|love|loved|enjoy|enjoyed|rated|watched)\b", re.IGNORECASE),
    "text", "liked_item", "it says {m!r} of this movie, which the person has not rated")
# ... or a rating given to a genre or "movie" said of it ("It was also a comedy, which you rated 4/5"): a
# rating is of a title, named right before it
GENRE_RATED: Rule = (
    re.compile(r"\b(?:movie|film|one|" + "|".join(re.escape(g.lower()) for g in GENRE_NOUNS) +
               r")\s*,?\s+(?:which|that) you (?:rated|gave)\b", re.IGNORECASE),
    "short", "liked_item", "it says {m!r}: a rating is the person's, of a liked title named before it")
# ... or as "it" ("you liked it as well as The Two Towers"; the templates' "(you liked it)" is said of the
# title before it)
YOU_LIKED_IT_TOO: Rule = (
    re.compile(r"\byou(?:'ve|’ve| have)?\s+(?:also\s+)?(?:liked|loved|enjoyed|rated|watched)\s+it,?\s+"
               r"(?:as well as|just like|along with|and also)\b", re.IGNORECASE),
    "text", "liked_item", "it says {m!r} of this movie, which the person has not rated")


def said_of_item(text: str, ctx: ClaimContext) -> list[Violation]:
    """A liking or rating said of the movie recommended, which the person has not rated."""
    if _taste_said_of_item(text, ctx):
        return [Violation("liked_item", "it says the person liked or rated this movie, which they have not")]
    return []


def _taste_said_of_item(text: str, ctx: ClaimContext) -> bool:
    """Whether a liking or rating is said of the recommended movie, which the person has not
    rated: with the movie as its object ("… and enjoyed Speed (1994) as well", not "people who
    liked Speed"), or with no object of its own ("Back to the Future Part II is an adventure that
    you liked"), which names what came before it unless that is a liked title or a kind of movie."""
    item = bare_title(ctx.evidence.title)
    low = text.lower()
    longer = [t for t in map(bare_title, [*ctx.evidence.titles(), *ctx.liked_titles]) if t.startswith(item) and t[len(item):][:1] in (" ", ":")]
    for m in re.finditer(r"\b(?:liked|enjoyed|loved|watched|rated|seen|saw)\s+(" + re.escape(item) + r")(?!\w)", low):
        if any(low.startswith(t, m.start(1)) for t in longer):
            continue  # "You rated Deadpool 2 5/5" of the item Deadpool: another title
        if "who" not in low[max(0, m.start() - 16): m.start()]:  # "… and enjoyed Speed (1994) as well"
            return True
    named = [ctx.evidence.title] + [b.title for b in ctx.evidence.because] + list(ctx.liked_titles)
    for m in _OBJECTLESS_LIKE.finditer(text):
        before, after = text[: m.start()], text[m.end():].lstrip().lower()
        if _TASTE_REFERENT.search(before):
            continue
        if any(after.startswith(bare_title(t)) for t in named[1:]):
            continue  # "You gave In the Name of the Father 4/5": the title's first word is no "in"
        spans = _title_spans(before, named)
        nearest = max(spans, default=(0, item), key=lambda s: (s[0], s[1] != item))[1]
        if nearest == item:
            return True
    return False


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


def taste_claims(text: str, ctx: ClaimContext, vocab: Vocabulary) -> tuple[str, list[Violation]]:
    """Check every "you liked X" claim; return the text with valid claims' objects masked
    (a genre the person likes is no claim about the item) and the violations."""
    out, masked = [], text
    liked = ctx.liked_titles
    item_bare = bare_title(ctx.evidence.title)
    for m in _CLAIM.finditer(text):
        after = text[m.start("obj"):].lower()
        # in full: a title with "." or ":" in it, or "is" ("Life Is Beautiful" for "… (La Vita è bella)")
        if any(after.startswith(t) for t in title_forms(t for t in liked if t[:3] in after) if len(t) >= 4):
            continue
        if item_bare not in liked and re.match(re.escape(item_bare) + r"(?!\w)", after):  # in full: "… and …" in it
            out.append(Violation("liked_item", "it says the person already likes this movie"))
            continue
        if owned := re.match(r"\s*(?:its|their)\s+(.*)", m.group("obj"), re.IGNORECASE):
            # "you probably enjoyed its sci-fi story", of a liked title: the facts hold only the rating
            what = _CLAIM_END.split(owned.group(1), maxsplit=1)[0].lower()
            if any(has_word(what, f) for f in vocab.genre_forms) or any(has_word(what, t) for t in vocab.tags):
                out.append(Violation("false_like", f"it says what the person liked about a movie ({what.strip()!r}); "
                                                   "the facts give only their rating"))
            continue
        obj = _CLAIM_END.split(m.group("obj"), maxsplit=1)[0]
        obj_low = bare_title(obj.strip(" \"'“”‘’")).strip(" \"'“”‘’")
        obj_low = re.sub(r"^(?:the (?:movie|film)s?|movies like|films like)\s+", "", obj_low)
        words = WORDS.findall(obj_low)
        if not words:
            continue
        head = " ".join(words)
        if any(w.isdigit() for w in words) and set(words) <= GENERIC_OBJECTS | {"out", "star", "stars"} | {
                w for w in words if w.isdigit()}:
            # "…, which you rated 4/5": a rating of the title named just before (the number check
            # holds its value); with no linked title before it, "it" is the recommended movie
            before = text[: m.start()].lower()
            # a link goes by its full title or the name before its alternate one ("Rashomon")
            names = {form for b in ctx.evidence.because for form in title_forms([b.title])}
            if not any(_names_title(before[before.find(name[:12]):], name) for name in names if name[:12] in before):
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
        genres = {g for f, g in vocab.genre_forms.items() if has_word(head, f)}
        tags = {t for t in vocab.tags | ctx.liked_tags if has_word(head, t)}
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
    p, t = WORDS.findall(phrase), WORDS.findall(title)
    if p[: len(t)] == t or t[: len(p)] == p:
        return True
    short = WORDS.findall(re.split(r"[:(,]", title)[0])
    return len(" ".join(short)) >= 4 and p[: len(short)] == short
