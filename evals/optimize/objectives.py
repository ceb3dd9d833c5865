"""What a candidate prompt is scored on, per user. An objective gives each (prompt, user) a
`Scored`: the value the search maximises, the measures it came from (constraints read them) and
what went wrong (the proposer is shown the worst cases). `SCORING.user` names the user whose
list is being scored (scoring is serial; the explanation stage's worker threads see it too):
fakes in tests read it, since nothing in a prompt names a user."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evals.optimize.space import Objective as ObjectiveSpec
from prompts.registry import PromptRegistry



class _Scoring:
    user: str | None = None


SCORING = _Scoring()
RATED = re.compile(r"\d(?:\.\d)?/5")  # a demo states no one's rating

EXPLAIN_MEASURES = {
    "llm_share": "share of the list's notes written by the model and passed by the checker",
    "own_share": "share of notes written by the model in its own words (not a fact copied)",
    "first_pass": "share of first answers the checker passed",
    "facts": "facts stated per note",
    "facts_over_template": "facts per note minus the evidence template's for the same items",
    "unique_facts": "facts per note that no other note of the list states",
    "specific": "share of notes that name concrete evidence",
    "distinct_2": "unique word pairs over all word pairs of the list",
    "max_same_tail": "most notes of one list ending in the same words (lower is better)",
    "false_claims_delivered": "delivered notes today's checker rejects (lower is better)",
    "list_s": "seconds per explained list",
}


@dataclass
class Scored:
    value: float
    measures: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def combined(weights: dict[str, float], measures: dict[str, float]) -> float:
    """The weighted sum of the measures; a measure a list could not have (no answer to check) is 0."""
    missing = set(weights) - set(measures)
    if missing:
        raise KeyError(f"unknown measure(s) {sorted(missing)}; known: {', '.join(sorted(measures))}")
    return float(sum(w * (0.0 if math.isnan(measures[m]) else measures[m]) for m, w in weights.items()))


class ExplainObjective:
    """The explanation eval's measures of one user's list (evals/explain.py `list_row`) with the
    candidate as the explanation prompt, over the workspace's stored users."""
    kind = "explain"

    def __init__(self, spec: ObjectiveSpec, settings, registry: PromptRegistry, fake=None, **parts):
        """`parts`: the Recommender's own store or index (tests pass theirs)."""
        from agent.backends.cache import cached_connect
        from agent.recommender import Recommender

        self.spec = spec
        settings = settings.model_copy(update={"base_url": spec.base_url or settings.base_url,
                                               "model": spec.model or settings.model})
        self.backend = cached_connect(settings, fake)
        self.rec = Recommender(settings, backend=self.backend, registry=registry, **parts)

    def users(self) -> list[str]:
        return sorted({r[0] for r in self.rec.store.all_interactions()})

    def goal(self) -> str:
        return "; ".join(f"{w:g} x {m} ({EXPLAIN_MEASURES.get(m, m)})" for m, w in self.spec.weights().items())

    def score(self, ref: str, user: str) -> Scored:
        from evals.explain import list_row

        SCORING.user = user
        hits = getattr(self.backend, "hits", 0)
        try:
            row = list_row(self.rec, user, ref, self.spec.k)
        finally:
            SCORING.user = None
        measures = {m: float(row[m]) for m in EXPLAIN_MEASURES if m in row}
        if getattr(self.backend, "hits", 0) > hits:  # answers from the cache: the list's time was not measured
            measures.update({m: math.nan for m in ("list_s", "first_item_s") if m in measures})
        measures["facts_over_template"] = row["facts"] - row["template_facts"]
        titles = {d[0]: self.rec.item(d[0]).title for d in row["delivered"]}
        failures = [f"{titles.get(item, item)}: the answer {text!r} was rejected ({', '.join(kinds)})"
                    for item, text, kinds in row["rejected"]]
        failures += [f"{titles[item]}: the note fell back to the template (the model's answers failed)"
                     for item, _, source in row["delivered"] if source != "llm" and not any(
                         r[0] == item for r in row["rejected"])]
        return Scored(combined(self.spec.weights(), measures), measures, failures)

    def demos(self, ref: str, users: list[str], n: int, offset: int = 0) -> list[str]:
        """Model-written notes the checker passed for training users' lists, the ones stating the
        most facts first, without anyone's rating; `offset` gives another set."""
        from evals.explain import facts_stated

        found = []
        vocab = self.rec.vocabulary()
        for user in users:
            traced = self.rec.traced(user, k=self.spec.k, prompt=ref)
            items = traced.result.items
            contexts = self.rec.evidence_for(self.rec.history(user), [self.rec.item(i.item_id) for i in items]).contexts
            for item, ctx in zip(items, contexts):
                if item.explanation_source == "llm" and not RATED.search(item.explanation):
                    found.append((-len(facts_stated(item.explanation, ctx.evidence, vocab)), item.title, item.explanation))
        found.sort()
        chosen = found[offset * n:(offset + 1) * n]
        return [f'- {title}: "{text}"' for _, title, text in chosen]

    def close(self) -> None:
        self.backend.close()


