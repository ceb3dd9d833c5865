"""Evidence first: for each recommended item, the facts from data that make it a pick for
this person. Explanations (LLM-written or templates) may say only what is in here, and the
claim checker (agent/pipeline/claims/) holds them to it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from agent.pipeline.candidates import PROFILE_VECTOR_ITEMS
from agent.pipeline.claims import ClaimContext, claim_contexts
from agent.pipeline.claims.vocabulary import statable_tag
from agent.pipeline.context import RequestContext
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.pipeline.grounding import same_series
from agent.types import CategoryPair, CategoryShare, Evidence, HistoryEvent, Item, LikedLink, SeriesLink, TasteSummary, item_year

MAX_LINKS = 2  # liked items named per recommendation
MAX_NAMED = 2  # items of one list that lead with the same liked item, before another one leads
MIN_CO_LIKED = 3  # people who liked both, before a pair counts as evidence
LEAD_CHOICES = 4  # the strongest co-liked pairs among which one sharing the item's main genre leads
MIN_SIMILARITY = 0.45  # embedding cosine, before "close to X" counts as evidence
RECENT_LIKES = 8  # a liked item among the person's latest this many is "recent"
MIN_PAIR_LIKED = 3  # liked items with both genres before "both a comedy and a drama, like N" is a pattern (two read as none)
SAME_GENRE_FACT = 2  # items of one list whose sentence gives the same kind of genre count (a third ends alike)
NOT_A_GENRE = {"IMAX", "(no genres listed)"}  # a format, not what a movie is


@dataclass(frozen=True)
class EvidenceSet:
    """The evidence for each item of a list, the checker's context for each, and the taste
    summary every explanation of the list shares."""
    evidence: list[Evidence]
    contexts: list[ClaimContext]
    taste: TasteSummary


def evidence_for(ctx: RequestContext, items: list[Item], constraint: str | None = None,
                 instructions: str = "") -> EvidenceSet:
    """The evidence for `items`: links to the person's latest liked events, counts over all of them.
    What a chat leaves out (`ctx.not_reasons`) is never a link or a series part; the counts stay
    those of the whole history ("70 of the movies you liked are Comedy" is true either way)."""
    liked, every_like = ctx.liked_events, ctx.all_liked_events
    counted = every_like
    if ctx.not_reasons:
        liked = [e for e in liked if e.item_id not in ctx.not_reasons]
        every_like = [e for e in every_like if e.item_id not in ctx.not_reasons]
    catalog = ctx.items(e.item_id for e in counted) | {it.item_id: it for it in items}
    vectors = ctx.vectors([it.item_id for it in items] + [e.item_id for e in liked[:PROFILE_VECTOR_ITEMS]])
    evidence = build_evidence(items, liked, catalog, ctx.collab, vectors, constraint, every_like, counted)
    return EvidenceSet(evidence, claim_contexts(evidence, every_like, catalog, instructions),
                       taste_summary([catalog[e.item_id] for e in every_like if e.item_id in catalog]))


def taste_summary(liked: list[Item], n_categories: int = 5, n_tags: int = 6) -> TasteSummary:
    cats = Counter(c for it in liked for c in it.categories if c != "(no genres listed)")
    tags = Counter(t for it in liked for t in it.tags[:5])
    return TasteSummary(n_liked=len(liked),
                        categories=[CategoryShare(category=c, liked=n) for c, n in cats.most_common(n_categories)],
                        tags=[t for t, _ in tags.most_common(n_tags)])


def build_evidence(items: list[Item], liked: list[HistoryEvent], catalog: dict[str, Item],
                   collab: CooccurrenceIndex, vectors: dict[str, np.ndarray],
                   constraint: str | None = None, every_like: list[HistoryEvent] | None = None,
                   counted: list[HistoryEvent] | None = None) -> list[Evidence]:
    """Evidence for each of `items`. `liked`: the person's positive events the links come from,
    newest first; `every_like`: all of them, which series are taken over (default `liked`);
    `counted`: those the genre and tag counts are over (default `every_like`); `catalog`: at least
    those items; `vectors`: embeddings of the items and liked items (any missing one just gives no
    "similar" link)."""
    liked = [e for e in liked if e.item_id in catalog]
    every_like = [e for e in (every_like if every_like is not None else liked) if e.item_id in catalog]
    liked_ids = [e.item_id for e in liked]
    rating = {e.item_id: e.rating for e in every_like}
    recent = set(liked_ids[:RECENT_LIKES])
    all_ids = list(dict.fromkeys(e.item_id for e in every_like))
    count_ids = all_ids if counted is None else list(dict.fromkeys(e.item_id for e in counted if e.item_id in catalog))
    cat_counts = Counter(c for i in count_ids for c in catalog[i].categories)
    pair_counts = Counter(p for i in count_ids for p in genre_pairs(catalog[i].categories))
    tag_counts = Counter(t for i in count_ids for t in catalog[i].tags)
    tags_of = [set(catalog[i].tags) for i in count_ids]
    fans = dict(zip((it.item_id for it in items), collab.popularity_of([it.item_id for it in items])))
    liked_vecs = [(i, vectors[i]) for i in liked_ids if i in vectors]

    def link(item_id: str, signal, **kw) -> LikedLink:
        return LikedLink(item_id=item_id, title=catalog[item_id].title, rating=rating.get(item_id), signal=signal,
                         recent=item_id in recent, **kw)

    out, leads = [], Counter()
    for it in items:
        # strongest pairs first, but a liked title already behind two items of this list
        # yields to the next: a list should not rest on one movie
        # ... and among the strongest few, one that shares the item's main genre leads: a sentence pairs
        # the liked title with that genre ("You rated Big 4/5; this movie is Action" reads as a non-sequitur)
        pairs = [(l, n) for l, n, _ in collab.co_liked(it.item_id, liked_ids) if n >= MIN_CO_LIKED]
        main = max(it.categories, key=lambda c: cat_counts[c], default=None)
        ranked = sorted(enumerate(pairs), key=lambda ip: (leads[ip[1][0]] >= MAX_NAMED, ip[0] >= LEAD_CHOICES,
                                                          main not in catalog[ip[1][0]].categories))
        pairs = [p for _, p in ranked][:MAX_LINKS]
        leads.update(l for l, _ in pairs[:1])
        because = [link(l, "co-liked", people=n) for l, n in pairs]
        v = vectors.get(it.item_id)
        if v is not None and len(because) < MAX_LINKS and liked_vecs:
            named = {b.item_id for b in because}
            sims = sorted(((float(v @ lv), l) for l, lv in liked_vecs if l not in named), reverse=True)
            because += [link(l, "similar", similarity=round(s, 3)) for s, l in sims[:1] if s >= MIN_SIMILARITY]
        shared_tags = distinct_tags([t for t in it.tags if tag_counts[t] and statable_tag(t)])[:3]
        out.append(Evidence(
            item_id=it.item_id, title=it.title, year=item_year(it.title), categories=list(it.categories),
            tags=list(it.tags[:5]), because=because,
            shared_categories=sorted((CategoryShare(category=c, liked=cat_counts[c]) for c in it.categories
                                      if cat_counts[c]), key=lambda s: -s.liked)[:3],
            shared_tags=shared_tags, shared_tag_counts=[tag_counts[t] for t in shared_tags],
            shared_tag_pair=sum(set(shared_tags[:2]) <= tags for tags in tags_of) if len(shared_tags) > 1 else 0,
            shared_category_pair=category_pair(it.categories, pair_counts),
            series=series_links(it, all_ids, catalog, rating),
            fans=int(fans.get(it.item_id, 0)), constraint=constraint))
    return assign_genre_facts(out)


def genre_pairs(categories: list[str]) -> list[tuple[str, str]]:
    return list(combinations(sorted(set(categories) - NOT_A_GENRE), 2))


def category_pair(categories: list[str], pair_counts: Counter) -> CategoryPair | None:
    """The item's two genres that most of the person's liked items share, in the catalog's order."""
    best = max(genre_pairs(categories), key=lambda p: pair_counts[p], default=None)
    if best is None or pair_counts[best] < MIN_PAIR_LIKED:
        return None
    return CategoryPair(categories=sorted(best, key=categories.index), liked=pair_counts[best])


