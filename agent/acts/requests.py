"""What a message asks of the list: genres, topics, eras, moods, excluded titles, more like an item;
what it takes back (undo); what the catalog cannot filter by."""

from __future__ import annotations

import re
from functools import lru_cache

from agent.acts.refs import _shown_title, ref_in
from agent.acts.schema import Ref, TurnAct, _Request
from agent.acts.words import (
    _ANAPHOR,
    _FILLER,
    _GENERIC,
    _GENRE_OR_TOPIC_WORDS,
    _NEG,
    _POSITION,
    MOOD_WORDS,
    TAG_GROUPS,
    _compiled,
    _finditer,
    _forms_pattern,
    _genre_patterns,
    _search,
    normalise,
)
from agent.intent import Era, residual_query

# what people filter by that a catalog of titles, genres, tags and years cannot answer
UNSUPPORTED = {"studio": r"\b(studio|made by|produced by|from (?:a24|marvel studios|warner|universal|netflix))\b",
               "cast or crew": r"\b(starring|actor|actress|directed by|director|with (?:tom|brad|meryl|leonardo|"
                               r"scarlett|denzel|will smith))\b",
               "length": r"\b(under|less than|shorter than|over|longer than) \d+ ?(?:min|minutes|hours?|h)\b|\bshort "
                         r"(?:movie|film)s?\b|\brunning time\b",
               "rating or reviews": r"\b(imdb|rotten tomatoes|oscar[- ]winning|award[- ]winning|highly rated|top rated|"
                                    r"critically acclaimed|\d(?:\.\d)?\+? stars?)\b",
               "language or country": r"\b(in (?:french|spanish|german|korean|japanese|italian|english)|subtitles|"
                                      r"dubbed|foreign[- ]language)\b",
               "streaming service": r"\b(on netflix|on hulu|on prime|on disney\+|streaming on)\b"}


def unsupported(message: str) -> list[str]:
    """The filters a message asks for that the catalog cannot apply ("I can't filter by studio")."""
    text = normalise(message)
    return [what for what, pattern in UNSUPPORTED.items() if re.search(pattern, text)]


# what the agent cannot do at all: the reply says what it can
_OFF_TOPIC = (r"\b(?:order (?:me )?(?:a |some )?(?:pizza|food|taxi|uber)|weather|what are you able to|what do you do|"
              r"what can you (?:even |actually |really )?do|who are you|are you (?:a bot|human|real)|tell me a joke|"
              r"how are you|what time is it|meaning of life|is this thing on|who won|score of the game|"
              r"what can (?:this|this thing|it|the bot|this bot)(?: even| actually| really)? do|"
              r"are you (?:an? )?(?:real )?(?:person|people|ai|robot|chatbot|machine)|"
              r"(?:book|buy|get|reserve|order) (?:me |us )?(?:a |an |some |\d+ |two |three |four )?(?:movie |cinema |theater |theatre )?"
              r"(?:tickets?|seats?)|"
              # "can you book a table for 2 at 8", "make a dinner reservation"
              r"(?:book|reserve|get|find) (?:me |us )?(?:a |an )?table\b|"
              r"(?:make|book) (?:me |us )?(?:a |an )?(?:dinner |restaurant |table )?reservation|"
              r"do you (?:even |ever |actually |really )?(?:watch|like|enjoy|see) (?:movies|films)(?: yourself| at all)?(?=\W*$)|"
              r"(?:going to|gonna|will it) (?:rain|snow)|forecast|"
              r"deliver (?:a |some )?(?:pizza|food|groceries)|(?:pizza|food) deliver(?:y|ies)?|"  # "do you deliver pizza"  # "is it going to rain tomorrow"
              r"(?:cancel|unsubscribe from|pause) (?:my |the |a )?(?:netflix|hulu|prime|disney\+?|hbo|subscription|account|"
              r"membership)|"  # "how do i cancel netflix"
              r"how (?:does|do) (?:this|this thing|this bot|the bot|this app|this chat|you) work(?=\W*$)|"
              r"how (?:do i|to|should i|can i) use (?:this|this thing|this bot|the bot|this app|you))\b|"
              r"^\W*(?:(?:ok|okay|thanks|thank you|thx|ty|cool)\W+)?(?:bye|goodbye|good night|gn|cya|see ya|later)\W*$|"
              r"^\W*(?:hmm+|umm*|uh+|well)?\W*(?:not sure|dunno|i don't know|idk|no idea)"
              r"(?:\W+(?:man|bro|dude|lol|tbh|honestly|really|haha|tho))*\W*$")


