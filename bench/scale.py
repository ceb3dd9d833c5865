"""How cost grows with the catalog and the interactions: synthetic MovieLens-shaped data
(evals/synthetic.py) at several sizes, each measured in its own process:

  - ingest: items/s into the store and the vector index (with a hashed stand-in embedder), the
    real sentence embedder's items/s on a 2,000-item slice (and what the whole catalog would
    take at that rate), interactions/s;
  - fitting the item models once after ingest (what `recagent ingest` does at its end);
  - process start to first answer: `recagent recommend --no-llm` as a fresh process, once with
    the page cache dropped first (where the bench may: root), then twice;
  - retrieval (profile + candidates, fusion order) and `recommend --no-llm` p50/p95 over 200 users;
  - peak RSS of the measuring process and of a fresh `recommend` process; disk of the data dir;
and across sizes the growth exponent of each (the log-log slope against interactions).

    uv run python bench/scale.py --sizes 10k:1M 100k:10M 1M:25M --work .recagent/scale
    uv run python bench/scale.py --report          # the table and plot from the saved results
    uv run python bench/scale.py --serving 10k:1M 100k:10M 1M:25M --work /tmp/scale  # all but ingest, over built data
    uv run python bench/scale.py --ltr 1M:25M --work /tmp/scale   # with the learned ranker, over built data
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
USERS = 200
# `recagent ARGS…` in a fresh interpreter that reports its own peak RSS (VmHWM) when it exits:
# getrusage's maxrss survives exec, so it would count the pages of the parent it was forked from
FRESH_PROCESS = ("import runpy, sys\nsys.argv = ['recagent'] + sys.argv[1:]\ntry:\n"
                 "    runpy.run_module('agent.cli', run_name='__main__')\nfinally:\n"
                 "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
                 "    print('peak-rss-kb', hwm, file=sys.stderr)")


def parse_size(text: str) -> tuple[int, int]:
    def number(s: str) -> int:
        s = s.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(s[-1], 1)
        return int(float(s[:-1] if scale > 1 else s) * scale)

    items, _, interactions = text.partition(":")
    return number(items), number(interactions)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure_one(n_items: int, n_interactions: int, work: Path, seed: int = 0) -> dict:
    """One size, in this process (run it in a fresh one: peak RSS is per process)."""
    from agent.ingest import Source, ingest
    from agent.retrieval.chroma import ChromaRetriever
    from agent.retrieval.embeddings import MiniLMEmbedder
    from agent.store import CatalogStore
    from evals.synthetic import generate, hashed_embedder

    out: dict = {"items": n_items, "target_interactions": n_interactions}
    folder = work / f"{n_items}-{n_interactions}"
    data_dir = folder / "data"
    shutil.rmtree(data_dir, ignore_errors=True)  # ingest measured into an empty data dir
    t = time.perf_counter()
    synth = generate(folder / "csv", n_items, n_interactions, seed)
    out.update(generate_s=round(time.perf_counter() - t, 1), users=synth.n_users, interactions=synth.n_interactions)

    store = CatalogStore(data_dir / "catalog.sqlite")
    index = ChromaRetriever(data_dir / "chroma", hashed_embedder())
    t = time.perf_counter()
    ingest(Source(items=synth.items), store, index)
    items_s = time.perf_counter() - t
    t = time.perf_counter()
    summary = ingest(Source(items=synth.items, interactions=synth.interactions), store, index)
    inter_s = time.perf_counter() - t
    out.update(ingest_items_s=round(items_s, 1), items_per_s=round(n_items / items_s),
               ingest_interactions_s=round(inter_s, 1), interactions_per_s=round(synth.n_interactions / inter_s),
               rejected=len(summary.rejected))

    texts = [it.title + ". " + it.text for it in store.get_items(f"i{i}" for i in range(min(2000, n_items))).values()]
    embedder = MiniLMEmbedder()
    embedder(texts[:32])  # load the model before the clock starts
    t = time.perf_counter()
    embedder(texts)
    rate = len(texts) / (time.perf_counter() - t)
    out.update(embed_items_per_s=round(rate, 1), embed_whole_catalog_s=round(n_items / rate))
    store.close()
    return {**out, **measure_serving(data_dir, synth.n_users, seed, index)}


def measure_serving(data_dir: Path, n_users: int, seed: int = 0, index=None) -> dict:
    """Over one size's ingested data, in this process: a fit from scratch, fresh-process starts
    (one with the page cache dropped first, where this process may), retrieval over USERS other
    users right after (what the first requests of a cold start see), then retrieval and
    `recommend --no-llm` p50/p95 over USERS users with the data's files read into the page cache
    once before (a service that has run a while), peak RSS, disk."""
    from agent.config import load_settings
    from agent.recommender import Recommender

    out: dict = {}
    shutil.rmtree(data_dir / "fitted", ignore_errors=True)  # timed from scratch, also when re-measured
    settings = load_settings(data_dir=data_dir)
    rec = Recommender(settings, index=index)
    t = time.perf_counter()
    rec.fit_now()
    out["fit_s"] = round(time.perf_counter() - t, 1)
    out["fit_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    out.update(fresh_starts(data_dir))

    users = sample_users(n_users, seed)
    others = [u for u in sample_users(n_users, seed + 1) if u not in set(users)] or users  # tiny sizes: no others
    first, _ = timed_requests(rec, others)
    out.update(first_requests_retrieval_p50_ms=round(pct(first, .5), 1),
               first_requests_retrieval_p95_ms=round(pct(first, .95), 1))
    read_into_page_cache(data_dir)
    retrieval, lists = timed_requests(rec, users)
    out.update(retrieval_p50_ms=round(pct(retrieval, .5), 1), retrieval_p95_ms=round(pct(retrieval, .95), 1),
               recommend_p50_ms=round(pct(lists, .5), 1), recommend_p95_ms=round(pct(lists, .95), 1),
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
               disk_mb=round(disk_bytes(data_dir) / 2**20), csv_mb=round(disk_bytes(data_dir.parent / "csv") / 2**20))
    rec.store.close()
    return out


def measure_ltr(data_dir: Path, n_users: int, seed: int = 0) -> dict:
    """`candidate_order: ltr` over one size's ingested data, in this process: the fit with its
    learned ranker (agent/pipeline/learned_fit.py) from scratch, then, with the data's files in the
    page cache, retrieval by the ranker and by the fusion alternately per user (one fit, one run),
    each with the item vectors from the memory-mapped snapshot and from Chroma,
    and `recommend --no-llm` lists ordered by the ranker. A ranker no better than the fusion on its
    training lists (the product would not use it) is timed all the same, installed for the run."""
    from agent.config import load_settings
    from agent.pipeline.learned import ranker_path
    from agent.recommender import Recommender

    shutil.rmtree(data_dir / "fitted", ignore_errors=True)
    rec = Recommender(load_settings(data_dir=data_dir, candidate_order="ltr"))
    t = time.perf_counter()
    ranker = rec.fit_now().ranker
    out: dict = {"fit_s": round(time.perf_counter() - t, 1),
                 "fit_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if ranker is None:
        raise SystemExit("the fit made no learned ranker (too few replayed requests held their item: see its log)")
    out["ranker"] = {k: ranker.meta.get(k) for k in ("lists", "people", "replayed", "cv_ndcg", "fusion_ndcg",
                                                     "beats_fusion", "params")}
    installed = rec.ranker() is None
    if installed:
        ranker.save(ranker_path(data_dir))
    try:
        users = sample_users(n_users, seed)
        # each order with the item vectors from the memory-mapped snapshot and from Chroma (as before it)
        variants = {"ltr": ("ltr", True), "fusion": ("fusion", True), "ltr_chroma": ("ltr", False),
                    "fusion_chroma": ("fusion", False)}
        if not rec.index.snapshot_dir.exists():  # data ingested before the snapshot existed: what writing it costs
            t = time.perf_counter()
            rec.index.save_vectors()
            out["snapshot_write_s"] = round(time.perf_counter() - t, 1)
        read_into_page_cache(data_dir)
        times: dict[str, list[float]] = {name: [] for name in variants}
        names, lists = list(variants), []
        for n, u in enumerate(users):
            history = rec.history(u)
            for name in names[n % len(names):] + names[:n % len(names)]:  # each goes first for a quarter
                order, rec.index.use_snapshot = variants[name]
                t = time.perf_counter()
                rec.retrieve(history, 20, order=order)
                times[name].append((time.perf_counter() - t) * 1000)
            rec.index.use_snapshot = True
            t = time.perf_counter()
            rec.recommend(u, k=10, use_llm=False)
            lists.append((time.perf_counter() - t) * 1000)
    finally:
        if installed:
            ranker_path(data_dir).unlink()
            ranker_path(data_dir).with_suffix(".json").unlink()
    for order, ms in times.items():
        out.update({f"{order}_retrieval_p50_ms": round(pct(ms, .5), 1), f"{order}_retrieval_p95_ms": round(pct(ms, .95), 1)})
    out.update(recommend_p50_ms=round(pct(lists, .5), 1), recommend_p95_ms=round(pct(lists, .95), 1),
               timed_with_installed_ranker=installed,
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    rec.store.close()
    return out


def timed_requests(rec, users: list[str], lists: bool = True) -> tuple[list[float], list[float]]:
    """Per user, milliseconds of retrieval (profile + candidates, 20) and, with `lists`, of a
    whole `recommend --no-llm` list of 10 after it."""
    retrieval, whole = [], []
    for u in users:
        history = rec.history(u)
        t = time.perf_counter()
        rec.retrieve(history, 20)
        retrieval.append((time.perf_counter() - t) * 1000)
        if lists:
            t = time.perf_counter()
            rec.recommend(u, k=10, use_llm=False)
            whole.append((time.perf_counter() - t) * 1000)
    return retrieval, whole


def sample_users(n_users: int, seed: int = 0) -> list[str]:
    """The USERS synthetic users every measure of a size is taken over."""
    rng = np.random.default_rng(seed)
    return [f"u{u}" for u in rng.choice(n_users, size=min(USERS, n_users), replace=False)]


def read_into_page_cache(folder: Path) -> None:
    """Read every file under `folder` once, as a service's requests will have after a while."""
    for f in folder.rglob("*"):
        if f.is_file():
            with f.open("rb") as fh:
                while fh.read(1 << 24):
                    pass


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (as after a reboot), if this process may (root on Linux)."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def fresh_starts(data_dir: Path, runs: int = 2, chroma_url: str | None = None) -> dict:
    """`recagent recommend --no-llm` as fresh processes over `data_dir` (and a Chroma server, if
    given): seconds to the answer, and the process's own peak RSS (VmHWM; getrusage's figure
    would include the forking parent's). First once with the page cache dropped (nothing of the
    data, the index or Python's own files in memory: a start after a reboot), where this process
    may; then `runs` times."""
    env = {**os.environ, "RECAGENT_DATA_DIR": str(data_dir)}
    env.pop("RECAGENT_BASE_URL", None)
    env.pop("RECAGENT_CHROMA_URL", None)
    if chroma_url:
        env["RECAGENT_CHROMA_URL"] = chroma_url

    def start() -> tuple[float, int]:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", FRESH_PROCESS, "recommend", "--user", "u0", "--no-llm", "--json"],
                              env=env, capture_output=True, text=True, cwd=REPO)
        seconds = round(time.perf_counter() - t, 2)
        if proc.returncode != 0:
            raise SystemExit(f"recommend failed over {data_dir}: {proc.stderr[-500:]}")
        return seconds, int(proc.stderr.rsplit("peak-rss-kb ", 1)[1].split()[0]) // 1024

    cold = start()[0] if drop_page_cache() else None
    warm = [start() for _ in range(runs)]
    return {"start_cold_s": cold, "start_to_first_answer_s": [s for s, _ in warm],
            "start_peak_rss_mb": max(r for _, r in warm)}


