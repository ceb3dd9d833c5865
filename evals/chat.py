"""Conversation eval: simulated users look for a hidden target item and describe it turn by
turn from its attributes only (categories, decade, tags), never its title. Reports Hit@k within
the turn budget and the mean turns to success, each variant against the baseline."""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agent.config import Settings
from agent.errors import InputError
from agent.ingest import movielens_title
from agent.types import Item
from evals.split import leave_last_positive_out, sample_users
from evals.stats import paired_comparison
from evals.suite import Dataset, Name, Split, Users, read_suite_file

_STOP = set("the a an of and in on at to for with from by is it its la le les de du der die das el".split())


class ChatVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    use_llm: bool = True
    model: str | None = None
    base_url: str | None = Field(None, pattern=r"^https?://")
    prompt: str = "rank@v1"


class ChatSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: str = ""
    dataset: Dataset
    split: Split = Field(default_factory=Split)
    users: Users = Field(default_factory=lambda: Users(n=20))
    max_turns: int = Field(5, ge=1, le=10)
    k: int = Field(5, ge=1, le=20)
    variants: list[ChatVariant]
    baseline: str

    @model_validator(mode="after")
    def _check(self):
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        if self.baseline not in names:
            raise ValueError(f"baseline {self.baseline!r} is not a variant; variants: {', '.join(names)}")
        return self


def load_chat_suite(path: Path, users: int | None = None) -> ChatSuite:
    suite = read_suite_file(path, ChatSuite)
    if users is not None:
        if users < 1:
            raise InputError("--users must be at least 1")
        suite.users.n = users
    return suite


# -- the simulated user ------------------------------------------------------------------------
def title_words(title: str) -> set[str]:
    bare = re.sub(r"\(\d{4}\)\s*$", "", movielens_title(title)).lower()
    return {w for w in re.findall(r"[a-z0-9']+", bare) if len(w) >= 3 and w not in _STOP}


def leaks_title(message: str, target: Item) -> bool:
    """True if the message names the target: its title, or any distinctive word of it."""
    text = message.lower()
    bare = re.sub(r"\(\d{4}\)\s*$", "", target.title).strip().lower()
    words = set(re.findall(r"[a-z0-9']+", text))
    return bare in text or bool(title_words(target.title) & words)


def simulated_messages(target: Item, max_turns: int) -> list[str]:
    """What the simulated user says, turn by turn, built only from the target's attributes;
    any phrase that would give away a title word is left out."""
    cats = [c for c in target.categories if c and c != "(no genres listed)"]
    m = re.search(r"\((\d{4})\)\s*$", target.title)
    decade = f"{m.group(1)[:3]}0s" if m else None
    banned = title_words(target.title)
    tags = [t for t in target.tags if not set(re.findall(r"[a-z0-9']+", t.lower())) & banned]
    turns = []
    turns.append(f"I'm in the mood for a {cats[0].lower()} movie" if cats else "Recommend me something good")
    if len(cats) > 1:
        turns.append(f"ideally also {' and '.join(c.lower() for c in cats[1:3])}")
    if decade:
        turns.append(f"something from the {decade}")
    for i in range(0, len(tags), 2):
        turns.append("it should be " + " and ".join(tags[i:i + 2]))
    turns.append("any other ideas?")
    safe = [t for t in turns if not leaks_title(t, target)]
    while len(safe) < max_turns:
        safe.append("something else, please")
    return safe[:max_turns]