def read_era(text: str) -> Era | None:
    """Years a message asks for: "the 90s", "late 80s", "80s or 90s", "90s or newer", "between 1985 and
    1995", "before 1980" (to 1979), "after 2010" (from 2011), "since 2010", "from 2001", "recent", "old"."""
    year = r"((?:19|20)\d\d)"
    if m := re.search(rf"\b(?:between|from)\s+{year}\s*(?:and|to|-|–)\s*{year}\b|\b{year}\s*[-–]\s*{year}\b", text):
        a, b = [int(g) for g in m.groups() if g]
        return Era(start=min(a, b), end=max(a, b))
    decade = r"(early|mid|late)?[ -]?(?:the\s+)?((?:19|20)?\d)0'?s\b"
    # "from the years 60 or 70": decades said as in other languages
    if m := re.search(r"\bthe years? ([1-9])0(?:\s*(?:or|and|to|-)\s*([1-9])0)?\b", text):
        return Era(start=1900 + int(m.group(1)) * 10, end=1909 + int(m.group(2) or m.group(1)) * 10)
    if m := re.search(rf"\b{year}\s*(?:onwards?|and (?:later|after|newer|up)|or (?:later|newer|after)|\+|on)\b", text):
        return Era(start=int(m.group(1)))
    made = r"(?:from |made |released |that came out |that's from )?"
    if m := re.search(rf"\b(?:nothing|not) {made}(?:before|older than|earlier than) {year}", text):
        return Era(start=int(m.group(1)))
    # "nothing made after 1970", "not newer than 1999": up to that year
    if m := re.search(rf"\b(?:nothing|not) {made}(?:after|newer than|later than) {year}", text):
        return Era(end=int(m.group(1)))
    if m := re.search(rf"\b(before|pre-?|until|up to|older than|after|post-?|since|newer than|from)\s*(?:the )?(?:year )?{year}\b",
                      text):
        word, y = m.group(1).rstrip("-"), int(m.group(2))
        if word in ("before", "pre", "older than"):
            return Era(end=y - 1)
        if word in ("until", "up to"):
            return Era(end=y)
        if word in ("after", "post", "newer than"):
            return Era(start=y + 1)
        if word == "since":
            return Era(start=y)
    decades = list(re.finditer(rf"\b{decade}", text))
    if decades:
        spans = [_decade(m.group(1), m.group(2)) for m in decades]
        start, end = min(a for a, _ in spans), max(b for _, b in spans)
        if re.search(r"\d0'?s\s+(?:or|and)\s+(?:newer|later|after|on|up)|\d0'?s\s+onwards?|\bfrom the \d0'?s on\b", text):
            return Era(start=start)
        return Era(start=start, end=end)
    if m := re.search(rf"(?<![#\d]){year}(?!\d)", text):
        return Era(start=int(m.group(1)), end=int(m.group(1)))
    if re.search(r"\b(?:last|previous|the 20th) century\b", text):
        return Era(end=1999)
    if re.search(r"\b(?:this|the 21st) century\b", text):
        return Era(start=2000)
    if re.search(rf"\b(recent|newer|newest|latest|modern|new (?:movies?|films?|releases?|ones?|stuff|[\w-]+ movies|{_KINDS}))\b",
                 text):  # "any new musicals"
        return Era(start=2010)
    if re.search(r"\b((?<!year )(?<!years )(?<!yr )(?<!yrs )old|older(?! (?:kids|children|teens|audiences?))|classics?|"
                 r"(?<!no )(?<!not )(?<!nothing )(?<!nothing in )(?<!not in )(?<!without )black and white|golden age|"
                 r"vintage)\b", text):  # "nothing in black and white" asks no old years
        return Era(end=1979)
    return None


def _decade(part: str | None, digits: str) -> tuple[int, int]:
    if len(digits) == 1:
        digits = ("20" if digits in "012" else "19") + digits
    start = int(digits) * 10
    first, last = {"early": (0, 4), "mid": (3, 7), "late": (5, 9)}.get(part or "", (0, 9))
    return start + first, start + last


