"""What the pipeline runs on, each built on first use from Settings: the catalog store, the
vector index, the collaborative index (rebuilt when interactions change), the LLM backend,
the prompt registry, the redactor and the claim checker's vocabulary; and the public way to
read and write that data (history, items, search, feedback), which tools/ is built on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from agent.backends.base import ChatBackend
from agent.config import Settings, load_settings
from agent.errors import ConfigError, InputError, NotFoundError, RetrievalError, UnknownUserError
from agent.pipeline.claims import Vocabulary
from agent.pipeline.profile import LIKE_THRESHOLD
from agent.privacy import Redactor
from agent.retrieval.classic import EASE_LAMBDA, ClassicSignals
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.retrieval.fitted import FitStore, FittedModels, fit_key, fit_settings, generation_of
from agent.store import CatalogStore
from agent.types import FeedbackResult, HistoryEvent, Interaction, Item, check_item_id, check_user_id
from prompts.registry import PromptRegistry

REFIT_GROWTH = 0.01  # refit the item models once interactions grew (or shrank) by 1%
FIT_LOCK = 0x72656669  # the store's exclusive key under which one replica at a time refits
log = logging.getLogger("recagent.fit")
# on the 0.5-5 scale (3 = neutral); a click is implicit positive feedback: no rating
SIGNAL_RATINGS: dict[str, float | None] = {"like": 5.0, "dislike": 1.0, "seen": 3.0, "click": None}


class Parts:
    """Pass `backend`, `store`, `index`, `collaborative` or `classic` to use your own (tests pass
    a ScriptedFakeBackend and a temp-dir store; given collaborative models are never rebuilt)."""

    def __init__(self, settings: Settings | None = None, *, backend: ChatBackend | None = None,
                 store: CatalogStore | None = None, index=None, registry: PromptRegistry | None = None,
                 collaborative: CooccurrenceIndex | None = None, classic: ClassicSignals | None = None,
                 like_threshold: float = LIKE_THRESHOLD):
        self.settings = settings or load_settings()
        self._backend, self._store, self._index = backend, store, index
        self.registry = registry or PromptRegistry()
        self.like_threshold = like_threshold
        self.redactor = Redactor.from_settings(self.settings)
        self._collab, self._classic = collaborative, classic
        self._collab_fixed = collaborative is not None
        self._fit: FittedModels | None = None
        self._fit_key = ""  # the folder the fit in use came from
        self._fit_store: FitStore | None = None
        self._fit_version = -1
        self._next_look = 0.0  # when to look at the shared generation again (other processes' writes)
        self._refitting: threading.Thread | None = None
        self._loading: threading.Thread | None = None
        self._closed = threading.Event()
        self._fit_epoch = 0  # bumped by a deletion: a refit begun before it is done again
        self._deleted_since_fit = False  # a deletion's refit waits for another replica's, then refits
        self._vocab: tuple[int, Vocabulary] | None = None
        self._ranker = None
        self._index_checked = False
        self._building = threading.RLock()  # service threads share the parts: one builds, the others wait

    def ranker(self):
        """The learned ranker of `candidate_order: ltr`: one installed in data_dir/ranker/ (`recagent
        eval fit SUITE --variant ltr --install`, read once) wins; else the one fitted with the item
        models (refitted with them). None when the fit made none (too little data) or its ranker did
        not beat the fusion on its own training lists: the fusion orders then, and the fit's log says why."""
        from agent.pipeline.learned import LEARNED_FEATURES, LearnedRanker, ranker_path

        if self._ranker is None and (path := ranker_path(self.settings.data_dir)).exists():
            ranker = LearnedRanker.load(path)
            if ranker.features != LEARNED_FEATURES:
                raise ConfigError(f"the ranker at {path} was fitted on other features than this version computes: "
                                  "fit and install it again (`recagent eval fit SUITE --variant ltr --install`), "
                                  "or remove it to use the one fitted with the item models")
            self._ranker = ranker
        if self._ranker is not None:
            return self._ranker
        if self._collab_fixed:
            raise ConfigError("candidate_order is ltr but these parts were given their item models and no ranker is "
                              "installed: install one with `recagent eval fit SUITE --variant ltr --install`")
        ranker = self.fitted().ranker
        return ranker if ranker is not None and ranker.meta.get("beats_fusion", True) else None

    @property
    def store(self) -> CatalogStore:
        if self._store is None:
            self._store = CatalogStore(self.settings.catalog_store)
        return self._store

    @property
    def index(self):
        if self._index is None:
            from agent.retrieval.chroma import ChromaRetriever
            from agent.retrieval.embeddings import MiniLMEmbedder

            self._index = ChromaRetriever(Path(self.settings.data_dir) / "chroma", MiniLMEmbedder(),
                                          url=self.settings.chroma_url)
        return self._index

    @property
    def backend(self) -> ChatBackend:
        if self._backend is None:
            from agent.backends.connect import connect

            self._backend = connect(self.settings)
        return self._backend

    def collaborative(self) -> CooccurrenceIndex:
        """The co-occurrence index over the stored interactions (see `fitted`)."""
        return self._collab if self._collab_fixed else self.fitted().cooccurrence

    def classic(self) -> ClassicSignals | None:
        """EASE and next-item transitions over the stored interactions (see `fitted`); None when
        the parts were given a collaborative index but no classic models."""
        return self._classic if self._collab_fixed else self.fitted().classic

    def item_models(self) -> tuple[CooccurrenceIndex, ClassicSignals | None]:
        """`collaborative()` and `classic()` from one fit, with one look at the store's version
        (a request never mixes an old fit's index with a new fit's EASE)."""
        if self._collab_fixed:
            return self._collab, self._classic
        fit = self.fitted()
        return fit.cooccurrence, fit.classic

    def fitted(self) -> FittedModels:
        """The item models, fitted on the trusted interactions and kept in the fit dir (data_dir/fitted,
        or a volume replicas share), keyed by the store's interactions generation: a process start
        reads them. Feedback counts at once through the person's own history; the shared models are
        refitted once the interactions have changed by REFIT_GROWTH since the fit, in a background
        thread, by one replica at a time (the store's exclusive lock); the others load that fit when
        it lands, also in the background. Requests keep the models they have meanwhile. A fit on
        disk from an earlier generation is used at start, never refitted first."""
        with self._building:
            if self._fit is None:
                self._fit_key, self._fit = self._read_fit()
                self._fit_version = self.store.version
                self._next_look = time.monotonic() + self.settings.fit_check_s
                self._refit_if_grown()
            elif self._fit_version != self.store.version or time.monotonic() >= self._next_look:
                self._fit_version = self.store.version
                self._next_look = time.monotonic() + self.settings.fit_check_s
                self._follow_fits()
            return self._fit

    def watch_fits(self) -> threading.Thread | None:
        """For a long-running service: look at the interactions generation every `fit_check_s` in a
        daemon thread, so a replica that gets no requests still follows the others' writes and fits
        (and the first request after a quiet spell gets the current models). Stops at `close`."""
        if self._collab_fixed or self.settings.fit_check_s <= 0:
            return None

        def look() -> None:
            while not self._closed.wait(self.settings.fit_check_s):
                try:
                    self.fitted()
                except Exception as e:  # noqa: BLE001 - a store that is down now may answer next time
                    log.warning("looking for a newer fit failed: %s", e)

        watcher = threading.Thread(target=look, daemon=True, name="recagent-watch-fits")
        watcher.start()
        return watcher

    @property
    def fit_generation(self) -> int | None:
        """The interactions generation of the fit in use (None before the first request needs one)."""
        return generation_of(self._fit_key) if self._fit_key else None

    def fit_now(self) -> FittedModels:
        """Make sure the fit on disk is the one for the interactions as they are now (after an
        ingest): read it if it is there, else fit and save it, in this thread."""
        if self._collab_fixed:
            raise ValueError("these parts were given their collaborative models")
        with self._building:
            key = fit_key(self.store.generation(), self._fit_settings())
            fitted = self._fits.load(key)
            if fitted is None:
                key, fitted = self._fit_rows()
                self._fits.save(key, fitted)
            self._fit_key, self._fit, self._fit_version = key, fitted, self.store.version
            return self._fit

    @property
    def _fits(self) -> FitStore:
        if self._fit_store is None:
            data_dir = Path(self.settings.data_dir)
            self._fit_store = FitStore(self.settings.fit_dir or data_dir / "fitted", cache=data_dir / "fit-cache")
        return self._fit_store

    def _fit_settings(self) -> str:
        s = self.settings
        return fit_settings(self.like_threshold, EASE_LAMBDA, (s.trust_after_days, s.trust_min_interactions),
                            ranker=self._fits_ranker)

    @property
    def _fits_ranker(self) -> bool:
        """Whether the fit makes a learned ranker: for `candidate_order: ltr` without an installed one."""
        from agent.pipeline.learned import ranker_path

        return self.settings.candidate_order == "ltr" and not ranker_path(self.settings.data_dir).exists()

    def _read_fit(self) -> tuple[str, FittedModels]:
        """The current fit from disk, else the latest earlier one, else a new fit (saved)."""
        if found := self._fits.latest(self._fit_settings()):
            return found
        key, fitted = self._fit_rows()
        self._fits.save(key, fitted)
        return key, fitted

    def _fit_rows(self) -> tuple[str, FittedModels]:
        """A fit of the trusted interactions as they are now, and the key to save it under."""
        key = fit_key(self.store.generation(), self._fit_settings())
        rows = self.store.count_interactions()
        fitted = FittedModels.fit(self._trusted(), self.like_threshold, counted=rows)
        if self._fits_ranker:
            from agent.options import RecommendOptions
            from agent.pipeline.learned_fit import fit_workspace_ranker
            from agent.pipeline.order import FusionWeights

            fitted.ranker = fit_workspace_ranker(self._trusted, self.like_threshold, self.store, self.index,
                                                 lambda rows: FittedModels.fit(rows, self.like_threshold, counted=0),
                                                 n=RecommendOptions().n_candidates,
                                                 fusion=FusionWeights(**self.settings.fusion_weights))
        return key, fitted

    def _follow_fits(self) -> None:
        """A newer fit on disk (another replica's) is loaded; else a refit begins if the data grew."""
        newest = self._fits.keys(self._fit_settings())
        if newest and newest[0] != self._fit_key and (
                not self._fit_key or generation_of(newest[0]) > generation_of(self._fit_key)):
            self._start_load(newest[0])
        else:
            self._refit_if_grown()

    def _start_load(self, key: str) -> None:
        if self._loading is None:
            self._loading = threading.Thread(target=self._load, args=(key,), daemon=True, name="recagent-load-fit")
            self._loading.start()

    def _load(self, key: str) -> None:
        fitted = self._fits.load(key)  # memory-mapped: the pages come in as they are read
        with self._building:
            if fitted is not None and (not self._fit_key or generation_of(key) > generation_of(self._fit_key)):
                self._fit, self._fit_key = fitted, key
            self._loading = None

    def _refit_if_grown(self) -> None:
        n = self.store.count_interactions()
        if abs(n - self._fit.rows) > REFIT_GROWTH * max(self._fit.rows, 1):
            self._start_refit()

    def _start_refit(self) -> None:
        """A refit in a background thread, unless one is running (it refits again after a deletion)."""
        with self._building:
            if self._refitting is None:
                self._refitting = threading.Thread(target=self._refit, daemon=True, name="recagent-refit")
                self._refitting.start()

    def _refit(self) -> None:
        """Fit, save and use the models for the interactions as they are now, holding the store's
        exclusive fit lock. Another replica holding it is refitting: its fit is loaded when it
        lands, except after a deletion here, which waits for the lock (no fit that still holds the
        deleted person's rows may stay in use). A fit begun before a deletion is never kept."""
        try:
            while True:
                epoch, must = self._fit_epoch, self._deleted_since_fit
                with self.store.database.exclusive(FIT_LOCK, wait=must) as ours:
                    if not ours:
                        break
                    key = fit_key(self.store.generation(), self._fit_settings())
                    fitted = self._fits.load(key)  # another replica's, just made
                    if fitted is None:
                        key, fitted = self._fit_rows()  # the long part, outside the lock
                        save = True
                    else:
                        save = False
                    with self._building:
                        if epoch == self._fit_epoch:
                            if save:
                                self._fits.save(key, fitted)
                            self._fit, self._fit_key = fitted, key
                with self._building:  # done, unless a deletion came meanwhile: then again
                    if epoch == self._fit_epoch:
                        self._deleted_since_fit = self._deleted_since_fit and not must
                        self._refitting = None
                        return
        finally:
            with self._building:
                if self._refitting is threading.current_thread():
                    self._refitting = None

    def wait_for_refit(self, timeout: float | None = None) -> None:
        """Block until a background refit or load (if any) is done (tests, benchmarks, shutdown)."""
        for t in (self._refitting, self._loading):
            if t is not None:
                t.join(timeout)

    def _trusted(self) -> Iterator[tuple]:
        s = self.settings
        return self.store.trusted_interactions(s.trust_after_days * 86400, s.trust_min_interactions)

    def vocabulary(self) -> Vocabulary:
        """Titles, genres and tags the catalog can name (the claim checker's lexicon)."""
        with self._building:
            n = self.store.count_items()
            if self._vocab is None or self._vocab[0] != n:
                self._vocab = (n, Vocabulary.from_items(self.store.all_items()))
            return self._vocab[1]

    def check_index(self) -> None:
        """An empty index beside a filled catalog means the index was lost: say so, rather
        than quietly recommending from co-occurrence alone."""
        if self._index_checked:
            return
        if self.index.count() == 0 and (n := self.store.count_items()):
            where = self.settings.chroma_url or Path(self.settings.data_dir) / "chroma"
            raise RetrievalError(f"the vector index at {where} is empty but the catalog holds {n} items "
                                 "(the index was deleted or lost): rebuild it from the catalog with "
                                 "`recagent reindex`")
        self._index_checked = True

    # -- reading and writing the data (the tools' API) --------------------------------------------
    def history(self, user_id: str, missing_ok: bool = False) -> list[HistoryEvent]:
        """A stored user's interactions; an unknown user is an UnknownUserError (with `missing_ok`, empty)."""
        rows = self.store.user_interactions(str(user_id))
        if not rows and not missing_ok and not self.store.has_user(str(user_id)):
            raise UnknownUserError(str(user_id))
        # stored rows were validated when written: not checked again at every request
        return [HistoryEvent.model_construct(item_id=r.item_id, rating=r.rating, timestamp=r.timestamp) for r in rows]

    def add_user(self, user_id: str) -> bool:
        """Register a user before their first interaction (feedback is refused for unknown ids,
        so a client cannot conjure users by writing); False when the id was already known."""
        try:
            check_user_id(user_id)
        except ValueError as e:
            raise InputError(str(e)) from None
        return self.store.add_user(user_id)

    def delete_user(self, user_id: str) -> int:
        """Forget a user's interactions (feedback included) at once; the item models are refitted
        without them in the background while the fit before serves (a fit begun before the delete
        is never kept, and older fits on disk are removed). Returns the interactions deleted."""
        n = self.store.delete_user(str(user_id))
        if n is None:
            raise UnknownUserError(str(user_id))
        if not self._collab_fixed:
            with self._building:
                self._fit_epoch += 1
                self._deleted_since_fit = True
            self._start_refit()
        return n

    def grant(self, user_id: str, key_name: str) -> None:
        """Let an app key act for a user it did not create (an ingested one, say)."""
        if not self.store.grant(str(user_id), key_name):
            raise UnknownUserError(str(user_id))

    def feedback(self, user_id: str, item_id: str, signal: str, create: bool = False,
                 writer: str | None = None) -> FeedbackResult:
        """Record like / dislike / click / seen now: the next list for this user is built from it.
        The user must be known (stored interactions, or `add_user`) unless `create`. `writer` names
        the service key that sent it (the trust rule); None is the operator (CLI, Python)."""
        if signal not in SIGNAL_RATINGS:
            raise InputError(f"unknown signal {signal!r}: use like, dislike, click or seen")
        try:
            check_item_id(item_id)
        except ValueError as e:
            raise InputError(str(e)) from None
        item = self.item(item_id)
        row = Interaction(user_id=str(user_id), item_id=item.item_id, rating=SIGNAL_RATINGS[signal],
                          timestamp=int(time.time()))
        if not self.store.record(row, writer, create=create):
            raise UnknownUserError(str(user_id), hint="create the user first (POST /v1/users, "
                                   "`recagent users add`, or add_user) and send feedback again")
        return FeedbackResult(user_id=str(user_id), item_id=item.item_id, title=item.title, signal=signal)

    def item(self, item_id: str) -> Item:
        if (item := self.store.get_item(str(item_id))) is None:
            raise NotFoundError(f"unknown item {item_id!r}: it is not in the catalog")
        return item

    def items(self, ids: Iterable[str]) -> dict[str, Item]:
        """The catalog items among `ids` (unknown ids left out)."""
        return self.store.get_items(ids)

    def find_titles(self, text: str, k: int = 5) -> list[Item]:
        """Items whose title best matches `text`."""
        return self.store.search_titles(text, k)

    def search(self, query: str, k: int = 5, category: str | None = None) -> list[tuple[Item, float]]:
        """Items closest in meaning to `query` (with their cosine), optionally within one category."""
        hits = self.index.search(query, k * 5 if category else k)
        items = self.store.get_items(i for i, _ in hits)
        wanted = category.lower() if category else None
        return [(items[i], s) for i, s in hits
                if i in items and (wanted is None or wanted in (c.lower() for c in items[i].categories))][:k]

    def close(self) -> None:
        self._closed.set()
        if self._backend is not None and hasattr(self._backend, "close"):
            self._backend.close()
        self._backend = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
