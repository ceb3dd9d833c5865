"""Read a catalog and interactions (generic CSV/JSONL or a preset), reject bad rows with
their line numbers, and upsert the rest into the store and the vector index."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from agent.errors import InputError
from agent.types import Interaction, Item, RatingScale, check_item_id, has_lone_surrogate

ITEM_FIELDS = ("item_id", "title", "text", "categories")
INTERACTION_FIELDS = ("user_id", "item_id", "rating", "timestamp")
MAX_FIELD_CHARS = 20_000


class Rejected(BaseModel):
    file: str
    line: int
    last_line: int | None = Field(None, description="set when the row ran over several lines")
    reason: str


class IngestSummary(BaseModel):
    items: dict[str, int] = Field(default_factory=lambda: {"added": 0, "updated": 0, "unchanged": 0})
    interactions: dict[str, int] = Field(default_factory=lambda: {"added": 0, "updated": 0, "unchanged": 0})
    indexed: int = 0
    rejected: list[Rejected] = Field(default_factory=list)


Row = tuple[int, dict[str, str]]  # (line number in the file, raw fields)
SPAN = "__last_line__"  # set on a CSV row that runs over several lines


def rejection(file: str, line: int, raw: dict, reason: str) -> Rejected:
    """A bad row's report. A row read over several lines names them all: when a quote was
    left open, every line it swallowed is lost, not just the first."""
    last = raw.get(SPAN, line)
    if last == line:
        return Rejected(file=file, line=line, reason=reason)
    return Rejected(file=file, line=line, last_line=last, reason=(
        f"{reason}; lines {line}-{last} were read as one row: if a quote on line {line} is not closed, close it"))


def parse_column_map(pairs: list[str]) -> dict[str, str]:
    """`["movieId=item_id", ...]` → {"movieId": "item_id"}."""
    allowed = set(ITEM_FIELDS) | set(INTERACTION_FIELDS) | {"tags"}
    out = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column or field not in allowed:
            raise InputError(f"bad --map {pair!r}: use COLUMN=FIELD with FIELD one of {', '.join(sorted(allowed))}")
        out[column] = field
    return out


def read_rows(path: Path, column_map: dict[str, str] | None = None) -> Iterator[Row]:
    """Rows of a .csv or .jsonl/.json-lines file with columns renamed by `column_map`.
    A line that cannot be parsed yields `{"__error__": reason}` so it is reported, not fatal."""
    column_map = column_map or {}
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError("not a JSON object")
                except ValueError as e:
                    yield n, {"__error__": f"invalid JSON: {e}"}
                    continue
                yield n, {column_map.get(k, k): v for k, v in obj.items()}
        return
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        try:
            header = [column_map.get(h.strip(), h.strip()) for h in next(reader)]
        except StopIteration:
            return
        line = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as e:  # e.g. a NUL byte: report the line, read on
                start, line = line + 1, reader.line_num
                yield start, {"__error__": f"unreadable CSV: {e}"}
                continue
            start, line = line + 1, reader.line_num
            if not "".join(values).strip():  # no fields, or only blank ones
                continue
            row = dict(zip(header, values)) if len(values) == len(header) else {
                "__error__": f"expected {len(header)} fields, found {len(values)}"}
            if line > start:  # a quoted newline, or a quote left open that swallowed the next lines
                row[SPAN] = line
            yield start, row


def _text(raw: dict, key: str) -> str:
    v = raw.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        v = str(v)
    return v.strip()


def _split(v) -> list[str]:
    if isinstance(v, list):
        return [str(x).strip() for x in v if str(x).strip()]
    return [x.strip() for x in str(v or "").split("|") if x.strip()]


def parse_item(raw: dict) -> Item:
    """A catalog row → Item, or ValueError saying what is wrong."""
    if "__error__" in raw:
        raise ValueError(raw["__error__"])
    item_id, title = _text(raw, "item_id"), _text(raw, "title")
    if not item_id:
        raise ValueError("missing item_id")
    check_item_id(item_id)
    if not title:
        raise ValueError("missing title")
    for key in ("title", "text"):
        if len(_text(raw, key)) > MAX_FIELD_CHARS:
            raise ValueError(f"{key} longer than {MAX_FIELD_CHARS} characters")
    categories = [c for c in _split(raw.get("categories")) if c != "(no genres listed)"]
    return Item(item_id=item_id, title=title, text=_text(raw, "text"), categories=categories,
                tags=_split(raw.get("tags")))


def parse_interaction(raw: dict, scale: RatingScale = RatingScale()) -> Interaction:
    if "__error__" in raw:
        raise ValueError(raw["__error__"])
    user_id, item_id = _text(raw, "user_id"), _text(raw, "item_id")
    if not user_id or not item_id:
        raise ValueError("missing user_id" if not user_id else "missing item_id")
    check_item_id(item_id)
    if has_lone_surrogate(user_id):  # a JSON "\ud800" escape
        raise ValueError("user_id contains an unpaired surrogate (invalid Unicode)")
    rating = timestamp = None
    if _text(raw, "rating"):
        try:
            rating = float(_text(raw, "rating"))
        except ValueError:
            raise ValueError(f"rating {_text(raw, 'rating')!r} is not a number") from None
        scale.check(rating)
    if _text(raw, "timestamp"):
        try:
            timestamp = int(float(_text(raw, "timestamp")))
        except ValueError:
            raise ValueError(f"timestamp {_text(raw, 'timestamp')!r} is not a unix time") from None
    # every field is checked above, so ingest's hot loop skips a second validation pass
    return Interaction.model_construct(user_id=user_id, item_id=item_id, rating=rating, timestamp=timestamp)


# -- sources ---------------------------------------------------------------------------------
class Source(BaseModel):
    """Where a catalog and its interactions come from: files plus a column map."""

    items: Path
    interactions: Path | None = None
    column_map: dict[str, str] = Field(default_factory=dict)
    preset: str | None = None

    def item_rows(self) -> Iterator[Row]:
        if self.preset == "movielens":
            yield from _movielens_items(self.items.parent)
        else:
            yield from read_rows(self.items, self.column_map)

    def interaction_rows(self) -> Iterator[Row]:
        if self.interactions is not None:
            yield from read_rows(self.interactions, self.column_map)


MOVIELENS_MAP = {"movieId": "item_id", "genres": "categories", "userId": "user_id"}


def movielens_source(directory: Path) -> Source:
    """The MovieLens preset: movies.csv (+ tags.csv folded into item tags) and ratings.csv."""
    if not (directory / "movies.csv").exists():
        raise InputError(f"{directory} is not a MovieLens directory (no movies.csv)")
    return Source(items=directory / "movies.csv", interactions=directory / "ratings.csv",
                  column_map=MOVIELENS_MAP, preset="movielens")


def _movielens_items(directory: Path) -> Iterator[Row]:
    tag_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    if (directory / "tags.csv").exists():
        for _, row in read_rows(directory / "tags.csv", MOVIELENS_MAP):
            tag = " ".join(_text(row, "tag").split())
            if tag and "__error__" not in row:
                tag_counts[_text(row, "item_id")][tag.lower()] += 1
                spellings[tag.lower()][tag] += 1
    shown = {tag: tag_spelling(forms) for tag, forms in spellings.items()}
    for line, row in read_rows(directory / "movies.csv", MOVIELENS_MAP):
        counts = tag_counts.get(_text(row, "item_id"), {})
        row["tags"] = [shown[t] for t in sorted(counts, key=lambda t: (-counts[t], t))[:10]]
        row["title"] = movielens_title(_text(row, "title"))
        yield line, row


def tag_spelling(forms: Counter[str]) -> str:
    """How most taggers spelled a tag: "Stephen King", "Disney", "dark comedy" (a tie goes to lower case)."""
    return max(forms, key=lambda form: (forms[form], form == form.lower(), form))


def movielens_title(title: str) -> str:
    """'Matrix, The (1999)' → 'The Matrix (1999)'."""
    m = re.match(r"^(.*?), (The|A|An|Les|La|Le|L'|Il|El|Das|Die|Der)((?: \([^()]*\))*)$", title)
    if m:
        sep = "" if m.group(2).endswith("'") else " "
        return f"{m.group(2)}{sep}{m.group(1)}{m.group(3)}"
    return title


# -- the ingest run --------------------------------------------------------------------------
def ingest(source: Source, store, index, progress: Callable[[str, int, int], None] | None = None,
           batch_size: int = 256, scale: RatingScale = RatingScale()) -> IngestSummary:
    """Upsert items, then interactions whose item exists. Items whose text changed, or that
    the vector index lacks (an interrupted earlier run), are (re-)embedded."""
    summary = IngestSummary()
    items: dict[str, tuple[int, Item]] = {}
    for line, raw in source.item_rows():
        try:
            item = parse_item(raw)
        except ValueError as e:
            summary.rejected.append(rejection(source.items.name, line, raw, str(e)))
            continue
        if item.item_id in items:
            first = items[item.item_id][0]
            summary.rejected.append(Rejected(file=source.items.name, line=line,
                                             reason=f"duplicate item_id {item.item_id!r} (first on line {first})"))
            continue
        items[item.item_id] = (line, item)

    all_items = [it for _, it in items.values()]
    to_index: list[Item] = []
    done = 0
    for i in range(0, len(all_items), batch_size):
        batch = all_items[i:i + batch_size]
        outcome = store.upsert_items(batch)
        for key, ids in outcome.items():
            summary.items[key] += len(ids)
        changed = set(outcome["added"]) | set(outcome["updated"])
        present = index.existing_ids([it.item_id for it in batch if it.item_id not in changed])
        to_index.extend(it for it in batch if it.item_id in changed or it.item_id not in present)
    for i in range(0, len(to_index), 4 * batch_size):
        index.upsert(to_index[i:i + 4 * batch_size])
        done += len(to_index[i:i + 4 * batch_size])
        if progress:
            progress("embedding items", done, len(to_index))
    summary.indexed = len(to_index)
    if to_index or not has_snapshot(index):
        index.save_vectors()

    if source.interactions is not None:
        known = store.item_ids()
        pending: list[Interaction] = []
        seen: dict[tuple[str, str], int] = {}
        for line, raw in source.interaction_rows():
            try:
                row = parse_interaction(raw, scale)
                if row.item_id not in known:
                    raise ValueError(f"item_id {row.item_id!r} is not in the catalog")
                key = (row.user_id, row.item_id)
                if key in seen:
                    raise ValueError(f"duplicate of line {seen[key]} for the same user and item")
                seen[key] = line
            except ValueError as e:
                summary.rejected.append(rejection(source.interactions.name, line, raw, str(e)))
                continue
            pending.append(row)
            if len(pending) >= 5000:
                _flush(store, pending, summary, progress)
        _flush(store, pending, summary, progress)
    return summary


def _flush(store, pending: list[Interaction], summary: IngestSummary, progress) -> None:
    for key, n in store.upsert_interactions(pending).items():
        summary.interactions[key] += n
    if progress:
        progress("interactions", sum(summary.interactions.values()), 0)
    pending.clear()


def reindex(store, index, progress: Callable[[str, int, int], None] | None = None, batch_size: int = 1024,
            written: dict[str, tuple[str, list[str]]] | None = None) -> int:
    """Embed every stored item into `index` (a fresh or partial one), with the text
    `recagent enrich` wrote for it if any (`written`, default each item's newest); returns
    the count."""
    from agent.enrich import with_enrichment

    written = store.enrichments() if written is None else written
    items = [with_enrichment(item, written.get(item.item_id)) for item in store.all_items()]
    for i in range(0, len(items), batch_size):
        index.upsert(items[i:i + batch_size])
        if progress:
            progress("embedding items", min(i + batch_size, len(items)), len(items))
    index.save_vectors()
    return len(items)


def has_snapshot(index) -> bool:
    """Whether the index's memory-mapped vector snapshot is on disk (or it keeps none: a server)."""
    return index.snapshot_dir is None or index.snapshot_dir.exists()
