"""What a chat message asks the agent to do, as typed acts: recommend (or refine), more like an
item, explain an item, a question about an item, feedback, undo a constraint, start over, or
unclear. The rules here always run; a model's reading can fill in what they miss.

References resolve one way everywhere: "#2", "number 2", "the second (one)", "the last one",
"that one" / "it" (the item last talked about), "the Pixar one" (a word the item's title, genres
or tags carry), or a title as typed, matched against the list on screen."""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import BaseModel, Field

from agent.intent import CATEGORY_SYNONYMS, MOODS, Era, parse_era, residual_query
from agent.types import Signal

ActName = Literal["recommend", "more_like", "explain", "question", "feedback", "undo", "reset", "unclear"]
About = Literal["year", "genre", "plot", "cast", "length", "rating", "other"]
MOOD_WORDS = {**{m: m for m in MOODS}, "scary": "scary", "creepy": "scary", "spooky": "scary",
              "chill": "lighter", "easy": "lighter", "uplifting": "feel-good", "heartwarming": "feel-good",
              "gritty": "darker", "bleak": "darker", "thrilling": "exciting", "smart": "thought-provoking"}
# typos and spellings people use, repaired before reading (whole words)
TYPOS = {"comdy": "comedy", "comedys": "comedies", "comedie": "comedy", "horor": "horror", "horrer": "horror",
         "thriler": "thriller", "romcom": "romantic comedy", "romcoms": "romantic comedies", "scifi": "sci-fi",
         "sci fi": "sci-fi", "animaton": "animation", "documentry": "documentary", "ninties": "90s",
         "nineties": "90s", "eighties": "80s", "seventies": "70s", "sixties": "60s", "fifties": "50s",
         "twothousands": "2000s", "superheros": "superheroes", "super hero": "superhero", "super heroes": "superheroes",
         "wached": "watched", "whatched": "watched", "allready": "already", "alredy": "already", "pls": "please",
         "plz": "please", "u": "you", "ur": "your", "w/o": "without", "dont": "don't", "no more": "no"}
# tag words and the catalog tags they stand for (a person says "superheroes", the tags say "comic book")
TAG_GROUPS = {"superhero": ("superhero", "superheroes", "comic book", "marvel", "dc comics", "super-hero"),
              "zombie": ("zombie", "zombies"), "time travel": ("time travel",), "pixar": ("pixar",),
              "disney": ("disney",), "heist": ("heist",), "dystopia": ("dystopia", "dystopian"),
              "space": ("space", "space travel"), "christmas": ("christmas",), "vampire": ("vampire", "vampires"),
              "twist ending": ("twist ending", "plot twist"), "based on a book": ("based on a book", "based on book"),
              "dog": ("dog", "dogs"), "robot": ("robots", "robot"), "alien": ("aliens", "alien"),
              "serial killer": ("serial killer",), "martial arts": ("martial arts", "kung fu"),
              "dinosaur": ("dinosaurs", "dinosaur"), "magic": ("magic",), "pirate": ("pirates", "pirate")}
_NEG = r"(?:no|not|without|avoid|skip|except|nothing|none of|less|minus|no more|hate|dont want|don't want)"
_ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "last": -1}
_POSITION = (r"#\s*(\d{1,2})\b|\bnumber\s+(\d{1,2})\b|\bno\.\s*(\d{1,2})\b|\b(?:the\s+)?(first|second|third|fourth|fifth|"
             r"sixth|seventh|eighth|ninth|tenth|last)(?:\s+(?:one|pick|movie|film))?\b|\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)"
             r"(?:\s+(?:one|pick|movie|film))?\b")
_ANAPHOR = r"\b(?:that one|this one|that movie|this movie|that film|this film|that|it|this)\b"


class Ref(BaseModel):
    """Which item a message means; at most one field is set."""

    position: int | None = Field(None, description="1-based place in the list on screen; -1 = the last")
    anaphor: bool = Field(False, description="'that one', 'it': the item last talked about")
    title: str | None = Field(None, description="a title as the person wrote it")
    describe: str | None = Field(None, description="a word that tells the item apart ('pixar', 'animated')")


