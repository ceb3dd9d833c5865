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
from agent.pipeline.claims import (UNSUPPORTED_WORDS, ClaimContext, Violation, Vocabulary, check, names_item_fact,
                                   skeleton)
from agent.errors import BackendError
from agent.pipeline.evidence import Evidence, TasteSummary
from agent.pipeline.grounding import TITLE_MAX, bare_title, complete_sentences, main_title
from agent.types import Usage
from prompts.inputs import (ExplainInputs, PromptCategory, PromptEvidence, PromptLink, PromptTaste, as_data)
from prompts.registry import PromptRegistry

WHY_MAX = 160
SENTENCE_PREFIX = '{"why": "'  # where the server continues an answer's opening: the JSON frame is given
SENTENCE_STOPS = ['"', "\n", ". "]  # ... and the answer ends with its string or its first sentence
# a ". " stop that ended a title's abbreviation, not the sentence ("Dr. Strangelove", "Kill Bill: Vol. 1");
# not a lone capital ("Part I." ends sentences) nor "No" ("Dr. No.")
_ABBREVIATION_END = re.compile(r"(?:^|[\s(:\"“'])(?:Dr|Mr|Mrs|Ms|St|Jr|Sr|Vol|Pt|Mt|Ft|Lt|vs|Inc|Co|Ltd)$")
# a '"' stop that opened a quoted title ("The movie \"Heat\" is …"), not the answer's string: the
# space before it stays in the answer (a ". " stop takes the full stop with it)
_BEFORE_QUOTE = re.compile(r"\b(?:movie|film|title)\s$", re.IGNORECASE)
ESCAPED_QUOTE = '\\"'
_QUOTE_MARKS = '"“”\'‘’('
MAX_CONTINUATIONS = 3
MAX_TOKENS = 120
PLAIN_MAX_TOKENS = 48  # a plain sentence of up to 16 words is about 25 tokens; a longer one is cut to its full sentences
RETRY_TEMPERATURE = 0.4  # 20 users: 0.47 written and passing, against 0.39 at 0 and 0.41 at 0.8 (docs/explanations.md)
MIN_OWN_WORDS = 4  # words the model adds to a prompt's given opening
MAX_SAME_OPENING = 2  # explanations of one list that may share an opening (claims.skeleton)
OPENING_SHOWN = 7  # words of a repeated opening quoted back to the model


def explain_schema(hook: bool = True) -> dict:
    """{"hook", "why"}, or {"why"} alone when the hook comes from the evidence."""
    fields = {"hook": {"type": "string", "minLength": 6, "maxLength": TITLE_MAX},
              "why": {"type": "string", "minLength": 20, "maxLength": WHY_MAX}}
    if not hook:
        del fields["hook"]
    return {"type": "object", "properties": fields, "required": list(fields), "additionalProperties": False}


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
CO_LIKED_FORMS = (
    "{people} people who liked {title} ({rated}) also liked this.",
    "You gave {title} {rating}; {people} of its fans rated this highly too.",
    "Fans of {title} keep rating this highly: {people} of them so far ({rated}).",
    "Among people who liked {title}, {people} also liked this one ({rated}).",
    "If {title} was your kind of movie ({rated}), note that {people} of its fans liked this.",
)
SIMILAR_FORMS = (
    "Close in theme to {title} ({rated}).",
    "It shares its themes with {title} ({rated}).",
    "In the spirit of {title} ({rated}).",
)
CATEGORY_FORMS = (
    "It is {category}, like {liked} of the movies you liked.",
    "{liked} of the movies you liked are {category}, and so is this.",
    "More {category}: {liked} of your liked movies are too.",
)


def template_texts(ev: Evidence, position: int = 0) -> tuple[str, str]:
    """A hook and an explanation that state the evidence as it is (true by construction);
    `position` in the list picks the sentence form."""
    parts = []
    for b in ev.because[:1]:
        rated = f"you rated it {_rating_text(b.rating)}" if b.rating is not None else "you liked it"
        forms = CO_LIKED_FORMS if b.signal == "co-liked" else SIMILAR_FORMS
        form = forms[position % len(forms)]
        if b.rating is None and "{rating}" in form:
            form = forms[0]
        parts.append(form.format(title=b.title, rated=rated, rating=_rating_text(b.rating), people=b.people))
    if ev.shared_categories:
        c = ev.shared_categories[0]
        parts.append(CATEGORY_FORMS[(position + (1 if parts else 0)) % len(CATEGORY_FORMS)].format(
            category=c.category, liked=c.liked))
        parts[-1] = parts[-1][0].upper() + parts[-1][1:]
    if not parts:
        parts.append(f"{ev.fans} people rated it highly" + (f"; it is {', '.join(ev.categories[:2])}." if ev.categories
                                                            else "."))
    if ev.constraint:
        parts.append(f"It fits your request: {ev.constraint}.")
    return template_hook(ev, position), " ".join(parts)


