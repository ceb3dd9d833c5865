"""Turn raw model output into a grounded list: only candidate ids, no duplicates, no seen
items; plus the text helpers the claim checker (agent/pipeline/claims/) builds on."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


TITLE_MAX = 50
EXPLANATION_MAX = 160
# grammar-enforced; a pattern overrides maxLength on llama.cpp, so the bound lives here too,
# derived from EXPLANATION_MAX so text stopped at the bound is seen as cut off
EXPLANATION_PATTERN = f"^Your? [^\n]{{10,{EXPLANATION_MAX - 5}}}$"


def response_schema(candidate_ids: list[str], k: int) -> dict:
    """JSON schema for one rerank call: ids constrained to this call's candidates."""
    return {
        "type": "object",
        "properties": {"items": {
            "type": "array", "minItems": 1, "maxItems": k,
            "items": {
                "type": "object",
                "properties": {
                    "item_id": {"type": "string", "enum": candidate_ids},
                    "hook": {"type": "string", "maxLength": TITLE_MAX},
                    # starting with "You" makes even small models write to the person
                    "explanation": {"type": "string", "pattern": EXPLANATION_PATTERN,
                                    "maxLength": EXPLANATION_MAX},
                },
                "required": ["item_id", "hook", "explanation"],
                "additionalProperties": False,
            },
        }},
        "required": ["items"],
        "additionalProperties": False,
    }


class RankedEntry(BaseModel):
    """One item of the model's answer; `hook` is the personalized title (a key named
    "title" makes small models copy the item's own title)."""

    model_config = ConfigDict(extra="ignore")
    item_id: str
    hook: str = ""
    explanation: str = ""

    @field_validator("item_id", mode="before")
    @classmethod
    def _id_as_str(cls, v):
        return str(v) if isinstance(v, (int, float)) else v


@dataclass
class ParsedOutput:
    entries: list[RankedEntry]
    truncated: bool = False
    error: str | None = None


def parse_output(raw: str) -> ParsedOutput:
    """Parse `{"items": [...]}`. Output cut off mid-way keeps its complete items."""
    try:
        data = json.loads(raw)
        items = data["items"] if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValueError("'items' is not a list")
        return ParsedOutput(entries=_entries(items))
    except (ValueError, KeyError, TypeError) as e:
        salvaged = _salvage(raw)
        if salvaged:
            return ParsedOutput(entries=salvaged, truncated=True, error=f"incomplete JSON: {e}")
        return ParsedOutput(entries=[], error=f"invalid JSON: {e}")


def _entries(items: list) -> list[RankedEntry]:
    out = []
    for obj in items:
        try:
            out.append(RankedEntry.model_validate(obj))
        except ValidationError:
            continue
    return out


def _salvage(raw: str) -> list[RankedEntry]:
    start = raw.find("[")
    if start < 0:
        return []
    decoder, pos, objs = json.JSONDecoder(), start + 1, []
    while True:
        nxt = raw.find("{", pos)
        if nxt < 0:
            break
        try:
            obj, end = decoder.raw_decode(raw, nxt)
        except ValueError:
            break
        objs.append(obj)
        pos = end
    return _entries(objs)


# -- ranking-only answers ----------------------------------------------------------------------
# Rank prompts show candidates under short labels (A, B, …) and get back one string of
# labels: a few tokens per item instead of an id's digits and JSON punctuation.
def candidate_labels(n: int) -> list[str]:
    """A..Z, then AA, AB, … (spreadsheet columns)."""
    out = []
    for i in range(n):
        label, j = "", i
        while j >= 0:
            label, j = chr(65 + j % 26) + label, j // 26 - 1
        out.append(label)
    return out


def ranking_schema(labels: list[str], k: int) -> dict:
    """`{"ranking": "C A F …"}`: exactly k labels of this call's candidates, space-separated."""
    one = f"[{labels[0]}-{labels[-1]}]" if len(labels) <= 26 else "(" + "|".join(labels) + ")"
    pattern = f"^{one}( {one}){{{k - 1}}}$" if k > 1 else f"^{one}$"
    return {"type": "object", "properties": {"ranking": {"type": "string", "pattern": pattern}},
            "required": ["ranking"], "additionalProperties": False}


