"""Catalog search, item details, user history and recommendations as typed functions of an Agent."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.errors import InputError


class SearchCatalogInput(BaseModel):
    query: str = Field(description="what to look for, in words (e.g. 'space adventure with robots')", max_length=300)
    k: int = Field(5, ge=1, le=20, description="how many items")
    category: str | None = Field(None, description="only items in this category (e.g. 'Comedy')", max_length=40)


class ItemDetailsInput(BaseModel):
    item_id: str = Field(description="a catalog item id", max_length=100)


class UserHistoryInput(BaseModel):
    user_id: str = Field(description="a stored user id", max_length=100)
    limit: int = Field(10, ge=1, le=100, description="most recent interactions to return")


class RecommendInput(BaseModel):
    user_id: str = Field(description="a stored user id", max_length=100)
    k: int = Field(5, ge=1, le=20, description="how many items")


def search_catalog(agent, query: str, k: int = 5, category: str | None = None) -> list[dict]:
    """Items semantically closest to `query`, optionally within one category."""
    hits = agent.rec.index.search(query, k * 5 if category else k)
    items = agent.rec.store.get_items(i for i, _ in hits)
    out = []
    for item_id, score in hits:
        it = items.get(item_id)
        if it is None or (category and category.lower() not in (c.lower() for c in it.categories)):
            continue
        out.append({"item_id": it.item_id, "title": it.title, "categories": it.categories, "score": round(score, 3)})
    return out[:k]


def item_details(agent, item_id: str) -> dict:
    it = agent.rec.store.get_item(item_id)
    if it is None:
        raise InputError(f"unknown item {item_id!r}: it is not in the catalog")
    return {"item_id": it.item_id, "title": it.title, "categories": it.categories, "tags": it.tags, "text": it.text[:500]}


def user_history(agent, user_id: str, limit: int = 10) -> list[dict]:
    """The user's most recent interactions (titles and ratings)."""
    events = sorted(agent.rec.history(user_id), key=lambda e: e.timestamp or 0, reverse=True)[:limit]
    items = agent.rec.store.get_items(e.item_id for e in events)
    return [{"item_id": e.item_id, "title": items[e.item_id].title if e.item_id in items else e.item_id,
             "rating": e.rating} for e in events]


def recommend(agent, user_id: str, k: int = 5) -> list[dict]:
    """Grounded recommendations with personalized titles and explanations."""
    result = agent.recommend(user_id=user_id, k=k)
    return [{"item_id": i.item_id, "title": i.title, "personalized_title": i.personalized_title,
             "explanation": i.explanation, "source": i.source} for i in result.items]


# name -> (function, input model, description): one table for every integration
TOOLS = {
    "search_catalog": (search_catalog, SearchCatalogInput, "Search the catalog by meaning; returns item ids and titles."),
    "item_details": (item_details, ItemDetailsInput, "Details of one catalog item by id."),
    "user_history": (user_history, UserHistoryInput, "A user's most recent interactions with ratings."),
    "recommend": (recommend, RecommendInput,
                  "Personalized recommendations for a stored user, each with a title and an explanation."),
}
