import json
from collections import Counter

import pytest

from agent.errors import InputError
from agent.ingest import Source, ingest, movielens_source, movielens_title, parse_column_map, tag_spelling
from agent.retrieval.chroma import ChromaRetriever
from agent.store import CatalogStore


@pytest.fixture
def parts(tmp_path, embedder):
    return CatalogStore(tmp_path / "db.sqlite"), ChromaRetriever(tmp_path / "chroma", embedder)


def write(path, text):
    path.write_text(text)
    return path


def test_broken_rows_are_reported_by_line_and_the_rest_ingested(tmp_path, parts):
    items = write(tmp_path / "items.csv",
                  'item_id,title,text,categories\n'
                  '1,Toy Story (1995),"A toy\nstory",Animation|Comedy\n'   # a quoted newline: lines 2-3
                  ',No Id,,Drama\n'                                         # line 4
                  '2,Heat (1995),,Crime\n'
                  '3,,,Drama\n'                                             # line 6
                  '4,Too,many,fields,here\n'                                # line 7
                  '2,Heat again,,Crime\n')                                  # line 8: duplicate id
    inter = write(tmp_path / "inter.csv",
                  "user_id,item_id,rating,timestamp\nu1,1,5,100\nu1,2,four,101\nu2,99,4,102\nu2,2,3.5,\n")
    s = ingest(Source(items=items, interactions=inter), *parts)
    assert s.items == {"added": 2, "updated": 0, "unchanged": 0}
    assert s.interactions == {"added": 2, "updated": 0, "unchanged": 0}
    got = {(r.file, r.line): r.reason for r in s.rejected}
    assert got == {
        ("items.csv", 4): "missing item_id", ("items.csv", 6): "missing title",
        ("items.csv", 7): "expected 4 fields, found 5",
        ("items.csv", 8): "duplicate item_id '2' (first on line 5)",
        ("inter.csv", 3): "rating 'four' is not a number",
        ("inter.csv", 4): "item_id '99' is not in the catalog"}
    assert parts[1].count() == 2


def test_rerun_adds_nothing_and_changes_are_updates(tmp_path, parts):
    items = write(tmp_path / "items.csv", "item_id,title\n1,A film\n2,B film\n")
    inter = write(tmp_path / "i.csv", "user_id,item_id,rating\nu,1,4\n")
    ingest(Source(items=items, interactions=inter), *parts)
    again = ingest(Source(items=items, interactions=inter), *parts)
    assert again.items == {"added": 0, "updated": 0, "unchanged": 2} and again.indexed == 0
    assert again.interactions == {"added": 0, "updated": 0, "unchanged": 1}
    write(items, "item_id,title\n1,A film (director's cut)\n2,B film\n")
    changed = ingest(Source(items=items), *parts)
    assert changed.items == {"added": 0, "updated": 1, "unchanged": 1} and changed.indexed == 1
    assert parts[0].count_items() == 2 and parts[1].count() == 2


def test_index_heals_after_an_interrupted_run(tmp_path, parts):
    items = write(tmp_path / "items.csv", "item_id,title\n1,A film\n2,B film\n")
    store, index = parts
    from agent.ingest import parse_item
    store.upsert_items([parse_item({"item_id": "1", "title": "A film"})])  # stored, never embedded
    s = ingest(Source(items=items), store, index)
    assert s.indexed == 2 and index.count() == 2


def test_jsonl_with_a_column_map(tmp_path, parts):
    items = write(tmp_path / "c.jsonl", json.dumps({"sku": "a1", "name": "Boots", "tags": ["leather"],
                                                    "categories": ["Shoes", "Winter"]}) + "\nnot json\n")
    inter = write(tmp_path / "e.jsonl", json.dumps({"customer": "c9", "sku": "a1"}) + "\n")
    s = ingest(Source(items=items, interactions=inter,
                      column_map=parse_column_map(["sku=item_id", "name=title", "customer=user_id"])), *parts)
    assert s.items["added"] == 1 and s.interactions["added"] == 1
    assert [(r.line, r.reason[:12]) for r in s.rejected] == [(2, "invalid JSON")]
    item = parts[0].get_item("a1")
    assert item.categories == ["Shoes", "Winter"] and item.tags == ["leather"]
    assert parts[0].user_interactions("c9")[0].rating is None  # implicit feedback


