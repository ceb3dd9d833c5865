"""References to items: "#2", "the second one", "the last one", "that one" / "it", "the Pixar one",
or a title as typed, matched (fuzzily) against the list on screen."""

from __future__ import annotations

import difflib
import re

from agent.acts.schema import Ref
from agent.acts.words import (
    _ANAPHOR,
    _FILLER,
    _GENERIC,
    _GENRE_OR_TOPIC_WORDS,
    _NUMBER_WORDS,
    _ORDINAL,
    _PLAIN_TITLE_WORDS,
    _POSITION,
    _PRONOUNS,
)


def ref_in(text: str, shown: list[str]) -> Ref | None:
    """The first reference in `text` (see the module's doc)."""
    title = _shown_title(text, shown)
    if (m := re.search(_POSITION, text)) and not (title and m.group(0).strip() in title and len(title.split()) > 1) \
            and not (m.group(4) and not re.search(r"(?:one|pick|movie|film)$", m.group(0)) and re.match(
                r"\s+(?!(?:ones|and|or|but|is|was|please|pls|looks?|sounds?|again|too|tho|though|with|for|from|that|i|it|"
                r"two|three|four|recommendation|rec|suggestion|choice|option|entry|title)\b)[a-z]{3,}",
                text[m.end():])):  # "the third man", "the sixth sense": a title's words
        number = next((g for g in (*m.groups()[:3], m.group(5)) if g), None)
        return Ref(position=int(number) if number else _ORDINAL[m.group(4)])  # "the 12th one": said to be none
    if title:
        return Ref(title=title)
    if m := re.search(r"\bthe ([\w-]+(?: [\w-]+){0,2}) (?:one|movie|film)\b|"
                      # "the one with the dog", "why'd it pick the one about the magicians"
                      r"\bthe one (?:with|about) (?:the |a |an |some )?([\w-]+(?: (?!(?:and|or|but|is|was|in|on|for|from|"
                      r"any|good|long|please|pls|though|tho|it|that|the|a|an|who|what|why|how)\b)[\w-]+)?)\b", text):
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
    # "marley and me" for "Marley & Me"; "'vertigo'" in quotes is "vertigo"
    typed = [w for w in (w.replace("&", "and").strip("'") for w in re.findall(r"[\w']+|&", text)) if w]
    words = [re.sub(r"'s$", "", w) for w in typed]  # "chinatown's an odd pick"
    best: tuple[int, int, str] | None = None  # (-where, words matched, span): the earliest, the longest there
    for title in shown:
        for name in _title_names(title):
            whole = [w.replace("&", "and") for w in re.findall(r"[\w']+|&", name)]
            for run in _telling_runs(whole):
                n, target = len(run), " ".join(run)
                for i in range(len(words) - n + 1):
                    # "ocean's eleven" as typed, "chinatown's" as "chinatown"
                    span = next((s for s in (" ".join(typed[i:i + n]), " ".join(words[i:i + n])) if s == target),
                                " ".join(words[i:i + n]))
                    # a misspelt name keeps each word's first letter ("toy stroy"; "mononoke one" is no "mononoke hime")
                    if (span == target) if len(target) < 4 else \
                            all(a[:1] == b[:1] for a, b in zip(span.split(), target.split())) and \
                            difflib.SequenceMatcher(None, span, target).ratio() >= (0.85 if n == 1 else 0.8):
                        if _number_after(run, whole, words[i + n:i + n + 1]):
                            span += " " + words[i + n]  # "oceans 11" for "Ocean's Eleven"
                        if i > 0 and words[i - 1] == "the" and run == whole and words[i + n:i + n + 1] != ["one"] \
                                and (_articled(title) or words[i + n:i + n + 1] not in (["pick"], ["choice"], ["rec"])):
                            span = "the " + span  # "the prestige", "the hurt locker pick"; "the dunkirk pick" is "dunkirk"
                        if best is None or (-i, n) > best[:2]:
                            best = (-i, n, span)
                        break
    return best[2] if best else None


