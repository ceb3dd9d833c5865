"""A whole suite run over the generic-CSV bookshop suite, with a scripted fake LLM (named as
such): output files, failed cases, resume, zero-call reruns. The real model runs in
tests/integration/test_eval_embedded.py."""

import json
import re
from pathlib import Path

import pytest

from agent.backends.fake import ScriptedFakeBackend, rank_labels
from agent.config import load_settings
from evals.runner import SuiteRun
from evals.suite import load_suite

SUITE = Path(__file__).parents[2] / "evals" / "suites" / "bookshop-generic.yaml"


def flaky(request):
    """Ranks in order, except that the third call ever made fails outright."""
    flaky.calls += 1
    if flaky.calls == 3:
        raise RuntimeError("simulated crash inside one case")
    return rank_labels(request)


@pytest.fixture
def run_suite(tmp_path):
    settings = load_settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")

    def run(users=6, out=tmp_path / "run", script=(rank_labels,)):
        fake = ScriptedFakeBackend(list(script), repeat_last=True)
        suite = load_suite(SUITE, users=users)
        r = SuiteRun(suite, out, settings, backend_factory=lambda v: fake)
        return r, r.run(), fake

    return run


def test_run_writes_the_four_outputs_with_statistics(run_suite, tmp_path):
    flaky.calls = 0
    run, summary, fake = run_suite(script=(flaky,))
    out = tmp_path / "run"
    for name in ("results.jsonl", "summary.json", "report.md", "report.html", "candidates.jsonl"):
        assert (out / name).stat().st_size > 0, name
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 6 * 12  # users × (10 baselines + 2 LLM variants)
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and "simulated crash" in failed[0]["error"]
    assert failed[0]["metrics"]["ndcg@10"] == 0.0  # scored as a miss, not dropped
    llm = [r for r in rows if r["kind"] == "llm" and r["status"] == "ok"]
    assert all(r["raw"] and r["template_sha256"] and len(r["ranking"]) == 10 for r in llm)
    assert all(set(r["ranking"]) <= set(r["candidates"]) for r in llm)
    for name, v in summary["variants"].items():
        assert v["users"] == 6
        if name != summary["baseline"]:
            c = v["vs_baseline"]["ndcg@10"]
            assert {"diff", "ci_low", "ci_high", "p_value", "mde", "n"} <= set(c) and c["n"] == 6
        if name not in (summary["baseline"], "itemknn"):  # and against item-kNN, the reference
            assert v["vs_references"]["itemknn"]["ndcg@10"]["n"] == 6
    assert summary["baseline"] == "ease" and summary["references"] == ["itemknn"]
    health = {name: summary["variants"][name]["llm"] for name in ("llm-plain", "llm-recency")}
    assert sum(h["failed_cases"] for h in health.values()) == 1
    assert sorted(h["fallback_rate"] for h in health.values()) == [0.0, round(1 / 6, 4)]  # the failed case falls back
    assert all(h["parse_failure_rate"] == 0.0 and h["prompt_tokens_mean"] > 0 for h in health.values())
    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 3 and "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from the network


def test_rerun_makes_no_llm_calls_and_reproduces_the_summary(run_suite, tmp_path):
    first, _, fake = run_suite()
    assert first.stats.live_calls == 12
    again, _, fake2 = run_suite(out=tmp_path / "again")  # a new folder: only the response cache helps
    assert again.stats.live_calls == 0 and again.stats.cache_hits == 12 and not fake2.requests
    assert (tmp_path / "run" / "summary.json").read_text() == (tmp_path / "again" / "summary.json").read_text()


def test_interrupted_run_continues_where_it_stopped(run_suite, tmp_path):
    run_suite()
    results = tmp_path / "run" / "results.jsonl"
    lines = results.read_text().splitlines()
    results.write_text("\n".join(lines[:-5]) + "\n" + lines[-5][:40])  # 5 rows lost, one cut mid-line
    resumed, summary, _ = run_suite()
    assert resumed.stats.new_rows == 5 and resumed.stats.reused_rows == len(lines) - 5
    assert len(results.read_text().splitlines()) == len(lines)


def test_candidates_are_fixed_by_the_file(run_suite, tmp_path):
    run_suite(users=4)
    cands = (tmp_path / "run" / "candidates.jsonl").read_text()
    header, *rows = [json.loads(line) for line in cands.splitlines()]
    assert all(len(r["pool"]) == 20 and r["target"] in r["pool"] for r in rows)
    run_suite(users=6)  # more users: the first four keep their candidates
    assert (tmp_path / "run" / "candidates.jsonl").read_text().startswith(cands)


def test_a_narrower_rerun_in_the_same_folder_loses_no_rows(tmp_path):
    from evals.report import load_run

    settings = load_settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")
    fake = ScriptedFakeBackend([rank_labels], repeat_last=True)
    SuiteRun(load_suite(SUITE, users=4), tmp_path / "run", settings, backend_factory=lambda v: fake).run()
    narrow = SuiteRun(load_suite(SUITE, users=2, variants=["llm-plain"]), tmp_path / "run", settings,
                      backend_factory=lambda v: fake)
    summary = narrow.run()
    assert set(summary["variants"]) == {"ease", "itemknn", "llm-plain"} and summary["users"]["evaluated"] == 2
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4 * 12  # every row of the wider run is still there
    _, rows = load_run(tmp_path / "run")
    assert len(rows) == 2 * 3 and {r["variant"] for r in rows} == {"ease", "itemknn", "llm-plain"}
    assert narrow.stats.new_rows == 0  # and nothing was recomputed


def test_sharded_runs_merge_into_the_unsharded_summary(tmp_path):
    from agent.errors import InputError
    from evals.runner import merge_shards

    settings = load_settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")
    fake = ScriptedFakeBackend([rank_labels], repeat_last=True)
    suite = load_suite(SUITE, users=7)
    SuiteRun(suite, tmp_path / "whole", settings, backend_factory=lambda v: fake).run()
    shards = []
    for i in (1, 2, 3):
        SuiteRun(suite, tmp_path / f"shard{i}", settings, backend_factory=lambda v: fake, shard=(i, 3)).run()
        shards.append(tmp_path / f"shard{i}")
    assert not (tmp_path / "shard1" / "summary.json").exists()  # statistics need every user
    merge_shards(suite, shards, tmp_path / "merged", settings)
    assert (tmp_path / "merged" / "summary.json").read_text() == (tmp_path / "whole" / "summary.json").read_text()
    with pytest.raises(InputError, match="do not make one whole run"):
        merge_shards(suite, shards[:2], tmp_path / "partial", settings)
    with pytest.raises(InputError, match="another configuration"):
        merge_shards(load_suite(SUITE, users=6), shards, tmp_path / "other", settings)
