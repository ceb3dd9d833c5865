"""The recommender's public API as typed tools: catalog search, item details, a user's
history, recommendations and feedback. One table (TOOLS) for every integration: the
LangChain tools (agent/integrations/langchain.py) are built from it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.recommender import Recommender
from agent.types import Signal


class SearchCatalogInput(BaseModel):
    query: str = Field(description="what to look for, in words (e.g. 'space adventure with robots')", max_length=300)
    k: int = Field(5, ge=1, le=20, description="how many items")
    category: str | None = Field(None, description="only items in this category (e.g. 'Comedy')", max_length=40)


class ItemDetailsInput(BaseModel):
    item_id: str = Field(description="a catalog item id", max_length=200)


class UserHistoryInput(BaseModel):
    user_id: str = Field(description="a stored user id", max_length=200)
    limit: int = Field(10, ge=1, le=100, description="most recent interactions to return")


class RecommendInput(BaseModel):
    user_id: str = Field(description="a stored user id", max_length=200)
    k: int = Field(5, ge=1, le=20, description="how many items")


class FeedbackInput(BaseModel):
    user_id: str = Field(description="a stored user id", max_length=200)
    item_id: str = Field(description="the catalog item the person reacted to", max_length=200)
    signal: Signal = Field(description="like, dislike or seen")


def search_catalog(rec: Recommender, query: str, k: int = 5, category: str | None = None) -> list[dict]:
    """Items semantically closest to `query`, optionally within one category."""
    return [{"item_id": it.item_id, "title": it.title, "categories": it.categories, "score": round(score, 3)}
            for it, score in rec.search(query, k, category)]


def item_details(rec: Recommender, item_id: str) -> dict:
    it = rec.item(item_id)
    return {"item_id": it.item_id, "title": it.title, "categories": it.categories, "tags": it.tags, "text": it.text[:500]}


def user_history(rec: Recommender, user_id: str, limit: int = 10) -> list[dict]:
    """The user's most recent interactions (titles and ratings)."""
    events = rec.context(rec.history(user_id)).history[:limit]
    items = rec.items(e.item_id for e in events)
    return [{"item_id": e.item_id, "title": items[e.item_id].title if e.item_id in items else e.item_id,
             "rating": e.rating} for e in events]


def recommend(rec: Recommender, user_id: str, k: int = 5) -> list[dict]:
    """Grounded recommendations with personalized titles and explanations."""
    result = rec.recommend(user_id, k=k)
    return [{"item_id": i.item_id, "title": i.title, "personalized_title": i.personalized_title,
             "explanation": i.explanation, "source": i.source} for i in result.items]


def feedback(rec: Recommender, user_id: str, item_id: str, signal: str) -> dict:
    """Record that the user liked, disliked or has seen an item; the next list uses it."""
    return rec.feedback(user_id, item_id, signal).model_dump()


# name -> (function, input model, description)
TOOLS = {
    "search_catalog": (search_catalog, SearchCatalogInput, "Search the catalog by meaning; returns item ids and titles."),
    "item_details": (item_details, ItemDetailsInput, "Details of one catalog item by id."),
    "user_history": (user_history, UserHistoryInput, "A user's most recent interactions with ratings."),
    "recommend": (recommend, RecommendInput,
                  "Personalized recommendations for a stored user, each with a title and an explanation."),
    "feedback": (feedback, FeedbackInput, "Record a user's like, dislike or 'seen' for an item."),
}
