"""Feedback: like, dislike or seen, said with a verb ("loved #2", "seen 1 and 3"), as a verdict on a
clause ("#4 looks great", "zodiac was sooo good") or with thumbs ("tombstone 👍 true grit 👎")."""

from __future__ import annotations

import re

from agent.acts.refs import _all, _blank_titles, _refs, ref_in
from agent.acts.schema import Ref, TurnAct
from agent.acts.words import _BAD, _GOOD, _POSITION, _PRAISE, _SUBJECTLESS

_NEXT_ACT = (r"\bmore like\b|\bsimilar to\b|\bwhy\b|\bwhat\b|\bwhats\b|\bwhat's\b|\bwho\b|\bhow\b|\bwhen\b|"
             r"(?<=[,.;!?] )(?:is|are|was|does|did|can|could)\b")


def _feedback(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    # "a film grown-ups won't hate" is no verdict
    verbs = (("dislike", r"dislike[sd]?|(?<!n't )(?<!not )(?<!never )hated?|vetoed|didn't like|did not like|didn't love|"
                         r"did not love|didn't enjoy|not for me|"
                         r"not (?:really |much of )?a (?:big |huge )?fan of|not into|not feeling|not loving|meh on|didn't care for|"
                         r"don't care for|no to|👎+(?: on| for| to)?|thumbs down(?: (?:for|to|on))?|"
                         # "can't do hachi, i'd be in bits"; "my gf can't handle it" is hers
                         r"(?:(?<![\w'] )|(?<=\bi )|(?<=\bwe )|(?<=\bjust ))(?:can't|cannot|couldn't) (?:do|handle|stomach|face)"),
             ("seen", r"seen|watched|already saw|saw|already watched|already see|i've seen|have seen|already know|seen both|"
                      r"watched both|(?:have|has|already) watch"),  # "i have watch the amelie"
             ("like", r"(?<!dis)(?<!would )(?<!i'd )(?<!more )(?<!something )(?<!would i )(?<!will i )(?<!do i )"
                      r"(?<!nothing )(?<!anything )(?<!movies )(?<!films )(?<!stuff )(?<!things )(?<!ones )(?<!feel )"
                      r"(?<!didn't )(?<!don't )(?<!not )(?<!just )(?<!looks )(?<!sounds )(?<!kinda )(?<!look )(?<!seen )"
                      r"(?<!seem )(?<!seems )(?<!that's )(?<!that is )(?<!else )"
                      r"(?:liked?|loved?|enjoyed|really enjoyed|great pick(?: with)?|good one|nice one|yes to|"
                      r"loves|likes|adores|enjoys|"  # "my daughter loves coraline": an item on screen
                      r"👍+(?: on| for| to)?|❤️ for)|"
                      r"(?:we'll|i'll|let's|we will|i will) (?:go with|take|pick|watch)|going with|gonna go with|adored?|"
                      r"(?<![\w'] )(?:i'd|we'd|i would|we would) (?:happily |totally |definitely |def )?(?:watch|go for)(?= (?:#|number|the|both))|"
                      r"thumbs up(?: (?:for|to|on))?|"
                      r"(?<!not a )(?<!not really a )(?<!not a big )(?<!not a huge )(?:big |huge |massive )?fan of"))

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
                                                 r"yo|yrs?)|(?:after|before|since|from) |"
                                                 r"(?:the )?(?:early |mid |late )?(?:19|20)?\d0'?s\b)", head):
                    continue  # "I'd like something", "like to watch", "older, like 60s or 70s"
                if signal == "like" and _someone_else(text[:m.start()]):
                    continue
                if signal == "seen" and re.match(r"(?:half (?:of )?|most of |part of )?(?:a|an) (?!few|couple|lot|bunch)", head):
                    continue  # "i watched half of a horror last night": a story, no item
                # "my son loves dinosaurs" names no film: another's taste names only an item on screen
                third = re.match(r"(?:loves|likes|adores|enjoys)\b", m.group(0))
                refs = _refs(head, shown, titles_anywhere=not third)
                if refs is None and re.match(r"\s*(?:them both|both(?: of them)?|the two of them)\b", text[m.end():]):
                    # "seen 1 and 2, loved both": the items named just before
                    refs = _named_before_them(text[:m.start()], shown)
                if refs is None and signal != "seen" and re.match(
                        r"(?:that|this) (?!(?:kind|sort|type|genre|idea|one|part|bit|list)\b)[a-z]{3,}\s*(?:[.!,;]|$)", head):
                    refs = [Ref(anaphor=True)]  # "ooh paddington! love that bear": the item just named
                if refs and re.match(r"them\b(?! all)", head):
                    refs = _named_before_them(text[:m.start()], shown) or refs
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
              if not any(start <= i < start + len(clause) for i, _ in out)
              and not _softened(clause, after := text[start + len(clause):])
              and (act := _judged(clause, shown, asked=after.startswith("?")))]
    # "some like it hot, yes please": a bare verdict on the item the clause before names
    for (start, clause), (_, verdict) in zip(clauses, clauses[1:]):
        bare = re.fullmatch(r"(?:oh |and )?(yes|yes please|yess+|yep|yeah|love it|loved it|my (?:all[- ]time )?"
                            r"(?:fave?|favou?rite)|no thanks|nope|nah|hard pass|pass)(?: please| pls| thanks)?", verdict)
        if bare and not any(start <= i < start + len(clause) for i, _ in out + judged) and \
                (ref := ref_in(clause, shown)) is not None and not ref.anaphor and len(clause.split()) <= 6:
            signal = "like" if bare.group(1).startswith(("y", "love", "my")) else "dislike"
            judged.append((start, TurnAct(act="feedback", signal=signal, refs=[ref])))
    judged += _verdict_first(clauses, shown, out + judged)
    if judged:
        out = said(verb_at | cues | {start for start, _ in judged})
    # "first one yes, it's great": a later clause's "it" is the item just judged, not another; a new
    # verdict on it stands ("she's seen notting hill, but it's a no")
    named = [(i, a.signal) for i, a in out + judged if not all(r.anaphor for r in a.refs)]
    judged = [(i, a) for i, a in judged if not all(r.anaphor for r in a.refs)
              or not any(j < i and s == a.signal for j, s in named)]
    # "die hard is a classic, love it": the same verdict again on the item just named
    said_of = [(i, a.signal) for i, a in out + judged if not all(r.anaphor for r in a.refs)]
    out = [(i, a) for i, a in out if not (all(r.anaphor for r in a.refs) and (a.signal in {s for j, s in said_of if j < i}))]
    return _also(_merged(out + judged + _sarcastic(text, shown)), clauses, shown)


