"""Typed tools the agent can call (catalog search, item details, user history)."""
