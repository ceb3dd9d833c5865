"""`recagent eval optimize SPACE.yaml`: the command (registered in evals/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agent.cli_support import DataDir, err, out
from agent.cli_support import settings as cli_settings


def eval_optimize(
    space_file: Path = typer.Argument(..., help="search space YAML, e.g. evals/optimize/explain-why.yaml"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="run folder (default runs/optimize-NAME); "
                                           "the same folder resumes a stopped run with no repeated LLM calls"),
    calls: Optional[int] = typer.Option(None, "--calls", help="override the space's budget of live LLM calls"),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="override the space's budget of minutes"),
    adopt: bool = typer.Option(False, "--adopt", help="copy the run's confirmed winner into prompts/ (no search)"),
    data_dir: Optional[Path] = DataDir,
):
    """Search prompt variants against a metric on validation users, then confirm the winner
    against the incumbent on held-out test users (paired bootstrap CI and permutation p).
    Writes candidates as prompts/<family>/vN.j2 in the run folder, scores.jsonl, result.json,
    report.md and report.html."""
    from evals.optimize.search import adopt as adopt_winner
    from evals.optimize.space import load_space
    from evals.suite import run_folder

    space = load_space(space_file)
    folder = out_dir or run_folder(space.name, "").parent / f"optimize-{space.name}"
    if adopt:
        dest = adopt_winner(folder)
        out.print(f"adopted: {dest} (use it with --prompt {space.family}@{dest.stem}; "
                  f"record its rendering with UPDATE_GOLDEN=1 pytest tests/unit/test_prompts.py)")
        return
    if calls is not None:
        space.budget.calls = calls
    if minutes is not None:
        space.budget.minutes = minutes
    result = run_search(space, folder, cli_settings(data_dir=data_dir))
    out.print(result["verdict"])
    err.print(f"report: {folder / 'report.md'} and report.html")


def run_search(space, folder: Path, settings, fake=None, **parts) -> dict:
    """Build the objective and the optimiser for `space` and run it (tests pass a scripted fake,
    and `parts`, the explanation recommender's store or index)."""
    from agent.backends.cache import cached_connect
    from agent.cli_support import require_catalog
    from evals.optimize.objectives import ChatObjective, ExplainObjective, RankingObjective
    from evals.optimize.search import Optimizer
    from prompts.registry import PROMPTS_DIR, PromptRegistry

    folder = Path(folder)
    registry = PromptRegistry(PROMPTS_DIR, extra=(folder / "prompts",))
    u = space.users
    if space.objective.kind == "explain":
        require_catalog(settings)
        objective = ExplainObjective(space.objective, settings, registry, fake=fake, **parts)
    else:
        kind = RankingObjective if space.objective.kind == "ranking" else ChatObjective
        objective = kind(space.objective, settings, registry, folder / space.objective.kind,
                         n_users=u.train + u.validation + u.test, fake=fake)
    proposer = None
    rewrite = next((op for op in space.operators if op.kind == "rewrite"), None)
    if rewrite is not None and (rewrite.model or rewrite.base_url) and fake is None:
        proposer = cached_connect(settings.model_copy(update={"model": rewrite.model or settings.model,
                                                              "base_url": rewrite.base_url or settings.base_url}))
    try:
        return Optimizer(space, folder, objective, registry, proposer=proposer, console=err).run()
    finally:
        objective.close()
        if proposer is not None:
            proposer.close()
