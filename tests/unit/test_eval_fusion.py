"""Fusion variants over the bookshop suite: the weight fit on the validation split, the LLM
signal flowing through it, the paired comparison against the same pipeline without the LLM,
and `recagent eval fit`. The LLM here is a scripted fake (named as such) answering with
logprobs; the real model's logprobs are scored in tests/integration/test_eval_embedded.py."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from agent.backends.fake import ScriptedFakeBackend
from agent.config import load_settings
from evals.runner import SuiteRun
from evals.suite import load_suite

BOOKSHOP = Path(__file__).parents[2] / "evals" / "suites" / "bookshop"
CANDIDATE_LINE = re.compile(r"^([A-Z])\. (.+?)(?: \| .*)?$", re.MULTILINE)


def write_suite(tmp_path, variants, protocol=None) -> Path:
    suite = {"name": "bookshop-fusion",
             "dataset": {"items": str(BOOKSHOP / "books.csv"), "interactions": str(BOOKSHOP / "reads.csv"),
                         "map": {"sku": "item_id", "name": "title", "blurb": "text", "shelves": "categories",
                                 "reader": "user_id", "stars": "rating", "read_at": "timestamp"}},
             "users": {"n": 12, "seed": 1}, "protocol": protocol or {"kind": "sampled", "negatives": 19},
             "k": [1, 5, 10], "variants": variants}
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    return path


def candidates_of(request) -> list[tuple[str, str]]:
    block = request.messages[-1]["content"].split("Candidates:")[1]
    return CANDIDATE_LINE.findall(block)


def first_letter_lover(request):
    """Pure position bias: A, then B, … whatever the items are."""
    return {label: -0.5 - n for n, (label, _) in enumerate(candidates_of(request))}


def oracle_for(titles: set[str]):
    """Knows which items were held out: their letters get almost all the probability."""
    def answer(request):
        return {label: (-0.1 if title in titles else -6.0 - n * 0.01)
                for n, (label, title) in enumerate(candidates_of(request))}
    return answer


@pytest.fixture
def settings(tmp_path):
    return load_settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")


FUSION = {"name": "fusion", "kind": "fusion", "validation_users": 10}


def labels_variant(**extra):
    return {"name": "fusion-labels", "kind": "fusion", "llm_scoring": "labels", "model": "smollm2-135m",
            "validation_users": 10, "compare_to": "fusion", **extra}


def run_with(settings, suite_path, out, step):
    fake = ScriptedFakeBackend([step], repeat_last=True)
    run = SuiteRun(load_suite(suite_path), out, settings, backend_factory=lambda v: fake)
    return run, run.run(), fake


def test_mirrored_orders_leave_a_position_biased_model_nothing_to_add(settings, tmp_path):
    path = write_suite(tmp_path, [FUSION, labels_variant(orders=2)])
    run, summary, fake = run_with(settings, path, tmp_path / "run", first_letter_lover)
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    by = {(r["variant"], r["user"]): r for r in rows}
    assert len(fake.requests) == 2 * (10 + 12)  # two orders per list: validation users, then evaluated ones
    assert all(r.max_tokens == 1 and r.top_logprobs for r in fake.requests)
    for user in run.users:
        assert by[("fusion-labels", user)]["ranking"] == by[("fusion", user)]["ranking"]
    ref = summary["variants"]["fusion-labels"]["vs_reference"]
    assert ref["variant"] == "fusion" and ref["metrics"]["ndcg@10"]["diff"] == 0.0
    fits = {f["variant"]: f for f in (json.loads(p.read_text()) for p in (tmp_path / "run" / "fusion-fits").iterdir())}
    assert fits["fusion"]["stage1"]["lists"] == 10 and fits["fusion"]["stage2"] is None
    assert fits["fusion-labels"]["stage2"]["lists"] == 10


def test_an_informative_llm_signal_gets_weight_and_lifts_the_ranking(settings, tmp_path):
    path = write_suite(tmp_path, [FUSION, labels_variant()])
    probe = SuiteRun(load_suite(path), tmp_path / "probe", settings)
    probe.prepare()
    from evals.fusion_fit import FusionRanker

    held_out = {c.target for c in probe.split.cases.values()}
    held_out |= {c.target for c in FusionRanker(probe, load_suite(path).variants[-1]).validation_world().cases.values()}
    titles = {it.title for it in probe.data.store.get_items(held_out).values()}
    run, summary, _ = run_with(settings, path, tmp_path / "run", oracle_for(titles))
    v = summary["variants"]["fusion-labels"]
    assert v["metrics"]["ndcg@10"] > summary["variants"]["fusion"]["metrics"]["ndcg@10"]
    assert v["vs_reference"]["metrics"]["ndcg@10"]["diff"] > 0
    assert v["llm"]["fallback_rate"] == 0.0 and v["llm"]["llm_item_share"] == 1.0
    fit = json.loads(next((tmp_path / "run" / "fusion-fits").glob("fusion-labels-*.json")).read_text())
    assert fit["stage2"]["weights"]["llm"] > 0
    assert fit["stage2"]["validation_ndcg"] > fit["stage1"]["validation_ndcg"]


def test_retrieved_protocol_pools_the_sources_and_reports_their_recall(settings, tmp_path):
    path = write_suite(tmp_path, [{**FUSION, "pool": 30}], protocol={"kind": "retrieved", "candidates": 20})
    run = SuiteRun(load_suite(path), tmp_path / "run", settings)
    summary = run.run()
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    fusion = [r for r in rows if r["variant"] == "fusion"]
    assert all(len(r["ranking"]) == 10 and r["pool_size"] >= 30 for r in fusion)
    seen = {u: {e.item_id for e in run.split.cases[u].history} for u in run.users}
    assert not any(set(r["ranking"]) & seen[r["user"]] for r in fusion)
    recall = summary["candidates"]["recall_by_source"]
    assert set(recall) == {"collaborative", "ease", "semantic", "popularity", "union", "pipeline"}
    assert recall["union"] >= max(recall["collaborative"], recall["ease"], recall["semantic"], recall["popularity"])
    deeper = summary["candidates"]["recall_by_depth"]
    assert list(deeper) == ["50", "100", "200"]
    for shallow, deep in [(recall, deeper["50"]), (deeper["50"], deeper["100"]), (deeper["100"], deeper["200"])]:
        assert all(deep[source] >= shallow[source] for source in deep)  # a deeper top n holds more
    report = (tmp_path / "run" / "report.md").read_text()
    assert "Candidate recall@20 by source" in report and "| 200 |" in report


def test_suite_rejects_bad_fusion_settings(tmp_path):
    from agent.errors import InputError

    for bad, message in [({**FUSION, "weights": {"mood": 1.0}}, "unknown fusion weights"),
                         ({**labels_variant(), "compare_to": "nope"}, "compare_to 'nope' is not a variant"),
                         ({**labels_variant(), "temperature": 0.7}, "leave temperature at 0")]:
        with pytest.raises(InputError, match=message):
            load_suite(write_suite(tmp_path, [FUSION, bad] if bad["name"] != "fusion" else [bad]))


def cli(*args, cache):
    env = {**os.environ, "RECAGENT_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_eval_fit_from_the_cli(tmp_path):
    path = write_suite(tmp_path, [FUSION, {"name": "llm", "model": "smollm2-135m"}])
    r = cli("eval", "fit", str(path), "--variant", "fusion", "--out", str(tmp_path / "run"), cache=tmp_path / "c")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    weights = out["no_llm"]["weights"]
    assert out["with_llm"] is None and weights["llm"] == 0.0 and any(weights.values())
    assert out["no_llm"]["lists"] == 10 and 0 <= out["no_llm"]["validation_ndcg"] <= 1
    assert list((tmp_path / "run" / "fusion-fits").glob("fusion-*.json"))
    r = cli("eval", "fit", str(path), "--variant", "llm", "--out", str(tmp_path / "run"), cache=tmp_path / "c")
    assert r.returncode != 0 and "only fusion and ltr variants" in r.stderr and "Traceback" not in r.stderr


def test_position_bias_is_measured_and_mirrored_orders_remove_it(settings, tmp_path):
    """A scripted model that only prefers early letters: with one order the held-out item's rank
    is its position; with the mirrored order averaged in, position no longer matters."""
    from evals import position_bias

    fake = ScriptedFakeBackend([first_letter_lover], repeat_last=True)
    result = position_bias.measure(BOOKSHOP.parent / "bookshop-generic.yaml", tmp_path / "pb", users=3,
                                   positions=[0, 9, 19], model="smollm2-135m", settings=settings,
                                   backend_factory=lambda v: fake)
    by = {(t["orders"], t["position"]): t for t in result["table"]}
    assert [by[(1, p)]["mean_rank"] for p in (1, 10, 20)] == [1.0, 10.0, 20.0]
    assert result["mean_rank_spread"] == {1: 19.0, 2: 0.0}
    assert len(fake.requests) == 3 * 3 * 2  # the mirrored run reuses the single order's cached answer
    assert "| 2 | 20 |" in position_bias.markdown(result)


def describe_by_title(request):
    title = request.messages[-1]["content"].split("<catalog_data>")[1].split("|")[0].strip()
    return json.dumps({"description": f"{title}: a story of ships, storms and distant harbours.", "tags": ["sea"]})


def test_an_enrich_run_searches_an_index_with_written_text_for_the_most_read_thin_items(settings, tmp_path):
    path = write_suite(tmp_path, [FUSION], protocol={"kind": "retrieved", "candidates": 20})
    suite = yaml.safe_load(path.read_text())
    del suite["dataset"]["map"]["blurb"]  # no description text: every book is thin
    suite["enrich"] = {"limit": 5}
    path.write_text(yaml.safe_dump(suite))
    run, summary, fake = run_with(settings, path, tmp_path / "run", describe_by_title)
    e = summary["enrichment"]
    assert (e["chosen"], e["enriched"], e["written_now"], e["failed"]) == (5, 5, 5, {})
    assert e["version"].startswith("enrich@v1:") and e["version"].endswith(":scripted-fake")
    assert 0.0 <= e["held_out_items_enriched"] <= 1.0
    assert len(fake.requests) == 5 and all(r.response_schema for r in fake.requests)
    written = run.data.store.enrichments(e["version"])
    plain = load_data_index(run)  # the shared eval index keeps the catalog's own text
    changed = [i for i in written if not np.allclose(plain.embeddings([i])[i], run.data.index.embeddings([i])[i])]
    assert sorted(changed) == sorted(written)
    # the most read thin items counted over the training rows, not the held-out ones
    from collections import Counter

    from agent.enrich import thin_items
    by_training = thin_items(run.data.store.all_items(), Counter(row[1] for row in run.split.train), 5)
    assert set(written) == {i.item_id for i in by_training}
    again, summary2, fake2 = run_with(settings, path, tmp_path / "run2", describe_by_title)
    assert fake2.requests == [] and summary2["enrichment"]["written_now"] == 0
    assert summary2["variants"]["fusion"]["metrics"] == summary["variants"]["fusion"]["metrics"]


def load_data_index(run):
    from agent.retrieval.chroma import ChromaRetriever
    from agent.retrieval.embeddings import MiniLMEmbedder

    return ChromaRetriever(run.data.workspace / "chroma", MiniLMEmbedder())
