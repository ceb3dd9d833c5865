"""The recommendation pipeline: profile → candidates → prompt → LLM → grounding → diversity."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from agent.backends.base import ChatBackend, ChatRequest
from agent.claims import Vocabulary, check, claim_contexts
from agent.config import Settings, load_settings
from agent.diversity import mmr
from agent.evidence import build_evidence, taste_summary
from agent.errors import BackendError, InputError, PromptError, RetrievalError, UnknownUserError
from agent.explain import ExplainStage, template_texts
from agent.fusion import RECENT_LIKES, FusionWeights, fused_scores, raw_features
from agent.grounding import (candidate_labels, drop_shared_sentences, ground, is_degenerate, parse_output,
                             parse_ranking, ranking_schema, response_schema)
from agent.privacy import Redactor
from agent.profile import LIKE_THRESHOLD, build_profile, is_positive, newest_first
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.store import CatalogStore
from agent.types import (Candidate, Evidence, HistoryEvent, Item, LLMCall, ProfileSummary, PromptInfo, Recommendation,
                         RecommendedItem, Timing)
from prompts.inputs import (PromptDemo, PromptEvent, PromptItem, PromptProfile, ProfileInputs, RankInputs,
                            RerankInputs, ScoreInputs, as_data)
from prompts.registry import PromptRegistry, RenderedPrompt

DEFAULT_PROMPT = "explain@v1"  # per-item explanations of the pipeline's order; rerank@v1 is listwise
MAX_K = 50
MAX_CANDIDATES = 100
MAX_HISTORY = 10_000
RRF_K = 60
PROFILE_VECTOR_ITEMS = 20  # recent liked items averaged into the profile's embedding
LIKED_QUERIES = 3  # recent liked items that are also queries of their own
SEEN_OVERFETCH = 150  # extra semantic neighbours fetched to make up for seen ones
PROFILE_EVENTS = 500  # most recent events a profile is built from (all count as seen)
# How much of each item the prompt shows, from generous to bare, tried in order until the
# prompt fits the context window: (chars of item text, tags per item, liked items shown).
TRIM_LEVELS = [(200, 5, 10), (80, 3, 6), (0, 2, 4), (0, 0, 2)]
RANK_HISTORY = 8  # history items a rank prompt shows at most
COMPACT_HISTORY = (32, 20, 10, 4)  # liked titles (no genres) a compact prompt shows, per trim level


class Recommender:
    """Personalized recommendations with explanations, grounded in the candidate set.

    Parts are created lazily from `settings`; pass `backend`, `store` or `index` to use
    your own (tests pass a ScriptedFakeBackend and a temp-dir store)."""

    def __init__(self, settings: Settings | None = None, *, backend: ChatBackend | None = None,
                 store: CatalogStore | None = None, index=None, registry: PromptRegistry | None = None,
                 collaborative: CooccurrenceIndex | None = None, like_threshold: float = LIKE_THRESHOLD):
        self.settings = settings or load_settings()
        self._backend = backend
        self._store = store
        self._index = index
        self.registry = registry or PromptRegistry()
        self.like_threshold = like_threshold
        self.redactor = Redactor.from_settings(self.settings)
        self._collab_version = -1
        self._collab = collaborative
        self._collab_fixed = collaborative is not None  # given by the caller: never rebuilt
        self._vocab: tuple[int, Vocabulary] | None = None
        self.last_explanations: list = []  # the explain stage's records of the latest list, for evals
        self._index_checked = False

    # -- parts ---------------------------------------------------------------------------------
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

    # -- public API ------------------------------------------------------------------------------
    def history(self, user_id: str) -> list[HistoryEvent]:
        rows = self.store.user_interactions(str(user_id))
        if not rows:
            raise UnknownUserError(str(user_id))
        return [HistoryEvent(item_id=r.item_id, rating=r.rating, timestamp=r.timestamp) for r in rows]

    def recommend(self, user_id: str, k: int = 10, **options) -> Recommendation:
        """Recommendations for a stored user. Raises UnknownUserError for an unknown id."""
        rec = self._run(self.history(user_id), k, **options)
        rec.user_id = str(user_id)
        return rec

    def recommend_for_history(self, history: Iterable[HistoryEvent | dict], k: int = 10,
                              **options) -> Recommendation:
        """Recommendations for a new or anonymous user from an inline history. An empty
        history gets a popular-and-diverse cold-start list."""
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
        warnings = []
        if events:
            known = self.store.get_items(e.item_id for e in events)
            unknown = sorted({e.item_id for e in events} - set(known))
            if len(unknown) == len({e.item_id for e in events}):
                raise InputError(f"none of the history's item ids are in the catalog ({', '.join(unknown[:5])}"
                                 f"{'…' if len(unknown) > 5 else ''}): ingest the catalog or fix the ids")
            if unknown:
                warnings.append(f"ignored {len(unknown)} unknown item id(s): {', '.join(unknown[:5])}")
                events = [e for e in events if e.item_id in known]
        rec = self._run(events, k, **options)
        rec.warnings = warnings + rec.warnings
        return rec

    # -- the pipeline ----------------------------------------------------------------------------
    def _run(self, history: list[HistoryEvent], k: int, n_candidates: int = 20, **options) -> Recommendation:
        _check_options(k, n_candidates, options.get("diversity", 0.2), options.get("profile_mode", "deterministic"))
        try:
            self.registry.path(options.get("prompt", DEFAULT_PROMPT))
        except PromptError as e:  # an unknown prompt is the caller's error, not the server's
            raise InputError(str(e)) from None
        t0 = time.perf_counter()
        if not history:
            return self._cold_start(k, t0, options.get("on_item"))
        profile, candidates = self.retrieve(history, max(n_candidates, k))
        return self.rerank(history, profile, candidates, k, started=t0, **options)

    def rerank(self, history: list[HistoryEvent], profile: ProfileSummary, candidates: list[Candidate], k: int,
               prompt: str = DEFAULT_PROMPT, diversity: float = 0.2, use_llm: bool = True,
               profile_mode: str = "deterministic", sampling: dict | None = None,
               started: float | None = None, constraint: str | None = None,
               on_item: Callable[[RecommendedItem], None] | None = None) -> Recommendation:
        """The steps after retrieval. With an explanation prompt (the default) the order is the
        candidates' (MMR-diversified) and the LLM phrases each item's evidence; with a listwise
        prompt (rerank@v1) the LLM reorders `candidates` (grounded, repaired once, falling back
        to their order). `on_item` gets each finished item in rank order, as soon as it is ready.
        `sampling` sets a listwise call's temperature and seed (default: greedy, seed 0)."""
        t0 = started if started is not None else time.perf_counter()
        t_retrieval = time.perf_counter()
        seen = {e.item_id for e in history}
        rec = Recommendation(user_id=None, items=[], profile=profile)
        explain = use_llm and self.registry.output_kind(prompt) == "explanation"
        entries, instructions = [], ""
        if use_llm and not explain:
            entries, instructions = self._rerank_with_llm(rec, history, profile, candidates, seen, k, prompt,
                                                          profile_mode, sampling or {"temperature": 0.0, "seed": 0})
        elif not use_llm:
            rec.fallback_reason = "LLM step disabled"
        elif profile_mode == "llm":
            try:
                self._add_narrative(rec, profile)
            except BackendError as e:
                rec.warnings.append(f"LLM profile summary failed ({e.kind}); used the deterministic profile")
        first: list[float] = []

        def emit(item: RecommendedItem) -> None:
            if not first:
                first.append(time.perf_counter())
            if on_item is not None:
                on_item(item)

        rec.items = self._assemble(entries, candidates, history, k, diversity, instructions,
                                   explain_prompt=prompt if explain else None, constraint=constraint,
                                   on_item=emit, rec=rec)
        t_end = time.perf_counter()
        rec.timing = Timing(retrieval_ms=_ms(t0, t_retrieval), llm_ms=_ms(t_retrieval, t_end),
                            first_item_ms=_ms(t0, first[0] if first else t_end), total_ms=_ms(t0, t_end))
        return rec

    def retrieve(self, history: list[HistoryEvent], n: int) -> tuple[ProfileSummary, list[Candidate]]:
        """The profile of a (non-empty) history and its n candidates."""
        self._check_index()
        profile, positives = self.profile_with_positives(history)
        return profile, self.candidates(profile, {e.item_id for e in history}, n, positives)

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

    def profile_of(self, history: list[HistoryEvent]) -> ProfileSummary:
        return self.profile_with_positives(history)[0]

    def profile_with_positives(self, history: list[HistoryEvent]) -> tuple[ProfileSummary, list[str]]:
        """The profile, and the liked item ids most recent first."""
        recent_first = newest_first(history)[:PROFILE_EVENTS]
        items = self.store.get_items(e.item_id for e in recent_first)
        profile = build_profile(recent_first, items, like_threshold=self.like_threshold)
        return profile, [e.item_id for e in recent_first if is_positive(e, self.like_threshold) and e.item_id in items]

    def candidates(self, profile: ProfileSummary, seen: set[str], n: int,
                   positives: list[str] | None = None) -> list[Candidate]:
        """Union of semantic neighbours (of the profile and of liked items) and collaborative
        co-occurrence over `positives` (most recent first; default: the profile's liked
        items), fused by reciprocal rank; never an item the user has seen."""
        liked = [r.item_id for r in profile.liked]
        collab = self.collaborative()
        co = collab.similar(positives or liked, 2 * n, exclude=seen)

        # query vectors: the profile (the centroid of recently liked items' embeddings), then
        # each of the most recent liked items on its own
        recent = (positives or liked)[:PROFILE_VECTOR_ITEMS]
        vectors = self.index.embeddings(recent)
        queries, origins = [], []
        if vectors:
            centroid = np.mean(list(vectors.values()), axis=0)
            queries.append(centroid / max(float(np.linalg.norm(centroid)), 1e-12))
            origins.append(None)
        for item_id in recent[:LIKED_QUERIES]:
            if item_id in vectors:
                queries.append(vectors[item_id])
                origins.append(item_id)
        semantic: dict[str, tuple[float, str | None]] = {}
        to_profile: dict[str, float] = {}  # cosine to the profile vector, from its own query
        if queries:
            # over-fetch a bounded amount: seen items are filtered out afterwards
            fetch = 2 * n + min(len(seen), SEEN_OVERFETCH)
            for hits, origin in zip(self.index.search_vectors(np.stack(queries), fetch), origins):
                for item_id, sim in hits:
                    if origin is None:
                        to_profile[item_id] = sim
                    if item_id not in seen and sim > semantic.get(item_id, (-1.0, None))[0]:
                        semantic[item_id] = (sim, origin)
        sem_ranked = sorted(semantic.items(), key=lambda kv: -kv[1][0])[: 2 * n]

        fused: dict[str, dict] = {}
        for rank, (item_id, (sim, src)) in enumerate(sem_ranked):
            f = fused.setdefault(item_id, {"scores": {}, "sources": [], "because": src})
            f["scores"]["semantic"] = round(sim, 4)
            f["scores"]["fused"] = f["scores"].get("fused", 0.0) + 1.0 / (RRF_K + rank)
            f["sources"].append("semantic")
        for rank, (item_id, score, src) in enumerate(co):
            f = fused.setdefault(item_id, {"scores": {}, "sources": [], "because": src})
            f["scores"]["collaborative"] = round(score, 4)
            f["scores"]["fused"] = f["scores"].get("fused", 0.0) + 1.0 / (RRF_K + rank)
            f["sources"].append("collaborative")
            f["because"] = src  # co-occurrence evidence is the stronger explanation
        if self.settings.candidate_order == "fusion":
            profile_vec = queries[0] if queries and origins[0] is None else None
            order = self._fusion_order(fused, positives or liked, seen, n, collab, profile_vec, to_profile)
        else:
            order = sorted(fused, key=lambda i: -fused[i]["scores"]["fused"])
        order = self._without_avoided(order, profile, n)[:n]
        if len(order) < n:
            for item_id, pop in collab.popular(n - len(order), exclude=seen | set(order)):
                fused[item_id] = {"scores": {"popularity": pop, "fused": 0.0}, "sources": ["popular"],
                                  "because": None}
                order.append(item_id)
        catalog = self.store.get_items(order)
        return [Candidate(item=catalog[i], scores={k: round(v, 5) for k, v in fused[i]["scores"].items()},
                          sources=fused[i]["sources"], because=fused[i]["because"])
                for i in order if i in catalog]

    def _fusion_order(self, pool: dict[str, dict], positives: list[str], seen: set[str], n: int,
                      collab: CooccurrenceIndex, profile_vec: np.ndarray | None,
                      to_profile: dict[str, float]) -> list[str]:
        """Order the semantic and co-occurrence candidates, plus the n most popular unseen
        items, by the fitted linear score of agent/fusion.py (recorded as the `fused` score).
        Cosines to the profile come from its search where it found the item, else from the index."""
        for item_id, pop in collab.popular(n, exclude=seen):
            pool.setdefault(item_id, {"scores": {"popularity": pop}, "sources": ["popular"], "because": None})
        ids = list(pool)
        semantic = dict(to_profile)
        missing = [i for i in ids if i not in semantic]
        if profile_vec is not None and missing:
            semantic.update({i: float(v @ profile_vec) for i, v in self.index.embeddings(missing).items()})
        knn, recent = collab.scores_with_recent(positives, RECENT_LIKES, ids)
        x = raw_features(knn, [semantic.get(i, 0.0) for i in ids], collab.popularity_of(ids), recent=recent)
        scores = fused_scores(x, FusionWeights(**self.settings.fusion_weights))
        for item_id, score in zip(ids, scores):
            pool[item_id]["scores"]["fused"] = float(score)
        return [ids[i] for i in np.argsort(-scores, kind="stable")]

    def _without_avoided(self, order: list[str], profile: ProfileSummary, n: int) -> list[str]:
        """Drop items in a category the user dislikes more than likes (the profile's avoided
        categories, updated by every dislike), unless too few would remain."""
        avoided = set(profile.avoided_categories)
        if not avoided:
            return order
        items = self.store.get_items(order)
        kept = [i for i in order if i in items and not avoided & set(items[i].categories)]
        return kept if len(kept) >= min(n, len(order)) // 2 else order

    def rank_pool(self, history: list[HistoryEvent], pool: list[str]) -> tuple[ProfileSummary, list[Candidate]]:
        """The profile of `history` and a fixed pool of items (e.g. an eval's sampled
        candidates) ordered the way `candidates` orders retrieved ones (reciprocal rank of
        semantic similarity and item-kNN co-occurrence, or the fitted fusion score)."""
        profile, positives = self.profile_with_positives(history)
        catalog = self.store.get_items(pool)
        pool = [i for i in pool if i in catalog]
        semantic = dict(zip(pool, self.semantic_scores(positives, pool)))
        collab = dict(zip(pool, self.collaborative().scores(positives, pool)))
        fused = {i: 0.0 for i in pool}
        if self.settings.candidate_order == "fusion":
            c = self.collaborative()
            recent = c.scores_with_recent(positives, RECENT_LIKES, pool)[1]
            x = raw_features([collab[i] for i in pool], [semantic[i] for i in pool], c.popularity_of(pool),
                             recent=recent)
            fused = dict(zip(pool, fused_scores(x, FusionWeights(**self.settings.fusion_weights)).tolist()))
        else:
            for scores in (semantic, collab):
                ranked = [i for i in sorted(pool, key=lambda i: -scores[i]) if scores[i] > 0]
                for rank, item_id in enumerate(ranked):
                    fused[item_id] += 1.0 / (RRF_K + rank)
        order = sorted(pool, key=lambda i: -fused[i])  # stable: ties keep the pool's order
        return profile, [Candidate(item=catalog[i], scores={"semantic": round(semantic[i], 4),
                                                            "collaborative": round(collab[i], 4),
                                                            "fused": round(fused[i], 5)},
                                   sources=[src for src, sc in (("semantic", semantic), ("collaborative", collab))
                                            if sc[i] > 0])
                         for i in order]

    def profile_vector(self, positives: list[str]) -> np.ndarray | None:
        """The centroid of the most recent liked items' embeddings, normalised (None if none)."""
        vectors = self.index.embeddings(positives[:PROFILE_VECTOR_ITEMS])
        if not vectors:
            return None
        centroid = np.mean(list(vectors.values()), axis=0)
        return centroid / max(float(np.linalg.norm(centroid)), 1e-12)

    def semantic_scores(self, positives: list[str], items: list[str]) -> list[float]:
        """Cosine similarity of each item to the profile vector; 0 when there is none."""
        centroid = self.profile_vector(positives)
        if centroid is None:
            return [0.0] * len(items)
        found = self.index.embeddings(items)
        return [float(found[i] @ centroid) if i in found else 0.0 for i in items]

    # -- LLM step ---------------------------------------------------------------------------------
    def _rerank_with_llm(self, rec: Recommendation, history: list[HistoryEvent], profile: ProfileSummary,
                         candidates: list[Candidate], seen: set[str], k: int, prompt: str,
                         profile_mode: str, sampling: dict) -> tuple[list, str]:
        """The model's grounded entries (empty on fallback) and the prompt's system text."""
        instructions = ""
        try:
            backend = self.backend
            rec.model, rec.endpoint = backend.model, backend.endpoint
            if profile_mode == "llm":
                self._add_narrative(rec, profile)
            k_eff = min(k, len(candidates))
            ranking = self.registry.output_kind(prompt) == "ranking"
            max_tokens = (4 * k_eff + 24) if ranking else (100 * k_eff + 50)
            rendered, shown = self.fit_prompt(prompt, history, profile, candidates, k_eff, max_tokens, rec.warnings)
            rec.prompt = PromptInfo(ref=rendered.ref, template_sha256=rendered.template_sha256)
            instructions = next((m["content"] for m in rendered.messages if m["role"] == "system"), "")
            ids = [c.item.item_id for c in shown]
            if ranking:
                labels = candidate_labels(len(ids))
                label_ids = dict(zip(labels, ids))
                schema = ranking_schema(labels, k_eff)
            else:
                schema = response_schema(ids, k_eff)
            request = ChatRequest(messages=rendered.messages, response_schema=schema, schema_name="rerank",
                                  max_tokens=max_tokens, **sampling)
            for attempt in (1, 2):
                try:
                    resp = backend.complete(request)
                except BackendError as e:
                    if e.kind != "bad_response" or attempt == 2:
                        raise
                    # the server could not parse its own output: the same greedy request fails the
                    # same way, so the one retry samples (another seed, temperature 0.7)
                    rec.warnings.append(f"model output unusable ({e}); retried once, sampling")
                    request = request.model_copy(update={"seed": (request.seed or 0) + 1,
                                                         "temperature": max(request.temperature, 0.7)})
                    continue
                rec.usage = rec.usage + resp.usage
                parsed = parse_ranking(resp.content, label_ids) if ranking else parse_output(resp.content)
                g = ground(parsed.entries, set(ids), seen)
                rec.llm_calls.append(LLMCall(raw=resp.content[:4000], finish_reason=resp.finish_reason,
                                             parse_error=parsed.error, returned=len(parsed.entries),
                                             out_of_candidate=g.out_of_candidate, duplicates=g.duplicates,
                                             seen=g.seen, usage=resp.usage, latency_ms=round(resp.latency_ms, 2),
                                             cached=resp.cached))
                problems = []
                if parsed.error:
                    problems.append(parsed.error)
                if g.out_of_candidate:
                    problems.append(f"ids not among the candidates: {', '.join(g.out_of_candidate[:5])}")
                if g.duplicates:
                    problems.append(f"repeated ids: {', '.join(g.duplicates[:5])}")
                if g.seen:
                    problems.append(f"items the user has seen: {', '.join(g.seen[:5])}")
                if g.entries and not parsed.error:
                    if problems:
                        rec.warnings.append("dropped from the model's answer: " + "; ".join(problems))
                    return g.entries, instructions
                if attempt == 1:
                    request = request.model_copy(update={"messages": rendered.messages + [
                        {"role": "assistant", "content": resp.content[:2000]},
                        {"role": "user", "content": "That answer was not usable (" + "; ".join(problems or ["no items"])
                         + "). Answer again with only the JSON object, using "
                         + ("candidate letters." if ranking else "candidate ids.")}]})
                    continue
                if g.entries:  # truncated twice: keep the complete items it did give
                    rec.warnings.append("model output was cut off; kept its complete items")
                    return g.entries, instructions
                rec.fallback_reason = "invalid model output after one repair attempt: " + "; ".join(problems or ["no items"])
        except BackendError as e:
            rec.fallback_reason = f"LLM call failed ({e.kind}): {e}"
        if rec.fallback_reason:
            rec.warnings.append("showing retrieval order without the LLM: " + rec.fallback_reason)
        return [], instructions

    def fit_prompt(self, ref: str, history: list[HistoryEvent], profile: ProfileSummary,
                   candidates: list[Candidate], k: int, max_tokens: int,
                   warnings: list[str]) -> tuple[RenderedPrompt, list[Candidate]]:
        """Render `ref`, trimming item text, then history, then candidates, until the prompt
        plus the completion fits the backend's context window."""
        limit = self.backend.context_window - max_tokens - 64
        shown = list(candidates)
        while True:
            for level in range(len(TRIM_LEVELS)):
                rendered = self.registry.render(ref, self.prompt_inputs(ref, history, profile, shown, k, level))
                if self.backend.count_tokens(rendered.messages) <= limit:
                    if level or len(shown) < len(candidates):
                        warnings.append(f"prompt trimmed to fit the {self.backend.context_window}-token "
                                        f"context (level {level}, {len(shown)} candidates)")
                    return rendered, shown
            if len(shown) <= k:
                raise BackendError(f"the prompt does not fit the model's {self.backend.context_window}-token "
                                   "context even when trimmed; use a model with a larger context or a smaller k",
                                   kind="context_window")
            shown = shown[: max(k, len(shown) * 3 // 4)]

    def prompt_inputs(self, ref: str, history: list[HistoryEvent], profile: ProfileSummary,
                      candidates: list[Candidate], k: int, level: int = 0):
        """The typed inputs of prompt `ref` at trim `level` (0 = the most generous)."""
        text_chars, n_tags, n_liked = TRIM_LEVELS[level]
        profile = self.redactor.profile(profile)
        candidates = [c.model_copy(update={"item": self.redactor.item(c.item)}) for c in candidates]
        liked_titles = {r.item_id: r.title for r in profile.liked}
        model = self.registry.input_model(ref)
        if model not in (RankInputs, ScoreInputs):
            return RerankInputs(profile=prompt_profile(profile, n_liked), k=k,
                                candidates=[prompt_item(c.item, text_chars, n_tags, liked_titles.get(c.because or ""))
                                            for c in candidates])
        # rank prompts: compact items under letters (no ids, no tags, two categories), a
        # shorter history: prefill time is most of a small model's answer time
        n_liked = min(n_liked, RANK_HISTORY)
        items = [prompt_item(c.item, 0, 0, n_categories=2).model_copy(update={"id": label})
                 for c, label in zip(candidates, candidate_labels(len(candidates)))]
        used = self.registry.variables(ref)  # history views only the template shows
        recent = self.recent_events(history, n_liked) if "recent" in used else []
        demos = self.demos(history, n=2 if level < 2 else 1) if "demos" in used else []
        if model is ScoreInputs:
            titles = self.liked_titles(history, COMPACT_HISTORY[level]) if "liked_titles" in used else []
            return ScoreInputs(candidates=items, profile=prompt_profile(profile, n_liked), recent=recent,
                               demos=demos, liked_titles=titles)
        return RankInputs(candidates=items, k=k, profile=prompt_profile(profile, n_liked), recent=recent, demos=demos)

    def liked_titles(self, history: list[HistoryEvent], n: int) -> list[str]:
        """Titles of the latest `n` liked items, newest first (a longer history than the
        profile's, for prompts that show titles only)."""
        liked = sorted((e for e in history if is_positive(e, self.like_threshold)),
                       key=lambda e: e.timestamp or 0, reverse=True)[:n]
        known = self.store.get_items(e.item_id for e in liked)
        return [as_data(self.redactor.item(known[e.item_id]).title, 80) for e in liked if e.item_id in known]

    def recent_events(self, history: list[HistoryEvent], n: int) -> list[PromptEvent]:
        """The latest `n` interactions, newest first, with their ratings."""
        recent = newest_first(history)[:n]
        known = {i: self.redactor.item(it) for i, it in self.store.get_items(e.item_id for e in recent).items()}
        return [PromptEvent(title=as_data(known[e.item_id].title, 120),
                            categories=[as_data(c, 40) for c in known[e.item_id].categories[:3]],
                            rating=e.rating) for e in recent if e.item_id in known]

    def demos(self, history: list[HistoryEvent], n: int = 2, options: int = 3) -> list[PromptDemo]:
        """In-context examples from the user's own ratings: their most recent top-rated items,
        each shown beside items they rated lower."""
        rated = sorted((e for e in history if e.rating is not None), key=lambda e: e.timestamp or 0, reverse=True)
        best = [e for e in rated if is_positive(e, self.like_threshold)][:n]
        items = {i: self.redactor.item(it) for i, it in self.store.get_items(e.item_id for e in rated).items()}
        out = []
        for d, top in enumerate(best):
            lower = [e for e in rated if e.rating < top.rating and e.item_id in items][d * (options - 1):(d + 1) * (options - 1)]
            if not lower or top.item_id not in items:
                continue
            titles = [items[e.item_id].title for e in lower]
            titles.insert(hash_position(top.item_id, len(titles) + 1), items[top.item_id].title)
            out.append(PromptDemo(options=[as_data(t, 120) for t in titles], chosen=as_data(items[top.item_id].title, 120)))
        return out

    def _add_narrative(self, rec: Recommendation, profile: ProfileSummary) -> None:
        """LLM-written taste summary (prompts/profile), cached by prompt and model."""
        rendered = self.registry.render("profile@v1", ProfileInputs(profile=prompt_profile(self.redactor.profile(profile), 10)))
        key = "profile:" + hashlib.sha256(json.dumps([rendered.messages, self.backend.model]).encode()).hexdigest()
        text = self.store.cache_get(key)
        if text is None:
            resp = self.backend.complete(ChatRequest(messages=rendered.messages, max_tokens=120))
            rec.usage = rec.usage + resp.usage
            text = as_data(resp.content, 400)
            if is_degenerate(text, min_words=5):
                rec.warnings.append("LLM profile summary was unusable; used the deterministic profile")
                return
            self.store.cache_put(key, text)
        profile.narrative = text

    # -- assembly ----------------------------------------------------------------------------------
    def vocabulary(self) -> Vocabulary:
        """Titles, genres and tags the catalog can name (the claim checker's lexicon)."""
        n = self.store.count_items()
        if self._vocab is None or self._vocab[0] != n:
            self._vocab = (n, Vocabulary.from_items(self.store.all_items()))
        return self._vocab[1]

    def evidence_for(self, history: list[HistoryEvent], items: list[Item], constraint: str | None = None,
                     instructions: str = ""):
        """The evidence for each of `items` for this history, the checker's context for each,
        and the liked events and items it was drawn from."""
        liked = [e for e in newest_first(history) if is_positive(e, self.like_threshold)][:PROFILE_EVENTS]
        catalog = self.store.get_items([e.item_id for e in liked])
        catalog.update({it.item_id: it for it in items})
        vectors = self.index.embeddings([it.item_id for it in items] + [e.item_id for e in liked[:PROFILE_VECTOR_ITEMS]])
        evidence = build_evidence(items, liked, catalog, self.collaborative(), vectors, constraint)
        return evidence, claim_contexts(evidence, liked, catalog, instructions), liked, catalog

    def _assemble(self, entries: list, candidates: list[Candidate], history: list[HistoryEvent], k: int,
                  diversity: float, instructions: str = "", explain_prompt: str | None = None,
                  constraint: str | None = None, on_item: Callable[[RecommendedItem], None] | None = None,
                  rec: Recommendation | None = None) -> list[RecommendedItem]:
        """Order (the LLM's entries first, if any, then MMR), the evidence for each item, then
        its texts: checked LLM text, or the evidence template."""
        by_id = {c.item.item_id: c for c in candidates}
        from_llm = {e.item_id: e for e in entries}
        order = list(from_llm) + [i for i in by_id if i not in from_llm]
        final = mmr(order, self.index.embeddings(order) if diversity > 0 else {}, k, diversity)
        evidence, contexts, liked, catalog = self.evidence_for(history, [by_id[i].item for i in final], constraint,
                                                               instructions)
        vocab = self.vocabulary()

        def item(rank: int, ev: Evidence, hook: str, text: str, text_source: str, flags: list[str]) -> RecommendedItem:
            cand = by_id[ev.item_id]
            return RecommendedItem(rank=rank, item_id=ev.item_id, title=cand.item.title, personalized_title=hook,
                                   explanation=text, source="llm" if ev.item_id in from_llm else (
                                       "fallback" if entries or rec is None or rec.fallback_reason else "pipeline"),
                                   explanation_source=text_source, categories=cand.item.categories,
                                   scores=cand.scores, flags=flags, evidence=ev)

        if explain_prompt is not None:
            try:
                stage = ExplainStage(self.backend, self.registry, vocab, explain_prompt,
                                     workers=self.settings.parallel, budget_s=self.settings.explain_budget_s)
                if rec is not None:
                    rec.model, rec.endpoint = self.backend.model, self.backend.endpoint
                    rec.prompt = PromptInfo(ref=explain_prompt, template_sha256=self.registry.sha256(explain_prompt))
                done = self.last_explanations = stage.run(taste_summary([catalog[e.item_id] for e in liked if e.item_id in catalog]), contexts,
                                 on_item=lambda i, x: on_item and on_item(item(i + 1, evidence[i], x.hook,
                                                                               x.explanation, x.source, x.flags)))
            except BackendError as e:  # the server could not even start: every item from its template
                if rec is not None:
                    rec.fallback_reason = f"LLM call failed ({e.kind}): {e}"
                    rec.warnings.append("explanations from templates: " + rec.fallback_reason)
                done = [None] * len(evidence)
            out = []
            for rank, (ev, x) in enumerate(zip(evidence, done), start=1):
                if x is None:
                    hook, text = template_texts(ev, rank - 1)
                    out.append(item(rank, ev, hook, text, "template", []))
                    if on_item:
                        on_item(out[-1])
                    continue
                if rec is not None:
                    rec.usage = rec.usage + x.usage
                    if x.error is not None and rec.fallback_reason is None:
                        rec.fallback_reason = f"LLM call failed ({x.error.kind}): {x.error}"
                        rec.warnings.append("some explanations are from templates: " + rec.fallback_reason)
                out.append(item(rank, ev, x.hook, x.explanation, x.source, x.flags))
            return out

        # a sentence given for several items explains none of them
        own_text = dict(zip(from_llm, drop_shared_sentences([e.explanation for e in from_llm.values()])))
        out = []
        for rank, (ev, ctx) in enumerate(zip(evidence, contexts), start=1):
            hook, text = template_texts(ev, rank - 1)
            entry, flags, source = from_llm.get(ev.item_id), [], "template"
            if entry is not None and (entry.hook or entry.explanation):
                ctx.instructions = instructions
                said = as_data(own_text[ev.item_id], 300)
                problems = check(said, ctx, vocab) if said else ["the same text was given for other items"]
                if problems:
                    flags.append(f"explanation replaced ({problems[0]})")
                else:
                    text, source = said, "llm"
                hook_problems = check(as_data(entry.hook, 80), ctx, vocab, kind="hook")
                if hook_problems:
                    flags.append(f"personalized title replaced ({hook_problems[0]})")
                else:
                    hook = as_data(entry.hook, 80)
            out.append(item(rank, ev, hook, text, source, flags))
            if on_item:
                on_item(out[-1])
        return out

    def _cold_start(self, k: int, t0: float, on_item=None) -> Recommendation:
        pool = self.collaborative().popular(max(5 * k, 50))
        catalog = self.store.get_items(i for i, _ in pool)
        cands = [Candidate(item=catalog[i], scores={"popularity": p}, sources=["popular"])
                 for i, p in pool if i in catalog]
        if not cands:  # no interactions at all: any items
            cands = [Candidate(item=it, sources=["popular"]) for it in self.store.all_items()[: 5 * k]]
        empty = ProfileSummary(n_interactions=0)
        items = self._assemble([], cands, [], k, diversity=0.5, on_item=on_item)
        return Recommendation(user_id=None, items=items, cold_start=True, profile=empty,
                              warnings=["cold start: no history, showing popular and diverse items"],
                              timing=Timing(total_ms=_ms(t0, time.perf_counter()),
                                            retrieval_ms=_ms(t0, time.perf_counter())))


def hash_position(key: str, n: int) -> int:
    """A stable pseudo-random position in range(n), so a demo's answer is not always first."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % n


def prompt_item(item: Item, text_chars: int, n_tags: int, because: str | None = None,
                n_categories: int = 6) -> PromptItem:
    return PromptItem(id=item.item_id, title=as_data(item.title, 120),
                      categories=[as_data(c, 40) for c in item.categories[:n_categories]],
                      tags=[as_data(t, 40) for t in item.tags[:n_tags]],
                      text=as_data(item.text, text_chars) if text_chars else "",
                      because=as_data(because, 120) if because else "")


def prompt_profile(profile: ProfileSummary, n_liked: int) -> PromptProfile:
    """What the prompt may know about the user: titles and categories, never ids or personal fields."""
    def items(refs):
        return [PromptItem(id="", title=as_data(r.title, 120), categories=r.categories[:4]) for r in refs]

    return PromptProfile(liked=items(profile.liked[:n_liked]), disliked=items(profile.disliked[:3]),
                         top_categories=profile.top_categories, avoided_categories=profile.avoided_categories,
                         top_tags=[as_data(t, 40) for t in profile.top_tags], narrative=profile.narrative)


def _check_options(k: int, n_candidates: int, diversity: float, profile_mode: str) -> None:
    if not 1 <= k <= MAX_K:
        raise InputError(f"k={k} is out of range: ask for 1 to {MAX_K} items")
    if not 1 <= n_candidates <= MAX_CANDIDATES:
        raise InputError(f"n_candidates={n_candidates} is out of range: use 1 to {MAX_CANDIDATES}")
    if not 0.0 <= diversity <= 1.0:
        raise InputError(f"diversity={diversity} is out of range: use 0 (off) to 1 (most diverse)")
    if profile_mode not in ("deterministic", "llm"):
        raise InputError(f"profile_mode={profile_mode!r}: use 'deterministic' or 'llm'")


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000, 2)
