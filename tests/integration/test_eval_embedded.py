"""`recagent eval` as a user runs it, with the real embedded model (smallest bundled one) on
the generic-CSV bookshop suite: a run, a zero-call rerun, report and compare."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.llm
ROOT = Path(__file__).parents[2]
SUITE = ROOT / "evals" / "suites" / "bookshop-generic.yaml"


def recagent(*args, cache):
    env = {**os.environ, "RECAGENT_CACHE_DIR": str(cache)}
    env.pop("RECAGENT_BASE_URL", None)
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True,
                          env=env, timeout=600, cwd=ROOT)


def test_eval_run_rerun_report_and_compare(tmp_path):
    cache, a, b = tmp_path / "cache", tmp_path / "a", tmp_path / "b"
    first = recagent("eval", "run", str(SUITE), "--users", "4", "--out", str(a), cache=cache)
    assert first.returncode == 0, first.stderr
    assert "| llm-plain |" in first.stdout and "8 LLM calls" in first.stderr
    summary = json.loads((a / "summary.json").read_text())
    assert summary["users"]["evaluated"] == 4
    for name in ("llm-plain", "llm-recency"):
        v = summary["variants"][name]
        assert v["llm"]["cases"] == 4 and v["llm"]["parse_failure_rate"] == 0.0  # grammar-constrained
        assert v["llm"]["latency_ms_p50"] > 0 and v["llm"]["prompt_tokens_mean"] > 100
        c = v["vs_baseline"]["ndcg@10"]
        assert c["n"] == 4 and c["p_value"] is not None and c["mde"] is not None
    rows = [json.loads(line) for line in (a / "results.jsonl").read_text().splitlines()]
    assert {r["model"] for r in rows if r["kind"] == "llm"} == {"smollm2-135m"}

    again = recagent("eval", "run", str(SUITE), "--users", "4", "--out", str(b), cache=cache)
    assert again.returncode == 0, again.stderr
    assert "0 LLM calls, 8 cached answers" in again.stderr
    assert (a / "summary.json").read_text() == (b / "summary.json").read_text()

    (a / "report.html").unlink()
    report = recagent("eval", "report", str(a), cache=cache)
    assert report.returncode == 0 and "<svg" in (a / "report.html").read_text()
    compare = recagent("eval", "compare", str(a), str(b), cache=cache)
    assert compare.returncode == 0 and "| llm-plain | ndcg@10 |" in compare.stdout
    assert "+0.000 [+0.000, +0.000]" in compare.stdout  # same answers: no difference


def test_eval_errors_are_one_line(tmp_path):
    r = recagent("eval", "run", str(tmp_path / "missing.yaml"), cache=tmp_path)
    assert r.returncode == 2 and "suite file not found" in r.stderr and "Traceback" not in r.stderr
    r = recagent("eval", "report", str(tmp_path), cache=tmp_path)
    assert r.returncode == 2 and "not a finished run folder" in r.stderr