def _also(found: list[tuple[int, TurnAct]], clauses: list[tuple[int, str]],
          shown: list[str]) -> list[tuple[int, TurnAct]]:
    """"rear window - seen it. vertigo too", "same for #4": an item on screen added to the verdict before it."""
    for start, clause in clauses:
        item = re.fullmatch(r"(?:and |also |plus )?(.+?) (?:too|as well|also)|same (?:for|with|goes for) (.+)", clause)
        before = [a for i, a in found if i < start]
        if item and before and not any(start <= i < start + len(clause) for i, _ in found) and \
                (ref := ref_in(item.group(1) or item.group(2), shown)) is not None and not ref.anaphor \
                and ref not in before[-1].refs:
            before[-1].refs.append(ref)
    return found


# sarcasm that turns an item down: "the shining. how original", "you really thought i'd like X?",
# "because what i wanted after saying no horror was X"
_MOCK = (r"\bhow (?:daring|original|bold|brave|creative|adventurous|inventive|edgy|groundbreaking|unexpected|surprising|"
         r"imaginative|fresh)(?: of you)?(?=[\s.!?🙄😒]*$)")
_MOCKED_PICK = (r"\byou (?:really|seriously|honestly|actually|genuinely) (?:thought|think|figured|believed) (?:i'd|i would|we'd|we would) "
                r"(?:like|love|enjoy|want|go for|be into) (.+?)(?=[?.!,]|$)|"
                r"\b(?:because|cause|cuz|exactly|just) what (?:i|we) (?:really |totally |actually )?(?:wanted|needed|asked for)\b"
                r".{0,60}? (?:was|is) (.+?)(?=[?.!,]|$)")