_RANKING_PREFIX = re.compile(r'"ranking"\s*:\s*(\[|")')


def parse_ranking(raw: str, label_ids: dict[str, str]) -> ParsedOutput:
    """Labels → candidate ids. An unknown label is kept as-is (grounding then counts it as
    out of the candidate set); output cut off mid-way keeps the labels it completed."""
    def entries(labels) -> list[RankedEntry]:
        return [RankedEntry(item_id=label_ids.get(str(lab).strip(), str(lab).strip()))
                for lab in labels if str(lab).strip()]

    try:
        value = json.loads(raw)["ranking"]
        return ParsedOutput(entries=entries(value if isinstance(value, list) else str(value).split()))
    except (ValueError, KeyError, TypeError) as e:
        m = _RANKING_PREFIX.search(raw)
        if m:  # cut off: keep labels followed by a separator, i.e. known to be complete
            rest = raw[m.end():]
            complete = re.findall(r'"?([A-Z]{1,3})"?(?=[ ,])', rest)
            if complete:
                return ParsedOutput(entries=entries(complete), truncated=True, error=f"incomplete JSON: {e}")
        return ParsedOutput(entries=[], error=f"invalid JSON: {e}")


@dataclass
class Grounded:
    entries: list[RankedEntry] = field(default_factory=list)
    out_of_candidate: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)


def ground(entries: list[RankedEntry], candidate_ids: set[str], seen_ids: set[str]) -> Grounded:
    g = Grounded()
    kept: set[str] = set()
    for e in entries:
        if e.item_id in seen_ids:
            g.seen.append(e.item_id)
        elif e.item_id not in candidate_ids:
            g.out_of_candidate.append(e.item_id)
        elif e.item_id in kept:
            g.duplicates.append(e.item_id)
        else:
            kept.add(e.item_id)
            g.entries.append(e)
    return g


# -- text checks -------------------------------------------------------------------------------
_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


def bare_title(title: str) -> str:
    return _YEAR.sub("", title).strip().lower()


_ALTERNATE_TITLE = re.compile(r"\s*\([^()]*\)$")  # "(a.k.a. Se7en)", "(Sen to Chihiro no kamikakushi)"
_MIN_MAIN_TITLE = 8  # characters of the name before an alternate title, before a title is known by it


def main_title(title: str) -> str:
    """A title as a sentence names it: without its year, and without an alternate title when the
    name before it is long enough to go by ("Twelve Monkeys (a.k.a. 12 Monkeys) (1995)" ->
    "Twelve Monkeys"; "Se7en (a.k.a. Seven)" stays whole)."""
    name = _YEAR.sub("", title).strip()
    main = _ALTERNATE_TITLE.sub("", name)
    return main if main != name and len(main) >= _MIN_MAIN_TITLE else name


# A part of a series: a number or roman numeral ending the name, alone or as "Part/Episode/Chapter N"
_SERIES_PART = re.compile(r"(?:^|\s+)(?:(?:part|episode|chapter)\s+)?(?:[1-9]|[ivx]{1,4})$")
_SERIES_SUBTITLE = re.compile(r"\s*(?::|\s-\s).*$")
_TRAILING_ARTICLE = re.compile(r",\s+(?:the|a|an)$|^(?:the|a|an)\s+")  # "Terminator, The" as "The Terminator"
_MIN_SERIES_NAME = 4  # characters of a series' name: "It 2" and "It" are no series


@lru_cache(maxsize=1 << 16)
def series_key(title: str) -> tuple[str, bool, bool] | None:
    """A catalog title's series name, whether it is numbered and whether it has a subtitle:
    "Terminator 2: Judgment Day (1991)" -> ("terminator", True, True), "Terminator, The (1984)"
    -> ("terminator", False, False). None for a name too short to be a series."""
    name = _TRAILING_ARTICLE.sub("", main_title(title).lower())
    head = _TRAILING_ARTICLE.sub("", _SERIES_SUBTITLE.sub("", name))
    base = _TRAILING_ARTICLE.sub("", _SERIES_PART.sub("", head))
    subtitle = _TRAILING_ARTICLE.sub("", name[len(head):].lstrip(" :-"))  # "Part II" of "The Godfather: Part II"
    return (base, base != head or bool(_SERIES_PART.fullmatch(subtitle)), head != name) if len(base) >= _MIN_SERIES_NAME else None


