"""The fusion variant of an eval run: collaborative, semantic, popularity and (optionally) LLM
logprob scores in one linear score, its weights fitted on a validation split.

The validation split is carved from the training period only: the evaluated split's
training rows are split again by the same leave-last-positive-out rule, and the weights are
fitted on those earlier held-out items with a collaborative index built from the rows before
them. The evaluated users' held-out items are never seen by the fit.

Per user: a pool (sampled protocol: the suite's 1 + N items; retrieved: the union of the top
`pool` items of each source, minus what the user has seen) is ordered by the no-LLM fusion;
with LLM scoring, the first `llm_top` of it are scored by the model and reordered by the
fusion that includes the LLM signal."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from agent.pipeline.learned import mean_ndcg_by, ndcg_of_rank
from agent.pipeline.order import FEATURES, RECENT_LIKES, FusionWeights, fused_order, fused_scores, raw_features, standardise
from agent.retrieval.classic import ClassicSignals, PositiveMatrix
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.types import Candidate
from evals.llm_scoring import score_candidates
from evals.pool import profile_vector_of, semantic_scores
from evals.split import Case, sample_users, user_rng, validation_split

NO_LLM = [f for f in FEATURES if f != "llm"]
GRID = (0.0, 0.1, 0.25, 0.5, 1.0)  # candidate values of each weight; only directions matter


class FittedWeights(BaseModel):
    """Weights and the evidence behind them."""
    weights: FusionWeights
    validation_ndcg: float = Field(description="mean NDCG@k of the fitted weights on the validation lists")
    collaborative_only_ndcg: float = Field(description="the same lists ranked by the collaborative signal alone")
    lists: int
    k: int
    features: list[str]


def fit_weights(lists: Sequence[tuple[np.ndarray, int | None]], k: int = 10,
                features: Sequence[str] = FEATURES, grid: Sequence[float] = GRID) -> FittedWeights:
    """Grid search over the weights of `features` (the others stay 0) for the best mean
    NDCG@k over `lists`: (raw feature matrix, index of the held-out item or None when the
    list misses it). Ties in a fused score count at their expected rank."""
    unknown = set(features) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown fusion features {sorted(unknown)}; known: {', '.join(FEATURES)}")
    if not lists:
        raise ValueError("no validation lists to fit the fusion weights on")
    cols = [FEATURES.index(f) for f in features]
    combos = np.array([c for c in itertools.product(grid, repeat=len(cols)) if any(c)], dtype=float)
    weights = np.zeros((len(combos), len(FEATURES)))
    weights[:, cols] = combos
    total = np.zeros(len(combos))
    for x, target in lists:
        if target is None or len(x) == 0:
            continue  # scores 0 whatever the weights
        s = standardise(x) @ weights.T  # items × combos
        t = s[target]
        above = (s > t).sum(axis=0)
        ties = (s == t).sum(axis=0) - 1
        total += ndcg_of_rank(above + ties / 2.0, k)
    best = int(np.argmax(total))  # the first (sparsest in grid order) of equal bests
    chosen = FusionWeights(**dict(zip(FEATURES, weights[best].round(4).tolist())))
    collab_only = FusionWeights(collaborative=1.0)
    return FittedWeights(weights=chosen, validation_ndcg=round(total[best] / len(lists), 6),
                         collaborative_only_ndcg=round(mean_ndcg(lists, collab_only, k), 6),
                         lists=len(lists), k=k, features=list(features))


def mean_ndcg(lists: Sequence[tuple[np.ndarray, int | None]], weights: FusionWeights, k: int) -> float:
    return mean_ndcg_by(lists, lambda x: fused_scores(x, weights), k)


@dataclass
class World:
    """What a ranking may know: the collaborative models of the rows before the held-out items."""
    collab: CooccurrenceIndex
    cases: dict[str, Case]
    classic: ClassicSignals


def world_of(split, positive_rating: float) -> World:
    """The collaborative models of `split`'s training rows, and its cases."""
    data = PositiveMatrix(split.train, positive_rating)  # parsed once for both models
    return World(CooccurrenceIndex(data), split.cases, ClassicSignals(data))