class TurnAct(BaseModel):
    act: ActName
    genres: list[str] = Field(default_factory=list)
    not_genres: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    not_tags: list[str] = Field(default_factory=list)
    not_titles: list[str] = Field(default_factory=list)
    era: Era | None = None
    mood: str | None = None
    ref: Ref | None = None
    refs: list[Ref] = Field(default_factory=list)
    signal: Signal | None = None
    about: About | None = None
    what: dict | None = Field(None, description="undo: the constraint taken back")
    query: str = Field("", description="free text left for semantic search")


def catalog_words(texts) -> set[str]:
    """Lower-case words of 3+ letters in `texts` (titles, tags, descriptions)."""
    return {w for t in texts for w in re.findall(r"[a-z]{3,}", t.lower())}


def normalise(message: str) -> str:
    text = " ".join(message.lower().replace("’", "'").split())
    for typo, fixed in sorted(TYPOS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"(?<![\w-]){re.escape(typo)}(?![\w-])", fixed, text)
    return text


def read_turn(message: str, genres: list[str], shown: list[str] | None = None,
              known_words: set[str] | None = None) -> list[TurnAct]:
    """The acts a message asks for, in the order it says them (the rules' reading). With
    `known_words` (the catalog's), free text made only of unknown words ("asdf") is no request."""
    text, shown = normalise(message), shown or []
    found: list[tuple[int, TurnAct]] = []
    if m := re.search(r"\b(start over|start again|reset|forget everything|from scratch|new search|clear (it )?all)\b", text):
        found.append((m.start(), TurnAct(act="reset")))
    found += _feedback(text, shown)
    found += _explain_or_question(text, shown)
    undo = _undo(text, genres)
    found += undo
    more = _more_like(text, shown)
    found += more
    # a question's own words ("is it scary?") ask nothing of the list
    asked = min((i for i, a in found if a.act == "question"), default=len(text))
    request = _request(text[:asked], genres, skip_undo=bool(undo))
    taken = {a.act for _, a in found}
    if request is not None:
        first, act = request
        if known_words is not None and act.query and not set(act.query.split()) & known_words:
            act.query = ""  # words the catalog never uses: nothing to search for
        if more:  # "more like #2 but older": the constraints belong to the more-like act
            for field in ("genres", "not_genres", "tags", "not_tags", "not_titles", "era", "mood"):
                setattr(more[0][1], field, getattr(act, field))
        elif act.has_constraints() or _asks_for_more(text) or (not taken - {"reset"} and (act.query or _asks(text))):
            found.append((first, act))
    if not found and (ref := ref_in(text, shown)) is not None and not ref.anaphor:
        found.append((0, TurnAct(act="question", ref=ref, about="other")))  # "#2", "the second one?": tell about it
    if not found:
        return [TurnAct(act="unclear")]
    return [act for _, act in sorted(found, key=lambda pair: pair[0])]


def _asks_for_more(text: str) -> bool:
    return bool(re.search(r"\b(something else|anything else|other (ones|options|picks|suggestions)|more (please|picks)|"
                          r"show me (more|others)|what else|next|another|different ones?)\b", text))


def ref_in(text: str, shown: list[str]) -> Ref | None:
    """The first reference in `text` (see the module's doc)."""
    if m := re.search(_POSITION, text):
        number = next((g for g in (*m.groups()[:3], m.group(5)) if g), None)
        return Ref(position=int(number) if number else _ORDINAL[m.group(4)])
    if title := _shown_title(text, shown):
        return Ref(title=title)
    if m := re.search(r"\bthe ([\w-]+(?: [\w-]+)?) one\b", text):
        return Ref(describe=m.group(1))
    if re.search(_ANAPHOR, text):
        return Ref(anaphor=True)
    return None


def _shown_title(text: str, shown: list[str]) -> str | None:
    """A title on screen the message names, as the message spells it (fuzzy: "toy stroy")."""
    words = re.findall(r"[\w']+", text)
    for title in shown:
        bare = re.sub(r"\s*\(\d{4}\)\s*$", "", title).lower()
        core = re.sub(r"^(the|a|an) ", "", bare)
        n = len(core.split())
        if n == 0 or (n == 1 and len(core) < 4):
            continue
        for i in range(len(words) - n + 1):
            span = " ".join(words[i:i + n])
            if difflib.SequenceMatcher(None, span, core).ratio() >= (0.85 if n == 1 else 0.8):
                return span
    return None


