"""Tandem: a customer-service assistant built on Rasa."""

__version__ = "0.1.0"