def test_bad_inputs_are_clear_errors(tmp_path, parts):
    with pytest.raises(InputError, match="file not found"):
        ingest(Source(items=tmp_path / "missing.csv"), *parts)
    with pytest.raises(InputError, match="COLUMN=FIELD"):
        parse_column_map(["movieId:item_id"])
    with pytest.raises(InputError, match="FIELD one of"):
        parse_column_map(["movieId=product"])


def test_movielens_titles_put_the_article_first():
    assert movielens_title("Matrix, The (1999)") == "The Matrix (1999)"
    assert movielens_title("Son's Room, The (Stanza del figlio, La) (2001)") == "The Son's Room (Stanza del figlio, La) (2001)"
    assert movielens_title("Toy Story (1995)") == "Toy Story (1995)"


def test_stored_vectors_read_once_are_served_from_memory_until_we_change_the_item(tmp_path, embedder):
    from agent.retrieval.chroma import ChromaRetriever
    from agent.types import Item

    index = ChromaRetriever(tmp_path / "chroma", embedder)
    index.upsert([Item(item_id="a", title="Space opera", text="Starships and empires."),
                  Item(item_id="b", title="Kitchen drama", text="A family restaurant.")])
    first = index.embeddings(["a", "b", "missing"])
    assert set(first) == {"a", "b"}
    assert index.embeddings(["b"])["b"] is first["b"]  # served from memory
    index.upsert([Item(item_id="a", title="Garden picnic", text="Sandwiches in the sun.")])
    again = index.embeddings(["a"])["a"]
    assert float(again @ first["a"]) < 0.9  # our own upsert evicted the old vector


def test_item_ids_follow_one_rule_in_both_files(tmp_path, parts):
    items = write(tmp_path / "items.csv", 'item_id,title\nok-1,Fine\na/b,Slashed\n"x y",Spaced\n')
    inter = write(tmp_path / "inter.csv", "user_id,item_id,rating\nu1,ok-1,5\nu1,a/b,4\n")
    s = ingest(Source(items=items, interactions=inter), *parts)
    reasons = {(r.file.split("/")[-1], r.line): r.reason for r in s.rejected}
    assert set(reasons) == {("items.csv", 3), ("items.csv", 4), ("inter.csv", 3)}, reasons
    assert all("id rule" in r for r in reasons.values())
    assert s.items["added"] == 1 and s.interactions["added"] == 1


def test_an_unclosed_quote_reports_every_line_it_swallowed(tmp_path, parts):
    items = write(tmp_path / "items.csv", "item_id,title\n1,A film\n2,B film\n3,C film\n4,D film\n5,E film\n")
    inter = write(tmp_path / "inter.csv", 'user_id,item_id,rating\nu1,1,4\nu1,2,"4\nu1,3,4\nu1,4,4\nu1,5,4\n')
    s = ingest(Source(items=items, interactions=inter), *parts)
    assert [(r.line, r.last_line) for r in s.rejected] == [(3, 6)]  # the open quote ran to the end
    assert "lines 3-6 were read as one row" in s.rejected[0].reason and s.interactions["added"] == 1


@pytest.mark.parametrize("rating", ["99", "-4", "nan", "inf", "1e308"])
def test_ratings_off_the_scale_are_rejected_with_the_scale_named(tmp_path, parts, rating):
    items = write(tmp_path / "items.csv", "item_id,title\n1,A film\n")
    inter = write(tmp_path / "inter.csv", f"user_id,item_id,rating\nu1,1,{rating}\nu2,1,4.5\n")
    s = ingest(Source(items=items, interactions=inter), *parts)
    assert [r.line for r in s.rejected] == [2] and s.interactions["added"] == 1
    assert "rating scale" in s.rejected[0].reason or "finite" in s.rejected[0].reason


def test_the_rating_scale_is_configurable(tmp_path, parts):
    from agent.types import RatingScale

    items = write(tmp_path / "items.csv", "item_id,title\n1,A film\n")
    inter = write(tmp_path / "inter.csv", "user_id,item_id,rating\nu1,1,9\n")
    s = ingest(Source(items=items, interactions=inter), *parts, scale=RatingScale(low=1, high=10))
    assert s.interactions["added"] == 1 and not s.rejected


