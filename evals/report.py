"""report.md and a self-contained report.html (inline SVG plots, no scripts, no network)
from a run folder's summary.json and results.jsonl."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import numpy as np

from evals.stats import ALPHA, mean_ci

# -- what each metric is ----------------------------------------------------------------------------
ACCURACY = "0–1, higher is better"
# metric family (the name before "@k") → (label, what it measures, unit and direction)
METRICS: dict[str, tuple[str, str, str]] = {
    "ndcg": ("NDCG", "the held-out item's gain 1/log2(rank + 1) in the top k, over the ideal", ACCURACY),
    "hr": ("HR", "share of users whose held-out item is in the top k", ACCURACY),
    "mrr": ("MRR", "1 / the held-out item's rank (0 below k)", ACCURACY),
    "precision": ("precision", "held-out items in the top k, over k", ACCURACY),
    "map": ("MAP", "average precision in the top k (one held-out item: 1 / its rank)", ACCURACY),
    "f1": ("F1", "harmonic mean of precision and recall at k", ACCURACY),
    "coverage": ("coverage", "share of the recommendable items in at least one list",
                 "0–1, higher = more of the catalog shown"),
    "ild_categories": ("ILD (categories)", "mean pairwise Jaccard distance of a list's items' categories",
                       "0–1, higher = more varied lists"),
    "ild_embeddings": ("ILD (embeddings)", "mean pairwise cosine distance of a list's items' embeddings",
                       "0–2, higher = more varied lists"),
    "novelty": ("novelty", "mean popularity rank of a list's items in the training rows (1 = the most popular)",
                "rank positions, higher = less popular items"),
}
# the all-metrics tables: a few columns each, so that each fits a laptop screen
METRIC_TABLES = [(f"Ranking accuracy ({ACCURACY})", ("ndcg", "hr", "mrr")),
                 (f"Precision, MAP and F1 ({ACCURACY})", ("precision", "map", "f1")),
                 ("Beyond accuracy (units and directions below)", ("coverage", "ild_categories", "ild_embeddings",
                                                                   "novelty"))]


def metric_info(name: str) -> tuple[str, str, str]:
    """(label, what it measures, unit and direction) of a metric key such as 'ndcg@10'."""
    family, _, k = name.partition("@")
    label, what, unit = METRICS.get(family, (family, "", ""))
    return (f"{label}@{k}" if k else label), what, unit


# -- verdicts -----------------------------------------------------------------------------------
def _signed(x: float) -> str:
    return f"{x:+.3f}".replace("-", "−")


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p {p:.3f}"


def verdict(variant: str, other: str, metric: str, c: dict) -> str:
    """One sentence: who won on `metric`, by how much, the 95% CI and the p-value, and whether
    that is significant, not significant, or borderline (the CI and the p-value disagree)."""
    label = metric_info(metric)[0]
    d, lo, hi, p = c["diff"], c.get("ci_low"), c.get("ci_high"), c.get("p_value")
    if d is None or lo is None or p is None:
        return f"{variant} against {other} on {label}: {c['n']} paired user(s), too few to test."
    stats = f"95% CI {_signed(lo)} to {_signed(hi)}, {_p(p)}"
    if round(d, 3) == 0:  # as shown: no "loses by −0.000"
        head = f"{variant} ties with {other} on {label} ({_signed(d)}, {stats})"
    else:
        head = f"{variant} {'beats' if d > 0 else 'loses to'} {other} on {label} by {_signed(d)} ({stats})"
    ci_excludes_zero, p_significant = lo > 0 or hi < 0, p < ALPHA
    if ci_excludes_zero and p_significant:
        return f"{head}: significant."
    if not ci_excludes_zero and not p_significant:
        return f"{head}: not significant."
    why = ("the bootstrap CI excludes zero but the permutation p is not below 0.05" if ci_excludes_zero
           else "the permutation p is below 0.05 but the bootstrap CI includes zero")
    return (f"{head}: borderline; {why}. They are different tests (a resampled interval of the mean, a "
            "sign-flip test of no difference) and near the edge they can disagree: treat the result as "
            "neither a win nor a tie.")


def verdicts(summary: dict) -> list[str]:
    """Per variant, a verdict on the headline metric against the baseline and against its
    `compare_to` reference."""
    main = headline_metrics(summary)[0]
    out = []
    for name, v in summary["variants"].items():
        if v.get("vs_baseline"):
            out.append(verdict(name, summary["baseline"], main, v["vs_baseline"][main]))
        if v.get("vs_reference"):
            out.append(verdict(name, v["vs_reference"]["variant"], main, v["vs_reference"]["metrics"][main]))
    return out


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
    opening, details = report_sections(summary)
    return "\n".join(opening + details)


def report_sections(summary: dict) -> tuple[list[str], list[str]]:
    """The report's markdown lines in two parts: the verdicts and the headline table (the plots
    follow them in report.html), then the detail tables."""
    s = summary
    main = headline_metrics(s)[0]
    label, _, unit = metric_info(main)
    opening = [f"# Eval: {s['suite']}", "", "## Verdict", "",
               f"{label} ({unit}) of each variant minus that of the one it is compared with, paired over the "
               f"same users: the mean difference, its 95% bootstrap CI and the permutation p-value.", ""]
    opening += [f"- {line}" for line in verdicts(s)] + [""]
    opening += [f"Protocol **{s['protocol']['kind']}**, {s['users']['evaluated']} users (seed {s['users']['seed']}; "
                f"{s['users']['eligible']} eligible), k = {', '.join(map(str, s['k']))}, baseline **{s['baseline']}**. "
                f"Held-out item among the candidates: {_fmt(s['candidates']['held_out_item_included'], 2)}.", "",
                summary_table(s), ""]
    out = ["## All metrics (mean over users)", ""]
    for title, names in _metric_tables(s):
        out += [f"### {title}", "", "| variant | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for name, v in s["variants"].items():
            values = {**v["metrics"], "coverage": v["coverage"]}
            out.append(f"| {name} | " + " | ".join(_fmt(values[m]) for m in names) + " |")
        out.append("")
    at_k = {m.partition("@")[0]: "@" in m for m in [*s["variants"][s["baseline"]]["metrics"], "coverage"]}
    out += ["### What each metric measures", "", "| metric | what it measures | unit, direction |", "|---|---|---|"]
    out += [f"| {family}{'@k' if at_k[family] else ''} | {what} | {unit} |"
            for family, (_, what, unit) in METRICS.items() if family in at_k]
    out.append("")
    out += [f"## Paired differences against {s['baseline']}", "",
            "| variant | metric | Δ mean [95% CI] | p (permutation) | p (Wilcoxon) | MDE | n | unit, direction |",
            "|---|---|---|---|---|---|---|---|"]
    for name, v in s["variants"].items():
        for m, c in (v.get("vs_baseline") or {}).items():
            out.append(f"| {name} | {m} | {_ci(c)} | {_fmt(c['p_value'])} | {_fmt(c['p_wilcoxon'])} | "
                       f"{_fmt(c['mde'])} | {c['n']} | {metric_info(m)[2]} |")
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
        deeper = s["candidates"].get("recall_by_depth") or {}
        if deeper:
            names = [n for n in recall if n != "pipeline"]
            out += ["", "Deeper (each source's top n, and their union):", "",
                    "| n | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
            out += [f"| {d} | " + " | ".join(_fmt(shares[n]) for n in names) + " |" for d, shares in deeper.items()]
    e = s.get("enrichment")
    if e:
        out += ["", "## LLM-written item texts (enrich)", "",
                f"Every variant searched an index where the {e['enriched']} most-read of {e['thin_items']} thin items "
                f"carry texts written by `{e['version']}`; {_fmt(e['held_out_items_enriched'])} of the held-out items "
                f"are among them. Failed: {e['failed'] or 'none'}."]
    health = {n: v["llm"] for n, v in s["variants"].items() if v.get("llm")}
    if health:  # one column per LLM variant: there are fewer of them than measures
        out += ["", "## LLM health (first answers, before repair)", "",
                "| measure | " + " | ".join(health) + " |", "|---|" + "---|" * len(health)]
        for key in next(iter(health.values())):
            out.append(f"| {key} | " + " | ".join(_fmt(h[key], 4) for h in health.values()) + " |")
    out += ["", "Statistics: " + "; ".join(f"{k}: {v}" for k, v in s["statistics"].items()) + ".", ""]
    return opening, out


def _metric_tables(summary: dict) -> list[tuple[str, list[str]]]:
    """The all-metrics columns in METRIC_TABLES' groups, in the summary's order; a metric no group
    names gets a table of its own."""
    names = list(next(iter(summary["variants"].values()))["metrics"]) + ["coverage"]
    family = {n: n.partition("@")[0] for n in names}
    tables = [(title, [n for fam in families for n in names if family[n] == fam]) for title, families in METRIC_TABLES]
    grouped = {n for _, cols in tables for n in cols}
    tables.append(("Other", [n for n in names if n not in grouped]))
    return [(title, cols) for title, cols in tables if cols]


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
    others = [n for n in names if n != summary["baseline"] and summary["variants"][n]["kind"] in ("pipeline", "llm", "fusion", "ltr")]
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


NUMBER = re.compile(r"[-+−]?[\d.,]+( \[[^\]]*\])?|–|")  # a value, a value with its CI, none: right-aligned


def _md_table_to_html(md: str) -> str:
    """The markdown report's tables, headings and lists as plain HTML (no markdown library needed)."""
    parts, table, items = [], [], []

    def flush():
        if items:
            parts.append("<ul>" + "".join(f"<li>{html.escape(i).replace('**', '')}</li>" for i in items) + "</ul>")
            items.clear()
        if table:
            head, *body = [[html.escape(c.strip()) for c in line.strip("|").split("|")] for line in table
                           if not set(line.replace("|", "").strip()) <= {"-"}]
            parts.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr></thead><tbody>"
                         + "".join("<tr>" + "".join(f"<td>{c}</td>" if NUMBER.fullmatch(c) else f"<td class=text>{c}</td>"
                                                    for c in row) + "</tr>" for row in body)
                         + "</tbody></table>")
            table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        if line.startswith("- "):
            items.append(line[2:])
            continue
        flush()
        level = len(line) - len(line.lstrip("#"))
        if 1 <= level <= 3 and line[level:level + 1] == " ":
            parts.append(f"<h{level}>{html.escape(line[level + 1:])}</h{level}>")
        elif line.strip():
            parts.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    flush()
    return "\n".join(parts)


STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px;max-width:100%}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{overflow-wrap:anywhere}
td:first-child,th:first-child,td.text{text-align:left}li{margin:.3em 0}figure{margin:1.5em 0}svg{max-width:100%;height:auto}"""


def write_reports(folder: Path, summary: dict | None = None, rows: list[dict] | None = None) -> None:
    folder = Path(folder)
    if summary is None or rows is None:
        summary, rows = load_run(folder)
    opening, details = report_sections(summary)
    (folder / "report.md").write_text("\n".join(opening + details), encoding="utf-8")
    figures = "\n".join(f"<figure><figcaption><b>{html.escape(title)}</b></figcaption>{svg}</figure>"
                        for title, svg in plots(summary, rows))
    body = "\n".join([_md_table_to_html("\n".join(opening)), "<h2>Plots</h2>", figures,
                      _md_table_to_html("\n".join(details))])  # the plots before the long tables
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(summary['suite'])}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")
    (folder / "report.html").write_text(page, encoding="utf-8")
