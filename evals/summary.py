"""Score result rows and summarise them per variant, with paired statistics against the
baseline. Everything here is deterministic: the same rows give the same summary.json."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from evals.metrics import (coverage, intra_list_diversity_categories, intra_list_diversity_embeddings, novelty,
                           ranking_metrics)
from evals.fusion_fit import candidate_recall
from evals.stats import paired_comparison

PER_USER_EXTRA = ("ild_categories", "ild_embeddings", "novelty")


def score_rows(rows: list[dict], run) -> None:
    """Add accuracy metrics and per-list beyond-accuracy values to each row (failed rows
    score zero on accuracy and have no diversity or novelty)."""
    ks = run.suite.k
    ids = sorted({i for r in rows for i in r["ranking"]})
    vectors = run.data.index.embeddings(ids) if ids else {}
    items = run.data.store.get_items(ids)
    pop_rank = run.popularity_rank()
    for r in rows:
        ranking = r["ranking"]
        r["rank"] = ranking.index(r["target"]) + 1 if r["target"] in ranking else None
        r["metrics"] = {k: round(v, 6) for k, v in ranking_metrics(ranking, {r["target"]}, ks).items()}
        top = ranking[: run.suite.max_k]
        ild_c = intra_list_diversity_categories([items[i].categories for i in top if i in items])
        ild_e = intra_list_diversity_embeddings([vectors[i] for i in top if i in vectors])
        nov = novelty(top, pop_rank)
        r["ild_categories"] = None if ild_c is None else round(ild_c, 6)
        r["ild_embeddings"] = None if ild_e is None else round(ild_e, 6)
        r["novelty"] = None if nov is None else round(nov, 3)


def _values(rows: list[dict], name: str) -> np.ndarray:
    if name in PER_USER_EXTRA:
        return np.array([np.nan if r[name] is None else r[name] for r in rows], dtype=float)
    return np.array([r["metrics"][name] for r in rows], dtype=float)


def _mean(x: np.ndarray) -> float | None:
    x = x[~np.isnan(x)]
    return round(float(np.mean(x)), 6) if len(x) else None


def _pct(x: list[float], q: float) -> float | None:
    return round(float(np.percentile(x, q)), 1) if x else None


def llm_health(rows: list[dict], pricing) -> dict | None:
    """Per LLM variant: how often the model's first answer was unusable in each way, before
    repair; how often the pipeline fell back; tokens, latency and estimated cost."""
    llm_rows = [r for r in rows if r.get("llm")]
    if not llm_rows:
        return None
    called = [r for r in llm_rows if r["llm"]["calls"]]
    returned = sum(r["llm"]["returned"] for r in called)
    prompt = sum(r["tokens"]["prompt"] for r in llm_rows)
    completion = sum(r["tokens"]["completion"] for r in llm_rows)
    latencies = [r["latency_ms"] for r in called]
    n = len(llm_rows)
    return {
        "cases": n,
        "failed_cases": sum(r["status"] == "failed" for r in llm_rows),
        "parse_failure_rate": round(sum(bool(r["llm"]["parse_error"]) for r in called) / len(called), 4) if called else None,
        "out_of_candidate_rate": round(sum(r["llm"]["out_of_candidate"] for r in called) / returned, 4) if returned else None,
        "duplicate_rate": round(sum(r["llm"]["duplicates"] for r in called) / returned, 4) if returned else None,
        "seen_item_rate": round(sum(r["llm"]["seen"] for r in called) / returned, 4) if returned else None,
        "repair_rate": (round(sum(r["llm"]["calls"] > 1 for r in called) / len(called), 4)
                        if called and all(r["kind"] == "llm" for r in called) else None),  # fusion: calls are orders
        "fallback_rate": round(sum(r["llm"]["fallback"] or r["status"] == "failed" for r in llm_rows) / n, 4),
        "fallbacks_by_kind": dict(sorted(Counter(fallback_kind(r) for r in llm_rows
                                                 if r["llm"]["fallback"] or r["status"] == "failed").items())),
        "llm_item_share": round(sum(s == "llm" for r in llm_rows for s in r.get("sources", []))
                                / max(1, sum(len(r.get("sources", [])) for r in llm_rows)), 4),
        "prompt_tokens_mean": round(prompt / n, 1),
        "completion_tokens_mean": round(completion / n, 1),
        "latency_ms_p50": _pct(latencies, 50),
        "latency_ms_p95": _pct(latencies, 95),
        "estimated_cost": round(prompt / 1000 * pricing.prompt_per_1k + completion / 1000 * pricing.completion_per_1k, 6),
    }


def fallback_kind(row: dict) -> str:
    """Why a case fell back: the backend error kind, "invalid_output", or "failed_case"."""
    if row["status"] == "failed":
        return "failed_case"
    m = re.search(r"LLM call failed \((\w+)\)", row.get("fallback_reason") or "")
    return m.group(1) if m else "invalid_output"


def _paired(rows: list[dict], reference: dict[str, dict], metric_names: list[str], suite) -> dict:
    paired = [r for r in rows if r["user"] in reference]
    return {m: paired_comparison(_values(paired, m), _values([reference[r["user"]] for r in paired], m),
                                 resamples=suite.bootstrap_resamples, seed=suite.users.seed)
            for m in metric_names}


def summarize(rows: list[dict], run) -> dict:
    suite = run.suite
    metric_names = list(rows[0]["metrics"]) + list(PER_USER_EXTRA) if rows else []
    by_variant = {v.name: [r for r in rows if r["variant"] == v.name] for v in suite.variants}
    base_rows = {r["user"]: r for r in by_variant[suite.baseline]}
    cands = [run.candidates[u] for u in run.users]
    denominator = (len(run.catalog_ids) if suite.protocol.kind == "retrieved"
                   else len({i for c in cands for i in c["pool"]}))
    variants = {}
    for v in suite.variants:
        vrows = by_variant[v.name]
        entry = {
            "kind": v.kind, "config": v.model_dump(exclude_defaults=True), "users": len(vrows),
            "failed": sum(r["status"] == "failed" for r in vrows),
            "metrics": {m: _mean(_values(vrows, m)) for m in metric_names},
            "coverage": round(coverage([r["ranking"][: suite.max_k] for r in vrows], denominator), 6),
            "llm": llm_health(vrows, suite.pricing),
        }
        prompt = next((r.get("template_sha256") for r in vrows if r.get("template_sha256")), None)
        if prompt:
            entry["template_sha256"] = prompt
        if v.name != suite.baseline:
            entry["vs_baseline"] = _paired(vrows, base_rows, metric_names, suite)
        others = {ref: _paired(vrows, {r["user"]: r for r in by_variant[ref]}, metric_names, suite)
                  for ref in suite.references if ref != v.name and ref != suite.baseline}
        if others:
            entry["vs_references"] = others
        if v.compare_to:
            entry["vs_reference"] = {"variant": v.compare_to, "metrics": _paired(
                vrows, {r["user"]: r for r in by_variant[v.compare_to]}, metric_names, suite)}
        variants[v.name] = entry
    in_cands = [c["target_in_candidates"] for c in cands]
    return {
        "suite": suite.name,
        "protocol": suite.protocol.model_dump(),
        "split": suite.split.model_dump(),
        "k": suite.k,
        "baseline": suite.baseline,
        "references": suite.references,
        "users": {"evaluated": len(run.users), "seed": suite.users.seed, "eligible": len(run.split.cases),
                  "excluded": run.split.excluded},
        "dataset": {"items": len(run.catalog_ids), "interactions": len(run.data.interactions),
                    "rejected_interactions": run.data.rejected, "training_rows": len(run.split.train)},
        "candidates": {"per_user": round(float(np.mean([len(c["candidates"]) for c in cands])), 2),
                       "held_out_item_included": round(float(np.mean(in_cands)), 4) if in_cands else None,
                       "coverage_denominator": denominator,
                       **(_recall(run, suite.protocol.candidates) if suite.protocol.kind == "retrieved" else {})},
        "statistics": {"ci": "percentile bootstrap 95% of the mean paired difference",
                       "p_value": "two-sided sign-flip permutation test (p_wilcoxon: Wilcoxon signed-rank)",
                       "mde": "minimum detectable effect at alpha 0.05 and 80% power (normal approximation)",
                       "resamples": suite.bootstrap_resamples},
        "variants": variants,
    }


RECALL_DEPTHS = (50, 100, 200)


def _recall(run, n: int) -> dict:
    """Candidate recall by source at the protocol's n (with the pipeline's own candidates) and
    deeper: how many candidates a ranker would need to see to find the held-out item."""
    by_depth = candidate_recall(run, n, RECALL_DEPTHS)
    return {"recall_by_source": by_depth.pop(n),
            "recall_by_depth": {str(d): shares for d, shares in by_depth.items()}}
