"""What a chat message asks the agent to do, as typed acts: recommend (or refine), more like an
item, explain an item, a question about an item, feedback, undo a constraint, start over, or
unclear. The rules here always run; a model's reading can fill in what they miss.

References resolve one way everywhere: "#2", "number 2", "the second (one)", "the last one",
"that one" / "it" (the item last talked about), "the Pixar one" (a word the item's title, genres
or tags carry), or a title as typed, matched against the list on screen.

The rules are split by what they read: words.py (the vocabulary), refs.py (which item), feedback.py,
questions.py, requests.py (constraints, undo, more like); llm.py is the model's reading."""

from __future__ import annotations

import re

from agent.acts.feedback import _feedback
from agent.acts.llm import ACTS_PROMPT, acts_schema, model_acts, read_with_model
from agent.acts.questions import _explain_or_question, about_of
from agent.acts.refs import _mask_titles, ref_in
from agent.acts.requests import (
    _MORE_LIKE,
    _OFF_TOPIC,
    _asks,
    _asks_for_more,
    _excluded_titles,
    _in_passing,
    _kind_like,
    _more_like,
    _off_topic,
    _only_a_year,
    _request,
    _undo,
    read_era,
    unsupported,
)
from agent.acts.schema import About, ActName, Ref, TurnAct
from agent.acts.words import (
    _GOOD,
    _POSITION,
    _PRAISE,
    MOOD_GENRES,
    MOOD_WORDS,
    TAG_GROUPS,
    catalog_words,
    normalise,
    repair_typos,
)

__all__ = ["ACTS_PROMPT", "About", "ActName", "MOOD_GENRES", "MOOD_WORDS", "TAG_GROUPS", "Ref", "TurnAct", "about_of",
           "acts_schema", "catalog_words", "model_acts", "normalise", "read_era", "read_turn", "read_with_model",
           "ref_in", "unsupported"]


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
                      r"(?:scrap|wipe|clear|reset|drop|remove|forget|delete|ditch) (?:all )?(?:my|the|all(?: the)?|of my|of the) "
                      r"filters|begin again|fresh start|start afresh|let's start again|back to square one|"
                      # "please delete all and we start new"; "forget what i said just now" takes back one thing
                      r"(?:delete|erase) (?:all|everything)(?=\W*$| and\b)|(?:we |let's |let us )?start (?:new|anew)(?=\W*$)|"
                      r"forget what i said(?! just| a (?:moment|second|minute))|(?:start|begin) (?:from|at) zero|"
                      r"new topic|(?:do|start) (?:the whole thing|it all|everything) over|from the top|"
                      r"(?:wipe|clean|clear) the slate(?: clean)?|blank slate|new (?:convo|conversation|chat|session)|"
                      r"(?:start|open) (?:a )?(?:new|fresh|another) (?:convo|conversation|chat|session))\b", text):
        found.append((m.start(), TurnAct(act="reset")))
    found += _feedback(text, shown)
    found += _explain_or_question(text, shown)
    undo = _undo(text, genres)
    found += [(i, a) for i, a, _ in undo if a is not None]
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
    if any(a.act == "explain" for _, a in found):  # "how does #4 count as feel-good": the list's word quoted back
        rest = re.sub(r"\b(?:counts?|qualif(?:y|ies)|pass(?:es)?) as (?:an? )?[\w-]+", " ", rest)
    for _, _, span in undo:  # what an undo takes back is no new constraint
        rest = rest.replace(span, " ")
    excluded = _excluded_titles(re.sub(_POSITION, " ", rest), genres, shown)
    # "a romcom that isn't love actually": an excluded title's words judge nothing
    found = [(i, a) for i, a in found if not (a.act == "feedback" and any(
        n.start() <= i < n.end() for _, _, name in excluded for n in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text)))]
    # "anything except X, my dad has watched it 50 times", "not ghibli though, i've seen all of them":
    # why X or a kind is ruled out, no item seen
    found = [(i, a) for i, a in found if not (a.signal == "seen" and (
        all(r.anaphor for r in a.refs) or re.match(r"[\w' ]{0,20}?\b(?:them|those|these)\b", text[i:])) and (
        any(name in text[:i] for _, _, name in excluded) or re.search(
            r"\b(?:not|no|nothing|except|without)\s+[\w' -]{1,40}?(?:\s+(?:though|tho|please|pls))?\s*[,.;:–—-]\s*"
            r"(?:(?:i've|i have|we've|i|we|cos|because|since|as|already)\s+)*$", text[:i])))]
    request = _request(_without_refs(rest, shown, found), genres, excluded)
    taken = {a.act for _, a in found}
    if request is not None:
        first, act = request
        if known_words is not None and act.query and not set(act.query.split()) & known_words:
            act.query = ""  # words the catalog never uses: nothing to search for
        if more:  # "more like #2 but older": the constraints belong to the more-like act
            for field in ("genres", "not_genres", "tags", "not_tags", "not_titles", "era", "mood"):
                setattr(more[0][1], field, getattr(act, field))
        # after "start over" what follows is asked ("seen all five. start over, documentaries this time")
        elif act.has_constraints() and not (taken & {"feedback"} and _only_a_year(act, text)) \
                and not (taken & {"explain", "question", "feedback"} and "reset" not in taken and _in_passing(act, text)) \
                or _asks_for_more(text):
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
    if refs and refs[0].anaphor and at > 0:  # "rear window - seen it. vertigo too": it, then vertigo
        named = ref_in(re.sub(r"\b(?:it|that|this)\b.*$", "", text[:at]), shown)
        if named is not None and not named.anaphor:
            if first.ref:
                first.ref = named
            else:
                first.refs = [named, *(r for r in refs if not r.anaphor)]
    return acts


def _without_refs(text: str, shown: list[str], found: list[tuple[int, TurnAct]]) -> str:
    """The text a request is read from: references ("the horror one", a title on screen) and the
    titles feedback or "more like" named are no constraints, nor is the word that tells an item
    apart ("more like the western but funny" asks no Western)."""
    text = re.sub(r"\bthe [\w-]+(?: [\w-]+){0,2} one\b", " ", _mask_titles(text, shown))
    for _, act in found:
        for ref in [act.ref, *act.refs]:
            if ref is not None and ref.title:
                text = re.sub(rf"(?<!\w){re.escape(ref.title)}(?!\w)", " ", text)
            elif ref is not None and ref.describe:
                text = re.sub(rf"\bthe {re.escape(ref.describe)}(?: movie| film)?(?!\w)", " ", text)
    return text
