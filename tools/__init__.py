"""Typed tools over the recommender's public API: plain functions with pydantic inputs,
usable directly or as LangChain tools (agent/integrations/langchain.py).

Rule: tools call only the public methods of agent.recommender.Recommender (never its store or index)."""

from tools.catalog import (TOOLS, FeedbackInput, ItemDetailsInput, RecommendInput, SearchCatalogInput, UserHistoryInput,
                           feedback, item_details, recommend, search_catalog, user_history)

__all__ = ["TOOLS", "FeedbackInput", "ItemDetailsInput", "RecommendInput", "SearchCatalogInput", "UserHistoryInput",
           "feedback", "item_details", "recommend", "search_catalog", "user_history"]
