"""The conversational agent: messages become constraints that accumulate over a session,
feedback updates the stored history at once, and each turn answers with a grounded list."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from agent.backends.base import ChatRequest
from agent.config import Settings
from agent.errors import BackendError, UnknownUserError
from agent.acts import (MOOD_GENRES, TAG_GROUPS, Ref, TurnAct, catalog_words, read_turn, read_with_model,
                        unsupported)
from agent.intent import Era, Intent, intent_schema, parse_intent, parse_reference
from agent.options import RecommendOptions
from agent.pipeline.candidates import profile_vector
from agent.pipeline.context import RequestContext
from agent.pipeline.evidence import evidence_for
from agent.pipeline.explain import template_texts
from agent.pipeline.rrf import rrf_of_scores
from agent.recommender import Recommender
from agent.session import Constraints, SessionState, SessionStore, Turn
from agent.types import (Candidate, FeedbackResult, Item, ProfileSummary, Recommendation,
                         RecommendedItem)
from prompts.inputs import IntentInputs, as_data

SESSION_USER = "session:"  # the prefix of an anonymous session's own user id
MAX_MESSAGE = 1000  # characters kept of one chat message
_YEAR = re.compile(r"\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_NEGATION_WORDS = re.compile(r"\b(no|not|without|avoid|skip|except|nothing|none)\b", re.IGNORECASE)
HINT = 'Say "like 2", "dislike 3", "more like #1", "no horror", "something from the 90s", or "start over".'


class ChatReply(BaseModel):
    session_id: str
    reply: str
    items: list[RecommendedItem] = Field(default_factory=list)
    constraints: Constraints
    notices: list[str] = Field(default_factory=list)
    feedback: list[FeedbackResult] = Field(default_factory=list)
    intent_source: Literal["llm+rules", "rules"] = "rules"
    fallback_reason: str | None = None


def item_year(item: Item) -> int | None:
    m = _YEAR.search(item.title)
    return int(m.group(1)) if m else None


SPARSE_TOPIC = 50  # fewer titles than this tagged or named for a topic: "no zombies" may let untagged ones through


def about_topic(tags: list[str]) -> Callable[[Item], bool]:
    """Whether an item is about one of `tags` (with their other forms, "superheroes", "marvel"): it
    carries the tag, or its title names it as a word ("Interview with the Vampire" for "no vampires").
    Catalog tags are sparse (MovieLens tags 4 vampire movies), so a title is evidence too."""
    forms = {f for tag in tags for f in TAG_GROUPS.get(tag, (tag,))}
    if not forms:
        return lambda item: False
    named = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, sorted(forms))) + r")(?![\w-])", re.IGNORECASE)
    return lambda item: bool(forms & {t.lower() for t in item.tags}) or bool(named.search(item.title))


class ChatSessions:
    """Chat sessions over one Recommender: `chat(session_id, message)` runs a turn, `start`
    opens a session; `recommend` and `feedback` are the Recommender's, with this agent's options.

    With `use_llm=False` in `options` the intent parser and ranking are deterministic (no LLM calls)."""

    def __init__(self, recommender: Recommender | None = None, *, settings: Settings | None = None,
                 sessions: SessionStore | None = None, options: RecommendOptions | None = None, **changes):
        self.recommender = recommender or Recommender(settings)
        settings = self.recommender.settings
        self.sessions = sessions or SessionStore(settings.sessions_store, settings.session_retention_days)
        self.options = RecommendOptions.of(options or RecommendOptions(k=5), **changes)
        self._catalog_size = -1

    def close(self) -> None:
        self.recommender.close()
        self.sessions.close()

    # -- programmatic API ------------------------------------------------------------------------
    def recommend(self, user_id: str | None = None, history: list | None = None, **changes) -> Recommendation:
        """For a stored user or an inline history; keywords override this agent's options (e.g. k=10)."""
        options = RecommendOptions.of(self.options, **{"k": 10, **changes})
        if user_id is not None:
            return self.recommender.recommend(user_id, options)
        return self.recommender.recommend_for_history(history or [], options)

    def feedback(self, user_id: str, item_id: str, signal: str, writer: str | None = None) -> FeedbackResult:
        """Feedback for a known user; `writer` names the service key that sent it (None: the operator)."""
        return self.recommender.feedback(user_id, item_id, signal, writer=writer)

    def session_feedback(self, state: SessionState, item_id: str, signal: str) -> FeedbackResult:
        """Feedback in a session, written for its user as the key that opened it; an anonymous
        session's own user is created by its first feedback (never by an id sent from outside)."""
        user = self.session_user(state)
        return self.recommender.feedback(user, item_id, signal, create=state.user_id is None, writer=state.owner)

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Forget a user: interactions (feedback included), registration and chat sessions
        (for an anonymous session's user, that session)."""
        sessions = self.sessions.delete_user(str(user_id), SESSION_USER)
        try:
            interactions = self.recommender.delete_user(user_id)
        except UnknownUserError:
            if not sessions:
                raise
            interactions = 0  # an anonymous session that never sent feedback
        return {"interactions": interactions, "sessions": sessions}

    def start(self, user_id: str | None = None, owner: str | None = None) -> str:
        """A new session (for a stored user, or anonymous); returns its id. `owner` is the service
        key that opens it: only that key continues it."""
        if user_id is not None:
            self.recommender.history(str(user_id))  # an unknown user is an error here
        return self.sessions.create(str(user_id) if user_id is not None else None, owner).session_id

    def session_user(self, state: SessionState) -> str:
        """Whose history a session reads and writes: its user, or a per-session anonymous id."""
        return state.user_id or f"{SESSION_USER}{state.session_id}"

    # -- one chat turn ---------------------------------------------------------------------------
    def chat(self, session_id: str, message: str,
             on_item: Callable[[RecommendedItem], None] | None = None) -> ChatReply:
        """One turn. `on_item` gets each recommended item as soon as its text is written."""
        state = self.sessions.get(session_id)
        notices: list[str] = []
        # personal data (e-mail, phone, card numbers) is redacted before it is read or stored
        message = self.recommender.redactor.text(message) if isinstance(message, str) else message
        text = message if isinstance(message, str) else ""
        if not text.strip():
            return self._answer(state, message, "Tell me what you would like: a genre, a decade, a mood, or "
                                "\"more like <a title>\". " + HINT, notices=notices)
        if len(text) > MAX_MESSAGE:
            text = text[:MAX_MESSAGE]
            notices.append(f"Your message was long; I read its first {MAX_MESSAGE} characters.")
        acts = read_turn(text, self._categories(), self._titles(state.last_list), self._words)
        source = "rules"
        # the rules found nothing: ask a capable model (the bundled one read the corpus worse than asking back)
        if [a.act for a in acts] == ["unclear"] and self.options.use_llm and \
                self.recommender.explain_mode_for(self.options) == "open":
            if read := read_with_model(self.recommender.backend, self.recommender.registry,
                                       self.recommender.redactor.text(text), self._categories(),
                                       self._titles(state.last_list)):
                acts, source = read, "llm+rules"
        names = {a.act for a in acts}
        intent = parse_intent(text, self._categories(), len(state.last_list))
        if not names & {"recommend", "more_like"}:  # no request in it: the older reader's words are not one
            intent = Intent(reset=intent.reset, show_again=intent.show_again)

        if intent.reset or "reset" in names:
            state.constraints = Constraints()
            state.shown, state.focus = [], None
            notices.append("Starting over: constraints cleared.")
        results = []
        for act in (a for a in acts if a.act == "feedback"):
            for ref in act.refs:
                if (item_id := self._item_of(ref, state, notices)) is not None:
                    results.append(self.session_feedback(state, item_id, act.signal))
                    state.focus = item_id
        if results:
            notices.append("Noted: " + "; ".join(f"you {_past(r.signal)} {r.title}" for r in results) + ".")
        for act in (a for a in acts if a.act == "undo"):
            self._undo(state, act.what or {}, notices)

        answers = [self._explain(state, a.ref, notices) if a.act == "explain" else self._question(state, a, notices)
                   for a in acts if a.act in ("explain", "question") and a.ref is not None]
        if answers and not names & {"recommend", "more_like", "reset", "undo"}:
            return self._answer(state, message, "\n".join(a for a in answers if a) or HINT, notices=notices,
                                feedback=results)
        if names == {"unclear"}:
            return self._answer(state, message, "I did not understand that. " + HINT, notices=notices)
        if names == {"feedback"} and not results:  # nothing recorded ("seen that one" with no one in mind): ask
            return self._answer(state, message, HINT, notices=notices)

        if cannot := unsupported(text):
            notices.append(f"I can't filter by {' or '.join(cannot)}: the catalog has titles, genres, tags and years.")
        requested = [a for a in acts if a.act in ("recommend", "more_like")]
        if requested:  # the acts say which genres were asked: "star wars" is no War, "instead of romance" no Romance
            intent.include_categories = [g for g in intent.include_categories if any(g in a.genres for a in requested)]
            intent.exclude_categories = [g for g in intent.exclude_categories if any(g in a.not_genres for a in requested)]
            left_out = [t.lower() for a in requested for t in a.not_titles] + [
                f for a in requested for tag in a.not_tags for f in TAG_GROUPS.get(tag, (tag,))]
            if left_out and intent.query:  # "anything but star wars", "no superheroes": no search for what is left out
                intent.query = " ".join(w for w in intent.query.split() if not any(w in t.split() for t in left_out))
        for act in acts:  # what the acts read beyond the older reader: typos, years, topics and titles to leave out
            if act.act in ("recommend", "more_like"):
                self._exclude(state, act, notices)
                intent.include_categories = list(dict.fromkeys(intent.include_categories + [
                    g for g in act.genres if g not in intent.exclude_categories]))
                intent.exclude_categories = list(dict.fromkeys(intent.exclude_categories + act.not_genres))
                intent.era = act.era or intent.era
                older = {"light": "lighter", "dark": "darker"}.get(intent.mood, intent.mood)
                if act.mood and older and older != act.mood:  # "not too dark": the older reader saw "dark"
                    more, less = MOOD_GENRES[older]
                    intent.include_categories = [g for g in intent.include_categories if g not in more or g in act.genres]
                    intent.exclude_categories = [g for g in intent.exclude_categories if g not in less or g in act.not_genres]
                    intent.mood = None
                self._forget_mood_genres(state, act.genres + act.not_genres)  # the person's own word wins
                if act.mood in MOOD_GENRES:  # the genres a mood favours and avoids ("something lighter", "scare me")
                    c = state.constraints
                    if c.mood != act.mood:  # a new mood replaces the last one's genres
                        self._drop_mood(state)
                    more, less = MOOD_GENRES[act.mood]
                    known = set(self._categories())
                    # the person's own standing word wins over a mood's ("no horror", then "scare me")
                    theirs_in = [g for g in c.include_categories if g not in c.mood_genres] + intent.include_categories
                    theirs_out = [g for g in c.exclude_categories if g not in c.mood_not_genres] + intent.exclude_categories
                    adds = [g for g in more if g in known and g not in theirs_out]
                    drops = [g for g in less if g in known and g not in theirs_in and g not in adds]
                    c.mood_genres += [g for g in adds if g not in c.include_categories + c.mood_genres + act.genres]
                    c.mood_not_genres += [g for g in drops if g not in c.exclude_categories + c.mood_not_genres
                                          + act.not_genres]
                    c.mood = act.mood
                    intent.include_categories = list(dict.fromkeys(intent.include_categories + adds))
                    intent.exclude_categories = list(dict.fromkeys(intent.exclude_categories + drops))
            if act.act == "more_like" and act.ref is not None and (item_id := self._item_of(act.ref, state, notices)):
                intent.more_like, state.constraints.more_like, state.focus = [], [item_id], item_id
        intent.feedback = []
        has_request = bool(intent.include_categories or intent.exclude_categories or intent.era or intent.query
                           or intent.more_like or intent.not_like or intent.reset or intent.show_again)
        if has_request and self.options.use_llm and intent.query:
            read_genres = list(intent.include_categories)
            source = self._add_llm_reading(intent, text)
            excluded = {t.lower() for a in requested for t in a.not_titles}  # "anything but star wars" is no "like"
            intent.more_like = [m for m in intent.more_like if m.lower() not in excluded]
            if any(a.act == "more_like" for a in requested):  # the item sets the direction, not genres the model guessed
                intent.include_categories = read_genres
        self._update_constraints(state, intent, notices, text)
        lead = "\n".join(a for a in answers if a)
        return self._recommend_turn(state, message, notices + ([lead] if lead else []), results, source,
                                    intent.show_again, on_item)

    def _titles(self, ids: list[str]) -> list[str]:
        items = self.recommender.items(ids)
        return [items[i].title for i in ids if i in items]

    def _item_of(self, ref: Ref, state: SessionState, notices: list[str]) -> str | None:
        """The item a reference means: a place in the last list, the item last talked about,
        a title on screen (or in the catalog), or a word that tells one shown item apart."""
        shown = state.last_list
        if ref.position is not None:
            pos = len(shown) if ref.position == -1 else ref.position
            if 1 <= pos <= len(shown):
                return shown[pos - 1]
            notices.append(self._no_such_position(pos, len(shown)))
            return None
        if ref.anaphor:
            if state.focus:
                return state.focus
            notices.append("Which one do you mean? Say its number, like #2." if shown else
                           "There is no list yet: ask for something first.")
            return None
        items = self.recommender.items(shown)
        if ref.describe:
            word = ref.describe.lower()
            hits = [i for i in shown if i in items and word in " ".join(
                [items[i].title, *items[i].categories, *items[i].tags]).lower()]
            if len(hits) == 1:
                return hits[0]
            notices.append(f"Which one do you mean by {as_data(ref.describe, 40)!r}? Say its number, like #2.")
            return None
        if ref.title:
            on_screen = [i for i in shown if i in items and _similar(ref.title, items[i].title)]
            if on_screen:
                return on_screen[0]
            return next(iter(self._resolve([ref.title], state, notices, ref.title)), None)
        return None

    def _explain(self, state: SessionState, ref: Ref, notices: list[str]) -> str:
        """'Why #2?': the reason shown for it, and the facts behind it, from the data (the list stays)."""
        if (item_id := self._item_of(ref, state, notices)) is None:
            return ""
        state.focus = item_id
        item = self.recommender.item(item_id)
        history = self.recommender.history(self.session_user(state), missing_ok=True)
        facts = template_texts(evidence_for(self._turn_context(state, history), [item]).evidence[0])[1]
        place = f"#{state.last_list.index(item_id) + 1}, " if item_id in state.last_list else ""
        said = state.said.get(item_id)
        lines = [f"Why {place}{item.title}: {said or facts}"]
        if said and facts != said:
            lines.append(f"From your history: {facts}")
        return "\n".join(lines)

    def _question(self, state: SessionState, act: TurnAct, notices: list[str]) -> str:
        if (item_id := self._item_of(act.ref, state, notices)) is None:
            return ""
        state.focus = item_id
        item = self.recommender.item(item_id)
        year = item_year(item)
        if act.about == "year":
            return f"{item.title} is from {year}." if year else f"The catalog gives no year for {item.title}."
        if act.about == "genre":
            return f"{item.title}: {', '.join(item.categories) or 'no genres listed'}" + (
                f"; tagged {', '.join(item.tags[:6])}." if item.tags else ".")
        place = f"#{state.last_list.index(item_id) + 1} is " if item_id in state.last_list else ""
        known = f"{place}{item.title} ({', '.join(item.categories)})." + (f" {as_data(item.text, 300)}" if item.text else "")
        if act.about in ("cast", "length", "rating"):
            return f"The catalog does not say that about {item.title}; here is what it has: {known}"
        return known

    @staticmethod
    def _drop_mood(state: SessionState) -> None:
        """Take back the mood in force: the genres it asked for or left out, not the person's own."""
        c = state.constraints
        c.include_categories = [g for g in c.include_categories if g not in c.mood_genres]
        c.exclude_categories = [g for g in c.exclude_categories if g not in c.mood_not_genres]
        c.mood, c.mood_genres, c.mood_not_genres = None, [], []

    @staticmethod
    def _forget_mood_genres(state: SessionState, genres: list[str]) -> None:
        """Genres the person names themselves are theirs, not the mood's: they outlive it."""
        c = state.constraints
        c.mood_genres = [g for g in c.mood_genres if g not in genres]
        c.mood_not_genres = [g for g in c.mood_not_genres if g not in genres]

    def _undo(self, state: SessionState, what: dict, notices: list[str]) -> None:
        c = state.constraints
        if what.get("last"):
            notices.append("Say what to take back, like \"horror is fine again\" or \"forget the 90s\".")
            return
        if what.get("mood"):  # the genres the mood added go; those the person asked for stay
            if not c.mood:
                notices.append("No mood is in force to take back.")
            self._drop_mood(state)
            return
        for cat in what.get("not_genres", []):
            c.exclude_categories = [x for x in c.exclude_categories if x != cat]
        for cat in what.get("genres", []):
            c.include_categories = [x for x in c.include_categories if x != cat]
        for tag in what.get("not_tags", []):
            c.exclude_tags = [x for x in c.exclude_tags if x != tag]
        if what.get("era"):
            c.era = None
        notices.append("Taken back.")

    def _exclude(self, state: SessionState, act: TurnAct, notices: list[str]) -> None:
        """Topics and titles to leave out: from the candidates, and from the reasons given."""
        c = state.constraints
        for tag in (t for t in dict.fromkeys(act.not_tags) if t not in c.exclude_tags):
            reach = sum(map(about_topic([tag]), self._catalog()[0]))
            if reach == 0:
                notices.append(f"No title here is tagged or named {as_data(tag, 40)!r}, so I can't leave those out.")
            elif reach < SPARSE_TOPIC:
                some = "one title here is" if reach == 1 else f"{reach} titles here are"
                notices.append(f"Only {some} tagged or named {as_data(tag, 40)!r}: I left {'it' if reach == 1 else 'them'} "
                               f"out, but others like {'it' if reach == 1 else 'them'} may still appear.")
        c.exclude_tags = list(dict.fromkeys(c.exclude_tags + act.not_tags))
        if act.not_titles:
            c.not_like = list(dict.fromkeys(c.not_like + self._resolve(act.not_titles, state, notices, " ".join(act.not_titles))))

    def _no_such_position(self, pos: int, n: int) -> str:
        if n == 0:
            return f"There is no list yet, so there is no #{pos}: ask for something first."
        return f"The last list has {n} items: there is no #{pos}."

    def _add_llm_reading(self, intent: Intent, text: str) -> Literal["llm+rules", "rules"]:
        """Ask the LLM for a structured reading and merge what the rules missed. Its excluded
        categories count only when the message says no/not/without; a failure keeps the rules."""
        categories = self._categories()
        rendered = self.recommender.registry.render("intent@v1", IntentInputs(message=as_data(self.recommender.redactor.text(text), 500),
                                                                  categories=categories))
        try:
            resp = self.recommender.backend.complete(ChatRequest(messages=rendered.messages, response_schema=intent_schema(categories),
                                                         schema_name="intent", max_tokens=200))
            data = json.loads(resp.content)
        except (BackendError, ValueError):
            return "rules"
        # small models embellish: keep only what the message itself supports
        known = set(categories)
        if not intent.include_categories:  # the rules found no category: let the model name up to two
            adds = [c for c in data.get("include_categories", []) if c in known and c not in intent.exclude_categories]
            intent.include_categories = adds[:2]
        if _NEGATION_WORDS.search(text):
            drops = [c for c in data.get("exclude_categories", []) if c in known and c not in intent.include_categories]
            intent.exclude_categories = list(dict.fromkeys(intent.exclude_categories + drops))
        if intent.era is None and (data.get("era_start") or data.get("era_end")) and re.search(r"\d", text):
            intent.era = Era(start=data.get("era_start"), end=data.get("era_end"))
        if not intent.more_like:  # titles the person actually wrote, not the model's own examples
            words = set(re.findall(r"\w+", text.lower()))
            intent.more_like = [m for m in data.get("more_like", []) if isinstance(m, str)
                                and set(re.findall(r"\w+", m.lower())) <= words and m.strip()][:3]
        return "llm+rules"

    def _update_constraints(self, state: SessionState, intent: Intent, notices: list[str], message: str) -> None:
        """New constraints join the old ones; the latest word on a category wins."""
        c = state.constraints
        for cat in intent.include_categories:
            c.exclude_categories = [x for x in c.exclude_categories if x != cat]
            if cat not in c.include_categories:
                c.include_categories.append(cat)
        for cat in intent.exclude_categories:
            c.include_categories = [x for x in c.include_categories if x != cat]
            if cat not in c.exclude_categories:
                c.exclude_categories.append(cat)
        if intent.era is not None:
            c.era = intent.era
        if intent.query:
            c.query = intent.query
        if intent.more_like:
            ids = self._resolve(intent.more_like, state, notices, message)
            if ids:
                c.more_like = ids
        if intent.not_like:
            c.not_like = list(dict.fromkeys(c.not_like + self._resolve(intent.not_like, state, notices, message)))

    def _resolve(self, refs: list[str], state: SessionState, notices: list[str], message: str) -> list[str]:
        """'#3' / 'the second one' → the id shown there; a title → the best title match."""
        out = []
        for ref in refs:
            pos = parse_reference(ref, len(state.last_list))
            if pos is not None:
                if 1 <= pos <= len(state.last_list):
                    out.append(state.last_list[pos - 1])
                else:
                    notices.append(self._no_such_position(pos, len(state.last_list)))
                continue
            found = self.recommender.find_titles(ref, 1)
            if found:
                out.append(found[0].item_id)
            elif ref.lower() in message.lower():  # echo the user's own words only, never the model's
                notices.append(f"I could not find a title matching {as_data(ref, 60)!r}.")
            else:
                notices.append("I could not find the title you mentioned.")
        return out

    # -- retrieval and ranking for a turn ----------------------------------------------------------
    def _recommend_turn(self, state: SessionState, message: str, notices: list[str], results: list,
                        source: str, show_again: bool, on_item=None) -> ChatReply:
        user = self.session_user(state)
        history = self.recommender.history(user, missing_ok=True)
        ctx = self._turn_context(state, history)
        profile = self.recommender.profile_of(history, ctx) if history else None
        candidates = self.turn_candidates(state, ctx, profile.avoided_categories if profile else [],
                                          notices, show_again)
        if not candidates:
            return self._answer(state, message, "Nothing in the catalog matches all of that. Try removing a "
                                "constraint, or say \"start over\".", notices=notices, feedback=results)
        if profile is None:
            profile = ProfileSummary(n_interactions=0)
        described = state.constraints.describe({i: t.title for i, t in self.recommender.items(
            state.constraints.more_like).items()})
        result = self.recommender.rerank(history, profile, candidates, self.options, on_item=on_item, ctx=ctx)
        if result.fallback_reason and self.options.use_llm:
            slow = "slow" in result.fallback_reason or "timeout" in result.fallback_reason
            notices.append("The language model was too slow for this answer; some explanations are from data templates."
                           if slow else "The language model was not available for this answer; "
                           "explanations are from data templates.")
        ids = [i.item_id for i in result.items]
        state.shown = list(dict.fromkeys(state.shown + ids))
        state.last_list, state.focus = ids, None
        state.said = {i.item_id: i.explanation for i in result.items}
        lines = [f"Here are {len(ids)} picks for you" + (f" ({described})" if described else "") + ":"]
        for item in result.items:
            lines += item_lines(item)
        lines.append(HINT)
        return self._answer(state, message, "\n".join(lines), items=result.items, notices=notices, feedback=results,
                            source=source, fallback_reason=result.fallback_reason if self.options.use_llm else None)

    def _turn_context(self, state: SessionState, history: list) -> RequestContext:
        """A turn's request context: what the person asked to leave out is no reason for a pick
        either, in the list or in a "why" ("fans of Deadpool" after "no superheroes")."""
        ctx = self.recommender.context(history)
        ctx.not_reasons = self._excluded_ids(state, [e.item_id for e in history])
        return ctx

    def _excluded_ids(self, state: SessionState, ids: list[str]) -> set[str]:
        """Among `ids`, the items the session leaves out: titles, genres and topics (by their tags)."""
        c = state.constraints
        if not (c.not_like or c.exclude_categories or c.exclude_tags):
            return set()
        left_out = about_topic(c.exclude_tags)
        items = self.recommender.items(ids)
        return {i for i, it in items.items() if i in c.not_like or set(it.categories) & set(c.exclude_categories)
                or left_out(it)}

    def turn_candidates(self, state: SessionState, ctx: RequestContext, avoided: list[str], notices: list[str],
                        show_again: bool = False) -> list[Candidate]:
        """Catalog items that meet the session's constraints, not seen and (unless asked)
        not shown before, ordered by weighted reciprocal-rank fusion of: matching the asked-for
        categories, similarity to the query / 'more like' items / the profile, item-kNN and
        EASE on liked and 'more like' items, and popularity."""
        c = state.constraints
        items, years, matrix = self._catalog()
        blocked = ctx.seen | set(c.not_like) | ({*state.shown} if not show_again else set())
        excluded = set(c.exclude_categories)
        left_out = about_topic(c.exclude_tags)
        soft_avoid = set(avoided) - set(c.include_categories)

        def allowed(i: int, with_avoided: bool) -> bool:
            it = items[i]
            cats = set(it.categories)
            if it.item_id in blocked or cats & excluded or (with_avoided and cats & soft_avoid):
                return False
            if left_out(it):
                return False
            if c.era is not None:
                y = years[i]
                if y is None or (c.era.start and y < c.era.start) or (c.era.end and y > c.era.end):
                    return False
            return True

        pool = [i for i in range(len(items)) if allowed(i, True)]
        if len(pool) < self.options.k and soft_avoid:
            pool = [i for i in range(len(items)) if allowed(i, False)]  # the profile's dislikes yield first
        if not pool:
            return []
        if len(pool) < self.options.k:
            notices.append(f"Only {len(pool)} item(s) match everything you asked for.")
        ids = [items[i].item_id for i in pool]
        signals: dict[str, tuple[float, np.ndarray]] = {}
        include = set(c.include_categories)
        if include:
            signals["include"] = (2.0, np.array([len(include & set(items[i].categories)) for i in pool], dtype=float))
        queries = []
        if c.query:
            queries.append(self.recommender.index.embed_text(c.query))
        positives = ctx.positives
        liked_vectors = ctx.vectors(c.more_like)
        queries += [liked_vectors[i] for i in c.more_like if i in liked_vectors]
        centroid = profile_vector(ctx, positives)
        if centroid is not None:
            queries.append(centroid)
        if queries:
            signals["semantic"] = (1.0, (matrix[pool] @ np.stack(queries).T).max(axis=1))
        collab = ctx.collab
        seeds = c.more_like + positives
        if seeds:
            signals["collaborative"] = (1.0, np.array(collab.scores(seeds, ids)))
            if ctx.classic is not None:
                signals["ease"] = (0.5, np.array(ctx.classic.scores(seeds, ids)["ease"]))
        signals["popular"] = (0.5, np.array(collab.popularity_of(ids)))
        fused = np.array(rrf_of_scores(ids, [v for _, v in signals.values()], [w for w, _ in signals.values()]))
        top = np.argsort(-fused, kind="stable")[: self.options.n_candidates]
        out = []
        for j in top:
            sources = [s for s in ("semantic", "collaborative", "ease") if s in signals and signals[s][1][j] > 0] or ["popular"]
            scores = {name: round(float(v[j]), 4) for name, (_, v) in signals.items()}
            scores["fused"] = round(float(fused[j]), 5)
            out.append(Candidate(item=items[pool[j]], scores=scores, sources=sources))
        return out

    def _catalog(self) -> tuple[list[Item], list[int | None], np.ndarray]:
        """All items, their years and a normalised embedding matrix, loaded once (reloaded
        when the catalog grows)."""
        n = self.recommender.store.count_items()
        if n != self._catalog_size:
            items = self.recommender.store.all_items()
            vectors = {}
            ids = [it.item_id for it in items]
            for start in range(0, len(ids), 2000):
                vectors.update(self.recommender.index.embeddings(ids[start:start + 2000]))
            dim = len(next(iter(vectors.values()))) if vectors else 1
            self._items = items
            self._years = [item_year(it) for it in items]
            self._matrix = np.stack([vectors.get(i, np.zeros(dim, dtype=np.float32)) for i in ids])
            self._vocab = sorted({c for it in items for c in it.categories if c and c != "(no genres listed)"})
            self._words = catalog_words(t for it in items for t in (it.title, it.text, *it.tags))
            self._catalog_size = n
        return self._items, self._years, self._matrix

    def _categories(self) -> list[str]:
        self._catalog()
        return self._vocab

    def _answer(self, state: SessionState, message: str, reply: str, items: list[RecommendedItem] | None = None,
                notices: list[str] | None = None, feedback: list | None = None, source: str = "rules",
                fallback_reason: str | None = None) -> ChatReply:
        notices = notices or []
        state.turns += 1
        self.sessions.save(state)
        text = "\n".join(notices + [reply])
        self.sessions.add_turns(state.session_id, [Turn(role="user", text=as_data(str(message or ""), MAX_MESSAGE)),
                                                   Turn(role="agent", text=text, items=[i.item_id for i in items or []])])
        return ChatReply(session_id=state.session_id, reply=text, items=items or [], constraints=state.constraints,
                         notices=notices, feedback=feedback or [], intent_source=source,
                         fallback_reason=fallback_reason)


def item_lines(item: RecommendedItem) -> list[str]:
    """An item of a chat answer: its place, title and genres, then why."""
    return [f"{item.rank:>2}. {item.personalized_title} — {item.title}"
            + (f" · {', '.join(item.categories)}" if item.categories else ""),
            f"    {item.explanation}" + ("" if item.explanation_source == "llm" else " (template)")]


def _similar(typed: str, title: str) -> bool:
    """A title as typed ("toy stroy") against a catalog title ("Toy Story (1995)")."""
    import difflib

    bare = re.sub(r"\s*\(\d{4}\)\s*$", "", title).lower()
    return difflib.SequenceMatcher(None, " ".join(typed.lower().split()), bare).ratio() >= 0.8


def _past(signal: str) -> str:
    return {"like": "liked", "dislike": "disliked", "seen": "have seen", "click": "clicked"}[signal]

