"""The explanation stage: the model phrases each item's evidence (one call per item, the
person's taste as a shared prefix), the claim checker verifies, one retry is told why,
then the data template. Items are handed to `on_item` in rank order as they are ready."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace

from agent.backends.base import ChatBackend, ChatRequest, ChatResponse, continues_answers
from agent.pipeline.claims import (UNSUPPORTED_WORDS, ClaimContext, Violation, Vocabulary, check, checker_for,
                                   genre_nouns, masked_words, names_item_fact, skeleton)
from agent.pipeline.claims.context import has_words
from agent.errors import BackendError, PromptError
from agent.pipeline.evidence import Evidence, TasteSummary, only_genre_count
from agent.pipeline.grounding import TITLE_MAX, bare_title, complete_sentences, main_title
from agent.types import Usage
from prompts.families import HOOK_JOIN, HOOK_MAX_TOKENS, HOOK_STOPS, JSON_PREFIX, ExplainFamily
from prompts.inputs import (ExplainInputs, PromptCategory, PromptEvidence, PromptLink, PromptSeries, PromptTaste, as_data)
from prompts.registry import PromptRegistry, RenderedPrompt

SENTENCE_PREFIX = JSON_PREFIX
# a ". " stop that ended a title's abbreviation, not the sentence ("Dr. Strangelove", "Kill Bill: Vol. 1");
# not a lone capital ("Part I." ends sentences) nor "No" ("Dr. No.")
_ABBREVIATION_END = re.compile(r"(?:^|[\s(:\"“'])(?:Dr|Mr|Mrs|Ms|St|Jr|Sr|Vol|Pt|Mt|Ft|Lt|vs|Inc|Co|Ltd)$")
# a '"' stop that opened a quoted title ("The movie \"Heat\" is …"), not the answer's string: the
# space before it stays in the answer (a ". " stop takes the full stop with it)
_BEFORE_QUOTE = re.compile(r"\b(?:movie|film|title)\s$", re.IGNORECASE)
ESCAPED_QUOTE = '\\"'
_QUOTE_MARKS = '"“”\'‘’('
MAX_CONTINUATIONS = 3
RETRY_TEMPERATURE = 0.4  # 20 users: 0.47 written and passing, against 0.39 at 0 and 0.41 at 0.8 (docs/explanations.md)
MIN_OWN_WORDS = 4  # words the model adds to a prompt's given opening
MAX_SAME_OPENING = 2  # explanations of one list that may share an opening (claims.skeleton)
MAX_SAME_TAIL = 2  # ... or the same words after their opening (titles, genres and numbers masked)
TAIL_WORDS = 6  # the masked words that make a tail
OPENING_SHOWN = 7  # words of a repeated opening quoted back to the model


@dataclass
class Explained:
    """What is shown for one item, and how it came about."""

    hook: str
    explanation: str
    source: str  # "llm" | "template"
    hook_source: str
    flags: list[str] = field(default_factory=list)
    attempts: int = 0
    first_violations: list[Violation] = field(default_factory=list)  # the first answer's explanation's, for evals
    first_hook_violations: list[Violation] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    answers: list[str] = field(default_factory=list)  # the model's raw answers, for audits and evals
    error: BackendError | None = None  # the call failed: why this item has its template


# -- templates from evidence ---------------------------------------------------------------------
def _rating_text(rating: float | None) -> str:
    return f"{rating:g}/5" if rating is not None else ""


# Sentence forms for the strongest link, rotated down the list so no three items read alike.
# Two blind readers marked "If X was your kind of movie, note that…" (X rated 5/5) and "Fans of X keep rating this
# highly: 3 of them so far" as stiff.
CO_LIKED_FORMS = (  # "You gave" third, where explain-why@v26 gives its own "You gave …" opening: a template in
    # a model's place then takes the same form, and a list does not get a third opening alike
    "{people} people who liked {title} ({rated}) also liked this.",
    "It is a favourite of {people} fans of {title} ({rated}).",
    "You gave {title} {rating}; {people} of its fans rated this highly too.",
    "Among people who liked {title} ({rated}), {people} also liked this one.",
    "It is liked by {people} people who also liked {title} ({rated}).",
)
SIMILAR_FORMS = (
    "Close in theme to {title} ({rated}).",
    "It shares its themes with {title} ({rated}).",
    "In the spirit of {title} ({rated}).",
)
CATEGORY_FORMS = (  # {one}: "a drama", {many}: "dramas" (genre_nouns)
    "It is {one}, like {liked} of the movies you liked.",
    "{liked} of the movies you liked are {many}, and so is this.",
    "As with {liked} of the movies you liked, this is {one}.",
    "This is {one}, as are {liked} of the movies you liked.",
    "Of the movies you liked, {liked} are {many}; this one is too.",
)
CATEGORY_ONE_FORMS = (  # a genre of one liked movie ("like 1 of …" reads as a count gone wrong, "as is one of …" as the item)
    "It is {one}, like one of the movies you liked.",
    "Like one of the movies you liked, this is {one}.",
    "One of the movies you liked is {one}, and so is this.",
    "Of the movies you liked, one is {one}; this one is too.",
)
CATEGORY_PAIR_FORMS = (  # an item's two genres most liked together (Evidence.genre_fact "pair")
    "It is both {one} and {one2}, like {liked} of the movies you liked.",
    "{liked} of the movies you liked are both {many} and {many2}, and so is this.",
    "As with {liked} of the movies you liked, this is both {one} and {one2}.",
    "This is both {one} and {one2}, as are {liked} of the movies you liked.",
    "Of the movies you liked, {liked} are both {many} and {many2}; this one is too.",
)


SERIES_FORMS = {"sequel": "{you}, and this is its sequel.", "earlier": "{you}; this is an earlier part of its series."}
TAG_FORMS = (  # {are}: "are", or "is" for one movie
    "It is tagged {tag}, like {liked} of the movies you liked.",
    "{liked} of the movies you liked {are} tagged {tag}, and so is this.",
    "Like {liked} of the movies you liked, it is tagged {tag}.",
    "This is tagged {tag}, as {are} {liked} of the movies you liked.",
    "Of the movies you liked, {liked} {are} tagged {tag}; this one is too.",
)


def template_texts(ev: Evidence, position: int = 0) -> tuple[str, str]:
    """A hook and an explanation that state the evidence as it is (true by construction), its most
    specific facts first: a part of a series the person rated, the strongest link, a shared tag; a
    genre count only where fewer than two of those exist. `position` in the list picks the forms."""
    parts = []
    for s in ev.series[:1]:  # titles as a sentence names them: "(1994) (you rated it 4/5)" read as clutter
        name = main_title(s.title)
        you = f"You rated {name} {_rating_text(s.rating)}" if s.rating is not None else f"You liked {name}"
        parts.append(SERIES_FORMS[s.relation].format(you=you))
    for b in ev.because[:1]:
        if any(s.item_id == b.item_id for s in ev.series[:1]):
            continue  # the series sentence named it already
        rated = f"you rated it {_rating_text(b.rating)}" if b.rating is not None else "you liked it"
        forms = CO_LIKED_FORMS if b.signal == "co-liked" else SIMILAR_FORMS
        form = forms[position % len(forms)]
        if b.rating is None and "{rating}" in form:
            form = forms[0]
        parts.append(form.format(title=main_title(b.title), rated=rated, rating=_rating_text(b.rating), people=b.people))
    shift = position + len(parts)
    if len(parts) < 2 and ev.shared_tags and ev.shared_tag_counts:
        tag, liked = ev.shared_tags[0], ev.shared_tag_counts[0]
        text = TAG_FORMS[shift % len(TAG_FORMS)].format(tag=tag, liked=liked, are="are" if liked > 1 else "is")
        if liked == 1:  # "like 1 of the movies you liked" reads as a count gone wrong, "as is one of …" as the item
            text = text.replace("as is 1 of", "like 1 of").replace("1 of the movies", "one of the movies") \
                .replace("liked, 1 is", "liked, one is")
        parts.append(text)
    elif len(parts) < 2 and ev.genre_fact == "pair" and ev.shared_category_pair:
        (one, many), (one2, many2) = map(genre_nouns, ev.shared_category_pair.categories)
        parts.append(CATEGORY_PAIR_FORMS[shift % len(CATEGORY_PAIR_FORMS)].format(
            one=one, many=many, one2=one2, many2=many2, liked=ev.shared_category_pair.liked))
    elif len(parts) < 2 and ev.shared_categories:
        c = ev.shared_categories[0]
        one, many = genre_nouns(c.category)
        forms = CATEGORY_FORMS if c.liked > 1 else CATEGORY_ONE_FORMS
        form = forms[shift % len(forms)]
        parts.append(form.format(one=one, many=many, liked=c.liked))
    parts = [p[0].upper() + p[1:] for p in parts]
    if not parts:
        parts.append(f"{ev.fans} people rated it highly" + (f"; it is {', '.join(ev.categories[:2])}." if ev.categories
                                                            else "."))
    if ev.constraint:
        parts.append(f"It fits your request: {ev.constraint}.")
    return template_hook(ev, position), " ".join(parts)


# Hook forms, rotated down the list like the sentences: a list of "Fans of X loved this" ×10 reads
# as boilerplate even when every line is true.
CO_LIKED_HOOKS = ("Fans of {short} loved this", "{short} fans rate this highly", "If you liked {short}",
                  "Loved by {short} fans", "A favourite of {short} fans")
SERIES_HOOKS = {"sequel": "The sequel to {short}", "earlier": "Before {short}, in its series"}  # "Fans of X" hid it
SIMILAR_HOOKS = ("In the spirit of {short}", "Close in theme to {short}", "For a {short} mood")
CATEGORY_HOOKS = ("More {category} for you", "Another {category} pick", "{Category}, the way you like it")


def template_hook(ev: Evidence, position: int = 0) -> str:
    """A short line from the strongest piece of evidence; `position` picks the form."""
    for s in ev.series[:1]:
        hook = SERIES_HOOKS[s.relation].format(short=s.title.rsplit(" (", 1)[0])
        if len(hook) <= TITLE_MAX:
            return hook
    if ev.because:
        short = ev.because[0].title.rsplit(" (", 1)[0]
        forms = CO_LIKED_HOOKS if ev.because[0].signal == "co-liked" else SIMILAR_HOOKS
        if re.match(r"(?:the|a|an) ", short, re.I):  # "For a The Kings of Summer mood" reads wrong
            forms = tuple(f for f in forms if "a {short}" not in f)
        hook = forms[position % len(forms)].format(short=short)
        return hook if len(hook) <= TITLE_MAX else "More of what you liked"
    if ev.shared_categories:
        category = ev.shared_categories[0].category
        return CATEGORY_HOOKS[position % len(CATEGORY_HOOKS)].format(category=category.lower(), Category=category)
    return "A crowd favourite" if ev.fans else "A new pick to try"  # no catalog title inside ("Something New")


# The end of a sentence: a stop after a word of three or more letters, a digit or a bracket
# ("Dr. Strangelove" and "Mrs. Doubtfire" are not two sentences).
_SENTENCE_END = re.compile(r"(?:(?<=[a-z]{3}[.!?])|(?<=[\d)][.!?]))\s+(?=[A-Z0-9\"'“])")


# ... and the start of a trailing clause ("…, making it a popular choice among viewers"): cut there, the
# sentence before it still reads
_CLAUSE_START = re.compile(r",\s+(?=(?:making|which|and|but|as|with|while|so|including|especially|where)\b)")
MIN_LEAD_WORDS = 6


def passing_lead(text: str, ctx: ClaimContext, vocab: Vocabulary, check=check) -> str:
    """The longest lead of the text that passes the checker, shorter than the whole ("" if none):
    its leading full sentences, or those and the next sentence up to a trailing clause. A model's
    true first sentence is kept when a later one invents something, and so is a true main clause
    when what trails it does."""
    sentences = _SENTENCE_END.split(text)
    leads = []
    for n in range(len(sentences), 0, -1):
        done = " ".join(sentences[:n - 1])
        cuts = [m.start() for m in _CLAUSE_START.finditer(sentences[n - 1])]
        leads += [f"{done} {sentences[n - 1][:cut].rstrip()}.".strip() for cut in reversed(cuts)]
        if done:
            leads.append(done)
    for lead in leads:
        if len(lead.split()) >= MIN_LEAD_WORDS and not check(lead, ctx, vocab):
            return lead
    return ""


def banned_words(ev: Evidence) -> list[str]:
    """The checker's unsupported words, less any the item's facts use ("Best in Show")."""
    facts = set(re.findall(r"\w+", " ".join(ev.titles() + ev.tags).lower()))
    return [w for w in UNSUPPORTED_WORDS if w.lower() not in facts]


def _title_goes_on(text: str, titles: list[str]) -> bool:
    """`text` ends inside one of `titles`, just before a full stop of the title's own."""
    words = text.replace(ESCAPED_QUOTE, " ").split()
    return bool(words) and any(f"{words[-1].lower().lstrip(_QUOTE_MARKS)}. " in bare + " " for bare in map(bare_title, titles))


