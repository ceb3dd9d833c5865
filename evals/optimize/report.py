"""report.md and a self-contained report.html for an optimisation run: the verdict first, then
the search trajectory (plot), the confirmation, the selection-versus-test gap and every candidate."""

from __future__ import annotations

import html
from pathlib import Path


def _f(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def markdown(space, result: dict) -> str:
    metric = space.objective.metric if isinstance(space.objective.metric, str) else " + ".join(
        f"{w:g}×{m}" for m, w in space.objective.metric.items())
    direction = "higher is better" if space.objective.higher_is_better else "lower is better"
    lines = [f"# Optimisation: {space.name}", "", f"**{result['verdict']}.**", "",
             f"Objective: {space.objective.kind}, {metric} per user ({direction}). Base prompt {space.base}. "
             f"{result.get('calls', 0)} live LLM calls in this run; {result.get('scored_now', 0)} (prompt, user) "
             f"scores computed now, the rest read from scores.jsonl."
             + (f" The search stopped early: its budget ({result['stopped']}) ran out." if result.get("stopped") else ""),
             ""]
    users = result.get("users", {})
    lines += [f"Users: {len(users.get('train', []))} train (demos), {len(users.get('validation', []))} validation "
              f"(selection, rungs {space.selection.rungs}), {len(users.get('test', []))} test (confirmation only).", ""]
    if "test" in result:
        t = result["test"]
        v = result["validation"]
        lines += ["## Confirmation on test users", "",
                  "| | winner | incumbent | Δ [95% CI] | p (permutation) | n |", "|---|---|---|---|---|---|",
                  f"| validation (selection) | {_f(v[result['winner']])} | {_f(v[result['base']])} | "
                  f"{_f(v[result['winner']] - v[result['base']])} | | {len(users.get('validation', []))} |",
                  f"| test (confirmation) | {_f(t['winner'])} | {_f(t['incumbent'])} | {_f(t['diff'])} "
                  f"[{_f(t['ci_low'])}, {_f(t['ci_high'])}] | {_f(t['p_value'])} | {t['n']} |", "",
                  f"Selection-versus-test gap: {_f(result['selection_gap'])} (the winner's lead on validation minus its "
                  "lead on test users: how much the search overfit its validation users).", ""]
        for measure, held in result.get("constraints", {}).items():
            limit = " and ".join(f"{'≤' if k == 'p50_max' else '≥'} {v:g}" for k, v in held["limit"].items() if v is not None)
            lines += [f"Constraint {measure} p50 {limit} on the test users: winner {_f(held['winner']['p50'], 2)} "
                      f"({held['winner']['measured']} lists measured), incumbent {_f(held['incumbent']['p50'], 2)} "
                      f"({held['incumbent']['measured']}); lists answered from the response cache are not timed.", ""]
    rungs = [str(n) for n in space.selection.rungs]
    lines += ["## Candidates", "", "Mean on the first n validation users, for each rung a candidate reached "
              "(successive halving keeps the better share of each rung for the next).", "",
              "| prompt | parent | operator | what changed | " + " | ".join(f"first {n}" for n in rungs) + " |",
              "|---|---|---|---|" + "---|" * len(rungs)]
    incumbent = result.get("incumbent_rungs", {})
    lines.append(f"| {result['base']} (incumbent) | | | | " + " | ".join(_f(incumbent.get(n)) for n in rungs) + " |")

    def reached(c):  # the deepest rung first, then its mean
        done = [n for n in rungs if n in c.get("rungs", {})]
        return (-len(done), -(c["rungs"][done[-1]] if done else -1e9))

    for c in sorted(result.get("candidates", []), key=reached):
        detail = c["detail"].replace("|", "/")[:90]
        lines.append(f"| {c['ref']}{' (winner)' if c['ref'] == result['winner'] else ''} | {c['parent']} | "
                     f"{c['operator']} | {detail}{' — ' + c['error'] if c['error'] else ''} | "
                     + " | ".join(_f(c.get("rungs", {}).get(n)) for n in rungs) + " |")
    lines += ["", "Each candidate is an ordinary template under prompts/ in this folder, with a header naming its "
              "parent, operator and scores. `recagent eval optimize --adopt RUN` copies a confirmed winner into "
              "prompts/; nothing else changes the shipped prompts."]
    return "\n".join(lines) + "\n"


def trajectory_svg(result: dict, higher_is_better: bool) -> str | None:
    points = result.get("trajectory", [])
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evals.report import _svg

    fig, ax = plt.subplots(figsize=(8, 3.6))
    full = max(p["users"] for p in points)
    for users in sorted({p["users"] for p in points}):
        at = [p for p in points if p["users"] == users and p["ref"] != result["base"]]
        ax.scatter([p["calls"] for p in at], [p["mean"] for p in at], s=14, label=f"candidates, {users} users")
    best, line = None, []
    for p in points:
        if p["users"] == full and p["ref"] != result["base"]:
            better = best is None or (p["mean"] > best if higher_is_better else p["mean"] < best)
            best = p["mean"] if better else best
        if best is not None:
            line.append((p["calls"], best))
    if line:
        ax.step(*zip(*line), where="post", color="black", label=f"best so far on {full} users")
    base = [p for p in points if p["ref"] == result["base"] and p["users"] == full]
    if base:
        ax.axhline(base[-1]["mean"], color="grey", linestyle="--", label=f"incumbent {result['base']}")
    ax.set_xlabel("live LLM calls so far")
    ax.set_ylabel("validation mean (" + ("higher" if higher_is_better else "lower") + " is better)")
    ax.legend(fontsize=7, loc="best")
    return _svg(fig)


def write_report(out: Path, space, result: dict) -> None:
    from evals.report import _md_table_to_html

    md = markdown(space, result)
    (out / "report.md").write_text(md, encoding="utf-8")
    svg = trajectory_svg(result, space.objective.higher_is_better)
    head, _, rest = md.partition("\n\n")
    verdict, _, rest = rest.partition("\n\n")
    body = [f"<h1>{html.escape(head.lstrip('# '))}</h1>", f"<p><b>{html.escape(verdict.strip('*'))}</b></p>"]
    if svg:
        body.append(f"<h2>Search trajectory</h2><figure>{svg}</figure>")
    body.append(_md_table_to_html(rest))
    (out / "report.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>" + html.escape(space.name) + "</title>"
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style>" + "".join(body), encoding="utf-8")