def _asks_for_more(text: str) -> bool:
    return bool(re.search(r"\b(something else|anything else|other (ones|options|picks|suggestions)|more (please|picks)|"
                          # "let's wipe the slate clean and try something totally different"
                          r"(?:something|anything) (?:totally |completely |entirely |a bit |else )?different|"
                          r"other [\w-]+ (?:stuff|movies|films|ones)|show me (?:\w+ )?more|(?:\d+|five|ten|a few) more|"
                          r"show me (more|others)|what else|next|another|different ones?)\b", text))


_MORE_LIKE = (r"\b(?:more like|similar to|similar of|(?:in )?the same vein as|"
              # "same kind of thing as the western but funny"
              r"(?:the )?(?:same|similar) (?:kind|sort|type) of (?:thing|stuff|movies?|films?) (?:as|to)|"
              r"(?:similar|same) (?:films?|movies?|stuff|vibe|feel|energy) (?:to|as)|same as|"
              r"(?:something|anything|stuff|movies|films|things|ones|more stuff|others?) like|in the (?:vein|style) of|"
              r"along the lines of|(?:in|with) the (?:vibe|spirit|feel|mood) of|(?:in|with) the same (?:spirit|style|mould|mold|feel|vibe) as|(?:vibes?|feel) of|closer to|reminds? me of|(?:what|anything|something) else (?:is )?like|got anything like|that's like|that is like|"
              # "more films resembling casablanca", "others same like this"
              r"(?:films?|movies?|something|anything|stuff|ones) (?:resembling|that resembles?|akin to|comparable to)|"
              r"(?:same|similar) like)"
              r"\s+(.+?)(?:[,;!?]|\s*[\U0001F300-\U0001FAFF\u2600-\u27BF]| but | from | without | minus | only| no | "
              r"for (?:my|me|a|an|the|our|kids|tonight)\b|$)|"
              r"(?:^|[,.;:!?]\s*|\band\s+|\balso\s+)like\s+(.+?)\s+but\b")


