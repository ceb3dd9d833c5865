"""Speed of the pipeline, measured in one run, after the model is loaded:
  - `recommend` with the default per-item explanations: time to the first item and to the
    whole list (goals: 3 s and 12 s for 10 items), beside the server's own decode speed in the
    same run: the floor is the list's generated tokens at that speed, and the ratio says how
    much of the list time is generation at all; llama.cpp's own counters split each list's
    time into reading prompts (prefill), generating, and the rest (retrieval, checks, Python);
  - retrieval (profile + candidates) over the full catalog, p50/p95 (goal: p95 <= 20 ms; with the
    learned ranker, --ltr, 30 ms), item vectors from the memory-mapped snapshot and from Chroma,
    the search exact over the snapshot and through Chroma's index.
    uv run python bench/recommend.py --users 5 --model qwen2.5-coder-0.5b
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import httpx

from agent.backends.embedded import EmbeddedLlamaServer
from agent.backends.openai_compat import OpenAICompatBackend
from agent.options import DEFAULT_PROMPT
from agent.config import load_settings
from agent.bundled_models import get_model, pull
from agent.recommender import Recommender


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=5, help="users for the LLM timing")
    ap.add_argument("--retrieval-users", type=int, default=200)
    ap.add_argument("--retrieval-only", action="store_true", help="time retrieval only, no LLM calls")
    ap.add_argument("--ltr", action="store_true", help="candidate_order ltr (the fit makes the ranker, or an installed "
                    "one is read): its retrieval is timed too, and the lists use it")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--model", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prompt", default=DEFAULT_PROMPT)
    args = ap.parse_args()
    settings = load_settings(model=args.model, **({"candidate_order": "ltr"} if args.ltr else {}))
    spec = get_model(settings.model_name)
    server = EmbeddedLlamaServer(pull(spec, Path(settings.cache_dir)), alias=spec.name, n_ctx=spec.n_ctx,
                                 threads=settings.threads, parallel=settings.parallel, metrics=True)
    server.start()
    backend = OpenAICompatBackend(server.base_url, spec.name, api_key=server.api_key, timeout_s=600,
                                  context_window=spec.n_ctx, cache_dir=Path(settings.cache_dir))
    rec = Recommender(settings, backend=backend)
    users = sorted({r[0] for r in rec.store.all_interactions()})
    rng = random.Random(args.seed)

    # warm-up: loads the embedder, the co-occurrence index, the title index
    rec.recommend(users[0], k=args.k, use_llm=False)

    # the candidate orders, alternating per user so that machine noise hits them alike: each with the
    # item vectors from the memory-mapped snapshot (and, for small catalogs, the exact search over it);
    # the fusion's also with Chroma's index searching, and with every vector read back from Chroma
    # (with the in-memory cache, as before the snapshot); with --ltr the learned ranker's as well.
    # A variant: (order, vectors from the snapshot, exact search up to this many items)
    exact = rec.index.exact_search_max_items
    variants = {"fusion": ("fusion", True, exact), "rrf": ("rrf", True, exact),
                "fusion, Chroma's search": ("fusion", True, 0), "fusion, vectors from Chroma": ("fusion", False, 0)}
    if settings.candidate_order == "ltr":
        variants.update({"ltr": ("ltr", True, exact), "ltr, vectors from Chroma": ("ltr", False, 0)})
        if rec.ranker() is None:
            raise SystemExit("--ltr: the fit made no ranker, or one no better than the fusion (see its log)")
    retrieval: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for n, u in enumerate(rng.sample(users, min(args.retrieval_users, len(users)))):
        history = rec.history(u)
        # each goes first for an equal share of users: the first pays the vector reads the others reuse
        for name in names[n % len(names):] + names[:n % len(names)]:
            order, rec.index.use_snapshot, rec.index.exact_search_max_items = variants[name]
            t = time.perf_counter()
            rec.retrieve(history, 20, order=order)
            retrieval[name].append((time.perf_counter() - t) * 1000)
    rec.index.use_snapshot, rec.index.exact_search_max_items = True, exact
    if args.retrieval_only:
        server.stop()
        print_retrieval(rec, retrieval)
        return

    decode_tps = server_decode_speed(server.base_url, server.headers)
    first, whole, floor, prefill, decode = [], [], [], [], []
    for u in rng.sample(users, args.users):
        before = server_counters(server.base_url, server.headers)
        t = time.perf_counter()
        result = rec.recommend(u, k=args.k, prompt=args.prompt)
        whole.append(time.perf_counter() - t)
        spent = {k: v - before[k] for k, v in server_counters(server.base_url, server.headers).items()}
        prefill.append(spent["prompt_seconds_total"])
        decode.append(spent["tokens_predicted_seconds_total"])
        first.append(result.timing.first_item_ms / 1000)
        floor.append(result.usage.completion_tokens / decode_tps)
        written = sum(i.explanation_source == "llm" for i in result.items)
        print(f"user {u}: first item {first[-1]:.2f} s, list {whole[-1]:.2f} s, {written}/{len(result.items)} "
              f"model-written, {result.usage.prompt_tokens}+{result.usage.completion_tokens} tokens; "
              f"prefill {prefill[-1]:.2f} s ({spent['prompt_tokens_total']:.0f} tokens not cached), "
              f"generation {decode[-1]:.2f} s"
              + (f", fallback: {result.fallback_reason}" if result.fallback_reason else ""), flush=True)
    server.stop()

    print(f"\nmodel {spec.name}, prompt {args.prompt}, {args.users} users, k={args.k}, {settings.threads} threads, "
          f"{settings.parallel} slot(s); server decode speed {decode_tps:.1f} tokens/s")
    print("| measure | p50 | p95 |")
    print("|---|---|---|")
    print(f"| first item (s, goal <= 3) | {pct(first, .5):.2f} | {pct(first, .95):.2f} |")
    print(f"| whole list (s, goal <= 12) | {pct(whole, .5):.2f} | {pct(whole, .95):.2f} |")
    print(f"| generation floor: list tokens / decode speed (s) | {pct(floor, .5):.2f} | {pct(floor, .95):.2f} |")
    print(f"| ratio list / floor | {pct(whole, .5) / pct(floor, .5):.2f} | {pct(whole, .95) / pct(floor, .95):.2f} |")
    rest = [w - p - d for w, p, d in zip(whole, prefill, decode)]
    parts = (("reading prompts (prefill)", prefill), ("generating", decode), ("the rest: retrieval, checks, Python", rest))
    for name, xs in parts:
        print(f"| list: {name} (s) | {pct(xs, .5):.2f} | {pct(xs, .95):.2f} |")
    print_retrieval(rec, retrieval)
    print("\nshare of all lists' time: " + ", ".join(f"{name.split(':')[0]} {sum(xs) / sum(whole):.0%}" for name, xs in parts))


def server_decode_speed(base_url: str, headers: dict, tokens: int = 64) -> float:
    """Tokens/s of plain generation on this server now (llama.cpp reports its own timings)."""
    body = {"messages": [{"role": "user", "content": "Count from one to one hundred in words."}],
            "max_tokens": tokens, "temperature": 0}
    r = httpx.post(base_url + "/v1/chat/completions", json=body, headers=headers, timeout=300).json()
    timings = r.get("timings") or {}
    if "predicted_per_second" in timings:
        return float(timings["predicted_per_second"])
    raise SystemExit(f"the server reported no timings: {json.dumps(r)[:200]}")


def server_counters(base_url: str, headers: dict) -> dict[str, float]:
    """llama.cpp's running totals (/metrics): prompt tokens read and generated, and the seconds of each."""
    text = httpx.get(base_url + "/metrics", headers=headers, timeout=30).text
    wanted = ("prompt_tokens_total", "prompt_seconds_total", "tokens_predicted_total", "tokens_predicted_seconds_total")
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("llamacpp:") and name[len("llamacpp:"):] in wanted:
            found[name[len("llamacpp:"):]] = float(value)
    if set(found) != set(wanted):
        raise SystemExit(f"the server's /metrics lacks {sorted(set(wanted) - set(found))}")
    return found


def print_retrieval(rec, retrieval: dict[str, list[float]]) -> None:
    for name, ms in retrieval.items():
        goal = 30 if name.startswith("ltr") else 20
        print(f"| retrieval, {name} order, over {rec.store.count_items()} items, {len(ms)} users "
              f"(ms, goal p95 <= {goal}) | {statistics.median(ms):.1f} | {pct(ms, .95):.1f} |")
    for a, b in (("fusion", "rrf"), ("ltr", "fusion"), ("fusion", "fusion, Chroma's search"),
                 ("fusion", "fusion, vectors from Chroma"),
                 ("ltr", "ltr, vectors from Chroma")):
        if a in retrieval and b in retrieval:
            print(f"| ratio {a} / {b} | {statistics.median(retrieval[a]) / statistics.median(retrieval[b]):.2f} | "
                  f"{pct(retrieval[a], .95) / pct(retrieval[b], .95):.2f} |")


if __name__ == "__main__":
    main()