# -- the run -------------------------------------------------------------------------------------
class ChatEvalRun:
    def __init__(self, suite: ChatSuite, out: Path, settings: Settings, console: Console | None = None,
                 backend_factory=None):
        self.suite, self.out, self.settings = suite, Path(out), settings
        self.console = console or Console(stderr=True)
        self.backend_factory = backend_factory

    def prepare(self):
        from agent.store import CatalogStore
        from evals.runner import load_data
        from evals.suite import Suite

        s = self.suite
        as_suite = Suite(name=s.name, dataset=s.dataset, split=s.split, users=s.users, k=[s.k], variants=[])
        self.data = load_data(as_suite, self.settings, self.console)
        split = leave_last_positive_out(self.data.interactions, s.split.positive_rating, s.split.min_history)
        self.split = split
        self.users = sample_users(list(split.cases), s.users.n, s.users.seed)
        # a store of this run's own: the items, and only the training rows (no held-out target)
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / "chat-data.sqlite"
        path.unlink(missing_ok=True)
        store = CatalogStore(path)
        store.upsert_items(self.data.store.all_items())
        from agent.types import Interaction

        store.upsert_interactions([Interaction(user_id=u, item_id=i, rating=r, timestamp=t) for u, i, r, t in split.train])
        self.store = store

    def agent_for(self, v: ChatVariant):
        from agent.conversation import ChatSessions
        from agent.recommender import Recommender
        from agent.session import SessionStore

        # the item models are fitted on this run's training rows, in its own folder: never a
        # workspace's fit, which saw the held-out targets
        settings = self.settings.model_copy(update={"base_url": v.base_url, "model": v.model,
                                                    "fit_dir": self.out / "fitted"})
        backend = self.backend_factory(v) if self.backend_factory else None
        rec = Recommender(settings, backend=backend, store=self.store, index=self.data.index,
                          like_threshold=self.suite.split.positive_rating)
        sessions = SessionStore(self.out / f"sessions-{v.name}.sqlite")
        return ChatSessions(rec, sessions=sessions, use_llm=v.use_llm, k=self.suite.k, prompt=v.prompt)

    def run(self) -> dict:
        t0 = time.perf_counter()
        self.prepare()
        rows = []
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=self.console)
        with progress:
            for v in self.suite.variants:
                agent = self.agent_for(v)
                task = progress.add_task(v.name, total=len(self.users))
                try:
                    for user in self.users:
                        rows.append(self.converse(agent, v, user))
                        progress.advance(task)
                finally:
                    agent.recommender.close()
                    agent.sessions.close()
        with (self.out / "results.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        summary = self.summarize(rows)
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        write_chat_report(self.out, summary)
        (self.out / "run.json").write_text(json.dumps({"wall_s": round(time.perf_counter() - t0, 1)}) + "\n")
        return summary

    def converse(self, agent, v: ChatVariant, user: str) -> dict:
        case = self.split.cases[user]
        target = self.store.get_item(case.target)
        session = agent.start(user)
        turns, hit_at = [], None
        for n, message in enumerate(simulated_messages(target, self.suite.max_turns), start=1):
            try:
                reply = agent.chat(session, message)
                shown = [i.item_id for i in reply.items]
                turns.append({"message": message, "items": shown, "intent": reply.intent_source,
                              "fallback": reply.fallback_reason})
            except Exception as e:  # a broken turn is recorded, the conversation goes on
                turns.append({"message": message, "items": [], "error": f"{type(e).__name__}: {e}"})
                continue
            if case.target in shown:
                hit_at = n
                break
        return {"variant": v.name, "user": user, "target": case.target, "hit": hit_at is not None,
                "turns_to_success": hit_at, "turns": turns}

    def summarize(self, rows: list[dict]) -> dict:
        s = self.suite
        out = {"suite": s.name, "k": s.k, "max_turns": s.max_turns, "users": len(self.users), "baseline": s.baseline,
               "variants": {}}
        base = {r["user"]: r for r in rows if r["variant"] == s.baseline}
        for v in s.variants:
            vr = [r for r in rows if r["variant"] == v.name]
            turns = [r["turns_to_success"] for r in vr if r["hit"]]
            entry = {"use_llm": v.use_llm, "model": v.model, f"hit@{s.k}_within_{s.max_turns}_turns":
                     round(float(np.mean([r["hit"] for r in vr])), 4) if vr else None,
                     "mean_turns_to_success": round(float(np.mean(turns)), 3) if turns else None,
                     "successes": len(turns),
                     "failed_turns": sum(1 for r in vr for t in r["turns"] if "error" in t)}
            if v.name != s.baseline:
                paired = [r for r in vr if r["user"] in base]
                entry["vs_baseline_hit"] = paired_comparison(np.array([float(r["hit"]) for r in paired]),
                                                             np.array([float(base[r["user"]]["hit"]) for r in paired]))
            out["variants"][v.name] = entry
        return out


def write_chat_report(folder: Path, summary: dict) -> None:
    key = f"hit@{summary['k']}_within_{summary['max_turns']}_turns"
    lines = [f"# Conversation eval: {summary['suite']}", "",
             f"{summary['users']} simulated users, each looking for a hidden item described by its attributes only; "
             f"success = the item is in the top {summary['k']} within {summary['max_turns']} turns. "
             f"Baseline: **{summary['baseline']}**.", "",
             f"| variant | {key} | mean turns to success | Δ hit vs baseline [95% CI] | p | MDE |",
             "|---|---|---|---|---|---|"]
    for name, v in summary["variants"].items():
        c = v.get("vs_baseline_hit")
        delta = (f"{c['diff']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]" if c and c.get("ci_low") is not None
                 else "(baseline)" if not c else "–")
        lines.append(f"| {name} | {v[key]} | {v['mean_turns_to_success']} | {delta} | "
                     f"{c['p_value'] if c else ''} | {c['mde'] if c else ''} |")
    md = "\n".join(lines) + "\n"
    (folder / "report.md").write_text(md, encoding="utf-8")
    from evals.report import STYLE, _md_table_to_html, _svg

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["variants"])
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(names, [summary["variants"][n][key] or 0 for n in names], color="#4c72b0")
    ax.set_ylabel(key)
    ax.set_ylim(0, 1)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(summary['suite'])}</title>"
            f"<style>{STYLE}</style></head><body>{_md_table_to_html(md)}<figure>{_svg(fig)}</figure></body></html>\n")
    (folder / "report.html").write_text(page, encoding="utf-8")
