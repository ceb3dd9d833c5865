"""Fault scenarios: each drives a real Recommender (real store and Chroma index) through one
failure of the LLM server or the vector store and records what the caller got back and how
long it took. Passing means: a flagged fallback (or a clear error for a broken store) within
the time budget, never a crash or a hang."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from agent.backends.embedded import free_port
from agent.config import Settings
from agent.errors import AgentError
from agent.recommender import Recommender
from evals.reliability.fault_server import FaultServer

TIMEOUT_S = 2.0  # the configured LLM timeout in every scenario
MAX_RETRIES = 2
BACKOFF_S = 0.5 + 1.0  # tenacity's waits before the two retries
HARD_LIMIT_S = 60.0  # a scenario still running after this is recorded as a hang


class FaultResult(BaseModel):
    scenario: str
    expected: str
    outcome: str  # what the caller got: "llm", "fallback: <kind>", "error: <message>", "crash: …", "hang"
    items: int = 0
    flagged: bool = False  # the result says it fell back (fallback_reason and a warning)
    elapsed_s: float
    budget_s: float
    passed: bool


# The fault server answers listwise requests; the scenarios and their budgets were set for them.
FAULT_PROMPT = "rerank@v1"


def _recommend(settings: Settings, user: str, **overrides) -> tuple[str, int, bool]:
    with Recommender(settings.model_copy(update=overrides)) as rec:
        try:
            r = rec.recommend(user, k=5, prompt=FAULT_PROMPT)
        finally:
            rec.store.close()
    if r.fallback_reason:
        kind = r.fallback_reason.split("(", 1)[1].split(")", 1)[0] if "LLM call failed" in r.fallback_reason else "invalid output"
        return f"fallback: {kind}", len(r.items), any("without the LLM" in w for w in r.warnings)
    cut = any("cut off" in w for w in r.warnings)
    return ("llm, cut-off answer kept" if cut else "llm"), len(r.items), cut


def _timed(name: str, expected: str, budget_s: float, fn: Callable[[], tuple[str, int, bool]],
           accept: Callable[[str, bool], bool]) -> FaultResult:
    """Run `fn` on a thread with a hard limit, so a hang is recorded rather than suffered."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except AgentError as e:
            box["value"] = (f"error: {e}", 0, True)
        except Exception as e:  # a crash is a finding, not the end of the suite
            box["value"] = (f"crash: {type(e).__name__}: {e}", 0, False)

    t0 = time.perf_counter()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(HARD_LIMIT_S)
    elapsed = round(time.perf_counter() - t0, 2)
    outcome, items, flagged = box.get("value", ("hang", 0, False))
    return FaultResult(scenario=name, expected=expected, outcome=outcome, items=items, flagged=flagged,
                       elapsed_s=elapsed, budget_s=budget_s,
                       passed=elapsed <= budget_s and accept(outcome, flagged))


def _fallback(kind: str) -> Callable[[str, bool], bool]:
    return lambda outcome, flagged: outcome == f"fallback: {kind}" and flagged


def llm_scenarios(settings: Settings, user: str) -> list[FaultResult]:
    """The LLM server failing in each way we know of."""
    base = settings.model_copy(update={"timeout_s": TIMEOUT_S, "max_retries": MAX_RETRIES, "model": "fault-model"})
    retry_budget = TIMEOUT_S + BACKOFF_S + 3.0
    out = []

    def through(modes, name, expected, budget, accept, **server_kw):
        with FaultServer(modes, **server_kw) as srv:
            out.append(_timed(name, expected, budget, lambda: _recommend(base, user, base_url=srv.url), accept))

    through("ok", "healthy server (control)", "LLM answer used", TIMEOUT_S + 3, lambda o, f: o == "llm")
    through("hang", "accepts the request, never answers", "fallback: timeout, not retried",
            TIMEOUT_S + 3, _fallback("timeout"))
    through("reset", "closes the connection without a reply", "fallback: unavailable after retries",
            retry_budget, _fallback("unavailable"))
    through("status:429", "429 on every request", "fallback: rate_limited after retries",
            retry_budget, _fallback("rate_limited"))
    through("status:500", "500 on every request", "fallback: server_error after retries",
            retry_budget, _fallback("server_error"))
    through(["status:503", "ok"], "one 503, then healthy", "retried, LLM answer used",
            retry_budget, lambda o, f: o == "llm")
    through("garbage", "HTTP 200 with a non-JSON body (text/html)", "fallback, flagged",
            retry_budget, lambda o, f: o.startswith("fallback") and f)
    through("badjson", "HTTP 200 with a non-JSON body labelled application/json", "fallback, flagged",
            retry_budget, lambda o, f: o.startswith("fallback") and f)
    through("truncated", "answer cut at max tokens, twice", "complete items kept, flagged; or fallback",
            2 * TIMEOUT_S + 3, lambda o, f: f and (o == "llm, cut-off answer kept" or o.startswith("fallback")))
    through("overflow", "context window overflow (HTTP 400)", "fallback: context_window",
            TIMEOUT_S + 3, _fallback("context_window"))
    through("ok", "server context (256 tokens) smaller than any prompt", "fallback: context_window, no call made",
            TIMEOUT_S + 3, _fallback("context_window"), n_ctx=256)
    out.append(_timed("nothing listening on the port", "fallback: unavailable after retries", retry_budget,
                      lambda: _recommend(base, user, base_url=f"http://127.0.0.1:{free_port()}"),
                      _fallback("unavailable")))
    out.append(killed_mid_request(base, user))
    return out


