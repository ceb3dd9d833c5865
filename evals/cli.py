"""`recagent eval …`: the evaluation commands. `app` is the group: pyproject.toml declares it as the
`eval` entry point of the `recagent.commands` group, which agent/cli.py loads; add a command here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from agent.cli_support import BaseUrl, DataDir, Model, err, out, progress, require_catalog
from agent.cli_support import settings as cli_settings
from agent.errors import InputError
from agent.options import DEFAULT_PROMPT
from evals.optimize.cli import eval_optimize
from prompts.inputs import JUDGE_CRITERIA

app = typer.Typer(help="Prompt A/B evaluation on held-out interactions.", no_args_is_help=True)


@app.command("run")
def eval_run(suite_file: Path = typer.Argument(..., help="suite YAML, e.g. evals/suites/ml-latest-small-sampled.yaml"),
             out_dir: Optional[Path] = typer.Option(None, "--out", help="run folder (default: runs/SUITE-NAME)"),
             users: Optional[int] = typer.Option(None, "--users", help="evaluate this many users (overrides the suite)"),
             variants: Optional[str] = typer.Option(None, "--variants", help="comma-separated variant names to run"),
             no_cache: bool = typer.Option(False, "--no-cache", help="call the LLM even for answers in the cache"),
             shard: Optional[str] = typer.Option(None, "--shard", help="i/N: run every N-th user from the i-th and "
                                                 "write its rows only; `eval merge` makes the summary")):
    """Run a suite; write results.jsonl, summary.json, report.md and report.html. Rerunning
    the same command continues an interrupted run and reuses cached LLM answers."""
    with err.status(f"reading {suite_file}", spinner="dots"):  # then each step of the run shows its own line
        from evals.report import summary_table
        from evals.runner import SuiteRun
        from evals.suite import load_suite, run_folder

        suite = load_suite(suite_file, users=users,
                           variants=[v.strip() for v in variants.split(",")] if variants else None)
    part = _shard(shard) if shard else None
    folder = out_dir or run_folder(suite.name, f"-shard-{part[0]}-of-{part[1]}" if part else "")
    run = SuiteRun(suite, folder, cli_settings(), use_cache=not no_cache, console=err, shard=part)
    try:
        summary = run.run()
    except KeyboardInterrupt:
        err.print(f"interrupted: finished cases are saved in {folder}; rerun the same command to continue")
        sys.exit(130)
    if part:
        err.print(f"{folder}: shard {shard}, {len(run.users)} users, rows only; when every shard is done: "
                  f"recagent eval merge {suite_file} SHARD_FOLDERS… --out FOLDER", highlight=False)
        return
    sys.stdout.write(summary_table(summary) + "\n")
    st = run.stats
    err.print(f"{folder}: {len(run.users)} users × {len(suite.variants)} variants in {st.wall_s} s; "
              f"{st.live_calls} LLM calls, {st.cache_hits} cached answers, {st.reused_rows} rows reused; "
              f"report: {folder / 'report.html'}", highlight=False)


def _shard(text: str) -> tuple[int, int]:
    """'2/4' → (2, 4); SuiteRun checks the range."""
    i, sep, n = text.partition("/")
    if not (sep and i.isdigit() and n.isdigit()):
        raise InputError(f"--shard {text!r}: use i/N with 1 <= i <= N, e.g. --shard 2/4")
    return int(i), int(n)


app.command("optimize")(eval_optimize)


@app.command("merge")
def eval_merge(suite_file: Path = typer.Argument(..., help="the suite YAML the shards ran"),
               shard_dirs: list[Path] = typer.Argument(..., help="the shards' folders, 1/N to N/N"),
               out_dir: Path = typer.Option(..., "--out", help="folder for the merged run"),
               users: Optional[int] = typer.Option(None, "--users", help="as given to the shards"),
               variants: Optional[str] = typer.Option(None, "--variants", help="as given to the shards")):
    """Merge `eval run --shard i/N` folders into one run: the summary.json and reports an
    unsharded run would write."""
    from evals.report import summary_table
    from evals.runner import merge_shards
    from evals.suite import load_suite

    suite = load_suite(suite_file, users=users, variants=[v.strip() for v in variants.split(",")] if variants else None)
    summary = merge_shards(suite, shard_dirs, out_dir, cli_settings(), console=err)
    sys.stdout.write(summary_table(summary) + "\n")
    err.print(f"{out_dir}: merged {len(shard_dirs)} shards; report: {out_dir / 'report.html'}", highlight=False)


@app.command("fit")
def eval_fit(suite_file: Path = typer.Argument(..., help="suite YAML with a fusion or ltr variant"),
             variant: str = typer.Option(..., "--variant", help="the fusion or ltr variant to fit"),
             out_dir: Optional[Path] = typer.Option(None, "--out", help="run folder (default: runs/SUITE-NAME)"),
             validation_users: Optional[int] = typer.Option(None, "--validation-users",
                                                            help="users of the validation split (overrides the suite)"),
             install: bool = typer.Option(False, "--install", help="ltr: copy the fitted ranker into the workspace, "
                                          "where `candidate_order: ltr` reads it"),
             data_dir: Optional[Path] = DataDir):
    """Fit a fusion variant's weights, or an ltr variant's ranker, on the validation split
    (held-out items from the training period, never the evaluated ones) and print them as JSON
    (for ltr: the chosen hyper-parameters and each feature's share of the gain). `eval run` with
    the same --out reuses the fit."""
    from evals.runner import SuiteRun
    from evals.suite import load_suite, run_folder

    suite = load_suite(suite_file, variants=[variant])
    v = next(x for x in suite.variants if x.name == variant)
    if v.kind not in ("fusion", "ltr"):
        raise InputError(f"variant {variant!r} is kind {v.kind!r}: only fusion and ltr variants are fitted")
    if install and v.kind != "ltr":
        raise InputError("--install takes an ltr variant (a fusion variant's weights go to RECAGENT_FUSION_WEIGHTS)")
    if validation_users is not None:
        if validation_users < 5:
            raise InputError("--validation-users must be at least 5")
        v.validation_users = validation_users
    run = SuiteRun(suite, out_dir or run_folder(suite.name), cli_settings(), console=err)
    run.prepare()
    stage1, stage2 = run.fit_fusion(v)
    if v.kind == "ltr":  # the chosen hyper-parameters and each feature's share of the gain
        result = {"variant": v.name, **stage1.meta, "importance": stage1.importance()}
        if install:
            from agent.pipeline.learned import ranker_path

            dest = ranker_path(cli_settings(data_dir=data_dir).data_dir)
            stage1.save(dest)
            err.print(f"installed: {dest} (used with RECAGENT_CANDIDATE_ORDER=ltr)", highlight=False)
    else:
        result = {"variant": v.name, "no_llm": stage1.model_dump(), "with_llm": stage2.model_dump() if stage2 else None}
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


@app.command("explain")
def eval_explain(
    users: int = typer.Option(20, "--users", help="how many stored users (seeded sample)"),
    k: int = typer.Option(10, "--k", help="items per list"),
    prompt: list[str] = typer.Option([DEFAULT_PROMPT], "--prompt", help="explanation prompt(s); the first is the baseline"),
    seed: int = typer.Option(42, "--seed"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="folder for lists.jsonl and summary.json"),
    base_url: Optional[str] = BaseUrl, model: Optional[str] = Model, data_dir: Optional[Path] = DataDir,
):
    """Explanation quality per prompt: LLM-written share, claim-check results by kind,
    specificity, user swap, distinct-2, length, time to first item and to the list."""
    from agent.recommender import Recommender
    from evals.explain import run

    settings = cli_settings(base_url=base_url, model=model, data_dir=data_dir)
    require_catalog(settings)
    registry = Recommender(settings).registry
    explaining = [r for r in registry.list() if registry.family(r).explains]
    for ref in prompt:
        if ref not in explaining:
            raise InputError(f"{ref} is not an explanation prompt: use one of {', '.join(explaining)}")
    with Recommender(settings) as rec, progress() as bar:
        task = bar.add_task("lists", total=users)
        summary = run(rec, prompt, users, k=k, seed=seed, out_dir=out_dir,
                      progress=lambda done, total: bar.update(task, completed=done))
    out.print_json(json.dumps(summary, default=str))


@app.command("judge")
def eval_judge(
    run_dir: Path = typer.Argument(..., help="the --out folder of a `recagent eval explain` run"),
    pairs: int = typer.Option(20, "--pairs", help="pairs judged per kind (a seeded sample)"),
    criterion: list[str] = typer.Option(list(JUDGE_CRITERIA), "--criterion", help=", ".join(JUDGE_CRITERIA)),
    seed: int = typer.Option(0, "--seed"),
    base_url: Optional[str] = BaseUrl, model: Optional[str] = Model, data_dir: Optional[Path] = DataDir,
):
    """Pairwise LLM judge of a stored run's explanations, both orders per pair: the model's text
    against its template, the checker's passed text against a rejected one (the judge's agreement
    with the checker: trust the rest only if it is high), and prompt variants. Writes judge.json."""
    from agent.recommender import Recommender
    from evals.judge import run

    unknown = sorted(set(criterion) - set(JUDGE_CRITERIA))
    if unknown:
        raise InputError(f"unknown criterion {', '.join(unknown)}: use {', '.join(JUDGE_CRITERIA)}")
    settings = cli_settings(base_url=base_url, model=model, data_dir=data_dir)
    require_catalog(settings)
    with Recommender(settings) as rec, progress() as bar:
        task = bar.add_task("judgements", total=None)
        summary = run(rec, run_dir, pairs_per_kind=pairs, criteria=tuple(criterion), seed=seed,
                      progress=lambda done, total: bar.update(task, completed=done, total=total))
    out.print_json(json.dumps(summary, default=str))


@app.command("chat")
def eval_chat(suite_file: Path = typer.Argument(..., help="chat suite YAML, e.g. evals/suites/chat-simulated.yaml"),
              out_dir: Optional[Path] = typer.Option(None, "--out", help="run folder (default: runs/SUITE-NAME)"),
              users: Optional[int] = typer.Option(None, "--users", help="simulate this many users")):
    """Simulated users look for a hidden item over several turns; report Hit@k and turns."""
    from evals.chat import ChatEvalRun, load_chat_suite
    from evals.suite import run_folder

    suite = load_chat_suite(suite_file, users=users)
    folder = out_dir or run_folder(suite.name)
    ChatEvalRun(suite, folder, cli_settings(), console=err).run()
    sys.stdout.write((folder / "report.md").read_text())
    err.print(f"report: {folder / 'report.html'}", highlight=False)


@app.command("report")
def eval_report(run_dir: Path = typer.Argument(..., help="a run folder")):
    """Re-render report.md and report.html from a run folder."""
    from evals.report import load_run, summary_table, write_reports

    write_reports(run_dir)
    sys.stdout.write(summary_table(load_run(run_dir)[0]) + "\n")
    err.print(f"wrote {run_dir / 'report.md'} and {run_dir / 'report.html'}")


@app.command("compare")
def eval_compare(run_a: Path = typer.Argument(...), run_b: Path = typer.Argument(...)):
    """Compare two runs: shared variants side by side, paired where the users match. Two
    `eval explain` folders (another model or setting, same users) pair each prompt's lists."""
    from evals import compare, explain

    both_explain = all((Path(f) / "lists.jsonl").exists() for f in (run_a, run_b))
    sys.stdout.write((explain if both_explain else compare).compare_runs(run_a, run_b) + "\n")