def same_series(a: str, b: str) -> bool:
    """Two catalog titles are parts of one series: one name, and one of them numbered, or both
    subtitled (a remake under the same name is no series)."""
    ka, kb = series_key(a), series_key(b)
    if ka is None or kb is None or ka[0] != kb[0] or bare_title(a) == bare_title(b):
        return False
    return ka[1] or kb[1] or (ka[2] and kb[2])


class TitleIndex:
    """Finds catalog titles named in free text (word-bounded, case-insensitive). Short or
    one-word titles ('Up', 'Heat') are skipped: they are ordinary words too often."""

    def __init__(self, titles: list[str], min_chars: int = 8, genres: Iterable[str] = ()):
        self.genres = {g.lower() for g in genres}
        names = {bare_title(t) for t in titles}
        names = {n for n in names if len(n) >= min_chars and " " in n}
        self._names = names
        self._first_words: dict[str, list[str]] = {}
        for n in names:
            self._first_words.setdefault(n.split()[0], []).append(n)

    def names_before_colon(self) -> frozenset[str]:
        """The names before a colon that begin titles: "avengers" of "Avengers: Infinity War - Part I"."""
        if not hasattr(self, "_before_colon"):
            self._before_colon = frozenset(n.split(": ", 1)[0] for n in self._names if ": " in n)
        return self._before_colon

    def covers(self, name: str) -> bool:
        """Whether `mentioned` can find this (bare) title; short and one-word titles it skips."""
        return name in self._names

    def mentioned(self, text: str) -> set[str]:
        low = text.lower()
        words = set(re.findall(r"[\w'’&.:-]+", low))
        found = set()
        for w in words:
            for name in self._first_words.get(w, ()):  # "the" begins a thousand titles: most are not here
                if name in low and re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", low):
                    found.add(name)
        return found


def is_degenerate(text: str, min_words: int = 2) -> str | None:
    """Why a generated string is junk (repetition, no words), or None if it reads fine."""
    words = re.findall(r"[A-Za-z][A-Za-z'’-]+", text)
    if len(words) < min_words:
        return "too few words"
    tokens = re.findall(r"\S+", text.lower())
    if len(tokens) >= 6 and len(set(tokens)) / len(tokens) < 0.5:
        return "repetitive"
    if re.search(r"(.{2,12})\1{3,}", text):
        return "repeated characters"
    return None


def complete_sentences(text: str, limit: int) -> tuple[str, bool]:
    """Text cut at a length limit ends mid-sentence: keep it up to its last full stop.
    Returns (text, whether it was cut)."""
    text = text.strip()
    if len(text) < limit - 5 or text.endswith((".", "!", "?")):
        return text, False
    end = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
    return (text[: end + 1], True) if end > 20 else (text, True)


def word_runs(text: str, n: int) -> list[tuple[str, ...]]:
    """Every run of `n` consecutive words of `text` (lower-case), in order."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


def copies_text(source: str, output: str, n: int = 6) -> bool:
    """Whether `output` repeats a run of `n` words of `source` (e.g. the prompt's instructions)."""
    return not set(word_runs(source, n)).isdisjoint(word_runs(output, n))


def drop_shared_sentences(texts: list[str]) -> list[str]:
    """Remove sentences that several texts share: boilerplate explains no item."""
    def sentences(t: str) -> list[str]:
        return [x.strip() for x in re.split(r"(?<=[.!?])\s+", t) if x.strip()]

    count = Counter(" ".join(x.lower().split()) for t in texts for x in set(sentences(t)))
    return [" ".join(x for x in sentences(t) if count[" ".join(x.lower().split())] < 2) for t in texts]
