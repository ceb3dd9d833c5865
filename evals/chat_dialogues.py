"""Scripted chat dialogues (tests/data/chat/dialogues.yaml), checked after every turn:

- every item listed meets every constraint in force (excluded genres and topics, years, titles
  left out) and is in the catalog;
- a "why #N" answer names the item that was #N;
- an item the person said they have seen never comes back;
- no item is given a reason that the person excluded (a liked title of an excluded genre or topic).

`recagent eval chat-dialogues` reports the pass rate (dialogues whose every turn holds)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import yaml

from agent.acts import read_turn
from agent.config import Settings
from agent.errors import ConfigError
from agent.conversation import ChatSessions, about_topic, item_year

DIALOGUES = Path(__file__).resolve().parents[1] / "tests" / "data" / "chat" / "dialogues.yaml"


def scratch_workspace(settings: Settings) -> Settings:
    """Settings for a throwaway copy of the workspace (its SQLite files and vector store, not its
    sessions), so that what a scripted run writes never reaches real histories. A PostgreSQL store
    is refused: its data would be written to, and copying a database is not this tool's job."""
    if settings.store_url:
        raise ConfigError("scripted chats run on a scratch copy of an SQLite workspace, and RECAGENT_STORE_URL points "
                          "at PostgreSQL (they would write feedback there): unset it and set RECAGENT_DATA_DIR to a "
                          "workspace (`recagent ingest` one)")
    if not Path(settings.data_dir).is_dir():
        raise ConfigError(f"no workspace in {settings.data_dir} to copy: run `recagent ingest` (or `make ingest`) "
                          "first, or set RECAGENT_DATA_DIR")
    scratch = Path(tempfile.mkdtemp()) / "data"
    shutil.copytree(settings.data_dir, scratch, ignore=shutil.ignore_patterns("sessions.sqlite*"))
    return settings.model_copy(update={"data_dir": scratch, "fit_dir": None})


def load(path: Path = DIALOGUES) -> list[dict]:
    return yaml.safe_load(path.read_text())["dialogues"]


def run(agent: ChatSessions, dialogues: list[dict], user_of=lambda u: u) -> dict:
    rows = [run_one(agent, d, user_of) for d in dialogues]
    turns = sum(r["turns"] for r in rows)
    return {"dialogues": len(rows), "passed": sum(not r["failures"] for r in rows), "turns": turns,
            "failed_turns": sum(len({f["turn"] for f in r["failures"]}) for r in rows),
            "seconds_per_turn": round(sum(r["seconds"] for r in rows) / max(turns, 1), 2), "rows": rows}


def run_one(agent: ChatSessions, dialogue: dict, user_of) -> dict:
    user = dialogue.get("user")
    session = agent.start(user_of(user) if user else None)
    seen: set[str] = set()
    failures: list[dict] = []
    t0 = time.perf_counter()
    for n, message in enumerate(dialogue["turns"], 1):
        before = agent.sessions.get(session)
        reply = agent.chat(session, message)
        state = agent.sessions.get(session)
        seen |= {f.item_id for f in reply.feedback if f.signal == "seen"}
        for problem in _broken(agent, state, reply, seen) + _why_misnamed(agent, before, message, reply):
            failures.append({"turn": n, "message": message, "problem": problem})
    return {"id": dialogue["id"], "turns": len(dialogue["turns"]), "failures": failures,
            "seconds": time.perf_counter() - t0}


def _broken(agent: ChatSessions, state, reply, seen: set[str]) -> list[str]:
    c = state.constraints
    items = agent.recommender.items([i.item_id for i in reply.items])
    left_out = about_topic(c.exclude_tags)  # tagged, or named in the title
    ids = [e.item_id for e in agent.recommender.history(agent.session_user(state), missing_ok=True)]
    excluded = agent._excluded_ids(state, ids)
    out = []
    for shown in reply.items:
        item = items.get(shown.item_id)
        if item is None:
            out.append(f"{shown.item_id} is not in the catalog")
            continue
        if set(item.categories) & set(c.exclude_categories):
            out.append(f"{item.title} is {', '.join(item.categories)}, excluded: {c.exclude_categories}")
        if left_out(item):
            out.append(f"{item.title} is tagged or named for an excluded topic ({c.exclude_tags})")
        if item.item_id in c.not_like:
            out.append(f"{item.title} was left out by title")
        year = item_year(item)
        if c.era and year and ((c.era.start and year < c.era.start) or (c.era.end and year > c.era.end)):
            out.append(f"{item.title} is outside {c.era.start}–{c.era.end}")
        if item.item_id in seen:
            out.append(f"{item.title} was seen and came back")
        if shown.evidence and (reasons := {b.item_id for b in shown.evidence.because} & excluded):
            out.append(f"{item.title} is explained by an excluded item ({sorted(reasons)})")
    return out


def _why_misnamed(agent: ChatSessions, before, message: str, reply) -> list[str]:
    acts = read_turn(message, agent._categories(), agent._titles(before.last_list))
    out = []
    for act in acts:
        pos = act.ref.position if act.act == "explain" and act.ref is not None else None
        if pos is not None and 1 <= pos <= len(before.last_list):
            title = agent.recommender.item(before.last_list[pos - 1]).title
            if title not in reply.reply:
                out.append(f"'why #{pos}' does not name {title}")
    return out
