"""The vector store as a server beside the embedded one, over a size bench/scale.py built:
`chroma run` (from the chromadb package) serves the same index folder on a free loopback port,
and one process measures retrieval (profile + candidates, fusion order) for the same 200 users
through each, alternating embedded / server / embedded (the last pass is the noise check), plus
the server's time to its first heartbeat and its peak RSS, and a fresh `recagent recommend`
process's start against the running server (a new service replica).

    uv run python bench/scale.py --sizes 1M:25M --work /tmp/scale   # builds the size first
    uv run python bench/chroma_server.py --size 1M:25M --work /tmp/scale
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from agent.backends.embedded import free_port
from agent.config import load_settings
from agent.recommender import Recommender
from agent.retrieval.chroma import ChromaRetriever
from bench.model_footprint import status_kb
from bench.scale import fresh_starts, parse_size, pct, sample_users, timed_requests
from evals.synthetic import hashed_embedder


def start_server(path: Path, timeout_s: float = 600) -> tuple[subprocess.Popen, str, float]:
    """`chroma run` over `path` on a free loopback port: (process, URL, seconds to its first
    heartbeat). The integration tests start their server with this too."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if not chroma:
        raise RuntimeError("no chroma CLI: it ships with the chromadb package (`make setup`)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    proc = subprocess.Popen([chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.perf_counter() - t < timeout_s:
        try:
            if httpx.get(url + "/api/v2/heartbeat", timeout=2).status_code == 200:
                return proc, url, time.perf_counter() - t
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"chroma run over {path} did not answer within {timeout_s:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1M:25M", help="ITEMS:INTERACTIONS, as bench/scale.py built it")
    ap.add_argument("--work", type=Path, default=Path(".recagent/scale"))
    a = ap.parse_args()
    n_items, n_inter = parse_size(a.size)
    data_dir = a.work / f"{n_items}-{n_inter}" / "data"
    results = json.loads((a.work / "results.json").read_text())
    if a.size not in results:
        raise SystemExit(f"size {a.size} not built: run bench/scale.py --sizes {a.size} --work {a.work} first")
    users = sample_users(results[a.size]["users"])
    settings = load_settings(data_dir=data_dir)
    embedded = Recommender(settings, index=ChromaRetriever(data_dir / "chroma", hashed_embedder()))
    try:
        proc, url, up_s = start_server(data_dir / "chroma")
    except RuntimeError as e:
        raise SystemExit(str(e)) from None
    try:
        served = Recommender(settings, index=ChromaRetriever(None, hashed_embedder(), url=url))
        for rec in (embedded, served):
            rec.retrieve(rec.history(users[0]), 20)  # warm: fit read, index opened
        passes = [(name, timed_requests(rec, users, lists=False)[0]) for name, rec in
                  (("embedded", embedded), ("server", served), ("embedded again (noise check)", embedded))]
        server_mb = (status_kb("VmHWM", proc.pid) or 0) // 1024
        client_starts = fresh_starts(data_dir, chroma_url=url)  # a new replica against the running server
    finally:
        proc.terminate()
        proc.wait(60)
    print(f"{a.size}: {results[a.size]['items']:,} items, {results[a.size]['interactions']:,} interactions; "
          f"chroma run answered after {up_s:.1f} s, peak RSS {server_mb:,} MB")
    print(f"a fresh `recommend --no-llm` through the server: {client_starts['start_cold_s'] or '–'} s with the page "
          f"cache dropped, then {' / '.join(map(str, client_starts['start_to_first_answer_s']))} s; "
          f"peak RSS {client_starts['start_peak_rss_mb']:,} MB")
    print("| vector store | retrieval p50 (ms) | p95 (ms) |\n|---|---|---|")
    for name, ms in passes:
        print(f"| {name} | {pct(ms, .5):.1f} | {pct(ms, .95):.1f} |")


if __name__ == "__main__":
    main()
