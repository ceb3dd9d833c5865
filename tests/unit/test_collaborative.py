import math

import pytest

from agent.retrieval.collaborative import CooccurrenceIndex

# users u1..u3; positives (rating >= 4): u1: A,B  u2: A,B,C  u3: A,C ; u3 rated D 2.0 (not positive)
ROWS = [("u1", "A", 5.0), ("u1", "B", 4.0), ("u2", "A", 4.5), ("u2", "B", 5.0), ("u2", "C", 4.0),
        ("u3", "A", 4.0), ("u3", "C", 5.0), ("u3", "D", 2.0)]


def test_popularity_counts_positive_interactions_only():
    idx = CooccurrenceIndex(ROWS)
    assert idx.popular(3) == [("A", 3.0), ("B", 2.0), ("C", 2.0)]
    assert "D" not in idx.item_ids


def test_scores_are_shrunk_cosine_worked_by_hand():
    idx = CooccurrenceIndex(ROWS, shrinkage=1.0)
    got = dict((i, s) for i, s, _ in idx.similar(["A"], k=5))
    # B: co-liked by u1,u2 -> c=2, n_A=3, n_B=2: 2/sqrt(6) * 2/(2+1)
    assert got["B"] == pytest.approx(2 / math.sqrt(6) * 2 / 3, rel=1e-5)
    # C: co-liked by u2,u3 -> the same numbers
    assert got["C"] == pytest.approx(2 / math.sqrt(6) * 2 / 3, rel=1e-5)
    assert "A" not in got


def test_similar_excludes_seen_and_names_the_evidence():
    idx = CooccurrenceIndex(ROWS, shrinkage=1.0)
    res = idx.similar(["A", "B"], k=5, exclude={"B"})
    assert [(i, because) for i, _, because in res] == [("C", "A")]
    # C with liked {A, B}: from A 2/sqrt(6)*2/3; from B: c(B,C)=1 (u2): 1/sqrt(4)*1/2
    assert res[0][1] == pytest.approx(2 / math.sqrt(6) * 2 / 3 + 0.5 * 0.5, rel=1e-5)


def test_unknown_liked_items_give_nothing():
    assert CooccurrenceIndex(ROWS).similar(["nope"], k=3) == []


def test_scores_with_recent_equal_two_separate_score_calls():
    import random

    rng = random.Random(3)
    rows = [(f"u{u}", f"i{rng.randrange(40)}", 5.0) for u in range(60) for _ in range(8)]
    idx = CooccurrenceIndex(rows)
    items = [f"i{n}" for n in range(45)]  # i40..i44 are unknown
    for liked in (["i1", "i2", "nope", "i3", "i4", "i5", "i6", "i7"], ["i9"], ["nope"], []):
        full, recent = idx.scores_with_recent(liked, 3, items)
        assert full == pytest.approx(idx.scores(liked, items))
        assert recent == pytest.approx(idx.scores(liked[:3], items))


def _random_rows(seed: int = 3, users: int = 60, items: int = 40):
    import random

    rng = random.Random(seed)
    return [(f"u{u}", f"i{rng.randrange(items)}", 5.0, n) for u in range(users) for n in range(rng.randrange(2, 12))]


def test_kept_neighbours_score_exactly_when_every_neighbour_is_kept():
    from agent.retrieval.classic import PositiveMatrix
    from agent.retrieval.collaborative import strongest_neighbours

    data = PositiveMatrix(_random_rows())
    exact = CooccurrenceIndex(data)
    kept = CooccurrenceIndex(data, neighbours=strongest_neighbours(data, n=len(data), block=7))
    items = list(data.item_ids)
    for liked in (["i1", "i2"], ["i5"], ["i3", "i9", "i11", "i30"]):
        assert kept.scores(liked, items) == pytest.approx(exact.scores(liked, items), rel=1e-5)
        assert kept.scores_with_recent(liked, 1, items)[1] == pytest.approx(
            exact.scores_with_recent(liked, 1, items)[1], rel=1e-5)


