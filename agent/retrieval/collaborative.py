"""Item-item co-occurrence over positive interactions (cosine-normalised counts)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from agent.retrieval.classic import PositiveMatrix, top_positions

SHRINKAGE = 10.0
NEIGHBOURS_ABOVE = 20_000  # liked items past which the fit keeps each item's strongest neighbours
NEIGHBOURS = 200  # neighbours kept per item then
DENSE_PAIRS = 1 / 16  # a history's pairs per catalog item past which its sums are catalog-long


def pair_weight(c, likers_a, likers_b, shrinkage: float):
    """How strongly two items go together: cosine of their fans, c / sqrt(n_a n_b), shrunk by
    c / (c + shrinkage) so that one lucky co-rating of two rare items counts little."""
    return c / np.sqrt(likers_a * likers_b) * (c / (c + shrinkage))


def strongest_neighbours(data: PositiveMatrix, n: int = NEIGHBOURS, shrinkage: float = SHRINKAGE,
                         block: int = 512, transposed: sparse.csr_matrix | None = None) -> sparse.csr_matrix:
    """Items × items: each item's `n` strongest co-liked items, by `pair_weight`. Computed a block
    of items at a time, so the whole co-occurrence matrix is never held; a request then reads
    |liked| rows of `n` instead of every fan's likes. `transposed`: the items × users matrix, if
    already built."""
    m = data.matrix
    t = transposed if transposed is not None else m.T.tocsr()
    pop = np.maximum(np.diff(t.indptr), 1).astype(np.float64)
    rows, cols, weights = [], [], []
    for start in range(0, t.shape[0], block):
        counts = (t[start:start + block] @ m).tocsr()
        for r in range(counts.shape[0]):
            i = start + r
            lo, hi = counts.indptr[r], counts.indptr[r + 1]
            j, c = counts.indices[lo:hi], counts.data[lo:hi].astype(np.float64)
            keep = j != i
            j, c = j[keep], c[keep]
            w = pair_weight(c, pop[i], pop[j], shrinkage)
            if len(w) > n:
                top = np.argpartition(-w, n)[:n]
                j, w = j[top], w[top]
            rows.append(np.full(len(j), i, dtype=np.int32))
            cols.append(j.astype(np.int32))
            weights.append(w.astype(np.float32))
    if not rows:
        return sparse.csr_matrix((len(data), len(data)), dtype=np.float32)
    return sparse.csr_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(len(data), len(data)))


@dataclass(frozen=True)
class Pairs:
    """A history's co-occurrence pairs (liked item, co-liked item, weight), summed per co-liked
    item over only the items the pairs reach: at a million items, no catalog-long vector."""
    cols: np.ndarray  # the liked items' columns, in liked order
    row: np.ndarray  # each pair's liked item, as an index into `cols`
    weight: np.ndarray  # each pair's weight (float64)
    columns: np.ndarray  # the co-liked items' columns, sorted, once each (or every column)
    at: np.ndarray  # each pair's co-liked item, as an index into `columns`

    @classmethod
    def of(cls, cols, row, col, weight, n_items: int) -> "Pairs":
        if len(col) > DENSE_PAIRS * n_items:  # sorting that many pairs costs more than a catalog-long sum
            columns, at = np.arange(n_items), np.asarray(col)
        else:
            columns, at = np.unique(col, return_inverse=True)
        return cls(cols, np.asarray(row), np.asarray(weight), columns, at.ravel())

    def sums_without(self, dropped: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Each co-liked item's summed weight (over the pairs in `mask`, in pair order: the sums
        a catalog-long bincount makes), 0 for the `dropped` columns."""
        at, weight = (self.at, self.weight) if mask is None else (self.at[mask], self.weight[mask])
        sums = np.bincount(at, weights=weight, minlength=len(self.columns))
        sums[np.isin(self.columns, dropped)] = 0.0
        return sums

    def lookup(self, sums: np.ndarray, positions: list[int | None]) -> list[float]:
        """`sums` at catalog positions (0 where no pair reaches, or the position is None)."""
        known = [p for p in positions if p is not None]
        if not len(self.columns) or not known:
            return [0.0] * len(positions)
        at = np.minimum(np.searchsorted(self.columns, known), len(self.columns) - 1)
        found = dict(zip(known, np.where(self.columns[at] == known, sums[at], 0.0).tolist()))
        return [found[p] if p is not None else 0.0 for p in positions]