class RankingObjective:
    """NDCG@k of the candidate as a label-scoring prompt alone (candidate-letter logprobs, the
    fusion's LLM signal) on a suite's sampled protocol: the held-out item among N negatives."""
    kind = "ranking"

    def __init__(self, spec: ObjectiveSpec, settings, registry: PromptRegistry, out: Path, n_users: int, fake=None):
        from evals.fusion_fit import FusionRanker
        from evals.runner import SuiteRun
        from evals.suite import Variant, load_suite

        self.spec = spec
        suite = load_suite(spec.suite)
        if suite.protocol.kind != "sampled":
            raise ValueError(f"{spec.suite}: a ranking objective needs a sampled-protocol suite")
        suite.users.n = max(suite.users.n, n_users)
        suite.variants = [v for v in suite.variants if v.name == suite.baseline]
        self.run = SuiteRun(suite, out, settings=settings, backend_factory=(lambda v: fake) if fake else None)
        self.run.prepare()
        self.variant = Variant(name="optimize", kind="fusion", llm_scoring="labels", weights={"llm": 1.0},
                               model=spec.model, base_url=spec.base_url)
        rec, self.backend = self.run.llm_recommender(self.variant, registry=registry)
        self.ranker = FusionRanker(self.run, self.variant, rec)
        self.k = spec.k

    def users(self) -> list[str]:
        return list(self.run.users)

    def goal(self) -> str:
        return (f"NDCG@{self.k} of the held-out item among {self.run.suite.protocol.negatives + 1} candidates, "
                "ordered by the probability of each candidate's letter")

    def score(self, ref: str, user: str) -> Scored:
        from evals.metrics import ranking_metrics
        from evals.split import user_rng

        case = self.run.split.cases[user]
        pool = list(self.run.candidates[user]["pool"])
        self.ranker.v = self.variant.model_copy(update={"prompt": ref})
        SCORING.user = user
        try:
            scores = self.ranker.llm_scores(case, pool)
        finally:
            SCORING.user = None
        if scores.error:
            raise RuntimeError(scores.error)
        tiebreak = user_rng(0, user, "optimize-ties").permutation(len(pool))  # the held-out item is last in the pool
        order = sorted(range(len(pool)), key=lambda i: (-scores.scores.get(pool[i], -np.inf), tiebreak[i]))
        ranking = [pool[i] for i in order]
        metrics = ranking_metrics(ranking, {case.target}, [self.k])
        items = self.run.data.store.get_items([case.target, ranking[0]])
        rank = ranking.index(case.target) + 1
        failures = [] if rank == 1 else [
            f"the item the person chose next, {items[case.target].title}, was ranked {rank} of {len(pool)}; "
            f"the top pick was {items[ranking[0]].title}"]
        measures = {f"ndcg@{self.k}": metrics[f"ndcg@{self.k}"], "rank": float(rank)}
        return Scored(combined(self.spec.weights(), measures), measures, failures)

    def demos(self, ref: str, users: list[str], n: int, offset: int = 0) -> list[str]:
        return []  # the scoring prompt's own demos are the person's earlier choices (pick-demos)

    def close(self) -> None:
        self.backend.close()


class ChatObjective:
    """The conversation simulator's Hit@k (evals/chat.py): a simulated person describes their
    held-out item turn by turn, and the candidate is the chat's ranking prompt."""
    kind = "chat"

    def __init__(self, spec: ObjectiveSpec, settings, registry: PromptRegistry, out: Path, n_users: int, fake=None):
        from agent.backends.cache import cached_connect
        from agent.recommender import Recommender
        from agent.session import SessionStore
        from evals.chat import ChatEvalRun, load_chat_suite

        self.spec = spec
        suite = load_chat_suite(spec.suite)
        suite.users.n = max(suite.users.n, n_users)
        self.run = ChatEvalRun(suite, out, settings)
        self.run.prepare()
        settings = settings.model_copy(update={"base_url": spec.base_url or settings.base_url,
                                               "model": spec.model or settings.model,
                                               "fit_dir": Path(out) / "fitted"})  # its own training rows' fit
        self.backend = cached_connect(settings, fake)
        self.rec = Recommender(settings, backend=self.backend, store=self.run.store, index=self.run.data.index,
                               registry=registry, like_threshold=suite.split.positive_rating)
        self.sessions = SessionStore(Path(out) / "sessions.sqlite")

    def users(self) -> list[str]:
        return list(self.run.users)

    def goal(self) -> str:
        s = self.run.suite
        return f"whether the item a person describes turn by turn is among the {s.k} shown within {s.max_turns} turns"

    def score(self, ref: str, user: str) -> Scored:
        from agent.conversation import ChatSessions
        from evals.chat import ChatVariant

        agent = ChatSessions(self.rec, sessions=self.sessions, use_llm=True, k=self.run.suite.k, prompt=ref)
        SCORING.user = user
        try:
            row = self.run.converse(agent, ChatVariant(name="optimize", prompt=ref), user)
        finally:
            SCORING.user = None
        turns = row["turns_to_success"] or self.run.suite.max_turns + 1
        measures = {f"hit@{self.run.suite.k}": float(row["hit"]), "turns": float(turns)}
        target = self.run.store.get_item(row["target"]).title
        failures = [] if row["hit"] else [
            "the person asked " + "; ".join(repr(t["message"]) for t in row["turns"]) +
            f", looking for {target}; it was never shown"]
        return Scored(combined(self.spec.weights(), measures), measures, failures)

    def demos(self, ref: str, users: list[str], n: int, offset: int = 0) -> list[str]:
        return []

    def close(self) -> None:
        self.backend.close()
        self.sessions.close()