def test_each_item_keeps_only_its_strongest_neighbours():
    import numpy as np

    from agent.retrieval.classic import PositiveMatrix
    from agent.retrieval.collaborative import strongest_neighbours

    data = PositiveMatrix(_random_rows())
    full = strongest_neighbours(data, n=len(data)).toarray()
    top3 = strongest_neighbours(data, n=3).toarray()
    for i in range(len(data)):
        assert np.count_nonzero(top3[i]) <= 3 and top3[i, i] == 0
        if np.count_nonzero(full[i]) >= 3:  # the three kept are the three largest
            assert sorted(top3[i][top3[i] > 0]) == pytest.approx(sorted(full[i])[-3:])


@pytest.mark.parametrize("dense_pairs", [1 / 16, 1e9], ids=["catalog-long", "reached-items-only"])
def test_scores_and_top_k_equal_a_catalog_long_sum_exactly(dense_pairs, monkeypatch):
    """Scores are summed over only the items a history's pairs reach (a million-item catalog
    makes a catalog-long vector cost milliseconds per request); they must be the catalog-long
    bincount's sums bit for bit, and the top k its stable order."""
    import numpy as np

    from agent.retrieval import collaborative
    from agent.retrieval.collaborative import pair_weight

    monkeypatch.setattr(collaborative, "DENSE_PAIRS", dense_pairs)
    idx = CooccurrenceIndex(_random_rows(seed=8, users=90, items=70), shrinkage=2.0)
    rng = np.random.default_rng(0)
    for _ in range(25):
        liked = [f"i{n}" for n in rng.choice(75, size=rng.integers(1, 10), replace=False)]  # unknown ids too
        exclude = {f"i{n}" for n in rng.choice(70, size=6)}
        cols = np.array([idx._pos[i] for i in liked if i in idx._pos], dtype=np.int64)
        if not len(cols):
            continue
        counts = (idx.transposed[cols] @ idx._m).tocoo()
        pop = np.maximum(idx.popularity, 1.0)
        weight = pair_weight(counts.data, pop[cols[counts.row]], pop[counts.col], 2.0)
        wide = np.bincount(counts.col, weights=weight, minlength=len(idx))
        wide[cols] = 0.0
        asked = [f"i{n}" for n in range(75)]
        assert idx.scores(liked, asked) == [float(wide[idx._pos[i]]) if i in idx._pos else 0.0 for i in asked]
        wide[[idx._pos[i] for i in exclude if i in idx._pos]] = 0.0
        order = [j for j in np.argsort(-wide, kind="stable")[:8] if wide[j] > 0]
        per_pair = np.zeros((len(cols), len(idx)))
        per_pair[counts.row, counts.col] = weight
        because = [idx.item_ids[cols[np.argmax(per_pair[:, j])]] for j in order]  # the first liked item on a tie
        assert idx.similar(liked, 8, exclude) == [(idx.item_ids[j], float(wide[j]), b) for j, b in zip(order, because)]


def test_co_liked_counts_the_people_who_liked_both_as_the_sparse_product_does():
    import numpy as np

    from agent.retrieval.collaborative import pair_weight

    idx = CooccurrenceIndex(_random_rows(seed=4, users=90, items=30), shrinkage=2.0)
    for item in ("i0", "i7", "i19"):
        liked = [f"i{n}" for n in range(0, 30, 3)] + ["unknown", "i3"]  # the item itself, an unknown id, a repeat
        j = idx._pos[item]
        known = [i for i in dict.fromkeys(liked) if i in idx._pos and i != item]
        cols = [idx._pos[i] for i in known]
        product = np.asarray((idx.transposed[cols] @ idx.transposed[j].T).todense()).ravel()
        pop = np.maximum(idx.popularity, 1.0)
        weight = pair_weight(product, pop[cols], pop[j], 2.0)
        expected = sorted(((known[o], int(product[o]), float(weight[o])) for o in range(len(known)) if product[o] > 0),
                          key=lambda t: -t[2])
        assert idx.co_liked(item, liked) == expected and expected