_NUMBERS = {w: str(n) for n, w in enumerate("one two three four five six seven eight nine ten eleven twelve thirteen".split(), 1)}


def _number_after(run: list[str], whole: list[str], after: list[str]) -> bool:
    """Whether the word typed after a title's run is the number the title goes on with ("oceans 11")."""
    at = next((j for j in range(len(whole) - len(run) + 1) if whole[j:j + len(run)] == run), None)
    if at is None or at + len(run) >= len(whole) or not after or not after[0].isdigit():
        return False
    nxt = whole[at + len(run)]
    return after[0] == nxt or after[0] == _NUMBERS.get(nxt)


def _articled(title: str) -> bool:
    """Whether a catalog title's main name has its own 'The' ("Hurt Locker, The (2008)")."""
    name = re.sub(r"\s*\([^()]*\)", "", title).strip().lower()
    return name.endswith(", the") or name.startswith("the ")


def _title_names(title: str) -> list[str]:
    """The names a catalog title goes by, lower case, without a year or an article: its main name
    and its alternate titles ("Princess Mononoke (Mononoke-hime) (1997)": both)."""
    name = re.sub(r"\s*\(\d{4}\)\s*$", "", title).lower()
    names = [re.sub(r"\([^()]*\)", "", name)] + [a.removeprefix("a.k.a. ") for a in re.findall(r"\(([^()]*)\)", name)]
    return [n for n in (re.sub(r",\s+(?:the|a|an)$|^(?:the|a|an)\s+", "", n.strip()) for n in names) if n]


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


def _all(shown: list[str]) -> list[Ref]:
    return [Ref(position=n) for n in range(1, len(shown) + 1)] or [Ref(anaphor=True)]


