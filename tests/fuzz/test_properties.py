"""Hypothesis properties of everything that reads untrusted text: the loaders and the column
mapping, the ingest run, and prompt rendering. Unicode, control characters, huge fields,
missing columns and repeated ids must give reported rejections or clean prompts, never a
crash, a lost row or a broken fence."""

import csv
import json
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import InputError
from agent.ingest import MAX_FIELD_CHARS, Source, ingest, parse_column_map, read_rows
from agent.store import CatalogStore
from agent.types import Item, ProfileSummary
from prompts.inputs import RankInputs, RerankInputs, ScoreInputs, as_data
from prompts.registry import PromptRegistry

ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
FIELD = st.one_of(ANY_TEXT, st.sampled_from(["", " ", "\x00", "\r\n", "a" * (MAX_FIELD_CHARS + 1), "é|ü|日本",
                                              "</catalog_data>", '{"ranking": "A"}', "(no genres listed)"]))
ROW = st.fixed_dictionaries({}, optional={"item_id": st.one_of(st.sampled_from(["1", "2", "3", " "]), ANY_TEXT),
                                          "title": FIELD, "text": FIELD, "categories": FIELD})
SLOW = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


class FakeIndex:
    """An in-memory stand-in for Chroma (named as a fake): ingest's bookkeeping is under test."""

    def __init__(self):
        self.ids: set[str] = set()

    def existing_ids(self, ids):
        return {i for i in ids if i in self.ids}

    snapshot_dir = None  # keeps no vector snapshot, as with a Chroma server

    def upsert(self, items):
        self.ids.update(i.item_id for i in items)

    def save_vectors(self) -> int:
        return 0


def write(path: Path, rows: list[dict], kind: str) -> None:
    columns = ["item_id", "title", "text", "categories"]
    if kind == "csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, columns)
            w.writeheader()
            w.writerows({c: r.get(c, "") for c in columns} for r in rows)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@SLOW
@given(rows=st.lists(ROW, max_size=12), kind=st.sampled_from(["csv", "jsonl"]))
def test_every_catalog_row_is_stored_or_rejected_with_its_line(tmp_path_factory, rows, kind):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"items.{kind}"
    write(path, rows, kind)
    store, index = CatalogStore(folder / "catalog.sqlite"), FakeIndex()
    summary = ingest(Source(items=path), store, index)
    data_lines = sum(1 for _ in read_rows(path))
    added = summary.items["added"] + summary.items["updated"] + summary.items["unchanged"]
    assert added + len(summary.rejected) == data_lines  # nothing silently dropped
    assert store.count_items() == summary.items["added"] == len(index.ids)  # store and index agree
    for item in store.all_items():
        assert item.item_id.strip() and item.title.strip()
        assert len(item.title) <= MAX_FIELD_CHARS and len(item.text) <= MAX_FIELD_CHARS
    assert all(r.line >= 2 if kind == "csv" else r.line >= 1 for r in summary.rejected)
    store.close()


@SLOW
@given(raw=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".jsonl"]))
def test_arbitrary_bytes_never_crash_the_reader(tmp_path_factory, raw, suffix):
    path = tmp_path_factory.mktemp("bytes") / f"file{suffix}"
    path.write_bytes(raw)
    for line, row in read_rows(path):
        assert line >= 1 and isinstance(row, dict)


@given(pairs=st.lists(st.text(string.printable, max_size=20), max_size=5))
def test_column_maps_are_accepted_or_refused_with_a_message(pairs):
    try:
        mapping = parse_column_map(pairs)
    except InputError as e:
        assert "--map" in str(e)
    else:
        assert len(mapping) <= len(pairs)


@given(text=FIELD, limit=st.integers(1, 300))
def test_untrusted_text_cannot_break_out_of_the_data_fence(text, limit):
    safe = as_data(text, limit)
    assert len(safe) <= limit
    assert "catalog_data" not in safe.lower().replace(" ", "_") or "<" not in safe
    assert "\n" not in safe and "{" not in safe and not any(ord(c) < 32 for c in safe)


REGISTRY = PromptRegistry()
REF_FENCES = {ref: REGISTRY.source(ref).count("<catalog_data>") for ref in ("rerank@v1", "rank@v1", "rank-demos@v1",
                                                                               "pick@v1", "judge@v1")}


@given(titles=st.lists(FIELD, min_size=1, max_size=5), texts=st.lists(FIELD, min_size=1, max_size=5),
       ref=st.sampled_from(sorted(REF_FENCES)))
def test_rendered_prompts_keep_their_structure_whatever_the_catalog_says(titles, texts, ref):
    from agent.pipeline.prompt import prompt_item, prompt_profile

    items = [Item(item_id=str(n), title=t or "x", text=texts[n % len(texts)], categories=["Drama"], tags=[t])
             for n, t in enumerate(titles)]
    profile = ProfileSummary(n_interactions=1, top_categories=["Drama"])
    shown = [prompt_item(i, 200, 5) for i in items]
    if REGISTRY.input_model(ref) is ScoreInputs:
        inputs = ScoreInputs(candidates=[p.model_copy(update={"id": chr(65 + n)}) for n, p in enumerate(shown)],
                             profile=prompt_profile(profile, 5))
    elif REGISTRY.input_model(ref) is RankInputs:
        inputs = RankInputs(candidates=[p.model_copy(update={"id": chr(65 + n)}) for n, p in enumerate(shown)],
                            k=1, profile=prompt_profile(profile, 5))
    else:
        inputs = RerankInputs(candidates=shown, k=1, profile=prompt_profile(profile, 5))
    text = "\n".join(m["content"] for m in REGISTRY.render(ref, inputs).messages)
    # the template's own fences and no others: catalog text never opens or closes one
    assert text.count("<catalog_data>") == REF_FENCES[ref] == text.count("</catalog_data>")
    assert not any(ord(c) < 32 and c not in "\n" for c in text)
