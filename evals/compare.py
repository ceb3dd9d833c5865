"""Compare two run folders: each shared variant's headline metrics side by side and, when both
runs scored the same users on the same candidates, a paired test of B against A."""

from __future__ import annotations

import numpy as np

from evals.report import _ci, _fmt, headline_metrics, load_run
from evals.stats import paired_comparison


def compare_runs(folder_a, folder_b) -> str:
    sa, ra = load_run(folder_a)
    sb, rb = load_run(folder_b)
    heads = headline_metrics(sa)
    shared = [v for v in sa["variants"] if v in sb["variants"]]
    lines = [f"# {folder_a} (A) vs {folder_b} (B)", ""]
    if sa["protocol"] != sb["protocol"] or sa["split"] != sb["split"]:
        lines += ["Note: the runs differ in protocol or split; only the means are comparable.", ""]
    if not shared:
        return "\n".join(lines + ["The runs share no variant name."])
    lines += ["| variant | metric | A | B | Δ (B − A) [95% CI] | p | n paired |", "|---|---|---|---|---|---|---|"]
    for name in shared:
        a = {r["user"]: r for r in ra if r["variant"] == name}
        b = {r["user"]: r for r in rb if r["variant"] == name}
        users = sorted(u for u in set(a) & set(b) if a[u]["target"] == b[u]["target"])
        for m in heads:
            row = [name, m, _fmt(sa["variants"][name]["metrics"][m]), _fmt(sb["variants"][name]["metrics"][m])]
            if len(users) >= 2:
                c = paired_comparison(np.array([b[u]["metrics"][m] for u in users]),
                                      np.array([a[u]["metrics"][m] for u in users]))
                row += [_ci(c), _fmt(c["p_value"]), str(len(users))]
            else:
                row += ["– (no shared users)", "", "0"]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def protocol_table(folders, variants: list[str] | None = None) -> str:
    """One markdown table over several runs (e.g. the sampled and the retrieved suite): per run
    and variant, NDCG@k with the 95% CI of its mean, the paired difference from the run's
    baseline and from the variant's `compare_to` reference, or else the suite's first
    reference (item-kNN by default), with CI and p, and the LLM's latency and tokens per user."""
    from evals.stats import mean_ci

    lines = []
    for folder in folders:
        s, rows = load_run(folder)
        main = headline_metrics(s)[0]
        if not lines:
            lines = [f"| protocol | variant | {main} [95% CI] | Δ vs baseline [95% CI] | p | "
                     "Δ vs reference [95% CI] | p | LLM s/user (p50) | tokens/user |", "|---" * 9 + "|"]
        names = [n for n in s["variants"] if not variants or n in variants]
        for name in names:
            v = s["variants"][name]
            values = np.array([r["metrics"][main] for r in rows if r["variant"] == name], dtype=float)
            low, high = mean_ci(values)
            vs = (v.get("vs_baseline") or {}).get(main)
            ref = v.get("vs_reference")
            ref_c = ref["metrics"][main] if ref else None
            if ref_c is None:  # no compare_to: the suite's references (item-kNN by default)
                name_c = next(((r, c[main]) for r, c in (v.get("vs_references") or {}).items()), None)
                ref, ref_c = ({"variant": name_c[0]}, name_c[1]) if name_c else (None, None)
            llm = v.get("llm") or {}
            tokens = (llm["prompt_tokens_mean"] + llm["completion_tokens_mean"]) if llm else None
            cells = [s["protocol"]["kind"], name + (" (baseline)" if name == s["baseline"] else ""),
                     f"{_fmt(v['metrics'][main])} [{low:.3f}, {high:.3f}]",
                     _ci(vs) if vs else "", _fmt(vs["p_value"]) if vs else "",
                     f"{_ci(ref_c)} vs {ref['variant']}" if ref_c else "", _fmt(ref_c["p_value"]) if ref_c else "",
                     _fmt(llm["latency_ms_p50"] / 1000, 1) if llm.get("latency_ms_p50") is not None else "",
                     _fmt(round(tokens)) if tokens is not None else ""]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
