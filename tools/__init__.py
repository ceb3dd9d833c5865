"""Typed tools over the catalog and the recommender: plain functions with pydantic inputs,
usable directly, by the HTTP service, or as LangChain tools (agent/integrations/langchain.py)."""

from tools.catalog import (TOOLS, ItemDetailsInput, RecommendInput, SearchCatalogInput, UserHistoryInput,
                           item_details, recommend, search_catalog, user_history)

__all__ = ["TOOLS", "ItemDetailsInput", "RecommendInput", "SearchCatalogInput", "UserHistoryInput",
           "item_details", "recommend", "search_catalog", "user_history"]
