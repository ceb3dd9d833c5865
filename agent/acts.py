"""What a chat message asks the agent to do, as typed acts: recommend (or refine), more like an
item, explain an item, a question about an item, feedback, undo a constraint, start over, or
unclear. The rules here always run; a model's reading can fill in what they miss.

References resolve one way everywhere: "#2", "number 2", "the second (one)", "the last one",
"that one" / "it" (the item last talked about), "the Pixar one" (a word the item's title, genres
or tags carry), or a title as typed, matched against the list on screen."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field

from agent.intent import CATEGORY_SYNONYMS, MOODS, Era, residual_query
from agent.types import Signal

ActName = Literal["recommend", "more_like", "explain", "question", "feedback", "undo", "reset", "unclear"]
About = Literal["year", "genre", "plot", "cast", "length", "rating", "other"]
MOOD_WORDS = {"(?:not|nothing|less|no|aren't|isn't|wasn't) (?:too |so |that |very |overly )?(?:dark|heavy|scary|"
              "intense|bleak|sad|depressing|violent|gory|creepy|spooky)": "lighter", "too scary": "lighter",
              "not (?:too |so )?light": "darker",
              "lighter": "lighter", "light": "lighter", "darker": "darker", "dark": "darker", "feel-good": "feel-good",
              "feel good": "feel-good", "exciting": "exciting", "thought-provoking": "thought-provoking",
              "thought provoking": "thought-provoking", "mind bending": "thought-provoking",
              "makes? you think(?! (?:i|i'd|i'll|i would|that))": "thought-provoking", "scary": "scary", "scare me": "scary", "creepy": "scary",
              "spooky": "scary", "chill": "lighter", "easy": "lighter", "fun": "lighter", "uplifting": "feel-good",
              "heartwarming": "feel-good", "gritty": "darker", "bleak": "darker", "thrilling": "exciting",
              "smart": "thought-provoking", "wholesome": "feel-good",
              "adrenaline": "exciting", "edge of (?:my|your|the) seat": "exciting", "action-packed": "exciting",
              "scarier": "scary", "spookier": "scary", "creepiest": "scary", "scariest": "scary", "spookiest": "scary", "cozy": "lighter", "mind-bending": "thought-provoking",
              "mindbending": "thought-provoking"}  # phrase (a pattern) → mood; the first that matches wins
# the genres a mood favours and avoids, for the moods the older reader (agent.intent.MOODS) lacks
MOOD_GENRES = {**MOODS, "scary": (["Thriller", "Horror", "Mystery"], ["Children", "Animation", "Comedy"])}
# typos and spellings people use, repaired before reading (whole words)
TYPOS = {"comdy": "comedy", "comedys": "comedies", "comedie": "comedy", "horor": "horror", "horrer": "horror",
         "thriler": "thriller", "romcom": "romantic comedy", "romcoms": "romantic comedies", "scifi": "sci-fi",
         "sci fi": "sci-fi", "animaton": "animation", "documentry": "documentary", "ninties": "90s",
         "nineties": "90s", "eighties": "80s", "seventies": "70s", "sixties": "60s", "fifties": "50s",
         "twothousands": "2000s", "superheros": "superheroes", "super hero": "superhero", "super heroes": "superheroes",
         "wached": "watched", "whatched": "watched", "allready": "already", "alredy": "already", "pls": "please",
         "plz": "please", "u": "you", "ur": "your", "w/o": "without", "dont": "don't", "no more": "no",
         "rom coms": "romantic comedies", "rom com": "romantic comedy", "rom-com": "romantic comedy", "sifi": "sci-fi",
         "xmas": "christmas", "nvm": "never mind", "fav": "favorite", "fave": "favorite", "doesnt": "doesn't",
         "isnt": "isn't", "arent": "aren't", "wasnt": "wasn't", "didnt": "didn't", "cant": "can't", "wont": "won't",
         "havent": "haven't", "ive": "i've", "im": "i'm", "youre": "you're",
         "thats": "that's", "whos": "who's", "somethign": "something", "smth": "something", "sth": "something",
         "somethin": "something", "anythin": "anything", "gimme": "give me", "moveis": "movies", "moives": "movies",
         "flicks": "movies", "y": "why", "adn": "and", "teh": "the", "b4": "before", "wat": "what", "abt": "about",
         "howlong": "how long", "funy": "funny", "favs": "favorites", "faves": "favorites",
         "fam": "family", "hows": "how's", "whens": "when's", "convo": "conversation", "nothin": "nothing",
         "waht": "what", "abuot": "about", "abotu": "about", "allredy": "already", "nubmer": "number", "numer": "number",
         "scarey": "scary", "les": "less", "acutaly": "actually", "gost": "ghost", "movis": "movies", "yer": "year",
         "cartons": "cartoons", "pleese": "please", "sum": "some"}
# tag words and the catalog tags they stand for (a person says "superheroes", the tags say "comic book")
TAG_GROUPS = {"superhero": ("superhero", "superheroes", "comic book", "marvel", "dc comics", "super-hero"),
              "zombie": ("zombie", "zombies"), "time travel": ("time travel",), "pixar": ("pixar",),
              "disney": ("disney",), "dystopia": ("dystopia", "dystopian"),
              "space": ("space", "space travel"), "christmas": ("christmas",), "vampire": ("vampire", "vampires"),
              "twist ending": ("twist ending", "plot twist"), "based on a book": ("based on a book", "based on book"),
              "dog": ("dog", "dogs"), "robot": ("robots", "robot"), "alien": ("aliens", "alien"),
              "serial killer": ("serial killer",), "martial arts": ("martial arts", "kung fu"),
              "dinosaur": ("dinosaurs", "dinosaur"), "magic": ("magic",), "pirate": ("pirates", "pirate"),
              "ghost": ("ghost", "ghosts", "haunted house", "haunting"), "dragon": ("dragon", "dragons"),
              "studio ghibli": ("studio ghibli", "ghibli"), "dreamworks": ("dreamworks",),
              "based on a true story": ("based on a true story", "true story", "true stories", "real events"),
              "heist": ("heist", "heists"), "spy": ("spy", "spies", "espionage"), "mafia": ("mafia", "mob", "gangster",
                                                                                      "gangsters"),
              "werewolf": ("werewolf", "werewolves", "werewolfs"), "shark": ("shark", "sharks"),
              "samurai": ("samurai",), "food": ("food", "cooking", "chef", "chefs"), "boxing": ("boxing", "boxer"),
              "football": ("football", "soccer"), "cat": ("cat", "cats"), "high school": ("high school",),
              "witch": ("witch", "witches"), "stephen king": ("stephen king",), "anime": ("anime",),
              "black and white": ("black and white", "b&w"), "sports": ("sports", "sport"),
              "talking animal": ("talking animals", "talking animal"), "road trip": ("road trip", "road movie"),
              "possession": ("possession", "exorcism"), "basketball": ("basketball",),
              "politics": ("politics", "political"), "cyberpunk": ("cyberpunk",),
              "post-apocalyptic": ("post-apocalyptic", "post apocalyptic", "apocalypse"),
              "music": ("music", "musician", "musicians", "band", "bands"), "car chase": ("car chase", "car chases"),
              "clown": ("clown", "clowns"), "nature": ("nature", "wildlife")}
_GENRE_OR_TOPIC_WORDS = frozenset({w for forms in TAG_GROUPS.values() for f in forms for w in f.split()}
                                  | {phrase for phrase in MOOD_WORDS if re.fullmatch(r"[a-z-]+", phrase)}
                                  | {w.lower() for w in [*CATEGORY_SYNONYMS, *CATEGORY_SYNONYMS.values()]}
                                  | {"action", "fantasy"})
_NEG = (r"(?:no|not|without|avoid|skip|except|nothing|none of|less|minus|no more|hates?|dont want|don't want|"
        r"can't stand|cannot stand|can't do|anything but|sick of|tired of|done with|enough(?: of)?|"
        r"(?:that|which) (?:isn't|aren't|is not|are not)|that's not)")
_ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "last": -1}
_POSITION = (r"#\s*(\d{1,2})\b|\bnumber\s+(\d{1,2})\b|\bno\.\s*(\d{1,2})\b|\b(?:the\s+)?(first|second|third|fourth|fifth|"
             r"sixth|seventh|eighth|ninth|tenth|last(?!\s+(?:century|decade|\d+|few|couple|years?|night|week|weekend|month|summer|winter|xmas|christmas|"
             r"halloween|time|part|bit|thing)\b))(?:\s+(?:one|pick|movie|film))?\b|\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)"
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


def catalog_words(texts) -> set[str]:
    """Lower-case words of 3+ letters in `texts` (titles, tags, descriptions)."""
    return {w for t in texts for w in re.findall(r"[a-z]{3,}", t.lower())}


_NUMBER_WORDS = {w: n for n, w in enumerate("one two three four five six seven eight nine ten".split(), 1)}


def normalise(message: str) -> str:
    text = " ".join(message.lower().replace("’", "'").split())
    for typo, fixed in sorted(TYPOS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"(?<![\w-]){re.escape(typo)}(?![\w-])", fixed, text)
    text = re.sub(r"\b(?:the )?(?:top|first) (?:pick|choice)\b", "the first one", text)  # "the top pick"
    # "seen it like 50 times": a filler "like", no liking
    text = re.sub(r"\blike (?=(?:a (?:dozen|million|hundred|thousand|few)|\d+|so many) ?(?:times|x)\b)", "", text)
    text = re.sub(r"\bso{3,}\b", "so", text)  # "sooo good"
    # a statement with a question tag asks a question: "casino is like 3 hrs right?" -> "is casino like 3 hrs?"
    text = re.sub(r"(^|[.!?]\s+)([a-z0-9][\w' :-]{1,40}?) (is|was|isn't|wasn't) ([^.!?]{2,60}?),? (?:right|is it|isn't it|"
                  r"wasn't it|was it|no|yeah|correct)\?",
                  lambda m: m.group(1) + m.group(3).replace("n't", "") + f" {m.group(2)} {m.group(4)}?", text)
    text = re.sub(r"(^|[.!?]\s+)([a-z0-9][\w' :-]{1,40}?), (?:it|that) (is|was) ([^.!?]{2,60}?)\?",
                  lambda m: f"{m.group(1)}{m.group(3)} {m.group(2)} {m.group(4)}?", text)
    # "number five", "no. two", "#three": a place in the list written as a word
    return re.sub(rf"(\bnumber\s+|\bno\.\s*|#\s*)({'|'.join(_NUMBER_WORDS)})\b",
                  lambda m: f"{m.group(1)}{_NUMBER_WORDS[m.group(2)]}", text)


def read_turn(message: str, genres: list[str], shown: list[str] | None = None,
              known_words: set[str] | None = None) -> list[TurnAct]:
    """The acts a message asks for, in the order it says them (the rules' reading). With
    `known_words` (the catalog's), free text made only of unknown words ("asdf") is no request."""
    text, shown = normalise(message), shown or []
    if known_words is not None:
        text = repair_typos(text, known_words | {w for t in shown for w in re.findall(r"[a-z]+", t.lower())})
    if re.search(_OFF_TOPIC, text):
        return [TurnAct(act="unclear")]
    found: list[tuple[int, TurnAct]] = []
    if m := re.search(r"\b(start(?:ing)? (?:over|again|fresh|afresh)|restart|reset|forget (?:everything|all (?:of )?(?:that|"
                      r"this|it))|from scratch|(?:start )?(?:a )?new search|clear (?:it )?all|clean slate|square one|"
                      r"(?:scrap|wipe|clear) (?:all|everything|it all)(?: of (?:this|that|it))?|"
                      r"(?:scrap|wipe|clear|reset|drop|remove) (?:my|the|all(?: the)?) filters|begin again|fresh start|"
                      r"start afresh|forget what i said|let's start again|back to square one|(?:start|begin) (?:from|at) zero|"
                      r"(?:wipe|clean|clear) the slate(?: clean)?|blank slate|new (?:convo|conversation|chat|session)|"
                      r"(?:start|open) (?:a )?(?:new|fresh|another) (?:convo|conversation|chat|session))\b", text):
        found.append((m.start(), TurnAct(act="reset")))
    found += _feedback(text, shown)
    found += _explain_or_question(text, shown)
    undo = _undo(text, genres)
    found += [(i, a) for i, a, _ in undo]
    more = _more_like(text, shown)
    said_like = re.search(_MORE_LIKE, text) or _kind_like(text)
    if more and said_like:  # "like #4 but funnier", "movies like heat": a request for more like it, not a like
        start, end = said_like.span()
        found = [(i, a) for i, a in found if not (a.act == "feedback" and a.signal == "like" and start <= i < end)]
    found += more
    # a question's own words ("is it scary?") ask nothing of the list
    rest = text
    for at in sorted((i for i, a in found if a.act == "question"), reverse=True):
        end = text.find("?", at) + 1 or len(text)  # a question's own sentence asks nothing of the list
        rest = rest[:at] + " " * (end - at) + rest[end:]
    # a verdict on an item ("#2 looks fun") asks nothing of the list either
    rest = re.sub(rf"\b(?:looks?|sounds?|seems?|is|was)\s+(?:so |really |super |pretty )?(?:{_GOOD}|fun|interesting)(?!\w)|"
                  rf"{_PRAISE}", " ", rest)
    for _, _, span in undo:  # what an undo takes back is no new constraint
        rest = rest.replace(span, " ")
    excluded = _excluded_titles(re.sub(_POSITION, " ", rest), genres)
    request = _request(_without_refs(rest, shown, found), genres, excluded)
    taken = {a.act for _, a in found}
    if request is not None:
        first, act = request
        if known_words is not None and act.query and not set(act.query.split()) & known_words:
            act.query = ""  # words the catalog never uses: nothing to search for
        if more:  # "more like #2 but older": the constraints belong to the more-like act
            for field in ("genres", "not_genres", "tags", "not_tags", "not_titles", "era", "mood"):
                setattr(more[0][1], field, getattr(act, field))
        elif act.has_constraints() and not (taken & {"feedback"} and _only_a_year(act, text)) \
                and not (taken & {"explain", "question", "feedback"} and _in_passing(act, text)) or _asks_for_more(text):
            found.append((first, act))
        elif not taken and (_asks(text) or (act.query and len(act.query.split()) >= 2 and not _off_topic(text))):
            found.append((first, act))
    if not found and (ref := ref_in(text, shown)) is not None and not ref.anaphor:
        # "the second one", "runtime of #4?": tell about it (the corpus calls a bare place unclear; the
        # chat answers with the item and what one can say of it)
        found.append((0, TurnAct(act="question", ref=ref, about=about_of(text))))
    if not found:
        return [TurnAct(act="unclear")]
    return _named_before(sorted(found, key=lambda pair: pair[0]), text, shown)


def _named_before(found: list[tuple[int, TurnAct]], text: str, shown: list[str]) -> list[TurnAct]:
    """The acts, the first one's "it" / "that one" resolved to a title or place the message named
    before it and gave no act of its own ("paprika? never heard of it, why that one")."""
    acts = [act for _, act in found]
    if not found:
        return acts
    at, first = found[0]
    refs = [first.ref] if first.ref else first.refs
    if refs and all(r.anaphor for r in refs) and at > 0:
        named = ref_in(re.sub(r"\b(?:it|that|this)\b.*$", "", text[:at]), shown)
        if named is not None and not named.anaphor:
            if first.ref:
                first.ref = named
            else:
                first.refs = [named]
    return acts


# what the agent cannot do at all: the reply says what it can
_OFF_TOPIC = (r"\b(?:order (?:me )?(?:a |some )?(?:pizza|food|taxi|uber)|weather|what are you able to|what do you do|"
              r"what can you (?:even |actually |really )?do|who are you|are you (?:a bot|human|real)|tell me a joke|"
              r"how are you|what time is it|meaning of life|is this thing on|who won|score of the game)\b|"
              r"^\W*(?:hmm+|umm*|uh+|well)?\W*(?:not sure|dunno|i don't know|idk|no idea)"
              r"(?:\W+(?:man|bro|dude|lol|tbh|honestly|really|haha|tho))*\W*$")


@lru_cache(maxsize=1)
def _keywords() -> frozenset[str]:
    """The words the rules read: genres, topics, moods, verdicts, question words."""
    single = [w for w in [*CATEGORY_SYNONYMS, *CATEGORY_SYNONYMS.values(), *TAG_GROUPS, *MOOD_WORDS,
                          *(f for forms in TAG_GROUPS.values() for f in forms)] if re.fullmatch(r"[a-z]+", w)]
    single += """comedy comedies horror thriller thrillers western westerns musical musicals drama dramas romance
    mystery fantasy adventure action animation documentary children movies movie films something anything recommend
    suggest similar already watched interesting worth travel older newer recent classic funnier boring perfect amazing
    awesome terrible excellent brilliant fantastic instead except without hilarious favorite favorites directed
    director before after since until""".split()
    return frozenset(w for w in single if len(w) >= 5)


# everyday words a typo repair must not turn into a keyword ("since" is not "science")
_PLAIN_WORDS = frozenset("""since sense scene there their about would could should other these those which where while
think thing maybe actually really little still never always again after before under above below first second third
fourth fifth last night today tonight tomorrow weekend watch watching seeing guess happy sorry thanks right wrong
might alone together friend friends girlfriend boyfriend husband partner daughter parents mother father sister
brother stuff great sound sounds looks looked liked loved hated enjoy enjoyed start again rather pretty kinda sorta
lighter fighter ditch watches watched chases""".split())


def repair_typos(text: str, known_words: set[str]) -> str:
    """Each word of 5+ letters that neither the catalog nor the rules know, replaced by the rules'
    word it nearly is ("horrror", "dragns", "worht", "perfcet"); a title's word is left alone."""
    keywords = _keywords()

    def repaired(m: re.Match) -> str:
        word = m.group(0)
        if len(word) < 5 or word in keywords or word in known_words or word in _PLAIN_WORDS:
            return word
        close = difflib.get_close_matches(word, keywords, n=1, cutoff=0.8)
        return close[0] if close else word
    return re.sub(r"[a-z]+", repaired, text)


def read_era(text: str) -> Era | None:
    """Years a message asks for: "the 90s", "late 80s", "80s or 90s", "90s or newer", "between 1985 and
    1995", "before 1980" (to 1979), "after 2010" (from 2011), "since 2010", "from 2001", "recent", "old"."""
    year = r"((?:19|20)\d\d)"
    if m := re.search(rf"\b(?:between|from)\s+{year}\s*(?:and|to|-|–)\s*{year}\b|\b{year}\s*[-–]\s*{year}\b", text):
        a, b = [int(g) for g in m.groups() if g]
        return Era(start=min(a, b), end=max(a, b))
    decade = r"(early|mid|late)?[ -]?(?:the\s+)?((?:19|20)?\d)0'?s\b"
    if m := re.search(rf"\b{year}\s*(?:onwards?|and (?:later|after|newer|up)|or (?:later|newer|after)|\+|on)\b", text):
        return Era(start=int(m.group(1)))
    if m := re.search(rf"\b(?:nothing|not) (?:from )?(?:before|older than) {year}", text):
        return Era(start=int(m.group(1)))
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
    if re.search(r"\b(recent|newer|newest|latest|modern|new (?:movies?|films?|releases?|ones?|stuff|[\w-]+ movies))\b", text):
        return Era(start=2010)
    if re.search(r"\b((?<!year )(?<!years )(?<!yr )(?<!yrs )old|older(?! (?:kids|children|teens|audiences?))|classics?|"
                 r"black and white|golden age|vintage)\b", text):
        return Era(end=1979)
    return None


def _decade(part: str | None, digits: str) -> tuple[int, int]:
    if len(digits) == 1:
        digits = ("20" if digits in "012" else "19") + digits
    start = int(digits) * 10
    first, last = {"early": (0, 4), "mid": (3, 7), "late": (5, 9)}.get(part or "", (0, 9))
    return start + first, start + last


def _without_refs(text: str, shown: list[str], found: list[tuple[int, TurnAct]]) -> str:
    """The text a request is read from: references ("the horror one", a title on screen) and the
    titles feedback or "more like" named are no constraints."""
    text = re.sub(r"\bthe [\w-]+(?: [\w-]+){0,2} one\b", " ", _mask_titles(text, shown))
    for _, act in found:
        for ref in [act.ref, *act.refs]:
            if ref is not None and ref.title:
                text = re.sub(rf"(?<!\w){re.escape(ref.title)}(?!\w)", " ", text)
    return text


def _asks_for_more(text: str) -> bool:
    return bool(re.search(r"\b(something else|anything else|other (ones|options|picks|suggestions)|more (please|picks)|"
                          r"other [\w-]+ (?:stuff|movies|films|ones)|show me (?:\w+ )?more|(?:\d+|five|ten|a few) more|"
                          r"show me (more|others)|what else|next|another|different ones?)\b", text))


def ref_in(text: str, shown: list[str]) -> Ref | None:
    """The first reference in `text` (see the module's doc)."""
    title = _shown_title(text, shown)
    if (m := re.search(_POSITION, text)) and not (title and m.group(0).strip() in title and len(title.split()) > 1):
        number = next((g for g in (*m.groups()[:3], m.group(5)) if g), None)
        return Ref(position=int(number) if number else _ORDINAL[m.group(4)])  # "the 12th one": said to be none
    if title:
        return Ref(title=title)
    if m := re.search(r"\bthe ([\w-]+(?: [\w-]+){0,2}) (?:one|movie|film)\b|"
                      r"\bthe one with (?:the |a |an )?([\w-]+(?: [\w-]+)?)\b", text):
        word = m.group(1) or m.group(2)
        if re.search(r"\b(?:a|an|that|this|it|on|is|of)\b", word):  # "the runtime on that one", "the notebook a sad one"
            return ref_in(" ".join(m.group(0).split()[-2:]), shown) if m.group(1) else None  # "that one", or none
        in_title = any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", name) for t in shown for name in _title_names(t))
        return Ref(title=word) if in_title and m.group(1) else Ref(describe=word)
    if re.search(_ANAPHOR, text):
        return Ref(anaphor=True)
    return None


def _on_screen(place: int, shown: list[str]) -> bool:
    """Whether a bare number can be a place on the list ("why 28 days later" names a title; with no
    list on screen, any place may be meant)."""
    return not shown or place == -1 or 1 <= place <= len(shown)


def _shown_title(text: str, shown: list[str]) -> str | None:
    """A title on screen the message names, as the message spells it: in full or by a telling part
    of it, fuzzily ("toy stroy", "the prestige" for "Prestige, The", "mononoke", "indiana jones"
    for "Raiders of the Lost Ark (Indiana Jones and the Raiders of the Lost Ark)")."""
    words = re.findall(r"[\w']+", text)
    best: tuple[int, int, str] | None = None  # (-where, words matched, span): the earliest, the longest there
    for title in shown:
        for name in _title_names(title):
            whole = re.findall(r"[\w']+", name)
            for run in _telling_runs(whole):
                n, target = len(run), " ".join(run)
                for i in range(len(words) - n + 1):
                    span = " ".join(words[i:i + n])
                    if (span == target) if len(target) < 4 else span[0] == target[0] and \
                            difflib.SequenceMatcher(None, span, target).ratio() >= (0.85 if n == 1 else 0.8):
                        if i > 0 and words[i - 1] == "the" and run == whole and words[i + n:i + n + 1] != ["one"]:
                            span = "the " + span
                        if best is None or (-i, n) > best[:2]:
                            best = (-i, n, span)
                        break
    return best[2] if best else None


def _title_names(title: str) -> list[str]:
    """The names a catalog title goes by, lower case, without a year or an article: its main name
    and its alternate titles ("Princess Mononoke (Mononoke-hime) (1997)": both)."""
    name = re.sub(r"\s*\(\d{4}\)\s*$", "", title).lower()
    names = [re.sub(r"\([^()]*\)", "", name)] + [a.removeprefix("a.k.a. ") for a in re.findall(r"\(([^()]*)\)", name)]
    return [n for n in (re.sub(r",\s+(?:the|a|an)$|^(?:the|a|an)\s+", "", n.strip()) for n in names) if n]


# words too common to tell a title apart when said alone ("something dark" names no Dark Knight)
_PLAIN_TITLE_WORDS = frozenset("""the a an of and in on to for with at by from is it my your his her our their man men
woman women love day night dark story life world war wars big little last first new good great time one two three
king black white red blue green house home girl boy girls boys part movie film lost star stars kids city game games
dead death live back future american return returns rising ever after under over out up down all into about more
family friends friend school summer winter christmas secret hunt space shadow shadows blood light money street
""".split())


_PRONOUNS = frozenset("it its her him me us you them this that one his my our".split())


def _telling_runs(words: list[str]) -> list[list[str]]:
    """The whole name, then its runs of words that can stand for it: no plain word at either end,
    one word only if it has 5 letters or more; the name's first words may start with a plain one
    ("dead poets" for Dead Poets Society)."""
    if not words:
        return []
    if len(words) == 1 and len(words[0]) < 4:
        return [words] if len(words[0]) >= 2 and words[0] not in _PRONOUNS else []  # "Up", never "It" or "Her"
    runs = [words]
    for n in range(len(words) - 1, 0, -1):
        for i in range(len(words) - n + 1):
            run = words[i:i + n]
            if (run[0] in _PLAIN_TITLE_WORDS and not (i == 0 and n >= 2)) or run[-1] in _PLAIN_TITLE_WORDS \
                    or run[0].isdigit():
                continue
            if n == 1 and (len(run[0]) < 5 or run[0] in _GENRE_OR_TOPIC_WORDS):
                continue
            runs.append(run)
    return runs


_GOOD = (r"great|perfect|amazing|awesome|good|nice|fantastic|brilliant|excellent|favou?rites?|a yes|yes|love it|"
         r"5 stars|five stars|10/10|a must|must|sold|>>>|a masterpiece|masterpiece|goat|a classic|cute|cool|sick|hilarious|dope|fire|intriguing|promising|solid|"
         r"looks? (?:great|good|fun|interesting)|sounds? (?:great|good|perfect|fun)|👍|❤️|♥|🔥|😍")
_BAD = (r"boring|a no|no thanks|nope|nah|not for me|(?:aren't|isn't|are not|is not) for me|not my thing|isn't my thing|not my cup of tea|meh|bad|awful|"
        r"terrible|hated?|didn't care for|don't care for|skip|pass|dumb|lame|stupid|too slow|not interested|"
        r"no way|hard pass|no|not so much|not really|not feeling it|👎|🤮|😴")


# praise said in other words, read as "is great"
_PRAISE = (r"(?:\b(?:is|was|are|were)|'s) (?:the best|the goat|goated|peak|elite|iconic|legendary|top tier|so underrated|"
           r"underrated|my childhood|my (?:all[- ]time )?(?:favou?rite|fave?)|one of my (?:all[- ]time )?(?:favou?rite|fave?)s|"
           r"an? (?:absolute |total |real )?"
           r"(?:banger|gem|vibe|masterpiece|classic|must[- ]see|10))\b|\s?\b(?:blew (?:my mind|me away)|slaps|rocks)\b")
_FILLER = r"please|pls|lol|haha|thanks|thx|though|tho|honestly|tbh|again"  # words that end a message, not a name
_NEXT_ACT = (r"\bmore like\b|\bsimilar to\b|\bwhy\b|\bwhat\b|\bwhats\b|\bwhat's\b|\bwho\b|\bhow\b|\bwhen\b|"
             r"(?<=[,.;!?] )(?:is|are|was|does|did|can|could)\b")


def _feedback(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    verbs = (("dislike", r"dislike[sd]?|hated?|didn't like|did not like|didn't love|did not love|didn't enjoy|not for me|"
                         r"not a fan of|not into|not feeling|not loving|meh on|didn't care for|"
                         r"don't care for|no to|👎(?: on)?"),
             ("seen", r"seen|watched|already saw|saw|already watched|i've seen|have seen|already know|seen both|"
                      r"watched both"),
             ("like", r"(?<!dis)(?<!would )(?<!i'd )(?<!more )(?<!something )(?<!would i )(?<!will i )(?<!do i )"
                      r"(?<!nothing )(?<!anything )(?<!movies )(?<!films )(?<!stuff )(?<!things )(?<!ones )(?<!feel )"
                      r"(?<!didn't )(?<!don't )(?<!not )(?<!just )(?<!looks )(?<!sounds )(?<!kinda )(?<!look )(?<!seen )"
                      r"(?<!seem )(?<!seems )(?<!that's )(?<!that is )"
                      r"(?:liked?|loved?|enjoyed|really enjoyed|great pick(?: with)?|good one|nice one|yes to|👍|❤️ for)|"
                      r"(?:we'll|i'll|let's|we will|i will) (?:go with|take|pick|watch)|going with|gonna go with"))
    def spoken(verb: str) -> str:
        return rf"(?:^|\b|(?<=\s))(?:{verb})(?:\b|(?=\s)|$)"

    titled = _blank_titles(text, shown)  # "Love Actually" holds no verb
    verb_at = {m.start() for _, verb in verbs for m in re.finditer(spoken(verb), titled)}
    cues = {m.start() for m in re.finditer(_NEXT_ACT, text)}

    def said(stops: set[int]) -> list[tuple[int, TurnAct]]:
        """The verbs' feedback; a verb's refs end at the next stop ("like #2, dislike #3", "seen #2,
        more like #4"): each signal takes only the items named after it."""
        ordered, out = sorted(stops), []
        for signal, verb in verbs:
            for m in re.finditer(spoken(verb) + r"(?=\s*:?\s*(?:both |all of )?(.{0,60}))", titled):
                head = text[m.start(1):next((s for s in ordered if s >= m.start(1)), m.end(1))]
                if signal == "like" and re.match(r"(something|a |an |to |some |movies|films|more|it but|this but|that but|"
                                                 r"(?:19|20)\d\d|\d+\s*(?:times|hrs?|hours?|mins?|minutes|years?|days|%|"
                                                 r"yo|yrs?)|(?:after|before|since|from) )", head):
                    continue  # "I'd like something", "like to watch"
                refs = _refs(head, shown, titles_anywhere=True)
                if refs is None and signal == "dislike" and re.match(r"\s*(?:[.!,;]|$)", text[m.end():]) and \
                        re.search(r"(?:^|[.!?;,]\s*)$", text[:m.start()]):
                    refs = [Ref(anaphor=True)]  # "not for me." of the item just talked about
                if refs is None and signal == "seen" and re.search(r"\b(already|it all|them all|those|these|it)\b",
                                                                  text[max(0, m.start() - 9):]):
                    refs = [Ref(anaphor=True)] if not re.search(r"\ball\b", head) else _all(shown)
                if refs:
                    out.append((m.start(), TurnAct(act="feedback", signal=signal, refs=refs)))
        return out

    if thumbs := _thumbs_after(text, shown):  # "tombstone 👍 true grit 👎"
        return thumbs
    out = said(verb_at | cues)
    # "#4 looks great", "the third one isn't my thing", "1 and 2 are great": a clause no verb spoke
    # for is judged on its own, and ends the refs of a verb before it
    clauses = _clauses(text)
    judged = [(start, act) for start, clause in clauses
              if not any(start <= i < start + len(clause) for i, _ in out) and (act := _judged(clause, shown))]
    # "some like it hot, yes please": a bare verdict on the item the clause before names
    for (start, clause), (_, verdict) in zip(clauses, clauses[1:]):
        bare = re.fullmatch(r"(?:oh |and )?(yes|yes please|yess+|yep|yeah|love it|no thanks|nope|nah|hard pass|pass)"
                            r"(?: please| pls| thanks)?", verdict)
        if bare and not any(start <= i < start + len(clause) for i, _ in out + judged) and \
                (ref := ref_in(clause, shown)) is not None and not ref.anaphor and len(clause.split()) <= 6:
            signal = "like" if bare.group(1).startswith(("y", "love")) else "dislike"
            judged.append((start, TurnAct(act="feedback", signal=signal, refs=[ref])))
    if judged:
        out = said(verb_at | cues | {start for start, _ in judged})
    # "first one yes, it's great": a later clause's "it" is the item just judged, not another
    named = min((i for i, a in out + judged if not all(r.anaphor for r in a.refs)), default=len(text))
    judged = [(i, a) for i, a in judged if i < named or not all(r.anaphor for r in a.refs)]
    # "die hard is a classic, love it": the same verdict again on the item just named
    said_of = [(i, a.signal) for i, a in out + judged if not all(r.anaphor for r in a.refs)]
    out = [(i, a) for i, a in out if not (all(r.anaphor for r in a.refs) and (a.signal in {s for j, s in said_of if j < i}))]
    return out + judged


def _thumbs_after(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    """Items each followed by a thumb ("tombstone 👍 true grit 👎", "#2 👍 #4 👎"): the thumb says
    what the words before it are; [] unless the whole message is such pairs."""
    pairs = list(re.finditer(r"\s*([^👍👎]+?)\s*(👍|👎)", text))
    if len(pairs) < 2 or "".join(m.group(0) for m in pairs).strip() != text.strip():
        return []
    out = []
    for m in pairs:
        refs = _refs(m.group(1), shown, titles_anywhere=True, bare_title=True)
        if not refs:
            return []
        out.append((m.start(1), TurnAct(act="feedback", signal="like" if m.group(2) == "👍" else "dislike", refs=refs)))
    return out


def _clauses(text: str) -> list[tuple[int, str]]:
    """(offset, clause) split at sentence marks, commas, 'but', and after an emoji."""
    out, at = [], 0
    for m in re.finditer(r"[.;!?,]|\bbut\b|(?<=[\U0001F300-\U0001FAFF\u2600-\u27BF])\s(?=(?:what|why|how|more|any|got)\b)",
                         text + "."):
        clause = text[at:m.start()]
        if clause.strip():
            out.append((at + len(clause) - len(clause.lstrip()), clause.strip()))
        at = m.end()
    return out


def _judged(clause: str, shown: list[str]) -> TurnAct | None:
    """A short clause that judges shown items ("#4 looks great", "zootopia was amazing")."""
    if re.match(r"(?:is|are|was|were|does|did|do|can|could|would|should|will|have)\b", clause):
        return None  # "is blade runner good": a question
    # "grease is a no", "akira's a (hard) no"
    clause = re.sub(r"(?:\b(?:is|are)|'s) an? (?:hard |big |firm |definite |total |solid |strong )?(yes|no|must)\b", r" is \1",
                    clause)
    clause = re.sub(_PRAISE, " is great", clause)  # "X is the best", "babe was my childhood", "arrival blew my mind"
    clause = re.sub(r"^its\b", "it's", clause)  # "its terrible"
    if len(clause.split()) > 12 or re.search(r"\b(why|how|what|whats|who|when|is it|is the|recommend|more|something|"
                                            r"any|looking|want|need|a|an|some)\b", _blank_titles(clause, shown)):
        return None
    for signal, words in (("dislike", _BAD), ("like", _GOOD)):
        if m := re.search(rf"(?:^|\s|\b)(?:{words})(?:\b|\s|$)", _blank_titles(clause, shown)):
            before = clause[:m.start()].strip(" ,.!:")
            before = re.sub(r"^(?:and|also|plus|oh)\s+", "", before)
            # "zootopia was amazing", "the notebook is my favorite"
            linked = re.search(r"\b(is|was|are|were|looks?|sounds?|seems?)(?: (?:my|our|so|really|just|truly|totally))*$",
                               before)
            # a title not on screen is judged only through a verb ("zootopia was amazing"), never
            # from a word before an evaluative one ("feel good comedy")
            refs = _refs(before, shown, titles_anywhere=bool(linked), bare_title=bool(linked)) \
                or _refs(clause[m.end():].strip(" ,.!:"), shown)
            if refs:
                return TurnAct(act="feedback", signal=signal, refs=refs)
    return None


# words that make a phrase a kind of film, not a title ("i hate musicals", "loved dogs in films")
_GENERIC = (r"\b(movies?|films?|stuff|musicals?|comed(?:y|ies)|horrors?|documentar\w*|romances?|romcoms?|dramas?|"
            r"thrillers?|westerns?|cartoons?|kids|action|sci-fi|anime|something|anything|everything|ones|those|"
            r"these|them|genre|kind|subtitles|subs|dubbing|gore|violence)\b")


def _all(shown: list[str]) -> list[Ref]:
    return [Ref(position=n) for n in range(1, len(shown) + 1)] or [Ref(anaphor=True)]


def _refs(head: str, shown: list[str], titles_anywhere: bool = False, bare_title: bool = False) -> list[Ref] | None:
    """'2', '#1 and 3', 'the second one', 'that one', 'all of these', a shown title at the start of
    `head`; with `bare_title`, `head` itself may be a title not on screen ("zootopia was amazing")."""
    head = re.split(r"[.;!?]| but | so | something | anything | because | cause |,\s*(?:got|have|any|do you|can you|is "
                    r"there|what)\b", head)[0].strip()
    head = re.sub(r"^(?:with |on |to |about |of )", "", head)
    head = re.sub(r"\s*[\U0001F300-\U0001FAFF\u2600-\u27BF]+", "", head)
    head = re.sub(r"(?:\s+(?:already|too|as well|before|lol|tbh|honestly|haha))+$", "", head)
    head = re.sub(r"\s+(?:is|are|was|were|looks?|seems?|sounds?)$", "", head)
    if re.fullmatch(r"(all of )?(these|those|them|them all|it all|all)( ones)?( five| 5)?", head.split(",")[0].strip()):
        return _all(shown)
    if m := re.fullmatch(r"(?:the )?(first|top|last|bottom) (two|three|four|2|3|4)(?: ones?| picks?| movies?)?",
                         head.split(",")[0].strip()):
        n = _NUMBER_WORDS.get(m.group(2)) or int(m.group(2))
        count = len(shown) or 5
        places = range(1, n + 1) if m.group(1) in ("first", "top") else range(count - n + 1, count + 1)
        return [Ref(position=p) for p in places]
    parts = [p.strip() for p in re.split(r",|\band\b|&|\bboth\b", head) if p.strip()]
    parts = [p for p in parts if not re.search(_GENERIC, p) or re.search(r"\bthe [\w-]+(?: [\w-]+){0,2} one\b", p)] \
        if not re.search(_POSITION, head) else parts  # "the horror one" is a ref, "horror movies" is not
    refs = []
    for part in parts[:5]:
        part = re.sub(r"\s+(is|was|are|were|looks?|sounds?|seems?)(\s.*)?$", "", part)
        part = re.sub(r"\s+(?:(?:a (?:dozen|million|hundred|few|couple(?: of)?)|\d+|so many|many|countless|multiple|several) "
                      r"times|\d+ ?x)$", "", part)
        part = re.sub(r"(?:\s+(?:twice|already|before|again|too|as well|once|years ago|last year|ages ago|"
                      + _FILLER + r"))+$", "", part)
        if re.fullmatch(r"(?:#?\s*\d{1,2}\s+)*#?\s*\d{1,2}", part) and all(
                _on_screen(int(n), shown) for n in re.findall(r"\d{1,2}", part)):
            refs += [Ref(position=int(n)) for n in re.findall(r"\d{1,2}", part)]  # "2", "#1", "1 2"
        elif (ref := ref_in(part, shown)) is not None and (ref.position is not None or ref.title or ref.describe
                                                            or re.fullmatch(_ANAPHOR + r"(?:'s| one)?", part)):
            refs.append(ref)
        elif (titles_anywhere and re.fullmatch(r"(?:the )?[a-z0-9][\w' :-]{1,40}", part) and bare_title
              and not re.search(r"\b(it|that|this|one|movie|film|list|pick)\b", part)):
            refs.append(Ref(title=part))
        elif re.match(r"(?:too|so|very|kinda|pretty|way too|a bit|a little)\b", part):
            continue  # "no to Titanic, too long and too sad": reasons, no titles
        elif titles_anywhere and re.fullmatch(r"(?:the )?[a-z0-9][\w' :-]{2,40}", part) and refs and refs[-1].title:
            refs.append(Ref(title=part))  # "the matrix and die hard"
        elif titles_anywhere and not refs and re.fullmatch(r"(?:the )?[a-z0-9][\w' :-]{2,40}", part) and \
                not re.search(r"\b(it|that|this|one|something|movies?|films?|list|them|to|a|an)\b", part):
            refs.append(Ref(title=part))
        else:
            break
    return refs or None


_ABOUTS = (("length", r"how long|runtime|run time|length|minutes|is it long|too long|(?:terribly|very|really|that|super|so) long|\d+ ?(?:hrs?|hours?|mins?)\b"),
           ("year", r"what year|when was|when did|when's it from|when is it from|from when|how old|released|came out|"
                     r"come out|when(?:'s| is) .{1,40} from\b|"
                     r"from the \d0'?s\?|which year"),
           ("cast", r"who (?:is|was|stars|plays|directed|made|is in)|actors?|cast|director|starring|who's in"),
           ("rating", r"rated|rating|any good|is it good|worth (?:it|watching)|score|reviews?|good\?"),
           ("genre", r"animated|scary|funny|a comedy|a horror|a romantic comedy|(?:is|was) (?:it|that|this)(?: one)? (?:an? )?"
                        r"(?:horror|comedy|romance|drama|thriller|western|musical|documentary|cartoon|sci-fi|mystery|crime|"
                        r"fantasy|action|anime)\b|an? (?:romance|drama|thriller|western|musical|"
                        r"documentary|cartoon|war movie|sci-fi|mystery|crime|fantasy|action)\b|genre|for kids|an? kids? (?:movie|film)|an? family (?:movie|film)|"
                        r"family friendly|kid friendly|violent|sad|"
                        r"ok for (?:a |my |the )?(?:\d+|kids?|children|family)|suitable|appropriate|\d+ ?(?:yo|year old)|"
                        r"what kind of|what type of|gory"),
           ("other", r"based on a true story|true story|subbed|dubbed|subtitles|language|streaming|netflix|hulu|sequel"),
           ("plot", r"what(?:'s| is|s) (?:it|that|the \w+ one|#?\d|.{0,40}) about|about\?|plot|story|premise|tell me "
                       r"(?:more )?about|what happens|synopsis"))
_QUESTION = re.compile(r"(?:^|[,.;:!?–—]\s*|\s-\s*|\b(?:and|also|plus|but|so|ok|okay|oh|ooh|hmm|wait|btw|then|hey|meant)\s+)"
                       r"(is|was|are|does|did|do|what|whats|what's|who|who's|when|how|tell me|any|in which|which)\b")
_WHY = re.compile(r"\b(why|how come|what makes|what made you|reason(?:ing)?|rationale|explain|"
                  r"how(?:'d| did) .{1,40} (?:end up|get|land) (?:on|in) (?:the|this|my|your) (?:list|picks)|how (?:is|does|do) .{0,30}"
                  r"(?:fit|related|match|connect)|what about .* fits?|what (?:does|has) .{1,30} (?:have |got )?to do with|"
                  r"what(?:'s| is) .{1,30} doing (?:on|in) (?:here|the list|my list|this list))\b")


# words that end a question about a title ("is the shining actually scary?", "is akira subbed or dubbed")
_ABOUT_WORDS = (r"scary|funny|violent|sad|gory|animated|for kids|ok for|good|any good|long|released|about|rated|worth|"
                r"subbed|dubbed|based on|in english|on netflix|streaming|a sequel|a comedy|a horror|a kids|an? (?:romance|"
                r"drama|thriller|western|musical|documentary|cartoon|war movie|sci-fi|mystery|crime|fantasy|action)\b|"
                r"come out|from|like \d+|\d+ ?(?:hrs?|hours?|mins?)\b")


def _asks_other(span: str) -> bool:
    return bool(re.search(r"\b(?:subbed|dubbed|subtitles|based on a true story|true story|streaming|on netflix|on hulu|"
                          r"on prime|on disney\+?|a sequel)\b", span))


def about_of(text: str) -> About:
    """What a question asks of an item: its length, year, cast, rating, genre, plot, or other."""
    return next((a for a, pattern in _ABOUTS if re.search(rf"(?:{pattern})", text)), "other")


def _explain_or_question(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    """ "why #2?" (explain), "is it scary?" (a question), or both in one message."""
    m = _WHY.search(text)
    if m is None:  # "how long is #2? and is it scary": a question in each sentence
        out, base = [], 0
        for sentence in re.split(r"(?<=\?)", text):
            out += _question(sentence, shown, base, after_explain=bool(out))
            base += len(sentence)
        return out
    number = re.match(r"\s*(?:#\s*)?(\d{1,2})\b(?!\s*(?:stars?|/|%|min))", text[m.end():])  # "why 3?"
    ref = Ref(position=int(number.group(1))) if number and _on_screen(int(number.group(1)), shown) else \
        ref_in(text[m.start():], shown) or ref_in(text, shown) or Ref(anaphor=True)
    several = re.match(r"\s*((?:the )?(?:first|top|last|bottom) (?:two|three|four|2|3|4))\b", text[m.end():])
    if several:  # "why the last two"
        return _question(text[:m.start()], shown, 0) + [
            (m.start(), TurnAct(act="explain", ref=r)) for r in _refs(several.group(1), shown) or [ref]]
    out = _question(text[:m.start()], shown, 0)  # "what's #2 about and why did you pick it"
    out += [(m.start(), TurnAct(act="explain", ref=r)) for r in _more_places(ref, text[m.end():])]
    tail = text[m.end():]
    if q := re.search(r"\b(and|also|plus)\s+(is|was|are|does|did|what|who|when|how)\b", tail):
        out += _question(tail[q.start(2):], shown, m.end() + q.start(2), after_explain=True)
    return out


def _question(text: str, shown: list[str], base: int, after_explain: bool = False) -> list[tuple[int, TurnAct]]:
    """A question about an item; it starts its clause ("horror is fine again" asks nothing)."""
    qm = _QUESTION.search(text)
    if qm is None or re.match(r"(?:what(?:'s| is|s|re| are)|any|are there any) (?:a |an |some |any )?"
                              r"(?:good|great|fun|decent|nice|scary|funny)\b|what(?:'s| is|s)? (?:else|similar)\b|"
                              r"what(?:'s| is|s) (?:a|an|some) (?:[\w-]+ ){0,2}(?:movie|film|flick|show)s?\b|"
                              r"(?:is|are) there (?:a|an|any|some)\b",
                              text[qm.start(1):]):
        return []  # "what's a good zombie flick", "what else is like it": a request
    span = text[qm.start(1):]
    about = about_of(re.sub(r"\bthe (?!(?:a|an|that|this|it|on|is|of)\b)[\w-]+(?: (?!(?:a|an|that|this|it|on|is|of)\b)[\w-]+){0,2} one\b",
                            " ", _mask_titles(span, shown)))
    ref = ref_in(span, shown) or (Ref(anaphor=True) if after_explain else None)
    named = re.fullmatch(r"\s*([^,.;!?]{1,40}?)\s*[,:–—-]\s*", text[:qm.start(1)])
    if (ref is None or ref.anaphor) and not after_explain and named and not re.search(
            rf"\b(?:{_GOOD}|{_BAD})\b", named.group(1)) and (before := ref_in(named.group(1), shown)) is not None:
        ref = before  # "the pig one, what year is it from", "stand by me, who's in that"
    if ref is None and (about != "other" or _asks_other(span)):
        # "how long is the matrix", "who is in the notebook", "what's memento about", "is akira subbed"
        if t := re.search(r"^what(?:'s| is|s) (?!a |an |some |any |good |the best )((?:the )?[a-z0-9][\w' :-]{1,40}?) "
                          r"about\??$", span) \
                or re.search(r"^when (?:did|was|is|'s) (?:the movie |the film )?((?:the )?[a-z0-9][\w' :-]{1,40}?) "
                             r"(?:come out|came out|released|made|out|from)\??$", span) \
                or re.search(r"^(?:is|was|are) (?!a |an |some |any |there )(?:the movie |the film )?"
                             r"((?:the )?[a-z0-9][\w' :-]{1,40}?)(?: (?:actually|really|too|very|so|any|legit))*"
                             r"(?: (?:" + _ABOUT_WORDS + r")\b.*)\??$", span) \
                or re.search(r"\b(?:is|was|in(?! which)|of|about|directed|made|wrote|stars in|starred in) (?:the movie |the film )?"
                             r"((?:the )?[a-z0-9][\w' :-]{1,40}?)"
                             r"(?: released| about| rated| good| any good| long| made| from| come out| came out)?\??$", span):
            if not re.search(r"\b(it|that|this|one|something|anything|there|you|i)\b", t.group(1)):
                ref = Ref(title=t.group(1))
    if ref is not None and (about != "other" or qm.group(1) in ("is", "does", "was", "what", "whats", "what's", "tell me")):
        return [(base + qm.start(1), TurnAct(act="question", ref=r, about=about)) for r in _more_places(ref, span)]
    return []


def _more_places(ref: Ref, text: str) -> list[Ref]:
    """The ref, and the places joined to it ("#1 and #2", "1, 3 and 5"): one act for each."""
    if ref.position is None:
        return [ref]
    joined = re.search(rf"#?\s*{ref.position}\b((?:\s*(?:,|and|&)\s*#?\s*\d{{1,2}}\b)+)", text)
    extra = [int(n) for n in re.findall(r"\d{1,2}", joined.group(1))] if joined else []
    return [ref] + [Ref(position=n) for n in extra if n != ref.position]


def _blank_titles(text: str, shown: list[str]) -> str:
    """`text` with the titles on screen it names written as blanks of their length."""
    for title in shown:
        for name in _title_names(title):
            if len(name) >= 4:
                text = re.sub(rf"(?<!\w)(?:the )?{re.escape(name)}(?!\w)", lambda m: "_" * len(m.group(0)), text)
    return text


def _mask_titles(text: str, shown: list[str]) -> str:
    """`text` with the titles on screen blanked ("Toy Story" is no question about a story)."""
    for title in shown:
        bare = re.sub(r"\s*\(\d{4}\)\s*$", "", title).lower()
        text = re.sub(rf"(?<!\w){re.escape(bare)}(?!\w)", " ", text)
    return text


_MORE_LIKE = (r"\b(?:more like|similar to|similar of|(?:in )?the same vein as|(?:similar|same) (?:films?|movies?|stuff|vibe|feel|energy) (?:to|as)|same as|"
              r"(?:something|anything|stuff|movies|films|things|ones|more stuff|others?) like|in the (?:vein|style) of|"
              r"along the lines of|(?:in|with) the (?:vibe|spirit|feel|mood) of|(?:vibes?|feel) of|closer to|reminds? me of|(?:what|anything|something) else (?:is )?like|got anything like|that's like|that is like)"
              r"\s+(.+?)(?:[,;!?]|\s*[\U0001F300-\U0001FAFF\u2600-\u27BF]| but | from | without | only| no | "
              r"for (?:my|me|a|an|the|our|kids|tonight)\b|$)|"
              r"(?:^|[,.;!?]\s*|\band\s+|\balso\s+)like\s+(.+?)\s+but\b")


def _more_like(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    m = re.search(_MORE_LIKE, text) or _kind_like(text)
    if m is None:
        similar = _search(r"(?:^|[.!?,]\s*)(?:similar|same) (?:vibes?|ones|stuff|movies|films)\s*\??$|"
                          r"\b(?:anything|something|got anything|any(?:thing)? more|more stuff|more|what's|whats|what is) "
                          r"(?:similar|like that)"
                          r"(?: to (?:that|it|this))?\s*(?:[?!.,]|$|(?=(?:from|but|in the|with|only|without)\b))", text)
        return [(similar.start(), TurnAct(act="more_like", ref=Ref(anaphor=True)))] if similar else []
    target = re.sub(r"(?:\s+(?:" + _FILLER + r"))+$", "", (m.group(1) or m.group(2)).strip())
    if re.fullmatch(r"(this|that|these|those)( (one|kind|sort))?", target) and not re.search(_POSITION, target):
        return [(m.start(), TurnAct(act="more_like", ref=Ref(anaphor=True)))]
    if (word := re.fullmatch(r"the ([\w-]+)", target)) and word.group(1) in _GENRE_OR_TOPIC_WORDS \
            and not _shown_title(target, shown):
        return [(m.start(), TurnAct(act="more_like", ref=Ref(describe=word.group(1))))]  # "more like the western"
    if re.fullmatch(r"#?\s*\d{1,2}", target):  # "something like 2": a place on the list
        return [(m.start(), TurnAct(act="more_like", ref=Ref(position=int(target.strip("# ")))))]
    ref = ref_in(target, shown) or Ref(title=re.sub(r"^(the movie|the film) ", "", target))
    if ref.title and ref.title != target and len(target.split()) <= 5 and not re.search(_ANAPHOR + r"|\bone\b", target):
        ref = Ref(title=re.sub(r"^(the movie|the film) ", "", target))  # "oceans 11" as typed, not its matched part
    return [(m.start(), TurnAct(act="more_like", ref=ref))]


_KINDS = "|".join(re.escape(w) + "s?" for w in sorted(_GENRE_OR_TOPIC_WORDS, key=len, reverse=True) if len(w) > 3)


def _kind_like(text: str) -> re.Match | None:
    """"comedies like amelie", "anime like akira": a kind of film like a title is more like it."""
    return _search(rf"\b(?:{_KINDS}) like\s+(?!this\b|that\b|it\b)(.+?)(?:[,;!?]| but | from | without |$)()", text)


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    """The rules' patterns built per genre and topic outnumber re's own cache: compiled once here."""
    return re.compile(pattern)


def _search(pattern: str, text: str) -> re.Match | None:
    return _compiled(pattern).search(text)


def _finditer(pattern: str, text: str):
    return _compiled(pattern).finditer(text)


def _undo(text: str, genres: list[str]) -> list[tuple[int, TurnAct, str]]:
    """A constraint taken back, with the words that said so (kept out of the request)."""
    fine = (r"(?:is|are|r|'re|'s)? ?(?:fine|ok|okay|alright|allowed|good|back in)(?: again| now| after all| actually| too)?|"
            r"again is fine|(?:can|may|could) (?:come|be) back(?: in)?|(?:can|may|could) be (?:included|allowed)(?: again)?|(?:is|are|r) back(?: on the table| in)?|"
            r"(?:is|are|r) back on the table")
    dropped = r"(?:doesn't|does not|don't|do not|needn't) (?:have|need|has) to (?:be|have)|no longer|don't need"
    for what, alt in _undo_targets(genres):
        if next(iter(what)) in ("genres", "tags") and (m := _search(rf"\binstead of (?:the |a |an )?(?:{alt})\b", text)):
            return [(m.start(), TurnAct(act="undo", what=what), m.group(0))]  # "comedy instead of romance"
        for m in _finditer(rf"\b(?:{alt})(?:'s|'re)?\b (?:movies |films |ones |stuff )?(?:{fine})\b|"
                           rf"\b(?:allow|include|bring back|ok with|okay with|let's have|fine with)(?: the)? (?:{alt})"
                           rf"(?: again| too)?\b", text):
            negated = {"genres": "not_genres", "tags": "not_tags"}.get(next(iter(what)), next(iter(what)))
            return [(m.start(), TurnAct(act="undo", what={negated: what[next(iter(what))]} if negated != "mood"
                                        and negated != "era" else {negated: True}), m.group(0))]
        if (m := _search(rf"\b(?:take back|drop|remove|lift|undo) the no (?:{alt})\b(?: rule| filter| thing)?", text)) \
                and next(iter(what)) in ("genres", "tags"):
            negated = {"genres": "not_genres", "tags": "not_tags"}[next(iter(what))]
            return [(m.start(), TurnAct(act="undo", what={negated: what[next(iter(what))]}), m.group(0))]
        for m in _finditer(rf"\b(?:{dropped}) (?:be )?(?:a |an |set in |in |about |with |from (?:the )?)?(?:{alt})(?: anymore| any more)?\b|"
                           rf"\b(?:drop|remove|forget|lose|ignore|never ?mind|undo|ditch|scrap|scratch|kill|cut)(?: about)? the (?:{alt})"
                           rf"(?: filter| part| thing| bit| requirement| restriction| mood| rule| stuff)?\b|"
                           rf"\bno need for (?:it |them )?(?:to be )?(?:a |an )?(?:{alt})\b|"
                           rf"\b(?:i )?(?:don't|do not) care about the (?:{alt})(?: anymore)?\b|"
                           rf"\b(?:{alt})(?: thing| part| filter| bit)? (?:doesn't|does not|don't|do not) matter\b|"
                           rf"\bnot the (?:{alt}) anymore\b", text):
            return [(m.start(), TurnAct(act="undo", what=what if next(iter(what)) not in ("mood", "era")
                                        else {next(iter(what)): True}), m.group(0))]
    if m := re.search(r"\b(?:any (?:decade|era|year|time) is fine|doesn't matter when|any year)\b", text):
        return [(m.start(), TurnAct(act="undo", what={"era": True}), m.group(0))]
    if m := re.search(r"\b(undo(?: that)?|take (?:that|it) back|never ?mind(?: that)?(?: last part| last bit)?|scratch that|"
                      r"scrap that|(?:scratch|scrap|ignore|forget|undo|cancel) (?:the|my) last (?:thing|part|bit|request|message|one)"
                      r"(?: i (?:said|asked|typed|wrote))?|"
                      r"go back|revert)\b", text):
        return [(m.start(), TurnAct(act="undo", what={"last": True}), m.group(0))]
    return []


def _undo_targets(genres: list[str]) -> list[tuple[dict, str]]:
    """What an undo can name, with its words: genres, topics, the years, the mood."""
    out = [({"genres": [g]}, alt) for g, alt in _genre_patterns(genres).items()]
    out += [({"tags": [tag]}, _forms_pattern(forms)) for tag, forms in TAG_GROUPS.items()]
    out.append(({"era": True}, r"(?:(?:early|mid|late)[ -])?(?:19|20)?\d0'?s|decade|era|year|date|time period|old ones|recent ones"))
    out.append(({"mood": True}, "|".join(w for w in MOOD_WORDS if " " not in w) + r"|feel good|mood"))
    return out


def _forms_pattern(forms) -> str:
    """A topic's forms, each also in the plural ("twist endings", "plot twists")."""
    return "|".join(re.escape(f) + "(?:s|es)?" for f in sorted(forms, key=len, reverse=True))


def _genre_patterns(genres: list[str]) -> dict[str, str]:
    out: dict[str, list[str]] = {g: [re.escape(g.lower()), re.escape(g.lower()) + "s"] for g in genres}
    lower = {g.lower(): g for g in genres}
    for word, target in CATEGORY_SYNONYMS.items():
        if target in lower and word not in ("scary",):  # "scary" is a mood, not the Horror genre
            out[lower[target]].append(re.escape(word))
    for extra, target in (("romantic comed(?:y|ies)", "romance"), ("cartoons?", "animation"), ("docs?", "documentary"),
                          ("anime", "animation"), ("noir", "film-noir"), ("tearjerkers?", "drama"), ("slashers?", "horror"),
                          (r"\d+ ?(?:yo|y/o|(?:yr|year)s?[- ]olds?|(?:yr|year)s? old)", "children"),
                          ("little ones|toddlers?|kid[- ]friendly|family[- ]friendly", "children"),
                          (r"(?:for )?my (?:son|daughter|kids?|little one|nephew|niece)", "children"),
                          ("a good cry|(?:make|makes) (?:me|you|us) cry|(?:film|movie) to cry(?: to| at)?", "drama"), ("funnier|laughs", "comedy")):
        if target in lower:
            out[lower[target]].append(extra)
    patterns = {g: "|".join(sorted(set(p), key=len, reverse=True)) for g, p in out.items()}
    if "Action" in patterns:  # "live action" films are not Action films
        patterns["Action"] = rf"(?<!live )(?<!live-)(?:{patterns['Action']})"
    return patterns


class _Request(TurnAct):
    def has_constraints(self) -> bool:
        return bool(self.genres or self.not_genres or self.tags or self.not_tags or self.not_titles or self.era
                    or self.mood)


_EXCLUDED_TITLE = re.compile(r"\b(?:(?:nothing|not anything|nothing at all|not) like|(?:anything|something|everything) but|"
                             r"(?:that|which) (?:isn't|aren't|is not|are not|ain't)|that's not|(?:just )?not (?:another|more)|"
                             r"no more)\s+(?:a |an )?(.+?)(?:\s+again)?(?=[,.;!?]| but | and | im | i'm |$)|"
                             r"\bnot (.+?) again\b|"
                             r"(?:^|[,.;!?]\s*|\bbut\s+)(?:not|no|nothing)\s+(?!like\b|to\b|for\b)"
                             r"((?:the )?[a-z][\w'!:-]*(?: [a-z0-9][\w'!:-]*){1,5}?)"
                             r"(?:\s+(?:please|pls|tho|though|thanks|again|lol))*(?=[,.;!?]|$)")
# words no title is made of alone: "not too long", "no more than two hours", "nothing with zombies"
_NOT_A_TITLE = frozenset("""too so very really that this it with from before after than more less much any long short
slow sad violent gory boring stupid dumb scary dark heavy old new same lot interested sure thanks way fan big into for me
my at all again please tho though in on about movies movie films film one ones even actually exactly""".split())


def _excluded_titles(text: str, genres: list[str]) -> list[tuple[int, int, str]]:
    """Titles the message rules out ("anything but star wars", "a western that isn't unforgiven",
    "not another hangover"), as (where it is said, where the name is, the name); a genre, topic or
    mood said that way is no title."""
    plain = _plain_pattern(tuple(genres))
    out = []
    for m in _EXCLUDED_TITLE.finditer(text):
        group = next(g for g in (1, 2, 3) if m.group(g))
        name = re.sub(r"(?:\s+(?:movies?|films?|stuff|ones?|anymore|any more|either|this time|tonight|now|"
                      + _FILLER + r"))+$", "", m.group(group).strip())
        name = re.sub(r"^(?:another|more|the same old)\s+", "", name)
        if set(name.split()) & _NOT_A_TITLE - {"the", "in", "on", "of", "it", "me", "my", "one"}:
            continue  # "not too dark", "no more than two hours"
        if name and not re.fullmatch(rf"(?:(?:{plain})\s*)+", name) and len(name.split()) <= 6 and not (
                re.fullmatch(rf"(?:actual|real|proper|pure|straight|typical|generic|cheesy|cheap|"
                                            rf"hardcore|too \w+|any|more) (?:{plain})", name)):  # "not actual horror"
            at = m.start(group)
            for part in name.split(" or "):  # "not home alone or elf": two titles
                out.append((m.start(), at, part))
                at += len(part) + 4
    return out


@lru_cache(maxsize=8)
def _plain_pattern(genres: tuple[str, ...]) -> str:
    """Words no excluded title is made of alone: genres, topics, moods, comparatives, decades."""
    return "|".join([*_genre_patterns(list(genres)).values(), *(re.escape(f) for forms in TAG_GROUPS.values() for f in forms),
                     *MOOD_WORDS, r"(?:too |so |very )?\w+ly|lighter|darker|funnier|scarier|older|newer|longer|"
                     r"shorter|better|worse|sadder|happier|that|this|it|them|one|ones|movies?|films?|a|an|or|and|"
                     r"stuff|something|anything|(?:19|20)?\d0'?s|\d+"])


def _in_passing(act: TurnAct, text: str) -> bool:
    """A message about shown items that names a genre or topic without asking for anything ("why is die
    hard on a christmas list", "the pixar one is a yes, my son loves it"); an exclusion is always asked."""
    if act.not_genres or act.not_tags or act.not_titles or act.mood:
        return False
    return not re.search(r"\b(?:something|anything|show me|give me|i want|i need|i asked for|i said|looking for|try|"
                         r"recommend|suggest|more|instead|rather|please|pls|make it|how about|what about|got any|any|also)\b", text)


def _only_a_year(act: TurnAct, text: str) -> bool:
    """'saw it in 2019': a year said of a viewing, not asked of the list."""
    return bool(act.era and not (act.genres or act.not_genres or act.tags or act.not_tags or act.mood)
                and not re.search(r"\b(something|anything|movies?|films?|from the|more)\b", text))


def _off_topic(text: str) -> bool:
    return bool(re.match(r"\s*(what's|whats|what is|who|tell me|how are|how's|thanks|thank you|lol|ok|okay|hi|hello)\b", text))


def _asks(text: str) -> bool:
    return bool(re.search(r"\b(recommend|suggest|something|anything|movies?|films?|watch|show me|give me|what should|"
                          r"surprise me|looking for|in the mood|i want|i need|a good)\b", text))


def _request(text: str, genres: list[str], excluded: list[tuple[int, int, str]] | None = None,
             skip_undo: bool = False) -> tuple[int, _Request] | None:
    """Genres, tags, titles to avoid, a decade and a mood; None when the message asks none of that."""
    act, first = _Request(act="recommend"), len(text)
    clean = re.sub(_POSITION, " ", text)  # "#1" is a list place, never a year
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
    for tag, forms in TAG_GROUPS.items():
        alt = _forms_pattern(forms)
        if m := _search(rf"\b{_NEG}\s+(?:[\w-]+\s+){{0,2}}?(?:{alt})\b", clean):
            act.not_tags.append(tag)
            first = min(first, m.start())
        elif m := _search(rf"\b(?:{alt})\b", clean):
            act.tags.append(tag)
            first = min(first, m.start())
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


# -- the model's reading ------------------------------------------------------------------------------
ACTS_PROMPT = "acts@v1"


def acts_schema(genres: list[str]) -> dict:
    """The JSON schema the model fills in (acts@v1): genres limited to the catalog's."""
    names = {"type": "array", "items": {"type": "string", "enum": genres}, "maxItems": 4}
    words = {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 4}
    year = {"type": ["integer", "null"], "minimum": 1900, "maximum": 2100}
    ref = {"type": "object", "properties": {"position": {"type": "integer", "minimum": -1, "maximum": 20},
                                            "anaphor": {"type": "boolean"}, "title": {"type": "string", "maxLength": 80}},
           "additionalProperties": False}
    act = {"type": "object", "required": ["act"], "additionalProperties": False, "properties": {
        "act": {"type": "string", "enum": list(ActName.__args__)},
        "genres": names, "not_genres": names, "tags": words, "not_tags": words, "era_start": year, "era_end": year,
        "mood": {"type": "string", "enum": sorted(set(MOOD_WORDS.values()))},
        "ref": ref, "refs": {"type": "array", "items": ref, "maxItems": 5},
        "signal": {"type": "string", "enum": ["like", "dislike", "seen"]},
        "about": {"type": "string", "enum": list(About.__args__)}}}
    return {"type": "object", "required": ["acts"], "additionalProperties": False,
            "properties": {"acts": {"type": "array", "items": act, "minItems": 1, "maxItems": 3}}}


def read_with_model(backend, registry, message: str, genres: list[str], shown: list[str]) -> list[TurnAct] | None:
    """The model's reading of a message (acts@v1, schema-constrained; the message fenced as data),
    or None when it fails or says nothing the message supports."""
    import json

    from agent.backends.base import ChatRequest
    from agent.errors import BackendError
    from prompts.inputs import ActsInputs, as_data

    rendered = registry.render(ACTS_PROMPT, ActsInputs(message=as_data(message, 500), categories=genres, shown=shown))
    try:
        answer = backend.complete(ChatRequest(messages=rendered.messages, response_schema=acts_schema(genres),
                                              schema_name="acts", max_tokens=220))
        return model_acts(json.loads(answer.content), message, genres, shown)
    except (BackendError, ValueError):
        return None


def model_acts(data: dict, message: str, genres: list[str], shown: list[str]) -> list[TurnAct]:
    """The model's acts, keeping only what the message supports: places on the list on screen,
    titles the message writes, the catalog's genres, topics the message names. Raises ValueError
    when nothing usable is left."""
    text = normalise(message)
    out = []
    for raw in (data.get("acts") or [])[:3] if isinstance(data, dict) else []:
        try:
            act = TurnAct(act=raw["act"], genres=[g for g in raw.get("genres", []) if g in genres],
                          not_genres=[g for g in raw.get("not_genres", []) if g in genres],
                          tags=[t.lower() for t in raw.get("tags", []) if t.lower() in text],
                          not_tags=[t.lower() for t in raw.get("not_tags", []) if _stem_in(t, text)],
                          mood=raw.get("mood"), signal=raw.get("signal"), about=raw.get("about"),
                          era=Era(start=raw.get("era_start"), end=raw.get("era_end"))
                          if (raw.get("era_start") or raw.get("era_end")) and re.search(r"\d", text) else None)
        except (KeyError, TypeError, ValueError):
            continue
        refs = [r for r in (_checked_ref(x, text, shown) for x in [raw.get("ref"), *(raw.get("refs") or [])]) if r]
        if act.act in ("explain", "question", "more_like"):
            if not refs:
                continue
            act.ref = refs[0]
        if act.act == "feedback":
            if not refs or act.signal is None:
                continue
            act.refs = refs
        out.append(act)
    if not out:
        raise ValueError("no act the message supports")
    return out


def _stem_in(word: str, text: str) -> bool:
    return word.lower().rstrip("s") in text


def _checked_ref(raw, text: str, shown: list[str]) -> Ref | None:
    if not isinstance(raw, dict):
        return None
    if isinstance(pos := raw.get("position"), int) and (pos == -1 or 1 <= pos <= max(len(shown), 1)):
        return Ref(position=pos)
    if raw.get("anaphor") is True:
        return Ref(anaphor=True)
    if isinstance(title := raw.get("title"), str) and title.strip() and title.lower().strip() in text:
        return Ref(title=title.lower().strip())  # only a title the person wrote, never the model's own
    return None