def bare_sentence(resp, restore_stop: bool) -> str:
    """A sentence answered without JSON around it. `restore_stop`: it ended at a stop string
    (which the server leaves out), so its final stop is put back; one cut at the token limit
    stays unfinished, for the checker to reject."""
    text = resp.content.replace(ESCAPED_QUOTE, '"').strip().strip('"“”').rstrip()  # a quoted title's quotes
    if restore_stop and resp.finish_reason == "stop" and text and not text.endswith((".", "!", "?")):
        text += "."
    return text


_DATA_SECTION = re.compile(r"<catalog_data>.*?</catalog_data>", re.S)


def data_text(messages: list[dict[str, str]]) -> str:
    """The prompt's data sections (the facts given), without its instructions."""
    return "\n".join(m.group(0) for msg in messages for m in _DATA_SECTION.finditer(msg["content"]))


def instruction_text(messages: list[dict[str, str]]) -> str:
    """The prompt's own words (instructions, the reason a last answer was rejected) without its
    data: the facts may be restated, the rest not."""
    return "\n".join(_DATA_SECTION.sub(" ", m["content"]) for m in messages)


def untied_tags(own: str, ev: Evidence) -> list[Violation]:
    """The model's words name tags the person's movies share, but not that they share them: "It is tagged
    cult film and drugs, and it is a drama." is true, and gives this person no reason (read blind under v24)."""
    low = own.lower()
    if "tagged" not in low or re.search(r"\byou", low) or not any(has_words(low, t.lower()) for t in ev.shared_tags):
        return []
    return [Violation("generic", "it names tags without the movies you liked that share them; say how many of the "
                                 "movies you liked have them, as the facts do")]


