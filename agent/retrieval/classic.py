"""The strong classic collaborative models, as item scorers over one positive-interaction
matrix: EASE (closed-form item regression), ALS and BPR (matrix factorisation from the
`implicit` library), item-kNN with BM25 weighting (also `implicit`) and next-item transitions
(a first-order sequential signal).

Every scorer answers for a history given as liked item ids, newest first, so the same model
serves the eval's held-out users, stored users, inline histories and chat sessions alike (the
factorisation models fold a history in; nobody needs to be in the training matrix)."""

from __future__ import annotations

import warnings
from array import array
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse

EASE_MAX_ITEMS = 20_000  # dense item × item weights: 20k² float32 is 1.6 GB; beyond, the most liked 20k
EASE_LAMBDA = 500.0  # chosen on MovieLens' validation split (docs/evaluation.md); evals choose their own


class PositiveMatrix:
    """Users × items, 1 where a user liked an item (rating ≥ like_threshold, or no rating),
    and each user's liked items in time order (for transitions)."""

    def __init__(self, rows: Iterable[tuple], like_threshold: float = 4.0):
        users: dict[str, int] = {}
        items: dict[str, int] = {}
        u_idx, i_idx, times = array("i"), array("i"), array("d")  # compact: 25M rows are 400 MB here
        for row in rows:
            user, item, rating = row[0], row[1], row[2]
            if rating is not None and rating < like_threshold:
                continue
            u_idx.append(users.setdefault(user, len(users)))
            i_idx.append(items.setdefault(item, len(items)))
            times.append(row[3] if len(row) > 3 and row[3] is not None else 0)
        u, i = np.frombuffer(u_idx, dtype=np.intc), np.frombuffer(i_idx, dtype=np.intc)
        t = np.frombuffer(times, dtype=np.float64)
        if len(u):  # a (user, item) pair twice (a row rewritten while a chunked read went on): the first counts
            _, first = np.unique(u.astype(np.int64) * len(items) + i, return_index=True)
            if len(first) < len(u):
                first.sort()
                u, i, t = u[first], i[first], t[first]
        self.item_ids = list(items)
        self.position = items
        m = sparse.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=(len(users), len(items)))
        m.sum_duplicates()  # canonical: sorted column indices
        self.matrix = m
        # every user's liked items in time order (ties in row order), users in order, as one flat array
        order = np.lexsort((t, u))
        self.sequence_items, self.sequence_users = i[order], u[order]

    @classmethod
    def from_parts(cls, item_ids: list[str], matrix: sparse.csr_matrix) -> "PositiveMatrix":
        """A matrix read back from disk (no per-user sequences: the transitions come fitted)."""
        data = cls.__new__(cls)
        data.item_ids, data.position, data.matrix = item_ids, {i: n for n, i in enumerate(item_ids)}, matrix
        data.sequence_items = data.sequence_users = np.zeros(0, dtype=np.int32)
        return data

    def __len__(self) -> int:
        return len(self.item_ids)

    def columns(self, ids: Iterable[str]) -> list[int]:
        return [self.position[i] for i in ids if i in self.position]

    def row(self, liked: Sequence[str]) -> sparse.csr_matrix:
        cols = sorted(set(self.columns(liked)))
        return sparse.csr_matrix((np.ones(len(cols), dtype=np.float32), ([0] * len(cols), cols)), shape=(1, len(self)))


