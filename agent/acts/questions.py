""""why #2?" (explain) and questions about an item ("is it scary?", "how long is heat")."""

from __future__ import annotations

import re

from agent.acts.refs import _mask_titles, _more_places, _on_screen, _refs, _shown_title, ref_in
from agent.acts.schema import About, Ref, TurnAct
from agent.acts.words import _BAD, _GOOD, _POSITION, _SUBJECTLESS

_ABOUTS = (("length", r"how long|runtime|run time|length|minutes|is it long|too long|(?:terribly|very|really|that|super|so) long|\d+ ?(?:hrs?|hours?|mins?)\b"),
           ("year", r"what year|when was|when did|when's it from|when is it from|from when|how old|released|came out|"
                     r"come out|when(?:'s| is) .{1,40} from\b|"
                     r"from the \d0'?s\?|which year|\byear\s*\?"),  # "#2 year?"
           ("cast", r"who (?:(?:even|actually|really|exactly) )?(?:is|was|stars|plays|directed|made|is in)|"  # "who even directed it"
                    r"actors?|cast|director|starring|who's in|voices?\b|voiced|"
                    r"the (?:leads?|star|main character)\b|lead (?:role|actor|actress)"),
           ("rating", r"rated|rating|any good|is it good|worth (?:it|watching)|score|reviews?|good\?"),
           ("genre", r"animated|scary|funny|romantic|a comedy|a horror|a romantic comedy|(?:is|was) (?:it|that|this)(?: one)? (?:an? )?"
                        r"(?:horror|comedy|romance|drama|thriller|western|musical|documentary|cartoon|sci-fi|mystery|crime|"
                        r"fantasy|action|anime)\b|an? (?:romance|drama|thriller|western|musical|"
                        r"documentary|cartoon|war movie|sci-fi|mystery|crime|fantasy|action)\b|genre|for kids|an? kids? (?:movie|film)|an? family (?:movie|film)|"
                        r"family friendly|kid friendly|violent|sad|"
                        r"ok for (?:a |my |the )?(?:\d+|kids?|children|family)|suitable|appropriate|\d+ ?(?:yo|year old)|"
                        r"what kind of|what type of|gory|"
                        r"(?:horror|comedy|romance|drama|thriller|western|musical|documentary|cartoon|sci-fi|mystery|crime|"
                        r"fantasy|anime)(?: movie| film)?\s*\?"),  # "is donnie darko horror?"
           ("other", r"based on a true story|true story|(?:actually|really) happen|made up|subbed|dubbed|subtitles?|subtitled|language|"
                     r"stream(?:ing|ed)?|where can (?:i|we|you) (?:watch|find|see|rent|get)|netflix|hulu|sequel"),
           ("plot", r"what(?:'s| is|s) (?:it|that|the \w+ one|#?\d|.{0,40}) about|about\?|plot|story|premise|tell me "
                       r"(?:more )?about|what happens|synopsis|gist"))


_QUESTION = re.compile(r"(?:^|[,.;:!?–—⭐]\s*|\s-\s*|\b(?:and|also|plus|but|so|ok|okay|oh|ooh|hmm|wait|btw|then|hey|meant|"
                       r"(?:could|can) you tell me|do you know|good|great|fun|cool|interesting|nice|amazing)\s+)"
                       r"(is|was|are|does|did|do|what|whats|what's|who|who's|when|where|how|tell me|any|in which|in what|which|"
                       r"give me the gist|gimme the gist)\b")


_WHY = re.compile(r"\b(why|how come|what makes|what made you|reason(?:ing)?|rationale|explain|"
                  r"how(?:'d| did) .{1,40} (?:end up|get|land) (?:on|in) (?:the|this|my|your) (?:list|picks)|how (?:is|does|do) .{0,30}"
                  r"(?:fit|related|match|connect)|what about .* fits?|(?:the )?connection between|what (?:does|has) .{1,30} (?:have |got )?to do with|"
                  r"what(?:'s| is) .{1,30} doing (?:on|in) (?:here|there|the list|my list|this list)|in there|"
                  r"what connects .{1,30} to|how does .{1,30} connect|"
                  r"how (?:does|do|is|would|can) .{1,30}? (?:count|qualify|pass) as|"  # "how does #4 count as feel-good"
                  # "how is fargo anything like what i asked for"
                  r"how (?:is|was|'s) .{1,30}? (?:like|close to|near) what (?:i|we) (?:asked for|wanted|said|asked))\b")


# words that end a question about a title ("is the shining actually scary?", "is akira subbed or dubbed")
_ABOUT_WORDS = (r"scary|funny|violent|sad|gory|animated|for kids|ok for|good|any good|long|released|about|rated|worth|"
                r"subbed|dubbed|based on|in english|on netflix|streaming|a sequel|a comedy|a horror|a kids|an? (?:romance|"
                r"drama|thriller|western|musical|documentary|cartoon|war movie|sci-fi|mystery|crime|fantasy|action)\b|"
                r"come out|from|like \d+|\d+ ?(?:hrs?|hours?|mins?)\b|subtitled|(?:under|over|less than|more than) \d+|"
                r"romantic")


