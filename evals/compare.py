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
