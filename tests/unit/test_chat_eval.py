"""The conversation eval's simulated user never gives the target's title away, and a small
suite runs end to end (rules-only variants: fast and deterministic)."""

from pathlib import Path

import yaml

from agent.types import Item
from evals.chat import ChatEvalRun, leaks_title, load_chat_suite, simulated_messages

ROOT = Path(__file__).parents[2]


def small_suite(tmp_path, users: int, max_turns: int, variants: list[str]):
    """A rules-only chat suite over the test catalog."""
    path = tmp_path / "chat.yaml"
    path.write_text(yaml.safe_dump({
        "name": "chat-small", "dataset": {"items": str(ROOT / "tests/data/items.csv"),
                                          "interactions": str(ROOT / "tests/data/interactions.csv")},
        "users": {"n": users, "seed": 1}, "max_turns": max_turns, "k": 5, "baseline": variants[0],
        "variants": [{"name": v, "use_llm": False} for v in variants]}))
    return load_chat_suite(path)


def test_simulator_messages_never_contain_the_title():
    targets = [
        Item(item_id="1", title="Toy Story (1995)", categories=["Animation", "Children", "Comedy"],
             tags=["pixar", "toys", "toy story", "fun"]),
        Item(item_id="2", title="The Matrix (1999)", categories=["Action", "Sci-Fi"],
             tags=["matrix", "cyberpunk", "virtual reality", "the matrix trilogy"]),
        Item(item_id="3", title="Alien (1979)", categories=["Horror", "Sci-Fi"], tags=["aliens", "alien", "space"]),
        Item(item_id="4", title="Heat (1995)", categories=[], tags=[]),
    ]
    for target in targets:
        messages = simulated_messages(target, 5)
        assert len(messages) == 5
        assert not any(leaks_title(m, target) for m in messages), messages
    assert "cyberpunk" in " ".join(simulated_messages(targets[1], 5))  # attributes do get through
    assert leaks_title("I want something like the matrix", targets[1])


def test_rules_only_chat_suite_runs_end_to_end(tmp_path, cache_dir):
    from agent.config import load_settings

    suite = small_suite(tmp_path, users=4, max_turns=3, variants=["rules", "rules-again"])
    settings = load_settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")
    summary = ChatEvalRun(suite, tmp_path / "run", settings).run()
    for name in ("results.jsonl", "summary.json", "report.md", "report.html"):
        assert (tmp_path / "run" / name).exists()
    a, b = summary["variants"]["rules"], summary["variants"]["rules-again"]
    assert a["hit@5_within_3_turns"] == b["hit@5_within_3_turns"]  # deterministic
    assert b["vs_baseline_hit"]["diff"] == 0.0


def test_the_chat_runs_item_models_are_fitted_on_its_training_rows_not_read_from_the_workspace(tmp_path):
    """A workspace's fit saw every rating, the held-out targets included: the simulator must not use it."""
    from agent.config import load_settings
    from agent.retrieval.fitted import FittedModels, save_fit

    settings = load_settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")
    run = ChatEvalRun(small_suite(tmp_path, users=2, max_turns=1, variants=["rules"]), tmp_path / "run", settings)
    run.prepare()
    agent = run.agent_for(run.suite.variants[0])
    rec = agent.recommender
    save_fit(tmp_path / "data" / "fitted", f"g999-{rec._fit_settings()}",  # a workspace fit, newer than any
             FittedModels.fit([("someone", "1", 5.0, 1)], 4.0))
    assert rec.fitted().rows == run.store.count_interactions() > 1
    agent.close()
