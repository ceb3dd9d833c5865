"""The classic collaborative models on hand-made data whose answer is known."""

import numpy as np
import pytest

from agent.retrieval.classic import EASE, BM25KNN, Factors, PositiveMatrix, Transitions, spd_inverse_in_place, top_positions


def two_tastes(n_users: int = 40) -> list[tuple]:
    """Half the users like items a1..a4, the other half b1..b4; everyone also rated x1 low."""
    rows = []
    for u in range(n_users):
        group = "a" if u % 2 == 0 else "b"
        for n in range(1, 5):
            if (u + n) % 5:  # most, not all, of their group's items
                rows.append((f"u{u}", f"{group}{n}", 5.0, 100 * u + n))
        rows.append((f"u{u}", "x1", 1.0, 100 * u + 9))
    return rows


@pytest.mark.parametrize("make", [
    lambda d: EASE(d, lam=10.0),
    lambda d: BM25KNN(d, neighbours=10),
    lambda d: Factors(d, "als", factors=4, regularization=0.01),
    lambda d: Factors(d, "bpr", factors=4, learning_rate=0.05),
], ids=["ease", "bm25", "als", "bpr"])
def test_each_model_recommends_from_the_persons_own_taste(make):
    data = PositiveMatrix(two_tastes())
    assert "x1" not in data.position  # low ratings are not positives
    model = make(data)
    top = [i for i, _ in model.top(["a1", "a2"], 2)]
    assert set(top) == {"a3", "a4"}, top  # never the liked items themselves, never the other taste
    a3, b3 = model.scores(["a1", "a2"], ["a3", "b3"])
    assert a3 > b3
    assert model.scores(["unknown"], ["a3"]) == [0.0] and model.top(["unknown"], 3) == []
    assert not {i for i, _ in model.top(["a1"], 5, exclude={"a2", "a3"})} & {"a1", "a2", "a3"}


def test_ease_matches_its_closed_form_worked_by_hand_on_four_items():
    # u1 likes i1 and i2, u2 likes i3 and i4: XᵀX + λI (λ = 1) is two blocks [[2, 1], [1, 2]],
    # whose inverse is ⅓·[[2, −1], [−1, 2]]; B_ij = −P_ij / P_jj = ½ inside a block, 0 across
    rows = [("u1", "i1", 5.0, 1), ("u1", "i2", 5.0, 2), ("u2", "i3", 5.0, 3), ("u2", "i4", 5.0, 4)]
    model = EASE(PositiveMatrix(rows), lam=1.0)
    half = 0.5
    assert np.allclose(model.weights, [[0, half, 0, 0], [half, 0, 0, 0], [0, 0, 0, half], [0, 0, half, 0]])
    assert model.scores(["i1"], ["i2", "i3", "i4"]) == pytest.approx([0.5, 0.0, 0.0])


def test_ease_weights_have_a_zero_diagonal_and_past_the_size_limit_keep_the_most_liked_items():
    data = PositiveMatrix(two_tastes() + [("u0", "rare", 5.0, 1)])
    model = EASE(data, lam=10.0)
    assert np.allclose(np.diag(model.weights), 0.0)
    approx = EASE(data, lam=10.0, max_items=len(data) - 1)  # one item too many: the rarest is left out
    assert approx.weights.shape == (len(data) - 1,) * 2
    assert approx.scores(["a1"], ["rare"]) == [0.0] and approx.top(["a1", "a2"], 2)[0][0] in ("a3", "a4")


def test_transitions_follow_the_order_people_liked_things_in():
    rows = [(f"u{u}", item, 5.0, t) for u in range(10) for t, item in enumerate(["start", "middle", "end"])]
    rows += [("v", "end", 5.0, 1), ("v", "start", 5.0, 2)]  # one person went the other way
    model = Transitions(PositiveMatrix(rows), window=1, recent=1)
    assert model.top(["start"], 1)[0][0] == "middle"
    assert model.top(["middle"], 1)[0][0] == "end"
    # the newest liked item decides (liked lists are newest first)
    assert model.top(["middle", "start"], 1)[0][0] == "end"