@app.command("table")
def eval_table(run_dirs: list[Path] = typer.Argument(..., help="run folders, e.g. one per protocol"),
               variants: Optional[str] = typer.Option(None, "--variants", help="comma-separated variant names to show")):
    """One markdown table over several runs: NDCG with its CI, paired differences from the
    baseline and from each variant's reference, LLM latency and tokens."""
    from evals.compare import protocol_table

    sys.stdout.write(protocol_table(run_dirs, [v.strip() for v in variants.split(",")] if variants else None) + "\n")


@app.command("position-bias")
def eval_position_bias(
    suite_file: Path = typer.Argument(..., help="a sampled-protocol suite YAML"),
    users: int = typer.Option(20, "--users"),
    positions: str = typer.Option("1,10,20", "--positions", help="1-based positions of the held-out item"),
    model: str = typer.Option("smollm2-135m", "--model"),
    orders: str = typer.Option("1,2", "--orders", help="numbers of candidate orders averaged (2 = mirrored)"),
    out_dir: Path = typer.Option(Path("runs/position-bias"), "--out"),
):
    """Position bias of label-logprob scoring: the held-out item at fixed positions of an
    otherwise unchanged list, its rank under the LLM's scores alone, one order vs mirrored."""
    from evals.position_bias import markdown, measure

    result = measure(suite_file, out_dir, users, [int(x) - 1 for x in positions.split(",")], model,
                     orders=tuple(int(x) for x in orders.split(",")))
    sys.stdout.write(markdown(result) + "\n")



