"""Prompt A/B evaluation on held-out interactions."""