def transitions_by_loop(rows, like_threshold=4.0, window=3):
    """The transition counts as a loop over each person's liked items in time order would sum them."""
    liked = {}
    for user, item, rating, t in rows:
        if rating >= like_threshold:
            liked.setdefault(user, []).append((t, item))
    pairs = {}
    for events in liked.values():
        seq = [item for _, item in sorted(events, key=lambda e: e[0])]
        for n, a in enumerate(seq):
            for step, b in enumerate(seq[n + 1:n + 1 + window], start=1):
                pairs[(a, b)] = pairs.get((a, b), 0.0) + 1.0 / step
    return pairs


def test_transitions_built_from_arrays_equal_a_loop_over_each_persons_sequence():
    rng = np.random.default_rng(3)  # ties in time, dislikes and people with one liked item included
    rows = [(f"u{u}", f"i{rng.integers(40)}", float(rng.choice([2.0, 4.0, 5.0])), int(rng.integers(6)))
            for u in range(60) for _ in range(rng.integers(1, 12))]
    rows = list({(u, i): (u, i, r, t) for u, i, r, t in rows}.values())  # one row per (user, item), as stored
    data = PositiveMatrix(rows)
    model = Transitions(data)
    expected = transitions_by_loop(rows)
    assert model.transitions.nnz == len(expected)
    for a in {a for a, _ in expected}:
        out = sum(w for (x, _), w in expected.items() if x == a)
        for (x, b), w in expected.items():
            if x == a:
                got = model.transitions[data.position[a], data.position[b]]
                assert got == pytest.approx(w / out, rel=1e-6)