@app.command("checker")
def eval_checker(
    mode: list[str] = typer.Option(["open", "constrained"], "--mode", help="explanation mode(s): open, constrained"),
    split: str = typer.Option("all", "--split", help="dev, heldout, blind, blind2..6 or all (tests/data/checker/)"),
    show: bool = typer.Option(False, "--show", help="also list the texts each mode gets wrong"),
):
    """The claim checker on the labelled corpus: per mode, kind of text and kind of false claim,
    how many false texts it catches and how many true ones it rejects."""
    from evals.checker import SPLITS, score, table, verdicts

    if split not in (*SPLITS, "all") or not set(mode) <= {"open", "constrained"}:
        raise InputError("use --mode open|constrained and --split dev|heldout|blind|blind2..6|all")
    results = {m: verdicts(m, split=split) for m in mode}
    sys.stdout.write(table({m: score(r) for m, r in results.items()}) + "\n")
    if show:
        for m, rows in results.items():
            for case, violations in rows:
                if (case.label == "true") == bool(violations):
                    why = f" ← {violations[0].kind}: {violations[0].detail}" if violations else ""
                    sys.stdout.write(f"{m} {case.label}/{case.false_kind or '-'} {case.context} {case.kind}: "
                                     f"{case.text}{why}\n")


@app.command("chat-acts")
def eval_chat_acts(
    split: str = typer.Option("all", "--split", help="dev, heldout, blind, blind2..19 or all (tests/data/chat/)"),
    reader: list[str] = typer.Option(["rules"], "--reader", help="rules, model (acts@v1 alone) or both (what chat does)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="the first N messages of the split (a model reads ~1 a second)"),
    show: bool = typer.Option(False, "--show", help="also list the messages read wrongly"),
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="RECAGENT_BASE_URL"),
    model: Optional[str] = typer.Option(None, "--model", envvar="RECAGENT_MODEL"),
):
    """The chat turn reader on the labelled corpus of messages: act accuracy (the acts a message
    asks for, exactly), per-act precision and recall, and slot F1, for the rules, the model
    (the embedded default unless --base-url) or both."""
    from evals.chat_acts import SPLITS, both_reader, load, model_reader, rules_reader, score, table

    if split not in SPLITS or not set(reader) <= {"rules", "model", "both"}:
        raise InputError(f"use --split {'|'.join(SPLITS)} and --reader rules|model|both")
    backend = registry = None
    if set(reader) - {"rules"}:
        from agent.backends.connect import connect
        from agent.config import load_settings
        from prompts.registry import PromptRegistry

        backend, registry = connect(load_settings(base_url=base_url, model=model)), PromptRegistry()
    readers = {"rules": lambda: rules_reader, "model": lambda: model_reader(backend, registry),
               "both": lambda: both_reader(backend, registry)}
    try:
        for name in reader:
            result = score(load(split=split)[:limit], readers[name]())
            sys.stdout.write(table(result, f"{name}, {split}" + (f", first {limit}" if limit else "")) + "\n\n")
    finally:
        if backend is not None and hasattr(backend, "close"):
            backend.close()
    if show:
        for m in result["misses"]:
            sys.stdout.write(f"{m['id']} {m['text']!r}\n  wanted {json.dumps(m['gold'])}\n  read   {json.dumps(m['got'])}\n")