# Hook forms, rotated down the list like the sentences: a list of "Fans of X loved this" ×10 reads
# as boilerplate even when every line is true.
CO_LIKED_HOOKS = ("Fans of {short} loved this", "{short} fans rate this highly", "Next after {short}",
                  "Loved by {short} fans", "A favourite of {short} fans")
SIMILAR_HOOKS = ("In the spirit of {short}", "Close in theme to {short}", "For a {short} mood")
CATEGORY_HOOKS = ("More {category} for you", "Another {category} pick", "{Category}, the way you like it")


def template_hook(ev: Evidence, position: int = 0) -> str:
    """A short line from the strongest piece of evidence; `position` picks the form."""
    if ev.because:
        short = ev.because[0].title.rsplit(" (", 1)[0]
        forms = CO_LIKED_HOOKS if ev.because[0].signal == "co-liked" else SIMILAR_HOOKS
        hook = forms[position % len(forms)].format(short=short)
        return hook if len(hook) <= TITLE_MAX else "More of what you liked"
    if ev.shared_categories:
        category = ev.shared_categories[0].category
        return CATEGORY_HOOKS[position % len(CATEGORY_HOOKS)].format(category=category.lower(), Category=category)
    return "A crowd favourite" if ev.fans else "Something new to try"


# The end of a sentence: a stop after a word of three or more letters, a digit or a bracket
# ("Dr. Strangelove" and "Mrs. Doubtfire" are not two sentences).
_SENTENCE_END = re.compile(r"(?:(?<=[a-z]{3}[.!?])|(?<=[\d)][.!?]))\s+(?=[A-Z0-9\"'“])")


# ... and the start of a trailing clause ("…, making it a popular choice among viewers"): cut there, the
# sentence before it still reads
_CLAUSE_START = re.compile(r",\s+(?=(?:making|which|and|but|as|with|while|so|including|especially|where)\b)")
MIN_LEAD_WORDS = 6


def passing_lead(text: str, ctx: ClaimContext, vocab: Vocabulary) -> str:
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


# -- prompt inputs -------------------------------------------------------------------------------
def prompt_taste(taste: TasteSummary) -> PromptTaste:
    return PromptTaste(n_liked=taste.n_liked,
                       categories=[PromptCategory(category=as_data(c.category, 40), liked=c.liked)
                                   for c in taste.categories],
                       tags=[as_data(t, 40) for t in taste.tags])


def prompt_evidence(ev: Evidence) -> PromptEvidence:
    return PromptEvidence(
        title=as_data(ev.title, 120), name=as_data(main_title(ev.title), 120), categories=[as_data(c, 40) for c in ev.categories[:4]],
        tags=[as_data(t, 40) for t in ev.tags[:4]],
        because=[PromptLink(title=as_data(b.title, 120), name=as_data(main_title(b.title), 120),
                            rating=_rating_text(b.rating), signal=b.signal,
                            people=b.people) for b in ev.because],
        shared_categories=[PromptCategory(category=as_data(c.category, 40), liked=c.liked)
                           for c in ev.shared_categories],
        shared_tags=[as_data(t, 40) for t in ev.shared_tags],
        fans=ev.fans, constraint=as_data(ev.constraint or "", 120))