class FusionRanker:
    def __init__(self, run, variant, llm_rec=None):
        """`run` is a prepared SuiteRun; `llm_rec` a Recommender with the variant's backend
        (None for a variant without LLM scoring)."""
        self.run, self.v, self.llm_rec = run, variant, llm_rec
        self.suite = run.suite
        self.k = self.suite.max_k
        self.uses_llm = variant.llm_scoring != "none"
        self._seen_ever: dict[str, set[str]] | None = None
        self.eval_world = World(run.collab, run.split.cases, run.classic)
        self.llm_stats: dict[str, dict] = {}

    # -- per-user lists ---------------------------------------------------------------------------
    def positives(self, case: Case) -> list[str]:
        return case.positives(self.suite.split.positive_rating)

    def seen_ever(self, user: str) -> set[str]:
        """Every item the user interacted with, in the whole data set (never a negative)."""
        if self._seen_ever is None:
            seen = defaultdict(set)
            for r in self.run.data.interactions:
                seen[r.user_id].add(r.item_id)
            self._seen_ever = seen
        return self._seen_ever[user]

    def pool(self, world: World, case: Case, validation: bool) -> list[str]:
        s = self.suite
        if s.protocol.kind == "sampled":
            if not validation:
                return list(self.run.candidates[case.user]["pool"])
            unseen = [i for i in self.run.catalog_ids if i not in self.seen_ever(case.user)]
            rng = user_rng(s.users.seed, case.user, "validation-negatives")
            n = min(s.protocol.negatives, len(unseen))
            return [unseen[i] for i in rng.choice(len(unseen), n, replace=False)] + [case.target]
        tops = source_tops(self.run.rec, world, case, self.positives(case), self.v.pool)
        return list(dict.fromkeys(tops["collaborative"] + tops["ease"] + tops["semantic"] + tops["popularity"]))

    def features(self, world: World, case: Case, ids: list[str], llm: dict[str, float] | None = None) -> np.ndarray:
        positives = self.positives(case)
        llm_column = None
        if llm is not None:  # an item the model did not score gets the list's lowest LLM score
            floor = min(llm.values()) if llm else 0.0
            llm_column = [llm.get(i, floor) for i in ids]
        knn, recent = world.collab.scores_with_recent(positives, RECENT_LIKES, ids)
        return raw_features(knn, semantic_scores(self.run.rec, positives, ids), world.collab.popularity_of(ids),
                            llm_column, recent=recent, classic=world.classic.scores(positives, ids))

    def llm_scores(self, case: Case, ids: list[str]):
        rec = self.llm_rec
        items = self.run.data.store.get_items(ids)
        cands = [Candidate(item=items[i]) for i in ids if i in items]
        profile = rec.profile_of(case.history)
        return score_candidates(rec, case.history, profile, cands, mode=self.v.llm_scoring, prompt=self.v.prompt,
                                orders=self.v.orders, seed=self.v.seed or 0)

    # -- fitting ----------------------------------------------------------------------------------
    def validation_world(self) -> World:
        s = self.suite
        return world_of(validation_split(self.run.split, s.split.positive_rating, s.split.min_history),
                        s.split.positive_rating)

    def fit(self, progress=None) -> tuple[FittedWeights, FittedWeights | None]:
        """Stage 1 (no LLM) weights, and stage 2 (with LLM, over each list's head) weights."""
        cached = self._load_fit()
        if cached is not None:
            return cached
        world = self.validation_world()
        users = sample_users(list(world.cases), self.v.validation_users, self.suite.users.seed + 1)
        lists1, heads = [], []
        for user in users:
            case = world.cases[user]
            ids = self.pool(world, case, validation=True)
            lists1.append((self.features(world, case, ids), _index(ids, case.target)))
            heads.append((case, ids))
        stage1 = fit_weights(lists1, k=self.k, features=NO_LLM)
        stage2 = None
        if self.uses_llm:
            lists2 = []
            for case, ids in heads:
                head = fused_order(ids, self.features(world, case, ids), stage1.weights)[: self.v.llm_top]
                if case.target in head:  # a list missing its held-out item scores 0 under any weights:
                    scored = self.llm_scores(case, head)  # the model is not asked about it
                    lists2.append((self.features(world, case, head, scored.scores), _index(head, case.target)))
                else:
                    lists2.append((self.features(world, case, head), None))
                if progress:
                    progress()
            stage2 = fit_weights(lists2, k=self.k, features=FEATURES)
        self._save_fit(stage1, stage2, len(users))
        return stage1, stage2

    def _fit_path(self):
        key = {"variant": self.v.model_dump(mode="json", exclude={"name", "weights"}),
               "data": self.suite.data_fingerprint(), "k": self.k, "features": FEATURES}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        return self.run.out / "fusion-fits" / f"{self.v.name}-{digest}.json"

    def _load_fit(self):
        if self.v.weights is not None:
            given = FusionWeights(**self.v.weights)
            fixed = FittedWeights(weights=given, validation_ndcg=float("nan"), collaborative_only_ndcg=float("nan"),
                                  lists=0, k=self.k, features=list(FEATURES))
            return fixed, (fixed if self.uses_llm else None)
        path = self._fit_path()
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return (FittedWeights(**data["stage1"]),
                FittedWeights(**data["stage2"]) if data.get("stage2") else None)

    def _save_fit(self, stage1, stage2, n_users: int) -> None:
        path = self._fit_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"variant": self.v.name, "validation_users": n_users,
                                    "stage1": stage1.model_dump(),
                                    "stage2": stage2.model_dump() if stage2 else None}, indent=2) + "\n")

    # -- ranking ----------------------------------------------------------------------------------
    def rank(self, case: Case, stage1: FittedWeights, stage2: FittedWeights | None) -> dict:
        world = self.eval_world
        ids = self.pool(world, case, validation=False)
        order = fused_order(ids, self.features(world, case, ids), stage1.weights)
        out = {"pool_size": len(ids), "target_in_pool": case.target in ids,
               "weights": {"no_llm": stage1.weights.model_dump()}}
        if stage2 is not None:
            head = order[: self.v.llm_top]
            scored = self.llm_scores(case, head)
            if scored.error is None:
                head = fused_order(head, self.features(world, case, head, scored.scores), stage2.weights)
                order = head + order[self.v.llm_top:]
            out["weights"]["with_llm"] = stage2.weights.model_dump()
            out.update(
                prompt=scored.prompt, model=self.llm_rec.backend.model, fallback_reason=scored.error,
                tokens={"prompt": scored.usage.prompt_tokens, "completion": scored.usage.completion_tokens},
                latency_ms=round(scored.latency_ms, 2), cached=scored.cached,
                llm={"calls": scored.calls, "parse_error": None, "returned": len(scored.scores),
                     "out_of_candidate": 0, "duplicates": 0, "seen": 0, "fallback": scored.error is not None})
        scored_ids = set(head) if stage2 is not None and out.get("fallback_reason") is None else set()
        out["ranking"] = order[: self.k]
        out["sources"] = ["llm" if i in scored_ids else "fusion" for i in out["ranking"]]  # llm: the model scored it
        return out


