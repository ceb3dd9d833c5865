"""A pairwise LLM judge of explanations, on a stored `recagent eval explain` run: RecLM-eval's
informativeness, persuasiveness and helpfulness, each pair asked in both orders and counted
only when both orders agree (otherwise a tie: the judge followed the position, not the text).

Three kinds of pairs, all for one item of one person's list:
- `model_vs_template`: a delivered model-written text against the item's evidence template
  (does the model beat the template it replaces?);
- `passed_vs_rejected`: the delivered text against the model's first answer that the claim
  checker rejected. The share won by the passed text is the judge's agreement with the checker:
  a judge that prefers rejected (false) texts is not to be trusted on the other pairs;
- `variant_vs_baseline`: two prompt variants' delivered texts, when they differ.

    recagent eval judge runs/explain-10 --pairs 20 [--base-url URL --model NAME]
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

from agent.backends.base import ChatRequest
from agent.errors import BackendError, InputError
from agent.pipeline.explain import template_texts
from agent.recommender import Recommender
from prompts.inputs import JUDGE_CRITERIA, JudgeExplainInputs, as_data

PROMPT = "explain-judge@v1"
VERDICT_SCHEMA = {"type": "object", "properties": {"better": {"type": "string", "enum": ["A", "B"]}},
                  "required": ["better"], "additionalProperties": False}
LIKED_SHOWN = 10  # the viewer's liked titles the judge sees
TEXT_MAX = 400  # characters of an explanation shown to the judge


@dataclass
class Pair:
    kind: str  # model_vs_template | passed_vs_rejected | variant_vs_baseline
    user: str
    item_id: str
    first: str  # the model's, the passed or the variant's text: "first" wins means it was preferred
    second: str


def pairs_from_run(rec: Recommender, rows: list[dict]) -> list[Pair]:
    """The pairs a stored run holds (rows need the delivered texts, stored since 2026-12-02)."""
    out: list[Pair] = []
    by_user: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("delivered"):
            continue
        by_user.setdefault(row["user"], []).append(row)
        ids = [d[0] for d in row["delivered"]]
        contexts = rec.evidence_for(rec.history(row["user"]), [rec.item(i) for i in ids]).contexts
        delivered = {item_id: text for item_id, text, _ in row["delivered"]}
        for position, ((item_id, text, source), ctx) in enumerate(zip(row["delivered"], contexts)):
            if source == "llm":
                out.append(Pair("model_vs_template", row["user"], item_id, text, template_texts(ctx.evidence, position)[1]))
        for item_id, rejected, _kinds in row.get("rejected", []):
            if rejected and item_id in delivered:
                out.append(Pair("passed_vs_rejected", row["user"], item_id, delivered[item_id], rejected))
    prompts = list(dict.fromkeys(r["prompt"] for r in rows))  # the run's order: its baseline first
    for user, user_rows in by_user.items():
        texts = {r["prompt"]: {d[0]: d[1] for d in r["delivered"]} for r in user_rows}
        if len(prompts) < 2 or not {prompts[0], prompts[1]} <= set(texts):
            continue
        base, variant = texts[prompts[0]], texts[prompts[1]]
        out += [Pair("variant_vs_baseline", user, i, variant[i], base[i])
                for i in base if i in variant and variant[i] != base[i]]
    return out


def liked_titles(rec: Recommender, user: str) -> list[str]:
    """The titles of the viewer's latest liked items, as the judge sees them."""
    return [as_data(rec.item(i).title, 120) for i in rec.context(rec.history(user)).positives[:LIKED_SHOWN]]


def verdict(rec: Recommender, pair: Pair, criterion: str, liked: list[str]) -> str:
    """"first", "second" or "tie" (the two orders disagree)."""
    item = rec.item(pair.item_id)
    movie = as_data(f"{item.title} | {', '.join(item.categories)}", 200)
    # catalog titles and model answers are untrusted: made safe to sit inside the data fence
    first, second = as_data(pair.first, TEXT_MAX), as_data(pair.second, TEXT_MAX)
    picks = []
    for a, b in ((first, second), (second, first)):
        rendered = rec.registry.render(PROMPT, JudgeExplainInputs(criterion=criterion, liked=liked, item=movie,
                                                                   first=a, second=b))
        resp = rec.backend.complete(ChatRequest(messages=rendered.messages, response_schema=VERDICT_SCHEMA,
                                                schema_name="verdict", max_tokens=16))
        try:
            picks.append(json.loads(resp.content)["better"])
        except (ValueError, KeyError, TypeError):
            picks.append("?")
    return {("A", "B"): "first", ("B", "A"): "second"}.get(tuple(picks), "tie")


def tally(verdicts: list[str]) -> dict:
    """Counts, the share won by the first text among decided pairs, its 95% CI and a two-sided
    sign test against 0.5."""
    n = Counter(verdicts)
    decided = n["first"] + n["second"]
    out = {"pairs": len(verdicts), "first": n["first"], "second": n["second"], "tie": n["tie"]}
    if decided:
        test = stats.binomtest(n["first"], decided, 0.5)
        ci = test.proportion_ci(0.95)
        out |= {"first_share": round(n["first"] / decided, 3), "ci": [round(ci.low, 3), round(ci.high, 3)],
                "p": round(float(test.pvalue), 4)}
    return out


def run(rec: Recommender, run_dir: Path, pairs_per_kind: int = 20, criteria: tuple[str, ...] = JUDGE_CRITERIA,
        seed: int = 0, progress=None) -> dict:
    """Judges up to `pairs_per_kind` pairs of each kind (a seeded sample) by each criterion;
    writes run_dir/judge.json."""
    lists = run_dir / "lists.jsonl"
    if not lists.exists():
        raise InputError(f"{run_dir} holds no lists.jsonl: give the --out folder of a `recagent eval explain` run")
    rows = [json.loads(line) for line in lists.read_text().splitlines() if line.strip()]
    pairs = pairs_from_run(rec, rows)
    if not pairs:
        raise InputError(f"{run_dir} holds no stored texts to pair: its lists predate stored texts; run the eval again")
    rng = random.Random(seed)
    chosen = {kind: rng.sample(group, min(pairs_per_kind, len(group)))
              for kind in sorted({p.kind for p in pairs}) for group in [[p for p in pairs if p.kind == kind]]}
    total, done = sum(len(g) for g in chosen.values()) * len(criteria), 0
    liked = {user: liked_titles(rec, user) for user in {p.user for g in chosen.values() for p in g}}
    summary: dict = {"judge_model": rec.backend.model, "prompt": PROMPT, "run": str(run_dir), "criteria": list(criteria),
                     "available": dict(Counter(p.kind for p in pairs)), "kinds": {}}
    for kind, group in chosen.items():
        summary["kinds"][kind] = {}
        for criterion in criteria:
            verdicts = []
            for pair in group:
                try:
                    verdicts.append(verdict(rec, pair, criterion, liked[pair.user]))
                except BackendError as e:
                    raise InputError(f"the judge's endpoint failed ({e.kind}): {e}") from None
                done += 1
                if progress:
                    progress(done, total)
            summary["kinds"][kind][criterion] = tally(verdicts)
    agreement = summary["kinds"].get("passed_vs_rejected")
    if agreement:
        summary["checker_agreement"] = {c: t.get("first_share") for c, t in agreement.items()}
    (run_dir / "judge.json").write_text(json.dumps(summary, indent=2))
    return summary