def test_per_request_scores_and_top_equal_the_catalog_wide_vectors_exactly():
    """EASE and the transitions answer a request without a catalog-long vector (at 1M items those
    cost milliseconds); what they answer must be what the catalog-wide scores say, bit for bit."""
    from agent.retrieval.classic import ItemScorer

    rng = np.random.default_rng(5)
    rows = list({(u, i): (u, i, 5.0, t) for u, i, t in
                 ((f"u{u}", f"i{rng.integers(60)}", int(rng.integers(9))) for u in range(80) for _ in range(8))}.values())
    data = PositiveMatrix(rows)
    models = [EASE(data, lam=10.0), EASE(data, lam=10.0, max_items=len(data) // 2), Transitions(data)]
    for _ in range(30):
        liked = [data.item_ids[j] for j in rng.choice(len(data), size=rng.integers(1, 9))]  # repeats included
        asked = [data.item_ids[j] for j in rng.choice(len(data), size=25)] + ["unknown"]
        exclude = {data.item_ids[j] for j in rng.choice(len(data), size=5)}
        for model in models:
            wide = model.all_scores(liked)
            assert model.scores(liked, asked) == [float(wide[data.position[i]]) if i in data.position else 0.0
                                                  for i in asked]
            if isinstance(model, EASE):  # the generic top (a stable sort of the catalog-wide vector) over the kept items
                left_out = set(data.item_ids) - {data.item_ids[c] for c in model.kept} if model.kept is not None else set()
                assert model.top(liked, 7, exclude) == ItemScorer.top(model, liked, 7, exclude | left_out)


def test_a_pair_read_twice_counts_once():
    data = PositiveMatrix([("u", "a", 5.0, 1), ("u", "b", 5.0, 2), ("u", "a", 5.0, 1)])
    assert data.matrix.nnz == 2 and data.sequence_items.tolist() == [data.position["a"], data.position["b"]]


def test_the_in_place_inverse_equals_numpys_and_reuses_the_matrix_memory():
    import tracemalloc

    rng = np.random.default_rng(1)
    x = rng.random((700, 600))  # large enough that a copy would stand out of threadpoolctl's bookkeeping
    gram = x.T @ x + 5.0 * np.eye(600)
    expected = np.linalg.inv(gram)
    spd_inverse_in_place(np.eye(3))  # threadpoolctl's one-time scan of the loaded BLAS libraries, untraced
    tracemalloc.start()
    out = spd_inverse_in_place(gram, block=64)  # several row blocks and a ragged last one
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < gram.nbytes / 4  # no copy of the matrix was made (numpy reports its buffers here)
    assert out is gram and np.allclose(out, expected, rtol=1e-10, atol=1e-12) and np.array_equal(out, out.T)
    assert EASE(PositiveMatrix(two_tastes()), lam=10.0).weights.flags.c_contiguous  # rows read fast at scoring
    with pytest.raises(np.linalg.LinAlgError):
        spd_inverse_in_place(-np.eye(3))


def test_the_cholesky_factor_runs_on_one_blas_thread(monkeypatch):
    """OpenBLAS's threaded dpotrf crashes the process (SIGSEGV) from about 16,000 items on 2
    threads, a size EASE reaches at 20,000 kept items: the factor must run on one thread."""
    from scipy.linalg import lapack
    from threadpoolctl import threadpool_info, threadpool_limits

    seen = []
    real = lapack.dpotrf

    def recording(*args, **kwargs):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return real(*args, **kwargs)

    monkeypatch.setattr(lapack, "dpotrf", recording)
    with threadpool_limits(2, "blas"):  # two threads around the call, on any machine: the guard must bring it to one
        spd_inverse_in_place(np.eye(50) * 2.0)
    assert seen == [{1}]


def test_top_positions_pick_what_a_stable_sort_picks():
    rng = np.random.default_rng(0)
    for _ in range(200):
        scores = rng.integers(0, 5, size=rng.integers(1, 60)).astype(np.float64)  # many ties
        scores[rng.random(len(scores)) < 0.2] = -np.inf
        k = int(rng.integers(0, len(scores) + 3))
        assert top_positions(scores, k).tolist() == np.argsort(-scores, kind="stable")[:k].tolist()


def test_a_fit_is_kept_on_disk_read_back_memory_mapped_and_scores_the_same(tmp_path):
    from agent.retrieval.fitted import FitStore, FittedModels

    fits = FitStore(tmp_path, cache=tmp_path / "unused")
    first = FittedModels.fit(two_tastes(), 4.0, lam=10.0)
    fits.save("g1-s", first)
    key, again = fits.latest("s")
    assert key == "g1-s" and isinstance(again.classic.ease.weights, np.memmap)
    assert again.rows == first.rows
    for liked in (["a1"], ["b2", "a3"], ["nope"]):
        assert again.classic.scores(liked, ["a2", "b2", "x1"]) == first.classic.scores(liked, ["a2", "b2", "x1"])
        assert again.cooccurrence.scores(liked, ["a2", "b2"]) == first.cooccurrence.scores(liked, ["a2", "b2"])
    fits.save("g2-s", FittedModels.fit(two_tastes() + [("new", "b1", 5.0, 1)], 4.0, lam=10.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g2-s"]  # the stale fit is gone
    assert fits.keys("s") == ["g2-s"] and fits.latest("other-settings") is None


def test_a_large_catalogs_fit_keeps_neighbours_on_disk_and_scores_from_them(tmp_path):
    from agent.retrieval.fitted import FitStore, FittedModels

    fits = FitStore(tmp_path, cache=tmp_path / "unused")
    fit = FittedModels.fit(two_tastes(), 4.0, lam=10.0, neighbours_above=0)  # "large" from one item on
    assert fit.cooccurrence.neighbours is not None
    assert FittedModels.fit(two_tastes(), 4.0, lam=10.0).cooccurrence.neighbours is None  # small: exact
    fits.save("g1-s", fit)
    _, again = fits.latest("s")
    assert again.cooccurrence.neighbours is not None
    assert again.cooccurrence.scores(["a1", "a2"], ["a3", "b3"]) == fit.cooccurrence.scores(["a1", "a2"], ["a3", "b3"])
    assert [i for i, _, _ in again.cooccurrence.similar(["a1", "a2"], k=2)] and \
        {i for i, _, _ in again.cooccurrence.similar(["a1", "a2"], k=2)} <= {"a3", "a4"}


def test_feedback_counts_at_once_without_refitting_the_item_models(ingested, embedder, tmp_path):
    import shutil

    from tests.conftest import make_recommender

    shutil.copytree(ingested.data_dir, tmp_path / "data")  # feedback writes: a private copy
    r = make_recommender(ingested.model_copy(update={"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"}),
                         embedder)
    fitted = r.classic()
    item = r.store.all_items()[0].item_id
    r.feedback("user-18", item, "like")
    assert r.classic() is fitted  # one more interaction: the same models
    assert item in r.context(r.history("user-18")).positives  # but the person's history has it now
    r.store.close()


def test_a_refit_runs_in_the_background_while_requests_keep_the_old_models(ingested, embedder, tmp_path, monkeypatch):
    import shutil
    import threading

    from agent import parts as parts_module
    from agent.types import Interaction
    from tests.conftest import make_recommender

    shutil.copytree(ingested.data_dir, tmp_path / "data")
    r = make_recommender(ingested.model_copy(update={"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache"}),
                         embedder)
    old = r.classic()
    release = threading.Event()
    real_fit = parts_module.Parts._fit_rows
    monkeypatch.setattr(parts_module.Parts, "_fit_rows", lambda self: (release.wait(30), real_fit(self))[1])
    items = [it.item_id for it in r.store.all_items()]
    r.store.upsert_interactions([Interaction(user_id="bulk", item_id=i, rating=4.0, timestamp=1)
                                 for i in items])  # 300 rows: past the refit threshold
    assert r.classic() is old  # answered at once, with the models it had
    release.set()
    r.wait_for_refit(30)
    assert r.classic() is not old  # the new fit is in use once it is done
    r.store.close()


def test_a_process_start_reads_the_fit_and_refits_only_when_the_interactions_changed(ingested, embedder, tmp_path,
                                                                                      monkeypatch):
    import shutil

    from agent.retrieval import fitted as fitted_module
    from agent.types import Interaction
    from tests.conftest import make_recommender

    shutil.copytree(ingested.data_dir, tmp_path / "data")
    settings = ingested.model_copy(update={"data_dir": tmp_path / "data"})
    make_recommender(settings, embedder).fit_now()
    fits = []
    real_fit = fitted_module.FittedModels.fit.__func__
    monkeypatch.setattr(fitted_module.FittedModels, "fit",
                        classmethod(lambda cls, *a, **k: (fits.append(1), real_fit(cls, *a, **k))[1]))

    fresh = make_recommender(settings, embedder)  # a new process: the fit is read, not refitted
    assert fresh.classic() is not None and fits == []
    fresh.feedback("user-18", fresh.store.all_items()[-1].item_id, "like")  # under 1%: still no refit
    fresh.classic()
    assert fits == []
    items = [it.item_id for it in fresh.store.all_items()]
    fresh.store.upsert_interactions([Interaction(user_id="bulk", item_id=i, rating=5.0, timestamp=1) for i in items])
    later = make_recommender(settings, embedder)  # stale on disk: read at once, refitted in the background
    assert later.classic() is not None
    later.wait_for_refit(60)
    assert fits == [1] and len(list((tmp_path / "data" / "fitted").iterdir())) == 1
    assert make_recommender(settings, embedder).fitted().rows == fresh.store.count_interactions()
    assert fits == [1]  # and the next start reads the new fit


def test_a_refit_begun_before_a_deletion_is_done_again_without_them(ingested, embedder, tmp_path, monkeypatch):
    import shutil
    import threading

    from agent import parts as parts_module
    from agent.types import Interaction
    from tests.conftest import make_recommender

    shutil.copytree(ingested.data_dir, tmp_path / "data")
    r = make_recommender(ingested.model_copy(update={"data_dir": tmp_path / "data"}), embedder)
    r.fit_now()
    items = [it.item_id for it in r.store.all_items()]
    r.store.upsert_interactions([Interaction(user_id="leaving", item_id=i, rating=5.0, timestamp=1) for i in items])
    release, started, real_fit = threading.Event(), threading.Event(), parts_module.Parts._fit_rows

    def fit_rows(self):
        out = real_fit(self)
        if threading.current_thread().name == "recagent-refit":  # it read the rows with "leaving" in them
            started.set()
            release.wait(30)
        return out

    monkeypatch.setattr(parts_module.Parts, "_fit_rows", fit_rows)
    before = r.classic()  # starts the background refit
    assert started.wait(30)
    r.delete_user("leaving")  # answers at once; the fit before serves meanwhile
    assert r.classic() is before
    release.set()
    r.wait_for_refit(30)
    assert r.fitted().rows == r.store.count_interactions()  # fitted again, without "leaving"
    fits = list((tmp_path / "data" / "fitted").iterdir())
    assert len(fits) == 1 and f"g{r.store.generation()}-" in fits[0].name
    assert "leaving" not in {u for u, *_ in r.store.all_interactions()}


def test_an_eval_builds_bpr_the_same_twice_whatever_the_thread_setting():
    """BPR's updates race across threads, so two fits on two threads differ; an eval's rerun must
    reproduce its summary, so the eval fits BPR on one."""
    from evals.classic import build

    data = PositiveMatrix(two_tastes())
    a, b = (build("bpr", data, {"factors": 8, "learning_rate": 0.05}, threads=2) for _ in range(2))
    assert np.array_equal(a.model.item_factors, b.model.item_factors)
