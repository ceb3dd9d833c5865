"""Memory and start-up cost of each bundled model as the embedded server, measured in one run:
each model in a fresh child process (so one model's pages never count against another),
serving the same pick@v1 prompt. Quality and per-call latency on real users come from the
eval suites (evals/suites/ml-latest-small-fusion-models.yaml); this adds what they cannot see.

    uv run python bench/model_footprint.py [--models smollm2-135m,qwen2.5-coder-0.5b] [--calls 3]

Peak RSS is the child's resident high-water mark; "added by the model" subtracts the same
child's mark before the server started (Python and the agent's modules loaded)."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from agent.bundled_models import MODELS

LIKED = ["Toy Story (1995)", "Heat (1995)", "Fargo (1996)", "Alien (1979)", "Amélie (2001)",
         "Se7en (1995)", "Up (2009)", "Brazil (1985)"]
GENRES = ["Comedy", "Drama", "Thriller", "Animation", "Sci-Fi", "Romance", "Crime", "Horror"]


def status_kb(field: str, pid: int | str = "self") -> int | None:
    """A memory field of a process's /proc status (VmRSS, VmHWM …; default this one's) in kB; None off Linux."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_mib() -> float:
    """This process's resident high-water mark. /proc's VmHWM starts afresh at exec;
    getrusage's ru_maxrss (the fallback) can carry over the parent's peak."""
    hwm = status_kb("VmHWM")
    if hwm is not None:
        return hwm / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pick_messages(call: int) -> list[dict]:
    """A pick@v1 prompt of the eval's size (8 liked items, 20 candidates), different per call
    so that the server's prompt cache cannot answer from a previous call."""
    from prompts.inputs import PromptItem, PromptProfile, ScoreInputs
    from prompts.registry import PromptRegistry

    def item(title: str, n: int, label: str = "") -> PromptItem:
        return PromptItem(id=label, title=title, categories=[GENRES[n % 8], GENRES[(n + 3) % 8]])

    liked = [item(f"{t} [{call}]" if n == 0 else t, n) for n, t in enumerate(LIKED)]
    profile = PromptProfile(liked=liked, disliked=[], top_categories=GENRES[:3], avoided_categories=[], top_tags=[])
    candidates = [item(f"Candidate film number {n} ({1970 + n})", n + call, chr(65 + n)) for n in range(20)]
    return PromptRegistry().render("pick@v1", ScoreInputs(candidates=candidates, profile=profile)).messages


def measure(model: str, calls: int) -> dict:
    """In this process: start the model's embedded server, score `calls` prompts, report."""
    from agent.backends.base import ChatRequest
    from agent.backends.connect import connect
    from agent.config import load_settings

    settings = load_settings(model=model)
    before = peak_rss_mib()
    t0 = time.perf_counter()
    backend = connect(settings)
    try:
        latencies, tokens = [], 0
        for call in range(calls + 1):  # the first call also loads the weights' pages: timed apart
            t = time.perf_counter()
            resp = backend.complete(ChatRequest(messages=pick_messages(call), max_tokens=1, temperature=0.0,
                                                top_logprobs=40))
            if call == 0:
                load_s = time.perf_counter() - t0
            else:
                latencies.append(time.perf_counter() - t)
            tokens = resp.usage.prompt_tokens
    finally:
        backend.close()
    peak = peak_rss_mib()
    return {"model": model, "file_mib": MODELS[model].size / 2**20, "load_s": load_s, "peak_rss_mib": peak,
            "added_mib": peak - before, "prompt_tokens": tokens,
            "call_s": statistics.median(latencies) if latencies else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated bundled model names")
    ap.add_argument("--calls", type=int, default=3, help="timed calls per model after the first")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.calls)))
        return 0
    console = Console()
    console.print("| model | file MiB | start + first call s | peak RSS MiB | added by the model MiB | prompt tokens | call s (median) |")
    console.print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        if name not in MODELS:
            console.print(f"[red]unknown model {name!r}; bundled: {', '.join(MODELS)}[/red]")
            return 2
        run = subprocess.run([sys.executable, __file__, "--child", name, "--calls", str(args.calls)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            console.print(f"| {name} | failed: {last} |", markup=False)
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        console.print(f"| {name} | {r['file_mib']:.0f} | {r['load_s']:.1f} | {r['peak_rss_mib']:.0f} | {r['added_mib']:.0f} "
                      f"| {r['prompt_tokens']} | {r['call_s']:.2f} |", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