def top_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """The positions of the k largest scores, largest first, ties by position: what a stable
    argsort of -scores starts with, without sorting a million-item catalog per request."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
    above = np.flatnonzero(scores > kth)
    chosen = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
    return chosen[np.argsort(-scores[chosen], kind="stable")]


def spd_inverse_in_place(a: np.ndarray, block: int = 1024) -> np.ndarray:
    """The inverse of a symmetric positive-definite float64 matrix, written over `a` (LAPACK's
    Cholesky potrf + potri): one n² array at a time, where an LU inverse holds three (at EASE's
    20k items, 3.2 GB instead of 9.6), and half the flops."""
    from scipy.linalg import lapack
    from threadpoolctl import threadpool_limits

    if not a.flags.c_contiguous:
        raise ValueError("spd_inverse_in_place needs a C-ordered array")
    f = a.T  # Fortran order over the same memory (a is symmetric), so LAPACK needs no copy
    # OpenBLAS's threaded Cholesky (0.3.29 in numpy, 0.3.30 in scipy) dies with SIGSEGV from
    # about n = 16,000 on 2 threads (EASE fits 20,000 past 20k items): factor on one thread
    with threadpool_limits(1, "blas"):
        c, info = lapack.dpotrf(f, lower=False, clean=False, overwrite_a=True)
    if info == 0:
        c, info = lapack.dpotri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix is not positive definite (LAPACK info {info})")
    if not np.shares_memory(c, a):  # LAPACK worked on a copy after all
        f[...] = c
    # potri wrote the upper triangle of f, which is a's lower one: mirror it, a block of rows at a time
    for start in range(0, a.shape[0], block):
        stop = min(start + block, a.shape[0])
        a[start:stop, stop:] = a[stop:, start:stop].T
        d = a[start:stop, start:stop]
        d[np.triu_indices(stop - start, 1)] = d.T[np.triu_indices(stop - start, 1)]
    return a


class ItemScorer:
    """Scores every item of the matrix for a history; `scores` and `top` read from that."""
    name = "scorer"

    def __init__(self, data: PositiveMatrix):
        self.data = data
        self._last: tuple[tuple, np.ndarray] | None = None

    def all_scores(self, liked: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def _scores_for(self, liked: Sequence[str]) -> np.ndarray:
        """`all_scores`, kept for the last history: a request asks for candidates, then features."""
        key, last = tuple(liked), self._last
        if last is not None and last[0] == key:
            return last[1]
        s = self.all_scores(liked)
        self._last = (key, s)
        return s

    def scores(self, liked: Sequence[str], items: Sequence[str]) -> list[float]:
        """Each item's score for the history `liked` (newest first); 0 for items the model does not know."""
        if not self.data.columns(liked):
            return [0.0] * len(items)
        s = self._scores_for(liked)
        pos = self.data.position
        return [float(s[pos[i]]) if i in pos else 0.0 for i in items]

    def top(self, liked: Sequence[str], k: int, exclude: set[str] = frozenset()) -> list[tuple[str, float]]:
        """The k best items for `liked`, none of `exclude` (nor the liked items themselves)."""
        if not self.data.columns(liked):
            return []
        s = self._scores_for(liked).astype(np.float64, copy=True)
        for i in self.data.columns(list(exclude) + list(liked)):
            s[i] = -np.inf
        best = top_positions(s, k)
        return [(self.data.item_ids[j], float(s[j])) for j in best if np.isfinite(s[j])]


class EASE(ItemScorer):
    """Embarrassingly shallow autoencoder (Steck, 2019): B = I − P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹,
    diagonal zero; a history's scores are its row of X times B. The weights are dense, so past
    EASE_MAX_ITEMS items it keeps the EASE_MAX_ITEMS most liked ones (an approximation: the
    rest score 0 and never come from EASE, while the other signals still reach them)."""
    name = "ease"

    def __init__(self, data: PositiveMatrix, lam: float = EASE_LAMBDA, max_items: int | None = None):
        super().__init__(data)
        limit = max_items or EASE_MAX_ITEMS
        x = data.matrix
        self.kept = None  # item columns the weights cover (None: all)
        if len(data) > limit:
            popularity = np.asarray(x.sum(axis=0)).ravel()
            self.kept = np.sort(np.argsort(-popularity, kind="stable")[:limit])
            x = x[:, self.kept]
        gram = (x.T @ x).astype(np.float64).toarray(order="C")  # float64 straight away: no float32 copy beside it
        gram[np.diag_indices_from(gram)] += lam
        b = spd_inverse_in_place(gram)  # P, in the Gram matrix's own memory
        b /= -np.diag(b).copy()  # B = −P·diag(1/diag(P)), in place
        b[np.diag_indices_from(b)] = 0.0
        self.lam, self.weights = lam, b.astype(np.float32)

    @classmethod
    def fitted(cls, data: PositiveMatrix, weights: np.ndarray, kept: np.ndarray | None, lam: float) -> "EASE":
        """EASE with weights read back (e.g. memory-mapped), not inverted again."""
        model = cls.__new__(cls)
        ItemScorer.__init__(model, data)
        model.lam, model.kept, model.weights = lam, kept, weights
        return model

    def _weight_positions(self, columns: Iterable[int]) -> np.ndarray:
        """The weights' rows (= columns) of catalog columns, those EASE does not keep left out."""
        cols = np.asarray(sorted(set(columns)), dtype=np.int64)
        if self.kept is None:
            return cols
        at = np.searchsorted(self.kept, cols)
        inside = at < len(self.kept)
        at, cols = at[inside], cols[inside]
        return at[self.kept[at] == cols]

    def weight_scores(self, liked: Sequence[str]) -> np.ndarray:
        """A history's scores over the weights' columns only (the kept items): the sum of its
        liked items' rows of B, in column order, so the same float32 sums as `row @ B`."""
        key, last = ("kept",) + tuple(liked), self._last
        if last is not None and last[0] == key:
            return last[1]
        rows = self._weight_positions(self.data.columns(liked))
        n = self.weights.shape[0]  # a 1 × kept indicator row: scipy adds B's rows in C, no catalog-long row
        row = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), rows, [0, len(rows)]), shape=(1, n))
        s = np.asarray(row @ self.weights).ravel()
        self._last = (key, s)
        return s

    def all_scores(self, liked):
        s = self.weight_scores(liked)
        if self.kept is None:
            return s
        out = np.zeros(len(self.data), dtype=np.float32)
        out[self.kept] = s
        return out

    def scores(self, liked: Sequence[str], items: Sequence[str]) -> list[float]:
        if not self.data.columns(liked):
            return [0.0] * len(items)
        s, pos = self.weight_scores(liked), self.data.position
        at = self._weight_positions(pos[i] for i in items if i in pos)
        by_column = dict(zip((int(c) for c in (at if self.kept is None else self.kept[at])), s[at].tolist()))
        return [by_column.get(pos[i], 0.0) if i in pos else 0.0 for i in items]

    def top(self, liked: Sequence[str], k: int, exclude: set[str] = frozenset()) -> list[tuple[str, float]]:
        """`ItemScorer.top` over the kept items only (the rest score 0 and never come from EASE)."""
        if not self.data.columns(liked):
            return []
        s = self.weight_scores(liked).astype(np.float64, copy=True)
        s[self._weight_positions(self.data.columns(list(exclude) + list(liked)))] = -np.inf
        best = top_positions(s, k)
        columns = best if self.kept is None else self.kept[best]
        return [(self.data.item_ids[c], float(s[j])) for j, c in zip(best, columns) if np.isfinite(s[j])]


