"""Arbiter: a rule-based reward service for reinforcement learning of reasoning models."""

__version__ = "0.1.0"