def _refs(head: str, shown: list[str], titles_anywhere: bool = False, bare_title: bool = False) -> list[Ref] | None:
    """'2', '#1 and 3', 'the second one', 'that one', 'all of these', a shown title at the start of
    `head`; with `bare_title`, `head` itself may be a title not on screen ("zootopia was amazing")."""
    head = re.split(r"[.;!?]| but | so | something | anything | because | cause |,\s*(?:got|have|any|do you|can you|is "
                    r"there|what|find|show|give|gimme|recommend|suggest)\b", head)[0].strip()
    head = re.sub(r"^(?:with |on |to |about |of )", "", head)
    head = re.sub(r"\s*[\U0001F300-\U0001FAFF\u2600-\u27BF]+", "", head)
    head = re.sub(r"(?:\s+(?:already|too|as well|before|lol|tbh|honestly|haha|mate|bro|dude))+$", "", head)  # "all of these mate"
    head = re.sub(r"\s+(?:is|are|was|were|looks?|seems?|sounds?)$", "", head)
    head = re.sub(r"\s+(?:many|so many|a (?:few|dozen|million|hundred|thousand)|\d+|countless|multiple|several) times(?: over)?$",
                  "", head)  # "the first three a million times"
    if re.fullmatch(r"(all of |every (?:single )?one of |each of )?(these|those|them|them all|it all|all)( ones)?( five| 5)?",
                    head.split(",")[0].strip()):
        return _all(shown)
    if m := re.fullmatch(r"(?:the )?(first|top|last|bottom) (two|three|four|2|3|4)(?: ones?| picks?| movies?)?",
                         head.split(",")[0].strip()):
        n = _NUMBER_WORDS.get(m.group(2)) or int(m.group(2))
        count = len(shown) or 5
        places = range(1, n + 1) if m.group(1) in ("first", "top") else range(count - n + 1, count + 1)
        return [Ref(position=p) for p in places]
    parts = [p.strip() for p in _split_items(head, shown) if p.strip()]
    parts = [p for p in parts if not re.search(_GENERIC, p) or re.search(r"\bthe [\w-]+(?: [\w-]+){0,2} one\b", p)] \
        if not re.search(_POSITION, head) else parts  # "the horror one" is a ref, "horror movies" is not
    refs = []
    for part in parts[:5]:
        if re.fullmatch(r"(?:(?:so |too |very )?many|(?:a )?few|several|multiple|countless|a (?:couple|dozen|million|hundred|"
                        r"thousand)(?: of)?|\d+|once|twice|two|three|four|five|ten) times?(?: over| already| before| now)?", part):
            continue  # "i have already see amelie, many time": how often, no title
        part = re.sub(r"\s+(is|was|are|were|looks?|sounds?|seems?)(\s.*)?$", "", part)
        part = re.sub(r"\s+(?:(?:a (?:dozen|million|hundred|few|couple(?: of)?)|\d+|so many|many|countless|multiple|several) "
                      r"times|\d+ ?x)$", "", part)
        part = re.sub(r"(?:\s+(?:twice|already|before|again|too|as well|once|years ago|last year|ages ago|very much|so much|"
                      r"a lot|back in the day|as (?:a )?kids?|growing up|"  # "we both loved heat back in the day"
                      # "i loved paddington 2 with the grandkids": who it was watched with
                      r"with (?:my|the|our|his|her) (?:whole )?(?:grand)?(?:kids?|children|family|fam|wife|husband|partner|"
                      r"gf|bf|girlfriend|boyfriend|sons?|daughters?|dad|mum|mom|parents|friends?|sister|brother|niece|nephew)|"
                      + _FILLER + r"))+$", "", part)
        if re.fullmatch(r"(?:#?\s*\d{1,2}\s+)*#?\s*\d{1,2}", part) and all(
                _on_screen(int(n), shown) for n in re.findall(r"\d{1,2}", part)):
            refs += [Ref(position=int(n)) for n in re.findall(r"\d{1,2}", part)]  # "2", "#1", "1 2"
        elif (ref := ref_in(part, shown)) is not None and (ref.position is not None or ref.title or ref.describe
                                                            or re.fullmatch(_ANAPHOR + r"(?:'s| one)?", part)):
            refs.append(ref)
        elif re.match(r"(?:i|we|you|he|she|they) (?:(?:just|really|only|also) )?(?:haven't|hadn't|didn't|don't|have not|did not|"
                      r"never|have|did|do|too|was|were|would|want|wanna|need|prefer)\b|(?:i|we|you|he|she|they|it)'(?:d|m|re|ll)\b", part):
            break  # "she's seen notting hill, i haven't", "can't do hachi, i'd be in bits": a say of its own, no title
        elif (titles_anywhere and re.fullmatch(r"(?:the )?[a-z0-9][\w' :-]{1,40}", part) and bare_title
              and not re.search(r"\b(it|that|this|one|movie|film|list|pick)\b", part)):
            refs.append(Ref(title=part))
        elif re.match(r"(?:too|so|very|kinda|pretty|way too|a bit|a little|still|just|really|also)\b", part):
            continue  # "no to Titanic, too long and too sad": reasons, no titles
        elif re.match(r"(?:the )?(?:rest|others|other (?:ones|two|three|four|picks|movies|films))\b", part):
            break  # "seen elf, the rest are new to me": the items not named
        elif titles_anywhere and re.fullmatch(r"(?:the )?[a-z0-9][\w' :-]{2,40}", part) and refs and refs[-1].title:
            refs.append(Ref(title=part))  # "the matrix and die hard"
        elif titles_anywhere and not refs and re.fullmatch(r"(?:the )?[a-z0-9][\w' :-]{2,40}", part) and \
                not re.search(r"\b(it|that|this|one|something|movies?|films?|list|them|to|a|an)\b", part):
            refs.append(Ref(title=part))
        else:
            break
    return refs or None


def _split_items(head: str, shown: list[str]) -> list[str]:
    """`head` split into the items it names, at commas, 'and', '&' and 'both', but not inside a title
    on screen ("seen marley and me and beethoven")."""
    joined = [t for title in shown if (t := _shown_title(head, [title])) and " and " in t and t in head]
    for t in joined:
        head = head.replace(t, t.replace(" and ", " \x00 "))
    return [p.replace("\x00", "and") for p in re.split(r",|\band\b|&|\bboth\b", head)]


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
