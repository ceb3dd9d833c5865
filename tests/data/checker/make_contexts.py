"""Freeze the corpus's contexts: for a few people of MovieLens and the bookshop, the evidence of
some items of their list, and their liked history. Run once when the corpus was started
(`python tests/data/checker/make_contexts.py`); the texts were written against facts.md.
It reads the MovieLens workspace `make demo` ingests, and ingests the bookshop into a temp dir."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2]))

from agent import Recommender, RecommendOptions  # noqa: E402
from agent.config import load_settings  # noqa: E402
from evals.reliability import workspace  # noqa: E402

MOVIELENS_USERS = {"1": 4, "414": 4, "68": 4, "274": 4, "599": 4, "18": 3, "91": 3, "177": 3, "288": 3, "380": 3, "480": 3}
BOOKSHOP_USERS = 4  # people, two items each


def contexts(rec: Recommender, dataset: str, users: dict[str, int]) -> list[dict]:
    out = []
    for user, n in users.items():
        history = rec.history(user)
        result = rec.recommend(user, RecommendOptions(k=10, use_llm=False))
        # the items with the most to say first (a series link, shared tags), then the list's order
        items = sorted(result.items, key=lambda it: (-len(it.evidence.series), -len(it.evidence.shared_tags), it.rank))
        liked = [e for e in rec.context(history).all_liked_events]
        for it in items[:n]:
            out.append({"id": f"{dataset}:{user}:{it.item_id}", "dataset": dataset, "user": user,
                        "evidence": it.evidence.model_dump(mode="json", exclude_none=True),
                        "liked": [[e.item_id, e.rating] for e in liked]})
    return out


def main() -> None:
    records = []
    with Recommender(load_settings()) as rec:
        records += contexts(rec, "ml-latest-small", MOVIELENS_USERS)
    with tempfile.TemporaryDirectory() as tmp:
        settings = workspace.build(Path(tmp) / "data", cache_dir=load_settings().cache_dir)
        with Recommender(settings) as rec:
            users = sorted({u for u, *_ in rec.store.all_interactions()})[:BOOKSHOP_USERS]
            records += contexts(rec, "bookshop", {u: 2 for u in users})
    (HERE / "contexts.jsonl").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    print(f"{len(records)} contexts → {HERE / 'contexts.jsonl'}")


if __name__ == "__main__":
    main()
