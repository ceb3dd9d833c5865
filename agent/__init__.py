"""recagent: LLM-powered personalized recommendation, grounded and explained."""

from agent.config import Settings, load_settings
from agent.errors import AgentError
from agent.options import RecommendOptions
from agent.types import HistoryEvent, Item, Recommendation, RecommendedItem

__all__ = ["AgentError", "ChatSessions", "HistoryEvent", "Item", "RecommendOptions", "Recommendation",
           "RecommendedItem", "Recommender", "Settings", "load_settings"]


def __getattr__(name: str):
    # imported on first use, so `agent.errors` (which prompts/ imports) never pulls in the pipeline
    if name == "Recommender":
        from agent.recommender import Recommender
        return Recommender
    if name == "ChatSessions":
        from agent.conversation import ChatSessions
        return ChatSessions
    raise AttributeError(f"module 'agent' has no attribute {name!r}")
