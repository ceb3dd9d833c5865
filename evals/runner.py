"""Run a suite: split the data, fix each user's candidates, rank them with every variant,
score, and write the run folder. Reruns reuse the candidate file, the finished rows and the
response cache, so an interrupted run continues and a finished one makes no LLM calls."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue

import httpx
import numpy as np
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from scipy.stats import rankdata

from agent.config import Settings, load_settings
from agent.errors import AgentError, ConfigError, InputError
from agent.ingest import Source, ingest, movielens_source, parse_interaction, reindex
from agent.recommender import Recommender
from agent.retrieval.classic import ClassicSignals, PositiveMatrix
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.store import CatalogStore
from agent.types import Candidate, Interaction
from evals.pool import rank_pool
from evals.rankers import RANKERS
from evals.split import Case, leave_last_positive_out, sample_users, user_rng
from evals.steps import step
from evals.suite import Suite, Variant

RESULTS, CANDIDATES, SUMMARY, SHARD = "results.jsonl", "candidates.jsonl", "summary.json", "shard.json"


def suite_fingerprint(suite: Suite) -> str:
    """Shards merge only when they ran the same suite (users, split, protocol, variants)."""
    return hashlib.sha256(suite.model_dump_json().encode()).hexdigest()[:16]


def row_key(row: dict) -> tuple:
    """Which case a results row is: (variant, its configuration's fingerprint, user)."""
    return (row["variant"], row["fingerprint"], row["user"])


def merge_shards(suite: Suite, shard_dirs: list[Path], out: Path, settings: Settings | None = None,
                 console: Console | None = None) -> dict:
    """The run of `suite` from its shards' rows (`eval run --shard i/N` in each folder): the same
    summary.json, reports and results as one unsharded run. Every shard 1..N must be there."""
    dirs: dict[tuple[int, int], Path] = {}
    for d in shard_dirs:
        path = Path(d) / SHARD
        if not path.exists():
            raise InputError(f"{d} is not a shard folder (no {SHARD}): run `recagent eval run --shard i/N --out {d}`")
        info = json.loads(path.read_text())
        if info["suite_fingerprint"] != suite_fingerprint(suite):
            raise InputError(f"{d} ran another configuration of the suite (or other --users/--variants): "
                             "merge shards of one command line")
        dirs[tuple(info["shard"])] = Path(d)
    sizes = {n for _, n in dirs}
    n = sizes.pop() if len(sizes) == 1 else 0
    if set(dirs) != {(i, n) for i in range(1, n + 1)}:
        have = ", ".join(f"{i}/{m}" for i, m in sorted(dirs))
        raise InputError(f"shards {have} do not make one whole run: give every shard 1/N .. N/N of one N")
    run = SuiteRun(suite, out, settings, console=console)
    run.prepare()
    done = {}
    for d in dirs.values():
        for line in (d / RESULTS).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done[row_key(row)] = row
    missing = [u for v in suite.variants for u in run.users if run._key(v, u) not in done]
    if missing:
        raise InputError(f"{len(missing)} case(s) are missing from the shards (e.g. user {missing[0]}): "
                         "rerun the shard that was interrupted, then merge again")
    return run.finish(done)


# -- the dataset -------------------------------------------------------------------------------
@dataclass
class EvalData:
    store: CatalogStore
    index: object
    interactions: list[Interaction]
    rejected: int
    workspace: Path


def _source(suite: Suite) -> Source:
    d = suite.dataset
    if d.preset == "movielens":
        return movielens_source(d.path)
    return Source(items=d.items, interactions=d.interactions, column_map=d.map)


def _files_digest(source: Source, column_map: dict) -> str:
    files = [source.items, source.interactions]
    if source.preset == "movielens":
        files.append(source.items.parent / "tags.csv")
    h = hashlib.sha256(json.dumps(column_map, sort_keys=True).encode())
    for f in files:
        if f is not None and f.exists():
            with f.open("rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
    return h.hexdigest()[:16]


def load_data(suite: Suite, settings: Settings, console: Console) -> EvalData:
    """The suite's catalog in its own store and vector index under the cache dir (keyed by
    the files' content, so it is built once), and its interactions in memory. Each step shows
    on `console` as it runs."""
    from agent.retrieval.chroma import ChromaRetriever
    from agent.retrieval.embeddings import MiniLMEmbedder

    source = _source(suite)
    for f in (source.items, source.interactions):
        if f is not None and not f.exists():
            raise InputError(f"dataset file not found: {f}")
    workspace = Path(settings.cache_dir) / "eval-data" / _files_digest(source, source.column_map)
    store = CatalogStore(workspace / "catalog.sqlite")
    index = ChromaRetriever(workspace / "chroma", MiniLMEmbedder())
    stamp = workspace / ".ingested"
    if not stamp.exists():
        console.print(f"[dim]indexing the catalog once, into {workspace}[/dim]")
        with step(console, "indexing the catalog", unit="items") as count:
            summary = ingest(source.model_copy(update={"interactions": None}), store, index,
                             progress=lambda stage, done, total: count(done, total))
        if not summary.items["added"] + summary.items["updated"] + summary.items["unchanged"]:
            raise InputError(f"no valid items in {source.items}: check the columns (see `recagent ingest --help`)")
        stamp.write_text(json.dumps(summary.items))
    with step(console, f"reading {source.interactions.name}", unit="rows") as count:
        known = store.item_ids()
        rows, rejected, pairs = [], 0, set()
        for n, (_, raw) in enumerate(source.interaction_rows(), start=1):
            if n % 10_000 == 0:
                count(n)
            try:
                row = parse_interaction(raw, settings.rating_scale)
            except ValueError:
                rejected += 1
                continue
            if row.item_id not in known or (row.user_id, row.item_id) in pairs:
                rejected += 1
                continue
            pairs.add((row.user_id, row.item_id))
            rows.append(row)
        count(len(rows) + rejected)
    if not rows:
        raise InputError(f"no valid interactions in {source.interactions}: check the columns and item ids")
    return EvalData(store=store, index=index, interactions=rows, rejected=rejected, workspace=workspace)


# -- per-user candidates -----------------------------------------------------------------------
def build_candidates(suite: Suite, cases: list[Case], rec: Recommender, catalog_ids: list[str],
                     path: Path, progress: Callable[[int, int], None] | None = None) -> dict[str, dict]:
    """Each user's candidate list, written once to `path` and reused by every variant and
    every rerun. A file made for other data, split, seed or protocol is refused. `progress(done,
    total)` is told after each user."""
    fingerprint = suite.data_fingerprint()
    existing: dict[str, dict] = {}
    if path.exists():
        with path.open(encoding="utf-8") as f:
            header = json.loads(f.readline() or "{}")
            if header.get("fingerprint") != fingerprint:
                raise InputError(f"{path} holds candidates of a different dataset, split, seed or protocol: "
                                 "use a new --out folder")
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    existing[row["user"]] = row
    missing = [c for c in cases if c.user not in existing]
    if missing:
        with path.open("a" if existing else "w", encoding="utf-8") as f:
            if not existing:
                f.write(json.dumps({"fingerprint": fingerprint, "protocol": suite.protocol.kind}) + "\n")
            for done, case in enumerate(missing, start=len(cases) - len(missing) + 1):
                row = _candidates_for(suite, case, rec, catalog_ids)
                existing[case.user] = row
                f.write(json.dumps(row) + "\n")
                if progress:
                    progress(done, len(cases))
    return existing


def _candidates_for(suite: Suite, case: Case, rec: Recommender, catalog_ids: list[str]) -> dict:
    if suite.protocol.kind == "sampled":
        unseen = [i for i in catalog_ids if i not in case.seen]
        rng = user_rng(suite.users.seed, case.user, "negatives")
        n = min(suite.protocol.negatives, len(unseen))
        pool = [unseen[i] for i in rng.choice(len(unseen), n, replace=False)] + [case.target]
        pool = [pool[i] for i in user_rng(suite.users.seed, case.user, "shuffle").permutation(len(pool))]
        cands = rank_pool(rec, case.history, pool)
    else:
        _, cands = rec.retrieve(case.history, suite.protocol.candidates)
        pool = [c.item.item_id for c in cands]
    return {"user": case.user, "target": case.target, "pool": pool,
            "candidates": [{"id": c.item.item_id, "scores": c.scores, "sources": c.sources, "because": c.because}
                           for c in cands],
            "target_in_candidates": case.target in {c.item.item_id for c in cands}}


# -- the run -------------------------------------------------------------------------------------
@dataclass
class RunStats:
    live_calls: int = 0
    cache_hits: int = 0
    wall_s: float = 0.0
    reused_rows: int = 0
    new_rows: int = 0
    interrupted: bool = False


class SuiteRun:
    def __init__(self, suite: Suite, out: Path, settings: Settings | None = None, use_cache: bool = True,
                 console: Console | None = None, backend_factory=None, shard: tuple[int, int] | None = None):
        """`backend_factory(variant)` replaces the variants' configured endpoints (tests pass
        a scripted fake); the response cache still applies. `shard=(i, n)` runs every n-th of the
        suite's users from the i-th (1-based) and writes rows only: `merge_shards` makes the summary."""
        if shard is not None and not 1 <= shard[0] <= shard[1]:
            raise InputError(f"shard {shard[0]}/{shard[1]}: use i/N with 1 <= i <= N, e.g. --shard 2/4")
        self.suite, self.out, self.shard = suite, Path(out), shard
        self.backend_factory = backend_factory
        self.settings = settings or load_settings()
        self.use_cache = use_cache
        self.console = console or Console(stderr=True)
        self.stats = RunStats()

    # -- setup -------------------------------------------------------------------------------
    def prepare(self) -> None:
        s = self.suite
        self.out.mkdir(parents=True, exist_ok=True)
        self.data = load_data(s, self.settings, self.console)
        with step(self.console, "holding out each user's last positive"):
            split = leave_last_positive_out(self.data.interactions, s.split.positive_rating, s.split.min_history)
        if not split.cases:
            raise InputError("no user can be evaluated: every user has fewer than "
                             f"{s.split.min_history} interactions before their last positive one")
        self.split = split
        self.users = sample_users(list(split.cases), s.users.n, s.users.seed)
        if self.shard is not None:
            self.users = self.users[self.shard[0] - 1::self.shard[1]]
        with step(self.console, "fitting co-occurrence, EASE, transitions"):
            positives = PositiveMatrix(split.train, s.split.positive_rating)  # parsed once for both models
            self.collab, self.classic = CooccurrenceIndex(positives), ClassicSignals(positives)
        self.enrichment = self._enrich() if s.enrich else None
        self.rec = Recommender(self.settings, store=self.data.store, index=self.data.index,
                               collaborative=self.collab, classic=self.classic, like_threshold=s.split.positive_rating)
        self.catalog_ids = sorted(self.data.store.item_ids())
        what = (f"held-out + {s.protocol.negatives} sampled" if s.protocol.kind == "sampled"
                else f"top {s.protocol.candidates} retrieved")
        with step(self.console, f"candidates: {what}", total=len(self.users), unit="users") as count:
            self.candidates = build_candidates(s, [split.cases[u] for u in self.users], self.rec, self.catalog_ids,
                                               self.out / CANDIDATES, progress=count)

    def _enrich(self) -> dict:
        """Write texts for the suite's thin items (cached per version in the eval store) and
        switch this run to an index embedded with them, built once per version and items."""
        from agent.enrich import enrich, thin_items
        from agent.retrieval.chroma import ChromaRetriever
        from agent.retrieval.embeddings import MiniLMEmbedder

        spec, store = self.suite.enrich, self.data.store
        popularity = Counter(row[1] for row in self.split.train)  # never the held-out rows
        thin = thin_items(store.all_items(), popularity)
        chosen = thin[:spec.limit]
        rec, backend = self.llm_recommender(Variant(name="enrich", kind="llm", model=spec.model, base_url=spec.base_url))
        with self._progress() as progress:
            task = progress.add_task("enrich: describing thin items", total=len(chosen), failed=0)
            report = enrich(store, backend, chosen, prompt=spec.prompt, redactor=rec.redactor,
                            progress=lambda n: progress.update(task, advance=n))
        written = store.enrichments(report.version)
        enriched = {i.item_id for i in chosen if i.item_id in written}
        digest = hashlib.sha256(json.dumps([report.version, sorted(enriched)]).encode()).hexdigest()[:16]
        index = ChromaRetriever(self.data.workspace / f"chroma-enriched-{digest}", MiniLMEmbedder())
        if index.count() != store.count_items():
            self.console.print(f"[dim]embedding the catalog with {len(enriched)} written texts[/dim]")
            reindex(store, index, written={i: written[i] for i in enriched})
        self.data.index = index
        targets = [self.split.cases[u].target for u in self.users]
        return {"version": report.version, "thin_items": len(thin),
                "chosen": len(chosen), "enriched": len(enriched), "written_now": report.written,
                "failed": dict(report.failed), "held_out_items_enriched": sum(t in enriched for t in targets) / len(targets)}

    def candidate_objects(self, user: str) -> list[Candidate]:
        """The run's candidates for `user` (saved in candidates.jsonl), as Candidates."""
        rows = self.candidates[user]["candidates"]
        items = self.data.store.get_items(r["id"] for r in rows)
        return [Candidate(item=items[r["id"]], scores=r["scores"], sources=r["sources"], because=r["because"])
                for r in rows if r["id"] in items]

    # -- execution -------------------------------------------------------------------------------
    def run(self) -> dict:
        t0 = time.perf_counter()
        self.prepare()
        done = self._load_rows()
        writer = (self.out / RESULTS).open("a", encoding="utf-8")
        try:
            schedule = {v.name: RANKERS[v.kind].schedule for v in self.suite.variants}
            for v in self.suite.variants:
                if schedule[v.name] == "serial":
                    self._run_serial(v, done, writer)
            for v in self.suite.variants:
                if schedule[v.name] == "fitted":
                    self._run_fusion(v, done, writer)
            groups: dict[tuple, list[Variant]] = defaultdict(list)
            for v in self.suite.variants:
                if schedule[v.name] == "model":
                    groups[(v.model, v.base_url)].append(v)
            for variants in groups.values():
                self._run_llm_group(variants, done, writer)
        finally:
            writer.close()
            self.stats.wall_s = round(time.perf_counter() - t0, 1)
        if self.shard is not None:
            return self._finish_shard(done)
        return self.finish(done)

    def _finish_shard(self, done: dict) -> dict:
        """A shard's rows and what merging needs to check them: no summary (statistics need all users)."""
        info = {"suite": self.suite.name, "suite_fingerprint": suite_fingerprint(self.suite),
                "shard": list(self.shard), "users": self.users, "wall_s": self.stats.wall_s}
        rows = [done[self._key(v, u)] for v in self.suite.variants for u in self.users if self._key(v, u) in done]
        with (self.out / RESULTS).open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (self.out / SHARD).write_text(json.dumps(info, indent=2) + "\n")
        return info

    def _key(self, v: Variant, user: str) -> tuple:
        return (v.name, v.fingerprint(), user)

    def _load_rows(self) -> dict[tuple, dict]:
        done = {}
        path = self.out / RESULTS
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    done[row_key(row)] = row
                except (ValueError, KeyError):
                    continue  # a line cut by a crash: that case runs again
        self.stats.reused_rows = sum(1 for v in self.suite.variants for u in self.users if self._key(v, u) in done)
        return done

    def _row(self, v: Variant, user: str, result: dict | None, error: str | None) -> dict:
        case = self.split.cases[user]
        row = {"variant": v.name, "fingerprint": v.fingerprint(), "kind": v.kind, "user": user,
               "status": "failed" if error else "ok", "error": error, "target": case.target,
               "target_in_candidates": self.candidates[user]["target_in_candidates"],
               "ranking": [], **(result or {})}
        RANKERS[v.kind].row_defaults(row, self, v, user)
        return row

    def _record(self, row: dict, done: dict, writer) -> None:
        done[row_key(row)] = row
        writer.write(json.dumps(row, ensure_ascii=False) + "\n")
        writer.flush()
        self.stats.new_rows += 1

    def _run_serial(self, v: Variant, done: dict, writer) -> None:
        users = [u for u in self.users if self._key(v, u) not in done]
        if not users:
            return
        with self._progress() as progress:
            task = progress.add_task(f"{v.name}: fitting", total=None, failed=0)  # a classic model tunes here
            ranker = RANKERS[v.kind](self, v)
            progress.update(task, description=v.name, total=len(users))
            self._rank_users(v, users, ranker.rank, done, writer, progress, task)

    def _rank_users(self, v: Variant, users: list[str], rank, done: dict, writer, progress: Progress, task) -> None:
        """`rank(case)` for each user, recorded as a row; a case that raises an AgentError is a failed row."""
        failed = 0
        for user in users:
            try:
                result, error = rank(self.split.cases[user]), None
            except AgentError as e:
                result, error = None, str(e)
            row = self._row(v, user, result, error)
            self._record(row, done, writer)
            failed += row["status"] == "failed"
            progress.update(task, advance=1, failed=failed)

    def _progress(self) -> Progress:
        return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(), TextColumn("eta"),
                        TimeRemainingColumn(), console=self.console, transient=False)

    @contextmanager
    def _fusion_ranker(self, v: Variant):
        """A FusionRanker (or, for `ltr`, the learned ranker) for `v`, with the variant's LLM
        backend when it scores with one."""
        from evals.fusion_fit import FusionRanker
        from evals.ltr import LTRRanker

        rec, backend = self.llm_recommender(v) if v.llm_scoring != "none" else (None, None)
        try:
            yield (LTRRanker if v.kind == "ltr" else FusionRanker)(self, v, rec)
        finally:
            if backend is not None:
                self.stats.live_calls += backend.live_calls
                self.stats.cache_hits += backend.hits
                backend.close()

    def _fit(self, ranker, progress: Progress):
        v = ranker.v
        total = None if v.kind == "ltr" else v.validation_users if ranker.uses_llm else 1  # ltr: lists per step vary
        task = progress.add_task(f"{v.name}: fitting " + ("the ranker" if v.kind == "ltr" else "weights"), total=total,
                                 failed=0)
        fits = ranker.fit(progress=lambda: progress.advance(task))
        progress.update(task, completed=progress.tasks[task].total)
        return fits

    def fit_fusion(self, v: Variant):
        """(no-LLM weights, with-LLM weights or None) of fusion variant `v`, fitted on the
        validation split, or read from fusion-fits/ when fitted before. Call prepare() first."""
        with self._fusion_ranker(v) as ranker, self._progress() as progress:
            return self._fit(ranker, progress)

    def _run_fusion(self, v: Variant, done: dict, writer) -> None:
        """Fit the weights on the validation split (once; kept in fusion-fits/), then rank.
        With LLM scoring the model is called for the validation users too."""
        users = [u for u in self.users if self._key(v, u) not in done]
        if not users:
            return
        with self._fusion_ranker(v) as ranker, self._progress() as progress:
            stage1, stage2 = self._fit(ranker, progress)
            task = progress.add_task(v.name, total=len(users), failed=0)
            self._rank_users(v, users, lambda case: ranker.rank(case, stage1, stage2), done, writer, progress, task)

    def llm_recommender(self, v: Variant, registry=None) -> tuple[Recommender, object]:
        """A recommender over this run's data that asks `v`'s model through the response
        cache, and that backend (the server starts on the first cache miss). Also used by
        the position-bias and injection harnesses, so that they share the cache and fakes,
        and by the optimiser (with a `registry` that also reads its candidates)."""
        from agent.backends.cache import cached_connect

        # the suite decides the endpoint (no base_url = embedded), not the environment
        settings = self.settings.model_copy(update={"base_url": v.base_url and v.base_url.rstrip("/"), "model": v.model})
        fake = self.backend_factory(v) if self.backend_factory is not None else None
        # --no-cache: ask the model every time, still counting and refreshing the cache
        backend = cached_connect(settings, fake, read=self.use_cache)
        rec = Recommender(settings, backend=backend, store=self.data.store, index=self.data.index, registry=registry,
                          collaborative=self.collab, classic=self.classic, like_threshold=self.suite.split.positive_rating)
        rec.vocabulary()  # built once here, not raced by the worker threads
        return rec, backend

    def concurrency(self, v: Variant) -> int:
        """The suite's bound, or (auto) the server's parallel slots: the embedded server's
        setting, or what a llama.cpp server reports at /props; 4 for other servers."""
        if self.suite.concurrency != "auto":
            return int(self.suite.concurrency)
        if v.base_url is None:
            return self.settings.parallel
        try:
            r = httpx.get(v.base_url.rstrip("/").removesuffix("/v1") + "/props", timeout=5)
            return max(1, int(r.json().get("total_slots") or 4))
        except (httpx.HTTPError, ValueError, TypeError, AttributeError):
            return 4

    def _run_llm_group(self, variants: list[Variant], done: dict, writer) -> None:
        """Variants of one model. One task is one user's variants in order, so the server's
        prompt cache (per slot) reuses what their prompts share: system text and candidates.
        Tasks run as many at a time as the server has slots."""
        tasks = [(u, [v for v in variants if self._key(v, u) not in done]) for u in self.users]
        tasks = [(u, vs) for u, vs in tasks if vs]
        if not tasks:
            return
        rec, backend = self.llm_recommender(variants[0])
        rankers = {v.name: RANKERS[v.kind](self, v, rec) for v in variants}
        workers = self.concurrency(variants[0])
        label = ", ".join(v.name for v in variants)
        failed = 0
        progress = self._progress()

        def one(v: Variant, user: str) -> dict:
            try:
                return self._row(v, user, rankers[v.name].rank(self.split.cases[user]), None)
            except ConfigError:
                raise
            except Exception as e:  # one broken case is a failed row, never a crashed run
                return self._row(v, user, None, f"{type(e).__name__}: {e}")

        results: Queue = Queue()

        def user_task(user: str, vs: list[Variant]) -> None:
            for v in vs:
                results.put(one(v, user))

        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            with progress:
                task = progress.add_task(f"{label} ({rec.backend.model})", total=sum(len(vs) for _, vs in tasks),
                                         failed=0)
                futures = [pool.submit(user_task, u, vs) for u, vs in tasks]
                remaining = sum(len(vs) for _, vs in tasks)
                while remaining:
                    try:
                        row = results.get(timeout=0.5)
                    except Empty:
                        for fut in futures:  # a configuration error ends the run
                            if fut.done() and fut.exception() is not None:
                                raise fut.exception()
                        continue
                    self._record(row, done, writer)
                    remaining -= 1
                    failed += row["status"] == "failed"
                    progress.update(task, advance=1, failed=failed)
        except KeyboardInterrupt:
            self.stats.interrupted = True
            raise
        finally:
            pool.shutdown(wait=not self.stats.interrupted, cancel_futures=True)
            self.stats.live_calls += getattr(backend, "live_calls", 0)
            self.stats.cache_hits += getattr(backend, "hits", 0)
            backend.close()

    # -- scoring and output ----------------------------------------------------------------------
    def finish(self, done: dict) -> dict:
        from evals.report import write_reports
        from evals.summary import score_rows, summarize

        keys = [self._key(v, u) for v in self.suite.variants for u in self.users if self._key(v, u) in done]
        rows = [done[k] for k in keys]
        with step(self.console, "scoring, statistics, reports"):
            score_rows(rows, self)
            # rows of variants or users outside this run's selection (an earlier, wider run in the
            # same folder) are kept, after this run's, marked as not in the summary
            current = set(keys)
            others = [row for key, row in done.items() if key not in current]
            with (self.out / RESULTS).open("w", encoding="utf-8") as f:  # compact: one row per case, in order
                for row, in_summary in [(r, True) for r in rows] + [(r, False) for r in others]:
                    f.write(json.dumps({**row, "in_summary": in_summary}, ensure_ascii=False) + "\n")
            summary = summarize(rows, self)
            if self.enrichment is not None:
                summary["enrichment"] = self.enrichment
            (self.out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")  # suite order
            (self.out / "run.json").write_text(json.dumps({
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_s": self.stats.wall_s,
                "llm_calls": self.stats.live_calls, "cache_hits": self.stats.cache_hits,
                "rows_reused": self.stats.reused_rows, "rows_computed": self.stats.new_rows,
                "failed_rows": sum(r["status"] == "failed" for r in rows)}, indent=2) + "\n")
            write_reports(self.out, summary, rows)
        return summary

    def popularity_rank(self) -> dict[str, float]:
        """1 = the most popular item in the training rows; ties share their average rank."""
        pops = np.array(self.collab.popularity_of(self.catalog_ids))
        return dict(zip(self.catalog_ids, rankdata(-pops, method="average").tolist()))
