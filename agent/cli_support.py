"""What the `recagent` command and its `eval` group share: consoles, common options, settings."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from agent.config import Settings, load_settings
from agent.errors import ConfigError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

BaseUrl = typer.Option(None, "--base-url", envvar="RECAGENT_BASE_URL",
                       help="OpenAI-compatible endpoint (vLLM, OpenAI, …); unset = embedded llama.cpp")
Model = typer.Option(None, "--model", envvar="RECAGENT_MODEL",
                     help="model id at --base-url, or a bundled model name for the embedded server")
DataDir = typer.Option(None, "--data-dir", envvar="RECAGENT_DATA_DIR", help="where the catalog and index live")
ChromaUrl = typer.Option(None, "--chroma-url", envvar="RECAGENT_CHROMA_URL",
                         help="a Chroma server (`chroma run`) instead of the embedded store")


def settings(**kw) -> Settings:
    return load_settings(**kw)


class RateColumn(ProgressColumn):
    """Items (or interactions, or lists) per second."""

    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


def progress() -> Progress:
    """A bar with done/total, the rate and the time left."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                    TimeRemainingColumn(), console=err)


def require_catalog(settings: Settings) -> None:
    if settings.store_url is None and not Path(settings.catalog_store).exists():
        raise ConfigError(f"no catalog in {settings.data_dir}: run `recagent ingest` first "
                          "(e.g. `recagent ingest --preset movielens data/ml-latest-small`) or set RECAGENT_DATA_DIR")