def _index(ids: list[str], target: str) -> int | None:
    try:
        return ids.index(target)
    except ValueError:
        return None


def source_tops(rec, world: World, case: Case, positives: list[str], n: int) -> dict[str, list[str]]:
    """Each candidate source's top n unseen items for a user: co-occurrence with their likes,
    EASE, embedding similarity to their profile, popularity."""
    seen = {e.item_id for e in case.history}
    tops = {"collaborative": [i for i, _, _ in world.collab.similar(positives, n, exclude=seen)],
            "ease": [i for i, _ in world.classic.top(positives, n, exclude=seen)], "semantic": [],
            "popularity": [i for i, _ in world.collab.popular(n, exclude=seen)]}
    vec = profile_vector_of(rec, positives)
    if vec is not None:
        hits = rec.index.search_vectors(vec[None, :], n + min(len(seen), 150))[0]
        tops["semantic"] = [i for i, _ in hits if i not in seen][:n]
    return tops


def candidate_recall(run, n: int, depths: Sequence[int] = ()) -> dict[str, float] | dict[int, dict[str, float]]:
    """Retrieved protocol: the share of evaluated users whose held-out item is among the top
    `n` of each candidate source on its own, of their union, and of the pipeline's candidates.
    With `depths`, the same for each depth (the pipeline's at `n` only), keyed by depth."""
    wanted = sorted({n, *depths})
    hits = {d: dict.fromkeys(("collaborative", "ease", "semantic", "popularity", "union"), 0) for d in wanted}
    pipeline = 0
    world = World(run.collab, run.split.cases, run.classic)
    for user in run.users:
        case = run.split.cases[user]
        tops = source_tops(run.rec, world, case, case.positives(run.suite.split.positive_rating), wanted[-1])
        for d in wanted:  # a source's top d is the head of its top max(depths)
            for source, items in tops.items():
                hits[d][source] += case.target in items[:d]
            hits[d]["union"] += any(case.target in items[:d] for items in tops.values())
        pipeline += run.candidates[user]["target_in_candidates"]
    users = max(1, len(run.users))
    shares = {d: {name: round(h / users, 4) for name, h in counts.items()} for d, counts in hits.items()}
    shares[n]["pipeline"] = round(pipeline / users, 4)
    return shares if depths else shares[n]
