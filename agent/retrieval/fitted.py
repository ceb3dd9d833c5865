"""The collaborative models fitted on one generation of the stored interactions, kept on disk
so that a process start reads them (memory-mapped) instead of refitting: the co-occurrence
index (with each item's strongest neighbours on large catalogs), EASE's weights and the
next-item transitions, all over one positive matrix.

A folder per fit, `data_dir/fitted/g<generation>-<settings>/`: the store's interactions
generation (bumped by every interaction write, by any process) and the settings the fit depends
on. Saving a fit removes the others; the newest one with the right settings is what a process
start reads."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from agent.pipeline.learned import LEARNED_FEATURES, LearnedRanker, lightgbm_error
from agent.retrieval.classic import EASE, EASE_LAMBDA, EASE_MAX_ITEMS, ClassicSignals, PositiveMatrix, Transitions
from agent.retrieval.collaborative import NEIGHBOURS, NEIGHBOURS_ABOVE, CooccurrenceIndex, strongest_neighbours

FORMAT = 1  # bump when the files change
RANKER_FILE = "ranker.txt"  # LightGBM's text model (features and meta beside it, ranker.json)


@dataclass
class FittedModels:
    cooccurrence: CooccurrenceIndex
    classic: ClassicSignals
    rows: int  # interactions the fit saw (the refit rule compares against it)
    ranker: LearnedRanker | None = None  # candidate_order ltr: fitted with these models (learned_fit.py)

    @classmethod
    def fit(cls, rows: Iterable[tuple], like_threshold: float, lam: float = EASE_LAMBDA,
            counted: int | None = None, neighbours_above: int = NEIGHBOURS_ABOVE) -> "FittedModels":
        """Fit on `rows`; `counted`: the store's interaction count now (default: len(rows), so an
        iterator of rows needs it). Past `neighbours_above` liked items the co-occurrence index
        keeps each item's strongest neighbours (retrieval then costs the same at any number of
        interactions); below, it is exact."""
        data = PositiveMatrix(rows, like_threshold)  # one matrix under all three models
        transposed = data.matrix.T.tocsr()  # items × users: the index's, and the neighbours' input
        neighbours = strongest_neighbours(data, transposed=transposed) if len(data) > neighbours_above else None
        cooc = CooccurrenceIndex(data, transposed=transposed, neighbours=neighbours)
        classic = ClassicSignals(data, lam=lam)
        return cls(cooc, classic, len(rows) if counted is None else counted)

    # -- on disk ---------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write all files to a temporary folder, then rename it: a fit on disk is whole or absent."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        data, c = self.classic.data, self.classic
        _save_csr(tmp / "positives", data.matrix)
        _save_csr(tmp / "positives_t", self.cooccurrence.transposed)
        if self.cooccurrence.neighbours is not None:
            _save_csr(tmp / "neighbours", self.cooccurrence.neighbours)
        np.save(tmp / "item_ids.npy", np.asarray(data.item_ids, dtype=str))
        if c.sequential is not None:
            _save_csr(tmp / "transitions", c.sequential.transitions)
        if c.ease is not None:
            np.save(tmp / "ease_weights.npy", c.ease.weights)
            if c.ease.kept is not None:
                np.save(tmp / "ease_kept.npy", c.ease.kept)
        if self.ranker is not None:
            self.ranker.save(tmp / RANKER_FILE)
        (tmp / "fit.json").write_text(json.dumps({
            "rows": self.rows, "lam": c.ease.lam if c.ease else None, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        try:
            tmp.rename(folder)
        except OSError:  # another process saved the same fit first: theirs is as good
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> "FittedModels | None":
        """The fit in `folder`, its big arrays memory-mapped; None if absent or unreadable."""
        try:  # the folder's name carries the format (fit_settings), so its files are this format's
            meta = json.loads((folder / "fit.json").read_text())
            item_ids = np.load(folder / "item_ids.npy").tolist()
            data = PositiveMatrix.from_parts(item_ids, _load_csr(folder / "positives"))
            neighbours = _load_csr(folder / "neighbours") if (folder / "neighbours.indptr.npy").exists() else None
            cooc = CooccurrenceIndex(data, transposed=_load_csr(folder / "positives_t"), neighbours=neighbours)
            ease = None
            if (folder / "ease_weights.npy").exists():
                kept = np.load(folder / "ease_kept.npy") if (folder / "ease_kept.npy").exists() else None
                ease = EASE.fitted(data, np.load(folder / "ease_weights.npy", mmap_mode="r"), kept, meta["lam"])
            sequential = (Transitions.fitted(data, _load_csr(folder / "transitions"))
                          if (folder / "transitions.indptr.npy").exists() else None)
            ranker = LearnedRanker.load(folder / RANKER_FILE) if (folder / RANKER_FILE).exists() else None
        except (OSError, ValueError, KeyError, lightgbm_error()):
            return None
        if ranker is not None and ranker.features != LEARNED_FEATURES:
            return None  # a ranker of another version's features: the fit is made again
        return cls(cooc, ClassicSignals.from_parts(data, ease, sequential), meta["rows"], ranker)


def fit_settings(like_threshold: float, lam: float, trust: tuple, ranker: bool = False) -> str:
    """What a fit depends on besides the interactions (part of its folder's name); `ranker`: the
    fit holds a learned ranker."""
    return (f"like{like_threshold:g}-lam{lam:g}-max{EASE_MAX_ITEMS}-nb{NEIGHBOURS}above{NEIGHBOURS_ABOVE}"
            f"-trust{'-'.join(f'{t:g}' for t in trust)}{'-ltr' if ranker else ''}-f{FORMAT}")


def fit_key(generation: int, settings: str) -> str:
    """A fit's folder name: the interactions generation it saw, then its settings."""
    return f"g{generation}-{settings}"


def generation_of(key: str) -> int:
    return int(key.partition("-")[0][1:])


def _newest_first(names, settings: str) -> list[str]:
    """The fit keys among `names` with these settings, newest interactions generation first."""
    keys = [n for n in names if n.partition("-")[2] == settings and n.partition("-")[0][1:].isdigit()]
    return sorted(keys, key=generation_of, reverse=True)


def save_fit(root: Path, key: str, fitted: FittedModels) -> None:
    """Save `fitted` as `root/key` and remove every other fit there (they are stale)."""
    fitted.save(root / key)
    for old in root.iterdir():
        if old.name != key and old.is_dir() and not old.name.endswith(".tmp"):
            shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob("ease-*.npy"):  # weights kept by earlier versions
        stale.unlink(missing_ok=True)


class FitStore:
    """Where fits are kept: a local folder (for replicas, a volume they share), or an fsspec URL
    (`s3://bucket/fits`, `gs://…`, with that filesystem's package installed). A fit at a URL is
    uploaded file by file with `fit.json` last, so a fit without it is incomplete and never read;
    each process downloads the fits it uses into `cache` and memory-maps them there."""

    def __init__(self, where: str | Path, cache: Path):
        self.url = str(where) if "://" in str(where) else None
        self.local = cache if self.url else Path(where)
        if self.url:
            import fsspec

            self._fs, self._path = fsspec.core.url_to_fs(self.url)

    def keys(self, settings: str) -> list[str]:
        """The complete fits with these settings, newest interactions generation first."""
        if self.url is None:
            return _newest_first((f.name for f in self.local.iterdir() if f.is_dir()) if self.local.is_dir() else (),
                                 settings)
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self._fs.ls(self._path, detail=False)] \
            if self._fs.exists(self._path) else []
        return [n for n in _newest_first(names, settings) if self._fs.exists(f"{self._path}/{n}/fit.json")]

    def load(self, key: str) -> FittedModels | None:
        folder = self.local / key
        if self.url is not None and not (folder / "fit.json").exists():
            if not self._fs.exists(f"{self._path}/{key}/fit.json"):
                return None
            tmp = folder.with_name(f"{key}.{os.getpid()}.tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for remote in self._fs.ls(f"{self._path}/{key}", detail=False):
                self._fs.get(remote, str(tmp / remote.rstrip("/").rsplit("/", 1)[-1]))
            try:
                tmp.rename(folder)
            except OSError:  # another thread downloaded it first
                shutil.rmtree(tmp, ignore_errors=True)
        return FittedModels.load(folder)

    def latest(self, settings: str) -> tuple[str, FittedModels] | None:
        """(key, fit) of the readable fit with these settings from the newest generation, if any."""
        for key in self.keys(settings):
            if (fitted := self.load(key)) is not None:
                return key, fitted
        return None

    def save(self, key: str, fitted: FittedModels) -> None:
        """Keep `fitted` as `key` and remove every other fit (they are stale)."""
        save_fit(self.local, key, fitted)
        if self.url is None:
            return
        files = sorted((self.local / key).iterdir(), key=lambda f: f.name == "fit.json")  # fit.json last
        for f in files:
            self._fs.put(str(f), f"{self._path}/{key}/{f.name}")
        for other in self._fs.ls(self._path, detail=False):
            if other.rstrip("/").rsplit("/", 1)[-1] != key:
                self._fs.rm(other, recursive=True)


def _save_csr(stem: Path, m: sparse.csr_matrix) -> None:
    m = m.tocsr()
    np.save(f"{stem}.indptr.npy", m.indptr)
    np.save(f"{stem}.indices.npy", m.indices)
    np.save(f"{stem}.data.npy", m.data)
    np.save(f"{stem}.shape.npy", np.asarray(m.shape))


def _load_csr(stem: Path) -> sparse.csr_matrix:
    shape = tuple(np.load(f"{stem}.shape.npy"))
    return sparse.csr_matrix((np.load(f"{stem}.data.npy", mmap_mode="r"), np.load(f"{stem}.indices.npy", mmap_mode="r"),
                              np.load(f"{stem}.indptr.npy", mmap_mode="r")), shape=shape)
