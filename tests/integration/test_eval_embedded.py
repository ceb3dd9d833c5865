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


def test_logprob_scoring_and_the_fusion_fit_from_the_cli_with_the_real_model(tmp_path):
    """Label-logprob scoring through the real llama.cpp server, fitted and run from the CLI."""
    from tests.unit.test_eval_fusion import FUSION, labels_variant, write_suite

    suite = write_suite(tmp_path, [{**FUSION, "validation_users": 5},
                                   labels_variant(orders=2, validation_users=5)])
    cache, out = tmp_path / "cache", tmp_path / "run"
    fit = recagent("eval", "fit", str(suite), "--variant", "fusion-labels", "--out", str(out), cache=cache)
    assert fit.returncode == 0, fit.stderr
    fitted = json.loads(fit.stdout)
    assert fitted["with_llm"]["lists"] == 5 and fitted["with_llm"]["features"][-1] == "llm"
    run = recagent("eval", "run", str(suite), "--users", "3", "--out", str(out), cache=cache)
    assert run.returncode == 0, run.stderr
    assert "6 LLM calls" in run.stderr  # the fit's 10 calls were reused: 3 users × 2 orders are new
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    scored = [r for r in rows if r["variant"] == "fusion-labels"]
    assert len(scored) == 3 and all(r["llm"]["calls"] == 2 and not r["llm"]["fallback"] for r in scored)
    assert all(r["llm"]["returned"] == r["pool_size"] for r in scored)  # every candidate got a score
    assert all(r["tokens"]["completion"] <= 2 for r in scored)  # one token per call
    v = json.loads((out / "summary.json").read_text())["variants"]["fusion-labels"]
    assert v["vs_reference"]["variant"] == "fusion" and v["vs_reference"]["metrics"]["ndcg@10"]["n"] == 3


def test_the_server_returns_first_token_logprobs(embedded_server):
    from agent.backends.base import ChatRequest
    from agent.backends.openai_compat import OpenAICompatBackend

    backend = OpenAICompatBackend(embedded_server.base_url, model=embedded_server.alias, api_key=embedded_server.api_key)
    resp = backend.complete(ChatRequest(messages=[{"role": "user", "content": "Reply with one letter: A, B or C."}],
                                        max_tokens=1, top_logprobs=10))
    backend.close()
    assert resp.first_token_logprobs and len(resp.first_token_logprobs) == 10
    assert all(v <= 0 for v in resp.first_token_logprobs.values())
    assert max(resp.first_token_logprobs, key=resp.first_token_logprobs.get) == resp.content
