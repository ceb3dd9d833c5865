"""The recommendation pipeline, in the order of the README's "How it works":
profile → candidates → order → (LLM step) → diversity → evidence → explanations, checked.
Each stage is a function in agent/pipeline/ over one RequestContext; this is the orchestrator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import ValidationError

from agent.backends.base import ChatBackend
from agent.config import Settings, load_settings
from agent.errors import BackendError, InputError, NotFoundError, PromptError, RetrievalError, UnknownUserError
from agent.options import RecommendOptions
from agent.pipeline import candidates as candidate_stage
from agent.pipeline.claims import Vocabulary
from agent.pipeline.context import RequestContext
from agent.pipeline.diversity import mmr
from agent.pipeline.evidence import EvidenceSet, evidence_for
from agent.pipeline.explain import Explained, ExplainStage, template_texts
from agent.pipeline.listwise import ListwiseResult, listwise_texts, rerank_listwise
from agent.pipeline.order import FusionWeights, order_candidates
from agent.pipeline.profile import LIKE_THRESHOLD, build_profile, llm_narrative
from agent.pipeline.prompt import PromptBuilder
from agent.privacy import Redactor
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.store import CatalogStore
from agent.types import (Candidate, FeedbackResult, HistoryEvent, Interaction, Item, ProfileSummary, PromptInfo,
                         Recommendation, RecommendedItem, Timing)
from prompts.registry import PromptRegistry

MAX_HISTORY = 10_000
SIGNAL_RATINGS: dict[str, float] = {"like": 5.0, "dislike": 1.0, "seen": 3.0}  # on the 0.5-5 scale; 3 = neutral
OnItem = Callable[[RecommendedItem], None]


class Recommender:
    """Personalized recommendations with explanations, grounded in the candidate set.

    Parts are created lazily from `settings`; pass `backend`, `store` or `index` to use
    your own (tests pass a ScriptedFakeBackend and a temp-dir store)."""

    def __init__(self, settings: Settings | None = None, *, backend: ChatBackend | None = None,
                 store: CatalogStore | None = None, index=None, registry: PromptRegistry | None = None,
                 collaborative: CooccurrenceIndex | None = None, like_threshold: float = LIKE_THRESHOLD):
        self.settings = settings or load_settings()
        self._backend, self._store, self._index = backend, store, index
        self.registry = registry or PromptRegistry()
        self.like_threshold = like_threshold
        self.redactor = Redactor.from_settings(self.settings)
        self._collab, self._collab_version = collaborative, -1
        self._collab_fixed = collaborative is not None  # given by the caller: never rebuilt
        self._vocab: tuple[int, Vocabulary] | None = None
        self._index_checked = False
        self.last_explanations: list[Explained] = []  # the explain stage's records of the latest list, for evals

    # -- public API ------------------------------------------------------------------------------
    def history(self, user_id: str, missing_ok: bool = False) -> list[HistoryEvent]:
        """A stored user's interactions; an unknown user is an UnknownUserError (or, with
        `missing_ok`, an empty history)."""
        rows = self.store.user_interactions(str(user_id))
        if not rows and not missing_ok:
            raise UnknownUserError(str(user_id))
        return [HistoryEvent(item_id=r.item_id, rating=r.rating, timestamp=r.timestamp) for r in rows]

    def recommend(self, user_id: str, options: RecommendOptions | None = None, *, on_item: OnItem | None = None,
                  **changes) -> Recommendation:
        """Recommendations for a stored user (options as a RecommendOptions or keywords, e.g.
        k=5). `on_item` gets each item in rank order as soon as it is written."""
        rec = self._run(self.history(user_id), RecommendOptions.of(options, **changes), on_item)
        rec.user_id = str(user_id)
        return rec

    def recommend_for_history(self, history: Iterable[HistoryEvent | dict], options: RecommendOptions | None = None,
                              *, on_item: OnItem | None = None, **changes) -> Recommendation:
        """Recommendations for a new or anonymous user from an inline history. An empty
        history gets a popular-and-diverse cold-start list; unknown item ids are dropped, with a warning."""
        options = RecommendOptions.of(options, **changes)
        events, warnings = self._known_events(history)
        rec = self._run(events, options, on_item)
        rec.warnings = warnings + rec.warnings
        return rec

    def feedback(self, user_id: str, item_id: str, signal: str) -> FeedbackResult:
        """Record like / dislike / seen as an interaction now: the next recommendation for this
        user is built from it (liked items feed the profile, disliked categories are avoided)."""
        if signal not in SIGNAL_RATINGS:
            raise InputError(f"unknown signal {signal!r}: use like, dislike or seen")
        item = self.item(item_id)
        self.store.upsert_interactions([Interaction(user_id=str(user_id), item_id=item.item_id,
                                                    rating=SIGNAL_RATINGS[signal], timestamp=int(time.time()))])
        return FeedbackResult(user_id=str(user_id), item_id=item.item_id, title=item.title, signal=signal)

    def item(self, item_id: str) -> Item:
        item = self.store.get_item(str(item_id))
        if item is None:
            raise NotFoundError(f"unknown item {item_id!r}: it is not in the catalog")
        return item

    def items(self, ids: Iterable[str]) -> dict[str, Item]:
        """The catalog items among `ids` (unknown ids left out)."""
        return self.store.get_items(ids)

    def find_titles(self, text: str, k: int = 5) -> list[Item]:
        """Items whose title best matches `text` (full-text search over titles)."""
        return self.store.search_titles(text, k)

    def search(self, query: str, k: int = 5, category: str | None = None) -> list[tuple[Item, float]]:
        """Items closest in meaning to `query` (with their cosine), optionally within one category."""
        hits = self.index.search(query, k * 5 if category else k)
        items = self.store.get_items(i for i, _ in hits)
        wanted = category.lower() if category else None
        found = [(items[i], score) for i, score in hits if i in items
                 and (wanted is None or wanted in (c.lower() for c in items[i].categories))]
        return found[:k]

    def retrieve(self, history: list[HistoryEvent], n: int) -> tuple[ProfileSummary, list[Candidate]]:
        """The profile of a (non-empty) history and its n best candidates, in the pipeline's order."""
        self._check_index()
        ctx = self.context(history)
        profile = build_profile(ctx.recent, ctx.items(e.item_id for e in ctx.recent), like_threshold=self.like_threshold)
        pool = candidate_stage.retrieve(ctx, ctx.positives, n)
        return profile, order_candidates(ctx, pool, ctx.positives, profile.avoided_categories, n,
                                         self.settings.candidate_order, FusionWeights(**self.settings.fusion_weights))

    def profile_of(self, history: list[HistoryEvent]) -> ProfileSummary:
        ctx = self.context(history)
        return build_profile(ctx.recent, ctx.items(e.item_id for e in ctx.recent), like_threshold=self.like_threshold)

    def rerank(self, history: list[HistoryEvent], profile: ProfileSummary, candidates: list[Candidate],
               options: RecommendOptions | None = None, *, sampling: dict | None = None, started: float | None = None,
               constraint: str | None = None, on_item: OnItem | None = None, **changes) -> Recommendation:
        """The steps after retrieval. With an explanation prompt (the default) the order is the
        candidates' (MMR-diversified) and the LLM phrases each item's evidence; with a listwise
        prompt (rerank@v1) the LLM reorders `candidates` (grounded, repaired once, falling back
        to their order). `sampling` sets a listwise call's temperature and seed (default greedy, seed 0)."""
        opt = RecommendOptions.of(options, **changes)
        t0 = started if started is not None else time.perf_counter()
        t_llm = time.perf_counter()
        ctx = self.context(history)
        rec = Recommendation(user_id=None, items=[], profile=profile)
        explain = opt.use_llm and self.registry.output_kind(opt.prompt) == "explanation"
        listwise = ListwiseResult()
        if not opt.use_llm:
            rec.fallback_reason = "LLM step disabled"
        elif self._connected(rec, explain):
            rec.profile = profile = self._with_narrative(rec, profile) if opt.profile_mode == "llm" else profile
        else:
            explain = False
        if opt.use_llm and not explain and rec.fallback_reason is None:
            listwise = rerank_listwise(self.backend, PromptBuilder(ctx, self.registry, self.redactor), profile,
                                       candidates, opt.k, opt.prompt, sampling or {"temperature": 0.0, "seed": 0})
            rec.prompt, rec.llm_calls, rec.fallback_reason = listwise.prompt, listwise.calls, listwise.fallback_reason
            rec.usage, rec.warnings = rec.usage + listwise.usage, rec.warnings + listwise.warnings
        first: list[float] = []
        rec.items = self._finish(ctx, candidates, listwise, opt, constraint, rec if opt.use_llm else None,
                                 explain, _first_timed(first, on_item))
        t_end = time.perf_counter()
        rec.timing = Timing(retrieval_ms=_ms(t0, t_llm), llm_ms=_ms(t_llm, t_end),
                            first_item_ms=_ms(t0, first[0] if first else t_end), total_ms=_ms(t0, t_end))
        return rec

    def evidence_for(self, history: list[HistoryEvent], items, constraint: str | None = None) -> EvidenceSet:
        """The evidence for each of `items` for this history, and the checker's context for each."""
        return evidence_for(self.context(history), list(items), constraint)

    def vocabulary(self) -> Vocabulary:
        """Titles, genres and tags the catalog can name (the claim checker's lexicon)."""
        n = self.store.count_items()
        if self._vocab is None or self._vocab[0] != n:
            self._vocab = (n, Vocabulary.from_items(self.store.all_items()))
        return self._vocab[1]

    def context(self, history: list[HistoryEvent]) -> RequestContext:
        return RequestContext(history, self.store, self.index, self.collaborative(), self.like_threshold)

    def prompts(self, history: list[HistoryEvent]) -> PromptBuilder:
        """Prompt inputs and rendering for this history (redacted)."""
        return PromptBuilder(self.context(history), self.registry, self.redactor)

    # -- the pipeline ----------------------------------------------------------------------------
    def _run(self, history: list[HistoryEvent], opt: RecommendOptions, on_item: OnItem | None) -> Recommendation:
        try:
            self.registry.path(opt.prompt)
        except PromptError as e:  # an unknown prompt is the caller's error, not the server's
            raise InputError(str(e)) from None
        t0 = time.perf_counter()
        if not history:
            return self._cold_start(opt.k, t0, on_item)
        profile, candidates = self.retrieve(history, max(opt.n_candidates, opt.k))
        return self.rerank(history, profile, candidates, opt, started=t0, on_item=on_item)

    def _finish(self, ctx: RequestContext, candidates: list[Candidate], listwise: ListwiseResult,
                opt: RecommendOptions, constraint: str | None, rec: Recommendation | None, explain: bool,
                on_item: OnItem) -> list[RecommendedItem]:
        """Diversity, evidence, then each item's texts: checked LLM text, or the evidence template."""
        by_id = {c.item.item_id: c for c in candidates}
        from_llm = [e.item_id for e in listwise.entries]
        order = from_llm + [i for i in by_id if i not in from_llm]
        final = mmr(order, ctx.vectors(order) if opt.diversity > 0 else {}, opt.k, opt.diversity)
        evset = evidence_for(ctx, [by_id[i].item for i in final], constraint, listwise.instructions)

        def item(rank: int, x: Explained) -> RecommendedItem:
            ev, cand = evset.evidence[rank - 1], by_id[evset.evidence[rank - 1].item_id]
            source = "llm" if ev.item_id in from_llm else (
                "fallback" if from_llm or rec is None or rec.fallback_reason else "pipeline")
            return RecommendedItem(rank=rank, item_id=ev.item_id, title=cand.item.title, personalized_title=x.hook,
                                   explanation=x.explanation, explanation_source=x.source, source=source,
                                   categories=cand.item.categories, scores=cand.scores, flags=x.flags, evidence=ev)

        if not explain:
            texts = listwise_texts(listwise.entries, evset, self.vocabulary())
            out = [item(rank, x) for rank, x in enumerate(texts, start=1)]
            for it in out:
                on_item(it)
            return out
        rec.prompt = PromptInfo(ref=opt.prompt, template_sha256=self.registry.sha256(opt.prompt))
        try:
            stage = ExplainStage(self.backend, self.registry, self.vocabulary(), opt.prompt,
                                 workers=self.settings.parallel, budget_s=self.settings.explain_budget_s)
            done = self.last_explanations = stage.run(evset.taste, evset.contexts,
                                                      on_item=lambda i, x: on_item(item(i + 1, x)))
        except BackendError as e:  # the server could not even start: every item from its template
            rec.fallback_reason = f"LLM call failed ({e.kind}): {e}"
            rec.warnings.append("explanations from templates: " + rec.fallback_reason)
            done = [Explained(*template_texts(ev, n), source="template", hook_source="template")
                    for n, ev in enumerate(evset.evidence)]
            for rank, x in enumerate(done, start=1):
                on_item(item(rank, x))
        for x in done:
            rec.usage = rec.usage + x.usage
            if x.error is not None and rec.fallback_reason is None:
                rec.fallback_reason = f"LLM call failed ({x.error.kind}): {x.error}"
                rec.warnings.append("some explanations are from templates: " + rec.fallback_reason)
        return [item(rank, x) for rank, x in enumerate(done, start=1)]

    def _connected(self, rec: Recommendation, explain: bool) -> bool:
        """Whether the LLM backend is there (the embedded server may fail to start); if not, say so."""
        try:
            rec.model, rec.endpoint = self.backend.model, self.backend.endpoint
            return True
        except BackendError as e:
            rec.fallback_reason = f"LLM call failed ({e.kind}): {e}"
            rec.warnings.append(("explanations from templates: " if explain else
                                 "showing retrieval order without the LLM: ") + rec.fallback_reason)
            return False

    def _with_narrative(self, rec: Recommendation, profile: ProfileSummary) -> ProfileSummary:
        got = llm_narrative(self.backend, self.registry, self.store, self.redactor.profile(profile))
        rec.usage = rec.usage + got.usage
        if got.warning:
            rec.warnings.append(got.warning)
        return profile.model_copy(update={"narrative": got.text}) if got.text else profile

    def _cold_start(self, k: int, t0: float, on_item: OnItem | None) -> Recommendation:
        pool = self.collaborative().popular(max(5 * k, 50))
        catalog = self.store.get_items(i for i, _ in pool)
        cands = [Candidate(item=catalog[i], scores={"popularity": p}, sources=["popular"])
                 for i, p in pool if i in catalog]
        if not cands:  # no interactions at all: any items
            cands = [Candidate(item=it, sources=["popular"]) for it in self.store.all_items()[: 5 * k]]
        opt = RecommendOptions(k=k, diversity=0.5, use_llm=False)
        items = self._finish(self.context([]), cands, ListwiseResult(), opt, None, None, False,
                             _first_timed([], on_item))
        return Recommendation(user_id=None, items=items, cold_start=True, profile=ProfileSummary(n_interactions=0),
                              warnings=["cold start: no history, showing popular and diverse items"],
                              timing=Timing(total_ms=_ms(t0, time.perf_counter()),
                                            retrieval_ms=_ms(t0, time.perf_counter())))

    def _known_events(self, history: Iterable[HistoryEvent | dict]) -> tuple[list[HistoryEvent], list[str]]:
        """The history's events, validated; unknown item ids dropped with a warning (all unknown: an error)."""
        events = []
        for n, h in enumerate(history):
            try:
                events.append(h if isinstance(h, HistoryEvent) else HistoryEvent.model_validate(h))
            except ValidationError as e:
                first = e.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "entry"
                raise InputError(f"history entry {n}: {where}: {first['msg']} "
                                 "(expected {item_id, rating?, signal?: like|dislike|click|seen, timestamp?})") from None
        if len(events) > MAX_HISTORY:
            raise InputError(f"history has {len(events)} events; the limit is {MAX_HISTORY}: send the most recent ones")
        if not events:
            return events, []
        ids = {e.item_id for e in events}
        unknown = sorted(ids - set(self.store.get_items(ids)))
        if len(unknown) == len(ids):
            raise InputError(f"none of the history's item ids are in the catalog ({', '.join(unknown[:5])}"
                             f"{'…' if len(unknown) > 5 else ''}): ingest the catalog or fix the ids")
        if not unknown:
            return events, []
        return ([e for e in events if e.item_id not in unknown],
                [f"ignored {len(unknown)} unknown item id(s): {', '.join(unknown[:5])}"])

    def _check_index(self) -> None:
        """An empty index beside a filled catalog means the index was lost: say so, rather
        than quietly recommending from co-occurrence alone."""
        if self._index_checked:
            return
        if self.index.count() == 0 and (n := self.store.count_items()):
            where = self.settings.chroma_url or Path(self.settings.data_dir) / "chroma"
            raise RetrievalError(f"the vector index at {where} is empty but the catalog holds {n} items "
                                 "(the index was deleted or lost): rebuild it from the catalog with "
                                 "`recagent reindex`")
        self._index_checked = True

    # -- parts -----------------------------------------------------------------------------------
    @property
    def store(self) -> CatalogStore:
        if self._store is None:
            self._store = CatalogStore(Path(self.settings.data_dir) / "catalog.sqlite")
        return self._store

    @property
    def index(self):
        if self._index is None:
            from agent.retrieval.chroma import ChromaRetriever
            from agent.retrieval.embeddings import MiniLMEmbedder

            self._index = ChromaRetriever(Path(self.settings.data_dir) / "chroma", MiniLMEmbedder(),
                                          url=self.settings.chroma_url)
        return self._index

    @property
    def backend(self) -> ChatBackend:
        if self._backend is None:
            from agent.backends.connect import connect

            self._backend = connect(self.settings)
        return self._backend

    def collaborative(self) -> CooccurrenceIndex:
        if not self._collab_fixed and (self._collab is None or self._collab_version != self.store.version):
            self._collab = CooccurrenceIndex(self.store.all_interactions(), self.like_threshold)
            self._collab_version = self.store.version
        return self._collab

    def close(self) -> None:
        if self._backend is not None and hasattr(self._backend, "close"):
            self._backend.close()
        self._backend = None

    def __enter__(self) -> "Recommender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _first_timed(first: list[float], on_item: OnItem | None) -> OnItem:
    """`on_item`, noting when the first item came."""
    def emit(item: RecommendedItem) -> None:
        if not first:
            first.append(time.perf_counter())
        if on_item is not None:
            on_item(item)
    return emit


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000, 2)
