"""Explanation eval: per explanation prompt, over N users' lists from the stored data, how many
delivered explanations the model wrote and the checker passed, what its first answers got
wrong (by kind), how specific, personal and varied the text is, and how long it took.
Prompt variants are compared per user with paired bootstrap CIs (evals/stats.py).

    recagent eval explain --users 100 --prompt explain@v1 --prompt explain-terse@v1
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from agent.errors import InputError
from agent.pipeline.claims import check, checker_for, skeleton
from agent.pipeline.explain import ESCAPED_QUOTE, ExplainStage, data_text, prompt_evidence, prompt_taste
from agent.pipeline.grounding import bare_title, word_runs
from agent.recommender import Recommender
from evals.split import sample_users
from evals.stats import mean_ci, paired_comparison
from prompts.inputs import ExplainInputs

PER_USER = ("llm_share", "hook_llm_share", "own_share", "first_pass", "false_claims_delivered", "specific", "restated",
            "distinct_2", "words", "facts", "unique_facts", "max_same_tail", "completion_tokens", "first_item_s", "list_s")
RESTATE_RUN = 5  # words in a row taken from the prompt's facts that count as restating them
COPIED = 0.9  # a model text this much restated is a fact copied: it says no more than the template


def distinct_n(texts: list[str], n: int = 2) -> float:
    """Unique word n-grams over all n-grams of a list's texts (1.0: no phrase repeats)."""
    grams = [tuple(w[i:i + n]) for t in texts for w in [re.findall(r"[a-z0-9']+", t.lower())]
             for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def is_specific(text: str, ev) -> bool:
    """Names concrete evidence: a linked title, a shared genre or tag, or one of its numbers."""
    low = text.lower()
    if any(bare_title(b.title).split(":")[0] in low for b in ev.because):
        return True
    if any(c.category.lower() in low for c in ev.shared_categories) or any(t.lower() in low for t in ev.shared_tags):
        return True
    return any(str(n) in re.findall(r"\d+", low) for n in ev.numbers() if n > 1)


def facts_stated(text: str, ev, vocab) -> set[str]:
    """The evidence's facts a text states: a linked or series title, a count (of people who liked
    a title, of liked titles of a genre or tag, of fans), a genre of the item, a shared tag, the
    series relation, the year, the chat request. A delivered text passed its checker, so what it
    states is verified."""
    low = " " + text.lower() + " "
    counted = re.sub(r"\bone (?=of the movies you liked|is tagged)", "1 ", low)  # the template's "like one of the movies you liked"
    numbers = set(re.findall(r"(?<![\d.])\d+(?![\d/])", counted))
    out = {f"title:{bare_title(b.title)}" for b in ev.because + ev.series
           if bare_title(b.title).split(":")[0].split(" (")[0] in low}
    out |= {f"people:{b.title}" for b in ev.because if b.people and str(b.people) in numbers}
    out |= {f"count:{c.category}" for c in ev.shared_categories if str(c.liked) in numbers}
    out |= {f"count:{t}" for t, n in zip(ev.shared_tags, ev.shared_tag_counts) if str(n) in numbers}
    out |= {"fans"} if ev.fans and str(ev.fans) in numbers and not any(str(b.people) == str(ev.fans)
                                                                       for b in ev.because) else set()
    out |= {f"genre:{vocab.genre_forms[f]}" for f in vocab.genre_forms
            if vocab.genre_forms[f] in ev.categories and re.search(r"(?<![\w])" + re.escape(f) + r"(?![\w])", low)}
    out |= {f"tag:{t.lower()}" for t in set(ev.tags + ev.shared_tags) if t.lower() in low}
    out |= {"series"} if ev.series and re.search(r"\b(?:sequel|earlier part|series|follow-up|part)\b", low) else set()
    out |= {"year"} if ev.year and str(ev.year) in numbers else set()
    out |= {"request"} if ev.constraint and ev.constraint.lower() in low else set()
    return out


def value_measures(texts: list[str], contexts, vocab, openings: list[str] | None = None) -> dict:
    """Per list: facts stated per text, facts no other item of the list states (per text), the
    most texts sharing one tail (the masked words after a given opening), words."""
    from agent.pipeline.explain import tail_words

    facts = [facts_stated(t, c.evidence, vocab) for t, c in zip(texts, contexts)]
    kinds = [{f.split(":")[0] if f.startswith(("genre", "fans", "year", "series")) else f for f in fs} for fs in facts]
    counts = Counter(f for fs in kinds for f in fs)
    tails = Counter(" ".join(tail_words(t, o, c, vocab)) for t, o, c in
                    zip(texts, openings or [""] * len(texts), contexts))
    n = max(len(texts), 1)
    return {"facts": sum(map(len, facts)) / n, "unique_facts": sum(sum(counts[f] == 1 for f in fs) for fs in kinds) / n,
            "max_same_tail": max(tails.values(), default=0),
            "words": float(np.mean([len(t.split()) for t in texts])) if texts else 0.0}


def restated_share(facts: str, text: str, n: int = RESTATE_RUN) -> float:
    """The share of `text`'s words that sit in a run of `n` or more words copied from `facts`:
    1.0 is a fact restated word for word, which says no more than the data template."""
    given = set(word_runs(facts, n))
    words = word_runs(text, 1)
    covered = [False] * len(words)
    for i, run in enumerate(word_runs(text, n)):
        if run in given:
            covered[i:i + n] = [True] * n
    return sum(covered) / len(words) if words else 0.0


def prompt_facts(rec: Recommender, prompt: str, taste, ev, position: int = 0, genre_counts_full: bool = False) -> str:
    """The facts `prompt` gives the model for one item (its first attempt's data section)."""
    return data_text(rec.registry.render(prompt, ExplainInputs(
        taste=prompt_taste(taste), item=prompt_evidence(ev), position=position,
        genre_counts_full=genre_counts_full)).messages)


def list_row(rec: Recommender, user: str, prompt: str, k: int) -> dict:
    """One user's list with one prompt, scored."""
    start = time.perf_counter()
    traced = rec.traced(user, k=k, prompt=prompt)
    seconds = time.perf_counter() - start
    r, records = traced.result, traced.explained
    history = rec.history(user)
    evidence = rec.evidence_for(history, [rec.item(i.item_id) for i in r.items])
    contexts = evidence.contexts
    vocab = rec.vocabulary()
    delivered = [i.explanation for i in r.items]
    checker = checker_for(r.explain_mode or "constrained")
    delivered_bad = [[v.kind for v in checker(t, c, vocab)] for t, c in zip(delivered, contexts)]
    openings = Counter(skeleton(t, c, vocab) for t, c in zip(delivered, contexts))
    answered = [x for x in records if x.answers]
    from agent.pipeline.explain import genre_counts_full, template_texts
    templates = [template_texts(c.evidence, n) for n, c in enumerate(contexts)]
    full = genre_counts_full([c.evidence for c in contexts])
    given = [rec.registry.render(prompt, ExplainInputs(taste=prompt_taste(evidence.taste), item=prompt_evidence(c.evidence),
                                                       position=n, genre_counts_full=full[n])).opening
             if i.explanation_source == "llm" else "" for n, (i, c) in enumerate(zip(r.items, contexts))]
    value = value_measures(delivered, contexts, vocab, given)
    template_value = value_measures([t for _, t in templates], contexts, vocab)
    restated = [restated_share(prompt_facts(rec, prompt, evidence.taste, c.evidence, n, full[n]), i.explanation)
                for n, (i, c) in enumerate(zip(r.items, contexts)) if i.explanation_source == "llm"]
    return {
        "user": user, "prompt": prompt, "items": len(r.items),
        "llm_share": sum(i.explanation_source == "llm" for i in r.items) / max(len(r.items), 1),
        "own_share": sum(share < COPIED for share in restated) / max(len(r.items), 1),  # ... less facts copied
        "hook_llm_share": sum(x.hook_source == "llm" for x in records) / max(len(records), 1),
        "first_pass": sum(not x.first_violations for x in answered) / len(answered) if answered else float("nan"),
        "first_violations": Counter(v.kind for x in answered for v in x.first_violations),
        "false_claims_delivered": sum(bool(b) for b in delivered_bad),
        "delivered_violations": Counter(k for b in delivered_bad for k in b),
        "max_same_opening": max(openings.values(), default=0),
        "specific": sum(is_specific(t, c.evidence) for t, c in zip(delivered, contexts)) / max(len(delivered), 1),
        "restated": float(np.mean(restated)) if restated else float("nan"),
        "distinct_2": distinct_n(delivered),
        "words": value["words"], "template_words": template_value["words"],
        "facts": value["facts"], "template_facts": template_value["facts"],
        "unique_facts": value["unique_facts"], "template_unique_facts": template_value["unique_facts"],
        "max_same_tail": value["max_same_tail"], "explain_mode": r.explain_mode,
        "hook_words": float(np.mean([len(i.personalized_title.split()) for i in r.items])) if r.items else 0.0,
        "completion_tokens": r.usage.completion_tokens, "prompt_tokens": r.usage.prompt_tokens,
        "first_item_s": r.timing.first_item_ms / 1000, "list_s": seconds,
        "fallback_reason": r.fallback_reason,
        "examples": [{"title": i.title, "hook": i.personalized_title, "why": i.explanation,
                      "source": i.explanation_source} for i in r.items[:3]],
        "first_llm": next(((i.item_id, i.explanation) for i in r.items if i.explanation_source == "llm"), None),
        # every delivered text, so a later checker can re-check the run without the model (`recheck`),
        # and each first answer the checker rejected, with why (for the judge's agreement: evals/judge.py)
        "delivered": [[i.item_id, i.explanation, i.explanation_source] for i in r.items],
        "rejected": [[i.item_id, answer_text(x.answers[0]), sorted({v.kind for v in x.first_violations})]
                     for i, x in zip(r.items, records) if x.answers and x.first_violations],
    }


def answer_text(raw: str) -> str:
    """The sentence of a raw answer: its "why" when the answer is JSON, else the text itself."""
    try:
        data = json.loads(raw)
        return " ".join(str(data.get("why", "")).split()) if isinstance(data, dict) else raw.strip()
    except ValueError:
        return " ".join(raw.replace(ESCAPED_QUOTE, '"').strip().strip('"').split())


def recheck(rec: Recommender, rows: list[dict]) -> dict | None:
    """The delivered texts of stored lists checked again by today's checker (the run's own
    re-check used the checker of its day): how many it would reject, model-written or not, by
    kind. None when the rows predate stored texts."""
    stored = [r for r in rows if r.get("delivered")]
    if not stored:
        return None
    vocab, kinds, failing, llm_failing, texts = rec.vocabulary(), Counter(), 0, 0, 0
    for r in stored:
        ids = [d[0] for d in r["delivered"]]
        contexts = rec.evidence_for(rec.history(r["user"]), [rec.item(i) for i in ids]).contexts
        for (_, text, source), ctx in zip(r["delivered"], contexts):
            texts += 1
            if bad := check(text, ctx, vocab):
                failing, llm_failing = failing + 1, llm_failing + (source == "llm")
                kinds.update(v.kind for v in bad)
    return {"lists": len(stored), "texts": texts, "failing": failing, "llm_written_failing": llm_failing,
            "by_kind": dict(kinds.most_common())}


def user_swap(rec: Recommender, a: dict, b_user: str, prompt: str) -> dict | None:
    """a's first model-written explanation, (1) checked against b's history for the same item
    and (2) beside the explanation written for b: personal text fails the other's check and differs."""
    if a["first_llm"] is None:
        return None
    item_id, text = a["first_llm"]
    item = rec.item(item_id)
    history_b = rec.history(b_user)
    if item_id in {e.item_id for e in history_b}:
        return None
    evidence_b = rec.evidence_for(history_b, [item])
    stage = ExplainStage(rec.backend, rec.registry, rec.vocabulary(), prompt, workers=1,
                         budget_s=rec.settings.explain_budget_s)
    [for_b] = stage.run(evidence_b.taste, evidence_b.contexts)
    ctx_b = evidence_b.contexts[0]
    return {"fails_other_history": bool(check(text, ctx_b, rec.vocabulary())),
            "differs": for_b.explanation.strip().lower() != text.strip().lower(),
            "other_written_by_llm": for_b.source == "llm"}


def summarise(rows: list[dict], swaps: list[dict]) -> dict:
    out = {"lists": len(rows), "items": sum(r["items"] for r in rows)}
    for key in PER_USER + ("max_same_opening", "template_facts", "template_unique_facts", "hook_words"):
        values = np.array([r.get(key, np.nan) for r in rows], dtype=float)  # rows of older runs lack newer keys
        values = values[~np.isnan(values)]  # ... and a list with no model text has no `restated`
        low, high = mean_ci(values) if len(values) else (None, None)
        out[key] = {"mean": round(float(np.mean(values)), 4) if len(values) else None,
                    "ci": [round(low, 4), round(high, 4)] if low is not None else None}
    out["lists_with_3_same_opening"] = sum(r["max_same_opening"] >= 3 for r in rows)
    out["lists_with_3_same_tail"] = sum(r.get("max_same_tail", 0) >= 3 for r in rows)
    valued = [r for r in rows if "facts" in r]  # rows of older runs lack the value measures
    if valued:  # the delivered texts against the evidence template for the same items, paired by list
        out["value_vs_template"] = {key: paired_comparison(np.array([r[key] for r in valued], dtype=float),
                                                           np.array([r[f"template_{key}"] for r in valued], dtype=float))
                                    for key in ("facts", "unique_facts", "words")}
    out["false_claims_delivered_total"] = sum(r["false_claims_delivered"] for r in rows)
    answered = sum(r["items"] for r in rows)
    first = Counter()
    for r in rows:
        first.update(r["first_violations"])
    out["first_answer_violations_per_item"] = {k: round(v / answered, 4) for k, v in first.most_common()}
    delivered = Counter()
    for r in rows:
        delivered.update(r["delivered_violations"])
    out["delivered_violations"] = dict(delivered)
    out["p95_first_item_s"] = round(float(np.percentile([r["first_item_s"] for r in rows], 95)), 2) if rows else None
    out["p95_list_s"] = round(float(np.percentile([r["list_s"] for r in rows], 95)), 2) if rows else None
    if swaps:
        out["user_swap"] = {k: round(sum(s[k] for s in swaps) / len(swaps), 4)
                            for k in ("fails_other_history", "differs", "other_written_by_llm")} | {"pairs": len(swaps)}
    return out


def _row_line(row: dict) -> str:
    return json.dumps({**row, "first_violations": dict(row["first_violations"]),
                       "delivered_violations": dict(row["delivered_violations"])}, default=str)


def _read_row(line: str) -> dict:
    row = json.loads(line)
    row["first_violations"], row["delivered_violations"] = (Counter(row["first_violations"]),
                                                            Counter(row["delivered_violations"]))
    row["first_llm"] = tuple(row["first_llm"]) if row["first_llm"] else None
    return row


def _done_before(out_dir: Path | None) -> tuple[dict, dict]:
    """Rows and swaps an interrupted run of the same folder already wrote, by (user, prompt)."""
    rows, swaps = {}, {}
    if out_dir is not None and (out_dir / "lists.jsonl").exists():
        for line in (out_dir / "lists.jsonl").read_text().splitlines():
            row = _read_row(line)
            rows[row["user"], row["prompt"]] = row
        for line in (out_dir / "swaps.jsonl").read_text().splitlines() if (out_dir / "swaps.jsonl").exists() else []:
            swap = json.loads(line)
            swaps[swap.pop("user"), swap.pop("prompt")] = swap
    return rows, swaps


def _same_model(rows, model: str, out_dir: Path | None) -> None:
    """A run continues only lists of its own model: one folder never mixes two models' texts."""
    other = sorted({r["model"] for r in rows if r.get("model") and r["model"] != model})
    if other:
        raise InputError(f"{out_dir} holds lists written by {', '.join(other)}, not {model}: "
                         "continue it with that model, or give another --out folder")


def run(rec: Recommender, prompts: list[str], n_users: int, k: int = 10, seed: int = 42,
        out_dir: Path | None = None, progress=None) -> dict:
    """Writes each list to `out_dir`/lists.jsonl as it is scored; the same command on the same
    folder continues an interrupted run (a long one is an hour per prompt on 2 cores)."""
    users = sample_users(sorted({r[0] for r in rec.store.all_interactions()}), n_users, seed)
    rows: dict[str, list[dict]] = {p: [] for p in prompts}
    swaps: dict[str, list[dict]] = {p: [] for p in prompts}
    done_rows, done_swaps = _done_before(out_dir)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    model = None  # the model answering this run, once a list needs it (a finished run needs none)
    for n, user in enumerate(users):
        for p in prompts:
            row = done_rows.get((user, p))
            if row is None:
                if model is None:
                    model = rec.backend.model  # start the model before the clock runs
                    _same_model(done_rows.values(), model, out_dir)
                row = list_row(rec, user, p, k) | {"model": model}
                _append(out_dir, "lists.jsonl", _row_line(row))
            rows[p].append(row)
            if n % 2 == 1:  # pairs (0, 1), (2, 3), …: the earlier user's text against the later user
                if (user, p) in done_swaps:
                    s = done_swaps[user, p] or None
                else:
                    s = user_swap(rec, rows[p][-2], user, p)
                    _append(out_dir, "swaps.jsonl", json.dumps({"user": user, "prompt": p, **(s or {})}))
                if s:
                    swaps[p].append(s)
        if progress:
            progress(n + 1, len(users))
    stored = {r.get("model") for r in done_rows.values()} - {None}
    summary = {"users": len(users), "k": k, "seed": seed,
               "model": model or (stored.pop() if len(stored) == 1 else rec.backend.model),
               "variants": {p: summarise(rows[p], swaps[p]) | {"recheck_today": recheck(rec, rows[p])}
                            for p in prompts}}
    if len(prompts) > 1:
        base = prompts[0]
        summary["paired"] = {p: {key: paired_comparison(np.array([r.get(key, np.nan) for r in rows[p]], dtype=float),
                                                        np.array([r.get(key, np.nan) for r in rows[base]], dtype=float))
                                 for key in PER_USER}
                             for p in prompts[1:]}
        summary["paired_baseline"] = base
    if out_dir is not None:
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _append(out_dir: Path | None, name: str, line: str) -> None:
    if out_dir is not None:
        with open(out_dir / name, "a") as f:
            f.write(line + "\n")


def compare_runs(folder_a: Path, folder_b: Path) -> str:
    """Markdown: two stored runs of the same users (another model, or another setting such as
    RECAGENT_THREADS), each shared prompt's per-list measures paired by user."""
    from evals.report import _ci, _fmt

    def rows_of(folder: Path) -> dict:
        if not (folder / "lists.jsonl").exists():
            raise InputError(f"{folder} holds no explanation run (no lists.jsonl): run `recagent eval explain --out`")
        return _done_before(folder)[0]

    a, b = rows_of(Path(folder_a)), rows_of(Path(folder_b))
    lines = [f"# {folder_a} (A) vs {folder_b} (B)", "",
             "| prompt | per list | A | B | Δ (B − A) [95% CI] | p | n paired |", "|---|---|---|---|---|---|---|"]
    prompts = sorted({p for _, p in a} & {p for _, p in b})
    if not prompts:
        return "\n".join(lines[:2] + ["The runs share no prompt."])
    for p in prompts:
        users = sorted(u for u, q in a if q == p and (u, p) in b)
        for key in PER_USER:
            xa = np.array([a[u, p].get(key, np.nan) for u in users], dtype=float)
            xb = np.array([b[u, p].get(key, np.nan) for u in users], dtype=float)
            c = paired_comparison(xb, xa)
            lines.append(f"| {p} | {key} | {_fmt(c['mean_baseline'])} | {_fmt(c['mean_variant'])} | {_ci(c)} | "
                         f"{_fmt(c['p_value'])} | {c['n']} |")
    return "\n".join(lines)
