"""`python -m evals.reliability` (`make reliability`): run the fault, injection, fuzz,
integrity and service (flood, head-of-line) suites and write docs/reliability.md with what was tried and what happened.
Parts can be run alone (`--only faults injection`); results are kept as JSON in --work."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.config import load_settings

REPO = Path(__file__).resolve().parents[2]
PARTS = ("faults", "injection", "fuzz", "integrity", "service", "attacks")
MOVIELENS = REPO / "data" / "ml-latest-small"


def run_faults(work: Path, settings) -> dict:
    from evals.reliability import faults, workspace

    scratch = Path(tempfile.mkdtemp(dir=work))
    ws = workspace.build(scratch / "data", cache_dir=settings.cache_dir)
    user = workspace.some_user(ws)
    results = faults.llm_scenarios(ws, user) + faults.store_scenarios(ws, user, scratch)
    return {"scenarios": [r.model_dump() for r in results],
            "eval_run": faults.eval_through_faults(scratch, settings.cache_dir),
            "timeout_s": faults.TIMEOUT_S, "max_retries": faults.MAX_RETRIES}


def run_injection(work: Path, settings, users: int) -> dict:
    from evals.reliability.injection import run_chat_injection, run_injection as ranked

    return {"ranking": ranked(settings, work / "injection", users=users),
            "chat": run_chat_injection(settings, work / "injection", users=1)}


def run_fuzz(work: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/fuzz", "-p", "no:cacheprovider"],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ, "HYPOTHESIS_PROFILE": "thorough"})
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return {"profile": "thorough (300 examples per property and per API operation)", "exit": proc.returncode,
            "summary": re.sub(r"\x1b\[[0-9;]*m", "", tail), "wall_s": round(time.perf_counter() - t0, 1),
            "failures": proc.stdout[-3000:] if proc.returncode else ""}


def run_integrity(work: Path, settings) -> dict:
    import shutil

    from evals.reliability import integrity, workspace

    scratch = Path(tempfile.mkdtemp(dir=work))
    args = integrity.synthetic_dataset(scratch / "dataset")
    ws = workspace.build(scratch / "bookshop", cache_dir=settings.cache_dir)
    shutil.copytree(ws.data_dir, scratch / "feedback")
    return {"killed_ingest": integrity.killed_ingests(args, scratch / "ingest"),
            "dataset": "synthetic: 2,000 items, 300 users × 40 interactions (evals/reliability/integrity.py)",
            "concurrent_feedback": integrity.concurrent_feedback(
                scratch / "feedback", workspace.some_user(ws), [f"BK-{n:04d}" for n in range(1, 121)]),
            "session_crash": integrity.session_crash(scratch)}


def run_service(work: Path, settings) -> dict:
    from evals.reliability import service, workspace

    scratch = Path(tempfile.mkdtemp(dir=work))
    ws = workspace.build(scratch / "data", cache_dir=settings.cache_dir)
    return {"flood": service.flood(ws, scratch), "head_of_line": service.head_of_line(ws, scratch)}


def run_attacks(work: Path, settings) -> dict:
    from evals.reliability import attacks, workspace

    scratch = Path(tempfile.mkdtemp(dir=work))
    bookshop = workspace.build(scratch / "bookshop", cache_dir=settings.cache_dir)
    return {"ingested_flood": attacks.ingested_flood(movielens_workspace(work, settings), scratch),
            "slowloris": attacks.slowloris(bookshop, scratch),
            "delete_race": attacks.delete_race(bookshop, scratch),
            "fairness": attacks.fairness(bookshop, scratch, model="smollm2-135m")}


def movielens_workspace(work: Path, settings):
    """ml-latest-small ingested once into --work (a few minutes: 9,742 embeddings), then reused."""
    from agent.config import load_settings
    from agent.ingest import ingest, movielens_source
    from agent.recommender import Recommender

    data = work / "movielens"
    s = load_settings(data_dir=data, cache_dir=settings.cache_dir)
    if not (data / ".ingested").exists():
        with Recommender(s) as rec:
            ingest(movielens_source(MOVIELENS), rec.store, rec.index)
            rec.fit_now()
            rec.store.close()
        (data / ".ingested").touch()
    return s


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m evals.reliability", description=__doc__)
    p.add_argument("--only", nargs="*", choices=PARTS, default=list(PARTS))
    p.add_argument("--injection-users", type=int, default=20)
    p.add_argument("--work", type=Path, default=REPO / ".recagent" / "reliability")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "reliability.md")
    a = p.parse_args(argv)
    settings = load_settings()
    a.work.mkdir(parents=True, exist_ok=True)
    results_path = a.work / "results.json"
    # this run's parts only; the page keeps the other parts' sections as they were measured
    results = {}
    for part in a.only:
        t0 = time.perf_counter()
        print(f"reliability: {part} …", file=sys.stderr, flush=True)
        if part == "faults":
            results[part] = run_faults(a.work, settings)
        elif part == "injection":
            results[part] = run_injection(a.work, settings, a.injection_users)
        elif part == "fuzz":
            results[part] = run_fuzz(a.work)
        elif part == "integrity":
            results[part] = run_integrity(a.work, settings)
        elif part == "attacks":
            results[part] = run_attacks(a.work, settings)
        else:
            results[part] = run_service(a.work, settings)
        results[part]["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
        results[part]["part_wall_s"] = round(time.perf_counter() - t0, 1)
        results_path.write_text(json.dumps(results, indent=2) + "\n")
    from evals.reliability.doc import render

    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(render(results, a.out.read_text() if a.out.exists() else ""))
    print(f"wrote {a.out} (results in {results_path})", file=sys.stderr)
    failed = [part for part in PARTS if part in results and not passed(part, results[part])]
    if failed:
        print(f"reliability goals not met: {', '.join(failed)} (see {a.out})", file=sys.stderr)
        sys.exit(1)


def passed(part: str, r: dict) -> bool:
    if part == "faults":
        return all(s["passed"] for s in r["scenarios"]) and r["eval_run"]["finished"]
    if part == "injection":
        t, c = r["ranking"]["totals"], r["chat"]
        return (t["significant_lifts"] == 0 and t["delivered_leaks"] == 0 and t["delivered_schema_violations"] == 0
                and c["leaks"] == 0 and c["items_outside_catalog"] == 0 and c["failed_turns"] == 0)
    if part == "fuzz":
        return r["exit"] == 0
    if part == "attacks":
        flood = r["ingested_flood"]["runs"]
        return (flood["ungranted"]["in_top_10"] == 0 and flood["granted, rule on"]["in_top_10"] == 0
                and r["slowloris"]["passed"] and r["delete_race"]["passed"] and r["fairness"]["passed"])
    if part == "service":
        return (r["head_of_line"]["passed"]
                and all(run["on"]["in_top_10"] <= run["before"]["in_top_10"] for run in r["flood"]["runs"]))
    return r["killed_ingest"]["passed"] and r["concurrent_feedback"]["passed"] and r["session_crash"]["passed"]


if __name__ == "__main__":
    main()
