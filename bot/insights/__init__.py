"""Insights: what the assistant achieves, measured from every event Rasa publishes (docs/insights.md)."""
