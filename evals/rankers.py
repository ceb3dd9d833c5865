"""One ranker per variant kind. A ranker turns one user's case into a result row's ranking
(and, for LLM variants, what the model did); SuiteRun only schedules, caches and saves.

`schedule` says how SuiteRun runs a kind: "serial" (one case after another), "model"
(grouped by model, as many cases at a time as the server has slots, sharing one cached
backend) or "fitted" (weights fitted on the validation split first: evals/fusion_fit.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from evals.pool import profile_vector_of, semantic_scores
from evals.split import Case, user_rng
from evals.suite import Variant

if TYPE_CHECKING:
    from agent.recommender import Recommender
    from evals.runner import SuiteRun


class Ranker:
    kind: ClassVar[str]
    schedule: ClassVar[str] = "serial"

    def __init__(self, run: SuiteRun, v: Variant):
        self.run, self.v = run, v
        self.suite, self.k = run.suite, run.suite.max_k

    def rank(self, case: Case) -> dict:
        if self.suite.protocol.kind == "sampled":
            return {"ranking": self.rank_pool(case, self.run.candidates[case.user]["pool"])[: self.k]}
        return {"ranking": self.rank_catalog(case)[: self.k]}

    def rank_pool(self, case: Case, pool: list[str]) -> list[str]:
        """The sampled protocol: order the suite's 1 + N items."""
        raise NotImplementedError

    def rank_catalog(self, case: Case) -> list[str]:
        """Full ranking: the top k of the catalog, minus what the user has seen."""
        raise NotImplementedError

    def positives(self, case: Case) -> list[str]:
        return case.positives(self.suite.split.positive_rating)

    @staticmethod
    def seen(case: Case) -> set[str]:
        """What the ranking may not show: the training history (not `case.seen`, which is
        everything the user ever rated)."""
        return {e.item_id for e in case.history}

    @staticmethod
    def row_defaults(row: dict, run: SuiteRun, v: Variant, user: str) -> None:
        """Fields every row of this kind has, also when its case failed."""


def _by_key(pool: list[str], key: dict[str, tuple]) -> list[str]:
    return sorted(pool, key=lambda i: tuple(-x for x in key[i]))


class RandomRanker(Ranker):
    kind = "random"

    def rank_pool(self, case, pool):
        return [pool[i] for i in user_rng(self.suite.users.seed, case.user, "random").permutation(len(pool))]

    def rank_catalog(self, case):
        seen = self.seen(case)
        unseen = [i for i in self.run.catalog_ids if i not in seen]
        pick = user_rng(self.suite.users.seed, case.user, "random").choice(len(unseen), min(self.k, len(unseen)),
                                                                          replace=False)
        return [unseen[i] for i in pick]


class PopularityRanker(Ranker):
    kind = "popularity"

    def rank_pool(self, case, pool):
        return _by_key(pool, {i: (p,) for i, p in zip(pool, self.run.collab.popularity_of(pool))})

    def rank_catalog(self, case):
        return [i for i, _ in self.run.collab.popular(self.k, exclude=self.seen(case))]


class ItemKNNRanker(Ranker):
    kind = "itemknn"

    def rank_pool(self, case, pool):
        collab = self.run.collab
        scores = zip(pool, collab.scores(self.positives(case), pool), collab.popularity_of(pool))
        return _by_key(pool, {i: (knn, pop) for i, knn, pop in scores})

    def rank_catalog(self, case):
        collab, seen = self.run.collab, self.seen(case)
        ranking = [i for i, _, _ in collab.similar(self.positives(case), self.k, exclude=seen)]
        return ranking + [i for i, _ in collab.popular(self.k, exclude=seen | set(ranking))][: self.k - len(ranking)]


class SemanticRanker(Ranker):
    kind = "semantic"

    def rank_pool(self, case, pool):
        return _by_key(pool, {i: (s,) for i, s in zip(pool, semantic_scores(self.run.rec, self.positives(case), pool))})

    def rank_catalog(self, case):
        vec = profile_vector_of(self.run.rec, self.positives(case))
        if vec is None:
            return []
        seen = self.seen(case)
        hits = self.run.rec.index.search_vectors(vec[None, :], self.k + len(seen))[0]
        return [i for i, _ in hits if i not in seen]