def _sarcastic(text: str, shown: list[str]) -> list[tuple[int, TurnAct]]:
    out = []
    for m in re.finditer(_MOCKED_PICK, text):
        g = 1 if m.group(1) else 2
        if refs := _refs(m.group(g), shown, titles_anywhere=True, bare_title=True):
            out.append((m.start(g), TurnAct(act="feedback", signal="dislike", refs=refs)))
    if m := re.search(_MOCK, text):  # the item named before the mockery, else the one just talked about
        ref = ref_in(text[:m.start()], shown)
        out.append((0, TurnAct(act="feedback", signal="dislike", refs=[ref if ref is not None else Ref(anaphor=True)])))
    return out


def _verdict_first(clauses: list[tuple[int, str]], shown: list[str],
                   found: list[tuple[int, TurnAct]]) -> list[tuple[int, TurnAct]]:
    """"boring. #4", "love it - the second one": a bare verdict, then the item it is on."""
    out = []
    for (start, verdict), (at, item) in zip(clauses, clauses[1:]):
        bare = re.fullmatch(rf"(?:oh |and |so |just )?({_BAD}|{_GOOD}|love it|loved it)(?: please| pls| tbh| honestly)?",
                            verdict)
        if bare and len(item.split()) <= 3 and not any(start <= i < at + len(item) for i, _ in found) and \
                (ref := ref_in(item, shown)) is not None and not ref.anaphor and ref.position is not None:
            out.append((start, TurnAct(act="feedback", signal="dislike" if re.fullmatch(_BAD, bare.group(1)) else "like",
                                       refs=[ref])))
    return out


def _named_before_them(before: str, shown: list[str]) -> list[Ref] | None:
    """"the first and the last, i like them", "the last two are classics, love them": the items the
    clause before names."""
    clause = re.split(r"[.;!?]", re.sub(r"(?:[\s,:–—-]|\b(?:i|we|and|so|just|really|both)\b)*$", "", before))[-1]
    # "seen 1 and 2, loved both": the items the verb before named
    clause = re.sub(r"^\s*(?:(?:i|we)(?:'ve| have)? )?(?:already |just |also )?(?:seen|watched|saw|liked|loved|enjoyed)\s+", "",
                    clause)
    return _refs(re.sub(r"\s+(?:are|were|look|seem|sound)\b.*$", "", clause.strip()), shown) if clause.strip() else None


def _softened(clause: str, after: str) -> bool:
    """"these are good but can we get some older ones": praise of the whole list that softens a
    request for others, no verdict."""
    return bool(re.fullmatch(r"(?:these|those|they|them|all of (?:these|them|those))(?: all)? (?:are|look|seem|sound)(?: all)? "
                             r"(?:(?:really|pretty|very|all) )?(?:good|great|fine|nice|ok|okay|cool|decent|interesting)", clause)
                and re.match(r"\s*,?\s*but\b.{0,30}\b(?:can|could|any|some|something|anything|show|give|want|need|other|"
                             r"different|more)\b", after))


def _someone_else(before: str) -> bool:
    """Whether a 'like' is someone else's, asked or told ("why would my kid like #4", "critics like it?")."""
    return bool(re.search(r"\b(?:would|will|does|did|do|might|could)\s+(?:my|your|our|the|a|he|she|they|people|critics|adults|"
                          r"grown-?ups|kids|children|teens|teenagers|parents|anyone|everyone)\b"
                          r"[\w' ]{0,20}$|\b(?:critics|reviewers|audiences|people|everyone|everybody)\s+$", before))


def _merged(found: list[tuple[int, TurnAct]]) -> list[tuple[int, TurnAct]]:
    """"seen elf, seen home alone": the same signal said again in a row is one act on all its items."""
    out: list[tuple[int, TurnAct]] = []
    for i, act in sorted(found, key=lambda pair: pair[0]):
        if out and out[-1][1].signal == act.signal:
            out[-1][1].refs += [r for r in act.refs if r not in out[-1][1].refs]
        else:
            out.append((i, act))
    return out


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
    for m in re.finditer(r"[.;!?,]|\bbut\b|(?<=[\U0001F300-\U0001FAFF\u2600-\u27BF])\s(?=(?:what|why|how|more|any|got)\b)|"
                         r"\s(?=(?:who's|what's|how long|how's|is it|is that|tell me)\b)",
                         text + "."):
        clause = text[at:m.start()]
        if clause.strip():
            out.append((at + len(clause) - len(clause.lstrip()), clause.strip()))
        at = m.end()
    return out


