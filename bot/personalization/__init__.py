"""The personalization engine: behaviour store, recommenders, segments, and the rules that make it trustworthy.

No Rasa imports here: actions (`actions/recommendations.py`) call `engine.PersonalizationEngine`.
"""
