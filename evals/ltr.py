"""The `ltr` variant of an eval run: LambdaMART (agent/pipeline/learned.py) over the fusion's
signals and content matches, fitted on the same validation split as the fusion's weights.

Each validation user gives a list per step back in time (the suite's pool for their last
positive item before the evaluated one, labelled 1 for that item and 0 for the rest, with the
models fitted on the rows before it; then the same one positive earlier). Hyper-parameters and
the number of trees are chosen by 5-fold cross-validation over the people (early stopping on
each held-out fold's NDCG@k), then the ranker is refitted on every list and saved in the run
folder (ltr-fits/)."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from agent.errors import InputError
from agent.pipeline.learned import (GRID, LEARNED_FEATURES, MAX_TREES, LearnedRanker, Taste, fit_lambdamart,
                                    learned_features)
from evals.fusion_fit import FusionRanker, World, _index, world_of
from evals.split import Case, sample_users, user_rng, validation_split

STEPS_BACK = 2  # lists per person: one held-out positive, then the one before it


class LTRRanker(FusionRanker):
    """Fits and applies the learned ranker; the pool and the fusion's signals are the fusion's."""

    def ltr_features(self, world: World, case: Case, ids: list[str], llm: dict[str, float] | None = None) -> np.ndarray:
        store = self.run.data.store
        positives = self.positives(case)
        liked = store.get_items(positives)
        items = store.get_items(ids)
        taste = Taste.of([liked[i] for i in positives if i in liked], len(case.history))
        return learned_features(self.features(world, case, ids, llm), [items.get(i) for i in ids], taste)

    def scored(self, case: Case, ids: list[str], shuffle: bool = False):
        """With `llm_scoring`: the model's scores of the whole list (the sampled protocol's pool
        fits its letters), else None. A failed call leaves the column empty. `shuffle`: shown in a
        seeded random order (a validation pool ends with its held-out item: in that order a model's
        liking for a letter would teach the ranker where the item is)."""
        if not self.uses_llm:
            return None
        if len(ids) > self.v.llm_top:
            raise InputError(f"variant {self.v.name}: an ltr variant with llm_scoring scores the whole pool, at most "
                             f"llm_top ({self.v.llm_top}) items: use it on a sampled suite")
        if shuffle:
            ids = [ids[i] for i in user_rng(self.suite.users.seed, case.user, f"ltr-llm-order-{case.target}")
                   .permutation(len(ids))]
        return self.llm_scores(case, ids)

    def _fit_path(self):
        key = {"variant": self.v.model_dump(mode="json", exclude={"name"}), "data": self.suite.data_fingerprint(),
               "k": self.k, "features": LEARNED_FEATURES, "grid": GRID, "trees": MAX_TREES, "cv": 5, "steps": STEPS_BACK, "llm_order": "shuffled"}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        return self.run.out / "ltr-fits" / f"{self.v.name}-{digest}.txt"

    def fit(self, progress=None) -> tuple[LearnedRanker, None]:
        path = self._fit_path()
        if path.exists():
            return LearnedRanker.load(path), None
        if self.v.training == "workspace":
            ranker = self._fit_as_the_product()
            ranker.save(path)
            return ranker, None
        lists, owners = [], []
        split, rating, min_history = self.run.split, self.suite.split.positive_rating, self.suite.split.min_history
        for _ in range(STEPS_BACK):  # each step: the held-out positive before the last step's
            split = validation_split(split, rating, min_history)
            world = world_of(split, rating)
            users = sample_users(list(world.cases), self.v.validation_users, self.suite.users.seed + 1)
            for user in users:
                case = world.cases[user]
                ids = self.pool(world, case, validation=True)
                target = _index(ids, case.target)
                if target is not None and len(ids) > 1:  # a list without its held-out item teaches nothing
                    scored = self.scored(case, ids, shuffle=True)
                    llm = None if scored is None else scored.scores
                    lists.append((self.ltr_features(world, case, ids, llm), target))
                    owners.append(user)
                if progress:
                    progress()
        if len(lists) < 20:
            raise InputError(f"variant {self.v.name}: only {len(lists)} validation lists hold their held-out item, "
                             "too few to fit a ranker (raise validation_users or pool)")
        ranker = fit_lambdamart(lists, self.k, seed=self.suite.users.seed, grid=GRID, max_trees=MAX_TREES, owners=owners)
        ranker.meta.update(variant=self.v.name, validation_users=len(set(owners)), steps_back=STEPS_BACK)
        ranker.save(path)
        return ranker, None

    def _fit_as_the_product(self) -> LearnedRanker:
        """The ranker `candidate_order: ltr` fits with the item models, over the training rows."""
        from agent.options import RecommendOptions
        from agent.pipeline.learned_fit import fit_workspace_ranker
        from agent.pipeline.order import FusionWeights
        from agent.retrieval.fitted import FittedModels

        rating, data = self.suite.split.positive_rating, self.run.data
        ranker = fit_workspace_ranker(lambda: iter(self.run.split.train), rating, data.store, data.index,
                                      lambda rows: FittedModels.fit(rows, rating, counted=0),
                                      n=RecommendOptions().n_candidates, k=self.k, seed=self.suite.users.seed,
                                      grid=GRID, max_trees=MAX_TREES,
                                      fusion=FusionWeights(**self.run.settings.fusion_weights))
        if ranker is None:
            raise InputError(f"variant {self.v.name}: too few replayed requests retrieved their held-out item to fit "
                             "a ranker (the fit's log says how many)")
        ranker.meta.update(variant=self.v.name)
        return ranker

    def rank(self, case: Case, ranker: LearnedRanker, _unused=None) -> dict:
        world = self.eval_world
        ids = self.pool(world, case, validation=False)
        scored = self.scored(case, ids)
        order = ranker.order(ids, self.ltr_features(world, case, ids, None if scored is None else scored.scores))
        ranking = order[: self.k]
        out = {"pool_size": len(ids), "target_in_pool": case.target in ids, "ranking": ranking,
               "sources": ["ltr"] * len(ranking), "weights": {"ltr": ranker.meta.get("params", {})}}
        if scored is not None:  # the LLM is one of the ranker's inputs: its health as for a fusion variant
            out.update(prompt=scored.prompt, model=self.llm_rec.backend.model, fallback_reason=scored.error,
                       tokens={"prompt": scored.usage.prompt_tokens, "completion": scored.usage.completion_tokens},
                       latency_ms=round(scored.latency_ms, 2), cached=scored.cached,
                       llm={"calls": scored.calls, "parse_error": None, "returned": len(scored.scores),
                            "out_of_candidate": 0, "duplicates": 0, "seen": 0, "fallback": scored.error is not None})
        return out