class ClassicRanker(Ranker):
    """A classic collaborative model (agent/retrieval/classic.py) fitted on the training rows,
    its hyper-parameters chosen on the validation split (evals/classic.py). Ties and items it
    cannot score fall back to popularity."""
    kinds: ClassVar[tuple[str, ...]] = ("ease", "als", "bpr", "bm25", "sequential")

    def __init__(self, run: SuiteRun, v: Variant):
        from agent.retrieval.classic import PositiveMatrix
        from evals.classic import build, fitted_params

        super().__init__(run, v)
        self.params = fitted_params(run, v.kind)
        self.model = build(v.kind, PositiveMatrix(run.split.train, self.suite.split.positive_rating), self.params,
                           run.settings.threads)

    def rank_pool(self, case, pool):
        scores = zip(pool, self.model.scores(self.positives(case), pool), self.run.collab.popularity_of(pool))
        return _by_key(pool, {i: (s, pop) for i, s, pop in scores})

    def rank_catalog(self, case):
        seen = self.seen(case)
        ranking = [i for i, _ in self.model.top(self.positives(case), self.k, exclude=seen)]
        return ranking + [i for i, _ in self.run.collab.popular(self.k, exclude=seen | set(ranking))][: self.k - len(ranking)]


class PipelineRanker(Ranker):
    """The product's steps after retrieval over the run's candidates (no LLM)."""
    kind = "pipeline"
    use_llm: ClassVar[bool] = False

    def __init__(self, run: SuiteRun, v: Variant, rec: Recommender | None = None):
        super().__init__(run, v)
        self.rec = rec or run.rec

    def rank(self, case: Case) -> dict:
        cands = self.run.candidate_objects(case.user)
        if self.v.candidate_order == "shuffled":
            cands = [cands[i] for i in user_rng(self.suite.users.seed, case.user, "order").permutation(len(cands))]
        r = self.rec.rerank(case.history, self.rec.profile_of(case.history), cands, k=self.k, prompt=self.v.prompt,
                            diversity=self.v.diversity, use_llm=self.use_llm,
                            sampling={"temperature": self.v.temperature, "seed": self.v.seed})
        out = {"ranking": [i.item_id for i in r.items], "sources": [i.source for i in r.items]}
        return out | (self.llm_fields(r) if self.use_llm else {})

    def llm_fields(self, r) -> dict:
        calls = r.llm_calls
        first = calls[0] if calls else None
        return dict(
            prompt=r.prompt.ref if r.prompt else self.v.prompt,
            template_sha256=r.prompt.template_sha256 if r.prompt else None, model=r.model,
            raw=[c.raw for c in calls], fallback_reason=r.fallback_reason,
            tokens={"prompt": r.usage.prompt_tokens, "completion": r.usage.completion_tokens},
            latency_ms=round(sum(c.latency_ms for c in calls), 2), cached=all(c.cached for c in calls) if calls else False,
            llm={"calls": len(calls), "parse_error": first.parse_error if first else None,
                 "returned": first.returned if first else 0,
                 "out_of_candidate": len(first.out_of_candidate) if first else 0,
                 "duplicates": len(first.duplicates) if first else 0, "seen": len(first.seen) if first else 0,
                 "fallback": r.fallback_reason is not None})


class LLMRanker(PipelineRanker):
    """The pipeline with the variant's prompt and model (a recommender over the run's cached backend)."""
    kind = "llm"
    schedule = "model"
    use_llm = True

    @staticmethod
    def row_defaults(row, run, v, user):
        row.setdefault("prompt", v.prompt)
        row.setdefault("model", v.model)
        row.setdefault("llm", {"calls": 0, "parse_error": None, "returned": 0, "out_of_candidate": 0,
                               "duplicates": 0, "seen": 0, "fallback": True})
        row.setdefault("tokens", {"prompt": 0, "completion": 0})
        row.setdefault("latency_ms", 0.0)
        row["candidates"] = [c["id"] for c in run.candidates[user]["candidates"]]


class FittedRanker(Ranker):
    """Score fusion with weights fitted on the validation split: run by evals/fusion_fit.py."""
    kind = "fusion"
    schedule = "fitted"


class LambdaMARTRanker(Ranker):
    """LambdaMART fitted on the validation split: run by evals/ltr.py."""
    kind = "ltr"
    schedule = "fitted"


RANKERS: dict[str, type[Ranker]] = {cls.kind: cls for cls in (
    RandomRanker, PopularityRanker, ItemKNNRanker, SemanticRanker, PipelineRanker, LLMRanker, FittedRanker, LambdaMARTRanker)}
RANKERS.update({kind: ClassicRanker for kind in ClassicRanker.kinds})