def _judged(clause: str, shown: list[str], asked: bool = False) -> TurnAct | None:
    """A short clause that judges shown items ("#4 looks great", "zootopia was amazing")."""
    if re.match(r"(?:is|are|was|were|does|did|do|can|could|would|should|will|have)\b", clause) and \
            (asked or not re.fullmatch(_SUBJECTLESS, clause)):
        return None  # "is blade runner good": a question
    clause = re.sub(rf"^(?={_SUBJECTLESS}$)", "it ", clause)  # "..., is very nice": it is
    no = re.fullmatch(r"(?:not|no) (.{1,20}?)(?: please| pls| thanks| for me)?", clause)
    if no and re.fullmatch(_POSITION, no.group(1)):  # "not #3 pls"
        return TurnAct(act="feedback", signal="dislike", refs=_refs(no.group(1), shown) or [])
    if (seen := re.fullmatch(r"(.+?)\s*(?:[:✅✔☑️–—-]\s*)*(?:already |have |i've )?(?:seen|watched)(?: it| already| before)?",
                             clause)) and not re.search(r"\b(?:i|you|we|they|have|has|had|not|never|haven't)$", seen.group(1)):
        refs = _refs(seen.group(1), shown)  # "gone girl ✅ seen", "#2 already seen"
        return TurnAct(act="feedback", signal="seen", refs=refs) if refs else None
    # "grease is a no", "akira's a (hard) no"
    clause = re.sub(r"(?:\b(?:is|are)|'s) an? (?:hard |big |firm |definite |total |solid |strong )?(yes|no|must|pass)\b", r" is \1",
                    clause)
    # "lost in translation was a snoozefest", "it's such a slog"
    clause = re.sub(r"(?:\b(?:is|are|was|were)|'s) (?:such |a bit of )?an? (?:total |complete |absolute |real )?"
                    r"(?:snooze ?fest|snooze|slog|drag|bore|chore|let ?down|dud)\b", " is bad", clause)
    # "dunkirk bored me to death", "it put me to sleep", "that one fell flat"
    clause = re.sub(r"\s?\b(?:bored (?:me|us)(?: to (?:death|tears|sleep)| stiff| senseless)?|put (?:me|us) to sleep|"
                    r"fell (?:flat|apart)|dragged(?: on)?)(?=\W*$|\s+(?:tbh|honestly|ngl|lol|though|tho)\W*$)", " is bad", clause)
    clause = re.sub(_PRAISE, " is great", clause)  # "X is the best", "babe was my childhood", "arrival blew my mind"
    clause = re.sub(r"^its\b", "it's", clause)  # "its terrible"
    clause = re.sub(r"^(.+?) it is$", r"\1 is great", clause)  # "perfect, airplane it is"
    # "superbad is a bit crude for me", "way too crude"; "these are way too much for me" asks for others
    clause = re.sub(r"\b(?:is|are|was|were) (?:(?:(?:a bit|way|far|much|kinda|a little|bit|just) )?too|a bit|kinda|a little|bit) "
                    r"(?!much\b)\w+ for (?:me|us|my taste|my liking)\b", " is no", clause)
    if len(clause.split()) > 12 or re.search(r"\b(why|how|what|whats|who|when|is it|is the|recommend|more|something|"
                                            r"any|looking|want|need|a|an|some)\b", _blank_titles(clause, shown)):
        return None
    for signal, words in (("dislike", _BAD), ("like", _GOOD)):
        if m := re.search(rf"(?:^|\s|\b)(?:{words})(?:\b|\s|$)", _blank_titles(clause, shown)):
            before = clause[:m.start()].strip(" ,.!:")
            before = re.sub(r"^(?:(?:and|also|plus|oh|ooh|honestly|tbh|ngl|ugh|man|wow|omg|well|ok|okay|yeah|lol|so),?\s+)+",
                            "", before)  # "honestly the notebook was so boring"
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