# -- prompt inputs -------------------------------------------------------------------------------
def genre_counts_full(evidence: list[Evidence]) -> list[bool]:
    """For each item of a list: whether two items above it were left with a genre count as their only
    fact after the link (no series part, no shared tag), so a third would end its sentence alike."""
    out, counted = [], 0
    for ev in evidence:
        only_count = only_genre_count(ev)
        out.append(only_count and counted >= MAX_SAME_TAIL)
        counted += only_count
    return out


def prompt_category(category: str, liked: int) -> PromptCategory:
    one, many = genre_nouns(category)
    return PromptCategory(category=as_data(category, 40), liked=liked, one=as_data(one, 60), many=as_data(many, 60))


def prompt_taste(taste: TasteSummary) -> PromptTaste:
    return PromptTaste(n_liked=taste.n_liked,
                       categories=[prompt_category(c.category, c.liked) for c in taste.categories],
                       tags=[as_data(t, 40) for t in taste.tags])


def prompt_evidence(ev: Evidence) -> PromptEvidence:
    pair, cat_liked = ev.shared_category_pair, {c.category: c.liked for c in ev.shared_categories}
    return PromptEvidence(
        title=as_data(ev.title, 120), name=as_data(main_title(ev.title), 120), categories=[as_data(c, 40) for c in ev.categories[:4]],
        tags=[as_data(t, 40) for t in ev.tags[:4]],
        because=[PromptLink(title=as_data(b.title, 120), name=as_data(main_title(b.title), 120),
                            rating=_rating_text(b.rating), signal=b.signal,
                            people=b.people) for b in ev.because],
        shared_categories=[prompt_category(c.category, c.liked) for c in ev.shared_categories],
        shared_tags=[as_data(t, 40) for t in ev.shared_tags], shared_tag_counts=list(ev.shared_tag_counts),
        shared_tag_pair=ev.shared_tag_pair,
        category_pair=[prompt_category(c, cat_liked.get(c, 0)) for c in pair.categories] if pair else [],
        category_pair_liked=pair.liked if pair else 0, genre_fact=ev.genre_fact,
        series=[PromptSeries(name=as_data(main_title(s.title), 120), rating=_rating_text(s.rating), relation=s.relation)
                for s in ev.series],
        fans=ev.fans, constraint=as_data(ev.constraint or "", 120))