# -- the stage -----------------------------------------------------------------------------------
class ExplainStage:
    """Explains one list. `budget_s`: past it, items not yet written get their template,
    flagged as slow (the whole list never waits on a stalled model)."""

    def __init__(self, backend: ChatBackend, registry: PromptRegistry, vocab: Vocabulary, prompt: str,
                 workers: int = 1, budget_s: float = 60.0):
        self.backend, self.registry, self.vocab, self.prompt = backend, registry, vocab, prompt
        self.workers, self.budget_s = max(1, workers), budget_s
        output = registry.output_kind(prompt)
        self.model_hooks = output == "explanation"  # else: hooks from the evidence
        self.plain = output == "explanation_text"  # the sentence as plain text, no JSON around it
        # the sentence continues SENTENCE_PREFIX where the server can (the stage runs only once it is connected)
        self._continued = not self.model_hooks and not self.plain and continues_answers(backend)
        self._lock = threading.Lock()
        self._openings: dict[str, int] = {}
        self._down: BackendError | None = None  # the endpoint is unreachable: stop asking it

    def run(self, taste: TasteSummary, contexts: list[ClaimContext],
            on_item: Callable[[int, Explained], None] | None = None) -> list[Explained]:
        deadline = time.monotonic() + self.budget_s
        self._openings, self._down = {}, None
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
        # the template's form rotates with the position, past forms whose opening the list already has twice
        shifts = [template_texts(ctx.evidence, position + shift) for shift in range(len(CO_LIKED_FORMS))]
        hook, text = next(((h, t) for h, t in shifts if self._reserve_opening(t, ctx)), shifts[0])
        return Explained(hook=hook, explanation=text, source="template", hook_source="template",
                         flags=[f"template explanation ({why})"], attempts=attempts,
                         first_violations=first or [], usage=usage or Usage())

    def _one(self, prefix: PromptTaste, position: int, ctx: ClaimContext, deadline: float) -> Explained:
        start = time.monotonic()
        problem, first, first_hook, usage, hook_fallback, answers = "", None, [], Usage(), None, []
        for attempt in (1, 2):
            if self._down is not None:
                done = self._template(ctx, position, f"the model is not available ({self._down.kind})", first, attempt - 1, usage)
                done.error = self._down
                return done
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                return self._template(ctx, position, "no time left for the model", first, attempt - 1, usage)
            rendered = self.registry.render(self.prompt, ExplainInputs(taste=prefix, item=prompt_evidence(ctx.evidence),
                                                                     problem=problem, position=position))
            # the prompt's given first words, continued by the model (a server that cannot continue writes it all)
            opening = json.dumps(rendered.opening)[1:-1] if self._continued else ""
            ctx = replace(ctx, instructions=instruction_text(rendered.messages))  # an echo of it is junk
            # a retry changes the prompt and the seed: a deterministic failure is not repeated
            short = self.plain or self._continued  # a bare sentence, ended by a stop string
            request = ChatRequest(messages=rendered.messages, schema_name="explain",
                                  response_schema=None if short else explain_schema(self.model_hooks),
                                  prefix=SENTENCE_PREFIX + opening if self._continued else None, banned=banned_words(ctx.evidence),
                                  stop=(["\n"] if self.plain else SENTENCE_STOPS) if short else None,
                                  max_tokens=PLAIN_MAX_TOKENS if short else MAX_TOKENS, seed=attempt - 1,
                                  temperature=0.0 if attempt == 1 else RETRY_TEMPERATURE, timeout_s=remaining)
            try:
                resp = self.backend.complete(request)
                if self._continued:
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
            try:
                data = ({"why": bare_sentence(resp, restore_stop=self._continued)} if short
                        else json.loads(resp.content))
                why_text = " ".join(str(data["why"]).split())
                hook = " ".join(str(data["hook"]).split()) if self.model_hooks else template_hook(ctx.evidence, position)
                why_text = complete_sentences(why_text, WHY_MAX)[0]  # cut at the bound: keep its full sentences
                hook = hook.rstrip(" ,;:-")
            except (ValueError, KeyError, TypeError):
                hook, why_text = "", ""
            violations = check(why_text, ctx, self.vocab) if why_text else [Violation("junk", "the answer was not usable")]
            whole = violations  # the whole answer's, before a failing sentence is dropped
            if violations and (kept := passing_lead(why_text, ctx, self.vocab)):
                why_text, violations = kept, []
            hook_violations = ([] if not self.model_hooks else check(hook, ctx, self.vocab, kind="hook") if hook
                               else [Violation("junk", "no hook")])
            if not violations and opening:  # given first words: the model's own must say something
                violations = self._own_words(why_text, rendered.opening, ctx)
            if not violations:
                violations = self._claim_opening(why_text, ctx)
            if first is None:  # the first answer as the model wrote it, for evals
                first, first_hook = whole or violations, hook_violations
            if not violations:
                if hook_violations:  # the sentence holds; the hook alone falls back
                    hook_fallback = template_hook(ctx.evidence, position)
                flags = [f"template hook ({hook_violations[0]})"] if hook_violations and self.model_hooks else []
                return Explained(hook=hook_fallback or hook, explanation=why_text, source="llm",
                                 hook_source="llm" if self.model_hooks and not hook_violations else "template",
                                 flags=flags, attempts=attempt,
                                 first_violations=first, first_hook_violations=first_hook, usage=usage,
                                 seconds=time.monotonic() - start, answers=answers)
            problem = "; ".join(str(v) for v in violations[:3])
        done = self._template(ctx, position, f"the model's text failed the checks: {problem}", first, 2, usage)
        done.answers, done.first_hook_violations = answers, first_hook
        return done

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
        own = text[len(opening):] if text.startswith(opening) else text
        if len(own.split()) < MIN_OWN_WORDS:
            return [Violation("junk", "it stops after its first words; finish the sentence with why this movie fits")]
        if not names_item_fact(own, ctx.evidence, self.vocab):
            return [Violation("generic", "it says nothing of this movie; name its genre or a tag from the facts")]
        return []

    def _reserve_opening(self, text: str, ctx: ClaimContext) -> bool:
        """Reserve this explanation's opening for the list, unless two above already have it."""
        opening = skeleton(text, ctx, self.vocab)
        with self._lock:
            if self._openings.get(opening, 0) >= MAX_SAME_OPENING:
                return False
            self._openings[opening] = self._openings.get(opening, 0) + 1
        return True

    def _claim_opening(self, text: str, ctx: ClaimContext) -> list[Violation]:
        """Reserve the model text's opening; a third use in one list is boilerplate."""
        if self._reserve_opening(text, ctx):
            return []
        said = " ".join(text.split()[:OPENING_SHOWN])  # the words, not the masked form ("is a g that")
        return [Violation("repeated_skeleton", f"two notes above already open like it (\"{said} …\"); "
                                               "open another way, with the first fact")]

