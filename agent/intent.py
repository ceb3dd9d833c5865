"""What a chat message asks for, as structured constraints: a deterministic parser that
always works, and the schema an LLM fills in when one is available."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from agent.types import Signal

# words people use for catalog categories (lower-case) -> the category's own spelling is
# matched case-insensitively besides these
CATEGORY_SYNONYMS = {
    "comedies": "comedy", "funny": "comedy", "laugh": "comedy", "horror": "horror", "scary": "horror",
    "sci fi": "sci-fi", "scifi": "sci-fi", "science fiction": "sci-fi", "romantic": "romance",
    "animated": "animation", "cartoon": "animation", "cartoons": "animation", "kids": "children",
    "family": "children", "documentaries": "documentary", "thrillers": "thriller", "westerns": "western",
    "musicals": "musical", "dramas": "drama", "war movies": "war", "crime": "crime", "mysteries": "mystery",
}
# moods -> categories they favour and avoid
MOODS = {
    "lighter": (["Comedy", "Animation", "Children", "Romance"], ["Horror", "War", "Thriller", "Crime"]),
    "light": (["Comedy", "Animation", "Children", "Romance"], ["Horror", "War", "Thriller", "Crime"]),
    "feel-good": (["Comedy", "Romance", "Musical"], ["Horror", "War"]),
    "darker": (["Thriller", "Crime", "Horror", "Film-Noir"], ["Children", "Animation"]),
    "dark": (["Thriller", "Crime", "Horror", "Film-Noir"], ["Children", "Animation"]),
    "exciting": (["Action", "Adventure", "Thriller"], []),
    "thought-provoking": (["Drama", "Documentary", "Mystery"], []),
}
_NEGATION = r"(?:no|not|without|avoid|skip|except|nothing|none of|no more|less)\s+(?:\w+\s+){0,2}?"
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}
_REF = re.compile(r"(?:#\s*(\d+)|\bnumber\s+(\d+)|\bthe\s+(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
                  r"tenth|last)(?:\s+one)?|\b(\d+)(?:st|nd|rd|th)\s+one|^\s*(\d+)\s*$)", re.IGNORECASE)


class Era(BaseModel):
    start: int | None = Field(None, description="first year, inclusive")
    end: int | None = Field(None, description="last year, inclusive")


class Intent(BaseModel):
    """One message's request. Categories use the catalog's spelling."""

    include_categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    era: Era | None = None
    mood: str | None = None
    more_like: list[str] = Field(default_factory=list, description="titles or list references (#3)")
    not_like: list[str] = Field(default_factory=list)
    query: str = Field("", description="free-text description of what they want")
    reset: bool = False
    feedback: list[tuple[Signal, int]] = Field(default_factory=list, description="(signal, 1-based position)")
    show_again: bool = False


def _category_patterns(categories: list[str]) -> dict[str, str]:
    """Regex alternatives per catalog category (its name, plural, synonyms)."""
    out: dict[str, list[str]] = {c: [re.escape(c.lower()), re.escape(c.lower()) + "s"] for c in categories}
    lower = {c.lower(): c for c in categories}
    for word, target in CATEGORY_SYNONYMS.items():
        if target in lower:
            out[lower[target]].append(re.escape(word))
    return {c: "|".join(sorted(set(p), key=len, reverse=True)) for c, p in out.items()}


def parse_reference(text: str, list_length: int) -> int | None:
    """'#3', 'number 3', 'the second one', 'the last one' -> a 1-based position (None if absent)."""
    m = _REF.search(text)
    if not m:
        return None
    num = next((g for g in (m.group(1), m.group(2), m.group(4), m.group(5)) if g), None)
    if num is not None:
        return int(num)
    pos = _ORDINALS[m.group(3).lower()]
    return list_length if pos == -1 else pos


def parse_intent(message: str, categories: list[str], list_length: int = 0) -> Intent:
    """The deterministic reading of a message: negated and plain category mentions, moods,
    decades and years, "more like …", "not …", list references, feedback and reset."""
    text = " ".join(message.lower().split())
    intent = Intent(query=message.strip())
    if re.search(r"\b(start over|reset|forget (it|that|everything)|from scratch|new search)\b", text):
        intent.reset = True
    if re.search(r"\b(again|already shown|show (me )?(them|those) again)\b", text):
        intent.show_again = True

    # feedback: "like 2", "I liked the second one", "dislike #3", "seen 4", "not for me: #5"
    for signal, words in (("dislike", r"dislike[sd]?|hate[sd]?|not for me"), ("seen", r"seen|watched|already saw"),
                          ("like", r"(?<!dis)(?<!more )like[sd]?|love[sd]?")):
        for m in re.finditer(rf"\b(?:{words})\b\s*:?\s*((?:#?\s*\d+|number \d+|the \w+(?: one)?)"
                             rf"(?:\s*(?:,|and)\s*(?:#?\s*\d+|the \w+(?: one)?))*)", text):
            for part in re.split(r",|\band\b", m.group(1)):
                pos = parse_reference(part, list_length)
                if pos is not None and (signal, pos) not in intent.feedback:
                    intent.feedback.append((signal, pos))
    if intent.feedback and re.fullmatch(r"[\w\s#,:']*", text) and len(text.split()) <= 8:
        intent.query = ""  # a pure feedback command carries no search

    patterns = _category_patterns(categories)
    for cat, alt in patterns.items():
        if re.search(rf"\b{_NEGATION}(?:{alt})\b", text):
            intent.exclude_categories.append(cat)
        elif re.search(rf"\b(?:{alt})\b", text):
            intent.include_categories.append(cat)
    for mood, (more, less) in MOODS.items():
        if re.search(rf"\b{re.escape(mood)}(?:er)?\b", text):
            intent.mood = mood
            known = {c.lower(): c for c in categories}
            intent.include_categories += [known[c.lower()] for c in more if c.lower() in known
                                          and known[c.lower()] not in intent.exclude_categories]
            intent.exclude_categories += [known[c.lower()] for c in less if c.lower() in known
                                          and known[c.lower()] not in intent.include_categories]
            break
    intent.include_categories = list(dict.fromkeys(intent.include_categories))
    intent.exclude_categories = list(dict.fromkeys(intent.exclude_categories))
    intent.era = parse_era(text)

    m = re.search(r"\bmore like\s+(.+?)(?:[,.;!?]|\bbut\b|$)", text)
    if m:
        intent.more_like.append(m.group(1).strip())
    m = re.search(r"\b(?:nothing|not anything|less) like\s+(.+?)(?:[,.;!?]|\bbut\b|$)", text)
    if m:
        intent.not_like.append(m.group(1).strip())
    if intent.query:
        intent.query = residual_query(text, patterns)
    return intent


_FILLER = set("""a an the i im i'm me my we want would like love some something anything please show give find
recommend recommendation recommendations movie movies film films item items one ones thing things with without no not
from in of for to and or but more less nothing maybe also just really very good great new old recent era year years
now today tonight again that this it is are be can could you your any all kind sort type lighter light darker dark
start over reset number first second third fourth fifth sixth seventh eighth ninth tenth last tell about
mood ideally should other ideas else feel feeling watch watching see too be im i'm in on at it's what how
already saw seen watched why pick picked different another next instead""".split())


def residual_query(text: str, patterns: dict[str, str]) -> str:
    """What is left of a message once its constraints are taken out: a free-text query for
    semantic search ('' when nothing descriptive remains, so "no horror" never searches for horror)."""
    for alt in patterns.values():
        text = re.sub(rf"\b(?:{alt})\b", " ", text)
    text = re.sub(r"\b\d+(?:st|nd|rd|th)\b|\b(?:19|20)?\d0'?s\b|\b(?:19|20)\d\d\b|#\s*\d+|\bmore like\s+\S+.*$|\bnothing like\s+.*$", " ", text)
    words = [w for w in re.findall(r"[\w'-]+", text) if w not in _FILLER and not w.isdigit()]
    return " ".join(words) if len(words) >= 1 else ""


def parse_era(text: str) -> Era | None:
    m = re.search(r"\b(?:from |in )?the\s+(?:(19|20)?(\d)0)'?s\b|\b(19|20)(\d)0'?s\b", text)
    if m:
        century = m.group(1) or m.group(3)
        decade = int(m.group(2) or m.group(4))
        century = century or ("20" if decade <= 2 else "19")
        start = int(century) * 100 + decade * 10
        return Era(start=start, end=start + 9)
    m = re.search(r"\b(before|after|since|until)\s+((?:19|20)\d\d)\b", text)
    if m:
        year = int(m.group(2))
        return Era(start=year, end=None) if m.group(1) in ("after", "since") else Era(start=None, end=year)
    if re.search(r"\b(recent|newer|latest|new (?:movies|films|releases|ones|stuff))\b", text):
        return Era(start=2010, end=None)
    if re.search(r"\b(older|classics?|old (?:movies|films|ones|stuff))\b", text):
        return Era(start=None, end=1979)
    return None


def intent_schema(categories: list[str]) -> dict:
    """JSON schema for the LLM's reading of a message; categories limited to the catalog's."""
    cats = {"type": "array", "items": {"type": "string", "enum": categories}, "maxItems": 6}
    year = {"type": ["integer", "null"], "minimum": 1900, "maximum": 2100}
    return {
        "type": "object",
        "properties": {
            "include_categories": cats, "exclude_categories": cats,
            "era_start": year, "era_end": year,
            "more_like": {"type": "array", "items": {"type": "string", "maxLength": 80}, "maxItems": 3},
            "query": {"type": "string", "maxLength": 200},
        },
        "required": ["include_categories", "exclude_categories", "era_start", "era_end", "more_like", "query"],
        "additionalProperties": False,
    }