# -- the stage -----------------------------------------------------------------------------------
class ExplainStage:
    """Explains one list: for each item render → complete → parse → check → retry, then the
    evidence template. The prompt family's adapter (prompts/families.py) shapes each request and
    parses its answer; its mode picks the checker. `budget_s`: past it, items not yet written get
    their template, flagged as slow (the whole list never waits on a stalled model)."""

    def __init__(self, backend: ChatBackend, registry: PromptRegistry, vocab: Vocabulary, prompt: str,
                 workers: int = 1, budget_s: float = 60.0):
        self.backend, self.registry, self.vocab, self.prompt = backend, registry, vocab, prompt
        self.workers, self.budget_s = max(1, workers), budget_s
        family = registry.family(prompt)
        if not isinstance(family, ExplainFamily):
            raise PromptError(f"{prompt} is not an explanation prompt")
        # the shape is chosen once the stage runs, which is only once the backend is connected
        self.family = family
        self.shape = family.shape(continues_answers(backend), wants_hook="hook" in registry.blocks(prompt))
        self.check = checker_for(family.mode)
        self._lock = threading.RLock()  # a list place reserves an opening and a tail under one hold
        self._openings: dict[str, int] = {}
        self._tails: dict[str, int] = {}
        self._down: BackendError | None = None  # the endpoint is unreachable: stop asking it

    @property
    def mode(self) -> str:
        return self.family.mode

    def run(self, taste: TasteSummary, contexts: list[ClaimContext],
            on_item: Callable[[int, Explained], None] | None = None) -> list[Explained]:
        deadline = time.monotonic() + self.budget_s
        self._openings, self._tails, self._down = {}, {}, None
        self._genre_counts_full = genre_counts_full([c.evidence for c in contexts])
        prefix = prompt_taste(taste)
        out: list[Explained] = []
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="explain")
        try:
            futures = [pool.submit(self._one, prefix, i, ctx, deadline) for i, ctx in enumerate(contexts)]
            for i, (ctx, fut) in enumerate(zip(contexts, futures)):
                try:
                    done = fut.result(timeout=max(0.0, deadline - time.monotonic()))
                except FutureTimeout:
                    done = self._template(ctx, i, f"the model was too slow (over {self.budget_s:.0f} s for the list)")
                out.append(done)
                if on_item is not None:
                    on_item(i, done)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return out

    def _template(self, ctx: ClaimContext, position: int, why: str, first: list[Violation] | None = None,
                  attempts: int = 0, usage: Usage | None = None) -> Explained:
        # the template's form rotates with the position, past forms whose opening or tail the list has twice
        # (the model's sentences may hold the alike openings; a third alike ending is the worse of the two)
        shifts = [template_texts(ctx.evidence, position + shift) for shift in range(len(CO_LIKED_FORMS))]
        hook, text = next(((h, t) for h, t in shifts if not self._claim_list_place(t, "", ctx)), None) or next(
            ((h, t) for h, t in shifts if self._reserve_tail(" ".join(tail_words(t, "", ctx, self.vocab)))), shifts[0])
        return Explained(hook=hook, explanation=text, source="template", hook_source="template",
                         flags=[f"template explanation ({why})"], attempts=attempts,
                         first_violations=first or [], usage=usage or Usage())

    def _request(self, rendered: RenderedPrompt, opening: str, ctx: ClaimContext, attempt: int,
                 remaining: float) -> ChatRequest:
        # a retry changes the prompt and the seed: a deterministic failure is not repeated
        shape = self.shape
        return ChatRequest(messages=rendered.messages, schema_name="explain", response_schema=shape.schema,
                           prefix=SENTENCE_PREFIX + opening if shape.continued else None,
                           banned=banned_words(ctx.evidence) if self.mode == "constrained" else None,
                           stop=shape.stop, max_tokens=shape.max_tokens, seed=attempt - 1,
                           temperature=0.0 if attempt == 1 else RETRY_TEMPERATURE, timeout_s=remaining)

    def _one(self, prefix: PromptTaste, position: int, ctx: ClaimContext, deadline: float) -> Explained:
        start = time.monotonic()
        problem, first, first_hook, usage, answers = "", None, [], Usage(), []
        for attempt in (1, 2):
            if self._down is not None:
                done = self._template(ctx, position, f"the model is not available ({self._down.kind})", first, attempt - 1, usage)
                done.error = self._down
                return done
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                return self._template(ctx, position, "no time left for the model", first, attempt - 1, usage)
            rendered = self.registry.render(self.prompt, ExplainInputs(
                taste=prefix, item=prompt_evidence(ctx.evidence), problem=problem, position=position,
                genre_counts_full=self._genre_counts_full[position]))
            # the prompt's given first words, continued by the model (a server that cannot continue writes it all)
            opening = json.dumps(rendered.opening, ensure_ascii=False)[1:-1] if self.shape.continued else ""
            ctx = replace(ctx, instructions=instruction_text(rendered.messages))  # an echo of it is junk
            request = self._request(rendered, opening, ctx, attempt, remaining)
            try:
                resp = self.backend.complete(request)
                if self.shape.continued:
                    resp = self._past_inner_stops(request, resp, ctx.evidence.titles(), deadline)
                    resp = resp.model_copy(update={"content": opening + resp.content})
            except BackendError as e:
                if e.kind in ("unavailable", "auth"):
                    self._down = e
                if e.kind in ("timeout", "unavailable", "auth") or attempt == 2:
                    done = self._template(ctx, position, "the model was too slow" if e.kind == "timeout"
                                          else f"the model call failed: {e.kind}", first, attempt, usage)
                    done.error = e
                    return done
                continue
            usage = usage + resp.usage
            answers.append(resp.content)
            why_text, hook = self._parse(resp)
            violations = self.check(why_text, ctx, self.vocab) if why_text else [Violation("junk", "the answer was not usable")]
            whole = violations  # the whole answer's, before a failing sentence is dropped
            # a small model's true first clause is kept when what trails it invents; a capable model's
            # sentence is one thought, and a cut one misleads ("Following on from X." of a false sequel)
            if violations and self.mode == "constrained" and (kept := passing_lead(why_text, ctx, self.vocab, self.check)):
                why_text, violations = kept, []
            if not violations and opening:  # given first words: the model's own must say something
                # (a kept lead that is only the given opening failed for what was cut: that is the reason)
                own = self._own_words(why_text, rendered.opening, ctx)
                violations = (whole or own) if own else []
            if not violations:
                violations = self._claim_list_place(why_text, rendered.opening if opening else "", ctx)
            if first is None:  # the first answer as the model wrote it, for evals
                first = whole or violations
            if violations:
                problem = "; ".join(str(v) for v in violations[:3])
                if self.mode == "constrained" and all(v.kind == "repeated_tail" for v in violations):
                    break  # a small model told its ending repeats rarely finds another (5 of 352 retries)
                continue
            if hook is None and rendered.hook is not None and self.shape.continued:
                hook, hook_usage = self._continued_hook(request, resp.content[len(opening):], opening, rendered.hook, deadline)
                usage = usage + hook_usage
            # None: the model was not asked for a hook; "": it was, and wrote none that could be used
            hook_violations = [] if hook is None else check_hook(hook, ctx, self.vocab) if hook else [
                Violation("junk", "no hook")]
            first_hook = hook_violations
            model_hook = bool(hook) and not hook_violations
            flags = [f"template hook ({hook_violations[0]})"] if hook_violations else []
            return Explained(hook=hook if model_hook else template_hook(ctx.evidence, position), explanation=why_text,
                             source="llm", hook_source="llm" if model_hook else "template",
                             flags=flags, attempts=attempt, first_violations=first, first_hook_violations=first_hook,
                             usage=usage, seconds=time.monotonic() - start, answers=answers)
        done = self._template(ctx, position, f"the model's text failed the checks: {problem}", first, attempt, usage)
        done.answers, done.first_hook_violations = answers, first_hook
        return done

    def _parse(self, resp: ChatResponse) -> tuple[str, str | None]:
        """The answer's sentence (cut to its full sentences at the bound) and hook ("" when unusable)."""
        try:
            draft = self.family.parse(bare_sentence(resp, restore_stop=self.shape.continued)
                                      if self.shape.schema is None else resp.content, self.shape)
        except (ValueError, TypeError):
            return "", None
        why = complete_sentences(" ".join(draft.why.split()), self.family.why_max)[0]
        return why, draft.hook.rstrip(" ,;:-") if draft.hook is not None else None

    def _continued_hook(self, request: ChatRequest, sentence: str, opening: str, hook_opening: str,
                        deadline: float) -> tuple[str, Usage]:
        """The hook, continued after the finished sentence (the server's prompt cache holds all
        before it, so only the hook is new work)."""
        left = deadline - time.monotonic()
        if left <= 1:
            return "", Usage()
        said = opening + json.dumps(sentence, ensure_ascii=False)[1:-1].removeprefix(opening)
        prefix = request.prefix.removesuffix(opening) + said + HOOK_JOIN + hook_opening
        try:
            resp = self.backend.complete(request.model_copy(update={
                "prefix": prefix, "stop": HOOK_STOPS, "max_tokens": HOOK_MAX_TOKENS, "timeout_s": left, "banned": None}))
        except BackendError:
            return "", Usage()
        hook = (hook_opening + " " + resp.content if hook_opening else resp.content).replace(ESCAPED_QUOTE, '"')
        return short_hook(" ".join(hook.split()).strip(" \"'“”")), resp.usage

    def _past_inner_stops(self, request: ChatRequest, resp: ChatResponse, titles: list[str],
                          deadline: float) -> ChatResponse:
        """The sentence continued past a stop inside it: a ". " that ended an abbreviation ("Dr.")
        or a title's own full stop ("Monsters, Inc."), or a '"' around a quoted title. The server
        continues from the text so far (its prompt is cached), within the list's time budget."""
        for _ in range(MAX_CONTINUATIONS):
            text, left = resp.content, deadline - time.monotonic()
            if resp.finish_reason != "stop" or left <= 1:
                break
            opens_quote = text.endswith("\\") or _BEFORE_QUOTE.search(text)  # an escaped quote, or a bare one
            closes_quote = text.count(ESCAPED_QUOTE) % 2 == 1
            if _ABBREVIATION_END.search(text) or _title_goes_on(text, titles):
                so_far = text + ". "
            elif opens_quote or closes_quote:
                so_far = text.rstrip("\\") + ESCAPED_QUOTE
            else:
                break
            more = self.backend.complete(request.model_copy(update={"prefix": request.prefix + so_far, "timeout_s": left}))
            resp = more.model_copy(update={"content": so_far + more.content, "usage": resp.usage + more.usage})
        return resp

    def _own_words(self, text: str, opening: str, ctx: ClaimContext) -> list[Violation]:
        """What the model wrote after a given opening must say something of the movie from its
        facts: the opening alone, or "… so this movie fits you well", says less than the template."""
        own = model_part(text, opening)
        if len(own.split()) < MIN_OWN_WORDS:
            return [Violation("junk", "it stops after its first words; finish the sentence with why this movie fits")]
        if not names_item_fact(own, ctx.evidence, self.vocab):
            return [Violation("generic", "it says nothing of this movie; name its genre or a tag from the facts")]
        return untied_tags(own, ctx.evidence)

    def _reserve_opening(self, text: str, ctx: ClaimContext) -> bool:
        """Reserve this explanation's opening for the list, unless two above already have it."""
        opening = skeleton(text, ctx, self.vocab)
        with self._lock:
            if self._openings.get(opening, 0) >= MAX_SAME_OPENING:
                return False
            self._openings[opening] = self._openings.get(opening, 0) + 1
        return True

    def _tail_taken(self, tail: str) -> bool:
        return bool(tail) and self._tails.get(tail, 0) >= MAX_SAME_TAIL

    def _reserve_tail(self, tail: str) -> bool:
        """Reserve a tail for the list, unless two above already end with it."""
        with self._lock:
            if self._tail_taken(tail):
                return False
            if tail:
                self._tails[tail] = self._tails.get(tail, 0) + 1
        return True

    def _claim_list_place(self, text: str, opening: str, ctx: ClaimContext) -> list[Violation]:
        """Reserve the model text's opening and tail (its words after the given opening, masked);
        a third use of either in one list is boilerplate."""
        tail = " ".join(tail_words(text, opening, ctx, self.vocab))
        with self._lock:
            repeated_tail = self._tail_taken(tail)
            if not repeated_tail and self._reserve_opening(text, ctx):
                self._reserve_tail(tail)
                return []
        if repeated_tail:
            own = model_part(text, opening).strip()
            return [Violation("repeated_tail", f"two notes above end like it (\"… {own}\"); end it another way, "
                                               "with another fact of this movie")]
        said = " ".join(text.split()[:OPENING_SHOWN])  # the words, not the masked form ("is a g that")
        return [Violation("repeated_skeleton", f"two notes above already open like it (\"{said} …\"); "
                                               "open another way, with the first fact")]


def short_hook(hook: str) -> str:
    """A hook cut to its bound at a word, without trailing punctuation."""
    if len(hook) > TITLE_MAX:
        hook = hook[:TITLE_MAX + 1].rsplit(" ", 1)[0]
    return hook.rstrip(" ,;:-.")


def model_part(text: str, opening: str) -> str:
    """The words the model wrote after a given opening: none where a cut kept only the opening's own
    first sentence ("N people who liked X also liked this." of "… also liked this. It")."""
    if not opening or text.startswith(opening):
        return text[len(opening):]
    return "" if opening.startswith(text.rstrip(". ")) else text


def tail_words(text: str, opening: str, ctx: ClaimContext, vocab: Vocabulary) -> list[str]:
    """The masked words after an explanation's given opening (without one: its last TAIL_WORDS)."""
    own = model_part(text, opening)
    words = masked_words(own, ctx, vocab)
    return words if opening else words[-TAIL_WORDS:]


def check_hook(hook: str, ctx: ClaimContext, vocab: Vocabulary) -> list[Violation]:
    """A hook is checked claim by claim in either mode: a short line has no room for the vague
    filler the constrained whitelist is for, and the whitelist rejects most natural ones."""
    return checker_for("open")(hook, ctx, vocab, kind="hook")
