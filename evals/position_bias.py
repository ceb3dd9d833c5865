"""Position bias of label-logprob scoring, measured: the held-out item is placed at fixed
positions of an otherwise unchanged candidate list, and its rank under the LLM's scores alone
is compared across positions, with one candidate order and with mirrored orders averaged.
An unbiased scorer ranks the item the same wherever it is shown.

    recagent eval position-bias evals/suites/ml-latest-small-sampled.yaml --users 20
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track

from agent.config import load_settings
from evals.llm_scoring import score_candidates
from evals.runner import SuiteRun
from evals.stats import mean_ci
from evals.suite import Variant, load_suite


def measure(suite_path: Path, out: Path, users: int, positions: list[int], model: str,
            orders: tuple[int, ...] = (1, 2), settings=None, console: Console | None = None,
            backend_factory=None) -> dict:
    """`backend_factory` replaces the model (tests pass a scripted fake)."""
    console = console or Console(stderr=True)
    suite = load_suite(suite_path, users=users)
    if suite.protocol.kind != "sampled":
        raise SystemExit("position bias is measured on a sampled suite (the held-out item is always a candidate)")
    suite.variants = [v for v in suite.variants if v.kind not in ("llm", "fusion", "ltr")]
    run = SuiteRun(suite, out, settings or load_settings(), console=console, backend_factory=backend_factory)
    run.prepare()
    rec, backend = run.llm_recommender(Variant(name="position-bias", kind="fusion", llm_scoring="labels", model=model))
    ranks: dict[tuple[int, int], list[int]] = {(o, p): [] for o in orders for p in positions}
    try:
        for user in track(run.users, description="position bias", console=console):
            case = run.split.cases[user]
            cands = run.candidate_objects(user)
            target = next(c for c in cands if c.item.item_id == case.target)
            others = [c for c in cands if c.item.item_id != case.target]
            profile = rec.profile_of(case.history)
            for p in positions:
                shown = others[:p] + [target] + others[p:]
                for o in orders:
                    s = score_candidates(rec, case.history, profile, shown, mode="labels", orders=o)
                    if s.error:
                        raise SystemExit(f"scoring failed: {s.error}")
                    mine = s.scores[case.target]
                    ranks[(o, p)].append(1 + sum(v > mine + 1e-9 for i, v in s.scores.items() if i != case.target))
    finally:
        backend.close()
    table = []
    for o in orders:
        for p in positions:
            r = np.array(ranks[(o, p)], dtype=float)
            low, high = mean_ci(r)
            table.append({"orders": o, "position": p + 1, "mean_rank": round(float(r.mean()), 2),
                          "ci": [round(low, 2), round(high, 2)], "hit@1": round(float(np.mean(r == 1)), 3),
                          "hit@5": round(float(np.mean(r <= 5)), 3)})
    spread = {o: round(max(t["mean_rank"] for t in table if t["orders"] == o)
                       - min(t["mean_rank"] for t in table if t["orders"] == o), 2) for o in orders}
    result = {"suite": suite.name, "users": len(run.users), "model": model, "list_size": len(cands),
              "table": table, "mean_rank_spread": spread}
    (out / "position-bias.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def markdown(result: dict) -> str:
    lines = [f"Position bias, {result['model']}, {result['users']} users, {result['list_size']} candidates "
             "(rank of the held-out item under the LLM's label scores alone; random ≈ "
             f"{(result['list_size'] + 1) / 2:.1f})", "",
             "| orders averaged | held-out item shown at | mean rank [95% CI] | hit@1 | hit@5 |", "|---|---|---|---|---|"]
    for t in result["table"]:
        lines.append(f"| {t['orders']} | {t['position']} | {t['mean_rank']:.2f} [{t['ci'][0]:.2f}, {t['ci'][1]:.2f}] | "
                     f"{t['hit@1']:.3f} | {t['hit@5']:.3f} |")
    lines += ["", "Spread of the mean rank across positions: "
              + ", ".join(f"{o} order(s): {s}" for o, s in result["mean_rank_spread"].items())]
    return "\n".join(lines)
