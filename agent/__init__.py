"""recagent: LLM-powered personalized recommendation, grounded and explained."""

from agent.config import Settings, load_settings
from agent.conversation import Agent
from agent.errors import AgentError
from agent.recommender import Recommender
from agent.types import HistoryEvent, Item, Recommendation, RecommendedItem

__all__ = ["Agent", "AgentError", "HistoryEvent", "Item", "Recommendation", "RecommendedItem", "Recommender",
           "Settings", "load_settings"]
