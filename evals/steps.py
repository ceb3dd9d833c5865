"""One progress line per step of a run that has no bar of its own (loading the data, indexing
the catalog, fitting, building candidates): it shows from the step's first moment, with a count
where the step has one, and stays on screen, ticked, when the step is done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column
from rich.text import Text


class CountColumn(ProgressColumn):
    """'1,024/9,742 items', or '51,200 rows' while the total is unknown; nothing for a step without a unit."""

    def render(self, task) -> Text:
        unit = task.fields.get("unit")
        if not unit:
            return Text("")
        total = "" if task.total is None else f"/{task.total:,.0f}"
        return Text(f"{task.completed:,.0f}{total} {unit}", style="progress.download")


@contextmanager
def step(console: Console, description: str, total: int | None = None,
         unit: str = "") -> Iterator[Callable[..., None]]:
    """Show `description` until the block ends. The block gets `count(done, total=None)` to
    report how far it is, in `unit`s."""
    with Progress(SpinnerColumn(finished_text="[green]✓[/green]"),
                  TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis")),
                  BarColumn(bar_width=20), CountColumn(table_column=Column(no_wrap=True)), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task(description, total=total, unit=unit)

        def count(done: int, total: int | None = None) -> None:
            progress.update(task, completed=done, **({} if total is None else {"total": total}))

        yield count
        done = progress.tasks[0]
        final = done.total if done.total is not None else (done.completed if unit else 1)
        progress.update(task, total=final, completed=final)
