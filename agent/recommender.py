"""The recommendation pipeline, in the order of the README's "How it works":
profile → candidates → order → (listwise LLM step) → diversity → evidence → texts, checked.
Each stage is a function in agent/pipeline/ over one RequestContext; this is the orchestrator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agent.errors import BackendError, InputError, PromptError
from agent.options import DEFAULT_PROMPTS, RecommendOptions
from agent.parts import Parts
from agent.pipeline import candidates as candidate_stage
from agent.pipeline.assemble import assemble
from agent.pipeline.context import RequestContext, checked_history
from agent.pipeline.evidence import EvidenceSet, evidence_for
from agent.pipeline.explain import Explained, ExplainStage
from agent.pipeline.listwise import ListwiseResult, rerank_listwise
from agent.pipeline.order import FusionWeights, order_candidates
from agent.pipeline.profile import build_profile, llm_narrative
from agent.pipeline.prompt import PromptBuilder
from agent.types import Candidate, HistoryEvent, Item, ProfileSummary, PromptInfo, Recommendation, RecommendedItem, Timing

MAX_HISTORY = 10_000
OnItem = Callable[[RecommendedItem], None]


@dataclass(frozen=True)
class Traced:
    """A list and how each item's text came about: the explanation stage's record per item
    (attempts, the model's raw answers, the checker's verdicts on the first), in rank order."""
    result: Recommendation
    explained: tuple[Explained, ...]


class Recommender(Parts):
    """Personalized recommendations with explanations, grounded in the candidate set. Options
    are a RecommendOptions or its fields as keywords (e.g. k=5); `on_item` gets each item in
    rank order as soon as its text is written."""

    # -- recommendations -------------------------------------------------------------------------
    def recommend(self, user_id: str, options: RecommendOptions | None = None, *, on_item: OnItem | None = None,
                  **changes) -> Recommendation:
        """For a stored user (UnknownUserError for an unknown id)."""
        return self.traced(user_id, options, on_item=on_item, **changes).result

    def traced(self, user_id: str, options: RecommendOptions | None = None, *, on_item: OnItem | None = None,
               **changes) -> Traced:
        """`recommend`, with the explanation stage's record of each item (for evals and audits)."""
        traced = self._run(self.history(user_id), RecommendOptions.of(options, **changes), on_item)
        traced.result.user_id = str(user_id)
        return traced

    def recommend_for_history(self, history: Iterable[HistoryEvent | dict], options: RecommendOptions | None = None,
                              *, on_item: OnItem | None = None, **changes) -> Recommendation:
        """For a new or anonymous user's inline history; an empty one gets a popular-and-diverse
        cold-start list, unknown item ids are dropped with a warning."""
        options = RecommendOptions.of(options, **changes)
        events, warnings = checked_history(history, self.store, MAX_HISTORY, self.settings.rating_scale)
        rec = self._run(events, options, on_item).result
        rec.warnings = warnings + rec.warnings
        return rec

    def explain_mode_for(self, opt: RecommendOptions) -> str:
        """The request's explain mode, else the setting's, else the model's: constrained for a
        bundled model, open for an endpoint at base_url (a capable model)."""
        mode = opt.explain_mode if opt.explain_mode != "auto" else self.settings.explain_mode
        if mode == "auto":
            mode = "constrained" if self.settings.base_url is None else "open"
        return mode

    def prompt_for(self, opt: RecommendOptions) -> str:
        """The request's prompt: as given, else its explain mode's default. The mode is the
        request's, else the setting's, else the model's: constrained for a bundled model, open
        for an endpoint at base_url (a capable model)."""
        mode = self.explain_mode_for(opt)
        if opt.prompt is None:
            return DEFAULT_PROMPTS[mode]
        try:
            self.registry.path(opt.prompt)
            family = self.registry.family(opt.prompt)
        except PromptError as e:  # an unknown prompt is the caller's error, not the server's
            raise InputError(str(e)) from None
        if not family.explains and family.output not in ("explained", "ranking"):
            raise InputError(f"{opt.prompt} is a {family.output} prompt, not one that explains or ranks a list: "
                             f"use an explain-why, explain-open or rerank prompt")
        if opt.explain_mode != "auto" and family.explains and family.mode != opt.explain_mode:
            raise InputError(f"{opt.prompt} explains in {family.mode} mode, not {opt.explain_mode}: "
                             f"leave out the prompt or the mode")
        return opt.prompt

    def _run(self, history: list[HistoryEvent], opt: RecommendOptions, on_item: OnItem | None) -> Traced:
        opt = opt.model_copy(update={"prompt": self.prompt_for(opt)})
        t0 = time.perf_counter()
        if not history:
            return Traced(self._cold_start(opt.k, t0, on_item), ())
        ctx = self.context(history)  # one per request: both steps share its fetched items and vectors
        profile, candidates = self.retrieve(history, max(opt.n_candidates, opt.k), ctx)
        return self._rerank(history, profile, candidates, opt, None, t0, None, on_item, ctx)

    def retrieve(self, history: list[HistoryEvent], n: int, ctx: RequestContext | None = None,
                 order: str | None = None) -> tuple[ProfileSummary, list[Candidate]]:
        """Profile → candidates → order: the profile of a (non-empty) history and its n best candidates.
        `order`: a candidate order other than the settings' (benchmarks compare them on one fit)."""
        self.check_index()
        ctx = ctx or self.context(history)
        profile = self.profile_of(history, ctx)
        seeds = ctx.positives or [r.item_id for r in profile.liked]  # nothing liked: the best-rated items
        pool = candidate_stage.retrieve(ctx, seeds, n)
        order = order or self.settings.candidate_order
        ranker = self.ranker() if order == "ltr" else None
        if order == "ltr" and ranker is None:  # the fit had too little data to learn one (it logged why)
            order = "fusion"
        return profile, order_candidates(ctx, pool, seeds, profile.avoided_categories, n, order,
                                         FusionWeights(**self.settings.fusion_weights), ranker=ranker)

    def rerank(self, history: list[HistoryEvent], profile: ProfileSummary, candidates: list[Candidate],
               options: RecommendOptions | None = None, *, sampling: dict | None = None, started: float | None = None,
               constraint: str | None = None, on_item: OnItem | None = None, ctx: RequestContext | None = None,
               **changes) -> Recommendation:
        """The stages after retrieval. An explanation prompt (the default) keeps the candidates'
        order and has the LLM phrase each item's evidence; a listwise prompt (rerank@v1) lets it
        reorder them first (`sampling`: its temperature and seed; default greedy, seed 0)."""
        return self._rerank(history, profile, candidates, RecommendOptions.of(options, **changes), sampling, started,
                            constraint, on_item, ctx).result

    def _rerank(self, history: list[HistoryEvent], profile: ProfileSummary, candidates: list[Candidate],
                opt: RecommendOptions, sampling: dict | None, started: float | None, constraint: str | None,
                on_item: OnItem | None, ctx: RequestContext | None) -> Traced:
        opt = opt.model_copy(update={"prompt": self.prompt_for(opt)})
        t0 = started if started is not None else time.perf_counter()
        t_llm, ctx = time.perf_counter(), ctx or self.context(history)
        rec = Recommendation(user_id=None, items=[], profile=profile)
        llm = opt.use_llm and self._connected(rec)
        t_connected = time.perf_counter()
        if not opt.use_llm:
            rec.fallback_reason = "LLM step disabled"
        elif llm and opt.profile_mode == "llm":
            rec.profile = profile = self._with_narrative(rec, profile)
        explain = llm and self.registry.family(opt.prompt).explains
        listwise = ListwiseResult()
        if llm and not explain:
            listwise = rerank_listwise(self.backend, PromptBuilder(ctx, self.registry, self.redactor), profile,
                                       candidates, opt.k, opt.prompt,
                                       sampling or {"temperature": 0.0, "seed": 0})
            rec.prompt, rec.llm_calls, rec.fallback_reason = listwise.prompt, listwise.calls, listwise.fallback_reason
            rec.usage, rec.warnings = rec.usage + listwise.usage, rec.warnings + listwise.warnings
        elif explain:
            rec.prompt = PromptInfo(ref=opt.prompt, template_sha256=self.registry.sha256(opt.prompt))
            rec.explain_mode = self.registry.family(opt.prompt).mode
        explainer = ExplainStage(self.backend, self.registry, self.vocabulary(), opt.prompt,
                                 workers=self.settings.parallel, budget_s=self.settings.explain_budget_s) if explain else None
        first: list[float] = []
        vocab = self.vocabulary() if explain or listwise.entries else None  # checks model text only
        done = assemble(ctx, candidates, listwise, opt, vocab, explainer, constraint,
                        rec.fallback_reason if opt.use_llm else None, _first_timed(first, on_item))
        rec.items, rec.usage, rec.warnings = done.items, rec.usage + done.usage, rec.warnings + done.warnings
        rec.fallback_reason = rec.fallback_reason or done.fallback_reason
        t_end = time.perf_counter()
        rec.timing = Timing(retrieval_ms=_ms(t0, t_llm), llm_ms=_ms(t_llm, t_end), model_start_ms=_ms(t_llm, t_connected),
                            first_item_ms=_ms(t0, first[0] if first else t_end), total_ms=_ms(t0, t_end))
        return Traced(rec, tuple(done.explanations))

    def _connected(self, rec: Recommendation) -> bool:
        """Whether the LLM backend is there (the embedded server may fail to start); if not, say so."""
        try:
            rec.model, rec.endpoint = self.backend.model, self.backend.endpoint
            return True
        except BackendError as e:
            rec.fallback_reason = f"LLM call failed ({e.kind}): {e}"
            rec.warnings.append("explanations from templates: " + rec.fallback_reason)
            return False

    def _with_narrative(self, rec: Recommendation, profile: ProfileSummary) -> ProfileSummary:
        got = llm_narrative(self.backend, self.registry, self.store, self.redactor.profile(profile))
        rec.usage = rec.usage + got.usage
        rec.warnings += [got.warning] if got.warning else []
        return profile.model_copy(update={"narrative": got.text}) if got.text else profile

    def _cold_start(self, k: int, t0: float, on_item: OnItem | None) -> Recommendation:
        pool = self.collaborative().popular(max(5 * k, 50))
        catalog = self.store.get_items(i for i, _ in pool)
        cands = [Candidate(item=catalog[i], scores={"popularity": p}, sources=["popular"]) for i, p in pool if i in catalog]
        if not cands:  # no interactions at all: any items
            cands = [Candidate(item=it, sources=["popular"]) for it in self.store.all_items()[: 5 * k]]
        opt = RecommendOptions(k=k, diversity=0.5, use_llm=False)
        done = assemble(self.context([]), cands, ListwiseResult(), opt, None, None, None, None,
                        _first_timed([], on_item))
        elapsed = _ms(t0, time.perf_counter())
        return Recommendation(user_id=None, items=done.items, cold_start=True, profile=ProfileSummary(n_interactions=0),
                              warnings=["cold start: no history, showing popular and diverse items"],
                              timing=Timing(total_ms=elapsed, retrieval_ms=elapsed))

    # -- per-request views ------------------------------------------------------------------------
    def context(self, history: list[HistoryEvent]) -> RequestContext:
        collaborative, classic = self.item_models()
        return RequestContext(history, self.store, self.index, collaborative, self.like_threshold, classic)

    def profile_of(self, history: list[HistoryEvent], ctx: RequestContext | None = None) -> ProfileSummary:
        ctx = ctx or self.context(history)
        return build_profile(ctx.recent, ctx.items(e.item_id for e in ctx.recent), like_threshold=self.like_threshold)

    def prompts(self, history: list[HistoryEvent]) -> PromptBuilder:
        """Prompt inputs and rendering for this history (redacted)."""
        return PromptBuilder(self.context(history), self.registry, self.redactor)

    def evidence_for(self, history: list[HistoryEvent], items: Iterable[Item], constraint: str | None = None) -> EvidenceSet:
        """The evidence for each of `items` for this history, and the checker's context for each."""
        return evidence_for(self.context(history), list(items), constraint)


def _first_timed(first: list[float], on_item: OnItem | None) -> OnItem:
    """`on_item`, noting in `first` when the first item came."""
    def emit(item: RecommendedItem) -> None:
        if not first:
            first.append(time.perf_counter())
        if on_item is not None:
            on_item(item)
    return emit


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000, 2)
