"""The personalization engine: behaviour store, recommenders, and the rules that make it trustworthy.

No Rasa imports here: actions (`actions/recommendations.py`) call `engine.PersonalizationEngine`. The batch
jobs that feed it (segments, churn, recommender training) live in `jobs/`.
"""
