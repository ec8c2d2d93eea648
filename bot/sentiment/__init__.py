"""Sentiment of customers' messages: the model, its training, and what the dialogue makes of it."""
