"""The evidence template is shown wherever the model's sentence fails, so both checkers must pass
every form of it on evidence shaped like MovieLens's hard cases: a title that starts another
(Deadpool, Deadpool 2), a series with a colon (The Godfather: Part II), an ordinal in a title
(Friday the 13th), a long alternate title before its year, the item's own tags that are genre or
reception words ("suspense", "great soundtrack", "sequel"), and titles made of plain words (The
Spirit, Something New). Each case also keeps a false sentence the checkers must still catch."""

import pytest

from agent.pipeline.claims import Vocabulary, check, check_open, claim_contexts
from agent.pipeline.explain import template_texts
from agent.types import CategoryShare, Evidence, HistoryEvent, Item, LikedLink, SeriesLink

RAIDERS = "Raiders of the Lost Ark (Indiana Jones and the Raiders of the Lost Ark) (1981)"
CATALOG = [Item(item_id=str(n), title=title, categories=genres, tags=tags) for n, (title, genres, tags) in enumerate([
    ("Deadpool (2016)", ["Action", "Comedy"], []),
    ("Deadpool 2 (2018)", ["Action", "Comedy"], ["sequel"]),
    ("The Godfather (1972)", ["Crime", "Drama"], ["mafia", "suspense"]),
    ("The Godfather: Part II (1974)", ["Crime", "Drama"], ["mafia", "sequel"]),
    ("Casino (1995)", ["Crime", "Drama"], ["mafia"]),
    ("Friday the 13th (1980)", ["Horror"], ["slasher"]),
    ("Friday the 13th Part 2 (1981)", ["Horror"], ["slasher", "sequel"]),
    (RAIDERS, ["Action", "Adventure"], ["great soundtrack"]),
    ("Star Wars: Episode IV - A New Hope (1977)", ["Action", "Adventure", "Sci-Fi"],
     ["great soundtrack", "based on a true story"]),
    ("Sherlock Holmes (2009)", ["Action", "Crime"], ["suspense"]),
    ("Sherlock Holmes: A Game of Shadows (2011)", ["Action", "Crime"], ["suspense"]),
    ("The Spirit (2008)", ["Action", "Comedy"], []),
    ("Something New (2006)", ["Comedy", "Romance"], []),
    ("Schindler's List (1993)", ["Drama", "War"], ["based on a true story"]),
])]
BY_TITLE = {it.title: it for it in CATALOG}
BY_ID = {it.item_id: it for it in CATALOG}
VOCAB = Vocabulary.from_items(CATALOG, min_tag_items=1)
LIKED = [HistoryEvent(item_id=BY_TITLE[t].item_id, rating=r) for t, r in [
    ("Deadpool 2 (2018)", 5.0), ("The Godfather (1972)", 5.0), ("The Godfather: Part II (1974)", 4.5),
    ("Friday the 13th (1980)", 4.0), (RAIDERS, 5.0), ("Sherlock Holmes: A Game of Shadows (2011)", 4.0),
    ("Schindler's List (1993)", 4.5)]]


def link(title, people, rating):
    return LikedLink(item_id=BY_TITLE[title].item_id, title=title, rating=rating, signal="co-liked", people=people)


def part(title, rating, relation):
    return SeriesLink(item_id=BY_TITLE[title].item_id, title=title, rating=rating, relation=relation)


def evidence(title, because=(), series=(), tags=(), fans=0) -> Evidence:
    it = BY_TITLE[title]
    return Evidence(item_id=it.item_id, title=title, year=int(title[-5:-1]), categories=it.categories, tags=it.tags,
                    because=list(because), series=list(series), fans=fans,
                    shared_tags=[t for t, _ in tags], shared_tag_counts=[n for _, n in tags],
                    shared_categories=[CategoryShare(category=it.categories[0], liked=3)])


# (evidence, a false sentence about it, the kinds either checker may give it)
CASES = [
    (evidence("Deadpool (2016)", because=[link("The Godfather (1972)", 12, 5.0)],
              series=[part("Deadpool 2 (2018)", 5.0, "earlier")]),
     "You rated Deadpool 5/5, and it is an Action movie.", {"liked_item"}),
    (evidence("The Godfather (1972)", series=[part("The Godfather: Part II (1974)", 4.5, "earlier")],
              tags=[("suspense", 1)]),
     "You rated The Godfather 5/5, and it is tagged suspense.", {"liked_item"}),
    (evidence("Casino (1995)", because=[link("The Godfather (1972)", 77, 5.0),
                                        link("The Godfather: Part II (1974)", 62, 4.5)], tags=[("mafia", 2)]),
     "63 people who liked The Godfather (1972) also liked this.", {"wrong_link", "wrong_number"}),
    (evidence("Friday the 13th Part 2 (1981)", because=[link(RAIDERS, 9, 5.0)],
              series=[part("Friday the 13th (1980)", 4.0, "sequel")], tags=[("slasher", 1)]),
     "It is tagged suspense, like 1 of the movies you liked.", {"wrong_tag", "wrong_category", "wrong_link"}),
    (evidence("Star Wars: Episode IV - A New Hope (1977)", because=[link(RAIDERS, 115, 5.0)],
              tags=[("great soundtrack", 1), ("based on a true story", 1)], fans=200),
     "It is tagged sequel, like 1 of the movies you liked.", {"wrong_tag", "wrong_series", "wrong_link"}),
    (evidence("Sherlock Holmes (2009)", because=[link("Sherlock Holmes: A Game of Shadows (2011)", 30, 4.0)],
              tags=[("suspense", 1)]),
     "A 1990s suspense movie, like Sherlock Holmes: A Game of Shadows.", {"wrong_year"}),
    (evidence("Schindler's List (1993)"), "It is a War movie that you rated 4.5/5.", {"liked_item", "wrong_number"}),
]


@pytest.mark.parametrize("position", range(5))
@pytest.mark.parametrize("case", range(len(CASES)))
def test_every_template_passes_both_checkers_and_a_false_sentence_does_not(case, position):
    ev, false, kinds = CASES[case]
    ctx = claim_contexts([ev], LIKED, BY_ID)[0]
    hook, text = template_texts(ev, position)
    for checker in (check, check_open):
        assert checker(text, ctx, VOCAB) == [], (checker.__name__, text)
        assert checker(hook, ctx, VOCAB, kind="hook") == [], (checker.__name__, hook)
        said = {v.kind for v in checker(false, ctx, VOCAB)}
        assert said & kinds, (checker.__name__, false, said)