class CooccurrenceIndex:
    """Built from (user, item, rating) rows; ratings at or above `like_threshold`, or with no
    rating (implicit feedback), count as positive. An item j is scored for liked items L by
    sum_l cos(l, j) * c_lj / (c_lj + shrinkage), with cos = c_lj / sqrt(n_l n_j): the shrinkage
    keeps one lucky co-rating of two rare items from outranking well-supported pairs."""

    def __init__(self, rows: Iterable[tuple] | PositiveMatrix, like_threshold: float = 4.0,
                 shrinkage: float = SHRINKAGE, max_liked: int = 30, transposed: sparse.csr_matrix | None = None,
                 neighbours: sparse.csr_matrix | None = None):
        """From interaction rows, or from a PositiveMatrix already built (shared with the classic
        models, or read from disk with its `transposed` items × users matrix). `neighbours`
        (`strongest_neighbours`): score from each liked item's kept neighbours, not exactly."""
        data = rows if isinstance(rows, PositiveMatrix) else PositiveMatrix(rows, like_threshold)
        self.shrinkage, self.max_liked = shrinkage, max_liked
        self.item_ids, self._pos = data.item_ids, data.position
        self._m = data.matrix
        self.transposed = transposed if transposed is not None else data.matrix.T.tocsr()  # items × users
        self.popularity = np.diff(self.transposed.indptr).astype(np.float32)  # likers per item
        self.neighbours = neighbours
        self._last: tuple | None = None
        self._last_fans: tuple | None = None
        self._by_popularity: np.ndarray | None = None  # item positions, most popular first

    def __len__(self) -> int:
        return len(self.item_ids)

    def popular(self, k: int, exclude: set[str] = frozenset()) -> list[tuple[str, float]]:
        if self._by_popularity is None:
            self._by_popularity = np.argsort(-self.popularity, kind="stable")
        order = self._by_popularity
        out = []
        for j in order:
            if self.item_ids[j] not in exclude:
                out.append((self.item_ids[j], float(self.popularity[j])))
                if len(out) == k:
                    break
        return out

    def _contributions(self, liked: list[str]) -> Pairs | None:
        """The co-occurrence pairs of the liked items known here (None if none is known).
        The last result is kept: retrieval asks for the same liked list twice in a row."""
        key = tuple(liked[: self.max_liked])
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        result = self._compute_contributions(key)
        self._last = (key, result)  # one assignment: threads see the old pair or the new one
        return result

    def _compute_contributions(self, liked: tuple[str, ...]) -> Pairs | None:
        cols = np.array([self._pos[i] for i in liked if i in self._pos], dtype=np.int64)
        if len(cols) == 0:
            return None
        if self.neighbours is not None:  # the kept pairs, already weighted
            pairs = self.neighbours[cols].tocoo()
            return Pairs.of(cols, pairs.row, pairs.col, pairs.data.astype(np.float64), len(self))
        counts = (self.transposed[cols] @ self._m).tocoo()  # |liked| x items co-occurrence counts
        pop = np.maximum(self.popularity, 1.0)
        weight = pair_weight(counts.data, pop[cols[counts.row]], pop[counts.col], self.shrinkage)
        return Pairs.of(cols, counts.row, counts.col, weight, len(self))

    def scores(self, liked: list[str], items: list[str]) -> list[float]:
        """The item-kNN score of each of `items` for `liked` (0 for unknown items)."""
        pairs = self._contributions(liked)
        if pairs is None:
            return [0.0] * len(items)
        return pairs.lookup(pairs.sums_without(pairs.cols), [self._pos.get(i) for i in items])

    def scores_with_recent(self, liked: list[str], n_recent: int, items: list[str]
                           ) -> tuple[list[float], list[float]]:
        """`scores(liked, items)` and `scores(liked[:n_recent], items)` from one pass."""
        pairs = self._contributions(liked)
        if pairs is None:
            return [0.0] * len(items), [0.0] * len(items)
        known = [i for i in liked[: self.max_liked] if i in self._pos]
        recent = set(liked[:n_recent])
        in_recent = np.array([i in recent for i in known], dtype=bool)
        full = pairs.sums_without(pairs.cols)
        near = pairs.sums_without(pairs.cols[in_recent], in_recent[pairs.row])  # the recent liked items themselves
        at = [self._pos.get(i) for i in items]
        return pairs.lookup(full, at), pairs.lookup(near, at)

    def popularity_of(self, items: list[str]) -> list[float]:
        return [float(self.popularity[self._pos[i]]) if i in self._pos else 0.0 for i in items]

    def co_liked(self, item: str, liked: list[str]) -> list[tuple[str, int, float]]:
        """(liked item, people who liked both, the pair's weight) for each of `liked` that
        shares a fan with `item`, strongest pair first (the weight `scores` sums)."""
        j = self._pos.get(item)
        known = [i for i in dict.fromkeys(liked) if i in self._pos and i != item]
        if j is None or not known:
            return []
        cols = np.array([self._pos[i] for i in known], dtype=np.int64)
        t = self.transposed
        is_fan = np.zeros(t.shape[1], dtype=bool)  # the item's fans, as a mask over people
        is_fan[t.indices[t.indptr[j]:t.indptr[j + 1]]] = True
        fans_of_liked, owner = self._fans_of(cols)
        counts = np.bincount(owner[is_fan[fans_of_liked]], minlength=len(cols)).astype(np.float32)
        weight = pair_weight(counts, np.maximum(self.popularity[cols], 1.0), max(float(self.popularity[j]), 1.0),
                             self.shrinkage)
        order = np.argsort(-weight, kind="stable")
        return [(known[o], int(counts[o]), float(weight[o])) for o in order if counts[o] > 0]

    def _fans_of(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The liked items' fans, one array, and which liked item each entry belongs to. The last
        result is kept: a list's evidence asks for the same liked items once per item."""
        key, last = cols.tobytes(), self._last_fans
        if last is not None and last[0] == key:
            return last[1]
        rows = self.transposed[cols]
        result = rows.indices, np.repeat(np.arange(len(cols)), np.diff(rows.indptr))
        self._last_fans = (key, result)
        return result

    def similar(self, liked: list[str], k: int, exclude: set[str] = frozenset()
                ) -> list[tuple[str, float, str]]:
        """Top-k (item_id, score, the liked item that contributed most); ties by catalog order."""
        pairs = self._contributions(liked)
        if pairs is None:
            return []
        drop = np.array([self._pos[i] for i in exclude if i in self._pos], dtype=np.int64)
        scores = pairs.sums_without(np.concatenate([drop, pairs.cols]))
        top = top_positions(scores, k)
        top = top[scores[top] > 0]
        if len(top) == 0:
            return []
        # the liked item with the largest contribution to each result (the first one on a tie)
        rank_of = np.full(len(pairs.columns), -1)
        rank_of[top] = np.arange(len(top))
        mask = rank_of[pairs.at] >= 0
        best_weight = np.full(len(top), -1.0)
        best_row = np.zeros(len(top), dtype=np.int64)
        for r, j, w in zip(pairs.row[mask], rank_of[pairs.at[mask]], pairs.weight[mask]):
            if w > best_weight[j]:
                best_weight[j], best_row[j] = w, r
        return [(self.item_ids[pairs.columns[j]], float(scores[j]), self.item_ids[pairs.cols[b]])
                for j, b in zip(top, best_row)]