@app.command("chat-dialogues")
def eval_chat_dialogues(
    llm: bool = typer.Option(False, "--llm/--no-llm", help="with the model (explanations, reading); default rules only"),
    limit: Optional[int] = typer.Option(None, "--limit", help="the first N dialogues"),
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="RECAGENT_BASE_URL"),
    model: Optional[str] = typer.Option(None, "--model", envvar="RECAGENT_MODEL"),
):
    """The scripted dialogues (tests/data/chat/dialogues.yaml) on the workspace's catalog, each turn
    checked: constraints hold for every item, a "why" names its item, a seen item never returns, no
    excluded item is a reason. It runs on a scratch copy of the workspace: the dialogues' feedback
    never reaches the real histories."""
    import shutil

    from agent.config import load_settings
    from agent.conversation import ChatSessions
    from evals.chat_dialogues import load, run, scratch_workspace

    scratch_settings = scratch_workspace(load_settings(base_url=base_url, model=model))
    scratch = Path(scratch_settings.data_dir)
    agent = ChatSessions(settings=scratch_settings, use_llm=llm)
    store = agent.recommender.store
    try:  # "user-18" is the test catalog's spelling of MovieLens user 18
        result = run(agent, load()[:limit], lambda u: u if store.has_user(u) else u.removeprefix("user-"))
    finally:
        agent.close()
        shutil.rmtree(scratch.parent, ignore_errors=True)
    sys.stdout.write(f"{'rules + model' if llm else 'rules'}: {result['passed']}/{result['dialogues']} dialogues pass "
                     f"every check; {result['failed_turns']}/{result['turns']} turns fail; "
                     f"{result['seconds_per_turn']} s per turn\n")
    for row in result["rows"]:
        for f in row["failures"]:
            sys.stdout.write(f"{row['id']} turn {f['turn']} {f['message']!r}: {f['problem']}\n")