def _feedback(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    out = []
    verbs = (("dislike", r"dislike[sd]?|hated?|didn't like|did not like|not for me|not a fan of|meh on"),
             ("seen", r"seen|watched|already saw|saw|already watched|i've seen|have seen|already know"),
             ("like", r"(?<!dis)(?<!would )(?<!i'd )(?<!more )(?<!something )liked?|loved?|enjoyed|great pick|"
                      r"good one|nice one"))
    for signal, verb in verbs:
        for m in re.finditer(rf"\b(?:{verb})\b\s*:?\s*(.{{0,60}})", text):
            head = m.group(1)
            if signal == "like" and re.match(r"(something|a |an |to |some |movies|films|more)", head):
                continue  # "I'd like something", "like to watch"
            refs = _refs(head, shown)
            if refs is None and signal == "seen" and re.search(r"\b(already|it all|them all|those)\b", text[m.start():]):
                refs = [Ref(anaphor=True)]
            if refs:
                out.append((m.start(), TurnAct(act="feedback", signal=signal, refs=refs)))
    return out


def _refs(head: str, shown: list[str]) -> list[Ref] | None:
    """'2', '#1 and 3', 'the second one', 'that one', a shown title: at the start of `head`."""
    head = re.split(r"[.;!?]| but | so | something | anything ", head)[0]
    parts = [p.strip() for p in re.split(r",|\band\b|&", head) if p.strip()]
    refs = []
    for part in parts[:4]:
        if re.fullmatch(r"#?\s*\d{1,2}", part):
            refs.append(Ref(position=int(part.strip("# "))))
        elif (ref := ref_in(part, shown)) is not None:
            refs.append(ref)
        else:
            break
    return refs or None


def _explain_or_question(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    out = []
    if m := re.search(r"\b(why|how come|what makes|reason|explain|what about .* fits?)\b", text):
        ref = ref_in(text[m.start():], shown) or ref_in(text, shown) or Ref(anaphor=True)
        out.append((m.start(), TurnAct(act="explain", ref=ref)))
    abouts = (("length", r"how long|runtime|run time|length|minutes"),
              ("year", r"what year|when was|when did|how old|released|came out"),
              ("cast", r"who (is|was|stars|plays|directed|made)|actors?|cast|director|starring"),
              ("rating", r"rated|rating|any good|worth (it|watching)|score|reviews?"),
              ("genre", r"animated|scary|funny|a comedy|a horror|genre|for kids|family friendly|violent|sad"),
              ("plot", r"what(?:'s| is) .* about|about\?|plot|story|premise|tell me (more )?about|what happens"))
    if m := re.search(r"\b(is|was|are|does|did|what|what's|who|when|how|tell me)\b.*", text):
        span = text[m.start():]
        for about, pattern in abouts:
            if q := re.search(rf"\b(?:{pattern})", span):
                ref = ref_in(span, shown) or ref_in(text, shown)
                if ref is not None and not (about == "genre" and re.search(r"\b(something|anything|movies|films)\b", span)):
                    out.append((m.start() + q.start(), TurnAct(act="question", ref=ref, about=about)))
                break
    return out


def _more_like(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    m = re.search(r"\b(more like|similar to|something like|stuff like|movies like|films like|in the vein of|along the "
                  r"lines of|closer to)\s+(.+?)(?:[,;!?]| but | from | without | no |$)", text)
    if m is None or re.match(r"(this|that) (but|from)", m.group(2)):
        return []
    target = m.group(2).strip()
    ref = ref_in(target, shown) if not re.fullmatch(r"[a-z' ]+", target) or _shown_title(target, shown) \
        or re.search(_POSITION + "|" + _ANAPHOR, target) else Ref(title=target)
    return [(m.start(), TurnAct(act="more_like", ref=ref or Ref(title=target)))]


def _undo(text: str, genres: list[str]) -> list[tuple[int, TurnAct]]:
    patterns = _genre_patterns(genres)
    if m := re.search(r"\b(undo( that)?|take that back|never ?mind that|scratch that)\b", text):
        return [(m.start(), TurnAct(act="undo", what={"last": True}))]
    allow = r"(is|are) (fine|ok|okay|alright|good) (again|now|after all)|again is fine|back in|allowed again"
    for genre, alt in patterns.items():
        if m := re.search(rf"\b(?:{alt})\b (?:{allow})|\b(?:allow|bring back|ok with|okay with) (?:the )?(?:{alt})\b", text):
            return [(m.start(), TurnAct(act="undo", what={"not_genres": [genre]}))]
        if m := re.search(rf"\b(?:drop|remove|forget|lose) the (?:{alt})(?: filter| part| thing| bit)?\b|\bno need for "
                          rf"(?:{alt})\b|\b(?:{alt}) doesn't matter\b", text):
            return [(m.start(), TurnAct(act="undo", what={"genres": [genre]}))]
    if m := re.search(r"\b(?:drop|remove|forget|ignore|lose) the (?:\d0s|decade|era|year|date|time)[\w ]{0,12}|\bany "
                      r"(?:decade|era|year) is fine|\bdoesn't have to be (?:from the )?\d0s\b", text):
        return [(m.start(), TurnAct(act="undo", what={"era": True}))]
    if m := re.search(r"\b(?:forget|drop|never ?mind) the (?:mood|lighter|darker|light|dark)\b", text):
        return [(m.start(), TurnAct(act="undo", what={"mood": True}))]
    return []


def _genre_patterns(genres: list[str]) -> dict[str, str]:
    out: dict[str, list[str]] = {g: [re.escape(g.lower()), re.escape(g.lower()) + "s"] for g in genres}
    lower = {g.lower(): g for g in genres}
    for word, target in CATEGORY_SYNONYMS.items():
        if target in lower and word not in ("scary",):  # "scary" is a mood, not the Horror genre
            out[lower[target]].append(re.escape(word))
    for extra, target in (("romantic comed(?:y|ies)", "romance"), ("cartoons?", "animation"), ("docs?", "documentary"),
                          ("anime", "animation"), ("noir", "film-noir"), ("tearjerkers?", "drama"), ("slashers?", "horror")):
        if target in lower:
            out[lower[target]].append(extra)
    return {g: "|".join(sorted(set(p), key=len, reverse=True)) for g, p in out.items()}


class _Request(TurnAct):
    def has_constraints(self) -> bool:
        return bool(self.genres or self.not_genres or self.tags or self.not_tags or self.not_titles or self.era
                    or self.mood)


def _asks(text: str) -> bool:
    return bool(re.search(r"\b(recommend|suggest|something|anything|movies?|films?|watch|show me|give me|what should)\b",
                          text))


def _request(text: str, genres: list[str], skip_undo: bool = False) -> tuple[int, _Request] | None:
    """Genres, tags, titles to avoid, a decade and a mood; None when the message asks none of that."""
    act, first = _Request(act="recommend"), len(text)
    clean = re.sub(_POSITION, " ", text)  # "#1" is a list place, never a year
    for genre, alt in _genre_patterns(genres).items():
        if skip_undo:
            break
        if m := re.search(rf"\b{_NEG}\s+(?:[\w-]+\s+){{0,2}}?(?:{alt})\b", clean):
            act.not_genres.append(genre)
            first = min(first, m.start())
        elif (m := re.search(rf"\b(?:{alt})\b", clean)) and genre not in act.not_genres:
            act.genres.append(genre)
            first = min(first, m.start())
    for tag, forms in TAG_GROUPS.items():
        alt = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        if m := re.search(rf"\b{_NEG}\s+(?:[\w-]+\s+){{0,2}}?(?:{alt})\b", clean):
            act.not_tags.append(tag)
            first = min(first, m.start())
        elif m := re.search(rf"\b(?:{alt})\b", clean):
            act.tags.append(tag)
            first = min(first, m.start())
    if m := re.search(r"\b(?:nothing|not anything|nothing at all) like\s+(.+?)(?:[,.;!?]| but |$)", clean):
        act.not_titles.append(m.group(1).strip())
        first = min(first, m.start())
    for word, mood in MOOD_WORDS.items():
        if m := re.search(rf"\b{re.escape(word)}(?:er|-ish|ish)?\b", clean):
            act.mood, first = mood, min(first, m.start())
            break
    if (era := parse_era(clean)) is not None:
        act.era = era
        first = min(first, re.search(r"\d|recent|new|old|classic", clean).start() if re.search(
            r"\d|recent|new|old|classic", clean) else first)
    act.query = residual_query(clean, _genre_patterns(genres))
    if not act.has_constraints():
        return (len(text), act) if act.query or _asks_for_more(text) or _asks(text) else None
    return first, act