def killed_mid_request(settings: Settings, user: str, after_s: float = 0.5) -> FaultResult:
    """The model server process is SIGKILLed while our request is in flight."""
    proc = subprocess.Popen([sys.executable, "-m", "evals.reliability.fault_server", "hang"],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        port = int(proc.stdout.readline())
        killer = threading.Timer(after_s, lambda: os.kill(proc.pid, signal.SIGKILL))
        killer.start()
        return _timed("server process SIGKILLed mid-request", "fallback: unavailable after retries",
                      TIMEOUT_S + BACKOFF_S + 3,
                      lambda: _recommend(settings, user, base_url=f"http://127.0.0.1:{port}"),
                      _fallback("unavailable"))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def store_scenarios(settings: Settings, user: str, scratch: Path) -> list[FaultResult]:
    """The Chroma index missing or corrupt, as a user meets it on the command line: a clear
    error naming the path and the fix, then the fix (`recagent reindex`) bringing
    recommendations back with nothing lost."""
    out = []
    for name, damage in (("Chroma index directory deleted", _delete_index),
                         ("Chroma index file overwritten with garbage", _corrupt_index)):
        copy = scratch / ("store-" + damage.__name__.strip("_"))
        shutil.copytree(settings.data_dir, copy)
        damage(copy / "chroma")
        recommend = ["recommend", "--user", user, "--no-llm", "--json", "--data-dir", str(copy)]
        t0 = time.perf_counter()
        broken = _cli(*recommend)
        elapsed = round(time.perf_counter() - t0, 2)
        message = " ".join(broken.stderr.split())
        clear = (broken.returncode != 0 and "Traceback" not in broken.stderr
                 and str(copy / "chroma") in message and "recagent reindex" in message)
        fixed = _cli("reindex", "--data-dir", str(copy))
        after = _cli(*recommend)
        items = len(json.loads(after.stdout)["items"]) if after.returncode == 0 else 0
        out.append(FaultResult(
            scenario=name, expected="error naming the path and `recagent reindex`; reindex restores it",
            outcome=f"exit {broken.returncode}: {message[:300]} → `recagent reindex` exit {fixed.returncode} "
                    f"→ recommend exit {after.returncode}, {items} items",
            items=items, flagged=clear, elapsed_s=elapsed, budget_s=30.0,
            passed=clear and fixed.returncode == 0 and items > 0 and elapsed <= 30.0))
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "400"})


def _delete_index(path: Path) -> None:
    shutil.rmtree(path)


def _corrupt_index(path: Path) -> None:
    db = path / "chroma.sqlite3"
    db.write_bytes(b"this is not a database" * 1000)



EVAL_FAULT_CYCLE = ["ok", "hang", "status:500", "truncated", "garbage", "badjson", "reset", "overflow", "status:429"]


def eval_through_faults(scratch: Path, cache_dir: Path, users: int = 16) -> dict:
    """An eval run whose LLM variant talks to a server cycling through the faults: the run
    must finish every case and count each fallback by kind."""
    from evals.runner import SuiteRun
    from evals.reliability.workspace import BOOKSHOP, BOOKSHOP_MAP
    from evals.suite import Dataset, Suite, Users, Variant
    from agent.config import load_settings

    with FaultServer(EVAL_FAULT_CYCLE) as srv:
        suite = Suite(name="faults", dataset=Dataset(items=BOOKSHOP / "books.csv", interactions=BOOKSHOP / "reads.csv",
                                                     map=BOOKSHOP_MAP),
                      users=Users(n=users, seed=1), concurrency=1, bootstrap_resamples=200,
                      variants=[Variant(name="llm-faulty", prompt="rank@v1", model="fault-model", base_url=srv.url)])
        settings = load_settings(cache_dir=cache_dir, data_dir=scratch / "unused", timeout_s=TIMEOUT_S,
                                 max_retries=MAX_RETRIES)
        t0 = time.perf_counter()
        summary = SuiteRun(suite, scratch / "eval-faults", settings=settings, use_cache=False).run()
        served = dict(sorted(Counter(srv.served).items()))
    v = summary["variants"]["llm-faulty"]
    return {"cases": v["users"], "failed_cases": v["llm"]["failed_cases"], "fallback_rate": v["llm"]["fallback_rate"],
            "fallbacks_by_kind": v["llm"]["fallbacks_by_kind"], "requests_by_mode": served,
            "wall_s": round(time.perf_counter() - t0, 1), "finished": v["users"] == summary["users"]["evaluated"]}
