"""Bounded loopback load on POST /v1/recommend: once with the scripted fake backend (the
framework's own capacity: HTTP, retrieval, grounding), once with the embedded model.

    uv run python bench/serve_load.py [--requests 200] [--concurrency 8]
        [--llm-requests 12] [--llm-concurrency 4] [--model smollm2-135m] [--prompt rank@v1]

Needs an ingested catalog (RECAGENT_DATA_DIR, e.g. after `make demo`). Prints p50/p95 latency,
throughput and the number of 5xx answers (goal: zero) for each run."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1]))

from agent.backends.fake import ScriptedFakeBackend, rank_in_order, rank_labels  # noqa: E402
from agent.config import load_settings  # noqa: E402
from agent.conversation import ChatSessions  # noqa: E402
from agent.recommender import Recommender  # noqa: E402
from agent.service import BackgroundServer, create_app  # noqa: E402


def fake_step(request):
    return rank_labels(request) if "ranking" in request.response_schema["properties"] else rank_in_order(request)


async def load(url: str, users: list[str], n: int, concurrency: int, prompt: str, k: int) -> dict:
    latencies, statuses = [], []
    sem = asyncio.Semaphore(concurrency)
    rng = random.Random(0)
    bodies = [{"user_id": rng.choice(users), "k": k, "prompt": prompt} for _ in range(n)]
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        async def one(body):
            async with sem:
                t = time.perf_counter()
                r = await client.post("/v1/recommend", json=body)
                latencies.append(time.perf_counter() - t)
                statuses.append(r.status_code)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=20)
    return {"requests": n, "concurrency": concurrency, "p50_s": statistics.median(latencies), "p95_s": q[18],
            "throughput_rps": n / wall, "5xx": sum(s >= 500 for s in statuses),
            "non_200": sum(s != 200 for s in statuses)}


def run(label: str, agent: ChatSessions, users: list[str], n: int, concurrency: int, prompt: str, k: int) -> None:
    with BackgroundServer(create_app(agent)) as url:
        httpx.post(url + "/v1/recommend", json={"user_id": users[0], "k": k, "prompt": prompt}, timeout=600)  # warm-up
        r = asyncio.run(load(url, users, n, concurrency, prompt, k))
    print(f"{label:<28} {r['requests']:>4} req @ {r['concurrency']}: p50 {r['p50_s']:.3f} s, p95 {r['p95_s']:.3f} s, "
          f"{r['throughput_rps']:.2f} req/s, 5xx {r['5xx']}, non-200 {r['non_200']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--llm-requests", type=int, default=12)
    ap.add_argument("--llm-concurrency", type=int, default=4)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--prompt", default="rank@v1")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()

    settings = load_settings(model=args.model)
    probe = Recommender(settings)
    users = sorted({row[0] for row in probe.store.all_interactions()})[:200]
    probe.store.close()
    if not users:
        sys.exit(f"no interactions in {settings.data_dir}: run `make demo` (or recagent ingest) first")

    fake = ChatSessions(Recommender(settings, backend=ScriptedFakeBackend([fake_step], repeat_last=True)), use_llm=True)
    run("scripted fake backend", fake, users, args.requests, args.concurrency, args.prompt, args.k)
    fake.close()
    real = ChatSessions(Recommender(settings), use_llm=True)
    run(f"embedded {args.model}", real, users, args.llm_requests, args.llm_concurrency, args.prompt, args.k)
    real.close()


if __name__ == "__main__":
    main()
