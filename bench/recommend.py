"""Speed of the pipeline, measured in one run:
  - end-to-end `recommend` vs the bare LLM call for the same rendered prompt (p50/p95, ratio;
    goal: ratio <= 1.10, i.e. the framework adds under 10%);
  - retrieval (profile + candidates) over the full catalog, p50/p95 (goal: p95 <= 20 ms).
The server's prompt cache is off so the bare call does not get a free prefill.
    uv run python bench/recommend.py --users 5 --model qwen2.5-coder-0.5b
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from agent.backends.embedded import EmbeddedLlamaServer
from agent.backends.openai_compat import OpenAICompatBackend
from agent.config import load_settings
from agent.models import get_model, pull
from agent.recommender import Recommender


class RecordingBackend:
    """Delegates to a backend and keeps the last request, to replay it bare."""

    def __init__(self, inner):
        self.inner, self.last = inner, None
        self.model, self.endpoint = inner.model, inner.endpoint

    @property
    def context_window(self):
        return self.inner.context_window

    def count_tokens(self, messages):
        return self.inner.count_tokens(messages)

    def complete(self, request):
        self.last = request
        return self.inner.complete(request)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=5, help="users for the LLM timing")
    ap.add_argument("--retrieval-users", type=int, default=200)
    ap.add_argument("--retrieval-only", action="store_true", help="time retrieval only, no LLM calls")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--model", default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    settings = load_settings(model=args.model)
    spec = get_model(settings.model_name)
    server = EmbeddedLlamaServer(pull(spec, Path(settings.cache_dir)), alias=spec.name, n_ctx=spec.n_ctx,
                                 threads=settings.threads, cache_prompt=False)
    server.start()
    backend = RecordingBackend(OpenAICompatBackend(server.base_url, spec.name, timeout_s=600,
                                                   context_window=spec.n_ctx, cache_dir=Path(settings.cache_dir)))
    rec = Recommender(settings, backend=backend)
    users = sorted({r[0] for r in rec.store.all_interactions()})
    rng = random.Random(args.seed)

    # warm-up: loads the embedder, the co-occurrence index, the title index
    rec.recommend(users[0], k=args.k, use_llm=False)

    # both candidate orders, alternating per user so that machine noise hits them alike
    retrieval: dict[str, list[float]] = {"fusion": [], "rrf": []}
    for u in rng.sample(users, min(args.retrieval_users, len(users))):
        history = rec.history(u)
        for order in retrieval:
            rec.settings = settings.model_copy(update={"candidate_order": order})
            t = time.perf_counter()
            rec.retrieve(history, 20)
            retrieval[order].append((time.perf_counter() - t) * 1000)
    rec.settings = settings
    if args.retrieval_only:
        server.stop()
        print_retrieval(rec, retrieval)
        return

    e2e, bare = [], []
    for u in rng.sample(users, args.users):
        t = time.perf_counter()
        result = rec.recommend(u, k=args.k)
        e2e.append(time.perf_counter() - t)
        t = time.perf_counter()
        backend.inner.complete(backend.last)
        bare.append(time.perf_counter() - t)
        print(f"user {u}: end-to-end {e2e[-1]:.2f} s, bare LLM {bare[-1]:.2f} s, "
              f"{result.usage.prompt_tokens}+{result.usage.completion_tokens} tokens"
              + (f", fallback: {result.fallback_reason}" if result.fallback_reason else ""), flush=True)
    server.stop()

    print(f"\nmodel {spec.name}, {args.users} users, k={args.k}, {settings.threads} threads")
    print("| measure | p50 | p95 |")
    print("|---|---|---|")
    print(f"| end-to-end recommend (s) | {pct(e2e, .5):.2f} | {pct(e2e, .95):.2f} |")
    print(f"| bare LLM call, same prompt (s) | {pct(bare, .5):.2f} | {pct(bare, .95):.2f} |")
    print(f"| ratio end-to-end / bare (goal <= 1.10) | {pct(e2e, .5) / pct(bare, .5):.3f} | "
          f"{pct(e2e, .95) / pct(bare, .95):.3f} |")
    print_retrieval(rec, retrieval)


def print_retrieval(rec, retrieval: dict[str, list[float]]) -> None:
    for order, ms in retrieval.items():
        print(f"| retrieval, {order} order, over {rec.store.count_items()} items, {len(ms)} users "
              f"(ms, goal p95 <= 20) | {statistics.median(ms):.1f} | {pct(ms, .95):.1f} |")
    print(f"| ratio fusion / rrf | {statistics.median(retrieval['fusion']) / statistics.median(retrieval['rrf']):.2f} | "
          f"{pct(retrieval['fusion'], .95) / pct(retrieval['rrf'], .95):.2f} |")


if __name__ == "__main__":
    main()