GROWTH = ["ingest_interactions_s", "fit_s", "start_s", "retrieval_p95_ms", "recommend_p95_ms", "peak_rss_mb", "disk_mb"]


def growth(results: list[dict]) -> dict[str, float]:
    """Log-log slope of each measure against interactions (1 = linear, 0 = flat)."""
    x = np.log([r["interactions"] for r in results])
    out = {}
    for key in GROWTH:
        y = np.log([max(1e-3, r["start_to_first_answer_s"][-1] if key == "start_s" else r[key]) for r in results])
        out[key] = round(float(np.polyfit(x, y, 1)[0]), 2) if len(results) > 1 else float("nan")
    return out


def report(results: list[dict], plot: Path | None) -> str:
    rows = ["| items | users | interactions | ingest items/s (hashed vectors) | real embedder items/s (whole catalog) "
            "| interactions/s | fit after ingest (s) | start → first answer (s): page cache dropped / 1st / 2nd "
            "| retrieval p50 / p95 (ms) [p95 of the first requests after the cold start] "
            "| recommend --no-llm p50 / p95 (ms) | peak RSS: bench / fresh process (MB) | disk (MB) |",
            "|" + "---|" * 12]
    for r in results:
        rows.append(f"| {r['items']:,} | {r['users']:,} | {r['interactions']:,} | {r['items_per_s']:,} | "
                    f"{r['embed_items_per_s']:,} ({r['embed_whole_catalog_s'] / 60:.0f} min) | {r['interactions_per_s']:,} | "
                    f"{r['fit_s']} | {r.get('start_cold_s') or '–'} / {r['start_to_first_answer_s'][0]} / "
                    f"{r['start_to_first_answer_s'][1]} | "
                    f"{r['retrieval_p50_ms']} / {r['retrieval_p95_ms']} [{r.get('first_requests_retrieval_p95_ms', '–')}] | {r['recommend_p50_ms']} / {r['recommend_p95_ms']} | "
                    f"{r['peak_rss_mb']:,} / {r['start_peak_rss_mb']:,} | {r['disk_mb']:,} |")
    with_ltr = [r for r in results if "ltr" in r]
    if with_ltr:
        rows += ["", "With the learned ranker (`--ltr`: candidate_order ltr, one run per size; retrieval of both "
                 "orders alternated per user on one fit):", "",
                 "| items | fit with the ranker (s) | training lists (people) | ranker / fusion NDCG@10 on them "
                 "| retrieval, ranker p50 / p95 (ms) | retrieval, fusion p50 / p95 (ms) | ratio p95 "
                 "| the same, vectors from Chroma: ranker / fusion p95 (ms) "
                 "| recommend --no-llm p50 / p95 (ms) | peak RSS (MB) |", "|" + "---|" * 10]
        for r in with_ltr:
            x, m = r["ltr"], r["ltr"]["ranker"]
            rows.append(f"| {r['items']:,} | {x['fit_s']} | {m['lists']} ({m['people']}) | {m['cv_ndcg']:.3f} / "
                        f"{m['fusion_ndcg']:.3f} | {x['ltr_retrieval_p50_ms']} / {x['ltr_retrieval_p95_ms']} | "
                        f"{x['fusion_retrieval_p50_ms']} / {x['fusion_retrieval_p95_ms']} | "
                        f"{x['ltr_retrieval_p95_ms'] / x['fusion_retrieval_p95_ms']:.2f} | "
                        f"{x['ltr_chroma_retrieval_p95_ms']} / {x['fusion_chroma_retrieval_p95_ms']} | "
                        f"{x['recommend_p50_ms']} / {x['recommend_p95_ms']} | {x['peak_rss_mb']:,} |")
    g = growth(results)
    rows += ["", "Growth exponents (log-log slope against interactions; 1 is linear): " +
             ", ".join(f"{k} {v}" for k, v in g.items())]
    if plot is not None and len(results) > 1:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5))
        x = [r["interactions"] for r in results]
        series = {"start → first answer (s)": [r["start_to_first_answer_s"][-1] for r in results],
                  "fit after ingest (s)": [r["fit_s"] for r in results],
                  "retrieval p95 (ms)": [r["retrieval_p95_ms"] for r in results],
                  "recommend --no-llm p95 (ms)": [r["recommend_p95_ms"] for r in results],
                  "peak RSS (100 MB)": [r["peak_rss_mb"] / 100 for r in results]}
        for name, y in series.items():
            ax.loglog(x, y, marker="o", label=name)
        ax.set_xlabel("interactions")
        ax.set_title("recagent cost by size (2-core CPU, one run)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(plot, dpi=110)
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", default=["10k:1M", "100k:10M", "1M:25M"], help="ITEMS:INTERACTIONS")
    ap.add_argument("--work", type=Path, default=REPO / ".recagent" / "scale")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one size in this process
    ap.add_argument("--serving-one", help=argparse.SUPPRESS)  # internal: re-measure one built size's serving
    ap.add_argument("--users", help=argparse.SUPPRESS)
    ap.add_argument("--ltr-one", help=argparse.SUPPRESS)  # internal: measure one built size with the learned ranker
    ap.add_argument("--ltr", nargs="*", default=None, metavar="SIZE",
                    help="over sizes already built: the fit with the learned ranker and its retrieval beside the "
                         "fusion's (kept under the size's 'ltr')")
    ap.add_argument("--report", action="store_true", help="print the table (and write the plot) from saved results")
    ap.add_argument("--serving", nargs="*", default=None, metavar="SIZE",
                    help="re-measure the fit, starts, latency and memory over sizes already built (ingest kept)")
    ap.add_argument("--plot", type=Path, default=REPO / "docs" / "scale.png")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    saved = a.work / "results.json"
    if a.one:
        n_items, n_inter = parse_size(a.one)
        print(json.dumps(measure_one(n_items, n_inter, a.work)))
        return
    if a.serving_one:
        n_items, n_inter = parse_size(a.serving_one)
        print(json.dumps(measure_serving(a.work / f"{n_items}-{n_inter}" / "data", int(a.users))))
        return
    if a.ltr_one:
        n_items, n_inter = parse_size(a.ltr_one)
        print(json.dumps(measure_ltr(a.work / f"{n_items}-{n_inter}" / "data", int(a.users))))
        return
    results = json.loads(saved.read_text()) if saved.exists() else {}
    if a.ltr is not None:
        print(f"load average at start: {os.getloadavg()[0]:.2f} (measure on an idle machine)", file=sys.stderr)
        for size in a.ltr:
            proc = subprocess.run([sys.executable, __file__, "--ltr-one", size, "--users", str(results[size]["users"]),
                                   "--work", str(a.work)], capture_output=True, text=True, cwd=REPO)
            if proc.returncode != 0:
                raise SystemExit(f"size {size} failed:\n{proc.stderr[-2000:]}")
            results[size]["ltr"] = {**json.loads(proc.stdout.strip().splitlines()[-1]),
                                    "measured_at": time.strftime("%Y-%m-%d %H:%M")}
            saved.write_text(json.dumps(results, indent=2) + "\n")
    elif not a.report:
        print(f"load average at start: {os.getloadavg()[0]:.2f} (measure on an idle machine)", file=sys.stderr)
        for size in a.sizes if a.serving is None else a.serving:
            t = time.perf_counter()
            one = ["--one", size] if a.serving is None else ["--serving-one", size, "--users", str(results[size]["users"])]
            proc = subprocess.run([sys.executable, __file__, *one, "--work", str(a.work)],
                                  capture_output=True, text=True, cwd=REPO)
            if proc.returncode != 0:
                raise SystemExit(f"size {size} failed:\n{proc.stderr[-2000:]}")
            measured = {**json.loads(proc.stdout.strip().splitlines()[-1]), "measured_at": time.strftime("%Y-%m-%d %H:%M")}
            if a.serving is None:
                results[size] = {**measured, "wall_s": round(time.perf_counter() - t)}
            else:  # the build's ingest figures stay; when the rest was measured is kept beside them
                results[size] = {**results[size], **measured, "serving_wall_s": round(time.perf_counter() - t),
                                 "built_at": results[size].get("built_at", results[size]["measured_at"])}
            saved.write_text(json.dumps(results, indent=2) + "\n")
            print(f"{size}: done in {round(time.perf_counter() - t)} s", file=sys.stderr)
    ordered = sorted(results.values(), key=lambda r: r["interactions"])
    print(report(ordered, a.plot))


if __name__ == "__main__":
    main()
