"""Speed of a chat turn with the default model, measured in one run after the model is loaded:
the first dialogues of tests/data/chat/dialogues.yaml on the workspace's catalog (a scratch copy),
each turn timed: p50 and p95 per turn (goal: p50 <= 15 s on an idle 2-core machine), split by
whether the turn wrote a list (explanations) or answered in text ("why", questions).
    uv run python bench/chat.py --dialogues 4
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

from agent.config import DEFAULT_EMBEDDED_MODEL, load_settings
from agent.conversation import ChatSessions
from evals.chat_dialogues import load, scratch_workspace


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dialogues", type=int, default=4)
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    settings = load_settings(**({"model": a.model} if a.model else {}))
    scratch_settings = scratch_workspace(settings)
    scratch = Path(scratch_settings.data_dir)
    agent = ChatSessions(settings=scratch_settings, use_llm=True)
    store = agent.recommender.store
    lists, texts = [], []
    try:
        agent.recommend(next(iter(store.all_interactions()))[0], k=1)  # the model loaded and warm
        for dialogue in load()[: a.dialogues]:
            user = dialogue.get("user")
            session = agent.start((user if store.has_user(user) else user.removeprefix("user-")) if user else None)
            for message in dialogue["turns"]:
                t0 = time.perf_counter()
                reply = agent.chat(session, message)
                (lists if reply.items else texts).append(time.perf_counter() - t0)
    finally:
        agent.close()
        shutil.rmtree(scratch.parent, ignore_errors=True)
    every = lists + texts
    print(f"model {settings.model or DEFAULT_EMBEDDED_MODEL}, threads {settings.threads}, k {agent.options.k}: "
          f"{len(every)} turns")
    print(f"  every turn:      p50 {statistics.median(every):.1f} s, p95 {pct(every, 0.95):.1f} s (goal p50 <= 15 s)")
    if lists:
        print(f"  turns with a list ({len(lists)}): p50 {statistics.median(lists):.1f} s, p95 {pct(lists, 0.95):.1f} s")
    if texts:
        print(f"  text answers ({len(texts)}):    p50 {statistics.median(texts):.2f} s, p95 {pct(texts, 0.95):.2f} s")


if __name__ == "__main__":
    main()
