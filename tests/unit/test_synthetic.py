"""The scale benchmark's synthetic data: seeded, MovieLens-shaped, valid for ingest."""

import csv
from collections import Counter

import numpy as np

from evals.synthetic import generate, hashed_embedder


def test_the_generator_is_seeded_long_tailed_and_ingestable(tmp_path):
    a = generate(tmp_path / "a", n_items=2000, n_interactions=30_000, seed=3)
    b = generate(tmp_path / "b", n_items=2000, n_interactions=30_000, seed=3)
    assert a.interactions.read_bytes() == b.interactions.read_bytes() and a.items.read_bytes() == b.items.read_bytes()
    rows = list(csv.DictReader(a.interactions.open()))
    assert len(rows) == a.n_interactions and a.n_interactions == 30_000
    assert len({(r["user_id"], r["item_id"]) for r in rows}) == len(rows)  # one row per user and item
    ratings = np.array([float(r["rating"]) for r in rows])
    assert ratings.min() >= 0.5 and ratings.max() <= 5 and 3.2 < ratings.mean() < 3.8
    per_item = np.array(sorted(Counter(r["item_id"] for r in rows).values(), reverse=True))
    assert per_item[: len(per_item) // 20].sum() / per_item.sum() > 0.25  # the top 5% of items: a long tail
    per_user = Counter(r["user_id"] for r in rows)
    assert len(per_user) == a.n_users and np.median(list(per_user.values())) >= 20
    items = list(csv.DictReader(a.items.open()))
    assert len(items) == 2000 and all(len(it["text"].split()) == 30 and "|" in it["categories"] for it in items)


def test_the_stand_in_embedder_puts_texts_that_share_words_close():
    embed = hashed_embedder()
    v = embed(["drama1 drama2 drama3 story", "drama1 drama2 drama3 night", "horror7 horror8 war city"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > 0.6 > abs(v[0] @ v[2])
