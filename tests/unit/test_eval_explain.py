"""The explanation eval (evals/explain.py) with a scripted fake LLM (named as such) over the
test data: per-list rows written as they are scored, a paired comparison, and an interrupted
run continued without asking the model again for lists already scored."""

import json

from agent.backends.fake import ScriptedFakeBackend, explain_from_facts
from evals.explain import run

PROMPTS = ["explain@v1", "explain-why@v2"]


def test_rows_are_written_as_scored_and_an_interrupted_run_continues(recommender_with, tmp_path):
    fake = ScriptedFakeBackend([explain_from_facts], repeat_last=True)
    summary = run(recommender_with(fake), PROMPTS, n_users=4, k=3, out_dir=tmp_path)
    lines = (tmp_path / "lists.jsonl").read_text().splitlines()
    assert len(lines) == 8 and {json.loads(x)["prompt"] for x in lines} == set(PROMPTS)
    assert summary["paired_baseline"] == "explain@v1" and set(summary["paired"]) == {"explain-why@v2"}
    v1 = summary["variants"]["explain@v1"]
    assert v1["lists"] == 4 and 0 < v1["llm_share"]["mean"] <= 1 and v1["false_claims_delivered_total"] == 0
    calls = len(fake.requests)

    (tmp_path / "lists.jsonl").write_text("\n".join(lines[:5]) + "\n")  # stopped after five lists
    again = ScriptedFakeBackend([explain_from_facts], repeat_last=True)
    resumed = run(recommender_with(again), PROMPTS, n_users=4, k=3, out_dir=tmp_path)
    assert 0 < len(again.requests) < calls  # only the three missing lists were asked for
    assert len((tmp_path / "lists.jsonl").read_text().splitlines()) == 8
    for p in PROMPTS:
        assert resumed["variants"][p]["llm_share"] == summary["variants"][p]["llm_share"]
        assert resumed["variants"][p]["lists"] == 4