def assign_genre_facts(evidence: list[Evidence]) -> list[Evidence]:
    """Which genre count each item's sentence gives, down the list: items whose only fact after the
    link is a genre count take the genre pair while fewer than two have, then the one genre, so a
    list of dramas does not read "It is a drama, like 94 of the movies you liked" five times."""
    used, out = Counter(), []
    for ev in evidence:
        fact = "genre"
        if only_genre_count(ev):
            if ev.shared_category_pair is not None:
                fact = "pair" if used["pair"] < SAME_GENRE_FACT or used["genre"] >= SAME_GENRE_FACT else "genre"
            used[fact] += 1
        out.append(ev.model_copy(update={"genre_fact": fact}))
    return out


def only_genre_count(ev: Evidence) -> bool:
    """Whether the item's only fact after its link is a genre count (no series part, no shared tag)."""
    return not ev.series and not ev.shared_tags and bool(ev.shared_categories)


def distinct_tags(tags: list[str]) -> list[str]:
    """`tags` without one whose words are all another's ("Tarantino" beside "Quentin Tarantino"): a
    sentence naming both reads as a stutter."""
    out: list[tuple[str, set[str]]] = []
    for tag in tags:
        words = set(tag.lower().split())
        if not any(words <= w or w <= words for _, w in out):
            out.append((tag, words))
    return [t for t, _ in out]


def series_links(item: Item, liked_ids: list[str], catalog: dict[str, Item], rating: dict[str, float | None],
                 limit: int = 2) -> list[SeriesLink]:
    """The liked titles of the item's series, the closest in time first."""
    year = item_year(item.title) or 0
    parts = [catalog[i] for i in liked_ids if i != item.item_id and same_series(item.title, catalog[i].title)]
    parts.sort(key=lambda p: abs((item_year(p.title) or 0) - year))
    return [SeriesLink(item_id=p.item_id, title=p.title, rating=rating.get(p.item_id),
                       relation="sequel" if year > (item_year(p.title) or 0) else "earlier") for p in parts[:limit]]