def _asks_other(span: str) -> bool:
    return bool(re.search(r"\b(?:subbed|dubbed|subtitles?|subtitled|based on a true story|true story|stream(?:ing)?|on netflix|on hulu|"
                          r"on prime|on disney\+?|a sequel)\b", span))


def about_of(text: str) -> About:
    """What a question asks of an item: its length, year, cast, rating, genre, plot, or other."""
    return next((a for a, pattern in _ABOUTS if re.search(rf"(?:{pattern})", text)), "other")


def _explain_or_question(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    """ "why #2?" (explain), "is it scary?" (a question), or both in one message."""
    text = _title_then_question(text, shown)
    m = _WHY.search(text)
    if m is None:  # "how long is #2? and is it scary": a question in each sentence
        out, base = [], 0
        # ... and in each clause that starts a new one ("when is #1 from and how long is it")
        for sentence in re.split(r"(?<=\?)|\s+and\s+(?=(?:how|what|who|when|is|does|did|was)\b)", text):
            out += _question(sentence, shown, base, after_explain=bool(out))
            base += len(sentence)
        return out
    if again := re.search(r"(?:,|\band|\balso|\bplus)\s+(?:and\s+)?(?=why\b)", text[m.end():]):
        cut = m.end() + again.end()  # "why step brothers and why the hangover": an explain for each
        second = [(cut + i, a) for i, a in _explain_or_question(text[cut:], shown)]
        if second and all(a.act == "explain" and not a.ref.anaphor for _, a in second):
            return _explain_or_question(text[:cut], shown) + second
    # "why 3?", "the reasoning for 5"
    # "why is 5 there", "why did you pick 4": a bare number after the verb too
    number = re.match(r"\s*(?:(?:for|behind|is|was|did (?:you|it) (?:pick|choose|include|add|suggest|recommend|put)) )?"
                      r"(?:#\s*)?(\d{1,2})\b(?!\s*(?:stars?|/|%|min|h\b|hrs?|hours?|years?|times|of|or|-|x\b))", text[m.end():])
    ref = Ref(position=int(number.group(1))) if number and _on_screen(int(number.group(1)), shown) else \
        ref_in(text[m.start():], shown) or ref_in(text, shown) or _the_word(text[m.end():]) or Ref(anaphor=True)
    several = re.match(r"\s*((?:the )?(?:first|top|last|bottom) (?:two|three|four|2|3|4))\b", text[m.end():])
    if several:  # "why the last two"
        return _question(text[:m.start()], shown, 0) + [
            (m.start(), TurnAct(act="explain", ref=r)) for r in _refs(several.group(1), shown) or [ref]]
    out = _question(text[:m.start()], shown, 0)  # "what's #2 about and why did you pick it"
    out += [(m.start(), TurnAct(act="explain", ref=r)) for r in _more_places(ref, text[m.end():])]
    tail = text[m.end():]
    # "why #3 and is it scary?"; "why is memento here? who even directed it": a question in the next sentence
    if q := re.search(r"(?:\b(?:and|also|plus)|[?!.])\s+(is|was|are|does|did|what|who|when|how)\b", tail):
        out += _question(tail[q.start(1):], shown, m.end() + q.start(1), after_explain=True)
    return out


def _title_then_question(text: str, shown: list[str]) -> str:
    """"seen breakfast club. ferris bueller who is in it": a title on screen said first, then a
    question about it, read as "ferris bueller, who is in it" (one comma for one space)."""
    def comma(m: re.Match) -> str:
        name = m.group(2)
        return f"{m.group(1)}{name},{m.group(3)}" if _shown_title(name, shown) == name else m.group(0)
    return re.sub(r"(^|[.!?;]\s+)((?:the )?[a-z0-9][\w'&:-]*(?: [\w'&:-]+){0,5}?) "
                  r"((?:who|who's|what's|whats|what (?:is|was|year|kind|type|genre|rating)|how (?:long|old|is|was|scary|good)|"
                  r"when|when's|is it|was it|is that|does it|did it)\b)",
                  comma, text)


def _the_word(text: str) -> Ref | None:
    """"why would i go for the fellini?": the one a word tells apart, after a verb of taste."""
    m = re.search(r"\b(?:go for|like|love|enjoy|want|pick|picked|choose|chose|watch|fancy|be into) the ([a-z][\w-]{2,})\W*$", text)
    return Ref(describe=m.group(1)) if m and m.group(1) not in ("one", "rest", "others", "list", "movie", "film", "same") else None


def _said_as_question(text: str, shown: list[str], base: int) -> list[tuple[int, TurnAct]]:
    """A statement asked with a question mark, the item first: "the number 4 has english subtitle?",
    "#3 is based on a true story?"."""
    m = re.fullmatch(r"\s*(.{1,30}?)\s+(?:has|have|got|is|was|comes? with|came out)\b([^?]{0,40})\?\s*", text)
    ref = ref_in(m.group(1), shown) if m else None
    if ref is None or ref.anaphor or not (re.search(_POSITION, m.group(1)) and len(m.group(1).split()) <= 3 or ref.title) \
            or re.search(r"\b(?:like|more|something|anything|but)\b", text):
        return []
    about = about_of(_mask_titles(text, shown))
    return [(base + m.start(1), TurnAct(act="question", ref=ref, about=about))] if about != "other" or _asks_other(text) else []


def _question(text: str, shown: list[str], base: int, after_explain: bool = False) -> list[tuple[int, TurnAct]]:
    """A question about an item; it starts its clause ("horror is fine again" asks nothing)."""
    qm = _QUESTION.search(text)
    if qm is None:
        return _said_as_question(text, shown, base)
    if re.match(r"(?:what(?:'s| is|s|re| are)|any|are there any) (?:a |an |some |any )?"
                              r"(?:good|great|fun|decent|nice|scary|funny)\b|what(?:'s| is|s)? (?:else|similar)\b|"
                              r"what(?:'s| is|s) (?:a|an|some) (?:[\w-]+ ){0,2}(?:movie|film|flick|show)s?\b|"
                              # "is there a sequel to #1" asks about the item
                              r"(?:is|are) there (?:a|an|any|anything|something|some)\b(?! (?:sequel|prequel|remake|"
                              r"follow[- ]up|part (?:2|two|ii)|book|novel|english version|dubbed version)s? (?:to|of|for|on)\b)|"
                              # "what about older crime stuff", "how about something funnier": a request
                              r"(?:what|how) about (?!(?:the|it|that|this|number)\b|#)(?:[\w-]+ ){0,3}"
                              r"(?:stuff|movies|films|flicks|ones|something|anything)\b|"
                              r"what(?:'s| is| was) the (?:reasoning|reason|rationale|logic|thinking)\b|"
                              r"what(?:'s| is| was| were) (?:the|your)\s*$|do (?:you|u) have\b|have (?:you|u) got\b|"
                              r"any (?:genre|decade|era|year|kind|type|mood)\b",
                              text[qm.start(1):]):
        return []  # "what's a good zombie flick", "what else is like it": a request
    span = text[qm.start(1):]
    if re.fullmatch(_SUBJECTLESS + r"[\s.!]*", span):
        return []  # "..., is very nice": a verdict, no question
    if re.match(rf"(?:what|who)\b[\w' ]{{0,40}}? (?:is|was) (?:so |really )?(?:{_GOOD})(?!\w)", span):
        return []  # "what we do in the shadows is hilarious": a title judged
    about = about_of(re.sub(r"\bthe (?!(?:a|an|that|this|it|on|is|of)\b)[\w-]+(?: (?!(?:a|an|that|this|it|on|is|of)\b)[\w-]+){0,2} one\b",
                            " ", _mask_titles(span, shown)))
    # "is 5 in english", "how long is 2": a bare number after the question's verb is a place on screen
    place = re.match(r"(?:is|was|does|did|how long is|who(?:'s| is) in)\s+(\d)\b(?!\s*(?:stars?|/|%|min|h|hrs?|hours?|"
                     r"years?|times|or|-))", span)
    ref = Ref(position=int(place.group(1))) if place and shown and 1 <= int(place.group(1)) <= len(shown) else \
        ref_in(span, shown) or (Ref(anaphor=True) if after_explain else None)
    # "seen breakfast club. ferris bueller, who is in it": the item the question's own sentence names first
    named = re.fullmatch(r"(.*[.!?;]\s+)?\s*([^,.;!?]{1,40}?)\s*[,:–—-]\s*", text[:qm.start(1)])
    if (ref is None or ref.anaphor) and not after_explain and named and not re.search(
            rf"\b(?:{_GOOD}|{_BAD})\b", named.group(2)):
        before = ref_in(named.group(2), shown)
        if before is None and not named.group(1) and about != "other" and \
                re.fullmatch(r"(?:the )?[a-z0-9][\w' :-]{1,40}", named.group(2)) \
                and not re.search(r"\b(?:i|you|we|it|that|this|something|anything|movies?|films?)\b", named.group(2)):
            before = Ref(title=named.group(2))  # a title not on screen: "stand by me, what's the story"
        if before is not None:
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
                or re.search(r"\b(?:is|was|in(?! which)|on|of|about|directed|made|wrote|stars in|starred in) (?:the movie |the film )?"
                             r"((?:the )?[a-z0-9][\w' :-]{1,40}?)"
                             r"(?: released| about| rated| good| any good| long| made| from| come out| came out| in)?\??$",
                             span) \
                or re.search(r"^did (?:the movie |the film )?((?:the )?[a-z0-9][\w' :-]{1,40}?) (?:actually |really )?happen\b",
                             span):
            if not re.search(r"\b(it|that|this|one|something|anything|there|you|i)\b", t.group(1)):
                ref = Ref(title=t.group(1))
    # "is there a sequel to #1", "are there any sequels to casino"
    if ref is not None and (about != "other" or qm.group(1) in ("is", "are", "does", "was", "what", "whats", "what's", "where",
                                                                "tell me")):
        return [(base + qm.start(1), TurnAct(act="question", ref=r, about=about)) for r in _more_places(ref, span)]
    return []
