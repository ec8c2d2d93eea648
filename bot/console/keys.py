"""The console's application keys (typed aiohttp app state)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import jinja2
from aiohttp import web

from bot.console.delivery import Delivery
from bot.console.feed import Feed
from bot.console.model_jobs import ModelRelease
from bot.console.throttle import LoginLimit, LoginThrottle
from bot.handoff.routing import HandoffRules
from bot.privacy.config import DataLocations
from bot.rasa_api import RasaApi
from bot.review.service import TrainingData
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DATABASE_URL = web.AppKey("database_url", str)
RASA = web.AppKey("rasa", RasaApi)
OWNS_RASA = web.AppKey("owns_rasa", bool)
CLOCK = web.AppKey[Callable[[], datetime]]("clock")  # not a class: the type goes in the subscript
RULES = web.AppKey("rules", HandoffRules)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
THROTTLE = web.AppKey("throttle", LoginThrottle)
LOGIN_LIMIT = web.AppKey("login_limit", LoginLimit)
DELIVERY = web.AppKey("delivery", Delivery)
FEED = web.AppKey("feed", Feed)
PRIVACY = web.AppKey("privacy", DataLocations)  # the stores an erasure from the console clears
REVIEW_DATA = web.AppKey("review_data", TrainingData)  # where the NLU inbox writes accepted examples
MODEL_RELEASE = web.AppKey("model_release", ModelRelease)  # the models, Rasa servers and job record of /review/models

# Per request, set by the authentication middleware.
SIGNED_IN = "tandem_signed_in"
SESSION_TOKEN = "tandem_session_token"