class Transitions(ItemScorer):
    """Next-item transitions: P(b | a) from consecutive liked items in each user's time order
    (the next `window` items, weighted 1, ½, ⅓ …), scored for the latest `recent` liked items
    with weights decaying by `decay` per step back."""
    name = "sequential"

    def __init__(self, data: PositiveMatrix, window: int = 3, recent: int = 5, decay: float = 0.6):
        super().__init__(data)
        flat, owner = data.sequence_items, data.sequence_users
        at, src, dst, w = [], [], [], []
        for step in range(1, window + 1):  # each liked item and the one `step` later by the same user
            same = np.flatnonzero(owner[:-step] == owner[step:]) if len(flat) > step else np.zeros(0, dtype=np.int64)
            at.append(same * window + (step - 1))  # the pairs in (item, step) order, as one loop over them would be
            src.append(flat[same])
            dst.append(flat[same + step])
            w.append(np.full(len(same), 1.0 / step, dtype=np.float32))
        order = np.argsort(np.concatenate(at), kind="stable")
        src, dst, w = (np.concatenate(a)[order] for a in (src, dst, w))
        t = sparse.csr_matrix((w, (src, dst)), shape=(len(data), len(data)))
        t.sum_duplicates()
        out = np.asarray(t.sum(axis=1)).ravel()
        self.transitions = (sparse.diags(1.0 / np.maximum(out, 1e-12)).astype(np.float32) @ t).tocsr()
        self.recent, self.decay = recent, decay

    @classmethod
    def fitted(cls, data: PositiveMatrix, transitions: sparse.csr_matrix, recent: int = 5,
               decay: float = 0.6) -> "Transitions":
        model = cls.__new__(cls)
        ItemScorer.__init__(model, data)
        model.transitions, model.recent, model.decay = transitions, recent, decay
        return model

    def _recent_rows(self, liked: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The recent liked items' rows of the transitions (sorted) and each one's weight."""
        weight: dict[int, np.float32] = {}
        for n, c in enumerate(self.data.columns(liked)[: self.recent]):
            weight[c] = weight.get(c, np.float32(0)) + np.float32(self.decay ** n)
        rows = np.asarray(sorted(weight), dtype=np.int64)
        return rows, np.asarray([weight[r] for r in rows], dtype=np.float32)

    def all_scores(self, liked):
        rows, w = self._recent_rows(liked)  # only the recent items' rows: the same sums, not a pass over every row
        return np.asarray(self.transitions[rows].T @ w).ravel()

    def scores(self, liked: Sequence[str], items: Sequence[str]) -> list[float]:
        """Only the asked items' columns of the recent rows: the sums `all_scores` makes, in its
        order, without a catalog-long vector."""
        pos = self.data.position
        asked = [pos[i] for i in items if i in pos]
        rows, w = self._recent_rows(liked)
        if not len(rows) or not asked:
            return [0.0] * len(items)
        sub = self.transitions[rows]
        columns = np.unique(asked)
        at = np.minimum(np.searchsorted(columns, sub.indices), len(columns) - 1)
        hit = columns[at] == sub.indices
        sums = np.zeros(len(columns), dtype=np.float32)  # float32 sums in row order, as the product makes them
        np.add.at(sums, at[hit], (sub.data * np.repeat(w, np.diff(sub.indptr)))[hit])
        by_column = dict(zip(columns.tolist(), sums.tolist()))
        return [by_column[pos[i]] if i in pos else 0.0 for i in items]


class _Implicit(ItemScorer):
    """An `implicit` model fitted on the matrix (threads: `threads`)."""

    def _fit(self, make_model) -> None:
        from threadpoolctl import threadpool_limits

        with warnings.catch_warnings(), threadpool_limits(1, "blas"):  # implicit's own threads do the work
            warnings.filterwarnings("ignore", module="implicit")  # its notes on input format and BLAS threads
            model = make_model()
            model.fit(self.data.matrix, show_progress=False)
        self.model = model


class BM25KNN(_Implicit):
    """Item-kNN over BM25-weighted co-occurrence (implicit's BM25Recommender)."""
    name = "bm25"

    def __init__(self, data: PositiveMatrix, neighbours: int = 100, k1: float = 1.2, b: float = 0.75,
                 threads: int = 1):
        super().__init__(data)
        from implicit.nearest_neighbours import BM25Recommender

        self._fit(lambda: BM25Recommender(K=neighbours, K1=k1, B=b, num_threads=threads))
        self.similarity = self.model.similarity.tocsr()

    def all_scores(self, liked):
        return np.asarray((self.data.row(liked) @ self.similarity).todense()).ravel()


class Factors(_Implicit):
    """ALS (implicit-feedback weighted least squares) or BPR matrix factorisation. A history is
    folded in by ALS's user update over the item factors, for both models."""

    def __init__(self, data: PositiveMatrix, kind: str = "als", factors: int = 64, regularization: float = 0.05,
                 iterations: int | None = None, learning_rate: float = 0.01, seed: int = 0, threads: int = 1):
        super().__init__(data)
        self.name = kind
        if kind == "als":
            from implicit.cpu.als import AlternatingLeastSquares

            def make():
                return AlternatingLeastSquares(factors=factors, regularization=regularization,
                                               iterations=iterations or 15, random_state=seed, num_threads=threads)
        elif kind == "bpr":
            from implicit.cpu.bpr import BayesianPersonalizedRanking

            def make():
                return BayesianPersonalizedRanking(factors=factors, learning_rate=learning_rate,
                                                   regularization=regularization, iterations=iterations or 100,
                                                   random_state=seed, num_threads=threads)
        else:
            raise ValueError(f"unknown factor model {kind!r}: als or bpr")
        self._fit(make)
        items = np.asarray(self.model.item_factors, dtype=np.float64)
        # BPR keeps an item bias in its last factor (the user's is fixed at 1)
        self.items, self.bias = (items[:, :-1], items[:, -1]) if kind == "bpr" else (items, np.zeros(len(items)))
        self.confidence = float(getattr(self.model, "alpha", 1.0))
        self.regularization = regularization
        self._gram = self.items.T @ self.items

    def all_scores(self, liked):
        # ALS's own user update for this history: u = (YᵀY + (c−1)·Y_lᵀY_l + λI)⁻¹ · c·Σ y_l, with
        # c the confidence of a liked item; BPR's user is folded in the same way (an approximation)
        y = self.items[self.data.columns(liked)]
        c = self.confidence
        a = self._gram + (c - 1.0) * (y.T @ y) + self.regularization * np.eye(y.shape[1])
        return self.items @ np.linalg.solve(a, c * y.sum(axis=0)) + self.bias


class ClassicSignals:
    """What the pipeline uses of the classic models: EASE (a fusion signal and a candidate
    source) and next-item transitions (a fusion signal), fitted on one set of interaction rows
    (agent/retrieval/fitted.py keeps them on disk beside the catalog)."""

    def __init__(self, rows: list[tuple] | PositiveMatrix, like_threshold: float = 4.0, lam: float = EASE_LAMBDA):
        data = rows if isinstance(rows, PositiveMatrix) else PositiveMatrix(rows, like_threshold)
        self.data = data
        self.ease = EASE(data, lam) if len(data) else None
        self.sequential = Transitions(data) if len(data) else None

    @classmethod
    def from_parts(cls, data: PositiveMatrix, ease: EASE | None, sequential: Transitions | None) -> "ClassicSignals":
        signals = cls.__new__(cls)
        signals.data, signals.ease, signals.sequential = data, ease, sequential
        return signals

    def scores(self, liked: Sequence[str], items: Sequence[str]) -> dict[str, list[float]]:
        zeros = [0.0] * len(items)
        return {"ease": self.ease.scores(liked, items) if self.ease else zeros,
                "sequential": self.sequential.scores(liked, items) if self.sequential else zeros}

    def top(self, liked: Sequence[str], k: int, exclude: set[str] = frozenset()) -> list[tuple[str, float]]:
        return self.ease.top(liked, k, exclude) if self.ease else []
