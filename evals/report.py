"""report.md and a self-contained report.html (inline SVG plots, no scripts, no network)
from a run folder's summary.json and results.jsonl."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import numpy as np

from evals.stats import mean_ci



def headline_metrics(summary: dict) -> list[str]:
    """NDCG, HR and MRR at the largest k."""
    k = max(summary["k"])
    return [f"ndcg@{k}", f"hr@{k}", f"mrr@{k}"]


def load_run(folder: Path) -> tuple[dict, list[dict]]:
    from agent.errors import InputError

    folder = Path(folder)
    if not (folder / "summary.json").exists():
        raise InputError(f"{folder} is not a finished run folder (no summary.json): run `recagent eval run` first")
    summary = json.loads((folder / "summary.json").read_text())
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return summary, [r for r in rows if r.get("in_summary", True)]


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _ci(c: dict) -> str:
    if c.get("ci_low") is None:
        return "–"
    return f"{c['diff']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"


def summary_table(summary: dict) -> str:
    """Markdown: each variant's headline metrics, and its difference from the baseline with
    the 95% CI, p-value and minimum detectable effect of the first headline metric."""
    heads = headline_metrics(summary)
    main = heads[0]
    refs = [r for r in summary.get("references", []) if r != summary["baseline"]]
    lines = [f"| variant | {' | '.join(heads)} | coverage | Δ{main} vs {summary['baseline']} [95% CI] | p | MDE |"
             + "".join(f" Δ vs {r} [95% CI] | p |" for r in refs),
             "|---|" + "---|" * (len(heads) + 4 + 2 * len(refs))]
    for name, v in summary["variants"].items():
        vs = (v.get("vs_baseline") or {}).get(main)
        cells = [_fmt(v["metrics"][m]) for m in heads] + [_fmt(v["coverage"])]
        if vs:
            cells += [_ci(vs), _fmt(vs["p_value"]), _fmt(vs["mde"])]
        else:
            cells += ["(baseline)", "", ""]
        for r in refs:
            other = ((v.get("vs_references") or {}).get(r) or {}).get(main)
            cells += [_ci(other), _fmt(other["p_value"])] if other else ["(itself)" if name == r else "", ""]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(summary: dict) -> str:
    s = summary
    out = [f"# Eval: {s['suite']}", "",
           f"Protocol **{s['protocol']['kind']}**, {s['users']['evaluated']} users (seed {s['users']['seed']}; "
           f"{s['users']['eligible']} eligible), k = {', '.join(map(str, s['k']))}, baseline **{s['baseline']}**. "
           f"Held-out item among the candidates: {_fmt(s['candidates']['held_out_item_included'], 2)}.", "",
           summary_table(s), "",
           "## All metrics (mean over users)", ""]
    metrics = list(next(iter(s["variants"].values()))["metrics"])
    out.append("| variant | " + " | ".join(metrics) + " |")
    out.append("|---|" + "---|" * len(metrics))
    for name, v in s["variants"].items():
        out.append(f"| {name} | " + " | ".join(_fmt(v["metrics"][m]) for m in metrics) + " |")
    out += ["", f"## Paired differences against {s['baseline']}", "",
            "| variant | metric | Δ mean [95% CI] | p (permutation) | p (Wilcoxon) | MDE | n |", "|---|---|---|---|---|---|---|"]
    for name, v in s["variants"].items():
        for m, c in (v.get("vs_baseline") or {}).items():
            out.append(f"| {name} | {m} | {_ci(c)} | {_fmt(c['p_value'])} | {_fmt(c['p_wilcoxon'])} | "
                       f"{_fmt(c['mde'])} | {c['n']} |")
    refs = {n: v["vs_reference"] for n, v in s["variants"].items() if v.get("vs_reference")}
    if refs:
        out += ["", "## Paired differences against a named reference (e.g. the same pipeline without the LLM)", "",
                "| variant | reference | metric | Δ mean [95% CI] | p (permutation) | p (Wilcoxon) | MDE | n |",
                "|---|---|---|---|---|---|---|---|"]
        for name, ref in refs.items():
            for m, c in ref["metrics"].items():
                if m in headline_metrics(s):
                    out.append(f"| {name} | {ref['variant']} | {m} | {_ci(c)} | {_fmt(c['p_value'])} | "
                               f"{_fmt(c['p_wilcoxon'])} | {_fmt(c['mde'])} | {c['n']} |")
    recall = s["candidates"].get("recall_by_source")
    if recall:
        out += ["", f"## Candidate recall@{s['protocol']['candidates']} by source", "",
                "| " + " | ".join(recall) + " |", "|" + "---|" * len(recall),
                "| " + " | ".join(_fmt(x) for x in recall.values()) + " |"]
    e = s.get("enrichment")
    if e:
        out += ["", "## LLM-written item texts (enrich)", "",
                f"Every variant searched an index where the {e['enriched']} most-read of {e['thin_items']} thin items "
                f"carry texts written by `{e['version']}`; {_fmt(e['held_out_items_enriched'])} of the held-out items "
                f"are among them. Failed: {e['failed'] or 'none'}."]
    health = {n: v["llm"] for n, v in s["variants"].items() if v.get("llm")}
    if health:
        keys = list(next(iter(health.values())))
        out += ["", "## LLM health (first answers, before repair)", "",
                "| variant | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        for name, h in health.items():
            out.append(f"| {name} | " + " | ".join(_fmt(h[k2], 4) for k2 in keys) + " |")
    out += ["", "Statistics: " + "; ".join(f"{k}: {v}" for k, v in s["statistics"].items()) + ".", ""]
    return "\n".join(out)


# -- plots ------------------------------------------------------------------------------------------
def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def plots(summary: dict, rows: list[dict]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9})
    names = list(summary["variants"])
    by_variant = {n: [r for r in rows if r["variant"] == n] for n in names}
    out = []
    heads = headline_metrics(summary)
    fig, axes = plt.subplots(1, len(heads), figsize=(3.6 * len(heads), 3.2))
    for ax, m in zip(np.atleast_1d(axes), heads):
        means, lo, hi = [], [], []
        for n in names:
            vals = np.array([r["metrics"][m] for r in by_variant[n]], dtype=float)
            mean = float(vals.mean()) if len(vals) else 0.0
            low, high = mean_ci(vals)
            means.append(mean), lo.append(mean - low), hi.append(high - mean)
        ax.bar(range(len(names)), means, yerr=[lo, hi], capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(names)), names, rotation=40, ha="right")
        ax.set_title(f"{m} (mean, 95% CI)")
    out.append(("Metrics by variant", _svg(fig)))

    main = heads[0]
    # the deltas that matter most: the pipeline's and the LLM variants' (all, if there are none)
    others = [n for n in names if n != summary["baseline"] and summary["variants"][n]["kind"] in ("pipeline", "llm", "fusion")]
    others = others or [n for n in names if n != summary["baseline"]]
    base = {r["user"]: r["metrics"][main] for r in by_variant[summary["baseline"]]}
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for n in others:
        deltas = [r["metrics"][main] - base[r["user"]] for r in by_variant[n] if r["user"] in base]
        ax.hist(deltas, bins=21, range=(-1, 1), histtype="step", linewidth=1.5, label=n)
    ax.set_xlabel(f"per-user {main} difference vs {summary['baseline']}")
    ax.set_ylabel("users")
    ax.legend(fontsize=7)
    out.append((f"Per-user {main} differences", _svg(fig)))

    llm = [n for n in names if by_variant[n] and by_variant[n][0]["kind"] == "llm"]
    if llm:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
        a1.boxplot([[r["latency_ms"] / 1000 for r in by_variant[n]] or [0] for n in llm], tick_labels=llm)
        a1.set_ylabel("seconds per user (LLM calls)")
        a1.set_title("Latency")
        a2.boxplot([[r["tokens"]["prompt"] + r["tokens"]["completion"] for r in by_variant[n]] or [0] for n in llm],
                   tick_labels=llm)
        a2.set_ylabel("tokens per user")
        a2.set_title("Prompt + completion tokens")
        for a in (a1, a2):
            a.tick_params(axis="x", rotation=30)
        out.append(("Latency and tokens", _svg(fig)))
    return out


def _md_table_to_html(md: str) -> str:
    """The markdown report's tables and headings as plain HTML (no markdown library needed)."""
    parts, table = [], []

    def flush():
        if table:
            head, *body = [[html.escape(c.strip()) for c in line.strip("|").split("|")] for line in table
                           if not set(line.replace("|", "").strip()) <= {"-"}]
            parts.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr></thead><tbody>"
                         + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body)
                         + "</tbody></table>")
            table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("## "):
            parts.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            parts.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.strip():
            parts.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    flush()
    return "\n".join(parts)


STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}svg{max-width:100%;height:auto}"""


def write_reports(folder: Path, summary: dict | None = None, rows: list[dict] | None = None) -> None:
    folder = Path(folder)
    if summary is None or rows is None:
        summary, rows = load_run(folder)
    md = markdown(summary)
    (folder / "report.md").write_text(md, encoding="utf-8")
    figures = "\n".join(f"<figure><figcaption><b>{html.escape(title)}</b></figcaption>{svg}</figure>"
                        for title, svg in plots(summary, rows))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(summary['suite'])}</title>"
            f"<style>{STYLE}</style></head><body>{_md_table_to_html(md)}\n{figures}</body></html>\n")
    (folder / "report.html").write_text(page, encoding="utf-8")