def _more_like(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    m = re.search(_MORE_LIKE, text) or _kind_like(text)
    if m is None:
        similar = _search(r"(?:^|[.!?,]\s*)(?:similar|same) (?:vibes?|ones|stuff|movies|films)\s*\??$|"
                          # "i adored amelie, anything in that vein?"
                          # "what else is in that vein"
                          r"\b(?:more|anything|something|stuff|others?|films?|movies?|what)(?: else)?(?: is|'s)? in "
                          r"(?:that|this|the same|a similar) (?:vein|style|spirit|mould|mold)\b|"
                          r"\b(?:more |something |anything )?along (?:those|these|the same) lines\b|"
                          r"\b(?:anything|something|got anything|any(?:thing)? more|more stuff|more|what's|whats|what is) "
                          r"(?:similar|like that)"
                          r"(?: to (?:that|it|this))?\s*(?:[?!.,]|$|(?=(?:from|but|in the|with|only|without)\b))", text)
        return [(similar.start(), TurnAct(act="more_like", ref=Ref(anaphor=True)))] if similar else []
    target = re.sub(r"(?:\s+(?:" + _FILLER + r"))+$", "", (m.group(1) or m.group(2)).strip()).strip("'\"")  # "'heat'"
    if re.match(r"what (?:i|we) (?:asked|wanted|said|meant)\b", target):
        return []  # "how is fargo anything like what i asked for": a complaint, no title
    if re.fullmatch(r"(this|that|these|those)( (one|kind|sort))?", target) and not re.search(_POSITION, target):
        return [(m.start(), TurnAct(act="more_like", ref=Ref(anaphor=True)))]
    if (word := re.fullmatch(r"the ([\w-]+)", target)) and word.group(1) in _GENRE_OR_TOPIC_WORDS \
            and not _shown_title(target, shown):
        return [(m.start(), TurnAct(act="more_like", ref=Ref(describe=word.group(1))))]  # "more like the western"
    if (one := re.fullmatch(r"the ([\w' -]+?) one", target)) and _shown_title(one.group(1), shown) == one.group(1):
        return [(m.start(), TurnAct(act="more_like", ref=Ref(title=one.group(1))))]  # "the grand budapest one"
    if re.fullmatch(r"#?\s*\d{1,2}", target):  # "something like 2": a place on the list
        return [(m.start(), TurnAct(act="more_like", ref=Ref(position=int(target.strip("# ")))))]
    ref = ref_in(target, shown) or Ref(title=re.sub(r"^(the movie|the film) ", "", target))
    if ref.title and ref.title != target and len(target.split()) <= 5 and not re.search(_ANAPHOR + r"|\bone\b", target):
        ref = Ref(title=re.sub(r"^(the movie|the film) ", "", target))  # "oceans 11" as typed, not its matched part
    return [(m.start(), TurnAct(act="more_like", ref=ref))]


_KINDS = "|".join(re.escape(w) + "s?" for w in sorted(_GENRE_OR_TOPIC_WORDS, key=len, reverse=True) if len(w) > 3)


def _kind_like(text: str) -> re.Match | None:
    """"comedies like amelie", "anime like akira": a kind of film like a title is more like it; so is
    "more harry potter type stuff" (a title, not a genre or topic, before 'type' / 'style')."""
    if m := _search(rf"\b(?:{_KINDS}) like\s+(?!this\b|that\b|it\b)(.+?)(?:[,;!?]| but | from | without |$)()", text):
        return m
    m = _search(r"\b(?:more|some|any|something|anything|other)\s+([a-z][\w' :-]{1,40}?)[- ](?:type|style|esque|kind of)"
                r"\s+(?:stuff|movies?|films?|things?|ones?|vibes?)\b()", text)
    if m and not set(m.group(1).split()) <= _GENRE_OR_TOPIC_WORDS | {"good", "bad", "old", "new", "this", "that", "same"} \
            and not any(re.search(rf"\b{phrase}\b", m.group(1)) for phrase in MOOD_WORDS):
        return m  # "more toy story type stuff", not "more true story type stuff"
    return None


# verbs that take a constraint back, said after it ("the mood thing, forget it")
_DROP = r"forget|drop|scrap|ditch|ignore|never ?mind|lose|scratch|cancel|undo"


def _undo(text: str, genres: list[str]) -> list[tuple[int, TurnAct, str]]:
    """The constraints taken back ("any decade is fine, lose the 50s thing": each), with the words that
    said so (kept out of the request); "undo" alone takes back the last change."""
    fine = (r"(?:is|are|r|'re|'s)? ?(?:fine|ok|okay|alright|allowed|good|back in)(?: again| now| after all| actually| too)?|"
            r"again is fine|(?:can|may|could) (?:come|be) back(?: in)?|(?:can|may|could) be (?:included|allowed)(?: again)?|"
            r"(?:is|are|r) back(?: on the table| in)?")
    dropped = r"(?:doesn't|does not|don't|do not|needn't) (?:have|need|has) to (?:be|have)|no longer|don't need"
    found: list[tuple[int, TurnAct, str]] = []

    def add(m: re.Match, what: dict) -> None:  # words another target claimed first are not read twice
        if not any(at < m.end() and m.start() < at + len(words) for at, _, words in found):
            found.append((m.start(), TurnAct(act="undo", what=what), m.group(0)))

    for what, alt in _undo_targets(genres):
        kind = next(iter(what))
        if kind in ("genres", "tags") and (m := _search(rf"\binstead of (?:the |a |an )?(?:{alt})\b", text)):
            return [(m.start(), TurnAct(act="undo", what=what), m.group(0))]  # "comedy instead of romance"
        negated = {"genres": "not_genres", "tags": "not_tags"}.get(kind)
        back = {negated: what[kind]} if negated else {kind: True}  # an exclusion lifted, or the years / mood
        taken = what if kind not in ("mood", "era") else {kind: True}  # a requirement dropped
        for m in _finditer(rf"\b(?:{alt})(?:'s|'re)?\b (?:movies |films |ones |stuff )?(?:{fine})\b|"
                           rf"\b(?:allow|include|bring back|ok with|okay with|let's have|fine with)(?: the)? (?:{alt})"
                           rf"(?: again| too)?\b", text):
            if not re.search(r"\b(?:no|not|without|nothing|never)\s+$", text[:m.start()]):
                add(m, back)  # "no superheroes ok?" asks for none, lifts nothing
        if negated:
            # "nvm the no-animation thing", "the no horror rule, drop it"
            for m in _finditer(rf"\b(?:take back|drop|remove|lift|undo|never ?mind|forget(?: about)?|ignore|scrap|scratch|ditch|"
                               rf"lose|cancel) the no[ -](?:{alt})\b(?: rule| filter| thing| part| bit| restriction)?|"
                               rf"\bthe no[ -](?:{alt})(?: rule| filter| thing| part| bit| restriction)?,? (?:{_DROP}) "
                               rf"(?:it|that)\b", text):
                add(m, back)
        for m in _finditer(rf"\b(?:{dropped}) (?:be )?(?:a |an |set in |in |about |with |for |from (?:the )?)?(?:{alt})"
                           rf"(?: anymore| any more)?\b|"
                           rf"\b(?:drop|remove|forget|lose|ignore|never ?mind|undo|ditch|scrap|scratch|kill|cut)(?: about)? "
                           rf"the (?:{alt})(?: filter| part| thing| bit| requirement| restriction| mood| rule| stuff)?\b|"
                           # "the mood thing, forget it"
                           rf"\bthe (?:{alt})(?: filter| part| thing| bit| requirement| restriction| mood| rule| stuff)?,? "
                           rf"(?:{_DROP}) (?:it|that|about it)\b|"
                           rf"\bno need for (?:it |them )?(?:to be )?(?:a |an |from (?:the )?|set in |in )?(?:{alt})\b|"
                           # "never mind it being scary"
                           rf"\b(?:never ?mind|forget(?: about)?|don't worry about) (?:it|them|that) being "
                           rf"(?:a |an |from (?:the )?)?(?:{alt})\b|"
                           rf"\b(?:i )?(?:don't|do not) care about the (?:{alt})(?: anymore)?\b|"
                           rf"\b(?:{alt})(?: thing| part| filter| bit)? (?:doesn't|does not|don't|do not) matter\b|"
                           rf"\bnot the (?:{alt}) anymore\b|"
                           rf"\b(?:let's not|let us not|don't|do not|no need to) (?:worry|bother|fuss) about the (?:{alt})\b|"
                           rf"\b(?:{alt})(?: movies| films| stuff)? (?:isn't|aren't|is not|are not) (?:a must|required|needed|"
                           rf"necessary|a requirement)(?: anymore| any more)?\b|"
                           rf"\b(?:{alt}) (?:is|are) no longer (?:a )?(?:must|requirement|required)\b", text):
            add(m, taken)
    if m := re.search(r"\b(?:any (?:decade|era|year|time) (?:is fine|works|is ok|is okay|goes)|any (?:decade|era|time)|"
                      r"doesn't matter when|any year)\b", text):
        add(m, {"era": True})
    if found:
        seen, out = [], []
        for at, act, words in sorted(found, key=lambda f: f[0]):
            if act.what not in seen:  # "any decade is fine, lose the 50s thing": one undo of the years
                seen.append(act.what)
                out.append((at, act, words))
            else:
                out.append((at, None, words))  # said twice: its words still ask for nothing new
        return out
    if m := re.search(r"\b(undo(?: that)?|take (?:that|it) back|never ?mind(?: that)?(?: last part| last bit)?|scratch that|"
                      r"scrap that|(?:scratch|scrap|ignore|forget|undo|cancel|take back|disregard) (?:the|my|that) last "
                      r"(?:thing|part|bit|request|message|one)(?: i (?:said|asked|typed|wrote))?|"
                      # "please disregard what i asked for just now"
                      r"(?:disregard|ignore|scratch|cancel|take back) what i (?:just )?(?:said|asked(?: for)?|typed|wrote|"
                      r"requested)(?: just now| a (?:moment|second|minute) ago)?|"
                      r"forget what i (?:just (?:said|asked(?: for)?)|(?:said|asked(?: for)?) "
                      r"(?:just now|a (?:moment|second|minute) ago))|"
                      r"go back|revert)\b|"
                      r"^\W*(?:ctrl|cmd|command|control)\s*[+-]?\s*z\W*$", text):  # "ctrl+z", an editor's undo
        return [(m.start(), TurnAct(act="undo", what={"last": True}), m.group(0))]
    return []


def _undo_targets(genres: list[str]) -> list[tuple[dict, str]]:
    """What an undo can name, with its words: genres, topics, the years, the mood."""
    out = [({"genres": [g]}, alt) for g, alt in _genre_patterns(genres).items()]
    tags = [({"tags": [tag]}, _forms_pattern(forms)) for tag, forms in TAG_GROUPS.items()]
    # "drop the anime filter": a word that is a topic of its own names the topic, not the genre it brings
    own = [t for t in tags if any(re.fullmatch(rf"(?:{alt})", f) for _, alt in out for f in TAG_GROUPS[t[0]["tags"][0]])]
    out = own + out + [t for t in tags if t not in own]
    out.append(({"era": True}, r"(?:(?:early|mid|late)[ -])?(?:19|20)?\d0'?s|decade|era|year|date|time period|"
                               r"(?:old|older|newer|recent)(?: ones)?"))
    out.append(({"mood": True}, "|".join(w for w in MOOD_WORDS if " " not in w) + r"|feel good|mood"))
    return out


_EXCLUDED_TITLE = re.compile(r"\b(?:(?:nothing|not anything|nothing at all|not) like|"
                             r"(?:anything|something|everything) (?:but|except(?: for)?|other than)|"
                             r"(?:that|which) (?:isn't|aren't|is not|are not|ain't)|that's not|(?:just )?not (?:another|more)|"
                             r"no more)\s+(?:a |an )?(.+?)(?:\s+again)?(?=[,.;!?]| but | and | im | i'm | something | anything |"
                             r" newer| older|$)|"
                             r"\bnot (.+?) again\b|"
                             # "fantasy without harry potter"
                             r"(?:(?:^|[,.;!?]\s*|\bbut\s+)(?:not|no|nothing)|\bwithout)\s+(?!like\b|to\b|for\b)"
                             r"((?:the )?[a-z][\w'!:-]*(?: (?!but\b)(?:[a-z0-9][\w'!:-]*|&)){1,7}?)"  # "not marley & me"
                             r"(?:\s+(?:please|pls|tho|though|thanks|again|lol))*(?=[,.;!?]|$)|"
                             # "not se7en, saw it": one word ruled out because it is seen
                             r"(?:^|[,.;!?]\s*|\bbut\s+)(?:not|no)\s+([a-z0-9][\w'!:-]*)(?=\s*[,.;:–—-]\s*(?:i've |i have |we've |"
                             r"already |cos |because )*(?:seen|saw|watched)\b)|"
                             # "superhero stuff but no batman", "vampire movies but not twilight": one word, a name
                             r"(?:(?:[,.;]\s*|\bbut\s+)(?:not|no)|\bwithout)\s+([a-z][\w'-]{2,})"
                             r"(?:\s+(?:please|pls|tho|though|thanks|lol))*"
                             r"(?=\s*(?:[,.;!?]|$))")


# one word after "but not" that says what a film is like or has, not which film ("funny but not cheesy",
# "no cgi", "not subtitles")
_NOT_A_NAME = re.compile(r"[\w'-]*(?:y|ish|ous|ive|ful|ic|al|ed|ing|ly|less|able|ible|s|'s)|sex|blood|cgi|cringe|gross|weird|"
                         r"cheap|grim|crude|french|german|spanish|korean|japanese|italian|foreign|kids|adults|teens|"
                         r"anything|everything|something|again|yet|now|today|tonight|thanks|either|both|all|none")


# words no title is made of alone: "not too long", "no more than two hours", "nothing with zombies"
_NOT_A_TITLE = frozenset("""too so very really that this it with from before after than more less much any long short
slow sad violent gory boring stupid dumb scary dark heavy old new same lot interested sure thanks way fan big into for me
my at all again please tho though in on about movies movie films film one ones even actually exactly""".split())


def _excluded_titles(text: str, genres: list[str], shown: list[str] | None = None) -> list[tuple[int, int, str]]:
    """Titles the message rules out ("anything but star wars", "a western that isn't unforgiven",
    "not another hangover"), as (where it is said, where the name is, the name); a genre, topic or
    mood said that way is no title."""
    plain = _plain_pattern(tuple(genres))
    out = []
    for m in _EXCLUDED_TITLE.finditer(text):
        group = next(g for g in (1, 2, 3, 4, 5) if m.group(g))
        if group == 5 and (_NOT_A_NAME.fullmatch(m.group(5)) or m.group(5) in _NOT_A_TITLE or
                           re.fullmatch(rf"(?:{plain})", m.group(5)) or re.fullmatch(_GENERIC, m.group(5))):
            continue
        name = re.sub(r"(?:\s+(?:movies?|films?|stuff|ones?|anymore|any more|either|this time|tonight|now|itself|"
                      r"if you(?: please)?|if possible|"  # "nothing in black and white if you please"
                      r"junk|crap|garbage|trash|rubbish|nonsense|ok|okay|alright|"  # "no superhero junk", "no superheroes ok?"
                      + _FILLER + r"))+$", "", m.group(group).strip())
        name = re.sub(r"^(?:another|more|the same old|set in|set on|about|with)\s+", "", name)  # "not set in space"
        # "not too dark", "no more than two hours"; a hedging "actually" comes first ("not actually scary"),
        # a title's comes after ("a romcom that isn't love actually")
        if set(name.split()[:1]) & {"actually"} or set(name.split()) & _NOT_A_TITLE - {"the", "in", "on", "of", "it", "me",
                                                                                       "my", "one", "actually"}:
            continue
        # "not home alone or elf": two titles; "no horror and no zombies": a kind each, no title
        at = m.start(group)
        for part in re.split(r"\s(?:or|and) not? |, no | or ", name):
            if re.match(r"\W*without\b", m.group(0)) and _shown_title(part, shown or []) is None:
                continue  # "without" rules out a title on screen ("fantasy without harry potter"), not "bad language"
            # "nothing in black and white", "without the superhero stuff": a kind, no title
            if part and not re.fullmatch(rf"(?:in |the )?(?:(?:{plain})\s*)+", part) and len(part.split()) <= 6 and not (
                    re.fullmatch(rf"(?:an? )?(?:actual|real|proper|pure|straight|straight-up|straight up|typical|generic|cheesy|"
                                 rf"cheap|hardcore|too \w+|any|more) (?:{plain})", part)):  # "not (an) actual horror"
                out.append((m.start(), at + name.find(part), part))
    return out


@lru_cache(maxsize=8)
def _plain_pattern(genres: tuple[str, ...]) -> str:
    """Words no excluded title is made of alone: genres, topics, moods, comparatives, decades."""
    return "|".join([*_genre_patterns(list(genres)).values(), *(re.escape(f) for forms in TAG_GROUPS.values() for f in forms),
                     *MOOD_WORDS, r"(?:too |so |very )?\w+ly|lighter|darker|funnier|scarier|older|newer|longer|"
                     r"shorter|better|worse|sadder|happier|that|this|it|them|one|ones|movies?|films?|a|an|or|and|"
                     r"stuff|something|anything|(?:19|20)?\d0'?s|\d+"])


# what a message tells of the evening, not of the list: "the kids are finally asleep", "i watched
# half of a horror last night"
_TOLD = (r"\b(?:the|my|our) (?:kids?|children|little ones|son|daughter|boys|girls) (?:are|is|'re|have|has) "
         r"(?:finally |now |all |both |already |fast |gone )*(?:asleep|in bed|to bed|to sleep|away|out|at [\w']+)\b|"
         r"\b(?:i|we) (?:just |already )?(?:watched|saw) (?:half (?:of )?|most of |part of )?an? [\w-]+(?: (?:movie|film|flick))?|"
         # "i loved paddington 2 with the grandkids": whom a film was watched with asks for no kids' film
         r"\b(?:i|we) (?:just |already |really |all )?(?:loved|liked|enjoyed|watched|saw)\b[^,.;!?]{1,40}? with (?:my|the|our) "
         r"(?:whole )?(?:grand)?(?:kids?|children|family|sons?|daughters?|little ones)\b|"
         # "halloween party next weekend, need something creepy": the evening's occasion, no topic asked
         r"\b(?:halloween|christmas) (?:party|parties|sleepover)\b")


def _told(text: str) -> str:
    return _compiled(_TOLD).sub(lambda m: " " * len(m.group(0)), text)


def _in_passing(act: TurnAct, text: str) -> bool:
    """A message about shown items that names a genre or topic without asking for anything ("why is die
    hard on a christmas list", "the pixar one is a yes, my son loves it"); an exclusion is always asked."""
    if act.not_genres or act.not_tags or act.not_titles or act.mood:
        return False
    return not re.search(r"\b(?:something|anything|show me|give me|i want|i need|i asked for|i said|looking for|try|"
                         r"recommend|suggest|more|instead|rather|please|pls|make it|how about|what about|got any|any|also|"
                         r"what other|other|(?:is|are) there|this time)\b", text)  # "seen john wick. other action with car chases?"


def _only_a_year(act: TurnAct, text: str) -> bool:
    """'saw it in 2019': a year said of a viewing, not asked of the list."""
    return bool(act.era and not (act.genres or act.not_genres or act.tags or act.not_tags or act.mood)
                and not re.search(r"\b(something|anything|movies?|films?|from the|more)\b", text))


def _off_topic(text: str) -> bool:
    return bool(re.match(r"\s*(what's|whats|what is|who|tell me|how are|how's|thanks|thank you|lol|ok|okay|hi|hello)\b", text))


def _asks(text: str) -> bool:
    return bool(re.search(r"\b(recommend|suggest|something|anything|movies?|films?|watch|show me|give me|what should|"
                          r"what(?:'s| is|s) good|"
                          r"surprise me|looking for|in the mood|i want|i need|a good)\b", text))


def _request(text: str, genres: list[str], excluded: list[tuple[int, int, str]] | None = None,
             skip_undo: bool = False) -> tuple[int, _Request] | None:
    """Genres, tags, titles to avoid, a decade and a mood; None when the message asks none of that."""
    act, first = _Request(act="recommend"), len(text)
    clean = _told(re.sub(_POSITION, " ", text))  # "#1" is a list place, never a year
    for said_at, _, name in excluded if excluded is not None else _excluded_titles(clean, genres):
        act.not_titles.append(name)  # "anything but star wars": never the War genre
        first = min(first, said_at)
        clean = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", lambda m: " " * len(m.group(0)), clean)
    for genre, alt in _genre_patterns(genres).items():
        if skip_undo:
            break
        if m := _search(rf"\b{_NEG}\s+(?:[\w-]+\s+){{0,2}}?(?:{alt})\b", clean):
            act.not_genres.append(genre)
            first = min(first, m.start())
        elif (m := _search(rf"\b(?:{alt})\b", clean)) and genre not in act.not_genres:
            act.genres.append(genre)
            first = min(first, m.start())
    romcom = rf"\b{_NEG}\s+(?:a |an )?romantic comed(?:y|ies)"
    if "Comedy" in act.not_genres and re.search(romcom, clean) and \
            re.search(r"(?<!romantic )\bcomed(?:y|ies)\b", re.sub(romcom, " ", clean)):
        act.not_genres.remove("Comedy")  # "a comedy but not a romcom": no romance, comedy still asked for
        act.genres.append("Comedy")
    said = {tag: m.span() for tag, forms in TAG_GROUPS.items()
            if (m := _search(rf"\b(?:{_forms_pattern(forms)})\b", clean))}
    for tag, (start, end) in said.items():
        if any(a <= start and end <= b and b - a > end - start for a, b in said.values()):
            continue  # "talking animals" is no topic "animals" as well
        alt = _forms_pattern(TAG_GROUPS[tag])
        if m := _search(rf"\b{_NEG}\s+(?:[\w-]+\s+){{0,2}}?(?:{alt})\b", clean):
            act.not_tags.append(tag)
            first = min(first, m.start())
        else:
            act.tags.append(tag)
            first = min(first, start)
    for phrase, mood in MOOD_WORDS.items():
        if m := _search(rf"\b{phrase}(?:er|-ish|ish)?\b", clean):
            act.mood, first = mood, min(first, m.start())
            break
    if (era := read_era(clean)) is not None:
        act.era = era
        first = min(first, re.search(r"\d|recent|new|old|classic", clean).start() if re.search(
            r"\d|recent|new|old|classic", clean) else first)
    act.query = residual_query(clean, _genre_patterns(genres))
    if not act.has_constraints():
        return (len(text), act) if act.query or _asks_for_more(text) or _asks(text) else None
    return first, act