def test_the_interaction_count_and_generation_follow_every_write(store_target):
    from agent.store import CatalogStore
    from agent.types import Interaction

    store = CatalogStore(store_target)
    rows = [Interaction(user_id=u, item_id=i, rating=4.0) for u in ("a", "b") for i in ("1", "2", "3")]
    store.upsert_interactions(rows)
    g = store.generation()
    store.upsert_interactions(rows[:2])  # unchanged: no write
    assert store.generation() == g and store.count_interactions() == 6
    store.upsert_interactions([rows[0].model_copy(update={"rating": 2.0})])  # an update: same count
    assert store.generation() == g + 1 and store.count_interactions() == 6
    assert store.delete_user("a") == 3 and store.count_interactions() == 3 and store.generation() == g + 2
    store.close()
    again = CatalogStore(store_target)  # another process sees the same
    with again.database.read() as tx:
        n = tx.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
    assert again.count_interactions() == n == 3 and again.generation() == g + 2


def test_the_trusted_rows_read_in_chunks_are_every_row_once(store_target):
    from agent.store import CatalogStore
    from agent.types import Interaction

    store = CatalogStore(store_target)
    rows = [Interaction(user_id=f"u{u}", item_id=f"i{i}", rating=4.0, timestamp=i) for u in range(7) for i in range(5)]
    store.upsert_interactions(rows)
    store.upsert_interactions([rows[3].model_copy(update={"rating": 2.0})])  # rewritten: a new rowid
    read = list(store.trusted_interactions(min_age_s=0, min_count=0, chunk=4))
    assert len(read) == len(set((u, i) for u, i, *_ in read)) == 35
    assert ("u0", "i3", 2.0, 3) in read


def test_an_ingest_reports_added_updated_and_unchanged_rows_for_users_spread_over_a_batch(store_target):
    from agent.store import CatalogStore
    from agent.types import Interaction

    store = CatalogStore(store_target)
    store.upsert_interactions([Interaction(user_id="a", item_id="1", rating=4.0), Interaction(user_id="b", item_id="1", rating=3.0)])
    again = [Interaction(user_id="a", item_id="1", rating=4.0), Interaction(user_id="b", item_id="2", rating=5.0),
             Interaction(user_id="a", item_id="2", rating=1.0), Interaction(user_id="b", item_id="1", rating=3.5)]
    assert store.upsert_interactions(again) == {"added": 2, "updated": 1, "unchanged": 1}


def test_a_json_user_id_with_an_unpaired_surrogate_is_rejected_with_its_line(tmp_path, parts):
    items = write(tmp_path / "items.jsonl", '{"item_id": "1", "title": "A film"}\n')
    inter = write(tmp_path / "inter.jsonl", '{"user_id": "ok", "item_id": "1"}\n{"user_id": "bad\\ud800", "item_id": "1"}\n')
    s = ingest(Source(items=items, interactions=inter), *parts)
    assert s.interactions["added"] == 1
    assert [(r.line, "unpaired surrogate" in r.reason) for r in s.rejected] == [(2, True)]


def test_movielens_tags_keep_the_spelling_most_taggers_used(tmp_path):
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,\"Shining, The (1980)\",Horror\n")
    (tmp_path / "tags.csv").write_text("userId,movieId,tag,timestamp\n"
                                       + "".join(f"{u},1,{tag},0\n" for u, tag in enumerate(
                                           ["Stephen King", "stephen king", "Stephen King", "jack nicholson",
                                            "Atmospheric", "atmospheric", "atmospheric", "Mafia", "mafia"])))
    (item,) = [row for _, row in movielens_source(tmp_path).item_rows()]
    # the counts are over all spellings; a name keeps its capitals, a tie goes to lower case
    assert item["tags"] == ["atmospheric", "Stephen King", "mafia", "jack nicholson"]


def test_tag_spelling():
    assert tag_spelling(Counter({"Disney": 21, "disney": 1})) == "Disney"
    assert tag_spelling(Counter({"Twist Ending": 1, "twist ending": 19})) == "twist ending"
