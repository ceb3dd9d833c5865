"""Data integrity under crashes and concurrency, measured with real processes:
- `recagent ingest` SIGKILLed part-way, then rerun: the result must equal a clean ingest
  (same items, interactions and index entries; no duplicates);
- concurrent feedback from many HTTP clients and from several CLI processes: no lost update;
- a process SIGKILLed while writing chat sessions: every committed turn is still there and
  the database passes SQLite's integrity check."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]


def _agent(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"}, **kw)


def synthetic_dataset(folder: Path, n_items: int = 2000, n_users: int = 300, per_user: int = 40,
                      seed: int = 0) -> list[str]:
    """A generic CSV catalog and interactions, big enough that a kill lands part-way."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    genres = ["Drama", "Comedy", "Horror", "Sci-Fi", "Romance", "Crime", "Fantasy", "Documentary"]
    with (folder / "items.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "text", "categories"])
        for i in range(n_items):
            g = rng.choice(genres, size=2, replace=False)
            w.writerow([f"it{i}", f"Title {i}", f"A {g[0].lower()} story number {i} with {g[1].lower()} notes.",
                        "|".join(g)])
    with (folder / "interactions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "item_id", "rating", "timestamp"])
        for u in range(n_users):
            for i in rng.choice(n_items, size=per_user, replace=False):
                w.writerow([f"u{u}", f"it{i}", int(rng.integers(1, 6)), 1_600_000_000 + int(rng.integers(0, 10**7))])
    return ["--items", str(folder / "items.csv"), "--interactions", str(folder / "interactions.csv")]


class Snapshot(BaseModel):
    items: int
    interactions: int
    indexed: int
    duplicate_items: int = 0
    duplicate_interactions: int = 0
    digest: str = ""  # what the rows say, so equal counts with different content do not pass


def snapshot(data_dir: Path) -> Snapshot:
    import hashlib

    from agent.retrieval.chroma import ChromaRetriever

    path = data_dir / "catalog.sqlite"
    if not path.exists():
        return Snapshot(items=0, interactions=0, indexed=0)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        q = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        digest = hashlib.sha256()
        for row in db.execute("SELECT item_id, content_hash FROM items ORDER BY item_id"):
            digest.update(repr(row).encode())
        for row in db.execute("SELECT * FROM interactions ORDER BY user_id, item_id"):
            digest.update(repr(row).encode())
        snap = Snapshot(items=q("SELECT COUNT(*) FROM items"), interactions=q("SELECT COUNT(*) FROM interactions"),
                        indexed=0,
                        duplicate_items=q("SELECT COUNT(*) - COUNT(DISTINCT item_id) FROM items"),
                        duplicate_interactions=q("SELECT COUNT(*) - (SELECT COUNT(*) FROM (SELECT DISTINCT "
                                                 "user_id, item_id FROM interactions)) FROM interactions"),
                        digest=digest.hexdigest()[:16])
    finally:
        db.close()
    if (data_dir / "chroma").exists():
        snap.indexed = ChromaRetriever(data_dir / "chroma", lambda texts: np.zeros((len(texts), 384))).count()
    return snap


def _count(data_dir: Path, table: str) -> int:
    try:
        db = sqlite3.connect(f"file:{data_dir / 'catalog.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0  # not created yet, or busy


class KilledIngest(BaseModel):
    killed_after_s: float
    at_kill: Snapshot
    after_rerun: Snapshot
    rerun_exit: int
    equal_to_clean: bool


def killed_ingests(source_args: list[str], scratch: Path, fractions=(0.3, 0.6, 0.9)) -> dict:
    """A clean ingest, then for each fraction of its duration: ingest, SIGKILL, rerun, compare."""
    clean_dir = scratch / "clean"
    t0 = time.perf_counter()
    proc = _agent("ingest", *source_args, "--data-dir", str(clean_dir))
    _, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"clean ingest failed: {stderr[-500:]}")
    clean_s = time.perf_counter() - t0
    clean = snapshot(clean_dir)
    runs = []
    # kill points: fractions of the clean run's duration, then the moment items are stored
    # (embedding under way) and the moment interactions start
    for n, point in enumerate([*fractions, "items", "interactions"]):
        target = scratch / f"killed-{n}"
        proc = _agent("ingest", *source_args, "--data-dir", str(target))
        started = time.perf_counter()
        if isinstance(point, float):
            time.sleep(point * clean_s)
        else:
            while proc.poll() is None and _count(target, point) == 0:
                time.sleep(0.02)
        killed_after = time.perf_counter() - started
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill = snapshot(target)
        rerun = _agent("ingest", *source_args, "--data-dir", str(target))
        rerun.communicate()
        after = snapshot(target)
        runs.append(KilledIngest(killed_after_s=round(killed_after, 2), at_kill=at_kill, after_rerun=after,
                                 rerun_exit=rerun.returncode,
                                 equal_to_clean=rerun.returncode == 0 and after == clean))
    return {"clean": clean.model_dump(), "clean_s": round(clean_s, 1), "runs": [r.model_dump() for r in runs],
            "passed": all(r.equal_to_clean for r in runs)
            and any(0 < r.at_kill.items + r.at_kill.interactions and r.at_kill != clean for r in runs)}


def concurrent_feedback(data_dir: Path, user: str, items: list[str], clients: int = 8, processes: int = 4) -> dict:
    """Feedback for one user from `clients` HTTP clients at once, then from `processes` CLI
    processes at once; every event must be stored."""
    import httpx

    from agent.conversation import ChatSessions
    from agent.service import BackgroundServer, create_app
    from agent.config import load_settings

    settings = load_settings(data_dir=data_dir)
    agent = ChatSessions(settings=settings, use_llm=False)
    before = {i.item_id for i in agent.recommender.store.user_interactions(user)}
    fresh = [i for i in items if i not in before]
    http_items, cli_items = fresh[: clients * 5], fresh[clients * 5: clients * 5 + processes * 3]
    errors = []
    with BackgroundServer(create_app(agent)) as url:
        def send(batch):
            with httpx.Client(base_url=url, timeout=60) as c:
                for item in batch:
                    r = c.post("/v1/feedback", json={"user_id": user, "item_id": item, "signal": "like"})
                    if r.status_code != 200:
                        errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(send, [http_items[c::clients] for c in range(clients)]))
    agent.close()
    procs = []
    for p in range(processes):
        script = " && ".join(f"{sys.executable} -m agent feedback --user {user} --item {i} --signal dislike "
                             f"--data-dir {data_dir}" for i in cli_items[p::processes])
        procs.append(subprocess.Popen(["bash", "-c", script], cwd=REPO, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            errors.append(err[-300:])
    db = sqlite3.connect(data_dir / "catalog.sqlite", timeout=30)
    stored = {r[0]: r[1] for r in db.execute("SELECT item_id, rating FROM interactions WHERE user_id = ?", (user,))}
    db.close()
    lost = [i for i in http_items + cli_items if i not in stored]
    wrong = [i for i in http_items if stored.get(i) != 5.0] + [i for i in cli_items if stored.get(i) != 1.0]
    return {"http_clients": clients, "http_events": len(http_items), "cli_processes": processes,
            "cli_events": len(cli_items), "lost": len(lost), "wrong_value": len(wrong), "errors": errors[:5],
            "passed": not lost and not wrong and not errors}


SESSION_WRITER = """
import os, signal, sys
from pathlib import Path
from agent.session import SessionStore, Turn
store = SessionStore(Path(sys.argv[1]))
sid = store.create("u1").session_id
print(sid, flush=True)
for n in range(1, 10**6):
    store.add_turns(sid, [Turn(role="user", text=f"message {n}")])
    print(n, flush=True)  # committed: the parent may count it
    if n == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
"""


def session_crash(scratch: Path, kill_after_turns: int = 200) -> dict:
    """A process writing chat turns kills itself (SIGKILL) mid-stream; every turn it reported
    committed must be readable afterwards, and SQLite's integrity check must pass."""
    from agent.session import SessionStore

    path = scratch / "sessions.sqlite"
    proc = subprocess.run([sys.executable, "-c", SESSION_WRITER, str(path), str(kill_after_turns)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    lines = proc.stdout.split()
    sid, committed = lines[0], int(lines[-1])
    store = SessionStore(path)
    turns = store.turns(sid)
    store.close()
    db = sqlite3.connect(path)
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return {"killed_by": -proc.returncode, "committed": committed, "recovered": len(turns),
            "integrity_check": integrity,
            "passed": proc.returncode == -signal.SIGKILL and len(turns) >= committed and integrity == "ok"
            and [t.text for t in turns[:committed]] == [f"message {n}" for n in range(1, committed + 1)]}
